"""Benchmark: matching on 100,000 plots and 10,000 requirements (issue 4's acceptance point).

    python -m benchmarks.matching [--size national] [--duration 20] [--warmup 5]
        [--workers 1 2] [--connections 1 8] [--json PATH]

On the dataset of ``benchmarks.dataset`` (built on first use, then reused) it measures

(a) ``GET /v1/requirements/{id}/matches`` over HTTP against a real ``landmarket serve`` on
    127.0.0.1 with 1 and 2 workers: a bounded httpx load generator (a fixed number of
    connections in a closed loop, each request for one of a seeded sample of requirements with
    its owner's key), after a warm-up; requests/s and p50/p95/p99; and, at the same number of
    connections, pgbench running the hand-written query of (b) for the same requirements;
(b) the product's match SQL for one requirement (``matching.candidates.candidates``, as
    ``refresh_requirement`` runs it) against a hand-written single query with the
    requirement's values inlined, on the same database; the sets are asserted equal, then
    both are timed interleaved (median of repeated runs per requirement);
(c) ``landmarket matches rebuild`` (10,000 x 100,000) wall time.

Results go to ``benchmarks/results/<date>-<size>-matching.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import re
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Select, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from benchmarks import summary
from benchmarks.common import (
    RESULTS,
    SEED,
    free_port,
    libpq_url,
    machine,
    pgbench,
    product_engine,
    start_server,
    stop_server,
    versions,
)
from benchmarks.dataset import SERVICE_SAMPLE, SOURCES, DatasetInfo, dataset
from landmarket.matching.candidates import candidates
from landmarket.matching.eligibility import EMISSION_ZONES
from landmarket.matching.scoring import BUY_TENURES, LEASE_TENURES
from landmarket.requirements.models import EmissionClass, Requirement

P95_TARGET_MS = 50.0
SQL_RATIO_TARGET = 1.5
REBUILD_TARGET_S = 120.0


# --- (a) HTTP ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadResult:
    workers: int
    connections: int
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


async def _load(
    base: str,
    targets: Sequence[tuple[str, str]],
    *,
    connections: int,
    seconds: float,
) -> tuple[int, int, list[float]]:
    """Closed loop: ``connections`` clients, each sending its next request when the last one
    returned, for ``seconds``. Returns (requests, errors, latencies in ms)."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def worker(offset: int) -> None:
            nonlocal errors
            i = offset
            while time.perf_counter() < deadline:
                rid, key = targets[i % len(targets)]
                i += connections
                started = time.perf_counter()
                response = await client.get(
                    f"/v1/requirements/{rid}/matches",
                    headers={"Authorization": f"Bearer {key}"},
                )
                await response.aread()
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    errors += 1

        await asyncio.gather(*(worker(n) for n in range(connections)))
    return len(latencies), errors, latencies


def http_runs(
    info: DatasetInfo,
    targets: Sequence[tuple[str, str]],
    *,
    workers: Sequence[int],
    connections: Sequence[int],
    warmup: float,
    duration: float,
    logdir: Path,
) -> list[LoadResult]:
    results = []
    for w in workers:
        port = free_port()
        server = start_server(info.env(), port, logdir / f"serve-{w}.log", workers=w)
        base = f"http://127.0.0.1:{port}"
        try:
            for c in connections:
                asyncio.run(_load(base, targets, connections=c, seconds=warmup))
                started = time.perf_counter()
                n, errors, lat = asyncio.run(_load(base, targets, connections=c, seconds=duration))
                elapsed = time.perf_counter() - started
                result = LoadResult(w, c, n, errors, elapsed, lat)
                print(
                    f"[http] workers={w} connections={c}: {result.rps:.0f} req/s, "
                    f"p50 {result.pct(50):.1f} p95 {result.pct(95):.1f} "
                    f"p99 {result.pct(99):.1f} ms, errors {errors}",
                    flush=True,
                )
                results.append(result)
        finally:
            stop_server(server)
    return results


# --- (b) SQL -------------------------------------------------------------------------------


def _q(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.:-]*", value):
        raise ValueError(f"unexpected literal {value!r}")
    return f"'{value}'"


