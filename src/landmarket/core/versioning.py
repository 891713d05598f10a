"""Optimistic concurrency: versions as ETags and If-Match preconditions (RFC 9110 §13.1.1)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header

from landmarket.core.errors import PreconditionFailed, PreconditionRequired

IfMatch = Annotated[str | None, Header(alias="If-Match", description="ETag of your last read")]
# Writes that refuse to run without If-Match answer 428 (RFC 6585), so FastAPI must treat the
# header as optional (a missing required one would be its 422); it is documented as required
# instead: hidden here, described by `openapi_extra=IF_MATCH_REQUIRED` on the route.
RequiredIfMatch = Annotated[str | None, Header(alias="If-Match", include_in_schema=False)]
IF_MATCH_REQUIRED: dict[str, Any] = {
    "parameters": [
        {
            "name": "If-Match",
            "in": "header",
            "required": True,
            "description": "ETag of your last read; 428 without it, 412 when it is stale",
            # Blank counts as absent (428), like a missing header.
            "schema": {"type": "string", "pattern": "\\S"},
        }
    ]
}


def etag(version: int) -> str:
    return f'"{version}"'


def check_if_match(if_match: str | None, current: int, *, required: bool, what: str) -> int:
    """The version the client expects; 428 when required and missing, 412 when stale.

    The caller still writes with ``WHERE version = <returned>`` so a concurrent writer between
    this check and the write also loses with 412.
    """
    if if_match is None or not if_match.strip():
        if required:
            raise PreconditionRequired(
                "Send If-Match with the ETag from your last read so concurrent edits are not lost",
                headers={"ETag": etag(current)},
            )
        return current
    tags = [t.strip() for t in if_match.split(",")]
    if "*" not in tags and etag(current) not in tags:
        raise PreconditionFailed(
            f"The {what} has changed (now version {current}); read it again and retry",
            headers={"ETag": etag(current)},
        )
    return current
