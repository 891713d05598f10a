"""`landmarket plots push` reads GeoJSON (lon/lat) and Shapefiles (Gauss-Krüger) as well."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio.raw
import pytest
import shapely
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.demo.synthetic import plot_features, points_in
from landmarket.municipalities.importer import import_file
from landmarket.plots.models import Plot
from tests.factories import make_org_with_key
from tests.plots.test_push_cli import FRM, push, running_server

AGS = ["06412000", "06413000"]


async def _reproject(session: AsyncSession, wkb: bytes, srid: int) -> bytes:
    stmt = text(
        "SELECT ST_AsBinary(ST_Transform(ST_GeomFromWKB(:wkb, 25832), CAST(:srid AS integer)))"
    )
    return bytes(await session.scalar(stmt, {"wkb": wkb, "srid": srid}))


async def _write(
    session: AsyncSession, path: Path, features: list[dict[str, Any]], *, driver: str, srid: int
) -> None:
    """Each plot as a MultiPolygon in the file's CRS, with the office's own field names."""
    geometries = []
    for feature in features:
        multi = shapely.MultiPolygon([shapely.geometry.shape(feature["geometry"])])
        geometries.append(await _reproject(session, shapely.to_wkb(multi), srid))
    columns = {
        "gis_id": [f["properties"]["external_id"] for f in features],
        # Shapefile field names have at most 10 characters.
        "bezeichnun": [f["properties"]["title"] for f in features],
        "zoning": [f["properties"]["zoning"] for f in features],
        "status": [f["properties"]["status"] for f in features],
    }
    pyogrio.raw.write(
        path,
        np.array(geometries, dtype=object),
        [np.array(v, dtype=object) for v in columns.values()],
        list(columns),
        crs=f"EPSG:{srid}",
        geometry_type="MultiPolygon",
        driver=driver,
    )


@pytest.mark.skipif(not FRM.exists(), reason="../shared/data is not beside the repository")
@pytest.mark.parametrize(
    ("name", "driver", "srid"),
    [("plots.geojson", "GeoJSON", 4326), ("plots.shp", "ESRI Shapefile", 31467)],
)
async def test_push_reads_geojson_and_shapefile(
    session: AsyncSession,
    database_url: str,
    tmp_path: Path,
    name: str,
    driver: str,
    srid: int,
) -> None:
    await import_file(session, FRM, region="frm")
    await session.commit()
    _, key = await make_org_with_key(session, "municipality", "Planungsamt", ags=AGS)
    features = plot_features(await points_in(session, AGS, 20, 11), 11, prefix="fmt")
    source = tmp_path / name
    await _write(session, source, features, driver=driver, srid=srid)

    with running_server(database_url, tmp_path) as base:
        mapping = ("--map", "bezeichnun=title")
        code, report, output = await asyncio.to_thread(push, source, base, key, *mapping)
        assert code == 0, output
        assert (report["created"], report["failed"]) == (20, 0), output
        code, report, output = await asyncio.to_thread(push, source, base, key, *mapping)
        assert (code, report["unchanged"]) == (0, 20), output

    rows = await session.execute(select(Plot.external_id, Plot.area_m2))
    stored = {external_id: area for external_id, area in rows}
    for feature in features:
        expected = shapely.geometry.shape(feature["geometry"]).area
        # Through another CRS and back: areas within 0.1 %.
        assert abs(stored[feature["properties"]["external_id"]] - expected) <= expected * 0.001
    assert await session.scalar(select(func.count()).select_from(Plot)) == 20
