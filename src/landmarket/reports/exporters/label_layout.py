"""Collision-free map labels: greedy placement over candidate positions.

Each label has an anchor (a point inside its municipality) and a box size (measured text).
In priority order (the largest municipalities first), a label takes the first candidate
position whose box overlaps no box placed before and stays inside the map: on the anchor,
then around it at growing distances (those get a leader line back to the anchor). A label
that finds no place becomes a number: a small box placed the same way, the name going to a
numbered list beside the map. A number that finds no place either is listed without a
marker, so no two boxes on the map ever overlap. Pure geometry in display units; the PDF
draws exactly the boxes decided here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Candidate directions around the anchor (unit steps), in order of preference: right,
# left, above, below, then the diagonals.
DIRECTIONS: tuple[tuple[float, float], ...] = (
    (1, 0),
    (-1, 0),
    (0, 1),
    (0, -1),
    (1, 1),
    (-1, 1),
    (1, -1),
    (-1, -1),
)
# Distances (in box heights) tried in each direction; beyond the first a leader line is drawn.
RINGS = (0.0, 0.9, 1.8, 3.0, 4.5)
LEADER_FROM = 0.5  # every label moved off its anchor gets a leader line to it


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box) -> bool:
        return (
            self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1
        )

    def inside(self, other: Box) -> bool:
        return (
            self.x0 >= other.x0
            and self.y0 >= other.y0
            and self.x1 <= other.x1
            and self.y1 <= other.y1
        )

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2


@dataclass(frozen=True)
class Wanted:
    text: str
    anchor: tuple[float, float]
    size: tuple[float, float]  # width, height of the name's box
    number_size: tuple[float, float]  # width, height of the number's box (if it comes to it)


@dataclass(frozen=True)
class Placed:
    index: int  # into the wanted list
    text: str  # the name, or the number shown on the map
    box: Box | None  # None: listed only
    anchor: tuple[float, float]
    leader: bool
    number: int | None  # set when the name went to the list


class Grid:
    """Placed boxes in a coarse grid of buckets: an overlap test looks at a few boxes, not
    all of them."""

    def __init__(self, cell: float) -> None:
        self.cell = max(cell, 1.0)
        self.buckets: dict[tuple[int, int], list[Box]] = {}

    def _keys(self, box: Box) -> list[tuple[int, int]]:
        c = self.cell
        return [
            (i, j)
            for i in range(int(box.x0 // c), int(box.x1 // c) + 1)
            for j in range(int(box.y0 // c), int(box.y1 // c) + 1)
        ]

    def free(self, box: Box) -> bool:
        return not any(box.overlaps(o) for k in self._keys(box) for o in self.buckets.get(k, ()))

    def add(self, box: Box) -> None:
        for k in self._keys(box):
            self.buckets.setdefault(k, []).append(box)


def _candidates(anchor: tuple[float, float], w: float, h: float) -> list[tuple[Box, bool]]:
    ax, ay = anchor
    out: list[tuple[Box, bool]] = []
    for ring in RINGS:
        for dx, dy in DIRECTIONS if ring else ((0.0, 0.0),):
            # Step so that the box's near edge is ``ring`` heights from the anchor.
            cx = ax + dx * (w / 2 + ring * h if ring else 0.0)
            cy = ay + dy * (h / 2 + ring * h if ring else 0.0)
            box = Box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            out.append((box, ring >= LEADER_FROM))
    return out


def _place(
    grid: Grid, frame: Box, anchor: tuple[float, float], size: tuple[float, float]
) -> tuple[Box, bool] | None:
    for box, leader in _candidates(anchor, *size):
        if box.inside(frame) and grid.free(box):
            return box, leader
    return None


def place_labels(wanted: Sequence[Wanted], frame: Box, pad: float = 1.0) -> list[Placed]:
    """Greedy placement in the given order (put the most important first). ``pad`` widens
    every box (halo and breathing space) for the overlap test."""
    grid = Grid(max((w.size[1] for w in wanted), default=10.0) * 4)
    placed: list[Placed] = []
    unplaced: list[int] = []
    for i, w in enumerate(wanted):
        found = _place(grid, frame, w.anchor, (w.size[0] + 2 * pad, w.size[1] + 2 * pad))
        if found is None:
            unplaced.append(i)
            continue
        box, leader = found
        grid.add(box)
        placed.append(Placed(i, w.text, box, w.anchor, leader, None))
    # Numbers in the order of the list (west to east reads naturally: by anchor x).
    unplaced.sort(key=lambda i: (wanted[i].anchor[0], -wanted[i].anchor[1]))
    for number, i in enumerate(unplaced, start=1):
        w = wanted[i]
        size = (w.number_size[0] + 2 * pad, w.number_size[1] + 2 * pad)
        found = _place(grid, frame, w.anchor, size)
        if found is None:
            placed.append(Placed(i, str(number), None, w.anchor, False, number))
            continue
        box, leader = found
        grid.add(box)
        placed.append(Placed(i, str(number), box, w.anchor, leader, number))
    return placed


def overlapping(boxes: Sequence[Box]) -> list[tuple[int, int]]:
    """Pairs of overlapping boxes (for tests and assertions)."""
    return [
        (i, j)
        for i in range(len(boxes))
        for j in range(i + 1, len(boxes))
        if boxes[i].overlaps(boxes[j])
    ]
