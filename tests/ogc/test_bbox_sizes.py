"""Boxes of every size in every accepted bbox-crs, on /v1/plots and on OGC items (issue 14.5).

A whole-world box used to be projected to EPSG:25832 as it was: far from 9°E the transverse
Mercator folds over, the box became a sliver and the answer was 200 with 0 features; a box
reaching to 90°W was a 500. The expected answer here is computed independently: the plots
projected into the box's CRS and compared with the plain rectangle there.
"""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.db.geo import (
    CRS84,
    EPSG_URI,
    STORAGE_AREA_LONLAT,
    STORAGE_WINDOW,
    SUPPORTED_CRS,
    Crs,
    crs_bounds,
)
from landmarket.ogc.crs import north_first
from tests.ogc.conftest import FRANKFURT, OFFENBACH, ORIGIN, OgcWorld

Box = tuple[float, float, float, float]
ITEMS = "/ogc/collections/plots/items"
CRS_URIS = list(SUPPORTED_CRS)
GERMANY: Box = (5.8, 47.2, 15.1, 55.1)
EUROPE: Box = (-25.0, 34.0, 45.0, 72.0)
ISSUE_BOX: Box = (-90.0, 0.0, 100.0, 80.0)  # a 500 before
AUSTRALIA: Box = (110.0, -45.0, 155.0, -10.0)
# Far from every plot but inside the accepted bounds of the projected CRS.
FAR_PROJECTED: dict[int, Box] = {
    25832: (-900_000.0, 100_000.0, -800_000.0, 200_000.0),
    25833: (1_800_000.0, 9_800_000.0, 1_900_000.0, 9_900_000.0),
    31467: (2_050_000.0, 4_050_000.0, 2_100_000.0, 4_100_000.0),
}


async def _extent(session: AsyncSession, wkt: str, srid_in: int, srid_out: int) -> Box:
    """The bounding box, in ``srid_out``, of a densified geometry given in ``srid_in``."""
    row = (
        await session.execute(
            text(
                "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM (SELECT "
                "ST_Extent(ST_Transform(ST_Segmentize(ST_GeomFromText(:w, CAST(:i AS integer)), "
                ":s), CAST(:o AS integer)))::box2d AS b) e"
            ),
            {"w": wkt, "i": srid_in, "o": srid_out, "s": 0.01 if srid_in == 4326 else 10.0},
        )
    ).one()
    return float(row[0]), float(row[1]), float(row[2]), float(row[3])


def _rect(box: Box) -> str:
    x0, y0, x1, y1 = box
    return f"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))"


def _within_bounds(box: Box, crs: Crs) -> Box:
    b = crs_bounds(crs)
    return max(box[0], b[0]), max(box[1], b[1]), min(box[2], b[2]), min(box[3], b[3])


async def _boxes(session: AsyncSession, crs: Crs, world: OgcWorld) -> dict[str, Box]:
    """Every size of box, in ``crs`` (x/y order)."""
    srid = crs.srid
    plot = next(r for r in world.published if r["municipality_ags"] == OFFENBACH)
    cx, cy = float(plot["x"]) + 60, float(plot["y"]) + 60  # type: ignore[arg-type]
    x0, y0 = ORIGIN[FRANKFURT]
    boxes = {
        "tiny": await _extent(session, _rect((cx - 1, cy - 1, cx + 1, cy + 1)), 25832, srid),
        "municipal": await _extent(session, _rect((x0, y0, x0 + 1000, y0 + 1000)), 25832, srid),
        "world": crs_bounds(crs),
    }
    if srid in (4326, 4258, 3857):
        for name, lonlat in (
            ("country", GERMANY),
            ("continent", EUROPE),
            ("issue", ISSUE_BOX),
            ("far", AUSTRALIA),
        ):
            boxes[name] = _within_bounds(await _extent(session, _rect(lonlat), 4326, srid), crs)
    else:
        for name, lonlat in (("country", GERMANY), ("continent", EUROPE)):
            boxes[name] = _within_bounds(await _extent(session, _rect(lonlat), 4326, srid), crs)
        boxes["far"] = FAR_PROJECTED[srid]
    return boxes


