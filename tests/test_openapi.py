"""The committed OpenAPI document is the one the app generates, and it documents errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from landmarket.cli import render_openapi

COMMITTED = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"
METHODS = {"get", "post", "put", "patch", "delete"}


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def test_committed_openapi_is_current() -> None:
    assert COMMITTED.exists(), "run `landmarket openapi`"
    assert COMMITTED.read_text(encoding="utf-8") == render_openapi(), (
        "openapi/openapi.json is stale: run `landmarket openapi` and commit it"
    )


def test_operation_ids_are_unique_and_errors_documented() -> None:
    spec = json.loads(render_openapi())
    ids = [op["operationId"] for _, _, op in _operations(spec)]
    assert len(ids) == len(set(ids))
    for path, method, op in _operations(spec):
        errors = {code: r for code, r in op["responses"].items() if code[0] in "45"}
        assert "500" in errors, f"{method} {path} lacks 500"
        if op.get("parameters") or op.get("requestBody"):
            assert "422" in errors, f"{method} {path} takes input but documents no 422"
        if op.get("requestBody"):
            assert "400" in errors, f"{method} {path} takes a body but documents no 400"
        for code, response in errors.items():
            assert "application/problem+json" in response["content"], f"{method} {path} {code}"


def _raw_constraints(node: Any, path: str = "") -> list[str]:
    """Pydantic constraint names (gt, ge, lt, le) left in a schema instead of the JSON Schema
    keywords: a validator placed before `Field(...)` in an Annotated type does that, and the
    bound is then documented to nobody."""
    found: list[str] = []
    if isinstance(node, dict):
        if "type" in node or "anyOf" in node:
            found += [f"{path}/{k}" for k in ("gt", "ge", "lt", "le") if k in node]
        for key, value in node.items():
            if key != "properties":
                found += _raw_constraints(value, f"{path}/{key}")
            else:
                for name, prop in value.items():
                    found += _raw_constraints(prop, f"{path}/properties/{name}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _raw_constraints(value, f"{path}/{i}")
    return found


def test_bounds_are_json_schema_keywords() -> None:
    assert _raw_constraints(json.loads(render_openapi())) == []
