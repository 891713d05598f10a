"""`landmarket db ...` and `serve` against a configured (external) database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from typer.testing import CliRunner

from landmarket.cli import app
from landmarket.db import migrate
from tests.pgserver import PgServer

runner = CliRunner()


@pytest.fixture
async def empty_url(pg_server: PgServer) -> AsyncIterator[str]:
    url = await pg_server.acreate_database("lm_cli")
    yield url
    await pg_server.adrop_database(url)


def test_serve_refuses_a_database_that_is_behind(empty_url: str) -> None:
    result = runner.invoke(app, ["serve"], env={"LANDMARKET_DATABASE_URL": empty_url})
    assert result.exit_code == 1
    assert "landmarket db upgrade" in result.output
    assert "--migrate" in result.output
    password = empty_url.split(":")[2].split("@")[0]
    assert password not in result.output, "secrets never appear in messages"


def test_db_upgrade_current_downgrade(empty_url: str) -> None:
    env = {"LANDMARKET_DATABASE_URL": empty_url}
    head = migrate.head_revision()
    result = runner.invoke(app, ["db", "current"], env=env)
    assert result.exit_code == 0, result.output
    assert "base" in result.output and "behind" in result.output

    result = runner.invoke(app, ["db", "upgrade"], env=env)
    assert result.exit_code == 0, result.output
    assert f"revision {head}" in result.output

    result = runner.invoke(app, ["db", "current"], env=env)
    assert f"{head} (head)" in result.output

    result = runner.invoke(app, ["db", "downgrade", "base"], env=env)
    assert result.exit_code == 0, result.output
    assert "revision base" in result.output
