"""SQL of erasures: every statement that removes personal data from rows, audit snapshots and
the webhook outbox. Typed statements with bound parameters; callers own the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    Uuid,
    and_,
    any_,
    bindparam,
    case,
    cast,
    delete,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from landmarket.audit.models import Event
from landmarket.auth.models import ApiKey, Organization
from landmarket.idempotency.models import IdempotencyRecord
from landmarket.matching.models import Match
from landmarket.requirements.models import Requirement
from landmarket.webhooks.events import EventType
from landmarket.webhooks.models import WebhookEvent, WebhookSubscription

# Free text and contact data a company wrote, by where it is kept. Everything else about a
# requirement or match is structured (areas, zones, scores) and stays for the statistics.
REQUIREMENT_FIELDS = ("title", "description")
MATCH_FIELDS = ("message", "contact", "note")
# A JSONB column of a mapped class.
Jsonb = InstrumentedAttribute[dict[str, Any] | None]
JSON_NULL = literal_column("'null'::jsonb", JSONB)


async def allow_event_erasure(session: AsyncSession) -> None:
    """Let this transaction (and only it) null values in audit snapshots.

    The events trigger (migration 0007) refuses every UPDATE unless this transaction-local
    setting is on, and even then only nulling top-level values of ``before`` / ``after``.
    """
    await session.execute(select(func.set_config("landmarket.erasure", "on", True)))


def _ids(name: str, values: Sequence[uuid.UUID]) -> Any:
    return bindparam(name, list(values), type_=ARRAY(Uuid))


def _texts(name: str, values: Sequence[str]) -> Any:
    return bindparam(name, list(values), type_=ARRAY(String))


def _nulled(column: Jsonb, keys: Sequence[str], name: str) -> ColumnElement[Any]:
    """``column`` with those of ``keys`` it has set to JSON null (no key added or removed)."""
    present = func.unnest(_texts(name, keys)).table_valued("k").render_derived()
    nulls = (
        select(func.jsonb_object_agg(present.c.k, JSON_NULL))
        .where(column.has_key(present.c.k))
        .scalar_subquery()
    )
    nulled = column.op("||")(func.coalesce(nulls, literal_column("'{}'::jsonb", JSONB)))
    # A missing snapshot is stored as JSON null, which || would turn into an array.
    return case((func.jsonb_typeof(column) == "object", nulled), else_=column)


def _holds(column: Jsonb, keys: Sequence[str]) -> ColumnElement[bool]:
    """Whether ``column`` has a value other than JSON null under one of ``keys``."""
    return or_(*(column[k] != JSON_NULL for k in keys))


async def requirement_ids_of(session: AsyncSession, company_id: uuid.UUID) -> list[uuid.UUID]:
    stmt = (
        select(Requirement.id).where(Requirement.company_id == company_id).order_by(Requirement.id)
    )
    return list(await session.scalars(stmt))


async def scrub_requirement(session: AsyncSession, rid: uuid.UUID) -> bool:
    """Null the requirement's free text; a new version when anything was there."""
    stmt = (
        update(Requirement)
        .where(
            Requirement.id == rid,
            or_(*(getattr(Requirement, f).isnot(None) for f in REQUIREMENT_FIELDS)),
        )
        .values(
            {
                **{f: None for f in REQUIREMENT_FIELDS},
                "version": Requirement.version + 1,
                "updated_at": func.now(),
            }
        )
        .returning(Requirement.id)
        .execution_options(synchronize_session=False)
    )
    return (await session.scalar(stmt)) is not None


def _present(column: Any) -> ColumnElement[bool]:
    """A value that is neither SQL NULL nor (in a JSONB column) JSON null."""
    if isinstance(column.type, JSONB):
        return and_(column.isnot(None), column != JSON_NULL)
    return column.isnot(None)  # type: ignore[no-any-return]


async def scrub_matches(
    session: AsyncSession, rids: Sequence[uuid.UUID]
) -> tuple[int, list[uuid.UUID]]:
    """Null message, contact and note of the requirements' matches. Returns how many held
    something (what the erasure report counts: a rerun finds none) and the ids of all of
    them (also those with nothing left to scrub: their outbox events may still hold data)."""
    scrubbed = await session.scalars(
        update(Match)
        .where(
            Match.requirement_id == any_(_ids("rids", rids)),
            or_(*(_present(getattr(Match, f)) for f in MATCH_FIELDS)),
        )
        # SQL NULL, not None: for the JSONB contact None would be stored as JSON null, which
        # is "not null" to the condition above, so every rerun found it again.
        .values({f: null() for f in MATCH_FIELDS})
        .returning(Match.id)
        .execution_options(synchronize_session=False)
    )
    count = len(scrubbed.all())
    stmt = select(Match.id).where(Match.requirement_id == any_(_ids("rids", rids)))
    return count, list(await session.scalars(stmt))


async def _scrub_events(
    session: AsyncSession, where: ColumnElement[bool], keys: Sequence[str]
) -> int:
    stmt = (
        update(Event)
        .where(
            where,
            or_(_holds(Event.before, keys), _holds(Event.after, keys)),
        )
        .values(
            before=_nulled(Event.before, keys, "keys_before"),
            after=_nulled(Event.after, keys, "keys_after"),
        )
        .returning(Event.id)
        .execution_options(synchronize_session=False)
    )
    return len((await session.scalars(stmt)).all())


