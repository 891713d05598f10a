"""Erasure of personal data (GDPR Art. 17): a requirement on its owner's request, or a whole
company by an operator.

What a company wrote as free text or contact data is removed everywhere it was copied to: the
requirement's title and description, the message, contact and note of its matches, the same
values inside audit snapshots (events) and inside the outbox events sent to municipalities,
and stored Idempotency-Key responses. The structured facts (areas, zones, status, scores) and
every audit entry stay, under ids that no longer lead to a name, so statistics and the audit
trail remain whole. Everything happens in the caller's transaction: all of it or nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.audit.repository import record
from landmarket.auth.models import OrgKind
from landmarket.auth.principal import AuthPrincipal
from landmarket.core.errors import Conflict, FieldError, NotFound
from landmarket.core.versioning import check_if_match
from landmarket.matching.recompute import refresh_requirement
from landmarket.privacy import repository as repo
from landmarket.privacy.schemas import ErasureRead
from landmarket.requirements import repository as requirements
from landmarket.requirements.models import RequirementStatus
from landmarket.requirements.service import to_read

ERASED_FIELDS = [
    *(f"requirement.{f}" for f in repo.REQUIREMENT_FIELDS),
    *(f"match.{f}" for f in repo.MATCH_FIELDS),
]


@dataclass
class _Counts:
    requirements: int = 0
    matches: int = 0
    audit_events: int = 0
    webhook_events: int = 0

    def add(self, other: _Counts) -> None:
        self.requirements += other.requirements
        self.matches += other.matches
        self.audit_events += other.audit_events
        self.webhook_events += other.webhook_events


def pseudonym(org_id: uuid.UUID) -> str:
    # Derived from the id, which the audit trail keeps anyway: it adds nothing identifying.
    return f"Erased organisation {org_id.hex[:8]}"


def _snapshot(stored: requirements.Stored) -> dict[str, Any]:
    return to_read(stored).model_dump(mode="json")


async def _withdraw(
    session: AsyncSession, actor: AuthPrincipal | None, stored: requirements.Stored
) -> requirements.Stored:
    """Withdraw like DELETE does (an erased requirement must stop matching), with the usual
    audit event, so reports built from the audit log see it leave the market."""
    rid = stored.requirement.id
    before = _snapshot(stored)
    await requirements.update_requirement(
        session, rid, stored.requirement.version, {"status": RequirementStatus.withdrawn}
    )
    await refresh_requirement(session, rid)
    withdrawn = await requirements.get_locked(session, rid)
    assert withdrawn is not None
    await record(
        session,
        actor=actor,
        entity_type="requirement",
        entity_id=rid,
        action="withdraw",
        before=before,
        after=_snapshot(withdrawn),
    )
    return withdrawn


async def _erase_requirement(
    session: AsyncSession, actor: AuthPrincipal | None, stored: requirements.Stored
) -> _Counts:
    rid = stored.requirement.id
    if stored.requirement.status is not RequirementStatus.withdrawn:
        stored = await _withdraw(session, actor, stored)
    scrubbed = await repo.scrub_requirement(session, rid)
    matches, match_ids = await repo.scrub_matches(session, [rid])
    counts = _Counts(
        requirements=1 if scrubbed else 0,
        matches=matches,
        audit_events=await repo.scrub_requirement_events(session, [rid]),
        webhook_events=await repo.scrub_inquiry_payloads(session, match_ids),
    )
    await repo.delete_stored_responses_about(session, stored.requirement.company_id, rid)
    # The erasure itself is audited, with nothing but ids and what was removed.
    await record(
        session,
        actor=actor,
        entity_type="requirement",
        entity_id=rid,
        action="erase",
        before=None,
        after={
            "company_id": str(stored.requirement.company_id),
            "home_ags": stored.requirement.home_ags,
            "erased": ERASED_FIELDS,
        },
    )
    return counts


async def erase_requirement(
    session: AsyncSession, principal: AuthPrincipal, rid: uuid.UUID, *, if_match: str | None
) -> int:
    """``DELETE /v1/requirements/{id}?erase=true``: the owner or an admin; the new version."""
    stored = await requirements.get_visible(session, principal, rid, lock=True)
    if stored is None:
        raise NotFound(f"No requirement {rid}")
    check_if_match(if_match, stored.requirement.version, required=False, what="requirement")
    await repo.allow_event_erasure(session)
    await _erase_requirement(session, principal, stored)
    erased = await requirements.get_locked(session, rid)
    assert erased is not None
    return erased.requirement.version


async def erase_company(
    session: AsyncSession, actor: AuthPrincipal | None, org_id: uuid.UUID
) -> ErasureRead:
    """An admin (``actor``) or the operator's CLI (None) erases a company. Repeatable: a
    second run finds nothing left and reports zeros."""
    org = await repo.lock_organization(session, org_id)
    if org is None:
        raise NotFound(f"No organisation with id {org_id}")
    if org.kind is not OrgKind.company:
        raise Conflict(
            f"Only company organisations can be erased; {org_id} is a {org.kind.value}",
            errors=[FieldError(pointer="/path/org_id", detail=f"a {org.kind.value} organisation")],
        )
    await repo.allow_event_erasure(session)
    name = pseudonym(org_id)
    counts = _Counts()
    rids = await repo.requirement_ids_of(session, org_id)
    for rid in rids:
        stored = await requirements.get_locked(session, rid)
        assert stored is not None
        counts.add(await _erase_requirement(session, actor, stored))
    counts.webhook_events += await repo.pseudonymise_company_in_payloads(session, rids, name)
    counts.webhook_events += await repo.delete_own_outbox(session, org_id)
    await repo.delete_stored_responses(session, org_id)
    await repo.erase_organization_row(session, org_id, name)
    await record(
        session,
        actor=actor,
        entity_type="organization",
        entity_id=org_id,
        action="erase",
        before=None,
        after={"kind": org.kind.value, "requirements": len(rids), "erased": ERASED_FIELDS},
    )
    erased = await repo.lock_organization(session, org_id)
    assert erased is not None and erased.erased_at is not None
    return ErasureRead(
        organization_id=org_id,
        name=erased.name,
        erased_at=erased.erased_at,
        requirements=counts.requirements,
        matches=counts.matches,
        audit_events=counts.audit_events,
        webhook_events=counts.webhook_events,
    )
