"""Matching's webhook events: turning what one recompute changed (and an expressed interest)
into outbox rows, inside the statement that made the change (``webhooks.emit.fan_out``)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import (
    CTE,
    Boolean,
    ColumnElement,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from landmarket.auth.models import Organization, OrgKind, organization_municipalities
from landmarket.matching.models import Match, MatchState
from landmarket.municipalities.models import Municipality
from landmarket.plots.models import Plot, PlotStatus
from landmarket.requirements.models import Requirement, RequirementStatus
from landmarket.webhooks.emit import fan_out
from landmarket.webhooks.events import MATERIAL_SCORE_CHANGE, EventType

# What matching.repository.recompute returns from its data-modifying CTEs, so the changes
# can be turned into events inside the same statement (old rows are still visible there).
UPSERT_RETURNING = (
    Match.requirement_id,
    Match.score,
    Match.cross_border,
    Match.partial,
    Match.state,
    # xmax is 0 only for a row this INSERT ... ON CONFLICT created.
    literal_column("xmax = 0", Boolean).label("inserted"),
)
GONE_RETURNING = (
    Match.requirement_id,
    Match.score,
    Match.cross_border,
    Match.partial,
    Match.state,
)
ACTED_ON = (MatchState.shortlisted, MatchState.interest_expressed, MatchState.in_contact)
INQUIRY_STATES = (MatchState.interest_expressed, MatchState.in_contact, MatchState.closed)


def _plot_summary() -> ColumnElement[Any]:
    return func.jsonb_build_object(
        "id", Plot.id,
        "title", Plot.title,
        "municipality_ags", Plot.municipality_ags,
        "municipality_name", Municipality.name,
        "area_m2", Plot.area_m2,
        "category", Plot.category,
        "zoning", Plot.zoning,
        "tenure", Plot.tenure,
        "price_eur_per_m2", Plot.price_eur_per_m2,
        "rent_eur_per_m2_month", Plot.rent_eur_per_m2_month,
        "available_from", Plot.available_from,
        "status", Plot.status,
    )  # fmt: skip


def _municipality_recipients() -> Any:
    """Join target: the municipality organisations that edit the plot's municipality."""
    return organization_municipalities.join(
        Organization,
        and_(
            Organization.id == organization_municipalities.c.organization_id,
            Organization.kind == OrgKind.municipality,
        ),
    )


def match_changes(upserted: CTE, removed: CTE, staled: CTE) -> CTE:
    """Events for what one recompute changed; the CTEs carry UPSERT/GONE_RETURNING.

    created: a new pair, or a stale one matching again (company: match.created; the plot's
    municipality: demand.matched, anonymised); updated: a score moved by
    MATERIAL_SCORE_CHANGE or more; gone: the pair stopped matching (plot.withdrawn when the
    plot was withdrawn and the company had acted on it, else match.updated). Pairs the
    company dismissed and requirements that are not open (the company's own doing) are quiet.
    """
    old = aliased(Match, name="old")
    prior = and_(old.requirement_id == upserted.c.requirement_id, old.plot_id == upserted.c.plot_id)
    created = (
        select(
            upserted.c.requirement_id,
            upserted.c.plot_id,
            upserted.c.score,
            upserted.c.cross_border,
            upserted.c.partial,
            upserted.c.state,
            literal("created").label("kind"),
            null().label("previous_score"),
        )
        .outerjoin(old, prior)
        .where(or_(upserted.c.inserted, old.stale.is_(True)))
    )
    rescored = (
        select(
            upserted.c.requirement_id,
            upserted.c.plot_id,
            upserted.c.score,
            upserted.c.cross_border,
            upserted.c.partial,
            upserted.c.state,
            literal("updated").label("kind"),
            old.score.label("previous_score"),
        )
        .join(old, prior)
        .where(
            ~upserted.c.inserted,
            ~old.stale,
            func.abs(upserted.c.score - old.score) >= MATERIAL_SCORE_CHANGE,
        )
    )
    gone = [
        select(
            cte.c.requirement_id,
            cte.c.plot_id,
            cte.c.score,
            cte.c.cross_border,
            cte.c.partial,
            cte.c.state,
            literal("gone").label("kind"),
            cte.c.score.label("previous_score"),
        )
        for cte in (removed, staled)
    ]
    changes = union_all(created, rescored, *gone).cte("match_changes")
    return fan_out(union_all(_company_events(changes), _demand_events(changes)))


