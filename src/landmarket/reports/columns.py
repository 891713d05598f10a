"""Column definitions of every report table (names are the public field names)."""

from __future__ import annotations

from landmarket.reports.tables import Column

SUPPLY_KEYS: dict[str, list[Column]] = {
    "municipality": [Column("ags", "text"), Column("municipality", "text")],
    "district": [Column("district_ags", "text")],
    "zoning": [Column("zoning", "text")],
    "category": [Column("category", "text")],
    "status": [Column("status", "text")],
    "ownership": [Column("ownership", "text")],
}
SUPPLY = [
    Column("plots", "int"),
    Column("area_ha", "float"),
    Column("brownfield_vacant_area_ha", "float"),
    Column("available_now_area_ha", "float"),
    Column("available_12_months_area_ha", "float"),
    Column("median_price_eur_per_m2", "float"),
    Column("fibre_share", "float"),
    Column("transit_500m_share", "float"),
]

DEMAND_KEYS: dict[str, list[Column]] = {
    "size_class": [Column("size_class", "text")],
    "emission_class": [Column("emission_class", "text")],
    "sector": [Column("sector", "text")],
    "home_municipality": [Column("ags", "text"), Column("municipality", "text")],
}


def _c(name: str, kind: str = "int", guards: tuple[str, ...] = ("companies",)) -> Column:
    return Column(name, kind, confidential=True, guards=guards)  # type: ignore[arg-type]


DEMAND = [
    _c("requirements"),
    _c("companies"),
    _c("area_min_ha", "float"),
    _c("area_max_ha", "float"),
    _c("jobs"),
]
MATCHING = [
    _c("open_requirements"),
    _c("companies"),
    _c("with_match"),
    _c("with_match_share", "float"),
    _c("with_good_match"),
    _c("with_good_match_share", "float"),
    _c("median_best_score", "float"),
    _c("cross_border_share", "float"),
    _c("interest_expressed"),
    _c("inquiries_agreed"),
]
UNMET_BY_RULE = [
    Column("rule", "text"),
    _c("requirements"),
    _c("companies"),
    _c("area_min_ha", "float"),
    _c("area_max_ha", "float"),
]
UNMET_BY_SIZE = [
    Column("size_class", "text"),
    _c("requirements"),
    _c("companies"),
    _c("area_min_ha", "float"),
    _c("area_max_ha", "float"),
]
FLOWS = [
    Column("kind", "text"),
    Column("origin_ags", "text"),
    Column("origin", "text"),
    Column("destination_ags", "text"),
    Column("destination", "text"),
    _c("requirements"),
    _c("companies"),
]
BALANCE = [
    Column("ags", "text"),
    Column("municipality", "text"),
    _c("exported", guards=("exported_companies",)),
    _c("exported_companies", guards=("exported_companies",)),
    _c("imported", guards=("imported_companies",)),
    _c("imported_companies", guards=("imported_companies",)),
    _c("local", guards=("local_companies",)),
    _c("local_companies", guards=("local_companies",)),
    _c("net", guards=("exported_companies", "imported_companies")),
]
TIMESERIES = [
    Column("period", "date"),
    Column("supply_plots", "int"),
    Column("supply_area_ha", "float"),
    _c("open_requirements"),
    _c("companies"),
    _c("demand_area_min_ha", "float"),
]
