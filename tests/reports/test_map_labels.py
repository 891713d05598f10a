"""The PDF map's labels: no two overlap, measured on the drawn text where it was placed.

The dense case is the real one: FrankfurtRheinMain's 75 municipalities (Schwalbach, Bad Soden
and Eschborn overlapped before), drawn from the stored boundary file.
"""

from __future__ import annotations

import random
import subprocess
from datetime import date
from pathlib import Path

import pyogrio.raw
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.transforms import Bbox

from landmarket.reports import columns as cols
from landmarket.reports.exporters.label_layout import Box, Wanted, overlapping, place_labels
from landmarket.reports.exporters.pdf_report import PdfInput, map_figure
from landmarket.reports.exports.repository import MUNICIPALITY_COLUMNS
from landmarket.reports.tables import Table

FRM = Path(__file__).resolve().parents[3] / "shared/data/municipalities/frm-75-vg5000-2021.geojson"


def _frm_input(tmp_path: Path) -> PdfInput:
    # The PDF draws boundaries in EPSG:25832 as WKB, as the database hands them over.
    gpkg = tmp_path / "frm.gpkg"
    subprocess.run(
        ["ogr2ogr", "-f", "GPKG", "-t_srs", "EPSG:25832", str(gpkg), str(FRM)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    meta, _fids, geoms, fields = pyogrio.raw.read(gpkg)
    names = list(meta["fields"])
    name_at = next(i for i, n in enumerate(names) if n.lower() in ("gen", "name"))
    rnd = random.Random(7)
    rows = [
        {
            "ags": str(i),
            "name": fields[name_at][i],
            "available_now_area_ha": rnd.choice([0.0, rnd.random() * 40]),
            "geom": bytes(g),
        }
        for i, g in enumerate(geoms)
    ]
    empty = Table("x", [], [])
    return PdfInput(
        lang="de",
        region="FrankfurtRheinMain",
        scope="",
        generated=date(2026, 12, 3),
        key_figures=[],
        headline=[],
        supply=Table("supply", cols.SUPPLY, []),
        demand=empty,
        flows=empty,
        unmet=empty,
        municipalities=Table("municipalities", MUNICIPALITY_COLUMNS, rows),
        boundaries="© GeoBasis-DE / BKG 2021 (Daten verändert)",
    )


@pytest.mark.skipif(not FRM.exists(), reason=f"real boundaries not present: {FRM}")
def test_frm_map_labels_do_not_overlap(tmp_path: Path) -> None:
    data = _frm_input(tmp_path)
    fig, labels = map_figure(data)
    renderer = FigureCanvasAgg(fig).get_renderer()
    # Every municipality is named: on the map, or by number in the list beside it.
    names = {t.get_text() for t in labels.texts} | {n for _, n in labels.numbered}
    assert names == {r["name"] for r in data.municipalities.rows}
    assert {"Schwalbach am Taunus", "Bad Soden am Taunus", "Eschborn", "Frankfurt am Main"} <= {
        t.get_text() for t in labels.texts
    } | {n for _, n in labels.numbered}
    # The boxes of the text as drawn (with the page's renderer), not as planned.
    boxes = [t.get_window_extent(renderer) for t in labels.texts]
    clashes = [
        (labels.texts[i].get_text(), labels.texts[j].get_text())
        for i in range(len(boxes))
        for j in range(i + 1, len(boxes))
        if _shared_area(boxes[i], boxes[j]) > 0.5  # px²: more than touching
    ]
    assert not clashes
    # Most names fit on the map itself at this density; the list is for the rest.
    assert len(labels.numbered) < len(data.municipalities.rows) / 3
    # Dark text on every fill gets a white halo (Frankfurt am Main on dark green).
    frankfurt = next(t for t in labels.texts if t.get_text() == "Frankfurt am Main")
    assert frankfurt.get_path_effects()


def _shared_area(a: Bbox, b: Bbox) -> float:
    common = Bbox.intersection(a, b)
    return 0.0 if common is None else max(common.width, 0.0) * max(common.height, 0.0)


def test_greedy_placement_never_overlaps_even_when_crowded() -> None:
    rnd = random.Random(3)
    frame = Box(0, 0, 400, 300)
    wanted = [
        Wanted(
            f"n{i}", (rnd.uniform(0, 400), rnd.uniform(0, 300)), (rnd.uniform(20, 70), 8), (8, 8)
        )
        for i in range(400)
    ]
    placed = place_labels(wanted, frame)
    assert sorted(p.index for p in placed) == list(range(len(wanted)))  # each exactly once
    boxes = [p.box for p in placed if p.box is not None]
    assert not overlapping(boxes)
    assert all(b.inside(frame) for b in boxes)
    numbered = [p for p in placed if p.number is not None]
    assert [p.number for p in sorted(numbered, key=lambda p: p.number or 0)] == list(
        range(1, len(numbered) + 1)
    )
    # Sparse labels sit on their anchors, without leaders.
    alone = place_labels([Wanted("a", (200, 150), (40, 8), (8, 8))], frame)
    assert alone[0].box is not None and alone[0].box.centre == (200, 150) and not alone[0].leader
