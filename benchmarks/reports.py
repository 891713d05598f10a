"""Benchmark: reports over 100,000 plots and 10,000 requirements, and streamed exports.

    python -m benchmarks.reports [--size national] [--repeat 5] [--json PATH]

On the dataset of ``benchmarks.dataset`` (built on first use, then reused), against a real
``landmarket serve`` (1 worker) on 127.0.0.1:

(a) every report (each ``group_by``), JSON, the dataset's region, admin key: warm-up, then
    ``--repeat`` timed requests each; median and max wall time (target: under 1 s); the CSV
    and XLSX renderings of one report (XLSX: under 1 s) and the regional PDF (under 2 s) are
    timed alongside;
(b) the same reports' SQL alone (the service functions on a direct connection), for the
    ratio HTTP / SQL;
(c) ``/v1/exports/plots`` in every format and ``/v1/exports/municipalities``: bytes, time,
    and the API process's peak resident memory (``VmHWM`` from ``/proc/<pid>/status``, which
    only grows) after each export (target: under 300 MB).

Results go to ``benchmarks/results/<date>-<size>-reports.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from benchmarks import summary
from benchmarks.common import (
    RESULTS,
    free_port,
    machine,
    product_engine,
    start_server,
    stop_server,
    versions,
)
from benchmarks.dataset import SOURCES, DatasetInfo, dataset
from landmarket.reports import service
from landmarket.reports.scope import Scope, resolve_unchecked

REPORT_TARGET_S = 1.0
# Issue 17: the national regional PDF (five pages with the map) under 2 s; every other
# request, the XLSX of the supply report included, under REPORT_TARGET_S.
PDF_TARGET_S = 2.0


def target_s(label: str) -> float:
    return PDF_TARGET_S if label.startswith("regional.pdf") else REPORT_TARGET_S


RSS_TARGET_MB = 300.0
SUPPLY = ["municipality", "district", "zoning", "category", "status", "ownership"]
DEMAND = ["size_class", "emission_class", "sector", "home_municipality"]


def report_requests() -> list[tuple[str, dict[str, str]]]:
    out: list[tuple[str, dict[str, str]]] = []
    out += [("supply", {"group_by": g}) for g in SUPPLY]
    out += [("demand", {"group_by": g}) for g in DEMAND]
    out += [(name, {}) for name in ("matching", "unmet-demand", "flows", "timeseries")]
    return out


@dataclass(frozen=True)
class Timing:
    label: str
    median_s: float
    max_s: float
    sql_median_s: float | None = None


def _label(name: str, params: dict[str, str]) -> str:
    extra = ",".join(f"{k}={v}" for k, v in params.items() if k != "region")
    return f"{name}?{extra}" if extra else name


def http_reports(base: str, key: str, region: str, repeat: int) -> list[Timing]:
    headers = {"Authorization": f"Bearer {key}"}
    extra: list[tuple[str, dict[str, str]]] = [
        ("supply", {"group_by": "municipality", "format": "csv"}),
        ("supply", {"group_by": "municipality", "format": "xlsx"}),
        ("regional.pdf", {}),
    ]
    out = []
    with httpx.Client(base_url=base, headers=headers, timeout=300) as client:
        for name, params in [*report_requests(), *extra]:
            query = {**params, "region": region}
            times = []
            for i in range(repeat + 1):
                started = time.perf_counter()
                response = client.get(f"/v1/reports/{name}", params=query)
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    raise SystemExit(f"{name} {params}: {response.status_code} {response.text}")
                if i:  # the first request warms caches and is not counted
                    times.append(elapsed)
            out.append(Timing(_label(name, params), statistics.median(times), max(times)))
            print(f"  {out[-1].label}: median {out[-1].median_s * 1000:.0f} ms", flush=True)
    return out


async def _supply(s: AsyncSession, scope: Scope, *, group_by: str, today: dt.date) -> Any:
    return await service.supply(s, scope, group_by, today)


async def _timeseries(s: AsyncSession, scope: Scope, *, today: dt.date) -> Any:
    return await service.timeseries(s, scope, "month", today)


async def sql_reports(url: str, region: str, repeat: int) -> dict[str, float]:
    """Median seconds of each report's service call on a direct connection (no HTTP)."""
    engine = product_engine(url)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    today = dt.date.today()
    calls: dict[str, Callable[[AsyncSession, Scope], Awaitable[Any]]] = {}
    for g in SUPPLY:
        calls[_label("supply", {"group_by": g})] = partial(_supply, group_by=g, today=today)
    for g in DEMAND:
        calls[_label("demand", {"group_by": g})] = partial(service.demand, group_by=g)
    calls["matching"] = service.matching
    calls["unmet-demand"] = service.unmet_demand
    calls["flows"] = service.flows
    calls["timeseries"] = partial(_timeseries, today=today)
    out = {}
    try:
        async with maker() as session:
            scope = await resolve_unchecked(session, region, None)
            for label, call in calls.items():
                times = []
                for i in range(repeat + 1):
                    started = time.perf_counter()
                    await call(session, scope)
                    if i:
                        times.append(time.perf_counter() - started)
                out[label] = statistics.median(times)
    finally:
        await engine.dispose()
    return out


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"no VmHWM for {pid}")


@dataclass(frozen=True)
class Export:
    label: str
    megabytes: float
    seconds: float
    peak_rss_mb: float


