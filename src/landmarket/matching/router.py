"""Match, demand and inquiry endpoints: thin; access and rules in the service."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from landmarket.auth.deps import Principal, require_kinds
from landmarket.auth.models import OrgKind
from landmarket.auth.principal import AuthPrincipal
from landmarket.core.errors import problem_responses
from landmarket.core.i18n import LangDep
from landmarket.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from landmarket.core.schemas import NulFreeStr
from landmarket.db.geo import feature_collection
from landmarket.db.session import SessionDep
from landmarket.matching import service
from landmarket.matching.explain_text import with_texts
from landmarket.matching.models import MatchState
from landmarket.matching.repository import MatchFilter
from landmarket.matching.schemas import (
    DemandRead,
    InquiryRead,
    InquiryUpdate,
    MatchPage,
    MatchStateChange,
    MatchStateRead,
)

GEOJSON = "application/geo+json"

router = APIRouter(tags=["matching"])

RequirementId = Annotated[uuid.UUID, Path(description="The requirement's id")]
PlotId = Annotated[uuid.UUID, Path(description="The plot's id")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[NulFreeStr | None, Query(description="`next_cursor` of the previous page")]
InquiryReader = Annotated[
    AuthPrincipal, Depends(require_kinds(OrgKind.municipality, OrgKind.admin))
]


@router.get(
    "/requirements/{requirement_id}/matches",
    response_model=MatchPage,
    summary="Ranked, explained matches (score desc, then plot id); "
    "`Accept: application/geo+json` for a FeatureCollection",
    responses={
        200: {"content": {GEOJSON: {}}},
        **problem_responses(401, 404, 422),
    },
)
async def list_matches(
    requirement_id: RequirementId,
    request: Request,
    principal: Principal,
    session: SessionDep,
    lang: LangDep,
    min_score: Annotated[float | None, Query(ge=0, le=100)] = None,
    cross_border: Annotated[bool | None, Query()] = None,
    include_stale: Annotated[
        bool, Query(description="Also pairs that no longer match but carry a state")
    ] = False,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    geojson = GEOJSON in (accept or "")
    filters = MatchFilter(
        min_score=min_score, cross_border=cross_border, include_stale=include_stale
    )
    page, next_cursor = await service.list_matches(
        session,
        principal,
        requirement_id,
        filters,
        geojson=geojson,
        cursor=cursor,
        limit=limit,
    )
    # The items arrive as one JSON array built in PostGIS; added here: the envelope and each
    # explanation's sentence in the reader's language.
    items_json = with_texts(page.items_json, lang, geojson)
    headers = {"Content-Language": lang, "Vary": "Accept, Accept-Language"}
    if geojson:
        links: list[dict[str, Any]] = [{"href": str(request.url), "rel": "self"}]
        if next_cursor:
            href = str(request.url.include_query_params(cursor=next_cursor))
            links.append({"href": href, "rel": "next", "type": GEOJSON})
        body = feature_collection(items_json, page.count, links, next_cursor=next_cursor)
        return Response(body, media_type=GEOJSON, headers=headers)
    body = f'{{"items":{items_json},"next_cursor":{json.dumps(next_cursor)}}}'
    return Response(body, media_type="application/json", headers=headers)


@router.patch(
    "/requirements/{requirement_id}/matches/{plot_id}",
    response_model=MatchStateRead,
    summary="Shortlist, dismiss or express interest (reveals you to the plot's municipality)",
    responses=problem_responses(401, 404, 409, 422),
)
async def change_match_state(
    requirement_id: RequirementId,
    plot_id: PlotId,
    body: MatchStateChange,
    principal: Principal,
    session: SessionDep,
) -> MatchStateRead:
    return await service.change_state(session, principal, requirement_id, plot_id, body)


@router.get(
    "/plots/{plot_id}/demand",
    response_model=Page[DemandRead],
    summary="Open requirements matching this plot, anonymised (owning municipality, admins)",
    responses=problem_responses(401, 403, 404, 422),
)
async def plot_demand(
    plot_id: PlotId,
    principal: Principal,
    session: SessionDep,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[DemandRead]:
    return await service.demand(session, principal, plot_id, cursor=cursor, limit=limit)


@router.get(
    "/inquiries",
    response_model=Page[InquiryRead],
    summary="Interest expressed on your municipality's plots, with the company's contact",
    responses=problem_responses(401, 403, 422),
)
async def list_inquiries(
    principal: InquiryReader,
    session: SessionDep,
    state: Annotated[list[MatchState] | None, Query()] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[InquiryRead]:
    return await service.list_inquiries(
        session, principal, states=state or [], cursor=cursor, limit=limit
    )


@router.patch(
    "/inquiries/{inquiry_id}",
    response_model=InquiryRead,
    summary="Move an inquiry to in_contact or closed (with outcome)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def update_inquiry(
    inquiry_id: Annotated[uuid.UUID, Path(description="The inquiry's id")],
    body: InquiryUpdate,
    principal: InquiryReader,
    session: SessionDep,
) -> InquiryRead:
    return await service.update_inquiry(session, principal, inquiry_id, body)