async def _expected(session: AsyncSession, box: Box, crs: Crs) -> set[str]:
    """Published plots meeting the rectangle, computed by projecting the plots (not the box)."""
    rows = await session.execute(
        text(
            "SELECT external_id FROM plots WHERE status = 'published' AND ST_Intersects("
            "ST_Transform(geom, CAST(:srid AS integer)), "
            "ST_MakeEnvelope(:x0, :y0, :x1, :y1, CAST(:srid AS integer)))"
        ),
        {"srid": crs.srid, "x0": box[0], "y0": box[1], "x1": box[2], "y1": box[3]},
    )
    return {str(r[0]) for r in rows}


def _param(box: Box, *, lat_first: bool) -> str:
    x0, y0, x1, y1 = box
    return ",".join(repr(v) for v in ((y0, x0, y1, x1) if lat_first else box))


async def _found(client: httpx.AsyncClient, path: str, params: dict[str, Any]) -> set[str]:
    r = await client.get(path, params={**params, "limit": 1000})
    assert r.status_code == 200, (path, params, r.text)
    return {f["properties"]["external_id"] for f in r.json()["features"]}


@pytest.mark.parametrize("uri", CRS_URIS)
async def test_boxes_of_every_size_on_both_endpoints(
    client: httpx.AsyncClient, session: AsyncSession, ogc_world: OgcWorld, uri: str
) -> None:
    crs = SUPPORTED_CRS[uri]
    everything = {str(r["external_id"]) for r in ogc_world.published}
    boxes = await _boxes(session, crs, ogc_world)
    for size, box in boxes.items():
        expected = await _expected(session, box, crs)
        # The sizes mean what they say (so the comparison below is not vacuous).
        if size in ("country", "continent", "world", "issue"):
            assert expected == everything, size
        elif size == "far":
            assert expected == set(), size
        elif size == "tiny":
            assert len(expected) == 1, size
        else:
            assert 0 < len(expected) < len(everything), size
        plots = await _found(
            client, "/v1/plots", {"bbox": _param(box, lat_first=False), "bbox-crs": uri}
        )
        assert plots == expected, (uri, size, box)
        ogc = await _found(
            client, ITEMS, {"bbox": _param(box, lat_first=north_first(crs)), "bbox-crs": uri}
        )
        assert ogc == expected, (uri, size, box)


async def test_the_world_box_of_the_issue_returns_every_plot(
    client: httpx.AsyncClient, ogc_world: OgcWorld
) -> None:
    everything = {str(r["external_id"]) for r in ogc_world.published}
    world = "-180,-90,180,90"
    mercator = "-20037508.34,-20037508.34,20037508.34,20037508.34"
    assert await _found(client, "/v1/plots", {"bbox": world}) == everything
    assert await _found(client, ITEMS, {"bbox": world}) == everything
    epsg = EPSG_URI.format
    assert await _found(client, "/v1/plots", {"bbox": world, "bbox-crs": epsg(4326)}) == everything
    assert await _found(client, ITEMS, {"bbox": "-90,-180,90,180", "bbox-crs": epsg(4326)}) == (
        everything
    )
    for path in ("/v1/plots", ITEMS):
        assert await _found(client, path, {"bbox": mercator, "bbox-crs": epsg(3857)}) == everything
        assert await _found(client, path, {"bbox": "-90,0,100,80", "bbox-crs": CRS84}) == everything


async def test_cql2_bbox_of_the_world_and_far_away(
    client: httpx.AsyncClient, ogc_world: OgcWorld
) -> None:
    """CQL2's BBOX goes through the same clipping as the bbox parameter."""
    everything = {str(r["external_id"]) for r in ogc_world.published}
    world = await _found(client, ITEMS, {"filter": "S_INTERSECTS(geometry, BBOX(-180,-90,180,90))"})
    assert world == everything
    far = "S_INTERSECTS(geometry, BBOX(110,-45,155,-10))"
    assert await _found(client, ITEMS, {"filter": far}) == set()
    assert await _found(client, ITEMS, {"filter": f"NOT {far}"}) == everything


