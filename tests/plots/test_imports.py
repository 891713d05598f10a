"""POST /v1/plot-imports: bulk upsert by external_id, atomic/partial, prune, dry run, access."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.audit.models import Event
from landmarket.plots.models import Plot, PlotStatus
from tests.plots.conftest import (
    FRANKFURT,
    OFFENBACH,
    UTM,
    World,
    assert_problem,
    bearer,
    count,
    ring_25832,
    table_hash,
)


def utm_feature(
    ags: str, external_id: str, i: int = 0, *, with_ags: bool = True, **props: Any
) -> dict[str, Any]:
    """A 50 m square plot in EPSG:25832, placed on a grid inside ``ags``'s 1 km square."""
    properties: dict[str, Any] = {"external_id": external_id, "title": f"Plot {external_id}"}
    if with_ags:
        properties["municipality_ags"] = ags
    properties.update(props)
    ring = ring_25832(ags, dx=100 + (i % 10) * 80, dy=100 + (i // 10) * 80, side=50)
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": properties,
    }


def collection(features: list[dict[str, Any]], **members: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features, **members}


async def push(
    client: httpx.AsyncClient, key: str, body: dict[str, Any], **params: Any
) -> httpx.Response:
    headers = {**bearer(key), "Content-Crs": UTM}
    return await client.post("/v1/plot-imports", json=body, headers=headers, params=params)


async def test_import_creates_then_reports_unchanged(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    features = [utm_feature(FRANKFURT, f"f-{i}", i, status="published") for i in range(20)]
    response = await push(client, world.frankfurt, collection(features))
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["created"], report["updated"], report["unchanged"]) == (20, 0, 0)
    assert report["municipalities"] == [FRANKFURT]
    assert await count(session, Plot) == 20
    assert await count(session, Event) == 20
    before = await table_hash(session)

    again = (await push(client, world.frankfurt, collection(features))).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 20)
    assert await table_hash(session) == before

    features[3]["properties"]["title"] = "Renamed"
    changed = (await push(client, world.frankfurt, collection(features))).json()
    assert (changed["created"], changed["updated"], changed["unchanged"]) == (0, 1, 19)
    plot = await session.scalar(select(Plot).where(Plot.external_id == "f-3"))
    assert plot is not None and plot.version == 2 and plot.title == "Renamed"
    assert plot.status is PlotStatus.published
    event = await session.scalar(select(Event).where(Event.action == "update"))
    assert event is not None
    assert event.before is not None and event.before["properties"]["title"] == "Plot f-3"
    assert event.after is not None and event.after["properties"]["title"] == "Renamed"


