"""Matching use cases. Recomputation is set-based SQL (matching.repository); services only
flush, so matches commit or roll back with the write that caused them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.audit.repository import record
from landmarket.auth.principal import AuthPrincipal
from landmarket.core.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from landmarket.core.pagination import (
    Page,
    as_uuid,
    decode_typed_cursor,
    decode_uuid_cursor,
    encode_cursor,
    keyset_tail,
)
from landmarket.matching import outbox
from landmarket.matching import repository as repo
from landmarket.matching.models import Match, MatchState
from landmarket.matching.schemas import (
    CompanyIdentity,
    DemandRead,
    InquiryRead,
    InquiryUpdate,
    MatchStateChange,
    MatchStateRead,
    RequirementSummary,
)
from landmarket.requirements.models import Requirement

ENTITY = "match"
COMPANY_STATES = frozenset({MatchState.suggested, MatchState.shortlisted, MatchState.dismissed})
INQUIRY_NEXT = {
    MatchState.interest_expressed: frozenset({MatchState.in_contact, MatchState.closed}),
    MatchState.in_contact: frozenset({MatchState.closed}),
    MatchState.closed: frozenset(),
}


def _after(cursor: str | None) -> tuple[float, uuid.UUID] | None:
    if cursor is None:
        return None
    score, key = decode_typed_cursor(cursor, float, as_uuid)
    return score, key


async def _requirement(
    session: AsyncSession, principal: AuthPrincipal, rid: uuid.UUID
) -> Requirement:
    requirement = await repo.visible_requirement(session, principal, rid)
    if requirement is None:
        raise NotFound(f"No requirement {rid}")
    return requirement


async def list_matches(
    session: AsyncSession,
    principal: AuthPrincipal,
    rid: uuid.UUID,
    filters: repo.MatchFilter,
    *,
    geojson: bool,
    cursor: str | None,
    limit: int,
) -> tuple[repo.JsonPage, str | None]:
    await _requirement(session, principal, rid)
    page = await repo.list_matches(
        session, rid, filters, geojson=geojson, after=_after(cursor), limit=limit
    )
    if page.more and page.last:
        return page, encode_cursor(page.last[0], str(page.last[1]))
    return page, None


def _state_read(m: Match) -> MatchStateRead:
    return MatchStateRead.model_validate(m)


def _state_snapshot(m: Match) -> dict[str, Any]:
    return {
        "requirement_id": str(m.requirement_id),
        "plot_id": str(m.plot_id),
        "state": m.state.value,
        "message": m.message,
        "contact": m.contact,
        "outcome": m.outcome.value if m.outcome else None,
        "note": m.note,
    }


async def change_state(
    session: AsyncSession,
    principal: AuthPrincipal,
    rid: uuid.UUID,
    plot_id: uuid.UUID,
    body: MatchStateChange,
) -> MatchStateRead:
    await _requirement(session, principal, rid)
    match = await repo.get_match(session, rid, plot_id)
    if match is None:
        raise NotFound(f"Plot {plot_id} is not a match of requirement {rid}")
    new = MatchState(body.state)
    if new is match.state:
        return _state_read(match)
    if match.state not in COMPANY_STATES:
        raise Conflict(
            f"Interest was already expressed (the inquiry is {match.state.value}); "
            "the municipality now handles it",
            errors=[FieldError(pointer="/body/state", detail=f"match is {match.state.value}")],
        )
    values: dict[str, Any] = {"state": new}
    if new is MatchState.interest_expressed:
        if match.stale:
            raise Conflict(
                "The plot no longer matches this requirement",
                errors=[FieldError(pointer="/body/state", detail="match is stale")],
            )
        values |= {
            "message": body.message,
            "contact": body.contact.model_dump(exclude_none=True) if body.contact else None,
            "interest_at": func.now(),
        }
    elif body.message is not None or body.contact is not None:
        raise ValidationFailed(
            "A message and contact go with interest_expressed only",
            errors=[
                FieldError(pointer=f"/body/{name}", detail="only with interest_expressed")
                for name in ("message", "contact")
                if getattr(body, name) is not None
            ],
        )
    before = _state_snapshot(match)
    await repo.set_state(session, match.id, values)
    updated = await repo.get_match(session, rid, plot_id)
    assert updated is not None
    await record(
        session,
        actor=principal,
        entity_type=ENTITY,
        entity_id=match.id,
        action="interest" if new is MatchState.interest_expressed else "state",
        before=before,
        after=_state_snapshot(updated),
    )
    if new is MatchState.interest_expressed:
        await outbox.inquiry_created(session, match.id)  # commits with the interest
    return _state_read(updated)


def _revealed(match: Match, requirement: Requirement) -> bool:
    return requirement.share_identity or match.state in repo.INQUIRY_STATES


def _identity(match: Match, company_name: str) -> CompanyIdentity:
    if match.state not in repo.INQUIRY_STATES:
        return CompanyIdentity(name=company_name)
    return CompanyIdentity.model_validate(
        {
            "name": company_name,
            "contact": match.contact,
            "message": match.message,
            "inquiry_id": match.id,
        }
    )


async def demand(
    session: AsyncSession,
    principal: AuthPrincipal,
    plot_id: uuid.UUID,
    *,
    cursor: str | None,
    limit: int,
) -> Page[DemandRead]:
    plot = await repo.visible_plot(session, principal, plot_id)
    if plot is None:
        raise NotFound(f"No plot {plot_id}")
    if not (principal.is_admin or principal.may_edit(plot.municipality_ags)):
        raise Forbidden("Only the plot's municipality and admins see the demand for it")
    probe = await repo.demand(session, plot_id, after=_after(cursor), limit=limit)
    rows, next_cursor = keyset_tail(probe, limit, lambda r: (r.match.score, str(r.match.id)))
    items = [
        DemandRead(
            score=row.match.score,
            area_min_m2=row.requirement.area_min_m2,
            area_max_m2=row.requirement.area_max_m2,
            emission_class=row.requirement.emission_class,
            sector_nace=row.requirement.sector_nace,
            needed_by=row.requirement.needed_by,
            cross_border=row.match.cross_border,
            company=_identity(row.match, row.company_name)
            if _revealed(row.match, row.requirement)
            else None,
        )
        for row in rows
    ]
    return Page[DemandRead](items=items, next_cursor=next_cursor)


def _scope(principal: AuthPrincipal) -> frozenset[str] | None:
    return None if principal.is_admin else principal.editable_ags


def _inquiry(row: repo.InquiryRow) -> InquiryRead:
    m, r = row.match, row.requirement
    return InquiryRead(
        id=m.id,
        plot_id=row.plot.id,
        plot_title=row.plot.title,
        municipality_ags=row.plot.municipality_ags,
        company=_identity(m, row.company_name),
        requirement=RequirementSummary.model_validate(r),
        score=m.score,
        cross_border=m.cross_border,
        stale=m.stale,
        state=m.state,
        outcome=m.outcome,
        note=m.note,
        interest_at=m.interest_at,
        state_changed_at=m.state_changed_at,
    )


async def list_inquiries(
    session: AsyncSession,
    principal: AuthPrincipal,
    *,
    states: Sequence[MatchState],
    cursor: str | None,
    limit: int,
) -> Page[InquiryRead]:
    after = decode_uuid_cursor(cursor)
    probe = await repo.inquiries(
        session, _scope(principal), states=states, after=after, limit=limit
    )
    rows, next_cursor = keyset_tail(probe, limit, lambda r: (str(r.match.id),))
    return Page[InquiryRead](items=[_inquiry(r) for r in rows], next_cursor=next_cursor)


async def update_inquiry(
    session: AsyncSession, principal: AuthPrincipal, inquiry_id: uuid.UUID, body: InquiryUpdate
) -> InquiryRead:
    row = await repo.inquiry(session, _scope(principal), inquiry_id)
    if row is None:
        raise NotFound(f"No inquiry {inquiry_id}")
    new = MatchState(body.state)
    if new is MatchState.closed and body.outcome is None:
        raise ValidationFailed(
            "Closing an inquiry needs its outcome",
            errors=[FieldError(pointer="/body/outcome", detail="required with closed")],
        )
    if new is not MatchState.closed and body.outcome is not None:
        raise ValidationFailed(
            "An outcome goes with closed only",
            errors=[FieldError(pointer="/body/outcome", detail="only with closed")],
        )
    current = row.match.state
    if new is current and body.outcome == row.match.outcome and body.note in (None, row.match.note):
        return _inquiry(row)
    if new not in INQUIRY_NEXT[current]:
        raise Conflict(
            f"An inquiry cannot go from {current.value} to {new.value}",
            errors=[FieldError(pointer="/body/state", detail=f"inquiry is {current.value}")],
        )
    before = _state_snapshot(row.match)
    values: dict[str, Any] = {"state": new, "outcome": body.outcome}
    if body.note is not None:
        values["note"] = body.note
    await repo.set_state(session, row.match.id, values)
    updated = await repo.inquiry(session, _scope(principal), inquiry_id)
    assert updated is not None
    await record(
        session,
        actor=principal,
        entity_type=ENTITY,
        entity_id=inquiry_id,
        action="inquiry",
        before=before,
        after=_state_snapshot(updated.match),
    )
    return _inquiry(updated)
