"""`landmarket plots push` end to end: a merge of a few columns without a title, and a push
interrupted for good (the connection is gone) that is run again and resumes its session."""

from __future__ import annotations

import asyncio
import json
import types
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import shapely
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from landmarket.audit.models import Event
from landmarket.cli import app
from landmarket.plots.imports.session_models import ImportSession
from landmarket.plots.models import Plot
from landmarket.plots_push import cli as push_cli
from tests.plots.conftest import World
from tests.plots.test_push_cli import running_server
from tests.plots.test_push_files import boxes, run
from tests.plots.test_push_resume_runs import CountingTransport


def write_geojson(path: Path, rows: list[dict[str, Any]]) -> None:
    """A GIS export in EPSG:25832 with the office's own column names."""
    features = [
        {"type": "Feature", "geometry": shapely.geometry.mapping(box), "properties": row}
        for box, row in zip(boxes(len(rows)), rows, strict=True)
    ]
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}}
    path.write_text(json.dumps({"type": "FeatureCollection", "crs": crs, "features": features}))


async def test_merge_push_of_two_columns_without_a_title(
    session: AsyncSession, database_url: str, tmp_path: Path, world: World
) -> None:
    await session.commit()
    full = tmp_path / "full.geojson"
    write_geojson(
        full, [{"OBJ_ID": f"M{i}", "NAME": f"Fläche {i}", "KAT": "brownfield"} for i in range(3)]
    )
    partial = tmp_path / "partial.geojson"
    write_geojson(
        partial,
        [{"OBJ_ID": f"M{i}", "VERFUEGBAR": "01.03.2027", "MBIT": "1000"} for i in range(4)],
    )
    merge = ["--id-field", "OBJ_ID", "--merge", "--map", "VERFUEGBAR=available_from"]
    merge += ["--map", "MBIT=broadband_mbps"]
    with running_server(database_url, tmp_path) as base:
        args = ["--id-field", "OBJ_ID", "--map", "NAME=title", "--map", "KAT=category"]
        code, report, output = await asyncio.to_thread(run, full, base, world.frankfurt, *args)
        assert code == 0 and report["created"] == 3, output

        # Atomic: the row for a plot that does not exist yet (M3) is refused, naming the
        # title it lacks; nothing written.
        code, report, output = await asyncio.to_thread(run, partial, base, world.frankfurt, *merge)
        assert code == 1 and not report["written"], output
        (error,) = report["errors"]
        assert error["row"] == 4 and error["field"].startswith("title"), output
        assert "new plot" in error["detail"]

        # Partial: the existing plots change the two columns and keep everything else.
        code, report, output = await asyncio.to_thread(
            run, partial, base, world.frankfurt, *merge, "--mode", "partial"
        )
        assert code == 1 and (report["updated"], report["failed"]) == (3, 1), output
        await session.rollback()
        rows = (await session.execute(select(Plot).order_by(Plot.external_id))).scalars().all()
        assert [
            (p.external_id, p.title, p.category.value if p.category else None) for p in rows
        ] == [(f"M{i}", f"Fläche {i}", "brownfield") for i in range(3)]
        assert {(p.broadband_mbps, str(p.available_from)) for p in rows} == {(1000, "2027-03-01")}


async def test_an_interrupted_cli_push_resumes_when_run_again(
    session: AsyncSession,
    database_url: str,
    tmp_path: Path,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await session.commit()
    source = tmp_path / "plots.geojson"
    write_geojson(source, [{"external_id": f"R{i}", "title": f"Fläche {i}"} for i in range(5)])
    state = tmp_path / "plots.geojson.push-state.json"  # the default place
    transport = CountingTransport(fail_after=1)

    def client(timeout: float) -> httpx.Client:
        return httpx.Client(transport=transport, timeout=timeout)

    # The command's own HTTP client, with a connection that dies after the first batch.
    monkeypatch.setattr(push_cli, "httpx", types.SimpleNamespace(Client=client))
    with running_server(database_url, tmp_path) as base:
        args = ["plots", "push", str(source), "--api", base, "--key", world.frankfurt]
        args += ["--batch-size", "2", "--json"]
        first = await asyncio.to_thread(CliRunner().invoke, app, args)
        assert first.exit_code == 3, first.output
        saved = json.loads(state.read_text())
        assert list(saved["batches"]) == ["0"]
        monkeypatch.undo()

        code, report, output = await asyncio.to_thread(
            run, source, base, world.frankfurt, "--batch-size", "2"
        )
        assert code == 0 and report["created"] == 5, output
        assert not state.exists()
        await session.rollback()
        resumed = await session.get(ImportSession, uuid.UUID(saved["session"]))
        assert resumed is not None and resumed.state.value == "committed"
        assert await session.scalar(select(func.count()).select_from(Plot)) == 5
        assert await session.scalar(select(func.count()).select_from(Event)) == 5
