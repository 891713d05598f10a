"""Import sessions: open → upload batches → commit or abort (or let it expire).

The batches are only stored on upload; the commit runs one import (imports.service) over the
features of every batch in sequence order, in the commit's transaction. So the whole push is
atomic in atomic mode, a duplicate external id is found whichever batches hold it, the report
counts only what the commit wrote, and feature indexes count from the start of the push.

Resuming after a dropped connection: a batch re-sent under the same sequence number with the
same content is a no-op (another content under a used number is 409); a commit re-sent after
it succeeded returns the stored report. Only the organisation that opened a session sees it:
for any other caller it does not exist (404).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.auth.principal import AuthPrincipal
from landmarket.core.errors import Conflict, FieldError, NotFound, PayloadTooLarge
from landmarket.db.geo import Crs, parse_crs
from landmarket.plots.imports.schemas import PlotImport, PlotImportReport
from landmarket.plots.imports.service import ImportOptions, import_plots
from landmarket.plots.imports.session_models import ImportBatch, ImportSession, SessionState
from landmarket.plots.imports.session_schemas import (
    BatchRead,
    BatchUpload,
    SessionCommit,
    SessionOpen,
    SessionRead,
)


@dataclass(frozen=True)
class SessionLimits:
    max_batch_features: int
    max_session_features: int
    ttl: timedelta
    max_vertices: int
    statement_timeout_ms: int | None = None


def _expiry(limits: SessionLimits) -> datetime:
    return datetime.now(UTC) + limits.ttl


async def _summary(session: AsyncSession, row: ImportSession) -> SessionRead:
    batches = (
        await session.execute(
            select(ImportBatch.seq, ImportBatch.count)
            .where(ImportBatch.session_id == row.id)
            .order_by(ImportBatch.seq)
        )
    ).all()
    options = SessionOpen.model_validate(row.options)
    return SessionRead(
        id=str(row.id),
        state=row.state.value,
        crs=row.crs,
        mode=options.mode,
        repair=options.repair,
        prune=options.prune,
        batches=[b.seq for b in batches],
        features=sum(b.count for b in batches),
        expires_at=row.expires_at,
    )


async def open_session(
    session: AsyncSession,
    principal: AuthPrincipal,
    crs: Crs,
    body: SessionOpen,
    limits: SessionLimits,
) -> SessionRead:
    # Abandoned sessions go here rather than in a background job: opening is rare and cheap.
    await session.execute(delete(ImportSession).where(ImportSession.expires_at < func.now()))
    row = ImportSession(
        id=uuid.uuid4(),
        organization_id=principal.org_id,
        state=SessionState.open,
        crs=crs.uri,
        options=body.model_dump(mode="json"),
        expires_at=_expiry(limits),
    )
    session.add(row)
    await session.flush()
    return await _summary(session, row)


async def _get(
    session: AsyncSession, principal: AuthPrincipal, session_id: uuid.UUID, *, lock: bool
) -> ImportSession:
    stmt = select(ImportSession).where(
        ImportSession.id == session_id,
        # Row-level access: another organisation's session is indistinguishable from none.
        ImportSession.organization_id == principal.org_id,
        ImportSession.expires_at >= func.now(),
    )
    if lock:
        # Uploads, commit and abort of one session run one after the other.
        stmt = stmt.with_for_update()
    row = await session.scalar(stmt)
    if row is None:
        raise NotFound(
            f"No import session {session_id} (unknown, aborted or expired): open a new one"
        )
    return row


async def read_session(
    session: AsyncSession, principal: AuthPrincipal, session_id: uuid.UUID
) -> SessionRead:
    return await _summary(session, await _get(session, principal, session_id, lock=False))


def _canonical(batch: BatchUpload) -> str:
    return json.dumps(batch.features, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


async def upload_batch(
    session: AsyncSession,
    principal: AuthPrincipal,
    session_id: uuid.UUID,
    seq: int,
    batch: BatchUpload,
    limits: SessionLimits,
) -> BatchRead:
    row = await _get(session, principal, session_id, lock=True)
    if row.state is SessionState.committed:
        raise Conflict(f"Import session {session_id} is already committed; open a new one")
    if len(batch.features) > limits.max_batch_features:
        raise PayloadTooLarge(
            f"{len(batch.features)} features in one batch; at most "
            f"{limits.max_batch_features} are allowed (LANDMARKET_MAX_IMPORT_FEATURES)",
            errors=[FieldError(pointer="/body/features", detail="too many features")],
        )
    text = _canonical(batch)
    digest = hashlib.sha256(text.encode()).hexdigest()
    previous = await session.get(ImportBatch, (row.id, seq))
    total = int(
        await session.scalar(
            select(func.coalesce(func.sum(ImportBatch.count), 0)).where(
                ImportBatch.session_id == row.id
            )
        )
        or 0
    )
    if previous is not None:
        if previous.digest != digest:
            raise Conflict(
                f"Batch {seq} of this session was already received with other features; "
                "a sequence number names one batch",
                errors=[FieldError(pointer="/path/seq", detail="already used")],
            )
        # The same batch again (a retry after a lost response): nothing to do.
        return BatchRead(seq=seq, received=previous.count, features=total)
    if total + len(batch.features) > limits.max_session_features:
        raise PayloadTooLarge(
            f"The session would hold {total + len(batch.features)} features; at most "
            f"{limits.max_session_features} are allowed (LANDMARKET_MAX_IMPORT_SESSION_FEATURES)",
            errors=[FieldError(pointer="/body/features", detail="too many features")],
        )
    session.add(
        ImportBatch(
            session_id=row.id, seq=seq, count=len(batch.features), digest=digest, features=text
        )
    )
    row.expires_at = _expiry(limits)
    await session.flush()
    return BatchRead(seq=seq, received=len(batch.features), features=total + len(batch.features))


def _missing(received: list[int], expected: int | None) -> list[int]:
    wanted = set(range(expected if expected is not None else (max(received, default=-1) + 1)))
    return sorted(wanted - set(received))


async def commit_session(
    session: AsyncSession,
    principal: AuthPrincipal,
    session_id: uuid.UUID,
    body: SessionCommit,
    limits: SessionLimits,
    *,
    dry_run: bool,
) -> PlotImportReport:
    row = await _get(session, principal, session_id, lock=True)
    if row.state is SessionState.committed:
        # A commit re-sent after its response was lost: the same report, nothing written again.
        return PlotImportReport.model_validate(row.report)
    batches = (
        await session.execute(
            select(ImportBatch.seq, ImportBatch.features)
            .where(ImportBatch.session_id == row.id)
            .order_by(ImportBatch.seq)
        )
    ).all()
    received = [b.seq for b in batches]
    missing = _missing(received, body.batches)
    extra = [s for s in received if body.batches is not None and s >= body.batches]
    if missing or extra:
        detail = f"batches {missing} are missing" if missing else f"batches {extra} are extra"
        raise Conflict(
            f"The session cannot be committed: {detail} (received: {len(received)} batches); "
            "nothing was written",
            errors=[FieldError(pointer="/body/batches", detail=detail)],
        )
    options = SessionOpen.model_validate(row.options)
    features = [f for b in batches for f in json.loads(b.features)]
    report = await import_plots(
        session,
        principal,
        PlotImport(
            type="FeatureCollection",
            features=features,
            municipalities=options.municipalities,
            keep=options.keep,
        ),
        ImportOptions(
            crs=parse_crs(row.crs),
            mode=options.mode,
            prune=options.prune,
            dry_run=dry_run,
            repair=options.repair,
            max_features=None,  # bounded by LANDMARKET_MAX_IMPORT_SESSION_FEATURES at upload
            max_vertices=limits.max_vertices,
            fields=None if options.merge is None else frozenset(options.merge),
            detect_conflicts=not options.force,
            statement_timeout_ms=limits.statement_timeout_ms,
        ),
    )
    if not dry_run:
        # In the transaction of the import: committed together or not at all.
        row.state = SessionState.committed
        row.report = report.model_dump(mode="json")
        row.expires_at = _expiry(limits)
        await session.execute(delete(ImportBatch).where(ImportBatch.session_id == row.id))
        await session.flush()
    return report


async def abort_session(
    session: AsyncSession, principal: AuthPrincipal, session_id: uuid.UUID
) -> None:
    row = await _get(session, principal, session_id, lock=True)
    if row.state is SessionState.committed:
        raise Conflict(f"Import session {session_id} is already committed; nothing to abort")
    await session.delete(row)
    await session.flush()