@pytest.mark.parametrize("uri", CRS_URIS)
async def test_random_boxes_within_the_bounds_never_fail(
    client: httpx.AsyncClient, ogc_world: OgcWorld, uri: str
) -> None:
    crs = SUPPORTED_CRS[uri]
    min_x, min_y, max_x, max_y = crs_bounds(crs)
    rng = random.Random(uri)
    for _ in range(15):
        xs = sorted(rng.uniform(min_x, max_x) for _ in range(2))
        ys = sorted(rng.uniform(min_y, max_y) for _ in range(2))
        box = (xs[0], ys[0], xs[1], ys[1])
        await _found(client, "/v1/plots", {"bbox": _param(box, lat_first=False), "bbox-crs": uri})
        await _found(
            client, ITEMS, {"bbox": _param(box, lat_first=north_first(crs)), "bbox-crs": uri}
        )


@pytest.mark.parametrize("srid", sorted(STORAGE_WINDOW))
async def test_clip_windows_cover_the_area_of_use(session: AsyncSession, srid: int) -> None:
    """Each CRS's window holds the image of ETRS89's area of use there (within the CRS's
    bounds), and the window itself projects to storage CRS as a valid polygon."""
    crs = next(c for c in SUPPORTED_CRS.values() if c.srid == srid)
    image = _within_bounds(await _extent(session, _rect(STORAGE_AREA_LONLAT), 4326, srid), crs)
    window = STORAGE_WINDOW[srid]
    assert window[0] <= image[0] and window[1] <= image[1]
    assert window[2] >= image[2] and window[3] >= image[3]
    step = max(window[2] - window[0], window[3] - window[1]) / 256
    valid = await session.scalar(
        text(
            "SELECT ST_IsValid(ST_Transform(ST_Segmentize(ST_MakeEnvelope("
            ":x0, :y0, :x1, :y1, CAST(:srid AS integer)), :step), 25832))"
        ),
        {"x0": window[0], "y0": window[1], "x1": window[2], "y1": window[3]}
        | {"srid": srid, "step": step},
    )
    assert valid is True


@pytest.mark.parametrize(
    ("filter_crs", "world", "far_point"),
    [
        (CRS84, "POLYGON((-180 -90,180 -90,180 90,-180 90,-180 -90))", "POINT(-90 0)"),
        (
            EPSG_URI.format(4326),
            "POLYGON((-90 -180,-90 180,90 180,90 -180,-90 -180))",
            "POINT(0 -90)",
        ),
        (
            EPSG_URI.format(3857),
            "POLYGON((-2e7 -2e7,2e7 -2e7,2e7 2e7,-2e7 2e7,-2e7 -2e7))",
            "POINT(-1e7 0)",
        ),
    ],
)
async def test_cql2_geometry_literals_of_the_world_and_far_away(
    client: httpx.AsyncClient, ogc_world: OgcWorld, filter_crs: str, world: str, far_point: str
) -> None:
    """Geometry literals go through the same clip: a world polygon holds every plot, a point
    at 90°W is no 500 and meets none."""
    everything = {str(r["external_id"]) for r in ogc_world.published}

    async def found(cql: str) -> set[str]:
        return await _found(client, ITEMS, {"filter": cql, "filter-crs": filter_crs})

    assert await found(f"S_INTERSECTS(geometry, {world})") == everything
    assert await found(f"S_WITHIN(geometry, {world})") == everything
    assert await found(f"S_INTERSECTS(geometry, {far_point})") == set()
    assert await found(f"S_DISJOINT(geometry, {far_point})") == everything
    line = "LINESTRING(-180 -90,180 90)" if filter_crs == CRS84 else None
    if line is not None:
        assert await found(f"S_INTERSECTS(geometry, {line})") == set()
