"""Base model for API schemas."""

from pydantic import BaseModel, ConfigDict


class ApiModel(BaseModel):
    """Strict about unknown fields so typos in client payloads are reported, not ignored."""

    model_config = ConfigDict(extra="forbid", from_attributes=True, populate_by_name=True)


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)
