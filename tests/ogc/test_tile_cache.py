"""Tiles carry a validator and a cache life, and a conditional request for an unchanged tile
is answered 304 without the tile (issue 18: panning the web app's map re-asks for tiles)."""

from __future__ import annotations

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.plots.models import Plot
from tests.ogc.conftest import OgcWorld
from tests.ogc.test_tiles_meta import TILES, tile_of


async def test_tile_etag_and_conditional_request(
    client: httpx.AsyncClient, session: AsyncSession, ogc_world: OgcWorld
) -> None:
    feature = (await client.get("/ogc/collections/plots/items?limit=1")).json()["features"][0]
    lon, lat = feature["geometry"]["coordinates"][0][0][0]
    x, y = tile_of(lon + 1e-5, lat + 1e-5, 14)
    path = f"{TILES}/14/{x}/{y}"
    first = await client.get(path)
    assert first.status_code == 200
    tag = first.headers["etag"]
    assert tag.startswith('"') and tag.endswith('"')
    assert "max-age" in first.headers["cache-control"]

    again = await client.get(path)
    assert again.headers["etag"] == tag  # the same rows, the same validator
    for header in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        cached = await client.get(path, headers={"If-None-Match": header})
        assert cached.status_code == 304, header
        assert cached.content == b"" and cached.headers["etag"] == tag
    other = await client.get(path, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.content == first.content

    # A change to a plot in the tile changes the validator: the old one gets the new tile.
    await session.execute(
        update(Plot).where(Plot.id == feature["id"]).values(title="Renamed for the tile test")
    )
    await session.commit()
    changed = await client.get(path, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    assert b"Renamed for the tile test" in changed.content
