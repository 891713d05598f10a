"""The regional PDF: A4 landscape pages for a council meeting, drawn with matplotlib.

Title page (scope, date, key figures, contents), key figures with the method and
confidentiality note, supply and demand charts, the map, flows and unmet demand; every page
with its number, the date and the boundary attribution. All words come from the message
catalogue in the reader's language.

Pure rendering from already suppressed tables (no database here), so a figure hidden in the
tables is hidden in the PDF too. Runs in a worker thread (it is CPU-bound), hence plain
``Figure`` objects and no pyplot, whose global state is not thread-safe.
"""

from __future__ import annotations

import io
import struct
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.cm import ScalarMappable
from matplotlib.collections import PolyCollection
from matplotlib.colors import Normalize, to_rgba
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.patheffects import withStroke
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, MaxNLocator

from landmarket.core.i18n import Lang, fmt_date, fmt_number
from landmarket.labels import catalogue as cat
from landmarket.reports.exporters.label_layout import Box, Placed, Wanted, place_labels
from landmarket.reports.matching_repository import GOOD_SCORE
from landmarket.reports.suppression import MIN_COMPANIES
from landmarket.reports.tables import Table

A4_LANDSCAPE = (11.69, 8.27)
WKB_POLYGON, WKB_MULTIPOLYGON = 3, 6
TOP = 25
# Up to a region the size of FrankfurtRheinMain, names fit on an A4 map.
LABELLED = 100
LABEL_SIZE = 6.5
INK = "#1a1a1a"
MUTED = "#555555"
ACCENT = "#2b6a4b"
HALO = [withStroke(linewidth=2.2, foreground="white")]


@dataclass(frozen=True)
class PdfInput:
    lang: Lang
    region: str  # the region's name
    scope: str  # a sentence: which municipalities
    generated: date
    key_figures: list[tuple[str, str]]  # label, formatted value
    headline: list[tuple[str, str]]  # the few shown large on the title page
    supply: Table  # by municipality
    demand: Table  # by size class
    flows: Table
    unmet: Table  # by rule
    municipalities: Table  # with WKB boundaries (EPSG:25832, metres) in "geom"
    boundaries: str  # the licence lines of the boundary sets (reports.scope)


def t(data: PdfInput, key: str, **params: Any) -> str:
    return cat.text(key, data.lang, **params)


def number(value: Any, lang: Lang, digits: int = 0) -> str:
    if value is None:
        return cat.text("suppressed", lang)
    return fmt_number(value, digits, lang)


# Page titles in order; the contents list is built from them.
SECTIONS = ("pdf.key_figures", "pdf.charts", "pdf.map", "pdf.tables")


def _page(data: PdfInput, title: str | None, n: int) -> Figure:
    fig = Figure(figsize=A4_LANDSCAPE)
    if title is not None:
        fig.text(0.04, 0.94, title, fontsize=18, weight="bold", color=INK)
        fig.text(0.96, 0.945, data.region, fontsize=10, ha="right", color=MUTED)
    day = fmt_date(data.generated, data.lang)
    footer = t(data, "pdf.footer", date=day, bkg=data.boundaries)
    fig.text(0.04, 0.025, footer, fontsize=7.5, color=MUTED)
    total = len(SECTIONS) + 1
    fig.text(
        0.96, 0.025, t(data, "pdf.page", n=n, total=total), fontsize=8, ha="right", color=MUTED
    )
    return fig


