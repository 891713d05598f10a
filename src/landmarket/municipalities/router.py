"""Regions and municipalities (public: no API key needed)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import JSONResponse

from landmarket.core.errors import problem_responses
from landmarket.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from landmarket.core.schemas import NulFreeStr
from landmarket.db.geo import content_crs_header, crs_spellings, parse_crs
from landmarket.db.session import SessionDep
from landmarket.municipalities import service
from landmarket.municipalities.schemas import (
    MunicipalityFeature,
    MunicipalityRead,
    RegionDetail,
    RegionRead,
)

router = APIRouter(tags=["regions and municipalities"])

GEOJSON_MEDIA_TYPE = "application/geo+json"
AgsPath = Annotated[
    str,
    Path(
        pattern=r"^[0-9]{8}$",
        description="Amtlicher Gemeindeschlüssel, 8 digits",
        examples=["06412000"],
    ),
]
CrsQuery = Annotated[
    NulFreeStr | None,
    Query(
        description="Output CRS as OGC URI or EPSG:n; default CRS84 (lon/lat)",
        json_schema_extra={"enum": crs_spellings()},
    ),
]


class GeoJSONResponse(JSONResponse):
    media_type = GEOJSON_MEDIA_TYPE


@router.get("/regions", response_model=list[RegionRead], summary="Regions with member counts")
async def list_regions(session: SessionDep) -> list[RegionRead]:
    return await service.list_regions(session)


@router.get(
    "/regions/{slug}",
    response_model=RegionDetail,
    summary="One region with the AGS of its member municipalities",
    responses=problem_responses(404, 422),
)
async def get_region(
    session: SessionDep, slug: Annotated[NulFreeStr, Path(max_length=63, examples=["frm"])]
) -> RegionDetail:
    return await service.get_region(session, slug)


@router.get(
    "/municipalities",
    response_model=Page[MunicipalityRead],
    summary="Municipalities by name (search, region filter, keyset pages)",
    responses=problem_responses(404, 422),
)
async def list_municipalities(
    session: SessionDep,
    response: Response,
    region: Annotated[NulFreeStr | None, Query(max_length=63, description="Region slug")] = None,
    q: Annotated[
        NulFreeStr | None,
        Query(min_length=1, max_length=200, description="Case-insensitive name substring"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[
        NulFreeStr | None, Query(description="`next_cursor` of the previous page")
    ] = None,
    include: Annotated[
        Literal["geometry"] | None, Query(description="`geometry` adds the boundaries")
    ] = None,
    crs: CrsQuery = None,
) -> Page[MunicipalityRead]:
    # Checked even without geometry: a CRS the API does not know is an error either way.
    output_crs = parse_crs(crs)
    geometry_crs = output_crs if include == "geometry" else None
    if geometry_crs is not None:
        response.headers.update(content_crs_header(geometry_crs))
    return await service.list_municipalities(
        session, region=region, q=q, cursor=cursor, limit=limit, geometry_crs=geometry_crs
    )


@router.get(
    "/municipalities/{ags}",
    response_model=MunicipalityFeature,
    response_class=GeoJSONResponse,
    summary="One municipality as a GeoJSON Feature with its boundary (crs for other CRS)",
    responses=problem_responses(404, 422),
)
async def get_municipality(session: SessionDep, ags: AgsPath, crs: CrsQuery = None) -> Response:
    output_crs = parse_crs(crs)
    feature = await service.get_municipality(session, ags, output_crs)
    return GeoJSONResponse(feature.model_dump(mode="json"), headers=content_crs_header(output_crs))
