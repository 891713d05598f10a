"""Issue 14 item 6: a partial-mode import with one feature the database cannot represent (NUL
in a string) saves the others and reports that one."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.plots.models import Plot
from tests.plots.conftest import FRANKFURT, UTM, World, bearer, count, ring_25832


def _feature(i: int, **props: Any) -> dict[str, Any]:
    # 2,025 cells of 22 m in Frankfurt's 1 km square, each plot 10 m wide.
    ring = ring_25832(FRANKFURT, dx=5 + (i % 45) * 22, dy=5 + (i // 45) * 22, side=10)
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"external_id": f"f-{i}", "title": f"Plot {i}", **props},
    }


async def test_partial_import_saves_all_but_the_nul_feature_and_names_it(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    features = [_feature(i) for i in range(2_000)]
    features[1_234]["properties"]["title"] = "Lager\u0000halle"
    features[1_500]["properties"]["contact"] = {"name": "\u0000"}
    response = await client.post(
        "/v1/plot-imports",
        json={"type": "FeatureCollection", "features": features},
        params={"mode": "partial"},
        headers={**bearer(world.frankfurt), "Content-Crs": UTM},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["created"], report["failed"]) == (1_998, 2)
    named = [(e["index"], e["external_id"], e["pointer"]) for e in report["errors"]]
    assert named == [
        (1_234, "f-1234", "/features/1234/properties/title"),
        (1_500, "f-1500", "/features/1500/properties/contact/name"),
    ]
    assert all("NUL" in e["detail"] for e in report["errors"])
    assert await count(session, Plot) == 1_998
