"""Matches through the API: ranking, explanation, states, inquiries, plots published later."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.matching.world import (
    FRANKFURT,
    OFFENBACH,
    ORIGIN,
    World,
    bearer,
    insert_plot,
    matches,
    post_requirement,
)


async def test_requirement_matches_existing_plots_ranked_and_explained(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    x, y = ORIGIN[FRANKFURT]
    # Acme is based in Offenbach, east of Frankfurt: the eastern plot is nearer and cheaper.
    near = await insert_plot(session, FRANKFURT, x=x + 800, y=y, side=100, price_eur_per_m2=50)
    far = await insert_plot(session, FRANKFURT, x=x, y=y, side=100, price_eur_per_m2=150)
    await insert_plot(session, FRANKFURT, x=x, y=y + 500, side=10)  # too small
    created = await post_requirement(
        client, world.company, area_min_m2=5_000, area_max_m2=20_000, max_price_eur_per_m2=200
    )
    items = await matches(client, world.company, created["id"])
    assert [i["plot"]["id"] for i in items] == sorted(
        [str(near), str(far)], key=lambda p: p != str(near)
    )
    first = items[0]
    assert first["cross_border"] is True  # Acme is based in Offenbach
    assert first["partial"] is False
    assert first["state"] == "suggested"
    assert {e["criterion"] for e in first["explanation"]} == {
        "area",
        "distance",
        "price",
        "availability",
        "infrastructure",
        "reactivation",
    }
    assert items[0]["score"] > items[1]["score"]
