"""SQL of the bulk import: staging tables filled by COPY, then set-based statements.

Every statement runs once per import, whatever the number of features: the placement rules
(plots.geometry.placement), the lookup of existing plots, the updates, inserts and withdrawals,
each together with its audit events.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    Boolean,
    Column,
    ColumnElement,
    Enum,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    and_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.schema import CreateTable

from landmarket.audit.models import Event
from landmarket.auth.principal import AuthPrincipal
from landmarket.db.base import STORAGE_SRID
from landmarket.plots.geometry import placement
from landmarket.plots.models import Plot, PlotStatus
from landmarket.plots.repository import STORAGE_CRS, feature_expr
from landmarket.plots.schemas import PlotAttributes

# Descriptive properties replaced as a whole by an import (as by PUT); status is separate
# because an omitted status keeps the current one.
ATTRIBUTES: tuple[str, ...] = tuple(
    n for n in PlotAttributes.model_fields if n not in ("municipality_ags", "status")
)
_COPY_CHUNK = 5000
_metadata = MetaData()


def _staged_type(name: str) -> Any:
    column_type = Plot.__table__.c[name].type
    # Plain VARCHAR: the CHECK constraints of the enums belong to plots, not to scratch tables.
    return String(32) if isinstance(column_type, Enum) else column_type


# Private to the transaction (TEMPORARY) and gone at its end (ON COMMIT DROP), whatever happens.
staging = Table(
    "landmarket_plot_import",
    _metadata,
    Column("idx", Integer, primary_key=True),
    Column("external_id", String(128), nullable=False),
    Column("target", String(8)),
    Column("geojson", Text, nullable=False),
    Column("status", String(32)),
    *(Column(name, _staged_type(name)) for name in ATTRIBUTES),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
STAGED_COLUMNS: tuple[str, ...] = tuple(c.name for c in staging.columns)

# The answers of plots.geometry.placement, one row per staged feature.
checked = Table(
    "landmarket_plot_import_checked",
    _metadata,
    Column("idx", Integer, primary_key=True),
    Column("target", String(8)),
    Column("valid", Boolean),
    Column("reason", Text),
    Column("geom", Geometry(srid=STORAGE_SRID, spatial_index=False)),
    Column("empty", Boolean),
    Column("area", Float),
    Column("npoints", Integer),
    Column("located_ags", String(8)),
    Column("located_name", Text),
    Column("within_target", Boolean),
    Column("target_name", Text),
    Column("parts", Integer),
    Column("stray_part", Integer),
    Column("stray_ags", String(8)),
    Column("stray_name", Text),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)

# For prune: the plots the sync contains. ags NULL = any municipality (ids of features whose
# municipality is unknown and ids of earlier batches).
keep = Table(
    "landmarket_plot_import_keep",
    _metadata,
    Column("ags", String(8)),
    Column("external_id", String(128), nullable=False),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)

_ags = func.coalesce(checked.c.target, checked.c.located_ags)


async def create_tables(session: AsyncSession) -> None:
    for t in (staging, checked, keep):
        await session.execute(CreateTable(t, if_not_exists=True))
        # A second import in the same transaction (e.g. the demo seeding) starts empty.
        await session.execute(delete(t))


async def copy_rows(
    session: AsyncSession, table: Table, records: Sequence[tuple[Any, ...]]
) -> None:
    """COPY into a staging table over the asyncpg connection (binary, no SQL text per row)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    columns = [c.name for c in table.columns]
    for start in range(0, len(records), _COPY_CHUNK):
        await driver.copy_records_to_table(
            table.name, records=records[start : start + _COPY_CHUNK], columns=columns
        )
    # Autovacuum never analyses temporary tables: without statistics the planner guesses
    # their size and may pick nested loops over tens of thousands of staged features. An
    # identifier cannot be a bound parameter; the name is one of this module's tables.
    name = connection.dialect.identifier_preparer.quote(table.name)
    await session.execute(text("ANALYZE " + name))


def _placed(srid: int, repair: bool, only: int | None = None) -> Any:
    source = staging if only is None else select(staging).where(staging.c.idx == only).subquery()
    placed = placement(source, srid, repair=repair).subquery("placed")
    names = [c.name for c in checked.columns]
    return insert(checked).from_select(names, select(*(placed.c[n] for n in names)))


async def place_all(session: AsyncSession, srid: int, *, repair: bool) -> None:
    await session.execute(_placed(srid, repair))