async def test_atomic_with_one_bad_feature_writes_nothing_and_names_it(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    features = [utm_feature(FRANKFURT, f"f-{i}", i) for i in range(10)]
    features[7]["properties"]["zoning"] = "XX"
    before = await table_hash(session)
    problem = assert_problem(await push(client, world.frankfurt, collection(features)), 422)
    assert problem["errors"] == [
        {
            "index": 7,
            "external_id": "f-7",
            "pointer": "/features/7/properties/zoning",
            "detail": problem["errors"][0]["detail"],
            "status": 422,
        }
    ]
    assert "1 of 10" in problem["detail"]
    assert await table_hash(session) == before

    partial = await push(client, world.frankfurt, collection(features), mode="partial")
    assert partial.status_code == 200, partial.text
    report = partial.json()
    assert (report["created"], report["failed"]) == (9, 1)
    assert [(e["index"], e["external_id"]) for e in report["errors"]] == [(7, "f-7")]
    assert await count(session, Plot) == 9
    assert await count(session, Event) == 9


async def test_dry_run_reports_and_writes_nothing(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    features = [utm_feature(FRANKFURT, f"f-{i}", i) for i in range(5)]
    await push(client, world.frankfurt, collection(features[:2]))
    before = await table_hash(session)
    features[0]["properties"]["title"] = "Changed"
    response = await push(client, world.frankfurt, collection(features), dry_run="true")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["dry_run"] is True
    assert (report["created"], report["updated"], report["unchanged"]) == (3, 1, 1)
    pruned = await push(
        client, world.frankfurt, collection(features[3:]), dry_run="true", prune="true"
    )
    assert pruned.json()["withdrawn"] == 2
    assert await table_hash(session) == before


async def test_municipality_derived_from_geometry(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    features = [
        utm_feature(FRANKFURT, "a", 0, with_ags=False),
        utm_feature(OFFENBACH, "b", 1, with_ags=False),
    ]
    report = (await push(client, world.both, collection(features))).json()
    assert report["created"] == 2
    assert report["municipalities"] == [FRANKFURT, OFFENBACH]
    rows = (await session.execute(select(Plot.external_id, Plot.municipality_ags))).all()
    assert sorted(rows) == [("a", FRANKFURT), ("b", OFFENBACH)]


async def test_other_municipality_key_cannot_import_into_frankfurt(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    await push(client, world.frankfurt, collection([utm_feature(FRANKFURT, "a", 0)]))
    before = await table_hash(session)
    named = utm_feature(FRANKFURT, "a", 0, title="Hijacked")
    derived = utm_feature(FRANKFURT, "b", 1, with_ags=False)
    # Refused as a whole (as a single write would be), with the per-feature entries.
    problem = assert_problem(await push(client, world.offenbach, collection([named, derived])), 403)
    assert [(e["index"], e["status"], e["pointer"]) for e in problem["errors"]] == [
        (0, 403, "/features/0/properties/municipality_ags"),
        (1, 403, "/features/1/geometry"),
    ]
    # Mixed with an invalid feature it stays 422: the client has more than the key to fix.
    invalid = utm_feature(OFFENBACH, "c", 2, zoning="XX")
    problem = assert_problem(await push(client, world.offenbach, collection([named, invalid])), 422)
    assert [e["status"] for e in problem["errors"]] == [403, 422]
    partial = (
        await push(client, world.offenbach, collection([named, derived]), mode="partial")
    ).json()
    assert (partial["created"], partial["updated"], partial["failed"]) == (0, 0, 2)
    assert await table_hash(session) == before


async def test_company_anonymous_and_oversized_bodies_change_nothing(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    body = collection([utm_feature(FRANKFURT, "a", 0)])
    before = await table_hash(session)
    assert_problem(await push(client, world.company, body), 403)
    assert_problem(await push(client, world.agency, body), 403)
    anonymous = await client.post("/v1/plot-imports", json=body, headers={"Content-Crs": UTM})
    assert_problem(anonymous, 401)
    # The test app's limit is 1 MiB.
    big = collection([utm_feature(FRANKFURT, f"f-{i}", i % 100) for i in range(6000)])
    assert_problem(await push(client, world.frankfurt, big), 413)
    assert await table_hash(session) == before


async def test_prune_withdraws_missing_plots_of_the_keys_municipalities_only(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    await push(
        client, world.frankfurt, collection([utm_feature(FRANKFURT, f"f-{i}", i) for i in range(4)])
    )
    await push(client, world.offenbach, collection([utm_feature(OFFENBACH, "o-1", 0)]))
    kept = [utm_feature(FRANKFURT, f"f-{i}", i) for i in (0, 2)]
    report = (await push(client, world.frankfurt, collection(kept), prune="true")).json()
    assert (report["unchanged"], report["withdrawn"]) == (2, 2)
    rows = dict((await session.execute(select(Plot.external_id, Plot.status))).all())
    assert rows == {
        "f-0": PlotStatus.draft,
        "f-1": PlotStatus.withdrawn,
        "f-2": PlotStatus.draft,
        "f-3": PlotStatus.withdrawn,
        "o-1": PlotStatus.draft,
    }
    withdrawals = await count_events(session, "withdraw")
    assert withdrawals == 2
    # Again: nothing left to withdraw, no new events.
    again = (await push(client, world.frankfurt, collection(kept), prune="true")).json()
    assert again["withdrawn"] == 0
    assert await count_events(session, "withdraw") == 2
    # A key cannot name a municipality it may not edit as prune scope.
    problem = assert_problem(
        await push(
            client, world.frankfurt, collection([], municipalities=[OFFENBACH]), prune="true"
        ),
        403,
    )
    assert OFFENBACH in problem["detail"]


async def test_batched_prune_keeps_ids_of_earlier_batches(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    features = [utm_feature(FRANKFURT, f"f-{i}", i) for i in range(6)]
    await push(client, world.frankfurt, collection(features))
    # A sync of f-0..f-3 in two batches, then the final prune call.
    for batch in (features[:2], features[2:4]):
        assert (await push(client, world.frankfurt, collection(batch))).json()["withdrawn"] == 0
    final = collection([], keep=[f"f-{i}" for i in range(4)], municipalities=[FRANKFURT])
    report = (await push(client, world.frankfurt, final, prune="true")).json()
    assert report["withdrawn"] == 2
    withdrawn = (
        await session.scalars(select(Plot.external_id).where(Plot.status == PlotStatus.withdrawn))
    ).all()
    assert sorted(withdrawn) == ["f-4", "f-5"]


async def test_duplicates_status_rules_and_repair(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    await push(client, world.frankfurt, collection([utm_feature(FRANKFURT, "old", 0)]))
    x, y = ring_25832(FRANKFURT)[0]
    bowtie = [[x + 500, y + 500], [x + 600, y + 600], [x + 600, y + 500], [x + 500, y + 600]]
    bowtie.append(bowtie[0])
    features = [
        utm_feature(FRANKFURT, "dup", 1),
        utm_feature(FRANKFURT, "dup", 2),
        utm_feature(FRANKFURT, "old", 0, status="transferred"),
        utm_feature(FRANKFURT, "new", 3, status="reserved"),
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [bowtie]},
            "properties": {"external_id": "bow", "title": "Bow tie"},
        },
    ]
    report = (
        await push(client, world.frankfurt, collection(features), mode="partial", repair="true")
    ).json()
    failures = {e["index"]: e for e in report["errors"]}
    assert sorted(failures) == [1, 2, 3]
    assert "feature 0" in failures[1]["detail"]
    assert (failures[2]["status"], failures[2]["pointer"]) == (409, "/features/2/properties/status")
    assert failures[3]["pointer"] == "/features/3/properties/status"
    assert report["repaired"][0]["index"] == 4
    assert "Self-intersection" in report["repaired"][0]["reason"]
    assert report["created"] == 2


async def count_events(session: AsyncSession, action: str) -> int:
    await session.rollback()
    result = await session.scalars(select(Event.id).where(Event.action == action))
    return len(result.all())
