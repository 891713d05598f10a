"""SQL of the spatial exports: plot rows streamed from a server-side cursor, and the
per-municipality supply and demand figures on the boundaries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Integer, Row, String, Text, bindparam, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from landmarket.municipalities.models import Municipality
from landmarket.plots.models import Plot
from landmarket.reports.repository import (
    HA,
    REACTIVATION,
    available_by,
    demand_conditions,
    in_a_year,
    in_ags,
    supply_conditions,
)
from landmarket.reports.scope import Scope
from landmarket.reports.tables import Column
from landmarket.requirements.models import Requirement

CHUNK_ROWS = 2_000

# Every public property of a plot (``plots.schemas.PlotPropertiesRead`` without ``contact``,
# which names people; a test compares the two), the municipality's name, and a point on the
# plot for tables. In the order an officer reads a listing.
PLOT_COLUMNS: list[Column] = [
    Column("id", "text"),
    Column("municipality_ags", "text"),
    Column("municipality", "text"),
    Column("external_id", "text"),
    Column("title", "text"),
    Column("description", "text"),
    Column("status", "text"),
    Column("category", "text"),
    Column("zoning", "text"),
    Column("planning_status", "text"),
    Column("emission_quota_db", "float"),
    Column("area_m2", "float"),
    Column("divisible", "bool"),
    Column("min_divisible_area_m2", "float"),
    Column("tenure", "text"),
    Column("price_eur_per_m2", "float"),
    Column("rent_eur_per_m2_month", "float"),
    Column("ownership", "text"),
    Column("available_from", "date"),
    Column("fibre_available", "bool"),
    Column("broadband_mbps", "int"),
    Column("transit_stop_distance_m", "int"),
    Column("motorway_distance_km", "float"),
    Column("rail_siding", "bool"),
    Column("servicing", "text"),
    Column("contamination", "text"),
    Column("parcel_ids", "list"),
    Column("version", "int"),
    Column("created_at", "datetime"),
    Column("updated_at", "datetime"),
    Column("published_at", "datetime"),
    Column("last_confirmed_at", "datetime"),
    Column("geometry_precision", "text"),
    Column("lon", "float"),
    Column("lat", "float"),
]


def _plot_values() -> list[ColumnElement[Any]]:
    point = func.ST_Transform(func.ST_PointOnSurface(Plot.geom), 4326)
    special = {
        "id": cast(Plot.id, String),
        "municipality": Municipality.name,
        "lon": func.ST_X(point),
        "lat": func.ST_Y(point),
    }
    out: list[ColumnElement[Any]] = []
    for c in PLOT_COLUMNS:
        expr = special.get(c.name)
        if expr is None:
            attr = getattr(Plot, c.name)
            expr = cast(attr, String) if c.kind == "text" else attr
        out.append(expr.label(c.name))
    return out


def plots_select(scope: Scope, geometry: str | None) -> Any:
    """Supply plots of the scope; ``geometry``: None, ``geojson`` (lon/lat text) or ``wkb``
    (EPSG:25832, for GeoPackage)."""
    extra: list[ColumnElement[Any]] = []
    if geometry == "geojson":
        extra.append(
            cast(func.ST_AsGeoJSON(func.ST_Transform(Plot.geom, 4326), 7, 0), Text).label("geom")
        )
    elif geometry == "wkb":
        extra.append(func.ST_AsBinary(Plot.geom).label("geom"))
    return (
        select(*_plot_values(), *extra)
        .join(Municipality, Municipality.ags == Plot.municipality_ags)
        .where(*supply_conditions(scope))
        .order_by(Plot.municipality_ags, Plot.id)
    )


async def stream_rows(
    conn: AsyncConnection, stmt: Any, chunk: int = CHUNK_ROWS
) -> AsyncIterator[Sequence[Row[Any]]]:
    """Chunks of rows from a server-side cursor: memory stays at one chunk."""
    result = await conn.stream(stmt.execution_options(yield_per=chunk))
    async for part in result.partitions(chunk):
        yield part


MUNICIPALITY_COLUMNS: list[Column] = [
    Column("ags", "text"),
    Column("name", "text"),
    Column("district_ags", "text"),
    Column("supply_plots", "int"),
    Column("supply_area_ha", "float"),
    Column("available_now_area_ha", "float"),
    Column("available_12_months_area_ha", "float"),
    Column("brownfield_vacant_area_ha", "float"),
    Column("requirements", "int", confidential=True),
    Column("companies", "int", confidential=True),
    Column("requested_area_min_ha", "float", confidential=True),
]


async def municipality_rows(
    session: AsyncSession, scope: Scope, geometry: str, today: date, simplify_m: float = 0.0
) -> list[dict[str, Any]]:
    """One row per municipality of the scope with its figures and boundary (``geojson`` in
    lon/lat or ``wkb`` in EPSG:25832). A few hundred rows at most: fetched at once."""
    supply = (
        select(
            Plot.municipality_ags.label("ags"),
            func.count().label("supply_plots"),
            (func.sum(Plot.area_m2) / HA).label("supply_area_ha"),
            (func.coalesce(func.sum(Plot.area_m2).filter(available_by(today)), 0) / HA).label(
                "available_now_area_ha"
            ),
            (
                func.coalesce(func.sum(Plot.area_m2).filter(available_by(in_a_year(today))), 0) / HA
            ).label("available_12_months_area_ha"),
            (
                func.coalesce(func.sum(Plot.area_m2).filter(Plot.category.in_(REACTIVATION)), 0)
                / HA
            ).label("brownfield_vacant_area_ha"),
        )
        .where(*supply_conditions(scope))
        .group_by(Plot.municipality_ags)
        .subquery("s")
    )
    demand = (
        select(
            Requirement.home_ags.label("ags"),
            func.count().label("requirements"),
            func.count(Requirement.company_id.distinct()).label("companies"),
            (func.sum(Requirement.area_min_m2) / HA).label("requested_area_min_ha"),
        )
        .where(*demand_conditions(scope))
        .group_by(Requirement.home_ags)
        .subquery("d")
    )
    boundary: Any = Municipality.boundary
    if simplify_m > 0:
        # Maps in the PDF: metres of detail nobody sees would only bloat the file.
        boundary = func.ST_SimplifyPreserveTopology(boundary, bindparam("simplify_m", simplify_m))
    if geometry == "geojson":
        geom: Any = cast(func.ST_AsGeoJSON(func.ST_Transform(boundary, 4326), 6, 0), Text)
    else:
        geom = func.ST_AsBinary(boundary)
    zero = literal(0, Integer)
    stmt = (
        select(
            Municipality.ags,
            Municipality.name,
            Municipality.district_ags,
            func.coalesce(supply.c.supply_plots, zero).label("supply_plots"),
            func.coalesce(supply.c.supply_area_ha, 0.0).label("supply_area_ha"),
            func.coalesce(supply.c.available_now_area_ha, 0.0).label("available_now_area_ha"),
            func.coalesce(supply.c.available_12_months_area_ha, 0.0).label(
                "available_12_months_area_ha"
            ),
            func.coalesce(supply.c.brownfield_vacant_area_ha, 0.0).label(
                "brownfield_vacant_area_ha"
            ),
            func.coalesce(demand.c.requirements, zero).label("requirements"),
            func.coalesce(demand.c.companies, zero).label("companies"),
            func.coalesce(demand.c.requested_area_min_ha, 0.0).label("requested_area_min_ha"),
            geom.label("geom"),
        )
        .outerjoin(supply, supply.c.ags == Municipality.ags)
        .outerjoin(demand, demand.c.ags == Municipality.ags)
        .order_by(Municipality.ags)
    )
    if scope.ags is not None:
        stmt = stmt.where(in_ags(Municipality.ags, scope, "export_ags"))
    return [dict(r._mapping) for r in await session.execute(stmt)]
