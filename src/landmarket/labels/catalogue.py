"""The message catalogue: every human-facing word of reports, exports, the PDF and match
reasons, in German and English. Nothing human-facing is written anywhere else.

Column labels carry their unit and the number of decimals a person needs; enum values (BauNVO
area types, categories, statuses, ...) their names. Machine names stay the keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from landmarket.core.i18n import Lang


@dataclass(frozen=True)
class Label:
    de: str
    en: str
    unit: str | None = None  # a key of UNITS
    digits: int = 0  # decimals shown for numbers

    def text(self, lang: Lang) -> str:
        return self.de if lang == "de" else self.en


UNITS: dict[str, tuple[str, str]] = {
    "ha": ("ha", "ha"),
    "m2": ("m²", "m²"),
    "eur_m2": ("€/m²", "€/m²"),
    "eur_m2_month": ("€/m² je Monat", "€/m² per month"),
    "pct": ("%", "%"),
    "km": ("km", "km"),
    "m": ("m", "m"),
    "mbps": ("Mbit/s", "Mbit/s"),
    "db": ("dB(A)", "dB(A)"),
    "score": ("0–100", "0–100"),
    "days": ("Tage", "days"),
    "deg": ("°", "°"),
}


def unit_text(unit: str, lang: Lang) -> str:
    de, en = UNITS[unit]
    return de if lang == "de" else en


L = Label
COLUMNS: dict[str, Label] = {
    # keys
    "ags": L("AGS", "AGS"),
    "municipality": L("Gemeinde", "Municipality"),
    "municipality_ags": L("AGS", "AGS"),
    "name": L("Gemeinde", "Municipality"),
    "district_ags": L("Kreis (AGS)", "District (AGS)"),
    "zoning": L("Baugebiet (BauNVO)", "Area type (BauNVO)"),
    "category": L("Kategorie", "Category"),
    "status": L("Status", "Status"),
    "ownership": L("Eigentum", "Ownership"),
    "size_class": L("Größenklasse (Mindestfläche)", "Size class (minimum area)"),
    "emission_class": L("Emissionsklasse", "Emission class"),
    "sector": L("Branche (WZ/NACE)", "Sector (NACE)"),
    "rule": L("Ausschließende Regel", "Excluding rule"),
    "kind": L("Art", "Kind"),
    "origin_ags": L("Herkunft (AGS)", "Origin (AGS)"),
    "origin": L("Herkunftsgemeinde", "Home municipality"),
    "destination_ags": L("Ziel (AGS)", "Destination (AGS)"),
    "destination": L("Zielgemeinde", "Plot municipality"),
    "period": L("Zeitraum ab", "Period from"),
    # supply
    "plots": L("Flächen", "Plots"),
    "area_ha": L("Fläche", "Area", "ha", 1),
    "brownfield_vacant_area_ha": L(
        "davon Brachen und Leerstand", "of which brownfield and vacant", "ha", 1
    ),
    "available_now_area_ha": L("Sofort verfügbar", "Available now", "ha", 1),
    "available_12_months_area_ha": L(
        "Verfügbar in 12 Monaten", "Available within 12 months", "ha", 1
    ),
    "median_price_eur_per_m2": L("Median-Kaufpreis", "Median sale price", "eur_m2", 0),
    "fibre_share": L("Anteil mit Glasfaser", "Share with fibre", "pct", 1),
    "transit_500m_share": L("Anteil ÖPNV-Halt ≤ 500 m", "Share transit stop ≤ 500 m", "pct", 1),
    "supply_plots": L("Flächen im Angebot", "Plots on offer"),
    "supply_area_ha": L("Angebotsfläche", "Area on offer", "ha", 1),
    # demand
    "requirements": L("Gesuche", "Requirements"),
    "companies": L("Unternehmen", "Companies"),
    "area_min_ha": L("Mindestfläche (Summe)", "Minimum area (sum)", "ha", 1),
    "area_max_ha": L("Höchstfläche (Summe)", "Maximum area (sum)", "ha", 1),
    "jobs": L("Arbeitsplätze", "Jobs"),
    "requested_area_min_ha": L("Gesuchte Mindestfläche", "Requested minimum area", "ha", 1),
    "demand_area_min_ha": L("Gesuchte Mindestfläche", "Requested minimum area", "ha", 1),
    # matching
    "open_requirements": L("Offene Gesuche", "Open requirements"),
    "with_match": L("Gesuche mit Treffer", "Requirements with a match"),
    "with_match_share": L("Anteil mit Treffer", "Share with a match", "pct", 1),
    "with_good_match": L("Gesuche mit gutem Treffer", "Requirements with a good match"),
    "with_good_match_share": L("Anteil mit gutem Treffer", "Share with a good match", "pct", 1),
    "median_best_score": L("Median der besten Treffer", "Median best match", "score", 1),
    "cross_border_share": L(
        "Anteil über Gemeindegrenzen", "Share across municipal borders", "pct", 1
    ),
    "interest_expressed": L("Interessensbekundungen", "Interest expressed"),
    "inquiries_agreed": L("Anfragen mit Einigung", "Inquiries agreed"),
    # flows
    "exported": L("Abgegeben", "Exported"),
    "exported_companies": L("Abgegeben: Unternehmen", "Exported: companies"),
    "imported": L("Aufgenommen", "Imported"),
    "imported_companies": L("Aufgenommen: Unternehmen", "Imported: companies"),
    "local": L("Am Ort", "Local"),
    "local_companies": L("Am Ort: Unternehmen", "Local: companies"),
    "net": L("Saldo", "Net"),
    # plots
    "id": L("ID", "ID"),
    "external_id": L("Kennung der Gemeinde", "Municipality's id"),
    "title": L("Bezeichnung", "Title"),
    "description": L("Beschreibung", "Description"),
    "planning_status": L("Planungsrecht", "Planning status"),
    "emission_quota_db": L("Emissionskontingent", "Emission quota", "db", 1),
    "contamination": L("Altlasten", "Contamination"),
    "servicing": L("Erschließung", "Servicing"),
    "fibre_available": L("Glasfaser", "Fibre"),
    "broadband_mbps": L("Breitband", "Broadband", "mbps", 0),
    "transit_stop_distance_m": L("Entfernung ÖPNV-Halt", "Distance to transit stop", "m", 0),
    "motorway_distance_km": L("Entfernung Autobahn", "Distance to motorway", "km", 1),
    "rail_siding": L("Gleisanschluss", "Rail siding"),
    "tenure": L("Vergabeart", "Tenure"),
    "price_eur_per_m2": L("Kaufpreis", "Sale price", "eur_m2", 2),
    "rent_eur_per_m2_month": L("Miete/Pacht", "Rent", "eur_m2_month", 2),
    "divisible": L("Teilbar", "Divisible"),
    "min_divisible_area_m2": L("Kleinste Teilfläche", "Smallest divisible part", "m2", 0),
    "available_from": L("Verfügbar ab", "Available from"),
    "parcel_ids": L("Flurstücke", "Parcels"),
    "geometry_precision": L("Geometrie", "Geometry"),
    "area_m2": L("Fläche", "Area", "m2", 0),
    "version": L("Version", "Version"),
    "created_at": L("Angelegt", "Created"),
    "updated_at": L("Geändert", "Updated"),
    "published_at": L("Veröffentlicht", "Published"),
    "last_confirmed_at": L("Zuletzt bestätigt", "Last confirmed"),
    "lon": L("Länge", "Longitude", "deg", 6),
    "lat": L("Breite", "Latitude", "deg", 6),
    "suppressed": L("Geheimhaltung", "Suppressed"),
}


def column_label(name: str, lang: Lang) -> str:
    """``Fläche (ha)``: the label with its unit; an unknown name is shown as it is."""
    label = COLUMNS.get(name)
    if label is None:
        return name
    text = label.text(lang)
    return f"{text} ({unit_text(label.unit, lang)})" if label.unit else text


def digits(name: str) -> int:
    label = COLUMNS.get(name)
    return label.digits if label else 2


def is_share(name: str) -> bool:
    label = COLUMNS.get(name)
    return label is not None and label.unit == "pct"


# Names of the values of enum-like columns: (de, en).
_ZONING = {
    "MU": ("Urbanes Gebiet (MU)", "Urban area (MU)"),
    "MI": ("Mischgebiet (MI)", "Mixed area (MI)"),
    "MK": ("Kerngebiet (MK)", "Core area (MK)"),
    "GE": ("Gewerbegebiet (GE)", "Commercial area (GE)"),
    "GI": ("Industriegebiet (GI)", "Industrial area (GI)"),
    "SO": ("Sondergebiet (SO)", "Special area (SO)"),
    "inner_area_34": ("Innenbereich (§ 34 BauGB)", "Inner area (§ 34 BauGB)"),
    "other": ("Sonstiges", "Other"),
}
_SIZE = {
    "<1k": ("unter 1.000 m²", "under 1,000 m²"),
    "1k-5k": ("1.000–5.000 m²", "1,000–5,000 m²"),
    "5k-10k": ("5.000–10.000 m²", "5,000–10,000 m²"),
    "10k-50k": ("1–5 ha", "1–5 ha"),
    ">=50k": ("ab 5 ha", "5 ha and more"),
}
ENUMS: dict[str, dict[str, tuple[str, str]]] = {
    "zoning": _ZONING,
    "category": {
        "brownfield": ("Brachfläche", "Brownfield"),
        "vacant_building": ("Leerstehende Immobilie", "Vacant building"),
        "infill_gap": ("Baulücke", "Infill gap"),
        "commercial_site": ("Gewerbefläche", "Commercial site"),
        "greenfield_reserve": ("Reservefläche", "Greenfield reserve"),
    },
    "planning_status": {
        "binding_plan": ("Bebauungsplan", "Binding land-use plan"),
        "inner_area": ("Innenbereich (§ 34 BauGB)", "Inner area (§ 34 BauGB)"),
        "plan_in_preparation": ("Plan in Aufstellung", "Plan in preparation"),
        "none": ("Kein Planungsrecht", "None"),
    },
    "contamination": {
        "none": ("Keine", "None"),
        "suspected": ("Verdacht", "Suspected"),
        "confirmed": ("Bestätigt", "Confirmed"),
        "remediated": ("Saniert", "Remediated"),
        "unknown": ("Unbekannt", "Unknown"),
    },
    "geometry_precision": {
        "exact": ("Genau", "Exact"),
        # A point from a register turned into a square of the stated area (plots push).
        "approximate": ("Näherung (aus Punkt und Fläche)", "Approximate (from point and area)"),
    },
    "servicing": {
        "developed": ("Erschlossen", "Developed"),
        "partially_developed": ("Teilweise erschlossen", "Partially developed"),
        "undeveloped": ("Unerschlossen", "Undeveloped"),
    },
    "tenure": {
        "sale": ("Kauf", "Sale"),
        "lease": ("Miete/Pacht", "Lease"),
        "sale_or_lease": ("Kauf oder Miete", "Sale or lease"),
        "hereditary_lease": ("Erbbaurecht", "Hereditary lease"),
    },
    "ownership": {
        "municipal": ("Kommunal", "Municipal"),
        "private": ("Privat", "Private"),
        "mixed": ("Gemischt", "Mixed"),
    },
    "status": {
        "draft": ("Entwurf", "Draft"),
        "published": ("Veröffentlicht", "Published"),
        "reserved": ("Reserviert", "Reserved"),
        "under_negotiation": ("In Verhandlung", "Under negotiation"),
        "transferred": ("Vergeben", "Transferred"),
        "withdrawn": ("Zurückgezogen", "Withdrawn"),
    },
    "emission_class": {
        "non_disturbing": ("Nicht störend", "Non-disturbing"),
        "not_substantially_disturbing": (
            "Nicht wesentlich störend",
            "Not substantially disturbing",
        ),
        "not_substantially_annoying": ("Nicht erheblich belästigend", "Not substantially annoying"),
        "substantially_annoying": ("Erheblich belästigend", "Substantially annoying"),
    },
    "size_class": _SIZE,
    "rule": {
        "area": ("Flächengröße", "Area"),
        "zoning": ("Baugebiet", "Area type"),
        "tenure_or_budget": ("Vergabeart oder Budget", "Tenure or budget"),
        "availability_date": ("Verfügbarkeitstermin", "Availability date"),
        "distance": ("Entfernung", "Distance"),
        "municipalities": ("Gewünschte Gemeinden", "Chosen municipalities"),
        "search_area": ("Suchgebiet", "Search area"),
        "home_region": ("Heimatregion", "Home region"),
        "fibre": ("Glasfaser", "Fibre"),
        "rail_siding": ("Gleisanschluss", "Rail siding"),
        "developed": ("Erschließung", "Servicing"),
        "no_contamination": ("Altlastenfreiheit", "No contamination"),
        "transit_distance": ("Entfernung ÖPNV", "Transit distance"),
        "motorway_distance": ("Entfernung Autobahn", "Motorway distance"),
        "no_candidate_plots": ("Keine Flächen im Gebiet", "No plots in the scope"),
        "none": ("Erst die Kombination der Regeln", "Only the combination of rules"),
    },
    "kind": {
        "best_match": ("Bester Treffer", "Best match"),
        "interest": ("Interessensbekundung", "Interest"),
    },
    "bool": {"true": ("ja", "yes"), "false": ("nein", "no")},
}
# Columns whose values are enum names, and which set names them.
COLUMN_ENUM: dict[str, str] = {
    name: name
    for name in (
        "zoning",
        "category",
        "planning_status",
        "contamination",
        "servicing",
        "geometry_precision",
        "tenure",
        "ownership",
        "status",
        "emission_class",
        "size_class",
        "rule",
        "kind",
    )
}


def enum_label(column: str, value: str, lang: Lang) -> str:
    """The name of ``value`` in column ``column``; unknown values are shown as they are."""
    names = ENUMS.get(COLUMN_ENUM.get(column, column), {}).get(value)
    if names is None:
        return value
    return names[0] if lang == "de" else names[1]


def enum_labels(column: str, lang: Lang) -> dict[str, str] | None:
    """All value names of an enum column (for JSON clients), or None."""
    names = ENUMS.get(COLUMN_ENUM.get(column, ""))
    if names is None:
        return None
    return {k: (v[0] if lang == "de" else v[1]) for k, v in names.items()}


TEXTS: dict[str, tuple[str, str]] = {
    # report names
    "report.supply": ("Flächenangebot", "Supply"),
    "report.demand": ("Flächennachfrage", "Demand"),
    "report.matching": ("Vermittlung", "Matching"),
    "report.unmet-demand": ("Nicht bedienbare Nachfrage", "Unmet demand"),
    "report.flows": ("Verflechtungen zwischen Gemeinden", "Flows between municipalities"),
    "report.timeseries": ("Zeitreihe", "Time series"),
    "report.plots": ("Flächen", "Plots"),
    "table.supply": ("Angebot", "Supply"),
    "table.demand": ("Nachfrage", "Demand"),
    "table.matching": ("Vermittlung", "Matching"),
    "table.unmet_by_rule": ("Nach Regel", "By rule"),
    "table.unmet_by_size_class": ("Nach Größe", "By size class"),
    "table.flows": ("Verflechtungen", "Flows"),
    "table.balance": ("Saldo", "Balance"),
    "table.timeseries": ("Zeitreihe", "Time series"),
    "table.plots": ("Flächen", "Plots"),
    "table.metadata": ("Angaben", "About"),
    "total": ("Summe", "Total"),
    "suppressed": ("geheim", "suppressed"),
    "all_municipalities": ("Alle Gemeinden", "All municipalities"),
    # metadata sheet
    "meta.key": ("Angabe", "Item"),
    "meta.value": ("Wert", "Value"),
    "meta.report": ("Bericht", "Report"),
    "meta.region": ("Region", "Region"),
    "meta.scope": ("Gebiet", "Scope"),
    "meta.scope_region": ("{region}: alle {n} Gemeinden", "{region}: all {n} municipalities"),
    "meta.scope_some": (
        "{region}: {n} ausgewählte Gemeinden ({list})",
        "{region}: {n} chosen municipalities ({list})",
    ),
    "meta.scope_all": ("Alle Gemeinden der Datenbank", "Every municipality in the database"),
    "meta.generated": ("Stand", "Generated"),
    "meta.period": ("Zeitraum (angelegt)", "Period (created)"),
    "meta.period_range": ("{first} – {last}", "{first} – {last}"),
    "meta.period_all": ("gesamter Bestand", "everything"),
    "meta.group_by": ("Gruppiert nach", "Grouped by"),
    "meta.interval": ("Intervall", "Interval"),
    "meta.include_empty": ("Gemeinden ohne Flächen", "Municipalities without plots"),
    "meta.include_empty_yes": ("mit Nullzeilen aufgeführt", "listed with zero rows"),
    "meta.source": ("Datenquelle", "Source"),
    "meta.licence": ("Lizenz", "Licence"),
    "meta.suppression": ("Geheimhaltung", "Confidentiality"),
    "meta.note": ("Hinweis", "Note"),
    "meta.boundaries": ("Gemeindegrenzen", "Municipal boundaries"),
    "interval.month": ("Monat", "month"),
    "interval.quarter": ("Quartal", "quarter"),
    "interval.year": ("Jahr", "year"),
    "source": (
        "Flächen: die anbietenden Gemeinden, über landmarket; Gesuche: Unternehmen, über "
        "landmarket",
        "Plots: the listing municipalities, via landmarket; requirements: companies, via "
        "landmarket",
    ),
    # {boundaries}: the licence lines of the scope's boundary sets, as imported with them.
    "licence": ("Gemeindegrenzen: {boundaries}", "Municipal boundaries: {boundaries}"),
    "suppression_rule": (
        "Werte, die auf weniger als {k} Unternehmen beruhen, werden nicht ausgewiesen "
        "(leere Zelle, Spalte „Geheimhaltung“); ist in einer Spalte genau eine Zeile "
        "gesperrt, wird auch die nächstkleinere gesperrt, damit die Summe nichts verrät.",
        "Figures built from fewer than {k} companies are suppressed (empty cell, column "
        "'Suppressed'); when exactly one row of a column is suppressed, the next smallest is "
        "too, so the total gives nothing away.",
    ),
    # notes (report.notes holds these keys)
    "note.supply": (
        "Angebot: Flächen mit Status veröffentlicht, reserviert oder in Verhandlung. Flächen "
        "in Hektar.",
        "Supply: plots published, reserved or under negotiation. Areas in hectares.",
    ),
    "note.demand": (
        "Nachfrage: offene Gesuche von Unternehmen mit Sitz im Gebiet oder mit einem Treffer "
        "im Gebiet. Werte aus weniger als {k} Unternehmen werden nicht ausgewiesen.",
        "Demand: open requirements of companies based in the scope or matching a plot in it. "
        "Cells built from fewer than {k} companies are suppressed.",
    ),
    "note.matching": (
        "Guter Treffer: Punktzahl ab {good}. Bester Treffer: der Treffer eines Gesuchs mit der "
        "höchsten Punktzahl. Interessensbekundungen zählen Treffer mit bekundetem Interesse, "
        "in Kontakt oder abgeschlossen; Einigung: abgeschlossen mit Ergebnis Einigung.",
        "Good match: score >= {good}. Best match: a requirement's highest scoring current "
        "match. Interest expressed counts matches in interest_expressed, in_contact or "
        "closed; agreed: closed with outcome agreed.",
    ),
    "note.unmet": (
        "Offene Gesuche ohne aktuellen Treffer, gezählt nach der Vermittlungsregel, die die "
        "meisten veröffentlichten Flächen des Gebiets ausschließt.",
        "Open requirements without any current match, counted by the matching rule that "
        "excluded the most published plots of the scope (no_candidate_plots: the scope has "
        "none; none: no single rule excludes any plot).",
    ),
    "note.flows": (
        "Verflechtungen: Sitzgemeinde des Unternehmens → Gemeinde der Fläche, für den besten "
        "Treffer jedes Gesuchs und jede Interessensbekundung. Saldo: aufgenommen − abgegeben.",
        "Flows: home municipality of the company -> municipality of the plot, for each "
        "requirement's best match (kind best_match) and for every expressed interest "
        "(kind interest). Balance: best matches exported, imported and local; net = "
        "imported - exported.",
    ),
    "note.timeseries": (
        "Aus dem Änderungsprotokoll rekonstruiert: der Stand am Ende jedes Zeitraums (der "
        "letzte: heute). Angebot: Flächen im Angebotsstatus; Nachfrage: offene Gesuche von "
        "Unternehmen mit Sitz im Gebiet.",
        "Reconstructed from the audit log: the state at the end of each period (the last "
        "period: now). Supply counts plots in a supply status, demand open requirements of "
        "companies based in the scope.",
    ),
    "note.plots": (
        "Flächen im Angebot (veröffentlicht, reserviert, in Verhandlung); Länge/Breite: ein "
        "Punkt auf der Fläche (WGS 84).",
        "Plots on offer (published, reserved, under negotiation); longitude/latitude: a point "
        "on the plot (WGS 84).",
    ),
    # the regional PDF
    "pdf.title": ("Gewerbeflächen in der Region", "Commercial land in the region"),
    "pdf.subtitle": (
        "Angebot, Nachfrage und Vermittlung – Bericht für Gremien",
        "Supply, demand and matching – a report for councils",
    ),
    "pdf.as_of": ("Stand: {date}", "As of {date}"),
    "pdf.page": ("Seite {n} von {total}", "Page {n} of {total}"),
    "pdf.contents": ("Inhalt", "Contents"),
    "pdf.key_figures": ("Kennzahlen", "Key figures"),
    "pdf.key_figure": ("Kennzahl", "Key figure"),
    "pdf.value": ("Wert", "Value"),
    "pdf.method": ("Methode und Geheimhaltung", "Method and confidentiality"),
    "pdf.method_text": (
        "Angebot: Flächen, die Gemeinden veröffentlicht haben und die reserviert oder in "
        "Verhandlung sind; Entwürfe, vergebene und zurückgezogene Flächen zählen nicht. "
        "Sofort verfügbar: veröffentlicht und ohne späteres Verfügbarkeitsdatum.\n"
        "Nachfrage: offene Gesuche von Unternehmen mit Sitz im Gebiet oder mit einem "
        "Treffer im Gebiet. Treffer: Flächen, die alle Muss-Kriterien eines Gesuchs erfüllen; "
        "die Punktzahl (0–100) gewichtet Fläche, Entfernung, Preis, Verfügbarkeit, "
        "Infrastruktur und Wiedernutzung. Guter Treffer: ab {good} Punkten.\n"
        "Geheimhaltung: Jede Zahl, die auf weniger als {k} Unternehmen beruht, wird nicht "
        "ausgewiesen („geheim“). Ist in einer Spalte genau ein Wert gesperrt, wird auch der "
        "nächstkleinere gesperrt, damit die Summe ihn nicht verrät.\n"
        "Quellen: Flächen der anbietenden Gemeinden und Gesuche der Unternehmen über "
        "landmarket; Gemeindegrenzen {bkg}.",
        "Supply: plots the municipalities have published, and those reserved or under "
        "negotiation; drafts, transferred and withdrawn plots do not count. Available now: "
        "published and without a later availability date.\n"
        "Demand: open requirements of companies based in the scope or matching a plot in it. "
        "Match: a plot meeting every must-have criterion of a requirement; the score (0–100) "
        "weighs area, distance, price, availability, infrastructure and reactivation. Good "
        "match: a score of {good} or more.\n"
        "Confidentiality: any figure built from fewer than {k} companies is not shown "
        "('suppressed'). When exactly one value of a column is suppressed, the next smallest "
        "is too, so the total does not reveal it.\n"
        "Sources: plots of the listing municipalities and requirements of companies, via "
        "landmarket; municipal boundaries {bkg}.",
    ),
    "pdf.charts": ("Angebot und Nachfrage", "Supply and demand"),
    "pdf.supply_chart": (
        "Angebot: die {n} Gemeinden mit der größten Fläche",
        "Supply: the {n} municipalities with the largest area",
    ),
    "pdf.listed": ("Angebotsfläche", "Area on offer"),
    "pdf.available_now": ("davon sofort verfügbar", "of which available now"),
    "pdf.hectares": ("Hektar", "hectares"),
    "pdf.no_supply": (
        "Im Gebiet sind keine Flächen im Angebot.",
        "No plots on offer in the scope.",
    ),
    "pdf.demand_chart": ("Nachfrage nach Größenklasse", "Demand by size class"),
    "pdf.demand_axis": ("Offene Gesuche", "Open requirements"),
    "pdf.size_axis": ("Gesuchte Mindestfläche", "Requested minimum area"),
    "pdf.no_demand": ("Im Gebiet gibt es keine offenen Gesuche.", "No open requirements."),
    "pdf.all_suppressed": (
        "Alle Größenklassen beruhen auf weniger als {k} Unternehmen und werden daher nicht "
        "ausgewiesen (Geheimhaltung).",
        "Every size class is built from fewer than {k} companies and is therefore not shown "
        "(confidentiality).",
    ),
    "pdf.some_suppressed": (
        "„geheim“: beruht auf weniger als {k} Unternehmen",
        "'suppressed': built from fewer than {k} companies",
    ),
    "pdf.map": ("Sofort verfügbare Fläche je Gemeinde", "Area available now per municipality"),
    "pdf.map_scale": ("Sofort verfügbar (ha); grau: keine", "Available now (ha); grey: none"),
    "pdf.map_numbers": ("Nummerierte Gemeinden", "Numbered municipalities"),
    "pdf.map_unlabelled": (
        "{n} Gemeinden: zu viele für Namen auf einer Seite",
        "{n} municipalities: too many to name on one page",
    ),
    "pdf.tables": ("Verflechtungen und nicht bediente Nachfrage", "Flows and unmet demand"),
    "pdf.flows": (
        "Beste Treffer: Sitzgemeinde → Gemeinde der Fläche",
        "Best matches: home municipality → plot municipality",
    ),
    "pdf.from": ("von", "from"),
    "pdf.to": ("nach", "to"),
    "pdf.no_flows": ("Noch keine Treffer.", "No matches yet."),
    "pdf.unmet": (
        "Gesuche ohne Treffer nach der Regel, die die meisten Flächen ausschließt",
        "Requirements without a match, by the rule that excluded most plots",
    ),
    "pdf.no_unmet": (
        "Jedes offene Gesuch hat mindestens einen Treffer.",
        "Every open requirement has at least one match.",
    ),
    "pdf.footer": (
        "Stand {date}  ·  Flächen: die anbietenden Gemeinden, über landmarket  ·  "
        "Gemeindegrenzen: {bkg}",
        "As of {date}  ·  Plots: the listing municipalities, via landmarket  ·  Boundaries: {bkg}",
    ),
    # key figures of the PDF
    "kf.plots": ("Flächen im Angebot", "Plots on offer"),
    "kf.area": ("Angebotsfläche", "Area on offer"),
    "kf.brownfield": ("davon Brachen und Leerstand", "of which brownfield / vacant buildings"),
    "kf.now": ("Sofort verfügbar", "Available now"),
    "kf.12_months": ("Verfügbar in 12 Monaten", "Available within 12 months"),
    "kf.open": ("Offene Gesuche", "Open requirements"),
    "kf.companies": ("Suchende Unternehmen", "Companies searching"),
    "kf.with_match": ("Gesuche mit Treffer", "Requirements with a match"),
    "kf.good_match": (
        "Gesuche mit gutem Treffer (ab {good} Punkten)",
        "Requirements with a good match (score ≥ {good})",
    ),
    "kf.cross_border": (
        "Beste Treffer über Gemeindegrenzen",
        "Best matches across a municipal border",
    ),
    "kf.interest": ("Interessensbekundungen", "Interest expressed"),
    "kf.unmet": ("Gesuche ohne jeden Treffer", "Requirements without any match"),
    # match explanations (matching.explain_text): the value, its unit and the limit
    "match.area.in_range": (
        "Fläche {value} m² liegt im gesuchten Bereich von {min} bis {max} m²",
        "Area {value} m² is within the requested {min} to {max} m²",
    ),
    "match.area.partial": (
        "Fläche {value} m² ist größer als die gesuchten höchstens {max} m², aber teilbar: "
        "ein Teil passt",
        "Area {value} m² is larger than the requested maximum of {max} m² but divisible: "
        "a part fits",
    ),
    "match.distance.anchor": (
        "{value} km vom gewünschten Standort entfernt; gesucht im Umkreis von {limit} km",
        "{value} km from the chosen location; searched within {limit} km",
    ),
    "match.distance.home": (
        "{value} km von der Heimatgemeinde entfernt; bewertet bis {limit} km",
        "{value} km from the home municipality; scored up to {limit} km",
    ),
    "match.distance.none": (
        "Kein Standort und keine Heimatgemeinde angegeben: Entfernung nicht gewichtet",
        "No location and no home municipality given: distance not weighted",
    ),
    "match.price.on_request": ("Preis auf Anfrage", "Price on request"),
    "match.price.budget": (
        "{prices}; Budget höchstens {limits}",
        "{prices}; budget at most {limits}",
    ),
    "match.price.typical": (
        "{prices}; ohne Budget mit regional üblichen Preisen verglichen ({limits})",
        "{prices}; no budget given: compared with typical regional prices ({limits})",
    ),
    "match.price.sale": ("Kaufpreis {value} €/m²", "sale price {value} €/m²"),
    "match.price.rent": ("Miete {value} €/m² je Monat", "rent {value} €/m² per month"),
    "match.availability.now": ("Sofort verfügbar", "Available now"),
    "match.availability.later": ("Verfügbar ab {date}", "Available from {date}"),
    "match.availability.needed": ("benötigt bis {date}", "needed by {date}"),
    "match.infra.fibre": ("Glasfaser: {value}", "fibre: {value}"),
    "match.infra.broadband": ("Breitband: {value}", "broadband: {value}"),
    "match.infra.transit": ("ÖPNV-Halt: {value}", "transit stop: {value}"),
    "match.infra.motorway": ("Autobahn: {value}", "motorway: {value}"),
    "match.infra.rail": ("Gleisanschluss: {value}", "rail siding: {value}"),
    "match.infra.unknown": ("unbekannt", "unknown"),
    "match.reactivation.reuse": (
        "{category}: Wiedernutzung einer Brache oder eines Leerstands",
        "{category}: reactivates a brownfield or vacant building",
    ),
    "match.reactivation.infill": (
        "{category}: Innenentwicklung",
        "{category}: inner development",
    ),
    "match.reactivation.none": (
        "{category}: keine Wiedernutzungsfläche",
        "{category}: not a reactivation site",
    ),
    "match.no_category": ("Kategorie unbekannt", "Category unknown"),
}


def text(key: str, lang: Lang, **params: Any) -> str:
    de, en = TEXTS[key]
    template = de if lang == "de" else en
    return template.format(**params) if params else template
