"""Values as GIS and office files hold them → the API's JSON values.

Each converter takes what a reader produced (str, int, float, bool, date, None; numpy scalars
already unwrapped) and returns the value or raises ``Refused`` saying which form was expected.
Only unambiguous spellings are converted by default; a mapping file settles the rest
(``decimal``, ``date_format``, ``values``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any


class Refused(ValueError):
    """The value cannot be read as the target's type; ``expected`` says what would be."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


def blank(value: Any) -> bool:
    """NULL, NaN (GDAL's NULL in a float column) and empty or blank text all mean 'not set'."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


TRUE = frozenset({"1", "ja", "j", "x", "yes", "y", "true", "wahr", "t", "vorhanden"})
FALSE = frozenset({"0", "nein", "n", "no", "false", "falsch", "f", "nicht vorhanden"})
BOOL_EXPECTED = "a yes/no value: 1/0, ja/nein, x, true/false"


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        # Shapefile 0/1, GeoPackage Integer(Boolean) read as 0.0/1.0.
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in TRUE:
            return True
        if text in FALSE:
            return False
        # "1.0" / "0,0": a boolean column exported as numbers through a spreadsheet.
        if text in ("1.0", "1,0"):
            return True
        if text in ("0.0", "0,0"):
            return False
    raise Refused(BOOL_EXPECTED)


_PLAIN = re.compile(r"[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_COMMA = re.compile(r"[+-]?\d+,\d+")
_DE_GROUPED = re.compile(r"[+-]?[1-9]\d{0,2}(?:\.\d{3})+(?:,\d+)?")
_EN_GROUPED = re.compile(r"[+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?")
_AMBIGUOUS = re.compile(r"[+-]?[1-9]\d{0,2}[.,]\d{3}")
NUMBER_EXPECTED = "a number, e.g. 136, 136.5, 136,5 or 1.234,5"


def to_number(value: Any, decimal: str | None = None) -> float:
    """A number; ``decimal`` ("," or ".") is the file's decimal separator when it is known."""
    if isinstance(value, bool):
        raise Refused(NUMBER_EXPECTED)
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise Refused(NUMBER_EXPECTED)
        return float(value)
    if not isinstance(value, str):
        raise Refused(NUMBER_EXPECTED)
    text = value.strip().replace("\u00a0", "").replace(" ", "").replace("'", "")
    if decimal == ",":
        text = text.replace(".", "").replace(",", ".")
    elif decimal == ".":
        text = text.replace(",", "")
    elif _AMBIGUOUS.fullmatch(text):
        # 1.234 or 1,234: a thousand or one and a bit? Only the file's convention can say.
        raise Refused(
            f'{NUMBER_EXPECTED}; {value.strip()!r} is ambiguous: set decimal = "," or '
            '"." for this field in the mapping file'
        )
    elif _DE_GROUPED.fullmatch(text) or _COMMA.fullmatch(text):
        text = text.replace(".", "").replace(",", ".")
    elif _EN_GROUPED.fullmatch(text):
        text = text.replace(",", "")
    if not _PLAIN.fullmatch(text):
        raise Refused(NUMBER_EXPECTED)
    number = float(text)
    if not math.isfinite(number):
        raise Refused(NUMBER_EXPECTED)
    return number


def to_int(value: Any, decimal: str | None = None) -> int:
    number = to_number(value, decimal)
    if not number.is_integer():
        raise Refused("a whole number")
    return int(number)


_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?")
_GERMAN = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?: .*)?")
DATE_EXPECTED = "a date, e.g. 2027-03-01 or 01.03.2027"


def to_date(value: Any, date_format: str | None = None) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        raise Refused(DATE_EXPECTED)
    text = value.strip()
    try:
        if date_format:
            return dt.datetime.strptime(text, date_format).date().isoformat()
        iso = _ISO.fullmatch(text)
        if iso:
            return dt.date(int(iso[1]), int(iso[2]), int(iso[3])).isoformat()
        german = _GERMAN.fullmatch(text)
        if german:
            return dt.date(int(german[3]), int(german[2]), int(german[1])).isoformat()
    except ValueError as exc:
        raise Refused(
            f"a date in the form {date_format}" if date_format else DATE_EXPECTED
        ) from exc
    raise Refused(f"a date in the form {date_format}" if date_format else DATE_EXPECTED)


def to_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # an id column read as a number: 17.0 → "17"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def to_ags(value: Any) -> str:
    text = to_text(value)
    if text.isdigit() and len(text) < 8:
        text = text.zfill(8)  # read as a number: the leading zero was lost
    if not (text.isdigit() and len(text) == 8):
        raise Refused("an 8-digit Amtlicher Gemeindeschlüssel, e.g. 06412000")
    return text


def to_list(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [to_text(v) for v in value if not blank(v)]
    return [p.strip() for p in re.split(r"[,;|]", to_text(value)) if p.strip()]


# Units a mapping may give per field: the factor to the unit of the target property.
AREA_UNITS = {"m2": 1.0, "m²": 1.0, "qm": 1.0, "ha": 10_000.0, "a": 100.0, "km2": 1e6, "km²": 1e6}
LENGTH_UNITS = {"m": 1.0, "km": 1000.0}


def unit_factor(target: str, unit: str) -> float:
    """Factor from ``unit`` to the unit the target property is named in (…_m2, …_m, …_km)."""
    unit = unit.strip().lower()
    if target.endswith("_m2"):
        table, base = AREA_UNITS, 1.0
    elif target.endswith("_km"):
        table, base = LENGTH_UNITS, 1000.0
    elif target.endswith("_m"):
        table, base = LENGTH_UNITS, 1.0
    else:
        raise Refused(f"{target} takes no unit")
    if unit not in table:
        raise Refused(f"a unit of {', '.join(table)}")
    return table[unit] / base
