"""Mapping files: the shipped examples load; mistakes are refused naming the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from landmarket.plots_push.mapping import MappingError, load_mapping

EXAMPLES = Path(__file__).resolve().parents[2] / "docs/examples"


def test_shipped_examples_load() -> None:
    kataster = load_mapping(EXAMPLES / "gewerbeflaechenkataster.toml")
    assert (kataster.id_field, kataster.layer) == ("FLAECHEN_ID", "flaechen")
    assert kataster.rules["category"].values["Brachfläche"] == "brownfield"
    assert kataster.rules["min_divisible_area_m2"].unit == "ha"
    points = load_mapping(EXAMPLES / "punktregister.toml")
    assert (points.x, points.y, points.crs) == ("RECHTSWERT", "HOCHWERT", "EPSG:31467")
    assert (points.point_area_field, points.point_area_unit) == ("GROESSE_HA", "ha")


def test_yaml_mapping(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    path = tmp_path / "m.yaml"
    path.write_text(
        "source:\n  id_field: NR\nfields:\n  title: NAME\n  category:\n    source: ART\n"
        "    values: {Brache: brownfield}\n",
        encoding="utf-8",
    )
    mapping = load_mapping(path)
    assert mapping.id_field == "NR" and mapping.rules["title"].source == "NAME"
    assert mapping.rules["category"].values == {"Brache": "brownfield"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[fields.kategorie]\nsource = "K"\n', "'kategorie' is not a plot property"),
        ('[fields.title]\nsrc = "T"\n', "unknown key(s) ['src']"),
        ('[fields.price_eur_per_m2]\nsource = "P"\ndecimal = ";"\n', "decimal must be"),
        ("[fields.title]\nunit = 'ha'\n", "needs a source column or a default"),
        ('[source]\nlayr = "x"\n', "unknown key(s) ['layr']"),
        ("[source]\nmerge = 'yes'\n", "merge must be true or false"),
        ("[quelle]\n", "unknown table(s) ['quelle']"),
        ("title = \n", "not valid TOML"),
    ],
)
def test_mistakes_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "m.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError, match=re.escape(message)):
        load_mapping(path)
    with pytest.raises(MappingError, match="No such file"):
        load_mapping(tmp_path / "missing.toml")
