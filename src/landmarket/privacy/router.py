"""``POST /v1/admin/organizations/{id}/erasure``: thin; the work is in the service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path

from landmarket.auth.deps import AdminPrincipal
from landmarket.core.errors import problem_responses
from landmarket.db.session import SessionDep
from landmarket.privacy import service
from landmarket.privacy.schemas import ErasureRead

admin_router = APIRouter(tags=["admin"])


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