def _in(values: Sequence[str]) -> str:
    return "(" + ", ".join(_q(v) for v in values) + ")"


def handwritten_sql(r: Mapping[str, Any]) -> str:
    """Rules 1-8 for one requirement, its values inlined, as a person would write the query.

    (Benchmark-only SQL text over our own stored values; every literal is checked by ``_q``
    or formatted from a number.)
    """
    amin, amax = float(r["area_min_m2"]), float(r["area_max_m2"])
    conds = [
        "p.status = 'published'",
        f"(p.area_m2 BETWEEN {amin!r} AND {amax!r} OR (p.divisible AND p.area_m2 >= {amin!r}"
        f" AND coalesce(p.min_divisible_area_m2, 0) <= {amax!r}))",
    ]
    zones = r["zonings"] or [z.value for z in EMISSION_ZONES[EmissionClass(r["emission_class"])]]
    conds.append(f"p.zoning IN {_in(zones)}")
    either = r["tenure"] == "either"
    sides = []
    for own, tenures, price, maximum in (
        ("buy", BUY_TENURES, "price_eur_per_m2", r["max_price_eur_per_m2"]),
        ("lease", LEASE_TENURES, "rent_eur_per_m2_month", r["max_rent_eur_per_m2_month"]),
    ):
        if r["tenure"] not in (own, "either"):
            continue
        side = f"p.tenure IN {_in(sorted(tenures))}"
        if either:
            side = f"(p.tenure IS NULL OR {side})"
        if maximum is not None:
            side += f" AND (p.{price} IS NULL OR p.{price} <= {float(maximum)!r})"
        sides.append(f"({side})")
    conds.append("(" + " OR ".join(sides) + ")")
    if r["needed_by"] is not None:
        conds.append(
            f"(p.available_from IS NULL OR p.available_from <= DATE {_q(str(r['needed_by']))})"
        )
    located = False
    if r["anchor_x"] is not None:
        located = True
        conds.append(
            f"ST_DWithin(p.geom, ST_SetSRID(ST_MakePoint({float(r['anchor_x'])!r}, "
            f"{float(r['anchor_y'])!r}), 25832), {float(r['max_distance_km']) * 1000.0!r})"
        )
    if r["municipalities"] is not None:
        located = True
        conds.append(f"p.municipality_ags IN {_in(r['municipalities'])}")
    if r["has_area"]:
        located = True
        conds.append(
            "ST_Intersects(p.geom, (SELECT area FROM requirements WHERE id = "  # noqa: S608
            f"{_q(str(r['id']))}))"
        )
    if not located and r["home_ags"] is not None:
        conds.append(
            "p.municipality_ags IN (SELECT m.ags FROM region_municipalities m"  # noqa: S608
            " JOIN region_municipalities h ON h.region_slug = m.region_slug"
            f" WHERE h.ags = {_q(r['home_ags'])})"
        )
    if r["must_fibre"]:
        conds.append("p.fibre_available")
    if r["must_rail_siding"]:
        conds.append("p.rail_siding")
    if r["must_developed"]:
        conds.append("p.servicing = 'developed'")
    if r["must_no_contamination"]:
        conds.append("p.contamination IN ('none', 'remediated')")
    if r["must_max_transit_stop_distance_m"] is not None:
        conds.append(f"p.transit_stop_distance_m <= {int(r['must_max_transit_stop_distance_m'])}")
    if r["must_max_motorway_distance_km"] is not None:
        conds.append(f"p.motorway_distance_km <= {float(r['must_max_motorway_distance_km'])!r}")
    return "SELECT p.id FROM plots p WHERE " + "\n  AND ".join(conds)  # noqa: S608


_REQUIREMENT_ROW = text(
    "SELECT id, area_min_m2, area_max_m2, emission_class, zonings, tenure,"
    " max_price_eur_per_m2, max_rent_eur_per_m2_month, needed_by,"
    " ST_X(anchor) AS anchor_x, ST_Y(anchor) AS anchor_y, max_distance_km, municipalities,"
    " area IS NOT NULL AS has_area, home_ags, must_fibre, must_rail_siding, must_developed,"
    " must_no_contamination, must_max_transit_stop_distance_m, must_max_motorway_distance_km"
    " FROM requirements WHERE id = :id"
)


