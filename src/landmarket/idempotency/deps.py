"""Idempotency-Key for POSTs (draft-ietf-httpapi-idempotency-key-header). A route opts in by
taking ``IdempotencyDep`` after its principal and running its work through it::

    async def create_thing(
        body: ThingCreate, principal: Principal, session: SessionDep, idempotency: IdempotencyDep
    ) -> Response:
        return await idempotency.run(lambda: _create(session, principal, body))

Semantics (docs/idempotency.md):
- no header: the work runs as usual;
- first use of a key: the work runs and its response is stored with the key in the same
  transaction, so either both commit or neither does (nothing half-written blocks a retry);
- same key, same request (method, path, query, Content-Crs, body byte for byte) within 24 h:
  the stored response is replayed with ``Idempotent-Replayed: true`` and nothing runs;
- same key, another request: 422; the first request still running: 409 with Retry-After
  (the draft's choice: the duplicate does not wait, and it holds no connection meanwhile).
Errors are stored like successes, as the draft asks, except server errors (5xx) and the 4xx
that mean "the state conflicted, try again" (408, 409, 425, 429): a retry runs again.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.auth.deps import Principal
from landmarket.core.errors import (
    AppError,
    Conflict,
    FieldError,
    ValidationFailed,
    app_error_response,
    problem_responses,
)
from landmarket.db.session import SessionDep
from landmarket.idempotency import repository as repo
from landmarket.idempotency.keys import (
    HEADER,
    KEY_PATTERN,
    MAX_LENGTH,
    POINTER,
    fingerprint,
    lock_id,
    parse_key,
)

REPLAYED_HEADER = "Idempotent-Replayed"
RETRY_AFTER_SECONDS = 1
# Errors that say "the state changed under you, try again": storing them would turn a
# transient conflict into the permanent answer for this key.
_RETRYABLE = frozenset({408, 409, 425, 429})


class RequestInProgress(Conflict):
    slug, title = "idempotency-request-in-progress", "Request in progress"


class KeyReused(ValidationFailed):
    slug, title = "idempotency-key-reused", "Idempotency-Key reused"


def _stored_outcome(status: int) -> bool:
    return status < 500 and status not in _RETRYABLE


def _replay(stored: repo.Stored) -> Response:
    response = Response(content=stored.body, status_code=stored.status)
    for name, value in stored.headers:
        response.headers.append(name, value)
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _headers_to_store(response: Response) -> list[list[str]]:
    # Content-Length is recomputed on replay.
    return [
        [name.decode("latin-1"), value.decode("latin-1")]
        for name, value in response.raw_headers
        if name.lower() != b"content-length"
    ]


@dataclass(frozen=True)
class Idempotency:
    request: Request
    session: AsyncSession
    organization_id: uuid.UUID
    key: str | None

    async def run(self, work: Callable[[], Awaitable[Response]]) -> Response:
        if self.key is None:
            return await work()
        request = self.request
        digest = fingerprint(
            request.method,
            request.url.path,
            request.url.query,
            request.headers,
            await request.body(),
        )
        stored = await self._stored_or_claim(self.key)
        if stored is not None:
            if stored.fingerprint != digest:
                raise KeyReused(
                    f"This {HEADER} was used for a different request in the last 24 hours; "
                    "send a new key for a new request",
                    errors=[FieldError(pointer=POINTER, detail="already used for another request")],
                )
            return _replay(stored)
        response = await self._execute(work)
        if _stored_outcome(response.status_code):
            await repo.purge_expired(self.session)
            await repo.save(
                self.session,
                self.organization_id,
                self.key,
                method=request.method,
                path=request.url.path,
                fingerprint=digest,
                response=repo.Stored(
                    fingerprint=digest,
                    status=response.status_code,
                    headers=_headers_to_store(response),
                    body=bytes(response.body),
                ),
            )
        return response

    async def _stored_or_claim(self, key: str) -> repo.Stored | None:
        """The stored response, or None with the key's lock held by this transaction."""
        # Replays only read, so they never contend for the lock. Without a record the lock
        # decides who runs, and the record is read again under it: the previous holder may
        # have committed between the two reads.
        stored = await repo.get_live(self.session, self.organization_id, key)
        if stored is not None:
            return stored
        if not await repo.try_lock(self.session, lock_id(str(self.organization_id), key)):
            raise RequestInProgress(
                f"A request with this {HEADER} is still being processed; retry in a moment "
                "to get its response",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        return await repo.get_live(self.session, self.organization_id, key)

    async def _execute(self, work: Callable[[], Awaitable[Response]]) -> Response:
        """The work in a savepoint: a client error undoes its writes but becomes a stored
        response; anything else propagates and the whole transaction rolls back."""
        try:
            async with self.session.begin_nested():
                response = await work()
        except AppError as exc:
            if not _stored_outcome(exc.status):
                raise
            return app_error_response(exc, instance=self.request.url.path)
        if isinstance(response, StreamingResponse):
            raise TypeError("a streamed response cannot be stored for an Idempotency-Key")
        return response


async def get_idempotency(
    request: Request,
    session: SessionDep,
    principal: Principal,
    key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            description=(
                f"Makes a retry safe: 1-{MAX_LENGTH} printable ASCII characters (e.g. a UUID), "
                "new for every new request. A retry with the same key and request within 24 h "
                f"returns the first response again with `{REPLAYED_HEADER}: true` and changes "
                "nothing; the same key with another request is 422; while the first is still "
                "running, 409 with Retry-After. See docs/idempotency.md."
            ),
            json_schema_extra={"minLength": 1, "maxLength": MAX_LENGTH, "pattern": KEY_PATTERN},
        ),
    ] = None,
) -> Idempotency:
    # Declared after the principal in routes: 401/403 come first and are never stored.
    parsed = parse_key(key) if key is not None else None
    return Idempotency(
        request=request, session=session, organization_id=principal.org_id, key=parsed
    )


IdempotencyDep = Annotated[Idempotency, Depends(get_idempotency)]


def idempotency_responses(success: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries an Idempotency-Key adds to a route whose success status is ``success``
    (merge them after the route's own)."""
    out = problem_responses(400, 409, 422)
    out[success] = {
        "headers": {
            REPLAYED_HEADER: {
                "description": f"`true` when this is the stored response to an earlier request "
                f"with the same {HEADER}",
                "schema": {"type": "string", "enum": ["true"]},
            }
        }
    }
    out[400]["description"] = f"Malformed {HEADER}"
    out[409]["description"] = (
        f"Conflict with the current state, or a request with this {HEADER} is still running "
        "(retry after Retry-After seconds)"
    )
    out[422]["description"] = (
        f"Invalid input (`errors` lists every rejected field), or the {HEADER} was already "
        "used for another request"
    )
    return out
