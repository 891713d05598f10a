"""``landmarket orgs`` and ``landmarket keys`` against the test database."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner, Result

from landmarket.auth.models import ApiKey, Organization
from landmarket.cli import app
from landmarket.core.config import get_settings
from tests.auth.conftest import FRANKFURT, OFFENBACH, World, bearer, count

UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
NIL = "00000000-0000-0000-0000-000000000000"
KEY_RE = r"lm_[0-9a-f]{8}_[A-Za-z0-9_-]{43}"


@pytest.fixture
def cli(database_url: str) -> Iterator[CliRunner]:
    # get_settings() is cached; the CLI must read the env the runner sets.
    get_settings.cache_clear()
    yield CliRunner(env={"LANDMARKET_DATABASE_URL": database_url})
    get_settings.cache_clear()


async def invoke(cli: CliRunner, *args: str) -> Result:
    # The CLI runs its own event loop (asyncio.run), so it gets a thread of its own.
    return await asyncio.to_thread(lambda: cli.invoke(app, list(args)))


async def test_bootstrap_first_admin(
    cli: CliRunner, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    result = await invoke(cli, "orgs", "create", "--kind", "admin", "--name", "Ops")
    assert result.exit_code == 0, result.output
    org_id = re.search(UUID_RE, result.stdout)
    assert org_id is not None

    result = await invoke(cli, "keys", "create", "--org", org_id[0], "--name", "bootstrap")
    assert result.exit_code == 0, result.output
    assert "cannot be shown again" in result.stdout
    key = re.search(KEY_RE, result.stdout)
    assert key is not None

    me = await client.get("/v1/me", headers=bearer(key[0]))
    assert me.status_code == 200
    assert me.json()["kind"] == "admin"
    assert (await client.get("/v1/admin/organizations", headers=bearer(key[0]))).status_code == 200

    # Listing shows the id and prefix, never the secret.
    listed = await invoke(cli, "keys", "list", "--org", org_id[0])
    assert listed.exit_code == 0, listed.output
    assert key[0][:11] in listed.stdout and key[0] not in listed.stdout
    assert "bootstrap" in listed.stdout and "active" in listed.stdout

    # Revocation takes effect at once.
    key_id = await session.scalar(select(ApiKey.id))
    await session.rollback()
    revoked = await invoke(cli, "keys", "revoke", str(key_id))
    assert revoked.exit_code == 0, revoked.output
    assert (await client.get("/v1/me", headers=bearer(key[0]))).status_code == 401
    listed = await invoke(cli, "keys", "list")
    assert "revoked" in listed.stdout
    again = await invoke(cli, "keys", "revoke", str(key_id))
    assert again.exit_code == 0, again.output


async def test_orgs_create_each_kind_and_list(cli: CliRunner, world: World) -> None:
    cases = [
        ["--kind", "municipality", "--name", "Two towns", "--ags", FRANKFURT, "--ags", OFFENBACH],
        ["--kind", "company", "--name", "Gamma KG", "--ags", FRANKFURT, "--sector", "C28"],
        ["--kind", "agency", "--name", "IHK", "--region", "frm"],
    ]
    for args in cases:
        result = await invoke(cli, "orgs", "create", *args)
        assert result.exit_code == 0, result.output

    listed = await invoke(cli, "orgs", "list")
    assert listed.exit_code == 0, listed.output
    for name in ("Two towns", "Gamma KG", "IHK", "Ops", "Acme GmbH"):
        assert name in listed.stdout
    assert f"{FRANKFURT},{OFFENBACH}" in listed.stdout

    companies = await invoke(cli, "orgs", "list", "--kind", "company")
    assert "Gamma KG" in companies.stdout and "IHK" not in companies.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["orgs", "create", "--kind", "emperor", "--name", "X"], "--kind"),
        (["orgs", "create", "--kind", "municipality", "--name", "X", "--ags", "09999999"], "--ags"),
        (["orgs", "create", "--kind", "municipality", "--name", "X", "--ags", "123"], "--ags"),
        (["orgs", "create", "--kind", "municipality", "--name", "X"], "--ags"),
        (["orgs", "create", "--kind", "company", "--name", "X", "--ags", "09999999"], "--ags"),
        (
            [
                "orgs",
                "create",
                "--kind",
                "company",
                "--name",
                "X",
                "--ags",
                FRANKFURT,
                "--ags",
                OFFENBACH,
            ],
            "exactly one",
        ),
        (["orgs", "create", "--kind", "agency", "--name", "X", "--region", "nowhere"], "--region"),
        (["orgs", "create", "--kind", "admin", "--name", "X", "--ags", FRANKFURT], "--ags"),
        (["orgs", "list", "--kind", "emperor"], "--kind"),
        (["keys", "create", "--org", "not-a-uuid"], "--org"),
        (["keys", "create", "--org", NIL], "No organisation"),
        (
            ["keys", "create", "--expires-days", "0", "--org", NIL],
            "--expires-days",
        ),
        (["keys", "list", "--org", NIL], "No organisation"),
        (["keys", "revoke", NIL], "No API key"),
        (["keys", "revoke", "nope"], "not an id"),
    ],
)
async def test_invalid_input_exits_1_with_message_and_writes_nothing(
    cli: CliRunner, world: World, session: AsyncSession, args: list[str], message: str
) -> None:
    before = (await count(session, Organization), await count(session, ApiKey))
    result = await invoke(cli, *args)
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert (await count(session, Organization), await count(session, ApiKey)) == before
