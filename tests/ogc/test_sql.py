"""The bbox and spatial filters leave the column alone, so the GiST index can answer."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.db.geo import DEFAULT_CRS, SUPPORTED_CRS, bbox_envelope
from landmarket.ogc import cql2, repository
from landmarket.ogc.collections import COLLECTIONS
from landmarket.plots.models import Plot
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


async def test_plots_listing_bbox_uses_the_gist_index(
    session: AsyncSession, ogc_world: OgcWorld
) -> None:
    """/v1/plots builds its clipped box with literal values (db.geo.bbox_envelope, as in
    plots.repository): PostgreSQL folds it to a constant at planning and the index answers
    geom && '<box>', in every bbox-crs."""
    conn = await session.connection()
    await conn.exec_driver_sql("ANALYZE plots")
    await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    lonlat = func.ST_MakeEnvelope(8.5, 49.9, 8.8, 50.1, 4326)
    for crs in SUPPORTED_CRS.values():
        box = func.ST_Transform(lonlat, crs.srid)
        corners = select(func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box))
        x0, y0, x1, y1 = (float(v) for v in (await session.execute(corners)).one())
        stmt = (
            select(func.count())
            .select_from(Plot)
            .where(func.ST_Intersects(Plot.geom, bbox_envelope((x0, y0, x1, y1), crs)))
        )
        compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        rows = await conn.exec_driver_sql("EXPLAIN " + str(compiled))
        text = "\n".join(r[0] for r in rows)
        assert re.search(r"Index Cond: \(geom && '[0-9A-F]+'::geometry\)", text), (crs, text)
    await session.rollback()


@pytest.mark.parametrize("text", ["it's", "a\x00b"])
def test_sql_literal_fragments_refuse_a_quote_even_under_python_o(text: str) -> None:
    # The guard of the one SQL literal built from text is a real check, not an assert
    # (asserts are gone under ``python -O``).
    with pytest.raises(ValueError, match="fixed SQL text"):
        repository._fragment(text)
    with pytest.raises(ValueError, match="identifier"):
        repository.constant(text)
