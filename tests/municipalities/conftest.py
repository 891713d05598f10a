"""Helpers for municipality tests: small boundary files written on the fly, and the real data."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "municipalities"
FRM_FILE = DATA_DIR / "frm-75-vg5000-2021.geojson"
VG5000_DIR = DATA_DIR / "vg5000_gem_2021"


def square(x: float, y: float, size: float) -> list[list[list[float]]]:
    """A square polygon's coordinates (one closed ring)."""
    return [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]


def feature(properties: dict[str, Any], rings: Sequence[Any] | None) -> dict[str, Any]:
    geometry = {"type": "Polygon", "coordinates": rings} if rings is not None else None
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def write_geojson(path: Path, features: list[dict[str, Any]], epsg: int | None = 25832) -> Path:
    """GeoJSON with an explicit (legacy) ``crs`` member so tests can use metric coordinates."""
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if epsg is not None:
        doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{epsg}"}}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture
def frm_file() -> Path:
    if not FRM_FILE.exists():
        pytest.skip(f"real data not present: {FRM_FILE} (see ../shared/data/README.md)")
    return FRM_FILE


@pytest.fixture
def vg5000_dir() -> Path:
    if not VG5000_DIR.exists():
        pytest.skip(f"real data not present: {VG5000_DIR} (see ../shared/data/README.md)")
    return VG5000_DIR
