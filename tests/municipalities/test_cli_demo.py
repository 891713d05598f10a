"""`landmarket municipalities import|list` and the fictional demo region."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import typer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from typer.testing import CliRunner, Result

from landmarket.cli import app
from landmarket.municipalities.demo import DEMO_REGION_NAME, seed_demo_region
from landmarket.municipalities.models import Municipality, Region
from tests.municipalities.conftest import feature, square, write_geojson


class Cli:
    """Runs the command in a worker thread: it starts its own event loop with asyncio.run."""

    def __init__(self, database_url: str) -> None:
        self.runner = CliRunner(env={"LANDMARKET_DATABASE_URL": database_url})

    async def invoke(self, app: typer.Typer, args: list[str]) -> Result:
        return await asyncio.to_thread(self.runner.invoke, app, args)


@pytest.fixture
def run(database_url: str, clean_db: AsyncEngine) -> Cli:
    return Cli(database_url)


def good_file(tmp_path: Path) -> Path:
    return write_geojson(
        tmp_path / "ok.geojson",
        [
            feature({"AGS": "06411000", "GEN": "Darmstadt", "BEZ": "Stadt"}, square(0, 0, 1000)),
            feature({"AGS": "06412000", "GEN": "Frankfurt"}, square(2000, 0, 1000)),
        ],
    )


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Municipality)) or 0)


async def test_import_and_list(run: Cli, tmp_path: Path, session: AsyncSession) -> None:
    result = await run.invoke(
        app,
        [
            "municipalities",
            "import",
            str(good_file(tmp_path)),
            "--region",
            "cli",
            "--region-name",
            "CLI region",
            "--attribution",
            "© Testvermessung 2026",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Imported 2 municipalities" in result.output
    # The file's own licence line, not a fixed BKG line (this is not BKG data).
    assert "© Testvermessung 2026" in result.output
    assert "GeoBasis-DE / BKG" not in result.output
    assert await count(session) == 2

    listed = await run.invoke(app, ["municipalities", "list", "--region", "cli", "--q", "darm"])
    assert listed.exit_code == 0, listed.output
    assert "06411000" in listed.output and "06412000" not in listed.output
    unknown = await run.invoke(app, ["municipalities", "list", "--region", "nope"])
    assert unknown.exit_code == 1


async def test_import_errors_name_rows_and_write_nothing(
    run: Cli, tmp_path: Path, session: AsyncSession
) -> None:
    path = write_geojson(
        tmp_path / "bad.geojson",
        [
            feature({"AGS": "06411000", "GEN": "Darmstadt"}, square(0, 0, 1000)),
            feature({"AGS": "641100", "GEN": "Kurz"}, square(2000, 0, 1000)),
        ],
    )
    result = await run.invoke(app, ["municipalities", "import", str(path), "--region", "cli"])
    assert result.exit_code == 1
    assert "row 2" in result.output and "nothing was written" in result.output
    assert await count(session) == 0

    result = await run.invoke(
        app, ["municipalities", "import", str(path), "--region", "cli", "--skip-invalid"]
    )
    assert result.exit_code == 0, result.output
    assert "row 2" in result.output
    assert await count(session) == 1


async def test_import_options(run: Cli, tmp_path: Path, session: AsyncSession) -> None:
    path = write_geojson(
        tmp_path / "other.geojson",
        [feature({"key": "06411000", "title": "Darmstadt"}, square(0, 0, 1000))],
        epsg=None,  # GeoJSON without crs member is RFC 7946 lon/lat
    )
    result = await run.invoke(app, ["municipalities", "import", str(path), "--region", "x"])
    assert result.exit_code == 1 and "--ags-field" in result.output
    result = await run.invoke(
        app,
        [
            "municipalities",
            "import",
            str(path),
            "--region",
            "x",
            "--ags-field",
            "key",
            "--name-field",
            "title",
            "--srid",
            "25832",
        ],
    )
    assert result.exit_code == 0, result.output
    assert await count(session) == 1
    missing = await run.invoke(
        app, ["municipalities", "import", str(tmp_path / "no.shp"), "--region", "x"]
    )
    assert missing.exit_code == 1


async def test_demo_region(session: AsyncSession) -> None:
    report = await seed_demo_region(session)
    again = await seed_demo_region(session)  # idempotent

    assert (report.created, again.created, again.updated) == (12, 0, 12)
    region = await session.get(Region, "demo")
    assert region is not None and region.name == DEMO_REGION_NAME
    ags = list(await session.scalars(select(Municipality.ags).order_by(Municipality.ags)))
    assert len(ags) == 12 and all(a.startswith("99") and len(a) == 8 for a in ags)
    names = list(await session.scalars(select(Municipality.name)))
    assert all("(fiktiv)" in n for n in names)
    kinds = set(await session.scalars(select(Municipality.kind)))
    assert kinds == {"Stadt", "Gemeinde"}
    invalid = await session.scalar(
        select(func.count()).where(~func.ST_IsValid(Municipality.boundary))
    )
    assert invalid == 0
    other = Municipality.__table__.alias("other")
    overlapping = await session.scalar(
        select(func.count())
        .select_from(Municipality.__table__.join(other, Municipality.ags < other.c.ags))
        .where(func.ST_Area(func.ST_Intersection(Municipality.boundary, other.c.boundary)) > 1)
    )
    assert overlapping == 0
    total = await session.scalar(select(func.sum(Municipality.area_m2)))
    assert total == pytest.approx(12 * 16e6)  # the grid is tiled without gaps


async def test_demo_region_from_real_file(session: AsyncSession, frm_file: Path) -> None:
    report = await seed_demo_region(session, frm_file)
    assert report.created == 75 and report.region == "demo"
