"""The regional PDF: a few A4 landscape pages for a council meeting, drawn with matplotlib.

Pure rendering from already suppressed tables (no database here), so a figure hidden in the
tables is hidden in the PDF too. Runs in a worker thread (it is CPU-bound), hence plain
``Figure`` objects and no pyplot, whose global state is not thread-safe.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from typing import Any

from matplotlib import colormaps
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.cm import ScalarMappable
from matplotlib.collections import PolyCollection
from matplotlib.colors import Normalize, to_rgba
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from landmarket.reports.exporters.cells import DATA_ATTRIBUTION
from landmarket.reports.tables import Table

A4_LANDSCAPE = (11.69, 8.27)
HIDDEN = "suppressed"
TOP = 25
# Up to a region the size of FrankfurtRheinMain, names fit on an A4 map.
LABELLED = 100


@dataclass(frozen=True)
class PdfInput:
    title: str
    generated: str  # date shown on every page
    key_figures: list[tuple[str, str]]
    supply: Table  # by municipality
    demand: Table  # by size class
    flows: Table
    unmet: Table  # by rule
    municipalities: Table  # with geojson boundaries in "geom"
    boundaries: str  # the licence lines of the boundary sets (reports.scope)


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return HIDDEN
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _page(title: str, data: PdfInput, number: int) -> Figure:
    fig = Figure(figsize=A4_LANDSCAPE)
    fig.text(0.04, 0.95, title, fontsize=18, weight="bold")
    fig.text(0.96, 0.95, data.title, fontsize=10, ha="right", color="#555")
    footer = f"{data.generated}  ·  {DATA_ATTRIBUTION}  ·  Boundaries: {data.boundaries}"
    fig.text(0.04, 0.025, footer, fontsize=8, color="#555")
    fig.text(0.96, 0.025, f"page {number}", fontsize=8, ha="right", color="#555")
    return fig


def _cover(data: PdfInput) -> Figure:
    fig = _page("Regional land market report", data, 1)
    fig.text(0.04, 0.88, data.title, fontsize=14)
    fig.text(0.04, 0.84, f"Generated {data.generated}", fontsize=11, color="#333")
    ax = fig.add_axes((0.04, 0.12, 0.6, 0.68))
    ax.axis("off")
    table = ax.table(
        cellText=[[k, v] for k, v in data.key_figures],
        colLabels=["Key figure", "Value"],
        colWidths=[0.7, 0.3],
        loc="upper left",
        cellLoc="left",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(12)
    table.scale(1, 1.8)
    notes = (
        "Supply: plots published, reserved or under negotiation. Demand: open requirements.\n"
        "Figures built from fewer than 3 companies are suppressed (shown as 'suppressed').\n"
        f"Municipal boundaries: {data.boundaries}."
    )
    fig.text(0.67, 0.78, notes, fontsize=10, va="top", wrap=True)
    return fig


def _charts(data: PdfInput) -> Figure:
    fig = _page("Supply by municipality and demand by size class", data, 2)
    left = fig.add_axes((0.2, 0.1, 0.35, 0.78))
    rows = sorted(data.supply.rows, key=lambda r: r["area_ha"] or 0.0, reverse=True)[:TOP]
    rows.reverse()
    names = [r["municipality"] for r in rows]
    left.barh(names, [r["area_ha"] for r in rows], color="#9ecae1", label="listed area")
    left.barh(
        names, [r["available_now_area_ha"] for r in rows], color="#3182bd", label="available now"
    )
    left.set_xlabel("hectares")
    left.set_title(f"Supply (largest {min(TOP, len(rows))} municipalities)", fontsize=12)
    left.legend(loc="lower right", fontsize=9)
    left.tick_params(axis="y", labelsize=8)
    right = fig.add_axes((0.66, 0.1, 0.3, 0.78))
    classes = [r["size_class"] for r in data.demand.rows]
    counts = [r["requirements"] for r in data.demand.rows]
    bars = right.bar(classes, [c or 0 for c in counts], color="#e6550d")
    for bar, count in zip(bars, counts, strict=True):
        label = _fmt(count)
        right.annotate(label, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center")
    right.set_xlabel("requested minimum area (m²)")
    right.set_ylabel("open requirements")
    right.yaxis.set_major_locator(MaxNLocator(integer=True))
    right.set_title("Demand by size class", fontsize=12)
    return fig


def _rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    polygons = geometry["coordinates"]
    if geometry["type"] == "Polygon":
        polygons = [polygons]
    return [poly[0] for poly in polygons]


def _choropleth(data: PdfInput) -> Figure:
    fig = _page("Available area per municipality", data, 3)
    ax = fig.add_axes((0.05, 0.08, 0.75, 0.82))
    values = [r["available_now_area_ha"] or 0.0 for r in data.municipalities.rows]
    norm = Normalize(vmin=0.0, vmax=max([*values, 1.0]))
    cmap = colormaps["YlGn"]
    ys: list[float] = []
    # One collection for every ring: an artist per polygon took 11 s for Germany's 10,997
    # municipalities (add_patch updates the axes' limits each time).
    outlines: list[list[list[float]]] = []
    colours: list[Any] = []
    # The colour map over all values at once (per value it cost 1.3 s for 10,997).
    mapped: Any = cmap(norm(values)) if values else []
    grey = to_rgba("#eeeeee")
    for row, value, rgba in zip(data.municipalities.rows, values, mapped, strict=True):
        colour = tuple(rgba) if value > 0 else grey
        rings = _rings(json.loads(row["geom"]))
        for ring in rings:
            outlines.append(ring)
            colours.append(colour)
            ys += [p[1] for p in ring]
        if rings and len(data.municipalities.rows) <= LABELLED:
            biggest = max(rings, key=len)
            x = sum(p[0] for p in biggest) / len(biggest)
            y = sum(p[1] for p in biggest) / len(biggest)
            ax.annotate(row["name"], (x, y), ha="center", va="center", fontsize=6, color="#222")
    # Beyond a region's size the map is drawn as an image inside the PDF: thousands of vector
    # outlines make a slow, heavy file and are too small to read anyway.
    big = len(outlines) > LABELLED
    collection = PolyCollection(
        outlines, facecolors=colours, edgecolors="#666", lw=0.1 if big else 0.4, rasterized=big
    )
    ax.add_collection(collection)
    ax.autoscale_view()
    if ys:  # lon/lat: stretch x by 1/cos(lat) so shapes keep their proportions
        ax.set_aspect(1 / math.cos(math.radians(sum(ys) / len(ys))))
    ax.axis("off")
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.6)
    bar.set_label("available now (ha); grey: none")
    return fig


def _table_page(data: PdfInput) -> Figure:
    fig = _page("Cross-border flows and unmet demand", data, 4)
    top = fig.add_axes((0.04, 0.45, 0.92, 0.42))
    top.axis("off")
    top.set_title("Best matches: home municipality → plot municipality", fontsize=12, loc="left")
    best = [r for r in data.flows.rows if r["kind"] == "best_match"][:12]
    cells = [[r["origin"], r["destination"], _fmt(r["requirements"])] for r in best]
    if cells:
        t = top.table(
            cellText=cells,
            colLabels=["from", "to", "requirements"],
            loc="upper left",
            cellLoc="left",
        )
        t.auto_set_font_size(False)
        t.set_fontsize(11)
        t.scale(1, 1.5)
    else:
        top.text(0, 0.8, "No matches yet.", fontsize=11)
    bottom = fig.add_axes((0.04, 0.08, 0.92, 0.3))
    bottom.axis("off")
    bottom.set_title(
        "Unmet demand: requirements without a match, by the rule that excluded most plots",
        fontsize=12,
        loc="left",
    )
    cells = [
        [r["rule"], _fmt(r["requirements"]), _fmt(r["area_min_ha"], 2)] for r in data.unmet.rows
    ]
    if cells:
        t = bottom.table(
            cellText=cells,
            colLabels=["rule", "requirements", "min. area (ha)"],
            loc="upper left",
            cellLoc="left",
        )
        t.auto_set_font_size(False)
        t.set_fontsize(11)
        t.scale(1, 1.5)
    else:
        bottom.text(0, 0.8, "Every open requirement has at least one match.", fontsize=11)
    return fig


def render_pdf(data: PdfInput) -> bytes:
    out = io.BytesIO()
    with PdfPages(out, metadata={"Title": data.title, "Creator": "landmarket"}) as pdf:
        for build in (_cover, _charts, _choropleth, _table_page):
            fig = build(data)
            pdf.savefig(fig)
    return out.getvalue()
