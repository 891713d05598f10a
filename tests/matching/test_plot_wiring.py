"""Plot writes through the plots API recompute that plot's matches in the same transaction."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.matching.world import (
    FRANKFURT,
    ORIGIN,
    World,
    bearer,
    lonlat_ring,
    matches,
    post_requirement,
)


async def test_plot_published_after_requirement_appears_without_rebuild(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    req = await post_requirement(client, world.company)
    assert await matches(client, world.company, req["id"]) == []
    ring = await lonlat_ring(session, *ORIGIN[FRANKFURT], side=100)
    body = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {
            "external_id": "late-1",
            "title": "Late plot",
            "municipality_ags": FRANKFURT,
            "zoning": "GI",
            "status": "draft",
        },
    }
    created = await client.post("/v1/plots", json=body, headers=bearer(world.frankfurt))
    assert created.status_code == 201, created.text
    plot_id = created.json()["id"]
    assert await matches(client, world.company, req["id"]) == []  # a draft does not match
    published = await client.post(
        f"/v1/plots/{plot_id}/status", json={"status": "published"}, headers=bearer(world.frankfurt)
    )
    assert published.status_code == 200, published.text
    assert [m["plot"]["id"] for m in await matches(client, world.company, req["id"])] == [plot_id]

    # Shortlisted, then withdrawn: the company's shortlist is kept, flagged stale.
    await client.patch(
        f"/v1/requirements/{req['id']}/matches/{plot_id}",
        json={"state": "shortlisted"},
        headers=bearer(world.company),
    )
    gone = await client.delete(f"/v1/plots/{plot_id}", headers=bearer(world.frankfurt))
    assert gone.status_code == 204
    assert await matches(client, world.company, req["id"]) == []
    kept = await matches(client, world.company, req["id"], include_stale="true")
    assert [(m["plot"]["id"], m["state"], m["stale"]) for m in kept] == [
        (plot_id, "shortlisted", True)
    ]
    # Interest in a plot that no longer matches is refused.
    refused = await client.patch(
        f"/v1/requirements/{req['id']}/matches/{plot_id}",
        json={"state": "interest_expressed"},
        headers=bearer(world.company),
    )
    assert refused.status_code == 409


async def test_bulk_import_recomputes_matches(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    req = await post_requirement(client, world.company)
    ring = await lonlat_ring(session, *ORIGIN[FRANKFURT], side=100)

    def collection(status: str) -> dict[str, object]:
        feature = {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {
                "external_id": "bulk-1",
                "title": "Imported plot",
                "municipality_ags": FRANKFURT,
                "zoning": "GI",
                "status": status,
            },
        }
        return {"type": "FeatureCollection", "features": [feature]}

    async def run(status: str, **params: str) -> None:
        response = await client.post(
            "/v1/plot-imports",
            json=collection(status),
            params=params,
            headers=bearer(world.frankfurt),
        )
        assert response.status_code == 200, response.text

    await run("published", dry_run="true")
    assert await matches(client, world.company, req["id"]) == [], "a dry run matches nothing"
    await run("published")
    (match,) = await matches(client, world.company, req["id"])
    assert match["plot"]["title"] == "Imported plot"
    await run("withdrawn")
    assert await matches(client, world.company, req["id"]) == []