async def place_one(session: AsyncSession, idx: int, srid: int, *, repair: bool) -> None:
    """The same statement for one row: finds which feature made PostGIS raise."""
    await session.execute(_placed(srid, repair, idx))


async def staged_indexes(session: AsyncSession) -> list[int]:
    return list((await session.scalars(select(staging.c.idx).order_by(staging.c.idx))).all())


async def placements(session: AsyncSession) -> Sequence[Any]:
    """What plots.geometry.judge needs; the geometries themselves stay in PostgreSQL."""
    cols = [c for c in checked.columns if c.name != "geom"]
    return (await session.execute(select(*cols).order_by(checked.c.idx))).all()


def _matched() -> ColumnElement[bool]:
    return and_(
        Plot.municipality_ags == _ags,
        Plot.external_id == staging.c.external_id,
        checked.c.idx == staging.c.idx,
    )


async def existing(session: AsyncSession) -> dict[int, PlotStatus]:
    """Status of the plots the staged features name, locked until the import commits."""
    stmt = (
        select(staging.c.idx, Plot.status)
        .select_from(staging)
        .join(checked, checked.c.idx == staging.c.idx)
        .join(Plot, _matched())
        .with_for_update(of=Plot)
    )
    return {row.idx: PlotStatus(row.status) for row in await session.execute(stmt)}


async def discard(session: AsyncSession, indexes: Iterable[int]) -> None:
    ids = bindparam("discarded", sorted(indexes), type_=ARRAY(Integer))
    await session.execute(delete(staging).where(staging.c.idx == func.any(ids)))


def _geometry_changed() -> ColumnElement[bool]:
    return func.ST_AsEWKB(Plot.geom) != func.ST_AsEWKB(checked.c.geom)


def _written(fields: frozenset[str] | None) -> tuple[str, ...]:
    """The attributes an import writes: all (replace), or only the pushed ones (merge)."""
    return ATTRIBUTES if fields is None else tuple(n for n in ATTRIBUTES if n in fields)


def _staged(name: str) -> ColumnElement[Any]:
    """The value a feature gives a property. A required property (NOT NULL) is staged NULL only
    when a merge left it out (new plots without it are refused before writing): keep the stored
    value."""
    column = Plot.__table__.c[name]
    return staging.c[name] if column.nullable else func.coalesce(staging.c[name], column)


def _changed(fields: frozenset[str] | None = None) -> ColumnElement[bool]:
    """Anything a PUT of the same feature would change (so identical features stay as they are);
    in a merge, anything among ``fields`` and the geometry."""
    status_changed = and_(staging.c.status.is_not(None), staging.c.status != Plot.status)
    attribute_changed = [Plot.__table__.c[n].is_distinct_from(_staged(n)) for n in _written(fields)]
    return or_(*attribute_changed, status_changed, _geometry_changed())


async def edited_elsewhere(
    session: AsyncSession, fields: frozenset[str] | None
) -> dict[int, tuple[int, int]]:
    """Staged features that would change a plot edited by other means since the last import
    wrote it: idx → (current version, version the last import left)."""
    stmt = (
        select(staging.c.idx, Plot.version, Plot.synced_version)
        .select_from(staging)
        .join(checked, checked.c.idx == staging.c.idx)
        .join(Plot, _matched())
        .where(
            Plot.synced_version.is_not(None),
            Plot.version != Plot.synced_version,
            _changed(fields),
        )
    )
    return {r.idx: (r.version, r.synced_version) for r in await session.execute(stmt)}


async def mark_synced(session: AsyncSession) -> None:
    """Unchanged plots now agree with the import: a later edit elsewhere is told apart."""
    await session.execute(
        update(Plot)
        .where(_matched(), Plot.synced_version.is_distinct_from(Plot.version))
        .values(synced_version=Plot.version)
    )


def _events(principal: AuthPrincipal, action: str, changed: Any, *, with_before: bool) -> Any:
    """INSERT INTO events from a data-modifying CTE that returns (id, after).

    The statement's snapshot predates the CTE's writes, so reading plots (alias ``old``) in the
    same statement yields each row as it was before: the ``before`` of the event.
    """
    old = Plot.__table__.alias("old")
    before: Any = cast(feature_expr(STORAGE_CRS, old), JSONB) if with_before else cast(None, JSONB)
    rows = select(
        literal(principal.org_id, Uuid),
        literal(principal.key_id, Uuid),
        literal("plot"),
        cast(changed.c.id, String),
        literal(action),
        before,
        cast(changed.c.after, JSONB),
    ).select_from(changed)
    if with_before:
        rows = rows.join(old, old.c.id == changed.c.id)
    names = [
        "actor_organization_id",
        "api_key_id",
        "entity_type",
        "entity_id",
        "action",
        "before",
        "after",
    ]
    # The plot ids come back so the caller can recompute their matches.
    return insert(Event).from_select(names, rows).returning(Event.entity_id)


