"""CSV formula injection (issue 14, item 10): no cell of a CSV export starts a formula, read
with the delimiter it was written with or with the other one (a German Excel opens a comma
file with semicolons), and text cells are quoted."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.reports.exporters.csv_export import CsvWriter
from tests.helpers import bearer
from tests.matching.world import insert_plot
from tests.reports.world import FRANKFURT, ORIGIN, ReportWorld

BOM = "\ufeff"
# What a spreadsheet may evaluate at the start of a cell (the oracle, kept apart from the code).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "|", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# Each hides a formula behind a delimiter, a full-width sign, a pipe, a quote or a line
# break; the plain ones at the start are the classic cases.
PAYLOADS = [
    ";=1+1",
    "a,=1+1",
    "Halle 3;+49 69 123",
    "x\t=cmd",
    "x|=cmd",
    "|cmd",
    "\uff1d1+1",
    "a;\uff0b1",
    "b,\uff0d1",
    "c;\uff20SUM(A1)",
    'q;"=1+1"',
    'q,""=1+1',
    "r; =1",
    "s\n=2+2",
    "t\r@x",
    "u;\t-3",
    '=HYPERLINK("http://evil.example","click")',
    "-2+3",
]
# A number the writer produced (e.g. -1,5 split at its decimal comma) cannot carry a formula.
NUMBER = re.compile(r"-?\d+([.,]\d+)?")


def _cells(text: str, delimiter: str) -> list[str]:
    # Universal newlines: a CR alone ends a line for a spreadsheet, as CRLF and LF do.
    lines = io.StringIO(text, newline=None)
    return [cell for row in csv.reader(lines, delimiter=delimiter) for cell in row]


def _assert_no_formula(text: str) -> None:
    for delimiter in (",", ";", "\t", "|"):
        for cell in _cells(text, delimiter):
            if NUMBER.fullmatch(cell):
                continue
            assert not cell.startswith(FORMULA_STARTS), (delimiter, cell)


@pytest.mark.parametrize("semicolon", [False, True])
def test_csv_writer_neutralises_formulas_after_any_delimiter(semicolon: bool) -> None:
    writer = CsvWriter(semicolon)
    rows: list[list[Any]] = [["title", "area", "note"]]
    rows += [[payload, -1.5, payload] for payload in PAYLOADS]
    text = writer.rows(rows)
    _assert_no_formula(text)
    # Read as written: every text cell comes back whole (with its apostrophes), numbers too.
    back = list(csv.reader(io.StringIO(text, newline=""), delimiter=";" if semicolon else ","))
    assert len(back) == len(rows)
    for payload, row in zip(PAYLOADS, back[1:], strict=True):
        assert row[0].replace("'", "") == payload.replace("'", "")
        assert row[1] == ("-1,5" if semicolon else "-1.5")
    # Text is quoted, numbers are not.
    assert text.splitlines()[1].startswith('"') and ',-1.5,"' in text.replace(";-1,5;", ",-1.5,")


async def test_plot_export_csv_has_no_formula_with_either_delimiter(
    client: httpx.AsyncClient, session: AsyncSession, rworld: ReportWorld
) -> None:
    x, y = ORIGIN[FRANKFURT]
    for i, title in enumerate(PAYLOADS):
        await insert_plot(session, FRANKFURT, x=x + 200 * i, y=y + 700, side=20, title=title)
    for delimiter in ("comma", "semicolon"):
        r = await client.get(
            "/v1/exports/plots",
            params={"region": "frm", "format": "csv", "delimiter": delimiter, "lang": "en"},
            headers=bearer(rworld.agency),
        )
        assert r.status_code == 200, r.text
        text = r.content.decode("utf-8")
        assert text.startswith(BOM)
        text = text[1:]
        _assert_no_formula(text)
        written_with = "," if delimiter == "comma" else ";"
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=written_with))
        titles = [row[rows[0].index("Title")] for row in rows[1:]]
        for payload in PAYLOADS:
            assert payload.replace("'", "") in [t.replace("'", "") for t in titles]