def _cover(data: PdfInput) -> Figure:
    fig = _page(data, None, 1)
    fig.patches.append(
        _rect(fig, (0.0, 0.80), 1.0, 0.2, ACCENT)  # a band across the top
    )
    fig.text(0.04, 0.90, t(data, "pdf.title"), fontsize=26, weight="bold", color="white")
    fig.text(0.04, 0.84, t(data, "pdf.subtitle"), fontsize=13, color="white")
    fig.text(0.04, 0.72, data.region, fontsize=22, weight="bold", color=INK)
    fig.text(0.04, 0.67, data.scope, fontsize=11, color=MUTED)
    day = fmt_date(data.generated, data.lang)
    fig.text(0.04, 0.62, t(data, "pdf.as_of", date=day), fontsize=13, color=INK)
    # Key figures as tiles: two rows of three.
    for i, (label, value) in enumerate(data.headline[:6]):
        x = 0.04 + (i % 3) * 0.185
        y = 0.42 - (i // 3) * 0.2
        fig.patches.append(_rect(fig, (x, y), 0.17, 0.16, "#eef4f0"))
        fig.text(x + 0.012, y + 0.085, value, fontsize=20, weight="bold", color=ACCENT)
        fig.text(x + 0.012, y + 0.025, _wrap(label, 30), fontsize=9, color=INK)
    fig.text(0.64, 0.55, t(data, "pdf.contents"), fontsize=14, weight="bold", color=INK)
    for i, key in enumerate(SECTIONS):
        y = 0.49 - i * 0.055
        fig.text(0.64, y, t(data, key), fontsize=10.5, color=INK)
        fig.text(0.96, y, str(i + 2), fontsize=11, ha="right", color=INK)
    return fig


def _rect(fig: Figure, xy: tuple[float, float], w: float, h: float, colour: str) -> Any:
    return Rectangle(xy, w, h, transform=fig.transFigure, facecolor=colour, edgecolor="none")


def _style_table(table: Any, size: float, header_rows: int = 1) -> None:
    table.auto_set_font_size(False)
    table.set_fontsize(size)
    for (row, _col), cell in table.get_celld().items():
        cell.set_edgecolor("#cccccc")
        if row < header_rows:
            cell.set_text_props(weight="bold", color=INK)
            cell.set_facecolor("#eef4f0")


def _key_figures(data: PdfInput) -> Figure:
    fig = _page(data, t(data, "pdf.key_figures"), 2)
    ax = fig.add_axes((0.04, 0.1, 0.46, 0.78))
    ax.axis("off")
    table = ax.table(
        cellText=[[k, v] for k, v in data.key_figures],
        colLabels=[t(data, "pdf.key_figure"), t(data, "pdf.value")],
        colWidths=[0.76, 0.24],
        loc="upper left",
        cellLoc="left",
    )
    _style_table(table, 10.5)
    table.scale(1, 1.75)
    fig.text(0.53, 0.86, t(data, "pdf.method"), fontsize=13, weight="bold", color=INK)
    method = t(
        data, "pdf.method_text", good=f"{GOOD_SCORE:g}", k=MIN_COMPANIES, bkg=data.boundaries
    )
    y = 0.82
    for paragraph in method.split("\n"):
        text = fig.text(0.53, y, _wrap(paragraph, 78), fontsize=9.5, va="top", color=INK)
        y -= 0.018 * (text.get_text().count("\n") + 1) + 0.025
    return fig


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width))


def _say(ax: Axes, text: str) -> None:
    """A chart that has nothing to plot says why instead of drawing an empty axis."""
    ax.axis("off")
    ax.text(
        0.5,
        0.5,
        _wrap(text, 48),
        ha="center",
        va="center",
        fontsize=11,
        color=INK,
        transform=ax.transAxes,
        bbox={"facecolor": "#f3f3f3", "edgecolor": "#cccccc", "boxstyle": "round,pad=0.8"},
    )


def _tick(value: float, lang: Lang) -> str:
    """Axis ticks with as few decimals as they need (0; 0,25; 0,5; 1; ...)."""
    places = next((d for d in (0, 1, 2) if abs(round(value, d) - value) < 1e-9), 2)
    return fmt_number(value, places, lang)


