"""Import session endpoints (`/v1/plot-import-sessions`): thin; the rules are in sessions.py."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status

from landmarket.auth.deps import require_kinds
from landmarket.auth.models import OrgKind
from landmarket.auth.principal import AuthPrincipal
from landmarket.core.errors import problem_responses
from landmarket.db.geo import crs_spellings, parse_crs
from landmarket.db.session import SessionDep
from landmarket.plots.imports import sessions
from landmarket.plots.imports.schemas import PlotImportReport
from landmarket.plots.imports.session_schemas import (
    BatchRead,
    BatchUpload,
    SessionCommit,
    SessionOpen,
    SessionRead,
)

router = APIRouter(prefix="/plot-import-sessions", tags=["plots"])

Writer = Annotated[AuthPrincipal, Depends(require_kinds(OrgKind.municipality, OrgKind.admin))]
SessionId = Annotated[uuid.UUID, Path(description="As returned when the session was opened")]


def _limits(request: Request) -> sessions.SessionLimits:
    settings = request.app.state.settings
    return sessions.SessionLimits(
        max_batch_features=settings.max_import_features,
        max_session_features=settings.max_import_session_features,
        ttl=timedelta(seconds=settings.import_session_ttl_seconds),
        max_vertices=settings.max_geometry_vertices,
        statement_timeout_ms=settings.import_statement_timeout_ms,
    )


Limits = Annotated[sessions.SessionLimits, Depends(_limits)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionRead,
    summary="Open an import session: one push of many batches, committed as one import",
    responses=problem_responses(401, 403, 422),
)
async def open_session(
    body: SessionOpen,
    principal: Writer,
    session: SessionDep,
    limits: Limits,
    response: Response,
    content_crs: Annotated[
        str | None,
        Header(
            alias="Content-Crs",
            description="CRS of every batch's geometry; default CRS84",
            json_schema_extra={"enum": crs_spellings(bracketed=True)},
        ),
    ] = None,
) -> SessionRead:
    stripped = content_crs.strip().removeprefix("<").removesuffix(">") if content_crs else None
    crs = parse_crs(stripped, pointer="/header/content-crs")
    opened = await sessions.open_session(session, principal, crs, body, limits)
    response.headers["Location"] = f"/v1/plot-import-sessions/{opened.id}"
    return opened


@router.get(
    "/{session_id}",
    response_model=SessionRead,
    summary="An import session: its batches so far (to resume a push) and its expiry",
    responses=problem_responses(401, 403, 404),
)
async def read_session(
    session_id: SessionId, principal: Writer, session: SessionDep
) -> SessionRead:
    return await sessions.read_session(session, principal, session_id)


@router.put(
    "/{session_id}/batches/{seq}",
    response_model=BatchRead,
    summary="Upload batch `seq` (0, 1, ...); the same batch sent again is a no-op",
    responses=problem_responses(401, 403, 404, 409, 413, 422),
)
async def upload_batch(
    session_id: SessionId,
    seq: Annotated[int, Path(ge=0, le=1_000_000, description="Position of the batch, from 0")],
    body: BatchUpload,
    principal: Writer,
    session: SessionDep,
    limits: Limits,
) -> BatchRead:
    return await sessions.upload_batch(session, principal, session_id, seq, body, limits)


@router.post(
    "/{session_id}/commit",
    response_model=PlotImportReport,
    summary="Import every batch as one import (atomic: all or nothing); report as "
    "`/v1/plot-imports`, indexes counted over the whole push",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def commit_session(
    session_id: SessionId,
    principal: Writer,
    session: SessionDep,
    limits: Limits,
    body: SessionCommit | None = None,
    dry_run: Annotated[
        bool, Query(description="Check and count; write nothing; the session stays open")
    ] = False,
) -> PlotImportReport:
    return await sessions.commit_session(
        session, principal, session_id, body or SessionCommit(), limits, dry_run=dry_run
    )


@router.delete(
    "/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Abort an import session: its batches are dropped, nothing is written",
    responses=problem_responses(401, 403, 404, 409),
)
async def abort_session(session_id: SessionId, principal: Writer, session: SessionDep) -> Response:
    await sessions.abort_session(session, principal, session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
