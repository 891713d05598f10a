"""Match explanations a person can read: the value with its unit and the limit it was
measured against, in German (default) or English; the machine fields stay as they were."""

from __future__ import annotations

from datetime import date

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.core.i18n import fmt_number
from tests.matching.world import (
    FRANKFURT,
    ORIGIN,
    World,
    bearer,
    insert_plot,
    lonlat,
    matches,
    post_requirement,
)


async def test_explanation_texts_name_value_unit_and_limit(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    x, y = ORIGIN[FRANKFURT]
    await insert_plot(
        session,
        FRANKFURT,
        x=x,
        y=y,
        side=100,
        price_eur_per_m2=150,
        available_from=date(2099, 3, 1),
    )
    anchor = {"type": "Point", "coordinates": await lonlat(session, x + 450, y + 50)}
    created = await post_requirement(
        client,
        world.company,
        area_min_m2=5_000,
        area_max_m2=20_000,
        max_price_eur_per_m2=200,
        location={"anchor": anchor, "max_distance_km": 10},
        needed_by="2099-06-30",
    )
    (item,) = await matches(client, world.company, created["id"])
    by = {e["criterion"]: e for e in item["explanation"]}
    distance = by["distance"]
    # The machine fields as before, plus unit, limit and basis.
    assert distance["reason"] == "distance from the anchor point"
    assert distance["unit"] == "km" and distance["limit"] == 10 and distance["basis"] == "anchor"
    km = fmt_number(distance["value"], 1, "de")
    assert distance["text"] == (
        f"{km} km vom gewünschten Standort entfernt; gesucht im Umkreis von 10 km"
    )
    assert by["area"]["text"] == (
        "Fläche 10.000 m² liegt im gesuchten Bereich von 5.000 bis 20.000 m²"
    )
    assert by["price"]["text"] == "Kaufpreis 150,00 €/m²; Budget höchstens Kaufpreis 200,00 €/m²"
    assert by["availability"]["text"] == "Verfügbar ab 01.03.2099; benötigt bis 30.06.2099"
    assert by["infrastructure"]["text"] == (
        "Glasfaser: nein; Breitband: unbekannt; ÖPNV-Halt: unbekannt; Autobahn: unbekannt; "
        "Gleisanschluss: nein"
    )
    assert by["reactivation"]["text"] == (
        "Brachfläche: Wiedernutzung einer Brache oder eines Leerstands"
    )

    english = await client.get(
        f"/v1/requirements/{created['id']}/matches",
        headers={**bearer(world.company), "Accept-Language": "en"},
    )
    assert english.headers["content-language"] == "en"
    by = {e["criterion"]: e for e in english.json()["items"][0]["explanation"]}
    km = fmt_number(by["distance"]["value"], 1, "en")
    assert by["distance"]["text"] == f"{km} km from the chosen location; searched within 10 km"
    assert by["area"]["text"] == "Area 10,000 m² is within the requested 5,000 to 20,000 m²"

    features = await client.get(
        f"/v1/requirements/{created['id']}/matches",
        params={"lang": "en"},
        headers={**bearer(world.company), "Accept": "application/geo+json"},
    )
    assert features.status_code == 200, features.text
    explanation = features.json()["features"][0]["properties"]["explanation"]
    assert all(e["text"] for e in explanation)
