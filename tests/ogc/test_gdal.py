"""Acceptance: GDAL's OGC API Features client (ogrinfo, ogr2ogr) reads a real `landmarket
serve` on 127.0.0.1, as a GIS user would."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pyogrio.raw
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.plots.models import Plot
from tests.ogc.conftest import ORIGIN, OgcWorld
from tests.plots.test_push_cli import running_server

pytestmark = pytest.mark.skipif(
    shutil.which("ogrinfo") is None or shutil.which("ogr2ogr") is None,
    reason="GDAL's command-line tools (ogrinfo, ogr2ogr from gdal-bin) are not installed",
)
PUBLIC_FIELDS = {"external_id", "municipality_ags", "title", "zoning", "area_m2", "updated_at"}


def run(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def lonlat_box(
    session: AsyncSession, x0: float, y0: float, x1: float, y1: float
) -> list[float]:
    box = func.ST_Transform(func.ST_MakeEnvelope(x0, y0, x1, y1, 25832), 4326)
    row = (
        await session.execute(
            select(func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box))
        )
    ).one()
    return [float(v) for v in row]


async def test_ogrinfo_and_ogr2ogr_read_the_service(
    session: AsyncSession, ogc_world: OgcWorld, database_url: str, tmp_path: Path
) -> None:
    published = ogc_world.published
    with running_server(database_url, tmp_path) as base:
        info = run("ogrinfo", "-ro", "-so", f"OAPIF:{base}/ogc", "plots")
        assert "Layer name: plots" in info, info
        assert f"Feature Count: {len(published)}\n" in info, info
        # GDAL 3.6 has no -json for ogrinfo: fields are the "name: Type (w.p)" lines.
        fields = set(re.findall(r"^(\w+): \w+", info, flags=re.MULTILINE))
        assert fields >= PUBLIC_FIELDS
        assert not fields & {"contact", "status", "version", "last_confirmed_at", "created_at"}

        # The Frankfurt square only: its plots and none of the neighbours 1 km east.
        x0, y0 = ORIGIN["06412000"]
        spat = await lonlat_box(session, x0, y0, x0 + 1000, y0 + 1000)
        out = tmp_path / "out.gpkg"
        run(
            "ogr2ogr",
            "-f",
            "GPKG",
            str(out),
            f"OAPIF:{base}/ogc",
            "plots",
            "-spat",
            *(f"{v:.7f}" for v in spat),
        )
    meta, _, _, columns = pyogrio.raw.read(out, layer="plots", read_geometry=False)
    ids = sorted(columns[list(meta["fields"]).index("external_id")])
    expected = sorted(
        str(r["external_id"]) for r in published if r["municipality_ags"] == "06412000"
    )
    assert ids == expected and ids
    stored = await session.scalar(select(func.count()).select_from(Plot))
    assert stored == len(ogc_world.rows)
