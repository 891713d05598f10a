"""GET /v1/exports/plots and /v1/exports/municipalities: streamed files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from landmarket.auth.deps import Principal
from landmarket.auth.schemas import Ags
from landmarket.core.errors import problem_responses
from landmarket.core.i18n import Lang, LangDep
from landmarket.core.schemas import NulFreeStr
from landmarket.db.session import SessionDep
from landmarket.reports.exporters.geo_export import GEOJSON_MEDIA_TYPE, GPKG_MEDIA_TYPE
from landmarket.reports.exporters.xlsx_export import MEDIA_TYPE as XLSX_MEDIA_TYPE
from landmarket.reports.exports import service as exports
from landmarket.reports.render import Delimiter, language_headers
from landmarket.reports.scope import Scope, resolve
from landmarket.reports.tables import Report

router = APIRouter(tags=["exports"])
ERRORS = problem_responses(401, 403, 404, 422)


class PlotFormat(StrEnum):
    geojson = "geojson"
    gpkg = "gpkg"
    csv = "csv"
    xlsx = "xlsx"


class MunicipalityFormat(StrEnum):
    geojson = "geojson"
    gpkg = "gpkg"


MEDIA = {
    "geojson": GEOJSON_MEDIA_TYPE,
    "gpkg": GPKG_MEDIA_TYPE,
    "csv": "text/csv; charset=utf-8",
    "xlsx": XLSX_MEDIA_TYPE,
}
Region = Annotated[NulFreeStr | None, Query(description="Region slug; required for agency keys")]
Municipalities = Annotated[list[Ags] | None, Query(description="Only these AGS")]


def _download(
    body: AsyncIterator[bytes], fmt: str, stem: str, scope: Scope, lang: Lang | None
) -> Response:
    """``lang``: the language of labels in the file (None: machine names only)."""
    name = f"{stem}-{scope.region or 'all'}-{datetime.now(UTC):%Y%m%d}.{fmt}"
    return StreamingResponse(
        body,
        media_type=MEDIA[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            **(language_headers(lang) if lang else {}),
        },
    )


def _engine(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.engine
    return engine


def _meta(scope: Scope, name: str) -> Report:
    return Report(
        name,
        scope.region,
        scope.region_name,
        scope.filters(),
        datetime.now(UTC),
        [],
        notes=["note.plots"],
        chosen=scope.chosen,
        boundary_attribution=scope.boundary_attribution,
    )


@router.get(
    "/exports/plots",
    summary="Supply plots of the scope as GeoJSON, GeoPackage, CSV or XLSX (streamed)",
    responses={200: {"content": {m: {} for m in MEDIA.values()}}, **ERRORS},
)
async def export_plots(
    request: Request,
    principal: Principal,
    session: SessionDep,
    lang: LangDep,
    region: Region = None,
    municipalities: Municipalities = None,
    format: PlotFormat = PlotFormat.geojson,
    delimiter: Delimiter = Delimiter.comma,
) -> Response:
    """GeoJSON and GeoPackage keep the machine names and values (for GIS); CSV and XLSX are
    for people: labels with units, enum names, rounded numbers in ``lang``."""
    scope = await resolve(session, principal, region, municipalities)
    engine = _engine(request)
    body: AsyncIterator[bytes]
    if format is PlotFormat.geojson:
        body = exports.plots_geojson(engine, scope)
    elif format is PlotFormat.csv:
        body = exports.plots_csv(engine, scope, delimiter is Delimiter.semicolon, lang)
    elif format is PlotFormat.gpkg:
        body = exports.plots_gpkg(engine, scope)
    else:
        body = exports.plots_xlsx(engine, scope, _meta(scope, "plots"), lang)
    human = format in (PlotFormat.csv, PlotFormat.xlsx)
    return _download(body, format.value, "plots", scope, lang if human else None)


@router.get(
    "/exports/municipalities",
    summary="Supply and demand per municipality on its boundary, for choropleth maps",
    responses={200: {"content": {GEOJSON_MEDIA_TYPE: {}, GPKG_MEDIA_TYPE: {}}}, **ERRORS},
)
async def export_municipalities(
    principal: Principal,
    session: SessionDep,
    region: Region = None,
    municipalities: Municipalities = None,
    format: MunicipalityFormat = MunicipalityFormat.geojson,
) -> Response:
    scope = await resolve(session, principal, region, municipalities)
    geometry = "geojson" if format is MunicipalityFormat.geojson else "wkb"
    table = await exports.municipalities_table(session, scope, geometry, date.today())
    if format is MunicipalityFormat.geojson:
        body: Any = exports.municipalities_geojson(table)
        return Response(body, media_type=GEOJSON_MEDIA_TYPE)
    return _download(exports.municipalities_gpkg(table), "gpkg", "municipalities", scope, None)
