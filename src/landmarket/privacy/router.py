"""Erasure's HTTP resources, thin (the work is in the service): ``POST
/v1/admin/organizations/{id}/erasure`` and ``DELETE /v1/requirements/{id}`` (withdrawal, and with
``erase=true`` erasure: one operation, one route, so it is served here, above requirements)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from landmarket.auth.deps import AdminPrincipal, Principal
from landmarket.core.errors import problem_responses
from landmarket.core.versioning import IfMatch, etag
from landmarket.db.session import SessionDep
from landmarket.privacy import service
from landmarket.privacy.schemas import ErasureRead
from landmarket.requirements import service as requirements

admin_router = APIRouter(tags=["admin"])
# Mounted at /v1 right after requirements' own router (the API document keeps its order).
requirements_router = APIRouter(tags=["requirements"])


@admin_router.post(
    "/organizations/{org_id}/erasure",
    response_model=ErasureRead,
    summary="Erase a company's personal data everywhere (rows, audit snapshots, outbox); "
    "its keys are revoked, audit entries stay under its id",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def erase_organization(
    org_id: Annotated[uuid.UUID, Path(description="The company's organisation id")],
    admin: AdminPrincipal,
    session: SessionDep,
) -> ErasureRead:
    return await service.erase_company(session, admin, org_id)


@requirements_router.delete(
    "/requirements/{requirement_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Withdraw a requirement (status withdrawn; the row and its history stay); "
    "with erase=true also erase its text and contact data everywhere",
    responses=problem_responses(401, 404, 412, 422),
)
async def withdraw_requirement(
    requirement_id: Annotated[uuid.UUID, Path(description="The requirement's id")],
    principal: Principal,
    session: SessionDep,
    if_match: IfMatch = None,
    erase: Annotated[
        bool,
        Query(
            description="Also remove title, description and the contact data and messages "
            "of its matches from every row, audit snapshot and webhook event (irreversible)"
        ),
    ] = False,
) -> Response:
    if erase:
        version = await service.erase_requirement(
            session, principal, requirement_id, if_match=if_match
        )
    else:
        version = await requirements.withdraw(session, principal, requirement_id, if_match=if_match)
    return Response(status_code=204, headers={"ETag": etag(version)})