def _charts(data: PdfInput) -> Figure:
    lang = data.lang
    fig = _page(data, t(data, "pdf.charts"), 3)
    left = fig.add_axes((0.2, 0.1, 0.33, 0.76))
    rows = sorted(data.supply.rows, key=lambda r: r["area_ha"] or 0.0, reverse=True)[:TOP]
    rows = [r for r in rows if r["area_ha"]]
    fmt = FuncFormatter(lambda v, _pos: _tick(v, lang))
    if rows:
        rows.reverse()
        # Fixed slots, the largest on top: a region of two municipalities gets bars as thick
        # as one of twenty-five, not two bars filling the page.
        slots = max(len(rows), 12)
        ys = list(range(slots - len(rows), slots))
        names = [r["municipality"] for r in rows]
        left.barh(
            ys,
            [r["area_ha"] for r in rows],
            height=0.7,
            color="#9ecae1",
            label=t(data, "pdf.listed"),
        )
        left.barh(
            ys,
            [r["available_now_area_ha"] for r in rows],
            height=0.7,
            color="#3182bd",
            label=t(data, "pdf.available_now"),
        )
        left.set_yticks(ys, names)
        left.set_ylim(-0.6, slots - 0.4)
        left.set_xlabel(t(data, "pdf.hectares"))
        left.xaxis.set_major_formatter(fmt)
        left.legend(loc="lower right", fontsize=9)
        left.tick_params(axis="y", labelsize=8)
        left.spines[["top", "right"]].set_visible(False)
    else:
        _say(left, t(data, "pdf.no_supply"))
    left.set_title(t(data, "pdf.supply_chart", n=len(rows)), fontsize=12, loc="left")

    right = fig.add_axes((0.62, 0.16, 0.34, 0.7))
    right.set_title(t(data, "pdf.demand_chart"), fontsize=12, loc="left")
    demand = data.demand.rows
    counts = [r["requirements"] for r in demand]
    visible = [c for c in counts if c is not None]
    if not demand or (visible and len(visible) == len(counts) and sum(visible) == 0):
        _say(right, t(data, "pdf.no_demand"))
    elif not visible:
        _say(right, t(data, "pdf.all_suppressed", k=MIN_COMPANIES))
    else:
        classes = [cat.enum_label("size_class", r["size_class"], lang) for r in demand]
        bars = right.bar(classes, [c or 0 for c in counts], width=0.6, color="#e6550d")
        for bar, count in zip(bars, counts, strict=True):
            right.annotate(
                number(count, lang),
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=9,
                style="italic" if count is None else "normal",
            )
        right.set_xlabel(t(data, "pdf.size_axis"))
        right.set_ylabel(t(data, "pdf.demand_axis"))
        right.yaxis.set_major_locator(MaxNLocator(integer=True))
        right.yaxis.set_major_formatter(fmt)
        right.set_ylim(0, max(visible) * 1.15 or 1)
        right.tick_params(axis="x", labelsize=8, rotation=20)
        right.spines[["top", "right"]].set_visible(False)
        if len(visible) < len(counts):
            fig.text(
                0.62, 0.06, t(data, "pdf.some_suppressed", k=MIN_COMPANIES), fontsize=8, color=MUTED
            )
    return fig


def outer_rings(wkb: bytes) -> list[Any]:
    """The outer rings of a WKB (Multi)Polygon as (n, 2) arrays, read with numpy: parsing the
    same boundaries as GeoJSON text took 0.4 s for Germany's 10,997 municipalities."""
    data = memoryview(wkb)
    rings: list[Any] = []

    def header(pos: int) -> tuple[str, int, int]:
        order = "<" if data[pos] == 1 else ">"
        (kind,) = struct.unpack_from(order + "I", data, pos + 1)
        (count,) = struct.unpack_from(order + "I", data, pos + 5)
        return order, kind & 0xFF, count

    def polygon(pos: int) -> int:
        order, _kind, nrings = header(pos)
        pos += 9
        for i in range(nrings):
            (npoints,) = struct.unpack_from(order + "I", data, pos)
            pos += 4
            if i == 0 and npoints:
                dtype = np.dtype(order + "f8")
                rings.append(np.frombuffer(data, dtype, 2 * npoints, pos).reshape(-1, 2))
            pos += 16 * npoints
        return pos

    _order, kind, count = header(0)
    if kind == WKB_POLYGON:
        polygon(0)
    elif kind == WKB_MULTIPOLYGON:
        pos = 9
        for _ in range(count):
            pos = polygon(pos)
    return rings


def _anchor(ring: Any) -> tuple[float, float]:
    """The area centroid of a ring (shoelace); the vertex mean if it is degenerate."""
    x, y = ring[:, 0], ring[:, 1]
    cross = x[:-1] * y[1:] - x[1:] * y[:-1]
    area = cross.sum() / 2
    if abs(area) < 1e-12:
        return float(x.mean()), float(y.mean())
    cx = ((x[:-1] + x[1:]) * cross).sum() / (6 * area)
    cy = ((y[:-1] + y[1:]) * cross).sum() / (6 * area)
    return float(cx), float(cy)


