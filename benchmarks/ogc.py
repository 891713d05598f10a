"""Benchmark: OGC API items (small bbox, limit=100) and z14 vector tiles, against tipg and pgbench.

    python -m benchmarks.ogc [--plots 100000] [--requirements 10000] [--seconds 20]
        [--concurrency 4] [--results benchmarks/results]

On the shared dataset (``benchmarks.dataset.ensure_dataset``, FrankfurtRheinMain), in one run:

1. ``landmarket serve`` (1 worker) on 127.0.0.1: ``/ogc/collections/plots/items?bbox=...&limit=100``
   and ``/ogc/collections/plots/tiles/WebMercatorQuad/14/x/y``;
2. tipg (developmentseed; pip-installed into its own virtualenv, ``--tipg-venv``, 1 worker) on
   the same ``plots`` table: the same bbox and limit with ``status=published`` and the same
   properties, and its tile endpoint for the same tile;
3. pgbench running the SQL our items endpoint sends (compiled with its literals), prepared.

Requests come from ApacheBench (``ab -k``) at the same concurrency for every server; pgbench
uses as many clients. Reported: requests (transactions) per second and the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from benchmarks.common import RESULTS, free_port, machine, start_server, stop_server, versions
from benchmarks.dataset import ensure_dataset
from landmarket.db.geo import DEFAULT_CRS
from landmarket.db.session import async_url
from landmarket.ogc import repository
from landmarket.ogc.collections import COLLECTIONS, PLOT_PROPERTIES, PLOT_TILE_PROPERTIES

BOX_METRES = 600
PLOTS = COLLECTIONS["plots"]


def libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def pick_area(url: str) -> tuple[tuple[float, ...], tuple[int, int], int]:
    """A small CRS84 box around the median published plot, its z14 tile, plots in the box."""
    engine = create_async_engine(async_url(url))
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "WITH c AS (SELECT ST_Centroid(geom) AS p FROM plots "
                        "WHERE status = 'published' ORDER BY id "
                        "OFFSET (SELECT count(*) / 2 FROM plots WHERE status = 'published') "
                        "LIMIT 1), b AS (SELECT ST_Transform(ST_Expand(p, :half), 4326) AS e, "
                        "ST_Transform(p, 4326) AS ll, p FROM c) "
                        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), "
                        "ST_X(ll), ST_Y(ll), "
                        "(SELECT count(*) FROM plots, b WHERE status = 'published' "
                        "AND ST_Intersects(geom, ST_Expand(b.p, :half))) FROM b"
                    ),
                    {"half": BOX_METRES / 2},
                )
            ).one()
    finally:
        await engine.dispose()
    box = tuple(round(float(v), 6) for v in row[:4])
    lon, lat = float(row[4]), float(row[5])
    import math

    n = 2**14
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return box, (x, y), int(row[6])


def items_sql(box: tuple[float, ...]) -> str:
    where = repository.conditions(
        PLOTS,
        bbox=(box[0], box[1], box[2], box[3]),
        bbox_crs=DEFAULT_CRS,
        interval=None,
        properties={},
        cql=None,
    )
    stmt = repository.page_statement(PLOTS, DEFAULT_CRS, where, after=None, before=None, limit=100)
    compiled = stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    sql = str(compiled).replace("\n", " ")
    # pgbench reads ":MI" and ":SS" as its variables; a constant concatenation (folded by the
    # planner) spells the same to_char format without them.
    fmt = '''YYYY-MM-DD"T"HH24:MI:SS.US"Z"'''
    assert f"'{fmt}'" in sql
    return (
        sql.replace(f"'{fmt}'", "('YYYY-MM-DD\"T\"HH24' || ':' || 'MI' || ':' || 'SS.US\"Z\"')")
        + ";"
    )


def ab(url: str, seconds: int, concurrency: int) -> float:
    # -n caps the run; -t ends it; the whole body is read so large responses cost what they cost.
    command = ["ab", "-q", "-k", "-c", str(concurrency), "-t", str(seconds), "-n", "10000000", url]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60)
    failed = re.search(r"Non-2xx responses:\s+(\d+)", out.stdout)
    if failed:
        raise SystemExit(f"{url}: {failed.group(1)} non-2xx responses\n{out.stdout}")
    match = re.search(r"Requests per second:\s+([\d.]+)", out.stdout)
    assert match, out.stdout
    return float(match.group(1))


def pgbench(dsn: str, sql: str, seconds: int, clients: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as fh:
        fh.write(sql + "\n")
    command = ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, 2))]
    command += ["-T", str(seconds), "-f", fh.name, dsn]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60)
    Path(fh.name).unlink()
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out.stdout)
    assert match, out.stdout + out.stderr
    return float(match.group(1))


def start_tipg(venv: Path, dsn: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": dsn, "TIPG_DB_SCHEMAS": '["public"]'}
    env["TIPG_DB_TABLES"] = '["public.plots"]'
    command = [str(venv / "bin/uvicorn"), "tipg.main:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", "1", "--log-level", "warning"]
    process = subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/collections", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.3)
    stop_server(process)
    raise SystemExit(f"tipg did not come up; see {log}")


def check(url: str, expect: int | None = None) -> int:
    r = httpx.get(url, timeout=30)
    r.raise_for_status()
    if expect is not None:
        got = r.json()["numberReturned"]
        if got != expect:
            raise SystemExit(f"{url} returned {got} features, expected {expect}")
    return len(r.content)


def run(args: argparse.Namespace) -> dict[str, Any]:
    info = ensure_dataset("regional", args.plots, args.requirements)
    logs = Path(tempfile.mkdtemp(prefix="landmarket-ogc-bench-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        dsn = libpq_url(info.url)
        box, (tx, ty), in_box = asyncio.run(pick_area(info.url))
        bbox = ",".join(str(v) for v in box)
        ours_port, tipg_port = free_port(), free_port()
        processes.append(start_server(info.env(), ours_port, logs / "landmarket.log"))
        processes.append(start_tipg(args.tipg_venv, dsn, tipg_port, logs / "tipg.log"))
        ours = f"http://127.0.0.1:{ours_port}/ogc/collections/plots"
        theirs = f"http://127.0.0.1:{tipg_port}/collections/public.plots"
        urls = {
            "items": (
                f"{ours}/items?bbox={bbox}&limit=100",
                f"{theirs}/items?bbox={bbox}&limit=100&status=published"
                f"&properties={','.join(PLOT_PROPERTIES)}",
            ),
            "tiles": (
                f"{ours}/tiles/WebMercatorQuad/14/{tx}/{ty}",
                f"{theirs}/tiles/WebMercatorQuad/14/{tx}/{ty}?status=published"
                f"&properties={','.join(PLOT_TILE_PROPERTIES)}",
            ),
        }
        expected = min(in_box, 100)
        sizes = {
            "items": (check(urls["items"][0], expected), check(urls["items"][1], expected)),
            "tiles": (check(urls["tiles"][0]), check(urls["tiles"][1])),
        }
        sql = items_sql(box)
        results: dict[str, float] = {}
        for name, (mine, other) in urls.items():
            for label, url in (("landmarket", mine), ("tipg", other)):
                ab(url, 2, args.concurrency)  # warm-up: pools, caches, prepared statements
                results[f"{name} {label}"] = ab(url, args.seconds, args.concurrency)
        pgbench(dsn, sql, 2, args.concurrency)
        results["items pgbench"] = pgbench(dsn, sql, args.seconds, args.concurrency)
        pg, postgis = asyncio.run(versions(info.url))
        load = "/".join(f"{v:.1f}" for v in os.getloadavg())
        return {
            "results": results,
            "sizes": sizes,
            "bbox": bbox,
            "tile": f"14/{tx}/{ty}",
            "in_box": in_box,
            "sql": sql,
            "versions": (pg, postgis),
            "load": load,
            "dataset": f"regional, {info.plots} plots, {info.requirements} requirements",
        }
    finally:
        for process in processes:
            stop_server(process)
        info.stop()


def report(args: argparse.Namespace, out: dict[str, Any]) -> str:
    r = out["results"]
    items, tiles = r["items landmarket"], r["tiles landmarket"]
    lines = [
        "# OGC API: items and vector tiles vs tipg and pgbench",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}; "
        f"PostgreSQL {out['versions'][0]}, PostGIS {out['versions'][1]}.",
        f"Dataset: {out['dataset']} (`benchmarks.dataset`). Concurrency {args.concurrency}, "
        f"{args.seconds} s per measurement after a 2 s warm-up; one worker per server. "
        f"Load average (1/5/15 min) at the end: {out['load']}.",
        "",
        "Command: `" + " ".join(["python -m benchmarks.ogc", *sys.argv[1:]]) + "`",
        "",
        f"Items: bbox `{out['bbox']}` (CRS84, {BOX_METRES} m square, {out['in_box']} published "
        f"plots), `limit=100`; tile `{out['tile']}`. Body bytes (landmarket / tipg): items "
        f"{out['sizes']['items'][0]} / {out['sizes']['items'][1]}, tile "
        f"{out['sizes']['tiles'][0]} / {out['sizes']['tiles'][1]}.",
        "",
        "| what | req/s | ratio | target |",
        "|---|---:|---:|---|",
        f"| items landmarket | {items:.0f} | | |",
        f"| items tipg | {r['items tipg']:.0f} | {items / r['items tipg']:.2f}x | >= 6x |",
        f"| items pgbench (same SQL, prepared) | {r['items pgbench']:.0f} | "
        f"{items / r['items pgbench']:.0%} | >= 60 % |",
        f"| tiles z14 landmarket | {tiles:.0f} | | |",
        f"| tiles z14 tipg | {r['tiles tipg']:.0f} | {tiles / r['tiles tipg']:.2f}x | >= 2x |",
        "",
        "The pgbench SQL (what `/ogc/collections/plots/items` sends, literals inlined):",
        "",
        "```sql",
        out["sql"],
        "```",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--plots", type=int, default=100_000)
    parser.add_argument("--requirements", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--tipg-venv", type=Path, default=Path("/tmp/tipg-venv"))  # noqa: S108
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not (args.tipg_venv / "bin/uvicorn").exists():
        raise SystemExit(
            f"no tipg in {args.tipg_venv}: python3 -m venv {args.tipg_venv} && "
            f"{args.tipg_venv}/bin/pip install tipg uvicorn"
        )
    out = run(args)
    text_out = report(args, out)
    print(text_out)
    args.results.mkdir(parents=True, exist_ok=True)
    name = f"{dt.date.today():%Y-%m-%d}-ogc.md"
    (args.results / name).write_text(text_out, encoding="utf-8")


if __name__ == "__main__":
    main()
