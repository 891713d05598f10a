"""OpenAPI post-processing: every error response is documented as problem+json."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from landmarket.core.errors import PROBLEM_MEDIA_TYPE, Problem
from landmarket.core.ratelimit import EXEMPT_PATHS

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}


def _normalise(operation: dict[str, Any], *, rate_limited: bool) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if rate_limited:
        responses.setdefault(
            "429", {"description": "Rate limit exceeded; wait `Retry-After` seconds"}
        )
    if "requestBody" in operation:
        # The framework answers 400 before validation when the body cannot be decoded at all
        # (e.g. not UTF-8); well-formed JSON of the wrong shape is 422.
        responses.setdefault("400", {"description": "The request body could not be decoded"})
    takes_input = bool(operation.get("parameters") or operation.get("requestBody"))
    if takes_input:
        responses.setdefault("422", {"description": "Invalid input; `errors` lists each field"})
    else:
        responses.pop("422", None)
    responses.setdefault("500", {"description": "Unexpected server error"})
    for code, response in responses.items():
        if code[0] in "45":
            # FastAPI documents its own 422 as application/json; we send problem+json.
            response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}}


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        for path, item in spec.get("paths", {}).items():
            for method, operation in item.items():
                if method in _METHODS:
                    _normalise(operation, rate_limited=path not in EXEMPT_PATHS)
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        problem_schemas = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(problem_schemas.pop("$defs", {}))
        schemas["Problem"] = problem_schemas
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
