"""Acceptance: a municipality pushes 1,000 plots inside real FrankfurtRheinMain municipalities
from a GeoPackage in EPSG:25832 with `landmarket plots push` against a real `landmarket serve`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio.raw
import pytest
import shapely
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.demo.synthetic import plot_features, points_in
from landmarket.municipalities.importer import import_file
from landmarket.plots.models import Plot, PlotStatus
from tests.factories import make_org_with_key
from tests.plots.conftest import table_hash
from tests.servers import serving

FRM = Path(__file__).resolve().parents[3] / "shared/data/municipalities/frm-75-vg5000-2021.geojson"
BIN = Path(sys.executable).parent
SEED = 7


@contextmanager
def running_server(database_url: str, data_dir: Path) -> Iterator[str]:
    """`landmarket serve` (no webhook worker) as a separate process on the test database."""
    env = {**os.environ, "LANDMARKET_DATABASE_URL": database_url}
    env["LANDMARKET_DATA_DIR"] = str(data_dir)
    with serving(env, data_dir / "serve.log", "--no-worker") as server:
        yield server.base


def write_gpkg(path: Path, features: list[dict[str, Any]]) -> None:
    """The GIS office's file: its own field names, EPSG:25832."""
    geometry = np.array(
        [shapely.to_wkb(shapely.geometry.shape(f["geometry"])) for f in features], dtype=object
    )
    columns = {
        "gis_id": [f["properties"]["external_id"] for f in features],
        "bezeichnung": [f["properties"]["title"] for f in features],
        "zoning": [f["properties"]["zoning"] for f in features],
        "category": [f["properties"]["category"] for f in features],
        "status": [f["properties"]["status"] for f in features],
        "fibre_available": [f["properties"]["fibre_available"] for f in features],
        "transit_stop_distance_m": [f["properties"]["transit_stop_distance_m"] for f in features],
        "parcel_ids": [",".join(f["properties"]["parcel_ids"]) for f in features],
        "internal_note": ["not for the API"] * len(features),
    }
    pyogrio.raw.write(
        path,
        geometry,
        [np.array(v, dtype=object if isinstance(v[0], str) else None) for v in columns.values()],
        list(columns),
        crs="EPSG:25832",
        geometry_type="Polygon",
        driver="GPKG",
    )


def push(path: Path, base: str, key: str, *args: str) -> tuple[int, dict[str, Any], str]:
    command = [str(BIN / "landmarket"), "plots", "push", str(path), "--api", base, "--key", key]
    command += ["--id-field", "gis_id", "--map", "bezeichnung=title", "--json", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    report = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}
    return done.returncode, report, done.stdout + done.stderr


@pytest.mark.slow
@pytest.mark.skipif(not FRM.exists(), reason="../shared/data is not beside the repository")
async def test_push_1000_plots_from_a_geopackage(
    session: AsyncSession, database_url: str, tmp_path: Path
) -> None:
    await import_file(session, FRM, region="frm")
    await session.commit()
    ags = ["06412000", "06413000", "06433012", "06438001", "06436001"]
    _, key = await make_org_with_key(session, "municipality", "Planungsamt", ags=ags)
    _, other_key = await make_org_with_key(session, "municipality", "Nachbar", ags=["06434001"])
    features = plot_features(await points_in(session, ags, 1000, SEED), SEED, prefix="gis")
    source = tmp_path / "plots.gpkg"
    write_gpkg(source, features)

    with running_server(database_url, tmp_path) as base:
        code, report, output = await asyncio.to_thread(push, source, base, key)
        assert code == 0, output
        assert (report["created"], report["failed"]) == (1000, 0), output
        assert sorted(report["municipalities"]) == sorted(ags)
        assert "internal_note" in output  # told which fields were ignored

        rows = (await session.execute(select(Plot.external_id, Plot.area_m2, Plot.title))).all()
        stored = {r.external_id: r for r in rows}
        for feature in features:
            expected = shapely.geometry.shape(feature["geometry"]).area
            row = stored[feature["properties"]["external_id"]]
            assert abs(row.area_m2 - expected) <= expected * 0.001
            assert row.title == feature["properties"]["title"]

        before = await table_hash(session)
        code, report, output = await asyncio.to_thread(
            push, source, base, key, "--batch-size", "300"
        )
        assert code == 0, output
        assert (report["unchanged"], report["created"], report["updated"]) == (1000, 0, 0)
        assert await table_hash(session) == before

        # Another municipality's key cannot write these plots (municipality derived from
        # the geometry → per-feature 403); rows unchanged, exit status 1.
        code, report, output = await asyncio.to_thread(push, source, base, other_key)
        assert code == 1
        assert report["failed"] == 1000 and {e["status"] for e in report["errors"]} == {403}
        assert await table_hash(session) == before

        # The next export lacks 100 plots: prune after all batches withdraws exactly those.
        write_gpkg(tmp_path / "fewer.gpkg", features[100:])
        args = ("--prune", "--batch-size", "400")
        code, report, output = await asyncio.to_thread(
            push, tmp_path / "fewer.gpkg", base, key, *args
        )
        assert code == 0, output
        assert (report["unchanged"], report["withdrawn"]) == (900, 100), output
        withdrawn = await session.scalars(
            select(Plot.external_id).where(Plot.status == PlotStatus.withdrawn)
        )
        assert sorted(withdrawn.all()) == sorted(
            f["properties"]["external_id"] for f in features[:100]
        )

        # One bad feature in an atomic push of several batches: nothing written, named.
        # (The 100 withdrawn plots stay out: withdrawn → published is not a legal transition.)
        current = features[100:]
        current[455]["properties"]["zoning"] = "XX"
        write_gpkg(tmp_path / "bad.gpkg", current)
        before = await table_hash(session)
        code, report, output = await asyncio.to_thread(
            push, tmp_path / "bad.gpkg", base, key, "--batch-size", "250"
        )
        assert code == 1
        # Named as the office knows it: row (feature number), column, value, expected form.
        assert [(e["row"], e["external_id"], e["field"], e["value"]) for e in report["errors"]] == [
            (456, current[455]["properties"]["external_id"], "zoning", "XX")
        ]
        assert "expected one of MU, MI" in report["errors"][0]["detail"]
        assert (report["created"], report["written"]) == (0, False)
        assert await table_hash(session) == before
