"""The OGC read path: kept statements, and connections the server dropped are replaced."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from landmarket.db.geo import DEFAULT_CRS, SUPPORTED_CRS
from landmarket.ogc import repository, tiles
from landmarket.ogc.collections import COLLECTIONS
from tests.ogc.conftest import OgcWorld

PLOTS = COLLECTIONS["plots"]
ITEMS = "/ogc/collections/plots/items"
TILE = "/ogc/collections/plots/tiles/WebMercatorQuad/14/8575/5547"


def _where(bbox: tuple[float, float, float, float], zoning: str) -> repository.Where:
    return repository.where(
        PLOTS,
        bbox=bbox,
        bbox_crs=DEFAULT_CRS,
        interval=(datetime(2026, 1, 1, tzinfo=UTC), None),
        properties={"zoning": zoning},
        cql=None,
    )


def test_statements_are_built_once_per_shape() -> None:
    one = repository.page(
        PLOTS, DEFAULT_CRS, _where((8.5, 50.0, 8.6, 50.1), "GE"), after=None, before=None, limit=5
    )
    two = repository.page(
        PLOTS, DEFAULT_CRS, _where((8.6, 50.1, 8.7, 50.2), "GI"), after=None, before=None, limit=9
    )
    assert one.statement is two.statement
    assert one.params != two.params and two.params["limit"] == 10
    # Another shape (output CRS, direction) is another statement.
    utm = SUPPORTED_CRS["http://www.opengis.net/def/crs/EPSG/0/25832"]
    other = repository.page(
        PLOTS, utm, _where((8.5, 50.0, 8.6, 50.1), "GE"), after=None, before=None, limit=5
    )
    assert other.statement is not one.statement
    assert tiles.tile_query(PLOTS, 14, 1, 2).statement is tiles.tile_query(PLOTS, 9, 3, 4).statement


async def _drop_read_connections(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        dropped = await conn.scalar(
            text(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) "
                "FROM pg_stat_activity WHERE application_name = 'landmarket-read' "
                "AND datname = current_database()"
            )
        )
    return int(dropped or 0)


async def test_a_dropped_connection_is_replaced_not_an_error(
    client: httpx.AsyncClient, ogc_world: OgcWorld, clean_db: AsyncEngine
) -> None:
    expected = (await client.get(ITEMS)).json()["numberReturned"]
    assert (await client.get(TILE)).status_code in (200, 204)
    # The database restarted (or an idle timeout hit): every pooled read connection is dead.
    assert await _drop_read_connections(clean_db) >= 1
    r = await client.get(ITEMS)
    assert r.status_code == 200, r.text
    assert r.json()["numberReturned"] == expected
    assert await _drop_read_connections(clean_db) >= 1
    assert (await client.get(TILE)).status_code in (200, 204)
