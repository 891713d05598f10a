"""Benchmark: 10,000 plots in one POST /v1/plot-imports against a real server process.

    python -m benchmarks.plot_import [--size regional|national] [--plots 10000]
        [--results benchmarks/results] [--json PATH]

Starts `landmarket serve` on 127.0.0.1 with its own LANDMARKET_DATA_DIR in /tmp (embedded
PostGIS) unless LANDMARKET_DATABASE_URL is set, imports the boundaries (FrankfurtRheinMain, or
all of Germany with ``--size national``), generates the plots (fixed seed, EPSG:25832, inside
the real municipalities) and times:

1. the import (all created), 2. the same request again (all unchanged), 3. as the baseline,
the same features loaded by GDAL's ogr2ogr into a plain PostGIS table on the same database.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from benchmarks import summary
from benchmarks.common import (
    ROOT,
    SEED,
    UTM,
    free_port,
    machine,
    start_server,
    stop_server,
    versions,
)
from benchmarks.dataset import SOURCES
from landmarket.auth import service as auth_service
from landmarket.auth.models import OrgKind
from landmarket.auth.schemas import ApiKeyCreate, OrganizationCreate
from landmarket.db.embedded import EmbeddedCluster
from landmarket.db.session import async_url
from landmarket.demo.synthetic import plot_features, points_in
from landmarket.municipalities.importer import import_file
from landmarket.municipalities.repository import member_ags

IMPORT_TARGET_S = 10.0
RATE_TARGET = 0.5  # of ogr2ogr's plots per second


async def prepare(url: str, size: str, plots: int) -> tuple[str, list[dict[str, Any]]]:
    """Boundaries, a key for all their municipalities, and the generated features."""
    source, region, region_name = SOURCES[size]
    engine = create_async_engine(async_url(url))
    try:
        async with async_sessionmaker(engine)() as session, session.begin():
            await session.execute(text("DROP TABLE IF EXISTS bench_ogr2ogr"))
            await import_file(session, source, region=region, region_name=region_name)
            ags = await member_ags(session, region)
            org = await auth_service.create_organization(
                session,
                OrganizationCreate(
                    kind=OrgKind.municipality, name=f"Benchmark {time.time_ns()}", ags=ags
                ),
            )
            key = await auth_service.create_api_key(session, org.id, ApiKeyCreate(name="bench"))
            points = await points_in(session, ags, plots, SEED)
        # A fresh id prefix per run, so a reused database (LANDMARKET_DATABASE_URL) still
        # sees 10,000 new plots.
        return key.key, plot_features(points, SEED, prefix=f"bench-{time.time_ns()}")
    finally:
        await engine.dispose()


def post(base: str, key: str, body: bytes) -> tuple[float, dict[str, Any]]:
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Crs": UTM,
        "Content-Type": "application/json",
    }
    started = time.perf_counter()
    response = httpx.post(f"{base}/v1/plot-imports", content=body, headers=headers, timeout=600)
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"import failed: {response.status_code} {response.text[:2000]}")
    report: dict[str, Any] = response.json()
    return seconds, report


def ogr2ogr(url: str, features: list[dict[str, Any]], workdir: Path) -> float:
    source = workdir / "plots.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    parsed = make_url(url)
    pg = (
        f"PG:host={parsed.host} port={parsed.port} dbname={parsed.database} "
        f"user={parsed.username} password={parsed.password}"
    )
    command = [
        "ogr2ogr", "-f", "PostgreSQL", pg, str(source), "-nln", "bench_ogr2ogr",
        "-overwrite", "-a_srs", "EPSG:25832", "-nlt", "MULTIPOLYGON",
        "-lco", "GEOMETRY_NAME=geom",
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SOURCES), default="regional")
    parser.add_argument("--plots", type=int, default=10_000)
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks/results")
    parser.add_argument("--json", type=Path, help="also write the summary rows here")
    args = parser.parse_args()
    source = SOURCES[args.size][0]
    if not source.exists():
        raise SystemExit(f"{source} is missing (the boundaries for {args.size!r})")
    workdir = Path(tempfile.mkdtemp(prefix="landmarket-bench-", dir="/tmp"))
    workdir.chmod(0o711)  # as root, the embedded cluster's postgres user must reach it
    # One request: the rate limit cannot interfere, but keep the server as the others run.
    env = {
        **os.environ,
        "LANDMARKET_DATA_DIR": str(workdir),
        "LANDMARKET_RATE_LIMIT_PER_SECOND": "0",
    }
    port = free_port()
    server = start_server(env, port, workdir / "serve.log")
    try:
        url = os.environ.get("LANDMARKET_DATABASE_URL") or EmbeddedCluster(workdir).url()
        key, features = asyncio.run(prepare(url, args.size, args.plots))
        body = json.dumps({"type": "FeatureCollection", "features": features}).encode()
        base = f"http://127.0.0.1:{port}"
        first, report = post(base, key, body)
        # PostGIS's ST_GeneratePoints may give a multi-part municipality a point more or less.
        count = len(features)
        if report["created"] != count:
            raise SystemExit(
                f"created {report['created']} of {count} plots: {report['errors'][:5]}"
            )
        second, again = post(base, key, body)
        if again["unchanged"] != count:
            raise SystemExit(f"{again['unchanged']} of {count} plots unchanged on the retry")
        baseline = ogr2ogr(url, features, workdir)
        pg, postgis = asyncio.run(versions(url))
    finally:
        stop_server(server)
    out = write_results(args, count, len(body), first, second, baseline, pg, postgis)
    shutil.rmtree(workdir, ignore_errors=True)
    ratio = baseline / first  # our plots/s relative to ogr2ogr's
    summary.write(
        args.json,
        [
            summary.Row(
                "Bulk import, POST /v1/plot-imports",
                f"{count:,} plots in one request",
                "seconds",
                first,
                "ogr2ogr",
                baseline,
                ratio,
                f"< {IMPORT_TARGET_S:g} s and >= {RATE_TARGET:g}x ogr2ogr's rate",
                first < IMPORT_TARGET_S and ratio >= RATE_TARGET,
                out.name,
            )
        ],
    )


def write_results(
    args: argparse.Namespace,
    count: int,
    body_bytes: int,
    first: float,
    second: float,
    baseline: float,
    pg: str,
    postgis: str,
) -> Path:
    today = dt.date.today().isoformat()
    where = SOURCES[args.size][2]
    lines = [
        f"# Plot import benchmark, {today}",
        "",
        f"Command: `python -m benchmarks.plot_import --size {args.size} --plots {args.plots}` "
        "(from the repository "
        "root, virtualenv active; `landmarket serve` with an embedded PostGIS in /tmp)",
        "",
        f"Machine: {machine()}; PostgreSQL {pg}, PostGIS {postgis}.",
        "",
        f"Data: {count:,} generated plots (seed {SEED}) inside the municipalities of "
        f"{where}, EPSG:25832, one request of {body_bytes / 1e6:.1f} MB.",
        "",
        "| run | seconds | plots/s | vs ogr2ogr |",
        "|---|---:|---:|---:|",
        f"| POST /v1/plot-imports, all created | {first:.2f} | {count / first:,.0f} "
        f"| {first / baseline:.2f}x |",
        f"| same request again, all unchanged | {second:.2f} | {count / second:,.0f} "
        f"| {second / baseline:.2f}x |",
        f"| `ogr2ogr -f PostgreSQL` into a plain table | {baseline:.2f} "
        f"| {count / baseline:,.0f} | 1.00x |",
        "",
        "Times are wall clock at the client, HTTP included. The import does more than the "
        "baseline: every geometry rule, municipality placement, upsert by external_id, and an "
        "audit event with before/after snapshots per plot, in one transaction.",
        "",
    ]
    args.results.mkdir(parents=True, exist_ok=True)
    out: Path = args.results / f"{today}-{args.size}-plot-import.md"
    out.write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"written to {out}")
    return out


if __name__ == "__main__":
    main()