def exports(base: str, key: str, region: str, pid: int) -> tuple[float, list[Export]]:
    headers = {"Authorization": f"Bearer {key}"}
    runs = [("plots", f) for f in ("geojson", "csv", "gpkg", "xlsx")]
    runs += [("municipalities", f) for f in ("geojson", "gpkg")]
    out = []
    with httpx.Client(base_url=base, headers=headers, timeout=900) as client:
        before = vm_hwm_mb(pid)
        for what, fmt in runs:
            started = time.perf_counter()
            size = 0
            params = {"region": region, "format": fmt}
            with client.stream("GET", f"/v1/exports/{what}", params=params) as response:
                if response.status_code != 200:
                    raise SystemExit(f"{what} {fmt}: {response.status_code}")
                for block in response.iter_bytes():
                    size += len(block)
            seconds = time.perf_counter() - started
            out.append(Export(f"{what} {fmt}", size / 1e6, seconds, vm_hwm_mb(pid)))
            print(f"  {what} {fmt}: {size / 1e6:.1f} MB in {seconds:.1f} s", flush=True)
    return before, out


def report(
    info: DatasetInfo,
    command: str,
    http: list[Timing],
    sql: dict[str, float],
    rss_before: float,
    exported: list[Export],
    pg: str,
    postgis: str,
) -> str:
    worst = max(t.max_s for t in http if t.label in sql)
    missed = [t.label for t in http if t.max_s >= target_s(t.label)]
    peak = max(e.peak_rss_mb for e in exported)
    lines = [
        f"# Reports and exports benchmark ({dt.date.today().isoformat()})",
        "",
        f"- Machine: {machine()}",
        f"- PostgreSQL {pg}, PostGIS {postgis} (embedded cluster of `benchmarks.dataset`)",
        f"- Data: {info.size}, {info.plots:,} plots, {info.requirements:,} requirements, "
        f"region `{info.region}`, seed {info.seed}",
        f"- Command: `{command}`",
        "- Server: `landmarket serve` with 1 worker on 127.0.0.1; client: httpx, sequential",
        "",
        "## Reports (JSON, admin key, region scope)",
        "",
        f"Target: every report under {REPORT_TARGET_S:g} s (the PDF under {PDF_TARGET_S:g} s). "
        f"Slowest single request: {worst * 1000:.0f} ms; "
        f"{'all met' if not missed else 'MISSED: ' + ', '.join(missed)}.",
        "",
        "| report | HTTP median ms | HTTP max ms | SQL + shaping median ms | HTTP / SQL |",
        "|---|---:|---:|---:|---:|",
    ]
    for t in http:
        s = sql.get(t.label)
        ratio = f"{t.median_s / s:.2f}" if s else ""
        s_ms = f"{s * 1000:.0f}" if s else ""
        lines.append(
            f"| {t.label} | {t.median_s * 1000:.0f} | {t.max_s * 1000:.0f} | {s_ms} | {ratio} |"
        )
    lines += [
        "",
        "## Exports (streamed; peak RSS of the API process)",
        "",
        f"Target: under {RSS_TARGET_MB:g} MB. Peak (VmHWM) after start-up and migrations "
        "check, before the first export: "
        f"{rss_before:.0f} MB; after all: {peak:.0f} MB "
        f"({'met' if peak < RSS_TARGET_MB else 'MISSED'}).",
        "",
        "| export | MB | seconds | VmHWM after, MB |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {e.label} | {e.megabytes:.1f} | {e.seconds:.1f} | {e.peak_rss_mb:.0f} |"
        for e in exported
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SOURCES), default="national")
    parser.add_argument("--plots", type=int, default=100_000)
    parser.add_argument("--requirements", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--json", type=Path, help="also write the summary rows here")
    args = parser.parse_args()
    command = "python -m benchmarks.reports " + " ".join(sys.argv[1:])
    with dataset(args.size, args.plots, args.requirements) as info:
        port = free_port()
        server = start_server(info.env(), port, info.data_dir / "serve-reports.log")
        try:
            base = f"http://127.0.0.1:{port}"
            # Exports first, on a fresh process: VmHWM only grows, and the PDF report (run
            # with the reports) loads matplotlib.
            print("exports", flush=True)
            rss_before, exported = exports(base, info.admin_key, info.region, server.pid)
            print("reports over HTTP", flush=True)
            http = http_reports(base, info.admin_key, info.region, args.repeat)
            rss_after_reports = vm_hwm_mb(server.pid)
        finally:
            stop_server(server)
        print("reports SQL", flush=True)
        sql = asyncio.run(sql_reports(info.url, info.region, args.repeat))
        pg, postgis = asyncio.run(versions(info.url))
    text = report(info, command, http, sql, rss_before, exported, pg, postgis)
    text += f"\nVmHWM after the reports and the PDF as well: {rss_after_reports:.0f} MB.\n"
    args.results.mkdir(parents=True, exist_ok=True)
    suffix = "" if (args.plots, args.requirements) == (100_000, 10_000) else "-small"
    path: Path = args.results / f"{dt.date.today().isoformat()}-{args.size}-reports{suffix}.md"
    path.write_text(text)
    print(text)
    print(f"wrote {path}")
    summary.write(args.json, summary_rows(http, exported, path.name))


def summary_rows(http: list[Timing], exported: list[Export], details: str) -> list[summary.Row]:
    rows = [
        summary.Row(
            "Reports",
            t.label,
            "max ms of the timed requests",
            t.max_s * 1000,
            target=f"< {target_s(t.label) * 1000:g} ms",
            met=t.max_s < target_s(t.label),
            details=details,
        )
        for t in http
    ]
    peak = max(e.peak_rss_mb for e in exported)
    rows.append(
        summary.Row(
            "Exports, streamed",
            ", ".join(e.label for e in exported),
            "peak RSS of the API process, MB",
            peak,
            target=f"< {RSS_TARGET_MB:g} MB",
            met=peak < RSS_TARGET_MB,
            details=details,
        )
    )
    return rows


if __name__ == "__main__":
    main()
