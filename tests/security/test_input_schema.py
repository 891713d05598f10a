"""The OpenAPI documents state what the database can hold (issue 14 item 6): every request
string (body, query, path) excludes NUL by its pattern, and every request number states a
maximum; clients and the fuzz run (tests/fuzz) read them from there."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, find, settings
from hypothesis import strategies as st

# Formats whose own grammar has no room for NUL.
_FORMATS = frozenset({"uuid", "date", "date-time", "binary"})


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _leaves(
    spec: dict[str, Any], schema: Any, where: str, seen: frozenset[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every string, number and integer schema inside ``schema`` (refs resolved once per path)."""
    if isinstance(schema, dict) and "$ref" in schema:
        ref = schema["$ref"]
        if ref in seen:
            return
        seen = seen | {ref}
    schema = _resolve(spec, schema)
    if not isinstance(schema, dict):
        return
    kinds = schema.get("type")
    kinds = set(kinds) if isinstance(kinds, list) else {kinds}
    if kinds & {"string", "number", "integer"}:
        yield where, schema
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for i, sub in enumerate(schema.get(key, ())):
            yield from _leaves(spec, sub, f"{where}/{key}{i}", seen)
    for key in ("items", "additionalProperties", "then", "else"):
        if isinstance(schema.get(key), dict):
            yield from _leaves(spec, schema[key], f"{where}/{key}", seen)
    for name, sub in (schema.get("properties") or {}).items():
        yield from _leaves(spec, sub, f"{where}/{name}", seen)


def _request_schemas(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            label = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", ()):
                parameter = _resolve(spec, parameter)
                if parameter.get("in") == "header":
                    continue  # HTTP itself refuses NUL in a header
                where = f"{label} {parameter['in']} {parameter['name']}"
                yield from _leaves(spec, parameter.get("schema", {}), where, frozenset())
            body = _resolve(spec, operation.get("requestBody", {}))
            for media in (body.get("content") or {}).values():
                yield from _leaves(spec, media.get("schema", {}), f"{label} body", frozenset())


@settings(database=None, suppress_health_check=list(HealthCheck), max_examples=50)
def _sample(pattern: str) -> str:
    # Some value the pattern takes, of at least two characters where it allows that.
    try:
        return find(st.from_regex(pattern, fullmatch=True), lambda s: len(s) >= 2)
    except Exception:
        return find(st.from_regex(pattern, fullmatch=True), lambda s: True)


@cache
def _takes_nul(pattern: str) -> bool:
    compiled = re.compile(pattern)
    sample = _sample(pattern)
    return any(
        compiled.search(sample[:i] + "\x00" + sample[i:]) for i in range(len(sample) + 1)
    ) or bool(compiled.search("\x00"))


def _problems(spec: dict[str, Any]) -> list[str]:
    problems = []
    for where, schema in _request_schemas(spec):
        kinds = schema.get("type")
        kinds = set(kinds) if isinstance(kinds, list) else {kinds}
        if "string" in kinds:
            if "enum" in schema or "const" in schema or schema.get("format") in _FORMATS:
                continue
            pattern = schema.get("pattern")
            if pattern is None:
                problems.append(f"{where}: a string without a pattern that excludes NUL")
            elif _takes_nul(pattern):
                problems.append(f"{where}: its pattern {pattern!r} takes NUL")
        elif "maximum" not in schema and "exclusiveMaximum" not in schema and "enum" not in schema:
            problems.append(
                f"{where}: a {'/'.join(sorted(k for k in kinds if k))} without a maximum"
            )
    return problems


def test_main_api_request_strings_refuse_nul_and_numbers_state_maximums(app: FastAPI) -> None:
    problems = _problems(app.openapi())
    assert not problems, "\n".join(problems)


async def test_ogc_api_parameters_refuse_nul_and_numbers_state_maximums(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/ogc/api")).json()
    problems = _problems(spec)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("pattern", "takes"),
    [(r"^[^\x00]*$", False), (r"^[0-9]{8}$", False), (r"^[^@\s]+@[^@\s]+$", True), (r"^.*$", True)],
)
def test_the_nul_probe_tells_patterns_apart(pattern: str, takes: bool) -> None:
    assert _takes_nul(pattern) is takes
