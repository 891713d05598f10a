"""Create and read plots: Location, ETag, computed area, derived municipality, conflicts."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.audit.models import Event
from landmarket.plots.models import Plot
from tests.plots.conftest import (
    FRANKFURT,
    OFFENBACH,
    World,
    assert_problem,
    bearer,
    count,
    feature,
    pointers,
)


async def test_create_returns_feature_with_location_and_etag(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    body = await feature(
        session,
        FRANKFURT,
        "ALKIS/4711:a",
        side=120,
        price_eur_per_m2=95.5,
        parcel_ids=["060001-001-00042"],
        contact={"name": "Wirtschaftsförderung", "email": "wf@example.org"},
        available_from="2027-01-01",
        fibre_available=True,
    )
    response = await client.post("/v1/plots", json=body, headers=bearer(world.frankfurt))
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    created = response.json()
    plot_id = created["id"]
    assert response.headers["location"] == f"/v1/plots/{plot_id}"
    assert response.headers["etag"] == '"1"'
    assert response.headers["content-crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    assert created["type"] == "Feature"
    assert created["geometry"]["type"] == "MultiPolygon"
    props = created["properties"]
    assert props["id"] == plot_id
    assert props["external_id"] == "ALKIS/4711:a"
    assert props["municipality_ags"] == FRANKFURT
    assert props["status"] == "draft"
    assert props["version"] == 1
    assert abs(props["area_m2"] - 14_400) < 14.4
    assert props["price_eur_per_m2"] == 95.5
    assert props["parcel_ids"] == ["060001-001-00042"]
    assert props["contact"] == {"name": "Wirtschaftsförderung", "email": "wf@example.org"}
    assert props["available_from"] == "2027-01-01"
    assert props["fibre_available"] is True
    assert props["published_at"] is None
    assert props["last_confirmed_at"].endswith("Z")
    # The OGC API's stored copy of the public properties is a column, not a property.
    assert "public_properties" not in props

    read = await client.get(f"/v1/plots/{plot_id}", headers=bearer(world.frankfurt))
    assert read.status_code == 200
    assert read.headers["etag"] == '"1"'
    assert read.json() == created

    events = (await session.scalars(select(Event))).all()
    assert [(e.entity_type, e.entity_id, e.action) for e in events] == [("plot", plot_id, "create")]
    assert events[0].before is None
    assert events[0].after is not None
    assert events[0].after["properties"]["external_id"] == "ALKIS/4711:a"
    assert "public_properties" not in events[0].after["properties"]
    assert events[0].api_key_id is not None and events[0].actor_organization_id is not None


async def test_create_published_sets_published_at(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    body = await feature(session, FRANKFURT, status="published")
    response = await client.post("/v1/plots", json=body, headers=bearer(world.admin))
    assert response.status_code == 201, response.text
    assert response.json()["properties"]["published_at"] is not None
    # Anyone can read a published plot.
    assert (await client.get(f"/v1/plots/{response.json()['id']}")).status_code == 200


async def test_municipality_derived_from_single_ags_key(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    body = await feature(session, OFFENBACH, with_ags=False)
    response = await client.post("/v1/plots", json=body, headers=bearer(world.offenbach))
    assert response.status_code == 201, response.text
    assert response.json()["properties"]["municipality_ags"] == OFFENBACH


async def test_municipality_derived_from_geometry(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    body = await feature(session, OFFENBACH, with_ags=False)
    response = await client.post("/v1/plots", json=body, headers=bearer(world.both))
    assert response.status_code == 201, response.text
    assert response.json()["properties"]["municipality_ags"] == OFFENBACH


async def test_derived_municipality_still_needs_write_rights(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    # The admin derives; a key for Frankfurt only must not land a plot in Offenbach.
    body = await feature(session, OFFENBACH, with_ags=False)
    response = await client.post("/v1/plots", json=body, headers=bearer(world.frankfurt))
    # Single-AGS key: the plot is taken to be Frankfurt's, and it lies in Offenbach.
    problem = assert_problem(response, 422)
    assert "Offenbach am Main (06413000)" in problem["detail"]
    admin = await client.post("/v1/plots", json=body, headers=bearer(world.admin))
    assert admin.status_code == 201
    assert admin.json()["properties"]["municipality_ags"] == OFFENBACH


async def test_duplicate_external_id_is_409(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    body = await feature(session, FRANKFURT, "dup")
    assert (await client.post("/v1/plots", json=body, headers=bearer(world.frankfurt))).is_success
    again = await client.post("/v1/plots", json=body, headers=bearer(world.frankfurt))
    problem = assert_problem(again, 409)
    assert pointers(problem) == ["/body/properties/external_id"]
    assert await count(session, Plot) == 1
    assert await count(session, Event) == 1
    # The same external_id in another municipality is another plot.
    other = await feature(session, OFFENBACH, "dup")
    assert (await client.post("/v1/plots", json=other, headers=bearer(world.offenbach))).is_success


async def test_unknown_plot_is_404(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get("/v1/plots/00000000-0000-4000-8000-000000000000")
    assert_problem(response, 404)
    assert_problem(await client.get("/v1/plots/not-a-uuid"), 422)
