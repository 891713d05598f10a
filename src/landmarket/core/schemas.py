"""Base model for API schemas."""

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict


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
