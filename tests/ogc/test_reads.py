"""The OGC read path: kept statements, and connections the server dropped are replaced."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from landmarket.db import reads
from landmarket.db.geo import DEFAULT_CRS, SUPPORTED_CRS
from landmarket.ogc import cql2, repository, tiles
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
    # A CQL2 filter's text is part of the shape: the same text, the same statement.
    cql = [repository.Cql(f"zoning = '{z}'", cql2.TEXT, DEFAULT_CRS) for z in ("GE", "GE", "GI")]
    same, again, another = (
        repository.count(
            PLOTS,
            repository.where(
                PLOTS, bbox=None, bbox_crs=DEFAULT_CRS, interval=None, properties={}, cql=c
            ),
        ).statement
        for c in cql
    )
    assert same is again and another is not same


async def _drop_read_connections(url: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            dropped = await conn.scalar(
                text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) "
                    "FROM pg_stat_activity WHERE application_name = :name "
                    "AND datname = current_database()"
                ),
                {"name": reads.APPLICATION_NAME},
            )
    finally:
        await engine.dispose()
    return int(dropped or 0)


def _drop_unnoticed(url: str) -> int:
    """Drops the read connections while this event loop is blocked, so the pool has not seen
    them close when the next request takes one (as when a restart races a request)."""
    dropped: list[int] = []
    worker = threading.Thread(
        target=lambda: dropped.append(asyncio.run(_drop_read_connections(url)))
    )
    worker.start()
    worker.join()
    return dropped[0]


async def test_a_dropped_connection_is_replaced_not_an_error(
    client: httpx.AsyncClient, ogc_world: OgcWorld, database_url: str
) -> None:
    expected = (await client.get(ITEMS)).json()["numberReturned"]
    assert (await client.get(TILE)).status_code in (200, 204)
    for path in (ITEMS, TILE):
        # The database restarted (or an idle timeout hit): the pooled read connection is dead.
        assert _drop_unnoticed(database_url) >= 1
        r = await client.get(path)
        assert r.status_code in (200, 204), r.text
        if path == ITEMS:
            assert r.json()["numberReturned"] == expected