def located(row: Mapping[str, Any]) -> bool:
    """``matching.candidates.searches_box`` of a ``_REQUIREMENT_ROW``."""
    has_location = row["anchor_x"] is not None or row["municipalities"] is not None
    return has_location or bool(row["has_area"]) or row["home_ags"] is None


def product_sql(rid: uuid.UUID, *, full: bool, by_box: bool) -> Select[Any]:
    """The product's candidate select for one requirement (``full``: with score and the
    compact stored explanation, as ``refresh_requirement`` computes it; else the plot ids
    only; ``by_box``: ``located`` of the requirement, as ``refresh_requirement`` passes it)."""
    stmt = candidates(dt.date.today(), Requirement.id == rid, located=by_box)
    if full:
        return stmt
    sub = stmt.subquery("cand")
    return select(sub.c.plot_id)


async def _timed(conn: AsyncConnection, stmt: Any) -> tuple[float, set[Any]]:
    started = time.perf_counter()
    rows = (await conn.execute(stmt)).all()
    return (time.perf_counter() - started) * 1000, {row[0] for row in rows}


@dataclass(frozen=True)
class SqlResult:
    requirement_id: str
    matches: int
    hand_ms: float
    product_ids_ms: float
    product_full_ms: float


async def sql_runs(url: str, rids: Sequence[uuid.UUID], repeat: int) -> list[SqlResult]:
    engine = product_engine(url)
    results = []
    try:
        async with engine.connect() as conn:
            for rid in rids:
                row = (await conn.execute(_REQUIREMENT_ROW, {"id": rid})).mappings().one()
                hand = text(handwritten_sql(dict(row)))
                box = located(dict(row))
                ids_stmt = product_sql(rid, full=False, by_box=box)
                full_stmt = product_sql(rid, full=True, by_box=box)
                _, hand_set = await _timed(conn, hand)
                _, ids_set = await _timed(conn, ids_stmt)
                full_rows = (await conn.execute(full_stmt)).all()
                full_set = {r.plot_id for r in full_rows}
                if not hand_set == ids_set == full_set:
                    raise SystemExit(
                        f"requirement {rid}: hand-written {len(hand_set)} plots, product "
                        f"{len(ids_set)}/{len(full_set)}; differ by "
                        f"{sorted(map(str, hand_set ^ full_set))[:5]}"
                    )
                times: dict[str, list[float]] = {"hand": [], "ids": [], "full": []}
                for _ in range(repeat):
                    for name, stmt in (("hand", hand), ("ids", ids_stmt), ("full", full_stmt)):
                        times[name].append((await _timed(conn, stmt))[0])
                results.append(
                    SqlResult(
                        str(rid),
                        len(hand_set),
                        statistics.median(times["hand"]),
                        statistics.median(times["ids"]),
                        statistics.median(times["full"]),
                    )
                )
            await conn.rollback()
    finally:
        await engine.dispose()
    return results


async def handwritten_queries(url: str, rids: Sequence[uuid.UUID]) -> list[str]:
    engine = product_engine(url)
    try:
        async with engine.connect() as conn:
            rows = [
                (await conn.execute(_REQUIREMENT_ROW, {"id": rid})).mappings().one() for rid in rids
            ]
    finally:
        await engine.dispose()
    return [handwritten_sql(dict(row)) for row in rows]


def pgbench_runs(
    url: str, queries: Sequence[str], connections: Sequence[int], seconds: float
) -> dict[int, float]:
    """pgbench transactions/s of the hand-written queries (one per transaction, picked at
    random) at each number of connections."""
    out = {}
    for c in connections:
        pgbench(libpq_url(url), queries, min(seconds, 5), c)  # warm-up
        out[c] = pgbench(libpq_url(url), queries, seconds, c)
        print(f"[pgbench] connections={c}: {out[c]:.0f} tps", flush=True)
    return out


