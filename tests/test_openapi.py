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
