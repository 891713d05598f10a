"""``/v1/me`` and the admin endpoints for organisations and API keys."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from landmarket.auth import service
from landmarket.auth.deps import AdminPrincipal, Principal
from landmarket.auth.models import OrgKind
from landmarket.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    MeRead,
    OrganizationCreate,
    OrganizationRead,
)
from landmarket.core.errors import problem_responses
from landmarket.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from landmarket.core.schemas import NulFreeStr
from landmarket.db.session import SessionDep

router = APIRouter(tags=["auth"])
admin_router = APIRouter(tags=["admin"])


@router.get(
    "/me",
    response_model=MeRead,
    summary="The organisation the API key belongs to",
    responses=problem_responses(401),
)
async def get_me(principal: Principal) -> MeRead:
    return MeRead(
        id=principal.org_id,
        kind=principal.kind,
        name=principal.name,
        ags=sorted(principal.editable_ags),
        regions=sorted(principal.regions),
        home_ags=principal.home_ags,
        sector_nace=principal.sector_nace,
        key_prefix=principal.key_prefix,
    )


@admin_router.post(
    "/organizations",
    response_model=OrganizationRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create an organisation",
    responses=problem_responses(401, 403, 422),
)
async def create_organization(
    body: OrganizationCreate, _admin: AdminPrincipal, session: SessionDep, response: Response
) -> OrganizationRead:
    org = await service.create_organization(session, body)
    response.headers["Location"] = f"/v1/admin/organizations/{org.id}"
    return org


@admin_router.get(
    "/organizations",
    response_model=Page[OrganizationRead],
    summary="List organisations, oldest first",
    responses=problem_responses(401, 403, 422),
)
async def list_organizations(
    _admin: AdminPrincipal,
    session: SessionDep,
    kind: OrgKind | None = None,
    cursor: Annotated[
        NulFreeStr | None, Query(description="`next_cursor` of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[OrganizationRead]:
    return await service.list_organizations(session, kind=kind, cursor=cursor, limit=limit)


@admin_router.get(
    "/organizations/{org_id}",
    response_model=OrganizationRead,
    summary="One organisation",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_organization(
    org_id: uuid.UUID, _admin: AdminPrincipal, session: SessionDep
) -> OrganizationRead:
    return await service.get_organization(session, org_id)


@admin_router.post(
    "/organizations/{org_id}/api-keys",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key; the response is the only time the key is shown",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def create_api_key(
    org_id: uuid.UUID,
    body: ApiKeyCreate,
    _admin: AdminPrincipal,
    session: SessionDep,
    response: Response,
) -> ApiKeyCreated:
    created = await service.create_api_key(session, org_id, body)
    # The body carries a secret: no cache (browser, proxy) may keep it.
    response.headers["Cache-Control"] = "no-store"
    return created


@admin_router.get(
    "/organizations/{org_id}/api-keys",
    response_model=list[ApiKeyRead],
    summary="API keys of an organisation (prefixes only, never the keys)",
    responses=problem_responses(401, 403, 404, 422),
)
async def list_api_keys(
    org_id: uuid.UUID, _admin: AdminPrincipal, session: SessionDep
) -> list[ApiKeyRead]:
    return await service.list_api_keys(session, org_id)


@admin_router.delete(
    "/api-keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an API key (idempotent)",
    responses=problem_responses(401, 403, 404, 422),
)
async def revoke_api_key(key_id: uuid.UUID, _admin: AdminPrincipal, session: SessionDep) -> None:
    await service.revoke_api_key(session, key_id)
