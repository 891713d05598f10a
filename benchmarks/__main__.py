"""The whole benchmark suite (issue 8): every scenario against its baseline, one summary.

    python -m benchmarks [--size national] [--duration 20] [--warmup 5] [--workers 1 2]
        [--only import matching ogc reports] [--results benchmarks/results] [--readme]

Builds (or reuses) the dataset of ``benchmarks.dataset`` first, then runs each scenario module
in its own process (each starts and stops its own servers and writes its own detailed results
file) and collects their summary rows into ``results/<date>-<size>-suite.md`` (and ``.json``; a
run with ``--only`` replaces just its scenarios in today's summary): one table with
every figure, its baseline, the ratio and the target of issue 8. ``--readme`` also replaces
the table in README.md's "Performance" section.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks import summary
from benchmarks.common import RESULTS, ROOT, machine
from benchmarks.dataset import SERVICE_SAMPLE, SOURCES, dataset

SCENARIOS = ("import", "matching", "ogc", "reports")
README_START = "<!-- benchmark-suite:start -->"
README_END = "<!-- benchmark-suite:end -->"
AREAS = {
    "national": "all German municipalities of VG5000 2021",
    "regional": "the 75 FrankfurtRheinMain municipalities",
}


def scenario_args(name: str, args: argparse.Namespace) -> list[str]:
    """The module and options of one scenario, from the suite's options."""
    size = ["--size", args.size]
    timing = ["--duration", f"{args.duration:g}", "--warmup", f"{args.warmup:g}"]
    workers = ["--workers", *map(str, args.workers)]
    return {
        "import": ["benchmarks.plot_import", *size],
        "matching": ["benchmarks.matching", *size, *timing, *workers],
        "ogc": ["benchmarks.ogc", *size, *timing, *workers],
        "reports": ["benchmarks.reports", *size],
    }[name]


def run(name: str, args: argparse.Namespace, workdir: Path) -> tuple[list[summary.Row], float]:
    out = workdir / f"{name}.json"
    command = [sys.executable, "-m", *scenario_args(name, args), "--results", str(args.results)]
    print(f"[suite] {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    subprocess.run([*command, "--json", str(out)], check=True, cwd=ROOT)
    return summary.read(out), time.perf_counter() - started


def loading_lines(timings: dict[str, float]) -> list[str]:
    """How long building the dataset through the product's own paths took (dataset.json)."""
    steps = {
        "municipalities": "boundaries through the municipality importer",
        "plots": "100,000 plots through the bulk import service, batches of 10,000",
        "requirements_service_sample": f"first {SERVICE_SAMPLE} requirements through "
        "`requirements.service.create` (each with its matches)",
        "requirements_bulk_insert": "the other requirements (service column mapping)",
        "matches_rebuild": "`matching.recompute.rebuild` from no matches",
        "vacuum_analyze": "VACUUM ANALYZE",
    }
    return [
        "| load step | seconds |",
        "|---|---:|",
        *(f"| {label} | {timings[k]:,.1f} |" for k, label in steps.items() if k in timings),
    ]


def report(
    args: argparse.Namespace,
    rows: list[summary.Row],
    took: dict[str, float],
    loading: dict[str, float],
) -> str:
    met = [r for r in rows if r.met is not None]
    missed = [r for r in met if not r.met]
    options = " ".join(sys.argv[1:])
    return "\n".join(
        [
            f"# Benchmark suite, {args.size}, {dt.date.today().isoformat()}",
            "",
            f"Command: `python -m benchmarks {options}` (repository root, virtualenv active)",
            "",
            f"Machine: {machine()}.",
            "",
            f"Dataset: `benchmarks.dataset` size `{args.size}` ({AREAS[args.size]}), "
            "100,000 plots, 10,000 requirements, fixed seed. Each scenario's own file (last "
            "column) has the method, the distribution of the data and the full figures.",
            "",
            f"Targets met: {len(met) - len(missed)} of {len(met)}.",
            "",
            *summary.table(rows),
            "",
            "Building the dataset (once, kept for later runs; timed when it was built):",
            "",
            *loading_lines(loading),
            "",
            "Wall time per scenario: "
            + ", ".join(f"{name} {seconds / 60:.1f} min" for name, seconds in took.items())
            + ".",
            "",
        ]
    )


def update_readme(table: list[str], results_file: str) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        raise SystemExit(f"README.md has no {README_START} ... {README_END} block")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    link = f"benchmarks/results/{results_file}"
    body = [f"Latest run: [`{link}`]({link})", "", *table]
    readme.write_text(head + README_START + "\n" + "\n".join(body) + "\n" + README_END + tail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SOURCES), default="national")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per load run")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before each run")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--only", choices=SCENARIOS, nargs="+", default=list(SCENARIOS))
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--readme", action="store_true", help="update README's table")
    args = parser.parse_args()
    # Build the dataset once up front (timed in its dataset.json), so no scenario pays for it.
    with dataset(args.size) as info:
        loading = info.timings
    args.results.mkdir(parents=True, exist_ok=True)
    stem = args.results / f"{dt.date.today().isoformat()}-{args.size}-suite"
    # A partial run (--only) refreshes its scenarios in today's summary and keeps the others.
    kept = _read_kept(stem.with_suffix(".json"))
    with tempfile.TemporaryDirectory(prefix="landmarket-suite-") as tmp:
        for name in [s for s in SCENARIOS if s in args.only]:
            got, seconds = run(name, args, Path(tmp))
            kept[name] = {"seconds": seconds, "rows": [asdict(r) for r in got]}
    stem.with_suffix(".json").write_text(json.dumps(kept, indent=1))
    rows = [summary.Row(**r) for name in SCENARIOS if name in kept for r in kept[name]["rows"]]
    took = {name: kept[name]["seconds"] for name in SCENARIOS if name in kept}
    out = stem.with_suffix(".md")
    out.write_text(report(args, rows, took, loading))
    print(out.read_text())
    print(f"written to {out}")
    if args.readme:
        update_readme(summary.table(rows), out.name)


def _read_kept(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    kept: dict[str, Any] = json.loads(path.read_text())
    return kept


if __name__ == "__main__":
    main()