async def explain(url: str, rid: uuid.UUID) -> tuple[str, str]:
    """EXPLAIN ANALYZE of the hand-written and the product (full) query for one requirement."""
    engine = product_engine(url)
    try:
        async with engine.connect() as conn:
            row = (await conn.execute(_REQUIREMENT_ROW, {"id": rid})).mappings().one()
            out = []
            product = product_sql(rid, full=True, by_box=located(dict(row)))
            for stmt in (text(handwritten_sql(dict(row))), product):
                compiled = stmt.compile(
                    dialect=conn.dialect, compile_kwargs={"literal_binds": True}
                )
                plan = await conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}")
                out.append("\n".join(r[0] for r in plan))
            await conn.rollback()
        return out[0], out[1]
    finally:
        await engine.dispose()


# --- (c) rebuild ---------------------------------------------------------------------------


def rebuild(info: DatasetInfo) -> tuple[float, str]:
    binary = Path(sys.executable).parent / "landmarket"
    started = time.perf_counter()
    done = subprocess.run(
        [str(binary), "matches", "rebuild"],
        env=info.env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - started, done.stdout.strip()


# --- driver --------------------------------------------------------------------------------


async def _sample(url: str, count: int, company_keys: Mapping[str, str]) -> list[Any]:
    engine = product_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT r.id, r.company_id, count(m.plot_id) AS n FROM requirements r"
                        " LEFT JOIN matches m ON m.requirement_id = r.id AND NOT m.stale"
                        " WHERE r.status = 'open' GROUP BY r.id ORDER BY r.id"
                    )
                )
            ).all()
            counts = [int(r.n) for r in rows]
            total = int(await conn.scalar(text("SELECT count(*) FROM matches")) or 0)
    finally:
        await engine.dispose()
    picked = random.Random(SEED + 10).sample(rows, min(count, len(rows)))  # noqa: S311
    return [picked, counts, total, company_keys]