def _ring_area(ring: Any) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return abs(float((x[:-1] * y[1:] - x[1:] * y[:-1]).sum()) / 2)


@dataclass
class MapLabels:
    """What the map page placed: the label artists (for checks) and the numbered list."""

    texts: list[Text]
    numbered: list[tuple[int, str]]


def _draw_labels(
    fig: Figure,
    ax: Axes,
    names: list[str],
    anchors: list[tuple[float, float]],
    weights: list[float],
) -> MapLabels:
    """Collision-free labels (``label_layout``): measured with the Agg renderer at the
    figure's resolution; everything scales with the page, so the PDF keeps the layout."""
    canvas = FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
    ax.apply_aspect()
    prop = FontProperties(size=LABEL_SIZE)
    to_display = ax.transData.transform
    order = sorted(range(len(names)), key=lambda i: -weights[i])
    wanted = []
    for i in order:
        w, h, _d = renderer.get_text_width_height_descent(names[i], prop, ismath=False)
        nw, nh, _d = renderer.get_text_width_height_descent(str(len(names)), prop, ismath=False)
        x, y = to_display(anchors[i])
        wanted.append(Wanted(names[i], (float(x), float(y)), (w, h), (nw, nh)))
    bb = ax.bbox
    frame = Box(bb.x0, bb.y0, bb.x1, bb.y1)
    placed = place_labels(wanted, frame, pad=1.5)
    to_fig = fig.transFigure.inverted().transform
    texts: list[Text] = []
    numbered: list[tuple[int, str]] = []
    for p in placed:
        if p.number is not None:
            numbered.append((p.number, wanted[p.index].text))
        if p.box is None:
            continue
        cx, cy = to_fig(p.box.centre)
        texts.append(
            fig.text(
                cx,
                cy,
                p.text,
                fontsize=LABEL_SIZE,
                ha="center",
                va="center",
                color=INK,
                path_effects=HALO,
                weight="bold" if p.number is not None else "normal",
                zorder=5,
            )
        )
        if p.leader:
            _leader(fig, p, to_fig)
    numbered.sort()
    return MapLabels(texts, numbered)


def _leader(fig: Figure, p: Placed, to_fig: Callable[[Any], Any]) -> None:
    assert p.box is not None
    ax_, ay_ = p.anchor
    # The point of the box nearest the anchor.
    nx = min(max(ax_, p.box.x0), p.box.x1)
    ny = min(max(ay_, p.box.y0), p.box.y1)
    (x0, y0), (x1, y1) = to_fig((ax_, ay_)), to_fig((nx, ny))
    fig.lines.append(
        Line2D([x0, x1], [y0, y1], transform=fig.transFigure, color=INK, lw=0.4, zorder=4)
    )
    fig.lines.append(
        Line2D(
            [x0], [y0], transform=fig.transFigure, marker="o", markersize=1.6, color=INK, zorder=4
        )
    )


