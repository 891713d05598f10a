"""Plot endpoints: thin; validation in schemas and plots.geometry, rules in the service."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse

from landmarket.auth.deps import OPTIONAL_AUTH, OptionalPrincipal, Principal, require_kinds
from landmarket.auth.models import OrgKind
from landmarket.auth.principal import AuthPrincipal
from landmarket.core.errors import FieldError, ValidationFailed, problem_responses
from landmarket.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from landmarket.core.schemas import IsoDate, NulFreeStr
from landmarket.core.versioning import IF_MATCH_REQUIRED, IfMatch, RequiredIfMatch, etag
from landmarket.db.geo import (
    BboxError,
    Crs,
    content_crs_header,
    crs_spellings,
    feature_collection,
    parse_bbox,
    parse_crs,
)
from landmarket.db.session import SessionDep
from landmarket.idempotency.deps import IdempotencyDep, idempotency_responses
from landmarket.plots import service
from landmarket.plots.imports import service as import_service
from landmarket.plots.imports.schemas import ImportMode, PlotImport, PlotImportReport
from landmarket.plots.models import Category, PlotStatus, Zoning
from landmarket.plots.repository import PlotFilter
from landmarket.plots.schemas import (
    EXTERNAL_ID_PATTERN,
    EventRead,
    PlotCollection,
    PlotCreate,
    PlotRead,
    PlotReplace,
    PlotUpdate,
    StatusChange,
)

GEOJSON = "application/geo+json"
REPAIRED_HEADER = "Geometry-Repaired"


class GeoJSONResponse(JSONResponse):
    """As `response_class`, documents plot bodies as GeoJSON (what every plot route sends)."""

    media_type = GEOJSON


router = APIRouter(tags=["plots"])

# Companies and agencies get 403 before their body is even looked at.
# Larger than any municipality: a filter beyond it selects nothing more.
MAX_AREA_M2 = 1e12
PlotWriter = Annotated[AuthPrincipal, Depends(require_kinds(OrgKind.municipality, OrgKind.admin))]
CrsParam = Annotated[
    NulFreeStr | None,
    Query(
        description="Output CRS as an OGC URI; default CRS84 (lon/lat)",
        json_schema_extra={"enum": crs_spellings()},
    ),
]
BboxCrsParam = Annotated[
    NulFreeStr | None,
    Query(
        alias="bbox-crs",
        description="CRS of `bbox`; default CRS84",
        json_schema_extra={"enum": crs_spellings()},
    ),
]
ContentCrs = Annotated[
    str | None,
    Header(
        alias="Content-Crs",
        description="CRS of the request geometry, e.g. `<http://www.opengis.net/def/crs/EPSG/0/25832>`;"
        " default CRS84",
        json_schema_extra={"enum": crs_spellings(bracketed=True)},
    ),
]
Repair = Annotated[
    bool,
    Query(
        description="Repair an invalid geometry with ST_MakeValid instead of rejecting it; the "
        f"response then carries `{REPAIRED_HEADER}` with the original problem"
    ),
]
PlotId = Annotated[uuid.UUID, Path(description="The plot's id")]


def _max_vertices(request: Request) -> int:
    return int(request.app.state.settings.max_geometry_vertices)


MaxVertices = Annotated[int, Depends(_max_vertices)]


def _input_crs(value: str | None) -> Crs:
    stripped = value.strip().removeprefix("<").removesuffix(">") if value else None
    return parse_crs(stripped, pointer="/header/content-crs")


def _feature_response(
    result: service.WriteResult, crs: Crs, *, status_code: int = 200
) -> JSONResponse:
    headers = {"ETag": etag(result.version), **content_crs_header(crs)}
    if result.created:
        headers["Location"] = f"/v1/plots/{result.id}"
    if result.repaired:
        headers[REPAIRED_HEADER] = result.repaired
    return JSONResponse(
        result.feature, status_code=status_code, media_type=GEOJSON, headers=headers
    )


# Bounded digits so every match is a finite float.
_NUMBER = r"\s*[+-]?(?:[0-9]{1,30}(?:\.[0-9]{0,30})?|\.[0-9]{1,30})(?:[eE][+-]?[0-9]{1,2})?\s*"
# Four comma-separated decimal numbers, as `_bbox` reads them with float().
BBOX_PATTERN = rf"^{_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}$"


def _bbox(value: str | None, crs: Crs) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    try:
        return parse_bbox(value, crs)
    except BboxError as exc:
        raise ValidationFailed(
            f"bbox: {exc.detail}", errors=[FieldError(pointer="/query/bbox", detail=exc.detail)]
        ) from None


@router.get(
    "/plots",
    response_model=PlotCollection,
    response_class=GeoJSONResponse,
    summary="List plots as a GeoJSON FeatureCollection",
    responses=problem_responses(401, 422),
    openapi_extra=OPTIONAL_AUTH,
)
async def list_plots(
    request: Request,
    principal: OptionalPrincipal,
    session: SessionDep,
    municipality: Annotated[
        list[Annotated[str, Query(pattern=r"^[0-9]{8}$")]] | None,
        Query(description="AGS; repeat for several"),
    ] = None,
    region: Annotated[NulFreeStr | None, Query(description="Region slug")] = None,
    bbox: Annotated[
        str | None,
        Query(
            description="minx,miny,maxx,maxy in `bbox-crs` (default CRS84)",
            pattern=BBOX_PATTERN,
        ),
    ] = None,
    bbox_crs: BboxCrsParam = None,
    zoning: Annotated[list[Zoning] | None, Query()] = None,
    category: Annotated[list[Category] | None, Query()] = None,
    plot_status: Annotated[list[PlotStatus] | None, Query(alias="status")] = None,
    min_area_m2: Annotated[float | None, Query(ge=0, le=MAX_AREA_M2)] = None,
    max_area_m2: Annotated[float | None, Query(ge=0, le=MAX_AREA_M2)] = None,
    available_by: Annotated[
        IsoDate | None, Query(description="Available on or before this date")
    ] = None,
    q: Annotated[
        NulFreeStr | None,
        Query(max_length=200, description="Text in title, description, external_id"),
    ] = None,
    stale: Annotated[
        bool | None, Query(description="true: not confirmed for 180 days; false: fresh")
    ] = None,
    crs: CrsParam = None,
    cursor: Annotated[NulFreeStr | None, Query(description="From the `next` link")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Response:
    out_crs = parse_crs(crs)
    in_crs = parse_crs(bbox_crs, pointer="/query/bbox-crs")
    filters = PlotFilter(
        municipalities=municipality or (),
        region=region,
        bbox=_bbox(bbox, in_crs),
        bbox_crs=in_crs,
        zoning=zoning or (),
        category=category or (),
        status=plot_status or (),
        min_area_m2=min_area_m2,
        max_area_m2=max_area_m2,
        available_by=available_by,
        q=q,
        stale=stale,
    )
    page, next_cursor = await service.list_plots(
        session, principal, filters, out_crs, cursor=cursor, limit=limit
    )
    links: list[dict[str, Any]] = [{"href": str(request.url), "rel": "self", "type": GEOJSON}]
    if next_cursor:
        href = str(request.url.include_query_params(cursor=next_cursor))
        links.append({"href": href, "rel": "next", "type": GEOJSON})
    # The features arrive as one JSON array built in PostGIS; only the envelope is added here.
    body = feature_collection(page.features_json, page.count, links)
    return Response(body, media_type=GEOJSON, headers=content_crs_header(out_crs))


@router.post(
    "/plots",
    response_model=PlotRead,
    response_class=GeoJSONResponse,
    status_code=status.HTTP_201_CREATED,
    summary="Create a plot",
    responses=problem_responses(401, 403, 409, 422),
)
async def create_plot(
    body: PlotCreate,
    principal: PlotWriter,
    session: SessionDep,
    max_vertices: MaxVertices,
    content_crs: ContentCrs = None,
    crs: CrsParam = None,
    repair: Repair = False,
) -> Response:
    out_crs = parse_crs(crs)
    result = await service.create_plot(
        session,
        principal,
        body,
        crs_in=_input_crs(content_crs),
        crs_out=out_crs,
        repair=repair,
        max_vertices=max_vertices,
    )
    return _feature_response(result, out_crs, status_code=201)


@router.get(
    "/plots/{plot_id}",
    response_model=PlotRead,
    response_class=GeoJSONResponse,
    summary="One plot; ETag is its version",
    responses=problem_responses(401, 404, 422),
    openapi_extra=OPTIONAL_AUTH,
)
async def get_plot(
    plot_id: PlotId, principal: OptionalPrincipal, session: SessionDep, crs: CrsParam = None
) -> Response:
    out_crs = parse_crs(crs)
    feature, version = await service.get_plot(session, principal, plot_id, out_crs)
    headers = {"ETag": etag(version), **content_crs_header(out_crs)}
    return JSONResponse(feature, media_type=GEOJSON, headers=headers)


@router.patch(
    "/plots/{plot_id}",
    response_model=PlotRead,
    response_class=GeoJSONResponse,
    summary="Change some properties and/or the geometry (If-Match required)",
    responses=problem_responses(401, 403, 404, 409, 412, 422, 428),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def update_plot(
    plot_id: PlotId,
    body: PlotUpdate,
    principal: PlotWriter,
    session: SessionDep,
    max_vertices: MaxVertices,
    if_match: RequiredIfMatch = None,
    content_crs: ContentCrs = None,
    crs: CrsParam = None,
    repair: Repair = False,
) -> Response:
    out_crs = parse_crs(crs)
    result = await service.update_plot(
        session,
        principal,
        plot_id,
        body,
        if_match=if_match,
        crs_in=_input_crs(content_crs),
        crs_out=out_crs,
        repair=repair,
        max_vertices=max_vertices,
    )
    return _feature_response(result, out_crs)


@router.delete(
    "/plots/{plot_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Withdraw a plot (the row and its history are kept)",
    responses=problem_responses(401, 403, 404, 409, 412, 422),
)
async def withdraw_plot(
    plot_id: PlotId, principal: PlotWriter, session: SessionDep, if_match: IfMatch = None
) -> Response:
    result = await service.change_status(
        session,
        principal,
        plot_id,
        PlotStatus.withdrawn,
        if_match=if_match,
        crs_out=parse_crs(None),
        action="withdraw",
    )
    return Response(status_code=204, headers={"ETag": etag(result.version)})


@router.post(
    "/plots/{plot_id}/status",
    response_model=PlotRead,
    response_class=GeoJSONResponse,
    summary="Change the status (draft → published → reserved/under_negotiation → transferred)",
    responses=problem_responses(401, 403, 404, 409, 412, 422),
)
async def change_plot_status(
    plot_id: PlotId,
    body: StatusChange,
    principal: PlotWriter,
    session: SessionDep,
    if_match: IfMatch = None,
    crs: CrsParam = None,
) -> Response:
    out_crs = parse_crs(crs)
    result = await service.change_status(
        session, principal, plot_id, body.status, if_match=if_match, crs_out=out_crs
    )
    return _feature_response(result, out_crs)


@router.post(
    "/plots/{plot_id}/confirm",
    response_model=PlotRead,
    response_class=GeoJSONResponse,
    summary="Confirm the plot is still current (sets last_confirmed_at)",
    responses=problem_responses(401, 403, 404, 422),
)
async def confirm_plot(
    plot_id: PlotId, principal: PlotWriter, session: SessionDep, crs: CrsParam = None
) -> Response:
    out_crs = parse_crs(crs)
    result = await service.confirm_plot(session, principal, plot_id, crs_out=out_crs)
    return _feature_response(result, out_crs)


@router.get(
    "/plots/{plot_id}/history",
    response_model=Page[EventRead],
    summary="The plot's audit trail, oldest first (owning municipality and admins)",
    responses=problem_responses(401, 403, 404, 422),
)
async def plot_history(
    plot_id: PlotId,
    principal: Principal,
    session: SessionDep,
    cursor: Annotated[
        NulFreeStr | None, Query(description="`next_cursor` of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[EventRead]:
    return await service.plot_history(session, principal, plot_id, cursor=cursor, limit=limit)


@router.put(
    "/municipalities/{ags}/plots/{external_id:path}",
    response_model=PlotRead,
    response_class=GeoJSONResponse,
    summary="Create or replace a plot by the GIS system's id (idempotent)",
    responses={
        201: {"description": "Created", "model": PlotRead},
        **problem_responses(401, 403, 409, 412, 422),
    },
)
async def put_plot(
    ags: Annotated[str, Path(pattern=r"^[0-9]{8}$")],
    external_id: Annotated[str, Path(max_length=128, pattern=EXTERNAL_ID_PATTERN)],
    body: PlotReplace,
    principal: PlotWriter,
    session: SessionDep,
    max_vertices: MaxVertices,
    if_match: IfMatch = None,
    content_crs: ContentCrs = None,
    crs: CrsParam = None,
    repair: Repair = False,
) -> Response:
    out_crs = parse_crs(crs)
    result = await service.upsert_plot(
        session,
        principal,
        ags,
        external_id,
        body,
        if_match=if_match,
        crs_in=_input_crs(content_crs),
        crs_out=out_crs,
        repair=repair,
        max_vertices=max_vertices,
    )
    return _feature_response(result, out_crs, status_code=201 if result.created else 200)


@router.post(
    "/plot-imports",
    response_model=PlotImportReport,
    summary="Import a FeatureCollection of plots (upsert by external_id, optionally prune)",
    responses={**problem_responses(401, 403, 409, 413, 422), **idempotency_responses(200)},
)
async def import_plots(
    request: Request,
    body: PlotImport,
    principal: PlotWriter,
    session: SessionDep,
    max_vertices: MaxVertices,
    idempotency: IdempotencyDep,
    content_crs: ContentCrs = None,
    mode: Annotated[
        ImportMode,
        Query(
            description="atomic: all or nothing (422 naming every bad feature); "
            "partial: the valid features are saved, the report names the others"
        ),
    ] = ImportMode.atomic,
    prune: Annotated[
        bool,
        Query(
            description="Withdraw the plots of the touched municipalities (and of `municipalities`"
            " in the body) that neither this import nor `keep` contains"
        ),
    ] = False,
    dry_run: Annotated[bool, Query(description="Validate and report; write nothing")] = False,
    repair: Repair = False,
) -> Response:
    options = import_service.ImportOptions(
        crs=_input_crs(content_crs),
        mode=mode,
        prune=prune,
        dry_run=dry_run,
        repair=repair,
        max_features=request.app.state.settings.max_import_features,
        max_vertices=max_vertices,
        statement_timeout_ms=request.app.state.settings.import_statement_timeout_ms,
    )

    async def run_import() -> Response:
        report = await import_service.import_plots(session, principal, body, options)
        # A concrete response, so an Idempotency-Key can store exactly what was sent.
        return JSONResponse(report.model_dump(mode="json"))

    return await idempotency.run(run_import)
