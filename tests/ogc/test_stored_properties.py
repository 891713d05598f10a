"""A plot's public properties object is stored by a trigger (migration 0009): it must equal the
object built from the columns for every plot, after inserts, updates of any column and a
geometry change, so the OGC pages read what the columns say."""

from __future__ import annotations

from typing import Any

from sqlalchemy import cast, func, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.ogc import repository
from landmarket.ogc.collections import COLLECTIONS
from landmarket.plots.models import Plot
from tests.ogc.conftest import OgcWorld

PLOTS = COLLECTIONS["plots"]


async def differing(session: AsyncSession) -> list[Any]:
    """Ids of plots whose stored object differs from the one built from their columns."""
    stored = cast(Plot.public_properties, JSONB)
    built = cast(repository.built_properties(PLOTS), JSONB)
    rows = await session.execute(select(Plot.id).where(stored.is_distinct_from(built)))
    return list(rows.scalars())


async def test_the_stored_object_holds_every_public_property(
    session: AsyncSession, ogc_world: OgcWorld
) -> None:
    keys = await session.scalars(
        select(func.jsonb_object_keys(cast(Plot.public_properties, JSONB))).distinct()
    )
    assert set(keys) == set(PLOTS.properties)
    assert await differing(session) == []


async def test_updates_of_any_kind_keep_it_current(
    session: AsyncSession, ogc_world: OgcWorld
) -> None:
    await session.execute(
        update(Plot)
        .where(Plot.external_id == "p-001")
        .values(title="Neuer Titel", price_eur_per_m2=None, parcel_ids=["1", "2"])
    )
    # A new geometry changes area_m2, a generated column the trigger computes for itself.
    await session.execute(
        update(Plot)
        .where(Plot.external_id == "p-002")
        .values(geom=func.ST_Multi(func.ST_Buffer(Plot.geom, 10)))
    )
    await session.execute(text("UPDATE plots SET updated_at = now(), published_at = now()"))
    assert await differing(session) == []
    changed = await session.scalar(
        select(Plot.public_properties).where(Plot.external_id == "p-001")
    )
    assert changed["title"] == "Neuer Titel" and changed["price_eur_per_m2"] is None
    assert changed["parcel_ids"] == ["1", "2"]


async def test_it_cannot_be_written_around_the_trigger(
    session: AsyncSession, ogc_world: OgcWorld
) -> None:
    await session.execute(
        update(Plot).where(Plot.external_id == "p-003").values(public_properties={"forged": 1})
    )
    assert await differing(session) == []
