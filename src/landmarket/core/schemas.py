"""Base model for API schemas, and types shared by them."""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from annotated_types import GroupedMetadata
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)
from pydantic.config import JsonDict


class ApiModel(BaseModel):
    """Strict about unknown fields so typos in client payloads are reported, not ignored."""

    model_config = ConfigDict(extra="forbid", from_attributes=True, populate_by_name=True)


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def omit_not_null(*names: str) -> Callable[[dict[str, Any]], None]:
    """`json_schema_extra` for a partial update whose fields ``names`` may be left out but not
    sent as null (a validator refuses the null): their JSON schema offers no null either."""

    def edit(schema: dict[str, Any]) -> None:
        properties: dict[str, Any] = schema.get("properties", {})
        for name in names:
            prop = properties.get(name, {})
            branches = [b for b in prop.get("anyOf", ()) if b.get("type") != "null"]
            if len(branches) == 1:
                del prop["anyOf"]
                prop.pop("default", None)
                prop.update(branches[0])

    return edit


def _spelled(pattern: str, what: str) -> BeforeValidator:
    """Pydantic's lax mode also reads numbers (Unix time) and looser spellings as dates; only
    the documented format (`date`, `date-time` of RFC 3339) is taken."""
    compiled = re.compile(pattern)

    def check(value: object) -> object:
        if isinstance(value, int | float) or (
            isinstance(value, str) and not compiled.fullmatch(value)
        ):
            raise ValueError(f"must be {what}")
        return value

    return BeforeValidator(check)


IsoDate = Annotated[date, _spelled(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", "a date, YYYY-MM-DD")]
IsoDateTime = Annotated[
    AwareDatetime,
    _spelled(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})",
        "an RFC 3339 date-time with time zone, e.g. 2030-01-31T12:00:00Z",
    ),
]


def _json_number(value: object) -> object:
    # Pydantic's lax mode also took "5" and true as numbers; JSON Schema's integer still
    # includes 5.0, which lax int takes (and 5.5 it refuses).
    if isinstance(value, str | bool):
        raise ValueError("must be a JSON number")
    return value


# For numbers in request bodies: JSON numbers only, no numeric strings or booleans.
JSON_NUMBER = BeforeValidator(_json_number)


# --- Strings -----------------------------------------------------------------------------
# PostgreSQL text cannot hold U+0000 (asyncpg and the server refuse it), so a NUL anywhere in
# a request string is refused at validation, naming the field, instead of failing in the
# database. Every request string goes through `Text` (or a pattern that excludes NUL); the
# document says so with a pattern, so clients and fuzzers know it too.
NUL_FREE_PATTERN = r"^[^\x00]*$"
NUL_MESSAGE = "must not contain the NUL character (U+0000)"


def has_nul(value: str) -> bool:
    return "\x00" in value


def _refuse_nul(value: object) -> object:
    if isinstance(value, str) and has_nul(value):
        raise ValueError(NUL_MESSAGE)
    return value


NO_NUL = BeforeValidator(_refuse_nul)


@dataclass(frozen=True)
class Text(GroupedMetadata):
    """``Annotated[str, Text(...)]``: a request string that refuses NUL. ``pattern`` (if any)
    must exclude NUL itself; the validator refuses NUL first either way, saying why."""

    min_length: int | None = None
    max_length: int | None = None
    strip: bool = False
    pattern: str | None = None

    def __iter__(self) -> Iterator[object]:
        yield StringConstraints(
            strip_whitespace=self.strip or None,
            min_length=self.min_length,
            max_length=self.max_length,
            pattern=self.pattern or NUL_FREE_PATTERN,
        )
        yield NO_NUL


# --- Numbers -----------------------------------------------------------------------------
# The largest values the column types hold: a larger JSON integer is refused at validation
# (naming the field) instead of failing to encode for the database.
INT4_MAX = 2_147_483_647
INT8_MAX = 9_223_372_036_854_775_807
# Smallest non-zero magnitude of a request number. Scores divide and multiply stored values
# (price / budget, weight x score) in double precision, where PostgreSQL raises "value out of
# range: underflow" when a non-zero product rounds to 0; no price, distance or weight is
# meaningful below this.
MIN_MAGNITUDE = 1e-6


def _not_tiny(value: float) -> float:
    if value != 0 and abs(value) < MIN_MAGNITUDE:
        raise ValueError(f"must be 0 or at least {MIN_MAGNITUDE:g} in magnitude")
    return value


_TINY_SCHEMA: JsonDict = {
    "not": {
        "type": "number",
        "exclusiveMinimum": -MIN_MAGNITUDE,
        "exclusiveMaximum": MIN_MAGNITUDE,
        "not": {"const": 0},
    }
}


@dataclass(frozen=True)
class Number(GroupedMetadata):
    """``Annotated[float, Number(...)]``: a JSON number (no numeric strings) within bounds:
    finite, at most ``le`` (every number field states its maximum, which keeps the arithmetic
    done with it in range), and 0 or at least MIN_MAGNITUDE in magnitude."""

    le: float
    ge: float | None = None
    gt: float | None = None

    def __iter__(self) -> Iterator[object]:
        yield Field(
            ge=self.ge,
            gt=self.gt,
            le=self.le,
            allow_inf_nan=False,
            json_schema_extra=_TINY_SCHEMA,
        )
        yield AfterValidator(_not_tiny)
        yield JSON_NUMBER


@dataclass(frozen=True)
class Integer(GroupedMetadata):
    """``Annotated[int, Integer(...)]``: a JSON integer within bounds; the default maximum is
    what an `integer` column holds."""

    ge: int | None = None
    gt: int | None = None
    le: int = INT4_MAX

    def __iter__(self) -> Iterator[object]:
        yield Field(ge=self.ge, gt=self.gt, le=self.le)
        yield JSON_NUMBER


# Any request string (query, path) without a pattern of its own: refuses NUL. A parameter with
# its own `Query(pattern=...)` (one that excludes NUL) stays a plain `str`: the later pattern
# would replace this one in the document while both are checked.
NulFreeStr = Annotated[str, Text()]