async def scrub_requirement_events(session: AsyncSession, rids: Sequence[uuid.UUID]) -> int:
    """Audit snapshots of the requirements and of their matches (found by the requirement id
    in the snapshot, so also matches whose row is gone). Returns the events changed."""
    as_text = _texts("rid_texts", [str(r) for r in rids])
    requirement_events = and_(Event.entity_type == "requirement", Event.entity_id == any_(as_text))
    match_events = and_(
        Event.entity_type == "match",
        or_(
            Event.before["requirement_id"].astext == any_(as_text),
            Event.after["requirement_id"].astext == any_(as_text),
        ),
    )
    return await _scrub_events(
        session, requirement_events, REQUIREMENT_FIELDS
    ) + await _scrub_events(session, match_events, MATCH_FIELDS)


async def scrub_inquiry_payloads(session: AsyncSession, match_ids: Sequence[uuid.UUID]) -> int:
    """inquiry.created events in the municipalities' outbox: the company's contact and
    message (written when it expressed interest) become null."""
    as_text = _texts("match_texts", [str(m) for m in match_ids])
    company = WebhookEvent.payload["company"]
    cleared = func.jsonb_set(
        func.jsonb_set(
            WebhookEvent.payload,
            cast(literal(["company", "contact"]), ARRAY(String)),
            JSON_NULL,
        ),
        cast(literal(["company", "message"]), ARRAY(String)),
        JSON_NULL,
    )
    stmt = (
        update(WebhookEvent)
        .where(
            WebhookEvent.type == EventType.inquiry_created.value,
            WebhookEvent.payload["inquiry_id"].astext == any_(as_text),
            or_(
                company["contact"] != JSON_NULL,
                company["message"] != JSON_NULL,
            ),
        )
        .values(payload=cleared)
        .returning(WebhookEvent.id)
        .execution_options(synchronize_session=False)
    )
    return len((await session.scalars(stmt)).all())


async def pseudonymise_company_in_payloads(
    session: AsyncSession, rids: Sequence[uuid.UUID], pseudonym: str
) -> int:
    """The company's name in other organisations' outbox events about its requirements
    (demand.matched when it shared its identity, inquiry.created) becomes the pseudonym."""
    renamed = func.jsonb_set(
        WebhookEvent.payload,
        cast(literal(["company", "name"]), ARRAY(String)),
        func.to_jsonb(cast(literal(pseudonym), String)),
    )
    stmt = (
        update(WebhookEvent)
        .where(
            WebhookEvent.requirement_id == any_(_ids("rids", rids)),
            func.jsonb_typeof(WebhookEvent.payload["company"]) == "object",
            WebhookEvent.payload["company"]["name"].astext != pseudonym,
        )
        .values(payload=renamed)
        .returning(WebhookEvent.id)
        .execution_options(synchronize_session=False)
    )
    return len((await session.scalars(stmt)).all())


async def delete_own_outbox(session: AsyncSession, org_id: uuid.UUID) -> int:
    """The organisation's own feed and webhooks (URLs and descriptions may name people);
    deliveries go with them (ON DELETE CASCADE). Neither is part of the audit trail."""
    events = await session.execute(
        delete(WebhookEvent)
        .where(WebhookEvent.organization_id == org_id)
        .returning(WebhookEvent.id)
    )
    await session.execute(
        delete(WebhookSubscription).where(WebhookSubscription.organization_id == org_id)
    )
    return len(events.all())


async def delete_stored_responses(session: AsyncSession, org_id: uuid.UUID) -> None:
    """Responses kept for Idempotency-Key retries repeat what the organisation sent."""
    await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.organization_id == org_id)
    )


async def delete_stored_responses_about(
    session: AsyncSession, org_id: uuid.UUID, rid: uuid.UUID
) -> None:
    """The organisation's stored responses that mention the requirement (its creation)."""
    # encode(..., 'escape') turns any bytes into text; a UUID is ASCII, so it reads as is.
    body = func.encode(IdempotencyRecord.response_body, "escape")
    await session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.organization_id == org_id,
            func.strpos(body, str(rid)) > 0,
        )
    )


async def erase_organization_row(session: AsyncSession, org_id: uuid.UUID, pseudonym: str) -> None:
    """The name becomes the pseudonym, key names go (they often name a person) and every key
    is revoked; ids stay, so audit entries keep pointing at the same pseudonymous actor."""
    await session.execute(
        update(Organization)
        .where(Organization.id == org_id)
        .values(name=pseudonym, erased_at=func.coalesce(Organization.erased_at, func.now()))
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(ApiKey)
        .where(ApiKey.organization_id == org_id)
        .values(name="", revoked_at=func.coalesce(ApiKey.revoked_at, func.now()))
        .execution_options(synchronize_session=False)
    )


async def lock_organization(session: AsyncSession, org_id: uuid.UUID) -> Organization | None:
    stmt = (
        select(Organization)
        .where(Organization.id == org_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).one_or_none()
