"""Schemathesis against the app's own OpenAPI document, once per organisation kind with its
key and once without one: 0 failures with every check enabled."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI

from tests.fuzz import harness, rules
from tests.fuzz.conftest import FuzzWorld

ROLES = ("anonymous", "municipality", "company", "agency", "admin")


@pytest.mark.parametrize("role", ROLES)
def test_main_api(fuzz_app: FastAPI, fuzz_world: FuzzWorld, role: str) -> None:
    key = fuzz_world.keys.get(role)
    spec = harness.served(fuzz_app, "/openapi.json")
    operations = rules.operations_config(spec)
    operations += harness.without_coverage(harness.refused(fuzz_app, spec, key))
    config = harness.config(key, operations)
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app, config=config)
    report = harness.run(schema, f"main API, {role}")
    assert not report.failures, f"{len(report.failures)} finding(s):\n\n{report.problems()}"


def test_ogc_api(fuzz_app: FastAPI, fuzz_world: FuzzWorld) -> None:
    """The OGC API Features document at /ogc/api: public, so one run without a key."""
    spec = harness.served(fuzz_app, "/ogc/api")
    config = harness.config(None, rules.operations_config(spec, invalid=400))
    schema = schemathesis.openapi.from_asgi("/ogc/api", fuzz_app, config=config)
    report = harness.run(schema, "OGC API, anonymous")
    assert not report.failures, f"{len(report.failures)} finding(s):\n\n{report.problems()}"


@pytest.mark.parametrize("role", ("municipality", "company", "agency", "admin"))
def test_main_api_hostile_values(fuzz_app: FastAPI, fuzz_world: FuzzWorld, role: str) -> None:
    """NUL in every query string and numbers far beyond every maximum, one parameter at a
    time: a 4xx problem each, never a 500 (issue 14 item 6)."""
    findings = harness.hostile(
        fuzz_app, "/openapi.json", fuzz_world.keys[role], f"main API, {role}"
    )
    assert not findings, "\n".join(findings)


def test_ogc_api_hostile_values(fuzz_app: FastAPI, fuzz_world: FuzzWorld) -> None:
    findings = harness.hostile(fuzz_app, "/ogc/api", None, "OGC API, anonymous")
    assert not findings, "\n".join(findings)
