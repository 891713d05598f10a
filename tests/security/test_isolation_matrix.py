"""Tenant isolation: every write operation and every private read, as every kind of outsider
(another municipality, a company, another company, an agency, another agency, a revoked key,
no key), gets the expected problem+json status and changes no row of any table.

One world is seeded for the whole module; each cell fingerprints every table (information
schema-driven, so new tables are covered) before and after its request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from tests.helpers import assert_problem, truncate_all
from tests.security.matrix import HIDDEN, OPERATIONS, OWN, PUBLIC_PREFIXES, PUBLIC_READS, Op
from tests.security.search import Fingerprint
from tests.security.world import ACTORS, Seeded, seed

# Authentication refreshes a key's last_used_at (at most once a minute): not a change a
# request makes to the data.
VOLATILE = {"api_keys": frozenset({"last_used_at"})}


@dataclass
class Matrix:
    client: httpx.AsyncClient
    engine: AsyncEngine
    world: Seeded
    fingerprint: Fingerprint


@pytest.fixture(scope="module")
async def matrix(app: FastAPI, engine: AsyncEngine) -> AsyncIterator[Matrix]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as session:
                world = await seed(session, client)
            yield Matrix(client, engine, world, await Fingerprint.build(engine, VOLATILE))
        finally:
            await truncate_all(engine)


def _routes(app: FastAPI) -> set[tuple[str, str]]:
    found = set()
    for route in iter_route_contexts(app.routes):
        for method in route.methods or ():
            if method != "HEAD" and route.path is not None:
                found.add((method, route.path))
    return found


def test_every_route_is_in_the_matrix_or_public(app: FastAPI) -> None:
    """A new route fails here until it has a row (or, for a public read, is listed)."""
    covered = {(op.method, op.route) for op in OPERATIONS}
    routes = _routes(app)
    missing = sorted(
        (method, path)
        for method, path in routes - covered
        if method != "GET" or not (path in PUBLIC_READS or path.startswith(PUBLIC_PREFIXES))
    )
    assert missing == [], f"routes without a row in tests/security/matrix.py: {missing}"
    assert covered <= routes, f"rows for routes that do not exist: {sorted(covered - routes)}"
    for op in OPERATIONS:
        assert set(op.expect) == set(ACTORS), op.label
        assert (op.hidden is not None) == (HIDDEN in op.expect.values()), op.label


CELLS = [
    pytest.param(op, actor, id=f"{op.label}-{actor}")
    for op in OPERATIONS
    for actor in ACTORS
    # Writes the actor may make are not sent: they would change the world for later cells.
    if not (op.expect[actor] == OWN and op.writes)
]


async def _send(m: Matrix, op: Op, actor: str) -> httpx.Response:
    w = m.world
    headers = w.headers(actor, op.owner) | (op.headers(w) if op.headers else {})
    return await m.client.request(
        op.method,
        op.path(w),
        headers=headers,
        params=dict(op.params),
        json=op.body(w) if op.body else None,
    )


@pytest.mark.parametrize(("op", "actor"), CELLS)
async def test_cell(matrix: Matrix, op: Op, actor: str) -> None:
    expected = op.expect[actor]
    before = await matrix.fingerprint.take(matrix.engine)
    response = await _send(matrix, op, actor)
    if expected == OWN:
        assert response.status_code == 200, response.text
    elif expected == HIDDEN:
        assert response.status_code == 200, response.text
        assert op.hidden is not None
        secret = matrix.world.ids[op.hidden]
        assert secret not in response.text
        # The owner's own listing has it: the cell did not pass because the thing is missing.
        owner = await _send(matrix, op, op.owner)
        assert owner.status_code == 200 and secret in owner.text
    else:
        assert isinstance(expected, int)
        assert_problem(response, expected)
        if expected == 401:
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    after = await matrix.fingerprint.take(matrix.engine)
    changed = sorted(t for t in before if before[t] != after.get(t))
    assert changed == [] and set(after) == set(before), f"rows changed in {changed}"


async def test_the_owners_see_what_outsiders_may_not(matrix: Matrix) -> None:
    """The 404s above mean 'hidden', not 'missing': each owner reads its things."""
    w, client = matrix.world, matrix.client
    reads = [
        ("municipality", f"/v1/plots/{w.ids['draft_plot']}", w.ids["draft_plot"]),
        ("municipality", f"/v1/plots/{w.ids['draft_plot']}/history", "items"),
        ("municipality", f"/v1/plots/{w.ids['published_plot']}/demand", "items"),
        ("company", f"/v1/requirements/{w.ids['requirement']}", w.ids["requirement"]),
        ("company", f"/v1/requirements/{w.ids['requirement']}/matches", w.ids["published_plot"]),
        ("company", f"/v1/webhooks/{w.ids['webhook']}", w.ids["webhook"]),
        ("company", f"/v1/webhooks/{w.ids['webhook']}/deliveries", w.ids["delivery"]),
        ("admin", f"/v1/admin/organizations/{w.org_ids['company']}/api-keys", w.ids["company_key"]),
    ]
    for owner, path, shows in reads:
        response = await client.get(path, headers=w.headers(owner, owner))
        assert response.status_code == 200, (path, response.text)
        assert shows in response.text, path


async def test_a_write_does_change_the_fingerprint(matrix: Matrix) -> None:
    """The digests are not blind: the owner's own write shows up (runs last, it changes
    the world)."""
    w = matrix.world
    before = await matrix.fingerprint.take(matrix.engine)
    response = await matrix.client.post(
        f"/v1/plots/{w.ids['published_plot']}/status",
        json={"status": "reserved"},
        headers=w.headers("municipality", "municipality"),
    )
    assert response.status_code == 200, response.text
    after = await matrix.fingerprint.take(matrix.engine)
    assert {t for t in before if before[t] != after[t]} >= {"plots", "events"}
