"""Benchmark: OGC API items (small bbox, limit=100) and z14 vector tiles, against tipg and pgbench.

    python -m benchmarks.ogc [--size national|regional] [--workers 1 2] [--duration 20]
        [--warmup 5] [--rounds 3] [--concurrency 4] [--tipg-venv /tmp/tipg-venv]
        [--results benchmarks/results] [--json PATH]

On the shared dataset (``benchmarks.dataset``), for each worker count N, in one run:

1. ``landmarket serve`` (N workers) on 127.0.0.1: ``/ogc/collections/plots/items?bbox=...&
   limit=100`` and ``/ogc/collections/plots/tiles/WebMercatorQuad/14/x/y``;
2. tipg (developmentseed; pip-installed into its own virtualenv, ``--tipg-venv``, N workers)
   on the same ``plots`` table: the same bbox and limit with ``status=published`` and the
   same properties, and its tile endpoint for the same tile (checked: same feature count).
   It runs on uvicorn with uvloop and httptools like ``landmarket serve`` (tipg's images ship
   plain uvicorn, h11 on asyncio: slower, and with 2 workers it stalled ~50 ms per request on
   persistent connections, which would have flattered us);
3. pgbench running the SQL our items endpoint sends (its kept statement compiled with the
   request's values as literals), prepared;
4. the floor: ``bare_items.py``, the same statement behind a bare ASGI callable.

Targets: items >= 6x tipg and >= 70 % of the floor's rate, with 1 and 2 workers; tiles >= 2x
tipg. pgbench's rate is reported beside them but is no target any more: even the bare floor
reaches only 34-56 % of it on this machine (the retired target was 60 %).

The box: 600 m around the median published plot (by municipality and external id, so the same
plot whatever the random UUIDs of a dataset build), its side grown by a quarter until it holds
at least ``MIN_FEATURES`` published plots (national plots are sparse) and tipg's reading of it
(bounding boxes overlapping the projected corners) selects the same plots as ours (geometries
intersecting the box with its edges followed); the tile is the z14 tile of that plot.
Requests come from wrk over persistent HTTP/1.1 connections, as many for every server;
pgbench uses as many clients. (ApacheBench, used before, speaks HTTP/1.0, whose keep-alive
uvicorn does not offer: every request of ``ab -k`` opened a new connection to either server.)
The servers log at WARNING (no access log line per request), none is rate limited. Each round
measures ours, tipg, the floor and pgbench back to back (after a warm-up each), so the ratios
of a round share the machine's state; reported are the rounds and their means.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from benchmarks import summary
from benchmarks.common import (
    RESULTS,
    ROOT,
    await_up,
    free_port,
    libpq_url,
    machine,
    pgbench,
    start_server,
    stop_server,
    versions,
)
from benchmarks.dataset import SOURCES, DatasetInfo, dataset
from landmarket.db import reads
from landmarket.db.geo import DEFAULT_CRS
from landmarket.db.session import async_url
from landmarket.ogc import repository
from landmarket.ogc.collections import COLLECTIONS, PLOT_PROPERTIES, PLOT_TILE_PROPERTIES

BOX_METRES = 600
MIN_FEATURES = 10
PLOTS = COLLECTIONS["plots"]
TARGETS = {"items tipg": 6.0, "items bare": 0.7, "tiles tipg": 2.0}


@dataclass(frozen=True)
class Area:
    box: tuple[float, float, float, float]  # CRS84
    side_m: int
    tile: tuple[int, int]  # z14 column, row
    in_box: int  # published plots in the box


@dataclass
class Config:
    """The figures of one worker count: requests/s per round for each measurement."""

    workers: int
    rounds: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, value: float) -> None:
        self.rounds.setdefault(name, []).append(value)

    def mean(self, name: str) -> float:
        return statistics.fmean(self.rounds[name])


async def pick_area(url: str) -> Area:
    engine = create_async_engine(async_url(url))
    try:
        async with engine.connect() as conn:
            centre = (
                await conn.execute(
                    text(
                        "SELECT ST_X(ll), ST_Y(ll) FROM (SELECT ST_Transform(ST_Centroid(geom), "
                        "4326) AS ll FROM plots WHERE status = 'published' "
                        "ORDER BY municipality_ags, external_id "
                        "OFFSET (SELECT count(*) / 2 FROM plots WHERE status = 'published') "
                        "LIMIT 1) c"
                    )
                )
            ).one()
            lon, lat = float(centre[0]), float(centre[1])
            side = float(BOX_METRES)
            for _ in range(40):
                box, ours, tipg = await _box_counts(conn, lon, lat, side)
                # tipg selects by bounding-box overlap with the projected corners, we by
                # intersection with the box's curved edges: a plot right at an edge can be in
                # one and not the other, so such boxes are skipped.
                if ours >= MIN_FEATURES and ours == tipg:
                    break
                side *= 1.25
            else:
                raise SystemExit(f"no box around {lon}, {lat} with {MIN_FEATURES} plots")
    finally:
        await engine.dispose()
    n = 2**14
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return Area(box, round(side), (x, y), ours)


async def _box_counts(
    conn: AsyncConnection, lon: float, lat: float, side: float
) -> tuple[tuple[float, float, float, float], int, int]:
    """The CRS84 box of ``side`` metres around lon/lat (rounded as the clients send it) and
    the published plots in it: as our items endpoint counts, and as tipg does (it answers a
    bbox with the plots whose bounding boxes overlap the box's projected corners)."""
    row = (
        await conn.execute(
            text(
                "SELECT ST_XMin(w), ST_YMin(w), ST_XMax(w), ST_YMax(w) FROM (SELECT "
                "ST_Transform(ST_Expand(ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), "
                "4326), 25832), :half), 4326) AS w) t"
            ),
            {"lon": lon, "lat": lat, "half": side / 2},
        )
    ).one()
    box = (round(row[0], 6), round(row[1], 6), round(row[2], 6), round(row[3], 6))
    query = repository.count(PLOTS, _where(box))
    ours = int(await conn.scalar(query.statement, query.params) or 0)
    tipg = await conn.scalar(
        text(
            "SELECT count(*) FROM plots WHERE status = 'published' AND geom && "
            "ST_Transform(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326), 25832)"
        ),
        dict(zip(("x0", "y0", "x1", "y1"), box, strict=True)),
    )
    return box, ours, int(tipg or 0)


def _where(box: tuple[float, float, float, float]) -> repository.Where:
    return repository.where(
        PLOTS, bbox=box, bbox_crs=DEFAULT_CRS, interval=None, properties={}, cql=None
    )


def _items_query(box: tuple[float, float, float, float]) -> repository.Query:
    """What ``/ogc/collections/plots/items?bbox=...&limit=100`` runs."""
    return repository.page(PLOTS, DEFAULT_CRS, _where(box), after=None, before=None, limit=100)


def items_sql(box: tuple[float, float, float, float]) -> str:
    """The items statement with its values inlined, for pgbench."""
    query = _items_query(box)
    stmt = query.statement.params(**query.params)
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    sql = str(compiled).replace("\n", " ")
    # pgbench would read ":name" as one of its variables (the stored plot properties have
    # their timestamps formatted already, so no to_char format is in the statement).
    assert re.search(r":[A-Za-z_]", sql) is None, sql
    return sql


def items_statement(box: tuple[float, float, float, float]) -> tuple[str, list[Any]]:
    """The items statement's SQL and arguments as the endpoint sends them."""
    query = _items_query(box)
    return reads.bound(query.statement, query.params)


def wrk(url: str, seconds: float, connections: int) -> float:
    """Requests per second over ``connections`` persistent HTTP/1.1 connections (one wrk
    thread is plenty for a handful of connections and leaves the CPUs to the servers)."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
    out = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 60
    )
    failed = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out.stdout)
    errors = re.search(r"Socket errors: (.*)", out.stdout)
    if failed or errors:
        raise SystemExit(f"{url}: failed requests\n{out.stdout}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out.stdout)
    assert match, out.stdout
    return float(match.group(1))


def start_tipg(venv: Path, dsn: str, port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": dsn, "TIPG_DB_SCHEMAS": '["public"]'}
    env["TIPG_DB_TABLES"] = '["public.plots"]'
    command = [str(venv / "bin/uvicorn"), "tipg.main:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    # The HTTP stack landmarket serves on (uvicorn picks these when installed): the
    # comparison is between the applications, not between h11 and httptools.
    command += ["--loop", "uvloop", "--http", "httptools"]
    process = subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    return await_up(process, f"http://127.0.0.1:{port}/collections", "tipg", log)


def start_bare(
    dsn: str, statement: tuple[str, list[Any]], port: int, workers: int, log: Path
) -> subprocess.Popen[bytes]:
    """``bare_items``: the endpoint's statement behind a bare ASGI callable, on uvicorn."""
    spec = json.dumps({"dsn": dsn, "sql": statement[0], "args": statement[1]})
    env = {**os.environ, "LANDMARKET_BARE_ITEMS": spec}
    command = [sys.executable, "-m", "uvicorn", "benchmarks.bare_items:app", "--host"]
    command += ["127.0.0.1", "--port", str(port), "--workers", str(workers), "--no-access-log"]
    command += ["--log-level", "warning", "--loop", "uvloop", "--http", "httptools"]
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    return await_up(process, f"http://127.0.0.1:{port}/", "the bare items server", log)


def check(url: str, expect: int | None = None) -> int:
    r = httpx.get(url, timeout=30)
    r.raise_for_status()
    if expect is not None:
        got = r.json()["numberReturned"]
        if got != expect:
            raise SystemExit(f"{url} returned {got} features, expected {expect}")
    return len(r.content)


def urls(ours_port: int, tipg_port: int, area: Area) -> dict[str, tuple[str, str]]:
    ours = f"http://127.0.0.1:{ours_port}/ogc/collections/plots"
    theirs = f"http://127.0.0.1:{tipg_port}/collections/public.plots"
    bbox = ",".join(str(v) for v in area.box)
    x, y = area.tile
    return {
        "items": (
            f"{ours}/items?bbox={bbox}&limit=100",
            f"{theirs}/items?bbox={bbox}&limit=100&status=published"
            f"&properties={','.join(PLOT_PROPERTIES)}",
        ),
        "tiles": (
            f"{ours}/tiles/WebMercatorQuad/14/{x}/{y}",
            f"{theirs}/tiles/WebMercatorQuad/14/{x}/{y}?status=published"
            f"&properties={','.join(PLOT_TILE_PROPERTIES)}",
        ),
    }


def measure(
    info: DatasetInfo, args: argparse.Namespace, area: Area, sql: str, workers: int, logs: Path
) -> tuple[Config, dict[str, tuple[int, int]]]:
    dsn = libpq_url(info.url)
    env = info.env() | {"LANDMARKET_LOG_LEVEL": "WARNING"}
    ours_port, tipg_port, bare_port = free_port(), free_port(), free_port()
    processes = [
        start_server(env, ours_port, logs / f"ogc-serve-{workers}.log", workers=workers),
        start_tipg(args.tipg_venv, dsn, tipg_port, workers, logs / f"ogc-tipg-{workers}.log"),
        start_bare(dsn, items_statement(area.box), bare_port, workers, logs / "ogc-bare.log"),
    ]
    config = Config(workers)
    try:
        pair = urls(ours_port, tipg_port, area)
        expected = min(area.in_box, 100)
        bare = f"http://127.0.0.1:{bare_port}/"
        sizes = {
            "items": (check(pair["items"][0], expected), check(pair["items"][1], expected)),
            "tiles": (check(pair["tiles"][0]), check(pair["tiles"][1])),
        }
        if len(httpx.get(bare).json()["features"]) != expected:
            raise SystemExit("the bare items server returned another number of features")
        runs = [(name, label, url) for name, urls in pair.items() for label, url in zip(
            ("landmarket", "tipg"), urls, strict=True)]  # fmt: skip
        runs.insert(2, ("items", "bare", bare))
        for r in range(args.rounds):
            for name, label, url in runs:
                wrk(url, args.warmup, args.concurrency)  # pools, caches, prepared plans
                rps = wrk(url, args.duration, args.concurrency)
                config.add(f"{name} {label}", rps)
                print(f"[ogc] workers={workers} round {r + 1} {name} {label}: {rps:.0f}/s")
            pgbench(dsn, [sql], args.warmup, args.concurrency)
            tps = pgbench(dsn, [sql], args.duration, args.concurrency)
            config.add("items pgbench", tps)
            print(f"[ogc] workers={workers} round {r + 1} items pgbench: {tps:.0f} tps")
    finally:
        for process in processes:
            stop_server(process)
    return config, sizes


def ratios(config: Config) -> dict[str, float]:
    items, tiles = config.mean("items landmarket"), config.mean("tiles landmarket")
    return {
        "items tipg": items / config.mean("items tipg"),
        "items pgbench": items / config.mean("items pgbench"),
        # the floor of a Python server here (bare_items.py): landmarket's share of it
        "items bare": items / config.mean("items bare"),
        "tiles tipg": tiles / config.mean("tiles tipg"),
        # not a target: how much of pgbench's rate the floor itself reaches
        "bare pgbench": config.mean("items bare") / config.mean("items pgbench"),
    }


def report(
    args: argparse.Namespace,
    info: DatasetInfo,
    area: Area,
    sql: str,
    configs: Sequence[Config],
    sizes: dict[str, tuple[int, int]],
    pg_versions: tuple[str, str],
    load: str,
) -> str:
    lines = [
        f"# OGC API: items and vector tiles vs tipg and pgbench ({args.size})",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}; "
        f"PostgreSQL {pg_versions[0]}, PostGIS {pg_versions[1]}.",
        f"Dataset: {args.size}, {info.plots} plots, {info.requirements} requirements "
        f"(`benchmarks.dataset`). wrk, {args.concurrency} persistent HTTP/1.1 connections, "
        f"{args.duration:g} s per measurement after a {args.warmup:g} s warm-up, "
        f"{args.rounds} round(s) per worker count; tipg runs with as many workers as "
        f"landmarket. Load average (1/5/15 min) at the end: {load}.",
        "",
        "Command: `" + " ".join(["python -m benchmarks.ogc", *sys.argv[1:]]) + "`",
        "",
        f"Items: bbox `{','.join(map(str, area.box))}` (CRS84, {area.side_m} m square, "
        f"{area.in_box} published plots), `limit=100`; tile `14/{area.tile[0]}/{area.tile[1]}`. "
        f"Body bytes (landmarket / tipg): items {sizes['items'][0]} / {sizes['items'][1]}, "
        f"tile {sizes['tiles'][0]} / {sizes['tiles'][1]}.",
        "",
        "| workers | what | req/s (rounds) | mean | ratio | target |",
        "|---:|---|---|---:|---:|---|",
    ]
    for c in configs:
        r = ratios(c)

        def row(name: str, ratio: str = "", target: str = "", c: Config = c) -> str:
            each = ", ".join(f"{v:,.0f}" for v in c.rounds[name])
            return f"| {c.workers} | {name} | {each} | {c.mean(name):,.0f} | {ratio} | {target} |"

        lines += [
            row("items landmarket"),
            row("items tipg", f"{r['items tipg']:.2f}x", ">= 6x"),
            row("items pgbench", f"{r['items pgbench']:.0%}"),
            row(
                "items bare",
                f"{r['items bare']:.0%} ({r['bare pgbench']:.0%} of pgbench)",
                ">= 70 %",
            ),
            row("tiles landmarket"),
            row("tiles tipg", f"{r['tiles tipg']:.2f}x", ">= 2x"),
        ]
    lines += [
        "",
        "Ratios are landmarket's mean over the baseline's mean of the same worker count "
        "(`items pgbench`: landmarket's requests/s as a share of pgbench's transactions/s).",
        "",
        "`items bare` is the floor of a Python server on this machine (the ratio is "
        "landmarket's share of it; in brackets the floor's own share of pgbench): a bare "
        "ASGI callable (`benchmarks/bare_items.py`: no framework, no parameter parsing, no "
        "links) on the same uvicorn and worker count, running the same statement with the "
        "same values over the product's read pool. Its share of pgbench is what HTTP and a "
        "Python database client leave of PostgreSQL's rate here; no server in this stack "
        "can do better than it.",
        "",
        "The pgbench SQL (what `/ogc/collections/plots/items` sends, values inlined):",
        "",
        "```sql",
        sql,
        "```",
        "",
    ]
    return "\n".join(lines)


