"""SQL for idempotency records."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.idempotency.keys import TTL
from landmarket.idempotency.models import IdempotencyRecord

# Expired rows removed per new record: more than are ever added, so the table stays bounded
# without a scheduled job, and few enough to keep the request fast.
PURGE_BATCH = 100


async def try_lock(session: AsyncSession, lock_id: int) -> bool:
    """Held until the transaction ends, so it is released exactly when the record (or its
    absence, after a rollback) becomes visible to the next request with this key."""
    locked = await session.scalar(select(func.pg_try_advisory_xact_lock(lock_id)))
    return bool(locked)


@dataclass(frozen=True)
class Stored:
    fingerprint: str
    status: int
    headers: list[list[str]]
    body: bytes


async def get_live(session: AsyncSession, organization_id: uuid.UUID, key: str) -> Stored | None:
    r = IdempotencyRecord
    row = (
        await session.execute(
            select(r.fingerprint, r.response_status, r.response_headers, r.response_body).where(
                r.organization_id == organization_id, r.key == key, r.expires_at > func.now()
            )
        )
    ).one_or_none()
    return None if row is None else Stored(row[0], row[1], row[2], row[3])


async def save(
    session: AsyncSession,
    organization_id: uuid.UUID,
    key: str,
    *,
    method: str,
    path: str,
    fingerprint: str,
    response: Stored,
) -> None:
    r = IdempotencyRecord
    # An expired record of the same key may still be there: the key is free again.
    await session.execute(
        delete(r).where(
            r.organization_id == organization_id, r.key == key, r.expires_at <= func.now()
        )
    )
    await session.execute(
        insert(r).values(
            organization_id=organization_id,
            key=key,
            method=method,
            path=path,
            fingerprint=fingerprint,
            response_status=response.status,
            response_headers=response.headers,
            response_body=response.body,
            expires_at=func.now() + TTL,
        )
    )


async def purge_expired(session: AsyncSession, *, limit: int = PURGE_BATCH) -> int:
    """Delete up to ``limit`` expired records; SKIP LOCKED so concurrent purges never wait."""
    r = IdempotencyRecord
    expired = (
        select(r.organization_id, r.key)
        .where(r.expires_at <= func.now())
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(
        delete(r).where(tuple_(r.organization_id, r.key).in_(expired)).returning(r.key)
    )
    return len(result.all())
