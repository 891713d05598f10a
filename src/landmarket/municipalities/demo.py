"""A fictional demo region, so the service can be tried without downloading official data.

The municipalities are invented: AGS 99xxxxxx (Land code 99 is not assigned to any German
Land), names marked "(fiktiv)", boundaries a jittered grid that tiles without overlaps.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.db.base import STORAGE_SRID
from landmarket.municipalities.importer import ImportReport, import_features, import_file
from landmarket.municipalities.reader import SourceFeature

DEMO_REGION = "demo"
DEMO_REGION_NAME = "Demo-Region Musterland (synthetic)"
DEMO_ATTRIBUTION = "Fictional demo data, not official boundaries"

_NAMES = [
    ("Musterstadt", "Stadt"),
    ("Beispielheim", "Gemeinde"),
    ("Neu-Exempel", "Gemeinde"),
    ("Probstadt", "Stadt"),
    ("Testingen", "Gemeinde"),
    ("Fiktivbach", "Gemeinde"),
    ("Platzhalterdorf", "Gemeinde"),
    ("Modellhausen", "Stadt"),
    ("Annahmefeld", "Gemeinde"),
    ("Entwurfsberg", "Gemeinde"),
    ("Skizzenau", "Gemeinde"),
    ("Simulingen am Main", "Stadt"),
]
_COLUMNS, _ROWS = 4, 3
_CELL = 4000.0  # metres: 16 km² municipalities, typical for the Rhine-Main periphery
# South-west corner in EPSG:25832, in the Vogelsberg area of Hesse.
_ORIGIN = (510_000.0, 5_590_000.0)
_SEED = 20210101


def _polygon_wkb(ring: list[tuple[float, float]]) -> bytes:
    """Little-endian WKB of a one-ring Polygon (avoids a geometry library dependency)."""
    closed = [*ring, ring[0]]
    head = struct.pack("<BIII", 1, 3, 1, len(closed))
    return head + b"".join(struct.pack("<dd", x, y) for x, y in closed)


def _lattice() -> list[list[tuple[float, float]]]:
    """Grid corners; inner ones moved by at most 30 % of a cell, so every cell stays a
    simple quadrilateral and neighbours share their edges exactly (no gaps, no overlaps)."""
    rng = random.Random(_SEED)  # noqa: S311 - deterministic demo geometry, not security
    points: list[list[tuple[float, float]]] = []
    for j in range(_ROWS + 1):
        row = []
        for i in range(_COLUMNS + 1):
            x, y = _ORIGIN[0] + i * _CELL, _ORIGIN[1] + j * _CELL
            if 0 < i < _COLUMNS:
                x += rng.uniform(-0.3, 0.3) * _CELL
            if 0 < j < _ROWS:
                y += rng.uniform(-0.3, 0.3) * _CELL
            row.append((x, y))
        points.append(row)
    return points


def synthetic_features() -> list[SourceFeature]:
    """The 12 fictional municipalities, in EPSG:25832 (``STORAGE_SRID``)."""
    points = _lattice()
    features = []
    for index, (name, kind) in enumerate(_NAMES):
        j, i = divmod(index, _COLUMNS)
        ring = [points[j][i], points[j][i + 1], points[j + 1][i + 1], points[j + 1][i]]
        features.append(
            SourceFeature(
                # Land 99, Regierungsbezirk 0, Kreis 01, Gemeinde 001-012.
                ags=f"99001{index + 1:03d}",
                name=f"{name} (fiktiv)",
                kind=kind,
                wkb=_polygon_wkb(ring),
            )
        )
    return features


async def seed_demo_region(
    session: AsyncSession, municipalities_path: Path | None = None
) -> ImportReport:
    """Fill region ``demo``: the fictional municipalities, or real boundaries from a file.

    Idempotent (an upsert by AGS); flushes only, the caller commits.
    """
    if municipalities_path is not None:
        return await import_file(
            session,
            municipalities_path,
            region=DEMO_REGION,
            region_name=f"Demo-Region ({municipalities_path.name})",
        )
    return await import_features(
        session,
        synthetic_features(),
        srid=STORAGE_SRID,
        region=DEMO_REGION,
        region_name=DEMO_REGION_NAME,
    )
