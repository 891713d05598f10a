"""Erasure: a requirement on its owner's request and a whole company by an admin remove the
personal values everywhere (rows, audit snapshots, outbox payloads); audit entries stay under
pseudonymous ids; the audit log refuses every other change."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from typer.testing import CliRunner, Result

from landmarket.audit.models import Event
from landmarket.auth import service as auth_service
from landmarket.auth.schemas import ApiKeyCreate
from landmarket.cli import app
from landmarket.core.config import get_settings
from landmarket.webhooks.models import WebhookSubscription
from tests.factories import make_org_with_key
from tests.helpers import assert_problem, bearer, pointers
from tests.matching.world import (
    FRANKFURT,
    OFFENBACH,
    ORIGIN,
    World,
    insert_plot,
    make_world,
    matches,
    post_requirement,
    requirement_body,
)
from tests.security.search import find_values


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await make_world(session)


def personal(tag: str) -> dict[str, str]:
    """Distinctive values (nothing else in the database contains ``tag``)."""
    return {
        "title": f"Hall for Mustermann {tag}-title",
        "description": f"Call Erika Mustermann {tag}-description",
        "message": f"We are Mustermann {tag}-message",
        "contact_name": f"Erika {tag}-contact",
        "email": f"erika.{tag}-mail@example.org",
        "phone": f"+49 69 {tag}-phone",
        "note": f"Met Erika {tag}-note",
    }


@dataclass
class Posted:
    requirement: dict[str, Any]
    inquiry_id: str


async def post_with_interest(
    client: httpx.AsyncClient, world: World, key: str, values: dict[str, str], **extra: Any
) -> Posted:
    """A requirement with the values (posted with an Idempotency-Key, so its response is
    stored too), interest in its first match (message and contact) and the municipality's
    note on the inquiry."""
    body = requirement_body(title=values["title"], description=values["description"], **extra)
    headers = {**bearer(key), "Idempotency-Key": f"{uuid.uuid4()}"}
    response = await client.post("/v1/requirements", json=body, headers=headers)
    assert response.status_code == 201, response.text
    req: dict[str, Any] = response.json()
    plot_id = (await matches(client, key, req["id"]))[0]["plot"]["id"]
    contact = {"name": values["contact_name"], "email": values["email"], "phone": values["phone"]}
    r = await client.patch(
        f"/v1/requirements/{req['id']}/matches/{plot_id}",
        json={"state": "interest_expressed", "message": values["message"], "contact": contact},
        headers=bearer(key),
    )
    assert r.status_code == 200, r.text
    inquiries = (await client.get("/v1/inquiries", headers=bearer(world.frankfurt))).json()
    inquiry_id = next(
        i["id"] for i in inquiries["items"] if i["company"]["message"] == values["message"]
    )
    r = await client.patch(
        f"/v1/inquiries/{inquiry_id}",
        json={"state": "in_contact", "note": values["note"]},
        headers=bearer(world.frankfurt),
    )
    assert r.status_code == 200, r.text
    return Posted(requirement=req, inquiry_id=inquiry_id)


async def a_plot(session: AsyncSession) -> None:
    x, y = ORIGIN[FRANKFURT]
    await insert_plot(session, FRANKFURT, x=x, y=y, side=100)


async def event_ids(session: AsyncSession) -> set[int]:
    await session.rollback()
    return set(await session.scalars(select(Event.id)))


async def test_erasing_a_requirement_removes_its_values_and_nothing_else(
    client: httpx.AsyncClient, session: AsyncSession, engine: AsyncEngine, world: World
) -> None:
    await a_plot(session)
    erased, kept = personal("qz1"), personal("qz2")
    a = await post_with_interest(client, world, world.company, erased)
    await post_with_interest(client, world, world.company, kept)
    everything = [*erased.values(), *kept.values()]
    assert set(await find_values(engine, everything)) == set(everything)  # the search sees them
    before = await event_ids(session)

    rid = a.requirement["id"]
    r = await client.delete(
        f"/v1/requirements/{rid}", params={"erase": "true"}, headers=bearer(world.company)
    )
    assert r.status_code == 204, r.text

    left = await find_values(engine, everything)
    assert set(left) == set(kept.values()), left
    # Audit entries stay (none removed), plus the withdrawal and the erasure itself.
    after = await event_ids(session)
    assert before < after
    actions = (
        await session.execute(
            select(Event.action, Event.after).where(
                Event.entity_type == "requirement", Event.entity_id == rid, Event.id.not_in(before)
            )
        )
    ).all()
    assert [a for a, _ in actions] == ["withdraw", "erase"]
    assert actions[1][1]["company_id"] == str(world.company_id)
    # The owner still reads its requirement: withdrawn, the text gone, a new ETag.
    r = await client.get(f"/v1/requirements/{rid}", headers=bearer(world.company))
    body = r.json()
    assert (body["status"], body["title"], body["description"]) == ("withdrawn", None, None)
    assert r.headers["ETag"] != f'"{a.requirement["version"]}"'
    # The inquiry stays for the municipality, without the message and contact.
    r = await client.get("/v1/inquiries", headers=bearer(world.frankfurt))
    inquiry = next(i for i in r.json()["items"] if i["id"] == a.inquiry_id)
    assert inquiry["company"]["message"] is None and inquiry["company"]["contact"] is None
    assert inquiry["note"] is None
    # Erasing again is harmless.
    r = await client.delete(
        f"/v1/requirements/{rid}", params={"erase": "true"}, headers=bearer(world.admin)
    )
    assert r.status_code == 204, r.text


async def test_erasing_a_company_removes_it_everywhere_and_keeps_pseudonymous_audit(
    client: httpx.AsyncClient, session: AsyncSession, engine: AsyncEngine, world: World
) -> None:
    await a_plot(session)
    values = personal("qz3")
    company_name, key_name = "Mustermann qz3-name Feinwerk e.K.", "laptop of Erika qz3-key"
    url, hook_note = "https://qz3-hook.example.org/hook", "Erika's qz3-hook"
    org, key = await make_org_with_key(session, "company", company_name, home_ags=OFFENBACH)
    org_id = org.id  # the session expires org on rollback
    await auth_service.create_api_key(session, org_id, ApiKeyCreate(name=key_name))
    await session.execute(
        insert(WebhookSubscription).values(
            organization_id=org_id,
            url=url,
            event_types=["match.created"],
            description=hook_note,
            secret="s" * 32,
        )
    )
    await session.commit()
    # share_identity: the municipality's demand.matched events carry the company's name.
    await post_with_interest(client, world, key, values, share_identity=True)
    # Another company's data must survive the erasure untouched.
    other = personal("qz4")
    await post_with_interest(client, world, world.company, other)
    secrets = [*values.values(), company_name, key_name, url, hook_note]
    places = await find_values(engine, [*secrets, *other.values()])
    assert set(places) == {*secrets, *other.values()}  # the search sees every value
    # ... in the audit snapshots and in the municipality's outbox too.
    assert {"events.after", "events.before"} <= set(places[values["message"]])
    assert "idempotency_keys.response_body" in places[values["description"]]
    assert "webhook_events.payload" in places[company_name]
    assert "webhook_events.payload" in places[values["email"]]
    before = await event_ids(session)
    acted = await session.scalar(
        select(func.count()).select_from(Event).where(Event.actor_organization_id == org_id)
    )
    assert acted

    r = await client.post(f"/v1/admin/organizations/{org_id}/erasure", headers=bearer(world.admin))
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["organization_id"] == str(org_id) and report["name"] != company_name
    assert report["requirements"] == 1 and report["matches"] >= 1
    assert report["audit_events"] >= 3 and report["webhook_events"] >= 2

    assert await find_values(engine, secrets) == {}
    assert set(await find_values(engine, other.values())) == set(other.values())
    # Every audit entry is still there, the company's own under its (pseudonymous) id.
    assert before < await event_ids(session)
    assert acted == await session.scalar(
        select(func.count()).select_from(Event).where(Event.actor_organization_id == org_id)
    )
    erase = (
        await session.execute(
            select(Event).where(Event.entity_type == "organization", Event.entity_id == str(org_id))
        )
    ).scalar_one()
    assert erase.action == "erase" and erase.actor_organization_id is not None

    # Its keys are dead; it gets no new ones; the admin sees the pseudonym and the time.
    assert_problem(await client.get("/v1/me", headers=bearer(key)), 401)
    shown = (
        await client.get(f"/v1/admin/organizations/{org_id}", headers=bearer(world.admin))
    ).json()
    assert shown["name"] == report["name"] and shown["erased_at"] is not None
    r = await client.post(
        f"/v1/admin/organizations/{org_id}/api-keys",
        json={"name": "again"},
        headers=bearer(world.admin),
    )
    assert_problem(r, 409)
    # The municipality keeps the inquiry, under the pseudonym.
    inquiries = (await client.get("/v1/inquiries", headers=bearer(world.frankfurt))).json()
    names = {i["company"]["name"] for i in inquiries["items"]}
    assert report["name"] in names and company_name not in names

    # A second erasure finds nothing left.
    again = await client.post(
        f"/v1/admin/organizations/{org_id}/erasure", headers=bearer(world.admin)
    )
    assert again.status_code == 200, again.text
    # The report counts what was erased, so a rerun reports zeros everywhere (the inquiry's
    # match is still there, with nothing left in it: it used to be counted again).
    counted = ("requirements", "matches", "audit_events", "webhook_events")
    assert {k: again.json()[k] for k in counted} == dict.fromkeys(counted, 0)
    assert again.json()["erased_at"] == report["erased_at"]


async def test_who_may_erase_and_bad_input(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    await a_plot(session)
    values = personal("qz5")
    req = await post_requirement(client, world.company, title=values["title"])
    path = f"/v1/requirements/{req['id']}"
    erase = {"erase": "true"}
    for key in (world.other_company, world.frankfurt, world.agency):
        assert_problem(await client.delete(path, params=erase, headers=bearer(key)), 404)
    assert_problem(await client.delete(path, params=erase), 401)
    body = assert_problem(
        await client.delete(path, params={"erase": "perhaps"}, headers=bearer(world.company)), 422
    )
    assert pointers(body) == ["/query/erase"]
    stale = {**bearer(world.company), "If-Match": '"99"'}
    assert_problem(await client.delete(path, params=erase, headers=stale), 412)
    unknown = f"/v1/requirements/{uuid.uuid4()}"
    assert_problem(await client.delete(unknown, params=erase, headers=bearer(world.company)), 404)
    r = await client.get(path, headers=bearer(world.company))
    assert (r.json()["status"], r.json()["title"]) == ("open", values["title"])
    # An admin may erase anyone's requirement.
    r = await client.delete(path, params=erase, headers=bearer(world.admin))
    assert r.status_code == 204, r.text
    assert (await client.get(path, headers=bearer(world.company))).json()["title"] is None

    erasure = f"/v1/admin/organizations/{world.company_id}/erasure"
    for key in (world.company, world.frankfurt, world.agency):
        assert_problem(await client.post(erasure, headers=bearer(key)), 403)
    assert_problem(await client.post(erasure), 401)
    assert_problem(
        await client.post(
            f"/v1/admin/organizations/{uuid.uuid4()}/erasure", headers=bearer(world.admin)
        ),
        404,
    )
    body = assert_problem(
        await client.post("/v1/admin/organizations/nope/erasure", headers=bearer(world.admin)), 422
    )
    assert pointers(body) == ["/path/org_id"]
    municipality = (await client.get("/v1/me", headers=bearer(world.frankfurt))).json()["id"]
    body = assert_problem(
        await client.post(
            f"/v1/admin/organizations/{municipality}/erasure", headers=bearer(world.admin)
        ),
        409,
    )
    assert pointers(body) == ["/path/org_id"]
    assert (await client.get("/v1/me", headers=bearer(world.company))).status_code == 200


async def _refused(engine: AsyncEngine, setting: str | None, *statements: str) -> None:
    """Each statement fails on the trigger, in its own transaction with ``setting``."""
    for statement in statements:
        async with engine.connect() as conn:
            if setting is not None:
                await conn.execute(
                    text(f"SELECT set_config('landmarket.erasure', '{setting}', true)")
                )
            with pytest.raises(DBAPIError, match="append-only"):
                await conn.execute(text(statement))


async def test_the_audit_log_refuses_everything_but_an_erasure(
    client: httpx.AsyncClient, engine: AsyncEngine, world: World
) -> None:
    await post_requirement(client, world.company, title="qz6-title")
    nulled = "UPDATE events SET after = jsonb_set(after, '{title}', 'null')"
    await _refused(engine, None, nulled, "DELETE FROM events")
    await _refused(engine, "off", nulled)
    await _refused(
        engine,
        "on",
        "DELETE FROM events",
        "UPDATE events SET action = 'other'",
        "UPDATE events SET entity_id = 'other'",
        "UPDATE events SET actor_organization_id = NULL",
        "UPDATE events SET occurred_at = now()",
        "UPDATE events SET after = jsonb_set(after, '{title}', '\"rewritten\"')",
        "UPDATE events SET after = after || '{\"added\": null}'",
        "UPDATE events SET after = after - 'title'",
        "UPDATE events SET after = NULL",
    )
    # Only in the transaction that asked for it: a committed setting does not carry over.
    async with engine.connect() as conn:
        await conn.execute(text("SELECT set_config('landmarket.erasure', 'on', true)"))
        await conn.commit()
        with pytest.raises(DBAPIError, match="append-only"):
            await conn.execute(text(nulled))
    async with engine.connect() as conn:
        await conn.execute(text("SELECT set_config('landmarket.erasure', 'on', true)"))
        await conn.execute(text(nulled))
        left = "SELECT count(*) FROM events WHERE after->>'title' IS NOT NULL"
        assert await conn.scalar(text(left)) == 0
        await conn.rollback()


@pytest.fixture
def cli(database_url: str) -> Iterator[CliRunner]:
    get_settings.cache_clear()  # the CLI must read the URL the runner sets
    yield CliRunner(env={"LANDMARKET_DATABASE_URL": database_url})
    get_settings.cache_clear()


async def invoke(cli: CliRunner, *args: str) -> Result:
    # The CLI runs its own event loop, so it gets a thread of its own.
    return await asyncio.to_thread(lambda: cli.invoke(app, list(args)))


async def test_operator_erases_a_company_from_the_cli(
    cli: CliRunner, client: httpx.AsyncClient, engine: AsyncEngine, world: World
) -> None:
    await post_requirement(client, world.company, title="qz7-title")
    company = str(world.company_id)
    refused = await invoke(cli, "orgs", "erase", company)
    assert refused.exit_code == 1 and "--yes" in refused.output
    assert await find_values(engine, ["qz7-title", "Acme GmbH"])
    result = await invoke(cli, "orgs", "erase", company, "--yes")
    assert result.exit_code == 0, result.output
    assert "1 requirement(s)" in result.stdout
    assert await find_values(engine, ["qz7-title", "Acme GmbH"]) == {}
    assert_problem(await client.get("/v1/me", headers=bearer(world.company)), 401)
    for bad in ("not-an-id", str(uuid.uuid4())):
        failed = await invoke(cli, "orgs", "erase", bad, "--yes")
        assert failed.exit_code == 1 and "Error" in failed.output
