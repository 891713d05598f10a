"""Cell values for spreadsheets: formula-injection neutralising and plain-text rendering."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

# A spreadsheet may evaluate text starting with these as a formula (OWASP: CSV injection):
# = + - @ and their full-width forms (East Asian spreadsheets read them as the ASCII ones),
# tab and CR (a cell starting with them may be trimmed to a formula), | (DDE: `|cmd`).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "|", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# Where a spreadsheet may start a new cell when it opens the file with a delimiter other than
# the one it was written with (a German Excel splits on semicolons, others on commas, tabs or
# pipes), or a new row once a stray quote has turned the quoting inside out.
CELL_SEPARATORS = ",;\t|\r\n"
# The start of the text, or a separator, then spaces and quotes a reader may drop, then a
# formula character: an apostrophe goes right before that character.
_FORMULA_AT_CELL_START = re.compile(
    "(?:^|(?<=[" + re.escape(CELL_SEPARATORS) + "]))"
    '([ "]*)'
    "(?=[" + re.escape("".join(FORMULA_STARTS)) + "])"
)
DATA_ATTRIBUTION = "Plots: the listing municipalities, via landmarket"


def neutralise(text: str) -> str:
    """Text a spreadsheet would take for a formula gets a leading apostrophe, so it stays
    text (the OWASP recommendation); other text is unchanged. For cells of a typed format
    (xlsx), where a cell is one cell whatever it contains."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def neutralise_csv(text: str) -> str:
    """The CSV form of `neutralise`: a CSV cell may be split wherever a spreadsheet sees a
    delimiter, so every part that would start a cell then (at the start and after any of
    `CELL_SEPARATORS`, past spaces and quotes) gets the apostrophe before its formula
    character. `;=1+1` becomes `;'=1+1`."""
    return _FORMULA_AT_CELL_START.sub(r"\1'", text)


def csv_value(value: Any, decimal_comma: bool) -> tuple[str, bool]:
    """The cell's text and whether it is text (quoted by the writer) rather than a number,
    boolean or empty cell (which cannot carry a formula and stay unquoted, so spreadsheets
    read numbers as numbers)."""
    if value is None:
        return "", False
    if isinstance(value, bool):
        return ("true" if value else "false"), False
    if isinstance(value, int | float):
        text = repr(float(value)) if isinstance(value, float) else str(value)
        if isinstance(value, float) and text.endswith(".0"):
            text = text[:-2]
        return (text.replace(".", ",") if decimal_comma else text), False
    if isinstance(value, datetime | date):
        return value.isoformat(), True
    return neutralise_csv(str(value)), True
