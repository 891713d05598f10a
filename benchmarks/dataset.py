"""The reproducible benchmark dataset: municipalities, plots and requirements in a kept cluster.

API (what other benchmarks import)::

    from benchmarks.dataset import dataset, ensure_dataset

    with dataset("regional") as info:          # starts the cluster, stops it again on exit
        info.url                                # postgresql+asyncpg://... (while it runs)
        info.admin_key, info.municipality_key   # API keys (admin; municipality of every AGS)
        info.company_keys[str(company_id)]      # each company's key (owns its requirements)
        info.env()                              # environment for `landmarket serve` on it
        info.timings                            # seconds per load step (from the build)

    info = ensure_dataset(size="national", plots=100_000, requirements=10_000)
    ...                                         # cluster running; then info.stop()

``size`` is ``"regional"`` (the 75 FrankfurtRheinMain municipalities, region ``frm``) or
``"national"`` (all ~10,800 German municipalities of VG5000 2021, region ``de``), read from
``../shared/data/municipalities/`` beside the repository.

The data lives in an embedded PostGIS cluster (``landmarket.db.embedded.EmbeddedCluster``) in
``/tmp/landmarket-bench-<size>`` (``-<plots>-<requirements>`` appended for other counts). The
first call builds it, everything through the product's own code paths and with a fixed seed:

1. migrations to head;
2. boundaries with ``landmarket.municipalities.importer.import_file``;
3. organisations and keys with ``landmarket.auth.service``: one admin, one municipality org
   editing every AGS, and companies (one per municipality, at most 1,000) with their home AGS;
4. plots (``landmarket.demo.synthetic``: categories, zonings, tenures, prices, infrastructure,
   85 % published) through the bulk import service (``import_plots``) in batches of 10,000;
5. requirements (area ranges, emission classes, tenure and budgets, needed-by, location as
   anchor + distance / municipalities / none, must-haves, weights; see ``requirement_bodies``).
   The first ``SERVICE_SAMPLE`` go through ``requirements.service.create`` (the API's path:
   validation, insert, the requirement's matches, an event) and are timed as a sample; the
   rest are inserted with the same column mapping but without per-row recomputation, and
   ``matching.recompute.rebuild`` then computes every match set-based (the per-request path
   costs one match query per requirement; see the timings);
6. ``VACUUM ANALYZE``.

It then writes ``dataset.json`` (parameters, keys, timings) into the directory; that file is
the "ready" marker. A later call with the same parameters reuses the cluster (schema brought
to head, data untouched); a directory without the marker (an interrupted build) is wiped and
built again. Calls are serialised by a lock file, so concurrent benchmarks share one build.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import fcntl
import json
import os
import random
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from benchmarks.common import FRM, GERMANY, SEED
from landmarket.auth import service as auth_service
from landmarket.auth.models import OrgKind
from landmarket.auth.schemas import ApiKeyCreate, OrganizationCreate
from landmarket.db import migrate
from landmarket.db.base import STORAGE_SRID
from landmarket.db.embedded import EmbeddedCluster
from landmarket.db.geo import EPSG_URI, SUPPORTED_CRS
from landmarket.db.session import async_url
from landmarket.demo.synthetic import plot_features, points_in
from landmarket.matching import recompute as matching_recompute
from landmarket.municipalities.importer import import_file
from landmarket.municipalities.repository import member_ags
from landmarket.plots.imports.schemas import PlotImport
from landmarket.plots.imports.service import ImportOptions, import_plots
from landmarket.requirements import repository as requirements_repo
from landmarket.requirements import service as requirements_service
from landmarket.requirements.models import EmissionClass, RequirementTenure
from landmarket.requirements.schemas import RequirementCreate

Size = Literal["regional", "national"]
SOURCES: dict[str, tuple[Path, str, str]] = {
    "regional": (FRM, "frm", "FrankfurtRheinMain"),
    "national": (GERMANY, "de", "Deutschland"),
}
BATCH = 10_000
SERVICE_SAMPLE = 200
MAX_COMPANIES = 1_000
MARKER = "dataset.json"
FORMAT = 2  # bump when the generated data changes, so old clusters are rebuilt
_NACE = ["C25", "C26", "C27", "C28", "C29", "C10", "C22", "H52", "J62", "M72", "G46"]


@dataclass(frozen=True)
class DatasetInfo:
    size: str
    data_dir: Path
    url: str
    plots: int
    requirements: int
    seed: int
    region: str
    admin_key: str
    municipality_key: str
    company_keys: dict[str, str]
    timings: dict[str, float]
    built_at: str
    # Whether this process started the cluster (then ``stop`` stops it).
    started: bool = field(default=False, compare=False)

    @property
    def cluster(self) -> EmbeddedCluster:
        return EmbeddedCluster(self.data_dir)

    def env(self) -> dict[str, str]:
        """Environment for `landmarket serve` / `landmarket matches rebuild` on this data."""
        env = {k: v for k, v in os.environ.items() if k != "LANDMARKET_DATABASE_URL"}
        # The load generators measure throughput from one address with one key each: the
        # per-key rate limit (core/ratelimit.py) would measure the throttle instead.
        return env | {
            "LANDMARKET_DATA_DIR": str(self.data_dir),
            "LANDMARKET_RATE_LIMIT_PER_SECOND": "0",
        }

    def stop(self) -> None:
        """Stop the cluster if this process started it (the data stays for reuse)."""
        if self.started:
            self.cluster.stop()


def data_dir_for(size: str, plots: int, requirements: int) -> Path:
    suffix = "" if (plots, requirements) == (100_000, 10_000) else f"-{plots}-{requirements}"
    return Path(f"/tmp/landmarket-bench-{size}{suffix}")  # noqa: S108 - a named, kept cluster


def _params(size: str, plots: int, requirements: int) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "size": size,
        "plots": plots,
        "requirements": requirements,
        "seed": SEED,
    }


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_dataset(
    size: Size = "regional",
    plots: int = 100_000,
    requirements: int = 10_000,
    *,
    log: bool = True,
) -> DatasetInfo:
    """The dataset's cluster, running; built on first use (see the module docstring).

    Call ``info.stop()`` when done (or use ``dataset()``): the cluster must not outlive the
    benchmark, its data stays on disk for the next run.
    """
    if size not in SOURCES:
        raise ValueError(f"size must be one of {sorted(SOURCES)}")
    source = SOURCES[size][0]
    if not source.exists():
        raise SystemExit(f"{source} is missing (municipality boundaries for {size!r})")
    data_dir = data_dir_for(size, plots, requirements)
    params = _params(size, plots, requirements)
    with _lock(Path(f"{data_dir}.lock")):
        marker = _read_marker(data_dir)
        if marker is not None and marker.get("params") != params:
            raise SystemExit(
                f"{data_dir} holds a dataset built with {marker.get('params')}, not {params}; "
                "remove the directory to rebuild it"
            )
        if marker is None and data_dir.exists():
            _say(log, f"{data_dir}: an unfinished build; starting again")
            EmbeddedCluster(data_dir).stop()
            shutil.rmtree(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        data_dir.chmod(0o711)  # as root, the cluster's postgres user must enter it
        cluster = EmbeddedCluster(data_dir)
        started = cluster.start()
        try:
            url = cluster.url()
            asyncio.run(_migrate(url))
            if marker is None:
                marker = asyncio.run(_build(url, params, log))
                marker["params"] = params
                _write_marker(data_dir, marker)
        except BaseException:
            if started:
                cluster.stop()
            raise
    return DatasetInfo(
        size=size,
        data_dir=data_dir,
        url=url,
        plots=plots,
        requirements=requirements,
        seed=SEED,
        region=SOURCES[size][1],
        admin_key=marker["admin_key"],
        municipality_key=marker["municipality_key"],
        company_keys=dict(marker["company_keys"]),
        timings=dict(marker["timings"]),
        built_at=marker["built_at"],
        started=started,
    )


@contextmanager
def dataset(
    size: Size = "regional", plots: int = 100_000, requirements: int = 10_000
) -> Iterator[DatasetInfo]:
    """``ensure_dataset`` for a ``with`` block; the cluster is stopped afterwards if it was
    started here."""
    info = ensure_dataset(size, plots, requirements)
    try:
        yield info
    finally:
        info.stop()


def _read_marker(data_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((data_dir / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_marker(data_dir: Path, marker: dict[str, Any]) -> None:
    tmp = data_dir / f"{MARKER}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds API keys
    with os.fdopen(fd, "w") as fh:
        json.dump(marker, fh, indent=1)
    tmp.replace(data_dir / MARKER)


def _say(log: bool, message: str) -> None:
    if log:
        print(f"[dataset] {message}", flush=True)


async def _migrate(url: str) -> None:
    engine = create_async_engine(async_url(url))
    try:
        if not await migrate.is_at_head(engine):
            await migrate.upgrade(engine)
    finally:
        await engine.dispose()


class _Timer:
    def __init__(self, log: bool) -> None:
        self.log = log
        self.timings: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - started, 3)
        _say(self.log, f"{name}: {self.timings[name]:.1f} s")


async def _build(url: str, params: dict[str, Any], log: bool) -> dict[str, Any]:
    size, n_plots, n_requirements = params["size"], params["plots"], params["requirements"]
    source, region, region_name = SOURCES[size]
    timer = _Timer(log)
    engine = create_async_engine(
        async_url(url), connect_args={"server_settings": {"statement_timeout": "0"}}
    )
    maker = async_sessionmaker(engine, expire_on_commit=False)
    try:
        with timer.step("municipalities"):
            async with maker() as session, session.begin():
                await import_file(session, source, region=region, region_name=region_name)
        with timer.step("organisations"):
            async with maker() as session, session.begin():
                keys = await _organisations(session, region)
        with timer.step("plots"):
            await _plots(maker, keys["municipality_key"], n_plots, timer)
        with timer.step("requirements"):
            await _requirements(maker, keys["companies"], n_requirements, region, timer)
        with timer.step("vacuum_analyze"):
            async with engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("VACUUM ANALYZE"))
        async with engine.connect() as conn:
            counts = (
                await conn.execute(
                    text(
                        "SELECT (SELECT count(*) FROM municipalities),"
                        " (SELECT count(*) FROM plots),"
                        " (SELECT count(*) FROM plots WHERE status = 'published'),"
                        " (SELECT count(*) FROM requirements),"
                        " (SELECT count(*) FROM matches)"
                    )
                )
            ).one()
    finally:
        await engine.dispose()
    return {
        "admin_key": keys["admin_key"],
        "municipality_key": keys["municipality_key"],
        "company_keys": {c["id"]: c["key"] for c in keys["companies"]},
        "timings": timer.timings,
        "counts": dict(
            zip(
                ["municipalities", "plots", "published", "requirements", "matches"],
                [int(c) for c in counts],
                strict=True,
            )
        ),
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


async def _organisations(session: AsyncSession, region: str) -> dict[str, Any]:
    ags = await member_ags(session, region)
    rng = random.Random(SEED + 1)  # noqa: S311 - reproducible sample data

    async def org_with_key(data: OrganizationCreate) -> tuple[str, str]:
        org = await auth_service.create_organization(session, data)
        key = await auth_service.create_api_key(session, org.id, ApiKeyCreate(name="benchmark"))
        return str(org.id), key.key

    _, admin_key = await org_with_key(OrganizationCreate(kind=OrgKind.admin, name="Bench admin"))
    _, municipality_key = await org_with_key(
        OrganizationCreate(kind=OrgKind.municipality, name="Bench municipalities", ags=ags)
    )
    homes = ags if len(ags) <= MAX_COMPANIES else sorted(rng.sample(ags, MAX_COMPANIES))
    companies = []
    for i, home in enumerate(homes):
        org_id, key = await org_with_key(
            OrganizationCreate(
                kind=OrgKind.company,
                name=f"Bench company {i:04d}",
                home_ags=home,
                sector_nace=rng.choice(_NACE),
            )
        )
        companies.append({"id": org_id, "key": key, "home_ags": home})
    return {"admin_key": admin_key, "municipality_key": municipality_key, "companies": companies}


async def _principal(maker: async_sessionmaker[AsyncSession], key: str) -> Any:
    async with maker() as session, session.begin():
        return await auth_service.authenticate(session, key)


async def _plots(
    maker: async_sessionmaker[AsyncSession], key: str, count: int, timer: _Timer
) -> None:
    principal = await _principal(maker, key)
    with timer.step("plots_generate"):
        async with maker() as session, session.begin():
            points = await points_in(session, sorted(principal.editable_ags), count, SEED)
        features = plot_features(points, SEED, prefix="bench")
    options = ImportOptions(crs=SUPPORTED_CRS[EPSG_URI.format(STORAGE_SRID)])
    for start in range(0, len(features), BATCH):
        with timer.step(f"plots_batch_{start // BATCH + 1:02d}"):
            body = PlotImport(type="FeatureCollection", features=features[start : start + BATCH])
            async with maker() as session, session.begin():
                report = await import_plots(session, principal, body, options)
            if report.failed:
                raise SystemExit(f"plot import failed: {report.errors[:5]}")


async def _anchors(session: AsyncSession, ags: Sequence[str], count: int) -> list[list[float]]:
    """Anchor points (lon/lat) inside the municipalities, like a company's preferred spot."""
    points = await points_in(session, ags, count, SEED + 2)
    rows = await session.execute(
        text(
            "SELECT ST_X(g), ST_Y(g) FROM ("
            " SELECT ST_Transform(ST_SetSRID(ST_MakePoint(x, y), :srid), 4326) AS g, i"
            " FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[]))"
            " WITH ORDINALITY AS t(x, y, i)) p ORDER BY i"
        ),
        {"srid": STORAGE_SRID, "xs": [p[1] for p in points], "ys": [p[2] for p in points]},
    )
    anchors = [[round(float(x), 6), round(float(y), 6)] for x, y in rows]
    random.Random(SEED + 3).shuffle(anchors)  # noqa: S311 - reproducible sample data
    return anchors


