"""Import sessions: a push of many batches is one import (atomic across batches, duplicates
found across batches, the report counts only what was written), resumable, private."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.plots.imports.session_models import ImportSession
from landmarket.plots.models import Plot
from tests.plots.conftest import (
    FRANKFURT,
    ORIGIN,
    UTM,
    World,
    assert_problem,
    bearer,
    count,
    table_hash,
)

BASE = "/v1/plot-import-sessions"


def small(i: int, external_id: str | None = None) -> dict[str, Any]:
    """A 5 m square on a 6 m grid inside Frankfurt's 1 km square (160 x 160 cells)."""
    x0, y0 = ORIGIN[FRANKFURT]
    x, y = x0 + 10 + (i % 160) * 6, y0 + 10 + (i // 160) * 6
    ring = [[x, y], [x + 5, y], [x + 5, y + 5], [x, y + 5], [x, y]]
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {
            "external_id": external_id or f"p-{i}",
            "title": f"Plot {i}",
            "municipality_ags": FRANKFURT,
        },
    }


async def open_session(client: httpx.AsyncClient, key: str, **options: Any) -> str:
    headers = {**bearer(key), "Content-Crs": UTM}
    response = await client.post(BASE, json=options, headers=headers)
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == f"{BASE}/{response.json()['id']}"
    return str(response.json()["id"])


async def upload(
    client: httpx.AsyncClient, key: str, sid: str, seq: int, features: list[dict[str, Any]]
) -> httpx.Response:
    body = {"type": "FeatureCollection", "features": features}
    return await client.put(f"{BASE}/{sid}/batches/{seq}", json=body, headers=bearer(key))


async def commit(
    client: httpx.AsyncClient, key: str, sid: str, batches: int | None = None, **params: Any
) -> httpx.Response:
    body = {} if batches is None else {"batches": batches}
    return await client.post(f"{BASE}/{sid}/commit", json=body, headers=bearer(key), params=params)


async def test_25000_features_in_25_batches_duplicates_in_first_and_last(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    features = [small(i) for i in range(25_000)]
    # The last batch repeats an id of the first one: a duplicate across the whole push.
    features[24_999] = small(24_999, external_id="p-7")
    before = await table_hash(session)

    sid = await open_session(client, world.frankfurt)
    for seq in range(25):
        response = await upload(
            client, world.frankfurt, sid, seq, features[seq * 1000 : (seq + 1) * 1000]
        )
        assert response.status_code == 200, response.text
    assert response.json()["features"] == 25_000

    # Atomic: the duplicate fails the whole push, named with its index in the push.
    problem = assert_problem(await commit(client, world.frankfurt, sid, 25), 422)
    assert [(e["index"], e["pointer"]) for e in problem["errors"]] == [
        (24_999, "/features/24999/properties/external_id")
    ]
    assert "feature 7 " in problem["errors"][0]["detail"]
    assert await table_hash(session) == before

    # The session stays open; a dry run counts what the partial commit would write.
    state = (await client.get(f"{BASE}/{sid}", headers=bearer(world.frankfurt))).json()
    assert (state["state"], state["features"], state["batches"]) == ("open", 25_000, [*range(25)])
    await client.delete(f"{BASE}/{sid}", headers=bearer(world.frankfurt))

    sid = await open_session(client, world.frankfurt, mode="partial")
    for seq in range(25):
        chunk = features[seq * 1000 : (seq + 1) * 1000]
        assert (await upload(client, world.frankfurt, sid, seq, chunk)).status_code == 200
    response = await commit(client, world.frankfurt, sid, 25)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["created"], report["failed"], report["dry_run"]) == (24_999, 1, False)
    assert [e["index"] for e in report["errors"]] == [24_999]
    assert await count(session, Plot) == 24_999
    stored = await session.scalar(select(Plot.title).where(Plot.external_id == "p-7"))
    assert stored == "Plot 7"  # the first occurrence, not overwritten by the later one


