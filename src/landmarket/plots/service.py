"""Plot use cases. Services raise AppErrors and only flush; the request owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.audit.repository import record
from landmarket.auth.principal import AuthPrincipal
from landmarket.core.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
)
from landmarket.core.pagination import (
    Page,
    as_int,
    decode_typed_cursor,
    decode_uuid_cursor,
    encode_cursor,
    keyset_tail,
)
from landmarket.core.versioning import check_if_match, etag
from landmarket.db.geo import Crs
from landmarket.matching.recompute import refresh_plots
from landmarket.plots import repository as repo
from landmarket.plots.geometry import (
    CheckedGeometry,
    check_geometry,
    check_structure,
    geometry_value,
)
from landmarket.plots.models import Plot, PlotStatus
from landmarket.plots.policy import (
    INITIAL_STATUSES,
    attribute_values,
    check_transition,
    forbidden,
    may_write,
    status_values,
)
from landmarket.plots.schemas import (
    EventRead,
    PlotAttributes,
    PlotCreate,
    PlotReplace,
    PlotUpdate,
)

ENTITY = "plot"


@dataclass(frozen=True)
class WriteResult:
    id: uuid.UUID
    feature: dict[str, Any]
    version: int
    created: bool = False
    changed: bool = True
    repaired: str | None = None


def _diff(plot: Plot, values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if getattr(plot, k) != v}


async def _writable(
    session: AsyncSession, principal: AuthPrincipal, plot_id: uuid.UUID, *, lock: bool = False
) -> Plot:
    plot = await repo.get_visible(session, principal, plot_id, lock=lock)
    if plot is None:
        raise NotFound(f"No plot {plot_id}")
    if not may_write(principal, plot.municipality_ags):
        raise forbidden(plot.municipality_ags)
    return plot


async def get_plot(
    session: AsyncSession, principal: AuthPrincipal | None, plot_id: uuid.UUID, crs: Crs
) -> tuple[dict[str, Any], int]:
    plot = await repo.get_visible(session, principal, plot_id)
    if plot is None:
        raise NotFound(f"No plot {plot_id}")
    feature = await repo.feature(session, plot_id, crs, private=repo.editable_by(principal))
    return feature, plot.version


async def list_plots(
    session: AsyncSession,
    principal: AuthPrincipal | None,
    filters: repo.PlotFilter,
    crs: Crs,
    *,
    cursor: str | None,
    limit: int,
) -> tuple[repo.FeaturePage, str | None]:
    after = decode_uuid_cursor(cursor)
    page = await repo.list_features(session, principal, filters, crs, after=after, limit=limit)
    next_cursor = encode_cursor(str(page.last_id)) if page.more and page.last_id else None
    return page, next_cursor


async def _insert(
    session: AsyncSession,
    principal: AuthPrincipal,
    props: PlotAttributes,
    external_id: str,
    checked: CheckedGeometry,
    crs_out: Crs,
    pointer: str,
) -> WriteResult | None:
    """Insert a new plot; None when (municipality, external_id) is taken (also by a
    concurrent insert that committed meanwhile)."""
    status = props.status or PlotStatus.draft
    if status not in INITIAL_STATUSES:
        raise ValidationFailed(
            f"A new plot starts as draft or published, not {status.value}",
            errors=[FieldError(pointer=f"{pointer}/status", detail="draft or published")],
        )
    values = attribute_values(props) | status_values(status)
    values |= {
        "external_id": external_id,
        "municipality_ags": checked.municipality_ags,
        "geom": geometry_value(checked.ewkb),
    }
    plot_id = await repo.insert_plot(session, values)
    if plot_id is None:
        return None
    feature, snapshot = await repo.feature_and_snapshot(session, plot_id, crs_out)
    await record(
        session,
        actor=principal,
        entity_type=ENTITY,
        entity_id=plot_id,
        action="create",
        before=None,
        after=snapshot,
    )
    await refresh_plots(session, [plot_id])  # matches commit with the plot
    return WriteResult(
        id=plot_id, feature=feature, version=1, created=True, repaired=checked.repaired
    )


async def create_plot(
    session: AsyncSession,
    principal: AuthPrincipal,
    body: PlotCreate,
    *,
    crs_in: Crs,
    crs_out: Crs,
    repair: bool,
    max_vertices: int,
) -> WriteResult:
    props = body.properties
    target = props.municipality_ags
    if target is None and not principal.is_admin and len(principal.editable_ags) == 1:
        (target,) = principal.editable_ags
    if target is not None and not may_write(principal, target):
        raise forbidden(target)
    checked = await check_geometry(
        session,
        body.geometry.model_dump(),
        crs_in,
        municipality_ags=target,
        repair=repair,
        max_vertices=max_vertices,
    )
    if not may_write(principal, checked.municipality_ags):
        raise forbidden(checked.municipality_ags)
    created = await _insert(
        session, principal, props, props.external_id, checked, crs_out, "/body/properties"
    )
    if created is None:
        raise Conflict(
            f"Municipality {checked.municipality_ags} already has a plot {props.external_id!r}; "
            "change it with PATCH or PUT /v1/municipalities/{ags}/plots/{external_id}",
            errors=[FieldError(pointer="/body/properties/external_id", detail="already exists")],
        )
    return created


async def _apply(
    session: AsyncSession,
    principal: AuthPrincipal,
    plot: Plot,
    expected_version: int,
    values: dict[str, Any],
    *,
    action: str,
    crs_out: Crs,
    repaired: str | None = None,
) -> WriteResult:
    """Write ``values`` if the row is still at ``expected_version``, and audit it."""
    before = await repo.feature(session, plot.id, repo.STORAGE_CRS)
    # Whoever changes a plot has looked at it: that counts as a confirmation.
    values = {**values, "last_confirmed_at": func.now()}
    try:
        async with session.begin_nested():
            version = await repo.update_plot(session, plot.id, expected_version, values)
    except IntegrityError as exc:
        raise Conflict(
            "Another plot of this municipality already has this external_id",
            errors=[FieldError(pointer="/body/properties/external_id", detail="already exists")],
        ) from exc
    if version is None:
        # Someone else wrote between our read and this compare-and-set; like a stale
        # If-Match, the answer carries the version to read next.
        current = await repo.current_version(session, plot.id)
        headers = {"ETag": etag(current)} if current is not None else None
        raise PreconditionFailed(
            "The plot was changed concurrently; read it again and retry", headers=headers
        )
    feature, after = await repo.feature_and_snapshot(session, plot.id, crs_out)
    await record(
        session,
        actor=principal,
        entity_type=ENTITY,
        entity_id=plot.id,
        action=action,
        before=before,
        after=after,
    )
    await refresh_plots(session, [plot.id])  # matches commit with the change
    return WriteResult(id=plot.id, feature=feature, version=version, repaired=repaired)


async def _unchanged(session: AsyncSession, plot: Plot, crs_out: Crs) -> WriteResult:
    feature = await repo.feature(session, plot.id, crs_out)
    return WriteResult(id=plot.id, feature=feature, version=plot.version, changed=False)


async def update_plot(
    session: AsyncSession,
    principal: AuthPrincipal,
    plot_id: uuid.UUID,
    body: PlotUpdate,
    *,
    if_match: str | None,
    crs_in: Crs,
    crs_out: Crs,
    repair: bool,
    max_vertices: int,
) -> WriteResult:
    plot = await _writable(session, principal, plot_id)
    if body.geometry is not None:
        # A malformed geometry is a bad request whatever the plot's version: 422 before 412.
        check_structure(
            body.geometry.model_dump(), crs_in, "/body/geometry", max_vertices=max_vertices
        )
    expected = check_if_match(if_match, plot.version, required=True, what="plot")
    sent = body.properties.model_dump(exclude_unset=True)
    ags = sent.pop("municipality_ags", plot.municipality_ags)
    if ags != plot.municipality_ags:
        raise ValidationFailed(
            "A plot cannot move to another municipality; withdraw it and create it there",
            errors=[
                FieldError(pointer="/body/properties/municipality_ags", detail="cannot change")
            ],
        )
    if "contact" in sent:
        contact = body.properties.contact
        sent["contact"] = contact.model_dump(exclude_none=True) if contact else None
    values = _diff(plot, sent)
    if "status" in values:
        new_status = PlotStatus(values.pop("status"))
        check_transition(plot.status, new_status, "/body/properties/status")
        values |= status_values(new_status)
    repaired = None
    if body.geometry is not None:
        checked = await check_geometry(
            session,
            body.geometry.model_dump(),
            crs_in,
            municipality_ags=plot.municipality_ags,
            repair=repair,
            max_vertices=max_vertices,
        )
        if checked.ewkb != await repo.stored_ewkb(session, plot.id):
            values["geom"] = geometry_value(checked.ewkb)
            repaired = checked.repaired
    if not values:
        return await _unchanged(session, plot, crs_out)
    return await _apply(
        session,
        principal,
        plot,
        expected,
        values,
        action="update",
        crs_out=crs_out,
        repaired=repaired,
    )


async def change_status(
    session: AsyncSession,
    principal: AuthPrincipal,
    plot_id: uuid.UUID,
    new: PlotStatus,
    *,
    if_match: str | None,
    crs_out: Crs,
    action: str = "status",
) -> WriteResult:
    # Without If-Match the change applies to whatever the plot is now: locked first, so a
    # concurrent write makes it wait rather than fail the compare-and-set (see upsert_plot).
    unconditional = if_match is None or not if_match.strip()
    plot = await _writable(session, principal, plot_id, lock=unconditional)
    expected = check_if_match(if_match, plot.version, required=False, what="plot")
    if plot.status is new:
        return await _unchanged(session, plot, crs_out)
    check_transition(plot.status, new, "/body/status")
    return await _apply(
        session, principal, plot, expected, status_values(new), action=action, crs_out=crs_out
    )


async def confirm_plot(
    session: AsyncSession, principal: AuthPrincipal, plot_id: uuid.UUID, *, crs_out: Crs
) -> WriteResult:
    """The municipality vouches that the plot is still current. The version stays: the
    plot's data did not change, so clients' ETags stay valid."""
    plot = await _writable(session, principal, plot_id)
    before = await repo.feature(session, plot.id, repo.STORAGE_CRS)
    await repo.touch_confirmed(session, plot.id)
    feature, after = await repo.feature_and_snapshot(session, plot.id, crs_out)
    await record(
        session,
        actor=principal,
        entity_type=ENTITY,
        entity_id=plot.id,
        action="confirm",
        before=before,
        after=after,
    )
    return WriteResult(id=plot.id, feature=feature, version=plot.version)


async def upsert_plot(
    session: AsyncSession,
    principal: AuthPrincipal,
    ags: str,
    external_id: str,
    body: PlotReplace,
    *,
    if_match: str | None,
    crs_in: Crs,
    crs_out: Crs,
    repair: bool,
    max_vertices: int,
) -> WriteResult:
    props = body.properties
    if not may_write(principal, ags):
        raise forbidden(ags)
    errors = []
    if props.municipality_ags not in (None, ags):
        errors.append(
            FieldError(pointer="/body/properties/municipality_ags", detail=f"must be {ags}")
        )
    if props.external_id not in (None, external_id):
        errors.append(
            FieldError(pointer="/body/properties/external_id", detail=f"must be {external_id}")
        )
    if errors:
        raise ValidationFailed("The body names another plot than the path", errors=errors)
    checked = await check_geometry(
        session,
        body.geometry.model_dump(),
        crs_in,
        municipality_ags=ags,
        repair=repair,
        max_vertices=max_vertices,
        ags_pointer="/path/ags",
    )
    # Without If-Match a PUT is last-writer-wins (RFC 9110 §9.3.4: the body replaces the
    # state): the row is locked before it is compared, so concurrent PUTs queue and each
    # applies in turn rather than losing a compare-and-set (412), and a concurrent create
    # of the same new id turns this PUT into an update rather than a 409. With If-Match the
    # compare-and-set on the version decides, as for every conditional write.
    unconditional = if_match is None or not if_match.strip()
    plot = await repo.get_by_external_id(session, ags, external_id, lock=unconditional)
    if plot is None:
        if not unconditional:
            # RFC 9110 §13.1.1: If-Match never matches a resource that does not exist.
            raise PreconditionFailed(f"Municipality {ags} has no plot {external_id!r}")
        created = await _insert(
            session, principal, props, external_id, checked, crs_out, "/body/properties"
        )
        if created is not None:
            return created
        # Created concurrently and committed since our read: now it is an update.
        plot = await repo.get_by_external_id(session, ags, external_id, lock=True)
        if plot is None:  # created and deleted again in between: plots are never deleted
            raise Conflict(f"Municipality {ags}'s plot {external_id!r} changed concurrently")
    expected = check_if_match(if_match, plot.version, required=False, what="plot")
    values = _diff(plot, attribute_values(props))
    if props.status is not None and props.status is not plot.status:
        check_transition(plot.status, props.status, "/body/properties/status")
        values |= status_values(props.status)
    if checked.ewkb != await repo.stored_ewkb(session, plot.id):
        values["geom"] = geometry_value(checked.ewkb)
    if not values:
        return await _unchanged(session, plot, crs_out)
    return await _apply(
        session,
        principal,
        plot,
        expected,
        values,
        action="update",
        crs_out=crs_out,
        repaired=checked.repaired,
    )


async def plot_history(
    session: AsyncSession,
    principal: AuthPrincipal,
    plot_id: uuid.UUID,
    *,
    cursor: str | None,
    limit: int,
) -> Page[EventRead]:
    plot = await repo.get_visible(session, principal, plot_id)
    if plot is None:
        raise NotFound(f"No plot {plot_id}")
    if not may_write(principal, plot.municipality_ags):
        raise Forbidden("Only the plot's municipality and admins may read its history")
    after_id = None if cursor is None else decode_typed_cursor(cursor, as_int)[0]
    events = list(await repo.history(session, plot_id, after_id=after_id, limit=limit))
    page, next_cursor = keyset_tail(events, limit, lambda e: (e.id,))
    return Page[EventRead](
        items=[EventRead.model_validate(e) for e in page], next_cursor=next_cursor
    )