def requirement_bodies(
    count: int, companies: Sequence[dict[str, Any]], anchors: Sequence[list[float]]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``count`` (company, RequirementCreate JSON) pairs with plausible distributions.

    Areas: minimum log-uniform 800-30,000 m², maximum 1.2-2x it. Emission classes mostly
    (not) disturbing, a tenth substantially annoying; 5 % list zones explicitly. Location:
    50 % anchor + 2-15 km, 45 % 1-4 municipalities of the home district (AGS prefix), 5 %
    none (the whole home region). Must-haves and budgets as a company would state them.

    With 100,000 plots in the 75 FrankfurtRheinMain municipalities (far denser than real
    supply) a vague requirement matches thousands of plots; these shares keep the median
    requirement at tens of matches (the results report the distribution).
    """
    rng = random.Random(SEED + 4)  # noqa: S311 - reproducible sample data
    by_district: dict[str, list[str]] = {}
    for c in companies:
        by_district.setdefault(c["home_ags"][:5], []).append(c["home_ags"])
    all_ags = sorted({c["home_ags"] for c in companies})
    today = dt.date(2026, 11, 26)
    out = []
    for i in range(count):
        company = companies[rng.randrange(len(companies))]
        area_min = round(800 * (30_000 / 800) ** rng.random(), -1)
        body: dict[str, Any] = {
            "title": f"Flächengesuch {i:05d}",
            "area_min_m2": area_min,
            "area_max_m2": round(area_min * rng.uniform(1.2, 2.0), -1),
            "emission_class": rng.choices(list(EmissionClass), weights=[3, 4, 2, 1])[0].value,
            "tenure": rng.choices(list(RequirementTenure), weights=[4, 3, 3])[0].value,
            "sector_nace": rng.choice(_NACE),
            "jobs": rng.randrange(5, 400),
            "share_identity": rng.random() < 0.2,
        }
        if rng.random() < 0.05:
            body["zonings"] = rng.choice(
                [["GE", "GI", "SO"], ["MU", "MI"], ["GE", "inner_area_34"]]
            )
        if body["tenure"] != "lease" and rng.random() < 0.6:
            body["max_price_eur_per_m2"] = round(rng.uniform(80, 350), 0)
        if body["tenure"] != "buy" and rng.random() < 0.6:
            body["max_rent_eur_per_m2_month"] = round(rng.uniform(4, 12), 1)
        if rng.random() < 0.4:
            body["needed_by"] = (today + dt.timedelta(days=rng.randrange(60, 720))).isoformat()
        where = rng.random()
        if where < 0.50:
            body["location"] = {
                "anchor": {"type": "Point", "coordinates": anchors[i % len(anchors)]},
                "max_distance_km": float(rng.choice([2, 3, 5, 5, 8, 10, 15])),
            }
        elif where < 0.95:
            near = by_district.get(company["home_ags"][:5]) or all_ags
            picked = {company["home_ags"], *rng.sample(near, min(len(near), rng.randrange(0, 4)))}
            body["location"] = {"municipalities": sorted(picked)}
        must: dict[str, Any] = {
            "fibre": rng.random() < 0.6,
            "rail_siding": rng.random() < 0.03,
            "developed": rng.random() < 0.5,
            "no_contamination": rng.random() < 0.4,
        }
        if rng.random() < 0.4:
            must["max_transit_stop_distance_m"] = rng.choice([500, 800, 1000, 1500])
        if rng.random() < 0.4:
            must["max_motorway_distance_km"] = float(rng.choice([2, 5, 10]))
        body["must"] = must
        if rng.random() < 0.3:
            body["weights"] = {
                c: rng.randrange(0, 11)
                for c in ("area", "distance", "price", "availability", "infrastructure")
            }
        out.append((company, body))
    return out


async def _requirements(
    maker: async_sessionmaker[AsyncSession],
    companies: Sequence[dict[str, Any]],
    count: int,
    region: str,
    timer: _Timer,
) -> None:
    async with maker() as session, session.begin():
        anchors = await _anchors(session, await member_ags(session, region), count)
    bodies = requirement_bodies(count, companies, anchors)
    principals: dict[str, Any] = {}

    async def principal(company: dict[str, Any]) -> Any:
        if company["id"] not in principals:
            principals[company["id"]] = await _principal(maker, company["key"])
        return principals[company["id"]]

    sample = bodies[:SERVICE_SAMPLE]
    with timer.step("requirements_service_sample"):
        # The API's path, one transaction per requirement as one request would be.
        for company, body in sample:
            p = await principal(company)
            async with maker() as session, session.begin():
                await requirements_service.create(session, p, RequirementCreate(**body))
    with timer.step("requirements_bulk_insert"):
        async with maker() as session, session.begin():
            for company, body in bodies[SERVICE_SAMPLE:]:
                p = await principal(company)
                # The service's own column mapping; matches come from the rebuild below.
                values = requirements_service.column_values(
                    RequirementCreate(**body), geometry=True
                )
                values |= {"company_id": uuid.UUID(company["id"]), "home_ags": p.home_ags}
                await requirements_repo.insert_requirement(session, values)
    with timer.step("matches_rebuild"):
        async with maker() as session, session.begin():
            await matching_recompute.rebuild(session)


def main() -> None:
    parser = argparse.ArgumentParser(description="Build (or reuse) the benchmark dataset.")
    parser.add_argument("--size", choices=sorted(SOURCES), default="regional")
    parser.add_argument("--plots", type=int, default=100_000)
    parser.add_argument("--requirements", type=int, default=10_000)
    args = parser.parse_args()
    with dataset(args.size, args.plots, args.requirements) as info:
        marker = _read_marker(info.data_dir) or {}
        print(json.dumps({"data_dir": str(info.data_dir), **marker.get("counts", {})}))
        print(json.dumps(info.timings, indent=1))


if __name__ == "__main__":
    main()