async def test_atomic_push_over_batches_writes_nothing_and_reports_nothing_written(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    features = [small(i) for i in range(221)]
    features[5]["properties"]["zoning"] = "XX"
    features[210]["properties"]["category"] = "nope"
    before = await table_hash(session)
    sid = await open_session(client, world.frankfurt)
    for seq in range(3):
        chunk = features[seq * 100 : (seq + 1) * 100]
        assert (await upload(client, world.frankfurt, sid, seq, chunk)).status_code == 200
    problem = assert_problem(await commit(client, world.frankfurt, sid, 3), 422)
    assert [e["index"] for e in problem["errors"]] == [5, 210]
    assert "created" not in problem
    assert await table_hash(session) == before


async def test_resume_re_sent_batch_and_commit_are_idempotent(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    features = [small(i) for i in range(30)]
    sid = await open_session(client, world.frankfurt)
    assert (await upload(client, world.frankfurt, sid, 0, features[:10])).status_code == 200
    # A dropped connection: the client does not know whether batch 0 arrived and sends it again.
    again = await upload(client, world.frankfurt, sid, 0, features[:10])
    assert again.status_code == 200 and again.json()["features"] == 10
    # Another batch under a used number is refused.
    assert_problem(await upload(client, world.frankfurt, sid, 0, features[10:20]), 409)
    # Batch 1 never arrived: the commit names it and writes nothing.
    assert (await upload(client, world.frankfurt, sid, 2, features[20:])).status_code == 200
    problem = assert_problem(await commit(client, world.frankfurt, sid, 3), 409)
    assert "[1]" in problem["detail"]
    assert await count(session, Plot) == 0
    # The client asks what arrived and resumes.
    state = (await client.get(f"{BASE}/{sid}", headers=bearer(world.frankfurt))).json()
    assert state["batches"] == [0, 2]
    assert (await upload(client, world.frankfurt, sid, 1, features[10:20])).status_code == 200

    dry = await commit(client, world.frankfurt, sid, 3, dry_run="true")
    assert (dry.json()["created"], dry.json()["dry_run"]) == (30, True)
    assert await count(session, Plot) == 0

    first = await commit(client, world.frankfurt, sid, 3)
    assert first.status_code == 200 and first.json()["created"] == 30
    after = await table_hash(session)
    # The commit's response was lost; sent again it returns the same report, writes nothing.
    second = await commit(client, world.frankfurt, sid, 3)
    assert second.status_code == 200 and second.json() == first.json()
    assert await table_hash(session) == after
    assert_problem(await upload(client, world.frankfurt, sid, 3, features[:1]), 409)
    assert_problem(await client.delete(f"{BASE}/{sid}", headers=bearer(world.frankfurt)), 409)


async def test_only_the_owning_organisation_uses_its_session(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    sid = await open_session(client, world.frankfurt)
    assert (await upload(client, world.frankfurt, sid, 0, [small(0)])).status_code == 200
    for key in (world.offenbach, world.both, world.admin):
        assert_problem(await client.get(f"{BASE}/{sid}", headers=bearer(key)), 404)
        assert_problem(await upload(client, key, sid, 1, [small(1)]), 404)
        assert_problem(await commit(client, key, sid), 404)
        assert_problem(await client.delete(f"{BASE}/{sid}", headers=bearer(key)), 404)
    for key in (world.company, world.agency):
        assert_problem(await client.post(BASE, json={}, headers=bearer(key)), 403)
    assert_problem(await client.post(BASE, json={}), 401)
    assert await count(session, Plot) == 0
    state = (await client.get(f"{BASE}/{sid}", headers=bearer(world.frankfurt))).json()
    assert state["batches"] == [0]


async def test_abort_and_expiry_drop_the_session_unwritten(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    sid = await open_session(client, world.frankfurt)
    assert (await upload(client, world.frankfurt, sid, 0, [small(0)])).status_code == 200
    response = await client.delete(f"{BASE}/{sid}", headers=bearer(world.frankfurt))
    assert response.status_code == 204
    assert_problem(await commit(client, world.frankfurt, sid), 404)

    abandoned = await open_session(client, world.frankfurt)
    assert (await upload(client, world.frankfurt, abandoned, 0, [small(0)])).status_code == 200
    await session.execute(
        update(ImportSession).values(expires_at=func.now() - func.make_interval(0, 0, 0, 0, 1))
    )
    await session.commit()
    assert_problem(await commit(client, world.frankfurt, abandoned), 404)
    await open_session(client, world.frankfurt)  # purges expired sessions
    remaining = await session.scalars(select(ImportSession.id))
    assert str(abandoned) not in {str(i) for i in remaining}
    assert await count(session, Plot) == 0


async def test_batch_and_session_limits(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    sid = await open_session(client, world.frankfurt)
    assert_problem(await upload(client, world.frankfurt, sid, -1, [small(0)]), 422)
    headers = {**bearer(world.frankfurt), "Content-Crs": "<urn:nope>"}
    assert_problem(await client.post(BASE, json={}, headers=headers), 422)
    assert_problem(
        await client.post(BASE, json={"mode": "sometimes"}, headers=bearer(world.frankfurt)), 422
    )


async def _push(
    client: httpx.AsyncClient, key: str, features: list[dict[str, Any]], **options: Any
) -> httpx.Response:
    sid = await open_session(client, key, **options)
    assert (await upload(client, key, sid, 0, features)).status_code == 200
    return await commit(client, key, sid, 1)


async def test_merge_changes_only_the_pushed_properties(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    features = [small(i) for i in range(3)]
    for f in features:
        f["properties"] |= {"category": "brownfield", "price_eur_per_m2": 100, "zoning": "GE"}
    assert (await _push(client, world.frankfurt, features)).json()["created"] == 3

    # The next push maps only the price (the title it must send is ignored on existing plots).
    merged = [small(i) for i in range(3)]
    for f in merged:
        f["properties"] |= {"price_eur_per_m2": 120, "title": "ignored"}
    merged[2]["properties"]["price_eur_per_m2"] = 100
    response = await _push(client, world.frankfurt, merged, merge=["price_eur_per_m2"])
    report = response.json()
    assert (report["updated"], report["unchanged"]) == (2, 1), response.text
    rows = (await session.execute(select(Plot).order_by(Plot.external_id))).scalars().all()
    assert [(p.price_eur_per_m2, p.category.value, p.zoning.value, p.title) for p in rows] == [
        (120, "brownfield", "GE", "Plot 0"),
        (120, "brownfield", "GE", "Plot 1"),
        (100, "brownfield", "GE", "Plot 2"),
    ]
    # Without merge the same push replaces whole plots: category and zoning reset.
    response = await _push(client, world.frankfurt, merged)
    assert response.json()["updated"] == 3
    await session.rollback()
    assert await session.scalar(select(Plot.category).where(Plot.external_id == "p-0")) is None
    bad = await client.post(BASE, json={"merge": ["nope"]}, headers=bearer(world.frankfurt))
    assert "nope" in str(assert_problem(bad, 422)["errors"])


async def test_a_plot_edited_elsewhere_since_the_last_push_is_a_conflict(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    features = [small(i) for i in range(3)]
    assert (await _push(client, world.frankfurt, features)).json()["created"] == 3
    plot = (await client.get("/v1/plots", headers=bearer(world.frankfurt))).json()["features"]
    edited = next(f for f in plot if f["properties"]["external_id"] == "p-1")
    patch = await client.patch(
        f"/v1/plots/{edited['id']}",
        json={"properties": {"title": "Edited in the web app"}},
        headers={**bearer(world.frankfurt), "If-Match": '"1"'},
    )
    assert patch.status_code == 200, patch.text

    # The same push again would undo that edit: a conflict (409); atomic → nothing written.
    before = await table_hash(session)
    problem = assert_problem(await _push(client, world.frankfurt, features), 422)
    assert [(e["index"], e["status"]) for e in problem["errors"]] == [(1, 409)]
    assert "edited elsewhere" in problem["errors"][0]["detail"]
    assert await table_hash(session) == before
    # Partial: the others go through, the edited plot is left alone.
    report = (await _push(client, world.frankfurt, features, mode="partial")).json()
    assert (report["unchanged"], report["failed"]) == (2, 1)
    assert await session.scalar(select(Plot.title).where(Plot.external_id == "p-1")) == (
        "Edited in the web app"
    )
    # force overwrites it.
    report = (await _push(client, world.frankfurt, features, force=True)).json()
    assert (report["updated"], report["unchanged"]) == (1, 2)
    await session.rollback()
    assert await session.scalar(select(Plot.title).where(Plot.external_id == "p-1")) == "Plot 1"

    # Edited again, and the office takes the edit into its GIS: the push agrees, no conflict,
    # and from then on the push owns the plot again.
    patch = await client.patch(
        f"/v1/plots/{edited['id']}",
        json={"properties": {"title": "Taken into the GIS"}},
        headers={**bearer(world.frankfurt), "If-Match": '"3"'},
    )
    assert patch.status_code == 200, patch.text
    features[1]["properties"]["title"] = "Taken into the GIS"
    assert (await _push(client, world.frankfurt, features)).json()["unchanged"] == 3
    for f in features:
        f["properties"]["price_eur_per_m2"] = 55
    assert (await _push(client, world.frankfurt, features)).json()["updated"] == 3


async def test_merge_without_a_title_updates_existing_plots_and_refuses_only_new_ones(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    features = [small(i) for i in range(3)]
    for f in features:
        f["properties"] |= {"category": "brownfield", "broadband_mbps": 50}
    assert (await _push(client, world.frankfurt, features)).json()["created"] == 3

    # Only two mapped properties, no title: existing plots change them and keep the rest.
    merged = [small(i) for i in range(3)]
    for f in merged:
        del f["properties"]["title"]
        f["properties"] |= {"available_from": "2027-03-01", "broadband_mbps": 1000}
    fields = ["available_from", "broadband_mbps"]
    response = await _push(client, world.frankfurt, merged, merge=fields)
    assert response.status_code == 200, response.text
    assert response.json()["updated"] == 3
    rows = (await session.execute(select(Plot).order_by(Plot.external_id))).scalars().all()
    assert [(p.title, p.category.value, p.broadband_mbps, str(p.available_from)) for p in rows] == [
        (f"Plot {i}", "brownfield", 1000, "2027-03-01") for i in range(3)
    ]

    # A feature for a plot that does not exist yet still needs the title: refused per feature.
    new = small(3)
    del new["properties"]["title"]
    response = await _push(client, world.frankfurt, [*merged, new], merge=fields, mode="partial")
    report = response.json()
    assert (report["failed"], report["created"]) == (1, 0), response.text
    (error,) = report["errors"]
    assert error["index"] == 3 and error["pointer"] == "/features/3/properties/title"
    assert "new plot" in error["detail"]
    # An explicit null is still refused; atomic: nothing written.
    merged[0]["properties"]["title"] = None
    bad = await _push(client, world.frankfurt, merged, merge=fields)
    assert "/features/0/properties/title" in str(assert_problem(bad, 422)["errors"])
