"""On random plots and requirements over the real FrankfurtRheinMain boundaries, the stored
matches equal a brute-force Python evaluation of rules 1-8 (docs/matching.md), and the stored
scores equal matching.scoring's formulas. Checked after requirement writes (API), after
refresh_plots and after a full rebuild."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.matching import recompute
from landmarket.matching import scoring as sc
from landmarket.matching.models import Match
from landmarket.municipalities.importer import import_file
from landmarket.municipalities.models import Municipality, Region, region_municipalities
from landmarket.plots.models import Plot
from landmarket.requirements.models import Requirement
from tests.factories import make_org_with_key
from tests.matching.world import bearer

FRM = Path(__file__).resolve().parents[3] / "shared/data/municipalities/frm-75-vg5000-2021.geojson"
pytestmark = pytest.mark.skipif(not FRM.exists(), reason=f"real boundaries not present: {FRM}")

ZONES = {
    "non_disturbing": {"MU", "MI", "MK", "GE", "GI"},
    "not_substantially_disturbing": {"MU", "MI", "MK", "GE", "GI"},
    "not_substantially_annoying": {"GE", "GI"},
    "substantially_annoying": {"GI"},
}
N_PLOTS, N_REQUIREMENTS = 400, 30


def maybe(rng: random.Random, value: Any, p: float = 0.5) -> Any:
    return value if rng.random() < p else None


async def point_in(session: AsyncSession, ags: str, seed: int) -> tuple[float, float]:
    """A reproducible random point inside the municipality (EPSG:25832)."""
    g = func.ST_GeometryN(func.ST_GeneratePoints(Municipality.boundary, 1, seed), 1)
    row = (
        await session.execute(select(func.ST_X(g), func.ST_Y(g)).where(Municipality.ags == ags))
    ).one()
    return float(row[0]), float(row[1])


async def to_lonlat(session: AsyncSession, wkt: str) -> dict[str, Any]:
    out = await session.scalar(
        select(func.ST_AsGeoJSON(func.ST_Transform(func.ST_GeomFromText(wkt, 25832), 4326), 9))
    )
    import json

    assert isinstance(out, str)
    geometry: dict[str, Any] = json.loads(out)
    return geometry


async def make_plots(session: AsyncSession, rng: random.Random, ags_list: list[str]) -> None:
    today = recompute.today()
    for i in range(N_PLOTS):
        ags = rng.choice(ags_list)
        x, y = await point_in(session, ags, rng.randrange(1, 10**6))
        half = rng.uniform(15, 160)
        area = (2 * half) ** 2
        divisible = rng.random() < 0.35
        values: dict[str, Any] = {
            "municipality_ags": ags,
            "external_id": f"p{i}",
            "title": f"Plot {i}",
            "status": rng.choice(["published"] * 6 + ["draft", "reserved", "withdrawn"]),
            "zoning": maybe(
                rng, rng.choice(["MU", "MI", "MK", "GE", "GI", "SO", "inner_area_34", "other"]), 0.9
            ),
            "category": maybe(
                rng,
                rng.choice(
                    [
                        "brownfield",
                        "vacant_building",
                        "infill_gap",
                        "commercial_site",
                        "greenfield_reserve",
                    ]
                ),
                0.8,
            ),
            "tenure": maybe(
                rng, rng.choice(["sale", "lease", "sale_or_lease", "hereditary_lease"]), 0.85
            ),
            "price_eur_per_m2": maybe(rng, round(rng.uniform(20, 400), 2)),
            "rent_eur_per_m2_month": maybe(rng, round(rng.uniform(2, 16), 2)),
            "divisible": divisible,
            "min_divisible_area_m2": maybe(rng, round(rng.uniform(0.05, 0.9) * area), 0.6)
            if divisible
            else None,
            "available_from": maybe(rng, today + timedelta(days=rng.randint(-400, 900))),
            "fibre_available": rng.random() < 0.5,
            "rail_siding": rng.random() < 0.2,
            "servicing": maybe(
                rng, rng.choice(["developed", "partially_developed", "undeveloped"]), 0.8
            ),
            "contamination": maybe(
                rng, rng.choice(["none", "suspected", "confirmed", "remediated", "unknown"]), 0.8
            ),
            "broadband_mbps": maybe(rng, rng.choice([16, 50, 100, 250, 1000, 10000])),
            "transit_stop_distance_m": maybe(rng, rng.randint(0, 3000), 0.7),
            "motorway_distance_km": maybe(rng, round(rng.uniform(0, 25), 2), 0.7),
            "geom": func.ST_Multi(
                func.ST_MakeEnvelope(x - half, y - half, x + half, y + half, 25832)
            ),
        }
        await session.execute(insert(Plot).values(**values))
    await session.commit()


async def requirement_bodies(
    session: AsyncSession, rng: random.Random, ags_list: list[str]
) -> list[dict[str, Any]]:
    today = recompute.today()
    bodies = []
    for _ in range(N_REQUIREMENTS):
        area_min = rng.uniform(500, 40_000)
        body: dict[str, Any] = {
            "area_min_m2": round(area_min, 1),
            "area_max_m2": round(area_min * rng.uniform(1, 4), 1),
            "emission_class": rng.choice(sorted(ZONES)),
            "tenure": rng.choice(["buy", "lease", "either"]),
            "status": rng.choice(["open"] * 8 + ["paused"]),
        }
        if rng.random() < 0.25:
            body["zonings"] = rng.sample(
                ["MU", "MI", "MK", "GE", "GI", "SO", "inner_area_34"], rng.randint(1, 4)
            )
        if rng.random() < 0.5:
            body["max_price_eur_per_m2"] = round(rng.uniform(30, 350), 2)
        if rng.random() < 0.5:
            body["max_rent_eur_per_m2_month"] = round(rng.uniform(3, 14), 2)
        if rng.random() < 0.4:
            body["needed_by"] = (today + timedelta(days=rng.randint(-30, 700))).isoformat()
        location: dict[str, Any] = {}
        kind = rng.random()
        if kind < 0.3 or rng.random() < 0.2:
            x, y = await point_in(session, rng.choice(ags_list), rng.randrange(1, 10**6))
            location["anchor"] = await to_lonlat(session, f"POINT({x} {y})")
            location["max_distance_km"] = round(rng.uniform(2, 30), 2)
        if 0.3 <= kind < 0.5 or rng.random() < 0.2:
            location["municipalities"] = rng.sample(ags_list, rng.randint(1, 12))
        if 0.5 <= kind < 0.7 or rng.random() < 0.2:
            x, y = await point_in(session, rng.choice(ags_list), rng.randrange(1, 10**6))
            w, h = rng.uniform(2000, 25000), rng.uniform(2000, 25000)
            location["area"] = await to_lonlat(
                session, f"POLYGON(({x} {y},{x + w} {y},{x + w} {y + h},{x} {y + h},{x} {y}))"
            )
        if location:
            body["location"] = location
        must: dict[str, Any] = {
            name: rng.random() < 0.15
            for name in ("fibre", "rail_siding", "developed", "no_contamination")
        }
        if rng.random() < 0.2:
            must["max_transit_stop_distance_m"] = rng.randint(200, 2500)
        if rng.random() < 0.2:
            must["max_motorway_distance_km"] = round(rng.uniform(1, 20), 1)
        body["must"] = must
        if rng.random() < 0.5:
            body["weights"] = {
                c: rng.randint(0, 10) for c in rng.sample(sc.CRITERIA, rng.randint(1, 6))
            }
        bodies.append(body)
    return bodies


@dataclass
class Data:
    plots: list[Any]
    geoms: dict[uuid.UUID, BaseGeometry]
    requirements: list[Any]
    anchors: dict[uuid.UUID, BaseGeometry | None]
    areas: dict[uuid.UUID, BaseGeometry | None]
    boundaries: dict[str, BaseGeometry]
    regions_of: dict[str, set[str]]
    policy: dict[str, dict[str, float]]


def _geom(wkb: bytes | None) -> BaseGeometry | None:
    return None if wkb is None else shapely.from_wkb(bytes(wkb))


async def load(session: AsyncSession) -> Data:
    await session.rollback()
    plots = (await session.execute(select(Plot, func.ST_AsBinary(Plot.geom)))).all()
    reqs = (
        await session.execute(
            select(
                Requirement,
                func.ST_AsBinary(Requirement.anchor),
                func.ST_AsBinary(Requirement.area),
            )
        )
    ).all()
    munis = (
        await session.execute(select(Municipality.ags, func.ST_AsBinary(Municipality.boundary)))
    ).all()
    members = (await session.execute(select(region_municipalities))).all()
    settings = dict((await session.execute(select(Region.slug, Region.settings))).all())
    regions_of: dict[str, set[str]] = {}
    for slug, ags in members:
        regions_of.setdefault(ags, set()).add(slug)
    policy: dict[str, dict[str, float]] = {}
    for ags, slugs in regions_of.items():
        for c in sc.CRITERIA:
            values = [
                min(max(float(v), 0.0), 10.0)
                for s in slugs
                if isinstance(v := settings[s].get(f"{c}_weight"), int | float)
            ]
            if values:
                policy.setdefault(ags, {})[c] = max(values)
    return Data(
        plots=[p for p, _ in plots],
        geoms={p.id: shapely.from_wkb(bytes(g)) for p, g in plots},
        requirements=[r for r, _, _ in reqs],
        anchors={r.id: _geom(a) for r, a, _ in reqs},
        areas={r.id: _geom(b) for r, _, b in reqs},
        boundaries={a: shapely.from_wkb(bytes(b)) for a, b in munis},
        regions_of=regions_of,
        policy=policy,
    )


def brute_force(d: Data, r: Any, p: Any) -> bool:
    """Rules 1-8, written from the contract in docs/matching.md."""
    if p.status != "published" or r.status != "open":
        return False
    in_range = r.area_min_m2 <= p.area_m2 <= r.area_max_m2
    divisible = (
        p.divisible
        and p.area_m2 >= r.area_min_m2
        and (p.min_divisible_area_m2 or 0) <= r.area_max_m2
    )
    if not (in_range or divisible):
        return False
    zones = set(r.zonings) if r.zonings is not None else ZONES[r.emission_class]
    if p.zoning not in zones:
        return False
    buy_side = {
        "buy": {"sale", "sale_or_lease"},
        "lease": set(),
        "either": {"sale", "sale_or_lease", None},
    }
    lease_side = {
        "buy": set(),
        "lease": {"lease", "sale_or_lease", "hereditary_lease"},
        "either": {"lease", "sale_or_lease", "hereditary_lease", None},
    }
    price_ok = (
        p.price_eur_per_m2 is None
        or r.max_price_eur_per_m2 is None
        or p.price_eur_per_m2 <= r.max_price_eur_per_m2
    )
    rent_ok = (
        p.rent_eur_per_m2_month is None
        or r.max_rent_eur_per_m2_month is None
        or p.rent_eur_per_m2_month <= r.max_rent_eur_per_m2_month
    )
    if not (
        (p.tenure in buy_side[r.tenure] and price_ok)
        or (p.tenure in lease_side[r.tenure] and rent_ok)
    ):
        return False
    if r.needed_by is not None and p.available_from is not None and p.available_from > r.needed_by:
        return False
    geom = d.geoms[p.id]
    anchor, area = d.anchors[r.id], d.areas[r.id]
    if anchor is not None and anchor.distance(geom) > r.max_distance_km * 1000:
        return False
    if r.municipalities is not None and p.municipality_ags not in r.municipalities:
        return False
    if area is not None and not area.intersects(geom):
        return False
    no_location = anchor is None and r.municipalities is None and area is None
    home_regions = d.regions_of.get(r.home_ags, set()) if r.home_ags else None
    if (
        no_location
        and home_regions is not None
        and not home_regions & d.regions_of.get(p.municipality_ags, set())
    ):
        return False
    if r.must_fibre and not p.fibre_available:
        return False
    if r.must_rail_siding and not p.rail_siding:
        return False
    if r.must_developed and p.servicing != "developed":
        return False
    if r.must_no_contamination and p.contamination not in ("none", "remediated"):
        return False
    if r.must_max_transit_stop_distance_m is not None and (
        p.transit_stop_distance_m is None
        or p.transit_stop_distance_m > r.must_max_transit_stop_distance_m
    ):
        return False
    return r.must_max_motorway_distance_km is None or (
        p.motorway_distance_km is not None
        and p.motorway_distance_km <= r.must_max_motorway_distance_km
    )


def expected_score(d: Data, r: Any, p: Any, today: date) -> float:
    geom = d.geoms[p.id]
    anchor = d.anchors[r.id]
    scores = {
        "area": sc.area_score(p.area_m2, r.area_max_m2),
        "price": sc.price_score(
            r.tenure,
            p.tenure,
            p.price_eur_per_m2,
            p.rent_eur_per_m2_month,
            r.max_price_eur_per_m2,
            r.max_rent_eur_per_m2_month,
        ),
        "availability": sc.availability_score(p.available_from, r.needed_by, today),
        "infrastructure": sc.infrastructure_score(
            p.fibre_available,
            p.broadband_mbps,
            p.transit_stop_distance_m,
            p.motorway_distance_km,
            p.rail_siding,
        ),
        "reactivation": sc.reactivation_score(p.category),
    }
    if anchor is not None:
        scores["distance"] = sc.distance_score(anchor.distance(geom) / 1000, r.max_distance_km)
    elif r.home_ags is not None:
        home = d.boundaries[r.home_ags]
        scores["distance"] = sc.distance_score(
            home.distance(geom) / 1000, sc.HOME_DISTANCE_SCALE_KM
        )
    policy = d.policy.get(p.municipality_ags, {})
    weights = {
        c: w
        if (w := getattr(r, f"weight_{c}")) is not None
        else policy.get(c, sc.DEFAULT_WEIGHTS[c])
        for c in sc.CRITERIA
    }
    return sc.total_score(scores, weights)


async def check(session: AsyncSession) -> int:
    d = await load(session)
    stored = {
        (m.requirement_id, m.plot_id): m
        for m in (await session.scalars(select(Match).where(~Match.stale))).all()
    }
    today = recompute.today()
    expected = {(r.id, p.id) for r in d.requirements for p in d.plots if brute_force(d, r, p)}
    assert set(stored) == expected, (
        f"missing {len(expected - set(stored))}, extra {len(set(stored) - expected)}"
    )
    requirements = {r.id: r for r in d.requirements}
    plots = {p.id: p for p in d.plots}
    for (rid, pid), m in stored.items():
        r, p = requirements[rid], plots[pid]
        assert m.score == pytest.approx(expected_score(d, r, p, today), abs=0.011), (rid, pid)
        assert m.partial == (p.area_m2 > r.area_max_m2)
        assert m.cross_border == (r.home_ags is not None and r.home_ags != p.municipality_ags)
    return len(expected)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_stored_matches_equal_brute_force(
    client: httpx.AsyncClient, session: AsyncSession, seed: int
) -> None:
    rng = random.Random(seed)
    await import_file(session, FRM, region="frm")
    await session.commit()
    ags_list = sorted((await session.scalars(select(Municipality.ags))).all())
    # A second, overlapping region with its own policy: home regions are a union, and a
    # municipality in both takes the higher policy weight.
    core = rng.sample(ags_list, 12)
    await session.execute(
        insert(Region).values(slug="core", name="Core", settings={"reactivation_weight": 9})
    )
    await session.execute(
        insert(region_municipalities), [{"region_slug": "core", "ags": a} for a in core]
    )
    # A third region apart from the others: a search without a location must stop at the
    # border of the home regions.
    west = rng.sample([a for a in ags_list if a not in core], 8)
    await session.execute(
        delete(region_municipalities).where(
            region_municipalities.c.region_slug == "frm", region_municipalities.c.ags.in_(west)
        )
    )
    await session.execute(insert(Region).values(slug="west", name="West"))
    await session.execute(
        insert(region_municipalities), [{"region_slug": "west", "ags": a} for a in west]
    )
    await session.execute(
        update(Region)
        .where(Region.slug == "frm")
        .values(settings={"reactivation_weight": rng.randint(0, 6)})
    )
    await session.commit()
    keys = []
    homes = [rng.choice(ags_list), rng.choice(core), rng.choice(ags_list), rng.choice(west)]
    for i, home in enumerate(homes):
        keys.append((await make_org_with_key(session, "company", f"Company {i}", home_ags=home))[1])
    await make_plots(session, rng, ags_list)

    for body in await requirement_bodies(session, rng, ags_list):
        response = await client.post(
            "/v1/requirements", json=body, headers=bearer(rng.choice(keys))
        )
        assert response.status_code == 201, response.text
    assert await check(session) > 20

    # Plots change behind the API's back; refresh_plots brings exactly those in line.
    await session.rollback()
    ids = list((await session.scalars(select(Plot.id).order_by(Plot.id))).all())
    changed = rng.sample(ids, 40)
    for pid in changed:
        await session.execute(
            update(Plot)
            .where(Plot.id == pid)
            .values(
                status=rng.choice(["published", "published", "reserved"]),
                price_eur_per_m2=maybe(rng, round(rng.uniform(20, 400), 2)),
                fibre_available=rng.random() < 0.5,
            )
        )
    await recompute.refresh_plots(session, changed)
    await session.commit()
    await check(session)

    # A region policy change is picked up by the full rebuild.
    await session.execute(
        update(Region).where(Region.slug == "frm").values(settings={"reactivation_weight": 10})
    )
    await recompute.rebuild(session)
    await session.commit()
    await check(session)
