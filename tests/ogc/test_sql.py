"""The bbox and spatial filters leave the column alone, so the GiST index can answer."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.db.geo import DEFAULT_CRS, SUPPORTED_CRS
from landmarket.ogc import cql2, repository
from landmarket.ogc.collections import COLLECTIONS
from tests.ogc.conftest import OgcWorld

PLOTS = COLLECTIONS["plots"]
# The box is computed once (an InitPlan parameter), the column is untouched and the GiST
# index answers &&.
INDEXED = re.compile(r"Index Cond: \(geom && \$\d+\)")


async def plan(session: AsyncSession, where: repository.Where) -> str:
    # count(*) has no ORDER BY id, so the planner is free to pick the spatial index.
    query = repository.count(PLOTS, where)
    conn = await session.connection()
    compiled: Any = query.statement.compile(dialect=conn.dialect)
    values = compiled.construct_params(query.params)
    params = tuple(values[k] for k in compiled.positiontup)
    # Real statistics: on a never-analysed table the planner guesses status = 'published'
    # selects 0.5 % and may prefer ix_plots_status_id, depending on whether autovacuum ran.
    await conn.exec_driver_sql("ANALYZE plots")
    await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = await conn.exec_driver_sql("EXPLAIN " + str(compiled), params)
    return "\n".join(r[0] for r in rows)


async def test_bbox_and_s_intersects_use_the_gist_index(
    session: AsyncSession, ogc_world: OgcWorld
) -> None:
    for bbox_crs in (DEFAULT_CRS, SUPPORTED_CRS["http://www.opengis.net/def/crs/EPSG/0/4326"]):
        where = repository.where(
            PLOTS,
            bbox=(8.5, 49.9, 8.8, 50.1),
            bbox_crs=bbox_crs,
            interval=None,
            properties={},
            cql=None,
        )
        text = await plan(session, where)
        assert INDEXED.search(text), text
    cql = repository.Cql(
        "S_INTERSECTS(geometry, BBOX(8.5, 49.9, 8.8, 50.1))", cql2.TEXT, DEFAULT_CRS
    )
    where = repository.where(
        PLOTS, bbox=None, bbox_crs=DEFAULT_CRS, interval=None, properties={}, cql=cql
    )
    text = await plan(session, where)
    assert INDEXED.search(text), text
    await session.rollback()
