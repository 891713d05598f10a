"""Base model for API schemas, and types shared by them."""

import re
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict


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
