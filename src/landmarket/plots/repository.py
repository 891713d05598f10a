"""SQL for plots: typed statements with bound parameters; features are built in PostGIS.

Row-level visibility is ``plots.models.visible_to``, so every read path applies it the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    FromClause,
    Text,
    Uuid,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import JSON, aggregate_order_by, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from landmarket.audit.models import Event
from landmarket.auth.models import OrgKind
from landmarket.auth.principal import AuthPrincipal
from landmarket.db.base import STORAGE_SRID
from landmarket.db.geo import (
    EPSG_URI,
    SUPPORTED_CRS,
    Crs,
    bbox_envelope,
    geojson_out,
    json_properties,
)
from landmarket.db.sql import LIKE_ESCAPE, contains_pattern
from landmarket.municipalities.models import region_municipalities
from landmarket.plots.models import Category, Plot, PlotStatus, Zoning, visible_to

STORAGE_CRS = SUPPORTED_CRS[EPSG_URI.format(STORAGE_SRID)]
STALE_AFTER_DAYS = 180

# Public property names = column names; geometry goes in the Feature's own member, and
# public_properties is the OGC API's copy of some of them (kept by a trigger), not a property.
PROPERTY_COLUMNS: tuple[str, ...] = tuple(
    c.name
    for c in Plot.__table__.columns
    if c.name not in ("geom", "public_properties", "synced_version")
)
# Members only the plot's municipality and admins read: names, e-mail addresses and phone
# numbers of people (the OGC API leaves them out for the same reason, docs/ogc.md).
PRIVATE_PROPERTIES = frozenset({"contact"})


def _properties(table: FromClause, names: Sequence[str]) -> ColumnElement[Any]:
    return json_properties(table, names, literal)


def feature_expr(
    crs: Crs, table: FromClause | None = None, *, private: ColumnElement[bool] | None = None
) -> ColumnElement[Any]:
    """The plot as a GeoJSON Feature (json, members in a fixed order), geometry in ``crs``.

    ``table``: an alias of plots, for statements that read the table twice (bulk imports
    snapshot the rows before and after a set-based update). ``private``: for which rows the
    PRIVATE_PROPERTIES are included (the others lack those members); None: for all (the
    audit log, and responses to a write, which only the plot's editors get).
    """
    table = Plot.__table__ if table is None else table
    properties = _properties(table, PROPERTY_COLUMNS)
    if private is not None:
        public = [n for n in PROPERTY_COLUMNS if n not in PRIVATE_PROPERTIES]
        properties = case((private, properties), else_=_properties(table, public))
    return func.json_build_object(
        literal("type"),
        literal("Feature"),
        literal("id"),
        table.c.id,
        literal("geometry"),
        geojson_out(table.c.geom, crs),
        literal("properties"),
        properties,
        type_=JSON,
    )


def editable_by(principal: AuthPrincipal | None) -> ColumnElement[bool]:
    """Rows the caller may edit, and so read in full: its municipalities' plots; admins all."""
    if principal is not None and principal.is_admin:
        return true()
    if principal is not None and principal.kind is OrgKind.municipality and principal.editable_ags:
        return Plot.municipality_ags.in_(sorted(principal.editable_ags))
    return false()


async def get_visible(
    session: AsyncSession,
    principal: AuthPrincipal | None,
    plot_id: uuid.UUID,
    *,
    lock: bool = False,
) -> Plot | None:
    """``lock``: as for ``get_by_external_id``."""
    stmt = (
        select(Plot)
        .options(defer(Plot.geom))
        .where(Plot.id == plot_id, visible_to(principal))
        .execution_options(populate_existing=True)
    )
    if lock:
        stmt = stmt.with_for_update(of=Plot)
    return (await session.scalars(stmt)).one_or_none()


async def get_by_external_id(
    session: AsyncSession, ags: str, external_id: str, *, lock: bool = False
) -> Plot | None:
    """The plot by its GIS id; ``lock``: held FOR UPDATE until the transaction ends, so the
    caller's write cannot lose a compare-and-set to a concurrent one (they queue instead)."""
    stmt = (
        select(Plot)
        .options(defer(Plot.geom))
        .where(Plot.municipality_ags == ags, Plot.external_id == external_id)
        .execution_options(populate_existing=True)
    )
    if lock:
        stmt = stmt.with_for_update(of=Plot)
    return (await session.scalars(stmt)).one_or_none()


async def feature(
    session: AsyncSession,
    plot_id: uuid.UUID,
    crs: Crs,
    *,
    private: ColumnElement[bool] | None = None,
) -> dict[str, Any]:
    """The plot as a Feature; ``private`` as for ``feature_expr`` (readers: ``editable_by``)."""
    stmt = select(feature_expr(crs, private=private)).where(Plot.id == plot_id)
    result = await session.scalar(stmt)
    assert isinstance(result, dict)
    return result


async def feature_and_snapshot(
    session: AsyncSession, plot_id: uuid.UUID, crs: Crs
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The feature in ``crs`` for the response and in storage CRS for the audit log."""
    row = (
        await session.execute(
            select(feature_expr(crs), feature_expr(STORAGE_CRS)).where(Plot.id == plot_id)
        )
    ).one()
    return row[0], row[1]


async def stored_ewkb(session: AsyncSession, plot_id: uuid.UUID) -> bytes:
    value = await session.scalar(select(func.ST_AsEWKB(Plot.geom)).where(Plot.id == plot_id))
    assert value is not None
    return bytes(value)


async def insert_plot(session: AsyncSession, values: dict[str, Any]) -> uuid.UUID | None:
    """Insert; None when (municipality_ags, external_id) is taken."""
    stmt = (
        insert(Plot)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[Plot.municipality_ags, Plot.external_id])
        .returning(Plot.id)
    )
    return await session.scalar(stmt)


async def update_plot(
    session: AsyncSession, plot_id: uuid.UUID, expected_version: int, values: dict[str, Any]
) -> int | None:
    """Compare-and-set on the version: the new version, or None when someone else won."""
    stmt = (
        update(Plot)
        .where(Plot.id == plot_id, Plot.version == expected_version)
        .values(**values, version=Plot.version + 1, updated_at=func.now())
        .returning(Plot.version)
        .execution_options(synchronize_session=False)
    )
    return await session.scalar(stmt)


async def current_version(session: AsyncSession, plot_id: uuid.UUID) -> int | None:
    """The version as committed now (after losing a compare-and-set: the winner's)."""
    version: int | None = await session.scalar(select(Plot.version).where(Plot.id == plot_id))
    return version


async def external_id_taken(
    session: AsyncSession, ags: str, external_id: str, except_id: uuid.UUID
) -> bool:
    stmt = select(Plot.id).where(
        Plot.municipality_ags == ags, Plot.external_id == external_id, Plot.id != except_id
    )
    return (await session.scalar(stmt)) is not None


async def touch_confirmed(session: AsyncSession, plot_id: uuid.UUID) -> None:
    await session.execute(
        update(Plot)
        .where(Plot.id == plot_id)
        .values(last_confirmed_at=func.now())
        .execution_options(synchronize_session=False)
    )


@dataclass
class PlotFilter:
    municipalities: Sequence[str] = ()
    region: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    bbox_crs: Crs = STORAGE_CRS
    zoning: Sequence[Zoning] = ()
    category: Sequence[Category] = ()
    status: Sequence[PlotStatus] = ()
    min_area_m2: float | None = None
    max_area_m2: float | None = None
    available_by: date | None = None
    q: str | None = None
    stale: bool | None = None


def _conditions(principal: AuthPrincipal | None, f: PlotFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [visible_to(principal)]
    if f.municipalities:
        conds.append(Plot.municipality_ags.in_(list(f.municipalities)))
    if f.region is not None:
        members = select(region_municipalities.c.ags).where(
            region_municipalities.c.region_slug == f.region
        )
        conds.append(Plot.municipality_ags.in_(members))
    if f.bbox is not None:
        # Clipped and projected once; the column stays untouched so its GiST index answers.
        conds.append(func.ST_Intersects(Plot.geom, bbox_envelope(f.bbox, f.bbox_crs)))
    if f.zoning:
        conds.append(Plot.zoning.in_(list(f.zoning)))
    if f.category:
        conds.append(Plot.category.in_(list(f.category)))
    if f.status:
        conds.append(Plot.status.in_(list(f.status)))
    if f.min_area_m2 is not None:
        conds.append(Plot.area_m2 >= f.min_area_m2)
    if f.max_area_m2 is not None:
        conds.append(Plot.area_m2 <= f.max_area_m2)
    if f.available_by is not None:
        conds.append(or_(Plot.available_from.is_(None), Plot.available_from <= f.available_by))
    if f.q:
        pattern = contains_pattern(f.q)
        conds.append(
            or_(
                Plot.title.ilike(pattern, escape=LIKE_ESCAPE),
                Plot.description.ilike(pattern, escape=LIKE_ESCAPE),
                Plot.external_id.ilike(pattern, escape=LIKE_ESCAPE),
            )
        )
    if f.stale is not None:
        cutoff = func.now() - func.make_interval(0, 0, 0, STALE_AFTER_DAYS)
        conds.append(
            Plot.last_confirmed_at < cutoff if f.stale else Plot.last_confirmed_at >= cutoff
        )
    return conds


@dataclass(frozen=True)
class FeaturePage:
    features_json: str  # a JSON array, aggregated in PostGIS
    count: int
    last_id: uuid.UUID | None
    more: bool


async def list_features(
    session: AsyncSession,
    principal: AuthPrincipal | None,
    filters: PlotFilter,
    crs: Crs,
    *,
    after: uuid.UUID | None,
    limit: int,
) -> FeaturePage:
    conds = _conditions(principal, filters)
    if after is not None:
        conds.append(Plot.id > after)
    # One row more than asked tells whether there is a next page.
    page = (
        select(
            Plot.id.label("id"), feature_expr(crs, private=editable_by(principal)).label("feature")
        )
        .where(*conds)
        .order_by(Plot.id)
        .limit(limit + 1)
        .subquery("page")
    )
    numbered = select(
        page.c.id,
        page.c.feature,
        func.row_number().over(order_by=page.c.id).label("rn"),
    ).subquery("numbered")
    in_page = numbered.c.rn <= limit
    features = func.coalesce(
        func.json_agg(aggregate_order_by(numbered.c.feature, numbered.c.id)).filter(in_page),
        cast(literal("[]"), JSON),
    )
    # uuid has no max(); the first of the page's ids in descending order is the last one.
    last = type_coerce(
        func.array_agg(aggregate_order_by(numbered.c.id, numbered.c.id.desc())).filter(in_page),
        ARRAY(Uuid),
    )[1]
    stmt = select(
        cast(features, Text).label("features"),
        func.count().label("n"),
        last.label("last_id"),
    ).select_from(numbered)
    row = (await session.execute(stmt)).one()
    return FeaturePage(
        features_json=row.features,
        count=min(int(row.n), limit),
        last_id=row.last_id,
        more=int(row.n) > limit,
    )


async def history(
    session: AsyncSession, plot_id: uuid.UUID, *, after_id: int | None, limit: int
) -> Sequence[Event]:
    stmt = select(Event).where(Event.entity_type == "plot", Event.entity_id == str(plot_id))
    if after_id is not None:
        stmt = stmt.where(Event.id > after_id)
    return (await session.scalars(stmt.order_by(Event.id).limit(limit + 1))).all()