def map_figure(data: PdfInput, n: int = 4) -> tuple[Figure, MapLabels]:
    fig = _page(data, t(data, "pdf.map"), n)
    ax = fig.add_axes((0.04, 0.08, 0.64, 0.82))
    rows = data.municipalities.rows
    values = [r["available_now_area_ha"] or 0.0 for r in rows]
    norm = Normalize(vmin=0.0, vmax=max([*values, 1.0]))
    cmap = colormaps["YlGn"]
    # One collection for every ring: an artist per polygon took 11 s for Germany's 10,997
    # municipalities (add_patch updates the axes' limits each time).
    outlines: list[Any] = []
    colours: list[Any] = []
    # The colour map over all values at once (per value it cost 1.3 s for 10,997).
    mapped: Any = cmap(norm(values)) if values else []
    grey = to_rgba("#eeeeee")
    labelled = len(rows) <= LABELLED
    names: list[str] = []
    anchors: list[tuple[float, float]] = []
    weights: list[float] = []
    for row, value, rgba in zip(rows, values, mapped, strict=True):
        colour = tuple(rgba) if value > 0 else grey
        rings = outer_rings(row["geom"])
        outlines += rings
        colours += [colour] * len(rings)
        if rings and labelled:
            biggest = max(rings, key=_ring_area)
            names.append(row["name"])
            anchors.append(_anchor(biggest))
            weights.append(sum(_ring_area(r) for r in rings))
    # Beyond a region's size the map is drawn as an image inside the PDF: thousands of vector
    # outlines make a slow, heavy file and are too small to read anyway.
    big = len(outlines) > LABELLED
    collection = PolyCollection(
        outlines, facecolors=colours, edgecolors="#777", lw=0.1 if big else 0.4, rasterized=big
    )
    ax.add_collection(collection)
    if outlines:
        lo = np.min([r.min(axis=0) for r in outlines], axis=0)
        hi = np.max([r.max(axis=0) for r in outlines], axis=0)
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_aspect("equal")  # EPSG:25832: metres both ways
    ax.axis("off")
    cax = fig.add_axes((0.72, 0.84, 0.24, 0.02))
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=cax, orientation="horizontal")
    bar.set_label(t(data, "pdf.map_scale"), fontsize=9)
    bar.ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: _tick(v, data.lang)))
    bar.ax.tick_params(labelsize=8)
    labels = MapLabels([], [])
    if labelled:
        labels = _draw_labels(fig, ax, names, anchors, weights)
    else:
        count = fmt_number(len(rows), 0, data.lang)
        note = _wrap(t(data, "pdf.map_unlabelled", n=count), 44)
        fig.text(0.72, 0.78, note, fontsize=9, va="top", color=MUTED)
    if labels.numbered:
        fig.text(0.72, 0.77, t(data, "pdf.map_numbers"), fontsize=10, weight="bold", color=INK)
        per_column = 38
        for i, (num, name) in enumerate(labels.numbered):
            col, line = divmod(i, per_column)
            fig.text(
                0.72 + col * 0.125, 0.74 - line * 0.0165, f"{num}  {name}", fontsize=6.5, color=INK
            )
    return fig, labels


def _table_page(data: PdfInput) -> Figure:
    lang = data.lang
    fig = _page(data, t(data, "pdf.tables"), 5)
    top = fig.add_axes((0.04, 0.47, 0.92, 0.4))
    top.axis("off")
    top.set_title(t(data, "pdf.flows"), fontsize=12, loc="left")
    best = [r for r in data.flows.rows if r["kind"] == "best_match"][:12]
    cells = [[r["origin"], r["destination"], number(r["requirements"], lang)] for r in best]
    if cells:
        table = top.table(
            cellText=cells,
            colLabels=[
                t(data, "pdf.from"),
                t(data, "pdf.to"),
                cat.column_label("requirements", lang),
            ],
            colWidths=[0.4, 0.4, 0.2],
            loc="upper left",
            cellLoc="left",
        )
        _style_table(table, 10)
        table.scale(1, 1.4)
    else:
        top.text(0, 0.85, t(data, "pdf.no_flows"), fontsize=11)
    bottom = fig.add_axes((0.04, 0.08, 0.92, 0.31))
    bottom.axis("off")
    bottom.set_title(t(data, "pdf.unmet"), fontsize=12, loc="left")
    cells = [
        [
            cat.enum_label("rule", r["rule"], lang),
            number(r["requirements"], lang),
            number(r["area_min_ha"], lang, 1),
        ]
        for r in data.unmet.rows
    ]
    if cells:
        table = bottom.table(
            cellText=cells,
            colLabels=[
                cat.column_label("rule", lang),
                cat.column_label("requirements", lang),
                cat.column_label("area_min_ha", lang),
            ],
            colWidths=[0.4, 0.2, 0.4],
            loc="upper left",
            cellLoc="left",
        )
        _style_table(table, 10)
        table.scale(1, 1.4)
    else:
        bottom.text(0, 0.85, t(data, "pdf.no_unmet"), fontsize=11)
    return fig


def render_pdf(data: PdfInput) -> bytes:
    out = io.BytesIO()
    title = f"{t(data, 'pdf.title')}: {data.region}"
    metadata = {"Title": title, "Creator": "landmarket", "Subject": data.scope}
    with PdfPages(out, metadata=metadata) as pdf:
        for build in (_cover, _key_figures, _charts, lambda d: map_figure(d)[0], _table_page):
            pdf.savefig(build(data))
    return out.getvalue()
