"""Requirement use cases. Services raise AppErrors and only flush; the request owns the
transaction, so a requirement and its recomputed matches commit together."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.audit.repository import record
from landmarket.auth.principal import AuthPrincipal
from landmarket.core.errors import FieldError, NotFound, PreconditionFailed, ValidationFailed
from landmarket.core.pagination import Page, decode_uuid_cursor, keyset_tail
from landmarket.core.versioning import check_if_match
from landmarket.db.geo import AXIS_ORDER_HINT
from landmarket.matching.recompute import refresh_requirement
from landmarket.requirements import repository as repo
from landmarket.requirements.models import Requirement, RequirementStatus
from landmarket.requirements.schemas import (
    Location,
    LocationRead,
    MustRead,
    RequirementCreate,
    RequirementRead,
    RequirementUpdate,
    WeightsRead,
)

ENTITY = "requirement"
MUST_FIELDS = (
    "fibre",
    "rail_siding",
    "developed",
    "no_contamination",
    "max_transit_stop_distance_m",
    "max_motorway_distance_km",
)
WEIGHT_FIELDS = ("area", "distance", "price", "availability", "infrastructure", "reactivation")
_PLAIN = (
    "title",
    "description",
    "area_min_m2",
    "area_max_m2",
    "emission_class",
    "tenure",
    "max_price_eur_per_m2",
    "max_rent_eur_per_m2_month",
    "needed_by",
    "sector_nace",
    "jobs",
    "share_identity",
    "status",
)


def to_read(stored: repo.Stored) -> RequirementRead:
    r = stored.requirement
    return RequirementRead.model_validate(
        {
            **{name: getattr(r, name) for name in (*_PLAIN, "id", "company_id", "home_ags")},
            "zonings": r.zonings,
            "version": r.version,
            "created_at": r.created_at,
            "updated_at": r.updated_at,
            "location": LocationRead(
                anchor=stored.anchor,
                max_distance_km=r.max_distance_km,
                municipalities=r.municipalities,
                area=stored.area,
            ),
            "must": MustRead(**{f: getattr(r, f"must_{f}") for f in MUST_FIELDS}),
            "weights": WeightsRead(**{f: getattr(r, f"weight_{f}") for f in WEIGHT_FIELDS}),
        }
    )


def _snapshot(read: RequirementRead) -> dict[str, Any]:
    return read.model_dump(mode="json")


async def _validate(session: AsyncSession, body: RequirementCreate) -> None:
    """Rules across fields and against the database; every problem at once, with pointers."""
    errors: list[FieldError] = []
    if body.area_min_m2 > body.area_max_m2:
        errors.append(
            FieldError(pointer="/body/area_max_m2", detail="must be at least area_min_m2")
        )
    loc = body.location
    if loc.anchor is not None and loc.max_distance_km is None:
        errors.append(
            FieldError(pointer="/body/location/max_distance_km", detail="required with anchor")
        )
    if loc.max_distance_km is not None and loc.anchor is None:
        errors.append(
            FieldError(pointer="/body/location/anchor", detail="required with max_distance_km")
        )
    if loc.municipalities:
        unknown = await repo.unknown_municipalities(session, loc.municipalities)
        errors += [
            FieldError(pointer=f"/body/location/municipalities/{i}", detail="no such municipality")
            for i, ags in enumerate(loc.municipalities)
            if ags in unknown
        ]
    if loc.area is not None:
        check = await repo.check_area(session, loc.area.model_dump())
        if not check.valid:
            errors.append(FieldError(pointer="/body/location/area", detail=check.reason))
        elif check.area_m2 <= 0:
            errors.append(FieldError(pointer="/body/location/area", detail="the area is 0"))
    if errors:
        raise ValidationFailed("The requirement is not consistent", errors=errors)


async def _check_reach(session: AsyncSession, location: Location, sent: Iterable[str]) -> None:
    """The anchor (with its radius) and the area, where ``sent``, must reach a known
    municipality: one that reaches none matches nothing, silently, and is most often a point
    with lon/lat swapped ([50.1, 8.7] is in Somalia). Refused like plot writes. Any known
    municipality, not only the home regions': a search with a location crosses region
    borders (docs/matching.md, rule 7)."""
    checks: list[tuple[str, dict[str, Any], float]] = []
    if location.anchor is not None and {"anchor", "max_distance_km"} & set(sent):
        radius_m = (location.max_distance_km or 0.0) * 1000.0
        checks.append(("anchor", location.anchor.model_dump(), radius_m))
    if location.area is not None and "area" in sent:
        checks.append(("area", location.area.model_dump(), 0.0))
    errors = [
        FieldError(
            pointer=f"/body/location/{name}",
            detail="lies outside every municipality"
            + (" even with max_distance_km" if name == "anchor" else "")
            + f"; {AXIS_ORDER_HINT}",
        )
        for name, geojson, within_m in checks
        if not await repo.reaches_a_municipality(
            session, geojson, f"{name}_geojson", within_m=within_m
        )
    ]
    if errors:
        raise ValidationFailed(
            "The requirement's location lies outside every municipality: it could match no plot",
            errors=errors,
        )


LOCATION_GEOMETRY = ("anchor", "max_distance_km", "area")


def column_values(body: RequirementCreate, *, geometry: bool) -> dict[str, Any]:
    """Column values for the whole requirement; geometry columns only when asked for."""
    values: dict[str, Any] = {name: getattr(body, name) for name in _PLAIN}
    values["zonings"] = (
        sorted({z.value for z in body.zonings}) if body.zonings is not None else None
    )
    loc = body.location
    values["max_distance_km"] = loc.max_distance_km
    values["municipalities"] = sorted(set(loc.municipalities)) if loc.municipalities else None
    if geometry:
        values["anchor"] = (
            repo.geometry_in(loc.anchor.model_dump(), "anchor_geojson", multi=False)
            if loc.anchor
            else None
        )
        values["area"] = (
            repo.geometry_in(loc.area.model_dump(), "area_geojson", multi=True)
            if loc.area
            else None
        )
    values |= {f"must_{f}": getattr(body.must, f) for f in MUST_FIELDS}
    values |= {f"weight_{f}": getattr(body.weights, f) for f in WEIGHT_FIELDS}
    return values


@dataclass(frozen=True)
class WriteResult:
    requirement: RequirementRead
    created: bool = False


async def _read(session: AsyncSession, principal: AuthPrincipal, rid: uuid.UUID) -> RequirementRead:
    stored = await repo.get_visible(session, principal, rid)
    if stored is None:
        raise NotFound(f"No requirement {rid}")
    return to_read(stored)


async def create(
    session: AsyncSession, principal: AuthPrincipal, body: RequirementCreate
) -> WriteResult:
    await _validate(session, body)
    await _check_reach(session, body.location, LOCATION_GEOMETRY)
    values = column_values(body, geometry=True)
    values |= {"company_id": principal.org_id, "home_ags": principal.home_ags}
    rid = await repo.insert_requirement(session, values)
    await refresh_requirement(session, rid)
    read = await _read(session, principal, rid)
    await record(
        session,
        actor=principal,
        entity_type=ENTITY,
        entity_id=rid,
        action="create",
        before=None,
        after=_snapshot(read),
    )
    return WriteResult(requirement=read, created=True)


async def get(session: AsyncSession, principal: AuthPrincipal, rid: uuid.UUID) -> RequirementRead:
    return await _read(session, principal, rid)


async def list_requirements(
    session: AsyncSession,
    principal: AuthPrincipal,
    *,
    status: list[RequirementStatus],
    cursor: str | None,
    limit: int,
) -> Page[RequirementRead]:
    after = decode_uuid_cursor(cursor)
    rows = await repo.list_visible(session, principal, status=status, after=after, limit=limit)
    page, next_cursor = keyset_tail(rows, limit, lambda r: (str(r.requirement.id),))
    return Page[RequirementRead](items=[to_read(r) for r in page], next_cursor=next_cursor)


def _merged(current: RequirementRead, patch: RequirementUpdate) -> RequirementCreate:
    """The requirement as it would be after the patch, validated like a create."""
    data = current.model_dump(
        include={*_PLAIN, "zonings", "location", "must", "weights"}, mode="json"
    )
    sent = patch.model_dump(exclude_unset=True, mode="json")
    for nested in ("location", "must", "weights"):
        if nested in sent:
            data[nested] = {**data[nested], **sent.pop(nested)}
    data.update(sent)
    data["location"] = {k: v for k, v in data["location"].items() if v is not None}
    return RequirementCreate.model_validate(data)


def _changed(r: Requirement, values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if getattr(r, k) != v}


async def _apply(
    session: AsyncSession,
    principal: AuthPrincipal,
    stored: repo.Stored,
    expected: int,
    values: dict[str, Any],
    action: str,
) -> WriteResult:
    rid = stored.requirement.id
    before = _snapshot(to_read(stored))
    if await repo.update_requirement(session, rid, expected, values) is None:
        raise PreconditionFailed("The requirement was changed concurrently; read it and retry")
    await refresh_requirement(session, rid)
    read = await _read(session, principal, rid)
    await record(
        session,
        actor=principal,
        entity_type=ENTITY,
        entity_id=rid,
        action=action,
        before=before,
        after=_snapshot(read),
    )
    return WriteResult(requirement=read)


async def update(
    session: AsyncSession,
    principal: AuthPrincipal,
    rid: uuid.UUID,
    patch: RequirementUpdate,
    *,
    if_match: str | None,
) -> WriteResult:
    stored = await repo.get_visible(session, principal, rid, lock=True)
    if stored is None:
        raise NotFound(f"No requirement {rid}")
    expected = check_if_match(
        if_match, stored.requirement.version, required=True, what="requirement"
    )
    current = to_read(stored)
    merged = _merged(current, patch)
    await _validate(session, merged)
    loc_sent = patch.location.model_fields_set if patch.location else set()
    # Only what this update sends: a stored location stays acceptable when regions change.
    await _check_reach(session, merged.location, loc_sent)
    values = _changed(stored.requirement, column_values(merged, geometry=False))
    geometry = column_values(merged, geometry=True)
    # Geometry columns change only when sent and different from what a read returns.
    for name in ("anchor", "area"):
        sent = getattr(merged.location, name)
        if name in loc_sent and (sent.model_dump() if sent else None) != getattr(
            current.location, name
        ):
            values[name] = geometry[name]
    if not values:
        return WriteResult(requirement=current)
    return await _apply(session, principal, stored, expected, values, "update")


async def withdraw(
    session: AsyncSession, principal: AuthPrincipal, rid: uuid.UUID, *, if_match: str | None
) -> int:
    stored = await repo.get_visible(session, principal, rid, lock=True)
    if stored is None:
        raise NotFound(f"No requirement {rid}")
    expected = check_if_match(
        if_match, stored.requirement.version, required=False, what="requirement"
    )
    if stored.requirement.status is RequirementStatus.withdrawn:
        return stored.requirement.version
    result = await _apply(
        session, principal, stored, expected, {"status": RequirementStatus.withdrawn}, "withdraw"
    )
    return result.requirement.version
