"""Runs schemathesis (the engine behind `st run`: examples, coverage, fuzzing and stateful
phases, every check enabled) against an ASGI app in-process, and collects what it found.

The run is bounded and deterministic: a fixed seed, derandomised generation and at most
``max_examples`` generated cases per operation and phase (LANDMARKET_FUZZ_MAX_EXAMPLES raises
it for longer local runs). Nothing is written to disk (no example database, no cache).
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from schemathesis.engine import Status, events, from_schema
from schemathesis.python import asgi

SEED = 20240611
DEFAULT_MAX_EXAMPLES = 5


def max_examples() -> int:
    return int(os.environ.get("LANDMARKET_FUZZ_MAX_EXAMPLES", DEFAULT_MAX_EXAMPLES))


def served(app: Any, path: str) -> dict[str, Any]:
    """The OpenAPI document as the app serves it (what schemathesis loads too)."""
    with asgi.get_client(app) as client:
        document: dict[str, Any] = client.get(path).json()
    return document


def refused(app: Any, spec: dict[str, Any], bearer: str | None) -> set[str]:
    """Operations that turn this caller away (401/403) whatever the input: authentication and
    the organisation-kind guards run before any parameter is read, so a probe with placeholder
    path parameters and nothing else tells. Their coverage phase (boundary values of every
    input) could only collect more of the same refusal; the other phases still run."""
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    labels = set()
    with asgi.get_client(app) as client:
        for path, item in spec["paths"].items():
            for method in item:
                response = client.request(
                    method.upper(), re.sub(r"{[^}]+}", "x", path), headers=headers
                )
                if response.status_code in (401, 403):
                    labels.add(f"{method.upper()} {path}")
    return labels


def without_coverage(labels: set[str]) -> list[dict[str, Any]]:
    return [
        {"include-name": label, "phases": {"coverage": {"enabled": False}}}
        for label in sorted(labels)
    ]


def config(
    bearer: str | None, operations: list[dict[str, Any]] | None = None
) -> schemathesis.Config:
    """A run with every check at its defaults; ``operations`` holds per-operation entries."""
    data: dict[str, Any] = {
        "seed": SEED,
        "generation": {
            "max-examples": max_examples(),
            "deterministic": True,
            "database": "none",
            # NUL may appear in generated strings: the documents' patterns say where it is
            # refused, and the negative phases send it there.
            "allow-x00": True,
        },
        "cache": {"enabled": False},
        "operations": operations or [],
    }
    if bearer is not None:
        data["auth"] = {"openapi": {"ApiKey": {"bearer": bearer}}}
    return schemathesis.Config.from_dict(data)


@dataclass
class Report:
    operations: int
    cases: Counter[str] = field(default_factory=Counter)
    failures: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def summary(self) -> str:
        phases = ", ".join(f"{phase} {n}" for phase, n in sorted(self.cases.items()))
        return f"{self.operations} operations, {sum(self.cases.values())} cases ({phases})"

    def problems(self) -> str:
        return "\n\n".join(
            f"{label}: {check}: {title}\n{text}"
            for (label, check, title), text in sorted(self.failures.items())
        )


def _describe(recorder: Any, case_id: str, message: str, curl: str) -> str:
    interaction = recorder.interactions.get(case_id)
    response = interaction.response if interaction is not None else None
    answer = (
        f"=> {response.status_code} {response.headers.get('content-type')} "
        f"{response.content[:300]!r}"
        if response is not None
        else "=> no response"
    )
    return f"{message}\n{curl}\n{answer}"


def _record(report: Report, recorder: Any) -> None:
    for case_id, checks in recorder.checks.items():
        for check in checks:
            info = check.failure_info
            if check.status is Status.FAILURE and info is not None:
                key = (recorder.label, check.name, info.failure.title)
                report.failures.setdefault(
                    key, _describe(recorder, case_id, info.failure.message, info.code_sample)
                )


# One line per run for the terminal summary (tests/fuzz/conftest.py).
SUMMARIES: list[str] = []


def run(schema: Any, name: str) -> Report:
    report = Report(operations=sum(1 for _ in schema.get_all_operations()))
    started = time.monotonic()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            report.cases[event.phase.value] += len(event.recorder.cases)
            _record(report, event.recorder)
            if event.status is Status.ERROR:
                report.failures[(event.recorder.label, "error", event.phase.value)] = "errored"
        elif isinstance(event, events.NonFatalError):
            report.failures[(event.label, "error", type(event.value).__name__)] = str(event.value)
        elif isinstance(event, events.FatalError):
            report.failures[("run", "fatal", type(event.exception).__name__)] = str(event.exception)
        elif isinstance(event, events.EngineFinished):
            for failure in event.failures:
                report.failures[(failure.operation, "after run", failure.title)] = failure.message
    SUMMARIES.append(
        f"{name}: {report.summary()}, {len(report.failures)} failure(s), "
        f"{time.monotonic() - started:.0f} s"
    )
    return report


# Values no column holds: a NUL in a string, numbers far beyond any stated maximum.
NUL = "fuzz\x00nul"
HUGE_NUMBER = 1.5e308
HUGE_INTEGER = 10**20


def _hostile_values(schema: dict[str, Any]) -> list[Any]:
    kinds = schema.get("type")
    kinds = set(kinds) if isinstance(kinds, list) else {kinds}
    for branch in schema.get("anyOf", ()):
        kinds |= {branch.get("type")}
    out: list[Any] = []
    if "string" in kinds:
        out.append(NUL)
    if "number" in kinds:
        out += [HUGE_NUMBER, -HUGE_NUMBER, 5e-324]
    if "integer" in kinds:
        out += [HUGE_INTEGER, -HUGE_INTEGER]
    return out


def _resolved(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref", "")
    if ref.startswith("#/"):
        for part in ref[2:].split("/"):
            spec = spec[part]
        return spec
    return node


def _outside(schema: dict[str, Any], value: Any) -> bool:
    """Whether the document refuses ``value``: NUL text, or a number beyond its bounds."""
    if isinstance(value, str):
        return True
    bounds = [schema, *schema.get("anyOf", ())]
    top = min((b["maximum"] for b in bounds if "maximum" in b), default=None)
    bottom = max((b["minimum"] for b in bounds if "minimum" in b), default=None)
    return (top is not None and value > top) or (bottom is not None and value < bottom)


def hostile(app: Any, path: str, bearer: str | None, name: str) -> list[str]:
    """Every query parameter of every GET without path parameters (and of the OGC items),
    sent alone with NUL text or a number far beyond any maximum: each answer must be a
    4xx, never a 500. Complements the schemathesis run, whose positive phases keep to the
    document's patterns and maximums."""
    spec = served(app, path)
    prefix = "/ogc" if path == "/ogc/api" else ""
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    findings: list[str] = []
    sent = 0
    started = time.monotonic()
    with asgi.get_client(app) as client:
        for route, item in spec["paths"].items():
            operation = item.get("get")
            if not isinstance(operation, dict):
                continue
            url = prefix + route.replace("{collectionId}", "plots")
            if "{" in url:
                continue
            parameters = [_resolved(spec, p) for p in operation.get("parameters", ())]
            for parameter in parameters:
                if parameter.get("in") != "query":
                    continue
                schema = _resolved(spec, parameter.get("schema", {}))
                for value in _hostile_values(schema):
                    sent += 1
                    query = {parameter["name"]: str(value)}
                    response = client.get(url, params=query, headers=headers)
                    # A 500 never; a 2xx only for a value the document allows.
                    refused = _outside(schema, value)
                    if response.status_code >= 500 or (refused and response.status_code < 400):
                        findings.append(
                            f"GET {url} {query!r}: {response.status_code} {response.text[:200]}"
                        )
    SUMMARIES.append(
        f"{name} (hostile values): {sent} requests, {len(findings)} finding(s), "
        f"{time.monotonic() - started:.0f} s"
    )
    return findings