def summary_rows(configs: Sequence[Config], concurrency: int, details: str) -> list[summary.Row]:
    rows = []
    for c in configs:
        r = ratios(c)
        setting = f"{c.workers} worker(s), {concurrency} connections"
        for key, scenario, base in (
            ("items tipg", "OGC items, small bbox, limit=100", "tipg"),
            ("items bare", "OGC items, small bbox, limit=100", "bare ASGI floor"),
            ("tiles tipg", "OGC tiles, z14", "tipg"),
        ):
            ours = c.mean(f"{key.split()[0]} landmarket")
            target = TARGETS[key]
            rows.append(
                summary.Row(
                    scenario=scenario,
                    setting=setting,
                    figure="requests/s",
                    ours=ours,
                    baseline=base,
                    baseline_value=c.mean(key),
                    ratio=r[key],
                    target=f">= {target:g}x {base}",
                    met=r[key] >= target,
                    details=details,
                )
            )
        rows.append(
            summary.Row(
                scenario="OGC items: bare ASGI + asyncpg, same statement (floor, no target)",
                setting=setting,
                figure="requests/s",
                ours=c.mean("items bare"),
                baseline="pgbench",
                baseline_value=c.mean("items pgbench"),
                ratio=r["bare pgbench"],
                details=details,
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", choices=sorted(SOURCES), default="national")
    parser.add_argument("--plots", type=int, default=100_000)
    parser.add_argument("--requirements", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before each")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--tipg-venv", type=Path, default=Path("/tmp/tipg-venv"))  # noqa: S108
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--json", type=Path, help="also write the summary rows here")
    args = parser.parse_args()
    probe = [str(args.tipg_venv / "bin/python"), "-c", "import tipg, uvloop, httptools"]
    if not (args.tipg_venv / "bin/python").exists() or subprocess.run(probe).returncode:
        raise SystemExit(
            f"no tipg with uvloop and httptools in {args.tipg_venv}: make bench-deps, or "
            f"python3 -m venv {args.tipg_venv} && {args.tipg_venv}/bin/pip install tipg "
            "'uvicorn[standard]'"
        )
    with dataset(args.size, args.plots, args.requirements) as info:
        area = asyncio.run(pick_area(info.url))
        sql = items_sql(area.box)
        logs = Path(tempfile.mkdtemp(prefix="landmarket-ogc-bench-"))
        print(f"[ogc] server logs in {logs}; {area}", flush=True)
        configs: list[Config] = []
        sizes: dict[str, tuple[int, int]] = {}
        for workers in args.workers:
            config, sizes = measure(info, args, area, sql, workers, logs)
            configs.append(config)
        pg_versions = asyncio.run(versions(info.url))
    load = "/".join(f"{v:.1f}" for v in os.getloadavg())
    text_out = report(args, info, area, sql, configs, sizes, pg_versions, load)
    args.results.mkdir(parents=True, exist_ok=True)
    out: Path = args.results / f"{dt.date.today().isoformat()}-{args.size}-ogc.md"
    out.write_text(text_out, encoding="utf-8")
    print(text_out)
    print(f"written to {out}")
    summary.write(args.json, summary_rows(configs, args.concurrency, out.name))


if __name__ == "__main__":
    main()
