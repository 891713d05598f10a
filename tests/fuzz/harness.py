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