async def _written_ids(session: AsyncSession, stmt: Any) -> list[uuid.UUID]:
    return [uuid.UUID(entity_id) for entity_id in await session.scalars(stmt)]


def _after() -> ColumnElement[Any]:
    return feature_expr(STORAGE_CRS).label("after")


def _new_status_values() -> dict[str, Any]:
    becomes_published = and_(
        staging.c.status == PlotStatus.published.value, Plot.status != PlotStatus.published
    )
    return {
        "status": func.coalesce(staging.c.status, Plot.status),
        "published_at": case((becomes_published, func.now()), else_=Plot.published_at),
    }


async def update_changed(
    session: AsyncSession, principal: AuthPrincipal, fields: frozenset[str] | None = None
) -> list[uuid.UUID]:
    """Replace every staged plot that differs from its stored row (in a merge: only
    ``fields`` and the geometry); one event each."""
    values: dict[str, Any] = {n: _staged(n) for n in _written(fields)}
    values |= _new_status_values()
    values |= {
        # Only a changed geometry is written, so unchanged ones keep their exact bytes.
        "geom": case((_geometry_changed(), checked.c.geom), else_=Plot.geom),
        "version": Plot.version + 1,
        "synced_version": Plot.version + 1,
        "updated_at": func.now(),
        # Whoever changes a plot has looked at it: that counts as a confirmation.
        "last_confirmed_at": func.now(),
    }
    changed = (
        update(Plot)
        .where(_matched(), _changed(fields))
        .values(values)
        .returning(Plot.id, _after())
        .cte("changed")
    )
    return await _written_ids(session, _events(principal, "update", changed, with_before=True))


async def insert_new(session: AsyncSession, principal: AuthPrincipal) -> list[uuid.UUID]:
    """Insert the staged plots that do not exist yet; one event each."""
    status = func.coalesce(staging.c.status, PlotStatus.draft.value)
    values: dict[str, Any] = {
        "id": func.gen_random_uuid(),
        "municipality_ags": _ags,
        "external_id": staging.c.external_id,
        **{n: staging.c[n] for n in ATTRIBUTES},
        "status": status,
        "published_at": case((status == PlotStatus.published.value, func.now())),
        "geom": checked.c.geom,
        "version": literal(1),
        "synced_version": literal(1),
    }
    new_rows = (
        select(*(expr.label(name) for name, expr in values.items()))
        .select_from(staging)
        .join(checked, checked.c.idx == staging.c.idx)
        .where(
            ~exists().where(
                Plot.municipality_ags == _ags, Plot.external_id == staging.c.external_id
            )
        )
        .subquery("new_rows")
    )
    stmt = insert(Plot).from_select(list(values), select(*(new_rows.c[name] for name in values)))
    created = (
        stmt.on_conflict_do_nothing(index_elements=[Plot.municipality_ags, Plot.external_id])
        .returning(Plot.id, _after())
        .cte("created")
    )
    return await _written_ids(session, _events(principal, "create", created, with_before=False))


async def withdraw_missing(
    session: AsyncSession, principal: AuthPrincipal, municipalities: Sequence[str]
) -> list[uuid.UUID]:
    """Withdraw the plots of ``municipalities`` that the sync no longer contains."""
    kept = exists().where(
        keep.c.external_id == Plot.external_id,
        or_(keep.c.ags.is_(None), keep.c.ags == Plot.municipality_ags),
    )
    ags = bindparam("pruned_ags", list(municipalities), type_=ARRAY(String))
    withdrawn = (
        update(Plot)
        .where(
            Plot.municipality_ags == func.any(ags),
            Plot.status != PlotStatus.withdrawn,
            ~kept,
        )
        .values(
            status=PlotStatus.withdrawn,
            version=Plot.version + 1,
            updated_at=func.now(),
            last_confirmed_at=func.now(),
        )
        .returning(Plot.id, _after())
        .cte("withdrawn")
    )
    return await _written_ids(session, _events(principal, "withdraw", withdrawn, with_before=True))
