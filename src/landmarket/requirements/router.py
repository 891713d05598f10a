"""Requirement endpoints: thin; validation in schemas and the service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status
from fastapi.responses import JSONResponse

from landmarket.auth.deps import CompanyPrincipal, Principal, require_kinds
from landmarket.auth.models import OrgKind
from landmarket.auth.principal import AuthPrincipal
from landmarket.core.errors import problem_responses
from landmarket.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from landmarket.core.schemas import NulFreeStr
from landmarket.core.versioning import IF_MATCH_REQUIRED, RequiredIfMatch, etag
from landmarket.db.session import SessionDep
from landmarket.idempotency.deps import IdempotencyDep, idempotency_responses
from landmarket.requirements import service
from landmarket.requirements.models import RequirementStatus
from landmarket.requirements.schemas import RequirementCreate, RequirementRead, RequirementUpdate

router = APIRouter(tags=["requirements"])

RequirementId = Annotated[uuid.UUID, Path(description="The requirement's id")]
# Listing is for companies (their own) and admins; municipalities and agencies get 403.
Lister = Annotated[AuthPrincipal, Depends(require_kinds(OrgKind.company, OrgKind.admin))]


def _response(
    read: RequirementRead, *, status_code: int = 200, created: bool = False
) -> JSONResponse:
    headers = {"ETag": etag(read.version)}
    if created:
        headers["Location"] = f"/v1/requirements/{read.id}"
    return JSONResponse(read.model_dump(mode="json"), status_code=status_code, headers=headers)


@router.post(
    "/requirements",
    response_model=RequirementRead,
    status_code=status.HTTP_201_CREATED,
    summary="Post a space requirement (company keys); its matches are computed at once",
    responses={**problem_responses(401, 403, 422), **idempotency_responses(201)},
)
async def create_requirement(
    body: RequirementCreate,
    principal: CompanyPrincipal,
    session: SessionDep,
    idempotency: IdempotencyDep,
) -> Response:
    async def create() -> Response:
        result = await service.create(session, principal, body)
        return _response(result.requirement, status_code=201, created=True)

    return await idempotency.run(create)


@router.get(
    "/requirements",
    response_model=Page[RequirementRead],
    summary="Your company's requirements (admins: all)",
    responses=problem_responses(401, 403, 422),
)
async def list_requirements(
    principal: Lister,
    session: SessionDep,
    requirement_status: Annotated[list[RequirementStatus] | None, Query(alias="status")] = None,
    cursor: Annotated[
        NulFreeStr | None, Query(description="`next_cursor` of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[RequirementRead]:
    return await service.list_requirements(
        session, principal, status=requirement_status or [], cursor=cursor, limit=limit
    )


@router.get(
    "/requirements/{requirement_id}",
    response_model=RequirementRead,
    summary="One requirement (owner and admins; 404 for everyone else)",
    responses=problem_responses(401, 404, 422),
)
async def get_requirement(
    requirement_id: RequirementId, principal: Principal, session: SessionDep
) -> Response:
    return _response(await service.get(session, principal, requirement_id))


@router.patch(
    "/requirements/{requirement_id}",
    response_model=RequirementRead,
    summary="Change a requirement (If-Match required); its matches are recomputed",
    responses=problem_responses(401, 404, 412, 422, 428),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def update_requirement(
    requirement_id: RequirementId,
    body: RequirementUpdate,
    principal: Principal,
    session: SessionDep,
    if_match: RequiredIfMatch = None,
) -> Response:
    result = await service.update(session, principal, requirement_id, body, if_match=if_match)
    return _response(result.requirement)