def _pcts(values: Sequence[float]) -> str:
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return f"p50 {at(0.5):,.0f}, p90 {at(0.9):,.0f}, p99 {at(0.99):,.0f}, max {ordered[-1]:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SOURCES), default="national")
    parser.add_argument("--plots", type=int, default=100_000)
    parser.add_argument("--requirements", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per HTTP run")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before each run")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--sql-requirements", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip", choices=["http", "sql", "rebuild"], nargs="*", default=[])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--json", type=Path, help="also write the summary rows here")
    args = parser.parse_args()
    command = "python -m benchmarks.matching " + " ".join(sys.argv[1:])
    with dataset(args.size, args.plots, args.requirements) as info:
        logdir = info.data_dir
        picked, counts, total, keys = asyncio.run(_sample(info.url, 200, info.company_keys))
        targets = [(str(r.id), keys[str(r.company_id)]) for r in picked]
        http: list[LoadResult] = []
        pg_tps: dict[int, float] = {}
        if "http" not in args.skip:
            http = http_runs(
                info,
                targets,
                workers=args.workers,
                connections=args.connections,
                warmup=args.warmup,
                duration=args.duration,
                logdir=logdir,
            )
            # pgbench takes at most 128 scripts: the requirements of (b).
            sample = [r.id for r in picked[: args.sql_requirements]]
            queries = asyncio.run(handwritten_queries(info.url, sample))
            pg_tps = pgbench_runs(info.url, queries, args.connections, args.duration)
        sql: list[SqlResult] = []
        plans: tuple[str, str] | None = None
        if "sql" not in args.skip:
            rids = [r.id for r in picked[: args.sql_requirements]]
            sql = asyncio.run(sql_runs(info.url, rids, args.repeat))
            median = sorted(sql, key=lambda s: s.hand_ms)[len(sql) // 2]
            plans = asyncio.run(explain(info.url, uuid.UUID(median.requirement_id)))
        rebuilt = None if "rebuild" in args.skip else rebuild(info)
        pg, postgis = asyncio.run(versions(info.url))
    text_out = report(
        args, command, info, counts, total, http, pg_tps, sql, plans, rebuilt, pg, postgis, picked
    )
    args.results.mkdir(parents=True, exist_ok=True)
    out: Path = args.results / f"{dt.date.today().isoformat()}-{args.size}-matching.md"
    out.write_text(text_out)
    print(text_out)
    print(f"written to {out}")
    summary.write(args.json, summary_rows(http, pg_tps, sql, rebuilt, out.name))


def summary_rows(
    http: Sequence[LoadResult],
    pg_tps: Mapping[int, float],
    sql: Sequence[SqlResult],
    rebuilt: tuple[float, str] | None,
    details: str,
) -> list[summary.Row]:
    scenario = "One requirement's matches"
    rows = []
    for r in http:
        setting = f"{r.workers} worker(s), {r.connections} connection(s)"
        p95 = r.pct(95)
        rows.append(
            summary.Row(
                f"{scenario} over HTTP",
                setting,
                "p95 ms",
                p95,
                target=f"< {P95_TARGET_MS:g} ms",
                met=p95 < P95_TARGET_MS,
                details=details,
            )
        )
        tps = pg_tps.get(r.connections)
        rows.append(
            summary.Row(
                f"{scenario} over HTTP",
                setting,
                "requests/s",
                r.rps,
                "pgbench hand-written",
                tps,
                r.rps / tps if tps else None,
                details=details,
            )
        )
    if sql:
        hand = sum(s.hand_ms for s in sql)
        full = sum(s.product_full_ms for s in sql)
        rows.append(
            summary.Row(
                f"{scenario}, SQL",
                f"{len(sql)} requirements, median of runs",
                "ms (sum)",
                full,
                "hand-written",
                hand,
                full / hand,
                f"<= {SQL_RATIO_TARGET:g}x hand-written",
                full / hand <= SQL_RATIO_TARGET,
                details,
            )
        )
    if rebuilt:
        seconds = rebuilt[0]
        rows.append(
            summary.Row(
                "Full match rebuild",
                "10,000 x 100,000",
                "seconds",
                seconds,
                target=f"< {REBUILD_TARGET_S:g} s",
                met=seconds < REBUILD_TARGET_S,
                details=details,
            )
        )
    return rows


def report(
    args: argparse.Namespace,
    command: str,
    info: DatasetInfo,
    counts: Sequence[int],
    total: int,
    http: Sequence[LoadResult],
    pg_tps: Mapping[int, float],
    sql: Sequence[SqlResult],
    plans: tuple[str, str] | None,
    rebuilt: tuple[float, str] | None,
    pg: str,
    postgis: str,
    picked: Sequence[Any],
) -> str:
    t = info.timings
    sample_s = t.get("requirements_service_sample", 0.0)
    lines = [
        f"# Matching benchmark, {dt.date.today().isoformat()}",
        "",
        f"Command: `{command}` (from the repository root, virtualenv active)",
        "",
        f"Machine: {machine()}; PostgreSQL {pg}, PostGIS {postgis} (the embedded cluster, "
        "default settings).",
        "",
        f"Data (`benchmarks.dataset`, size `{info.size}`, seed {info.seed}, built "
        f"{info.built_at}): {info.plots:,} plots, {info.requirements:,} requirements, "
        f"{total:,} stored matches; matches per open requirement: {_pcts(counts)}.",
        "",
        "## Loading the dataset (seconds)",
        "",
        "| step | seconds |",
        "|---|---:|",
        *(f"| {k} | {v:,.1f} |" for k, v in t.items()),
        "",
        f"The first {SERVICE_SAMPLE} requirements took "
        f"{1000 * sample_s / SERVICE_SAMPLE:,.0f} ms each through "
        "`requirements.service.create` (one match query per requirement; all "
        f"{info.requirements:,} that way would take about "
        f"{info.requirements * sample_s / SERVICE_SAMPLE / 60:,.0f} min); the rest were "
        "inserted with the service's column mapping and matched by one "
        "`matching.recompute.rebuild` (`matches_rebuild`, from empty).",
        "",
    ]
    if http:
        lines += [
            "## (a) GET /v1/requirements/{id}/matches over HTTP",
            "",
            f"{len(picked)} requirements (seeded sample of the open ones, each with its "
            "owner's key), default page size, `landmarket serve` on 127.0.0.1; closed-loop "
            f"httpx client with N connections, {args.warmup:g} s warm-up, "
            f"{args.duration:g} s measured. Target: p95 < {P95_TARGET_MS:g} ms.",
            "",
            "| workers | connections | requests/s | p50 ms | p95 ms | p99 ms | errors | "
            "p95 vs target | pgbench tps | HTTP / pgbench |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            *(
                f"| {r.workers} | {r.connections} | {r.rps:,.0f} | {r.pct(50):.1f} | "
                f"{r.pct(95):.1f} | {r.pct(99):.1f} | {r.errors} | "
                f"{r.pct(95) / P95_TARGET_MS:.2f}x | {pg_tps.get(r.connections, 0):,.0f} | "
                f"{r.rps / pg_tps[r.connections] if pg_tps.get(r.connections) else 0:.2f}x |"
                for r in http
            ),
            "",
            "pgbench: the hand-written query of (b) for each sampled requirement (one per "
            "transaction, picked at random, prepared), as many clients as HTTP connections, "
            f"{args.duration:g} s after a short warm-up. It computes the match set from the "
            "plots; the API reads the stored, ranked matches and returns the first page with "
            "plot summaries and explanations. The load generator runs on the same 2 cores as "
            "the server and PostgreSQL.",
            "",
        ]
    if sql:
        hand = sum(s.hand_ms for s in sql)
        ids = sum(s.product_ids_ms for s in sql)
        full = sum(s.product_full_ms for s in sql)

        def geo(values: Sequence[float]) -> float:
            return statistics.geometric_mean(values)

        lines += [
            "## (b) The product's match SQL vs a hand-written query, one requirement",
            "",
            f"{len(sql)} requirements of the sample; for each, the hand-written query (rules "
            "1-8 with the requirement's values inlined as plain conditions on `plots`) "
            "and the product's `matching.candidates.candidates` for that requirement returned the "
            f"same set of plots (asserted); then each ran {args.repeat} times interleaved on "
            "one connection, median per requirement. Target: product within "
            f"{SQL_RATIO_TARGET:g}x.",
            "",
            "| query | total of medians ms | mean ms | vs hand-written (sum) | "
            "vs hand-written (geo. mean of ratios) |",
            "|---|---:|---:|---:|---:|",
            f"| hand-written single query | {hand:,.1f} | {hand / len(sql):.2f} | 1.00x | 1.00x |",
            f"| product rules, plot ids only | {ids:,.1f} | {ids / len(sql):.2f} | "
            f"{ids / hand:.2f}x | "
            f"{geo([s.product_ids_ms / s.hand_ms for s in sql]):.2f}x |",
            f"| product rules + score + compact explanation (what `refresh_requirement` runs) | "
            f"{full:,.1f} | {full / len(sql):.2f} | {full / hand:.2f}x | "
            f"{geo([s.product_full_ms / s.hand_ms for s in sql]):.2f}x |",
            "",
            f"Matches per sampled requirement: {_pcts([s.matches for s in sql])}.",
            "",
        ]
        if plans:
            lines += [
                "<details><summary>EXPLAIN ANALYZE for the median requirement</summary>",
                "",
                "Hand-written:",
                "",
                "```",
                plans[0],
                "```",
                "",
                "Product:",
                "",
                "```",
                plans[1],
                "```",
                "",
                "</details>",
                "",
            ]
    if rebuilt:
        seconds, out = rebuilt
        lines += [
            "## (c) Full rebuild",
            "",
            f"`landmarket matches rebuild` on the loaded dataset (all matches exist: the "
            f"nightly case), wall time incl. process start: **{seconds:,.1f} s** "
            f"({seconds / REBUILD_TARGET_S:.2f}x of the {REBUILD_TARGET_S:g} s target); "
            f"output: `{out}`. From an empty matches table (the dataset build): "
            f"{t.get('matches_rebuild', float('nan')):,.1f} s.",
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
