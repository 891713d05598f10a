"""One line per measured figure, for the suite's summary (``python -m benchmarks``).

Each scenario module takes ``--json PATH`` and writes its figures there as ``Row``s; the suite
collects them into one table with the targets of issue 8.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Row:
    scenario: str  # e.g. "OGC items, small bbox, limit=100"
    setting: str  # e.g. "1 worker, 4 connections"
    figure: str  # what was measured, with its unit: "requests/s", "p95 ms", "s"
    ours: float
    baseline: str = ""  # what we compare against ("tipg", "pgbench", "ogr2ogr"), or ""
    baseline_value: float | None = None
    ratio: float | None = None  # ours relative to the baseline, as the target states it
    target: str = ""  # e.g. ">= 6x tipg", "< 50 ms"
    met: bool | None = None  # None: no target for this line
    details: str = ""  # the scenario's own results file

    def cells(self) -> list[str]:
        ratio = "" if self.ratio is None else f"{self.ratio:.2f}x"
        base = "" if self.baseline_value is None else f"{self.baseline} {_num(self.baseline_value)}"
        met = {None: "", True: "met", False: "**missed**"}[self.met]
        return [self.scenario, self.setting, self.figure, _num(self.ours), base, ratio,
                self.target, met]  # fmt: skip


HEADER = [
    "scenario", "setting", "figure", "ours", "baseline", "ratio", "target", "result",
]  # fmt: skip


def _num(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def write(path: Path | None, rows: list[Row]) -> None:
    if path is not None:
        path.write_text(json.dumps([asdict(r) for r in rows], indent=1))


def read(path: Path) -> list[Row]:
    return [Row(**item) for item in json.loads(path.read_text())]


def table(rows: list[Row]) -> list[str]:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * 3 + "---:|" * 3 + "---|---|"]
    lines += ["| " + " | ".join(r.cells()) + " |" for r in rows]
    return lines
