"""Match explanations in words a person reads: the plot's value with its unit and the limit
of the requirement it was measured against, in German or English (message catalogue).

The SQL renders the machine fields (``value``, ``unit``, ``limit``, ``basis``, the English
``reason``); this adds ``text`` to each item of a page that is already JSON.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from landmarket.core.i18n import Lang, fmt_date, fmt_number
from landmarket.labels import catalogue as cat
from landmarket.matching import scoring as sc


def _n(value: Any, digits: int, lang: Lang) -> str:
    return fmt_number(float(value), digits, lang)


def _prices(value: dict[str, Any], lang: Lang, sale_key: str, rent_key: str) -> str:
    parts = []
    if value.get(sale_key) is not None:
        parts.append(cat.text("match.price.sale", lang, value=_n(value[sale_key], 2, lang)))
    if value.get(rent_key) is not None:
        parts.append(cat.text("match.price.rent", lang, value=_n(value[rent_key], 2, lang)))
    return ", ".join(parts)


def _infrastructure(value: dict[str, Any], lang: Lang) -> str:
    unknown = cat.text("match.infra.unknown", lang)

    def yes_no(flag: Any) -> str:
        return cat.enum_label("bool", "true" if flag else "false", lang)

    def measured(key: str, amount: Any, unit: str, digits: int) -> str:
        shown = unknown if amount is None else f"{_n(amount, digits, lang)} {unit}"
        return cat.text(key, lang, value=shown)

    return "; ".join(
        (
            cat.text("match.infra.fibre", lang, value=yes_no(value.get("fibre_available"))),
            measured("match.infra.broadband", value.get("broadband_mbps"), "Mbit/s", 0),
            measured("match.infra.transit", value.get("transit_stop_distance_m"), "m", 0),
            measured("match.infra.motorway", value.get("motorway_distance_km"), "km", 1),
            cat.text("match.infra.rail", lang, value=yes_no(value.get("rail_siding"))),
        )
    )


def explanation_text(item: dict[str, Any], lang: Lang) -> str:
    """One sentence for one criterion (falls back to the English reason if it cannot)."""
    criterion, basis = item.get("criterion"), item.get("basis")
    value, limit = item.get("value"), item.get("limit")
    t = cat.text
    if criterion == "area" and isinstance(limit, dict) and value is not None:
        return t(
            f"match.area.{'partial' if basis == 'partial' else 'in_range'}",
            lang,
            value=_n(value, 0, lang),
            min=_n(limit["area_min_m2"], 0, lang),
            max=_n(limit["area_max_m2"], 0, lang),
        )
    if criterion == "distance":
        if basis in ("anchor", "home") and value is not None and limit is not None:
            return t(
                f"match.distance.{basis}", lang, value=_n(value, 1, lang), limit=_n(limit, 0, lang)
            )
        return t("match.distance.none", lang)
    if criterion == "price" and isinstance(value, dict):
        if basis == "on_request":
            return t("match.price.on_request", lang)
        prices = _prices(value, lang, "price_eur_per_m2", "rent_eur_per_m2_month")
        if basis == "budget" and isinstance(limit, dict):
            limits = _prices(limit, lang, "max_price_eur_per_m2", "max_rent_eur_per_m2_month")
            return t("match.price.budget", lang, prices=prices, limits=limits)
        typical = {
            "price_eur_per_m2": sc.TYPICAL_PRICE_EUR_PER_M2,
            "rent_eur_per_m2_month": sc.TYPICAL_RENT_EUR_PER_M2_MONTH,
        }
        limits = _prices(typical, lang, "price_eur_per_m2", "rent_eur_per_m2_month")
        return t("match.price.typical", lang, prices=prices, limits=limits)
    if criterion == "availability":
        if basis == "later" and value:
            text = t(
                "match.availability.later", lang, date=fmt_date(date.fromisoformat(value), lang)
            )
        else:
            text = t("match.availability.now", lang)
        if limit:
            needed = t(
                "match.availability.needed", lang, date=fmt_date(date.fromisoformat(limit), lang)
            )
            text = f"{text}; {needed}"
        return text
    if criterion == "infrastructure" and isinstance(value, dict):
        return _infrastructure(value, lang)
    if criterion == "reactivation":
        category = (
            cat.enum_label("category", value, lang) if value else t("match.no_category", lang)
        )
        kind = basis if basis in ("reuse", "infill") else "none"
        return t(f"match.reactivation.{kind}", lang, category=category)
    return str(item.get("reason", ""))


def _add(items: list[dict[str, Any]], lang: Lang) -> None:
    for item in items:
        for entry in item.get("explanation") or []:
            entry["text"] = explanation_text(entry, lang)


def with_texts(items_json: str, lang: Lang, geojson: bool) -> str:
    """The page's items (a JSON array) with ``text`` next to every explanation's ``reason``."""
    items: list[dict[str, Any]] = json.loads(items_json)
    _add([i["properties"] for i in items] if geojson else items, lang)
    return json.dumps(items, ensure_ascii=False, separators=(",", ":"))
