"""Cell values for spreadsheets: formula-injection neutralising and plain-text rendering."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

# A spreadsheet may evaluate text starting with these as a formula (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DATA_ATTRIBUTION = "Plots: the listing municipalities, via landmarket"


def neutralise(text: str) -> str:
    """Text a spreadsheet would take for a formula gets a leading apostrophe, so it stays
    text (the OWASP recommendation); other text is unchanged."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_value(value: Any, decimal_comma: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        text = repr(float(value)) if isinstance(value, float) else str(value)
        if isinstance(value, float) and text.endswith(".0"):
            text = text[:-2]
        return text.replace(".", ",") if decimal_comma else text
    if isinstance(value, datetime | date):
        return value.isoformat()
    return neutralise(str(value))