def _company_events(changes: CTE) -> Select[Any]:
    withdrawn = and_(
        changes.c.kind == "gone",
        Plot.status == PlotStatus.withdrawn,
        changes.c.state.in_([s.value for s in ACTED_ON]),
    )
    type_ = case(
        (changes.c.kind == "created", EventType.match_created.value),
        (withdrawn, EventType.plot_withdrawn.value),
        else_=EventType.match_updated.value,
    )
    payload = func.jsonb_build_object(
        "requirement_id", changes.c.requirement_id,
        "plot_id", changes.c.plot_id,
        "score", changes.c.score,
        "previous_score", changes.c.previous_score,
        "matching", changes.c.kind != "gone",
        "partial", changes.c.partial,
        "cross_border", changes.c.cross_border,
        "state", changes.c.state,
        "plot", _plot_summary(),
    )  # fmt: skip
    return (
        select(
            Requirement.company_id.label("organization_id"),
            cast(type_, String).label("type"),
            payload.label("payload"),
            Requirement.id.label("requirement_id"),
        )
        .select_from(changes)
        .join(Requirement, Requirement.id == changes.c.requirement_id)
        .join(Plot, Plot.id == changes.c.plot_id)
        .join(Municipality, Municipality.ags == Plot.municipality_ags)
        .where(
            Requirement.status == RequirementStatus.open,
            changes.c.state != MatchState.dismissed.value,
        )
    )


def _demand_events(changes: CTE) -> Select[Any]:
    """As in GET /v1/plots/{id}/demand: no requirement id, title or company id, ever; the
    company's name only when it chose to share it (or already expressed interest)."""
    company = aliased(Organization, name="company")
    revealed = or_(
        Requirement.share_identity, changes.c.state.in_([s.value for s in INQUIRY_STATES])
    )
    payload = func.jsonb_build_object(
        "plot_id", changes.c.plot_id,
        "score", changes.c.score,
        "area_min_m2", Requirement.area_min_m2,
        "area_max_m2", Requirement.area_max_m2,
        "emission_class", Requirement.emission_class,
        "sector_nace", Requirement.sector_nace,
        "needed_by", Requirement.needed_by,
        "cross_border", changes.c.cross_border,
        "company", case((revealed, func.jsonb_build_object("name", company.name)), else_=null()),
    )  # fmt: skip
    return (
        select(
            Organization.id.label("organization_id"),
            literal(EventType.demand_matched.value, String).label("type"),
            payload.label("payload"),
            Requirement.id.label("requirement_id"),
        )
        .select_from(changes)
        .join(Requirement, Requirement.id == changes.c.requirement_id)
        .join(company, company.id == Requirement.company_id)
        .join(Plot, Plot.id == changes.c.plot_id)
        .join(
            _municipality_recipients(),
            organization_municipalities.c.ags == Plot.municipality_ags,
        )
        .where(changes.c.kind == "created", Requirement.status == RequirementStatus.open)
    )


async def inquiry_created(session: AsyncSession, match_id: uuid.UUID) -> None:
    """inquiry.created for the plot's municipality: what GET /v1/inquiries/{id} shows it."""
    company = aliased(Organization, name="company")
    payload = func.jsonb_build_object(
        "inquiry_id", Match.id,
        "plot_id", Plot.id,
        "plot_title", Plot.title,
        "municipality_ags", Plot.municipality_ags,
        "score", Match.score,
        "cross_border", Match.cross_border,
        "company", func.jsonb_build_object(
            "name", company.name, "contact", Match.contact, "message", Match.message
        ),
        "requirement", func.jsonb_build_object(
            "area_min_m2", Requirement.area_min_m2,
            "area_max_m2", Requirement.area_max_m2,
            "emission_class", Requirement.emission_class,
            "sector_nace", Requirement.sector_nace,
            "jobs", Requirement.jobs,
            "needed_by", Requirement.needed_by,
        ),
    )  # fmt: skip
    source = (
        select(
            Organization.id.label("organization_id"),
            literal(EventType.inquiry_created.value, String).label("type"),
            payload.label("payload"),
            Match.requirement_id.label("requirement_id"),
        )
        .select_from(Match)
        .join(Requirement, Requirement.id == Match.requirement_id)
        .join(company, company.id == Requirement.company_id)
        .join(Plot, Plot.id == Match.plot_id)
        .join(
            _municipality_recipients(),
            organization_municipalities.c.ags == Plot.municipality_ags,
        )
        .where(Match.id == match_id)
    )
    await session.execute(select(func.count()).select_from(fan_out(source)))
