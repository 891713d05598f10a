"""Security headers on every response, CORS only for configured origins, error bodies without
internals, and logs (application, SQL and access log) without secrets."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.core.logs import RedactSecrets
from landmarket.db.embedded import free_port
from landmarket.db.session import SessionDep
from landmarket.webhooks.worker import Worker
from tests.factories import make_municipality, make_org_with_key
from tests.helpers import assert_problem, bearer
from tests.limits.apps import app_with, client_of

ALLOWED = "https://maps.example"
OTHER = "https://evil.example"


@pytest.fixture
async def admin_key(session: AsyncSession) -> str:
    return (await make_org_with_key(session, "admin", "Ops"))[1]


def _csp(response: httpx.Response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {d.split(" ", 1)[0]: d.partition(" ")[2] for d in policy.split("; ")}


def assert_secure(response: httpx.Response, *, authenticated: bool = False) -> None:
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    csp = _csp(response)
    assert csp["default-src"] == "'none'" and csp["frame-ancestors"] == "'none'"
    assert "strict-transport-security" not in headers
    if authenticated:
        assert headers["cache-control"] == "no-store"
    else:
        assert "no-store" not in headers.get("cache-control", "")


async def test_every_kind_of_response_carries_the_headers(
    client: httpx.AsyncClient, app: FastAPI, admin_key: str
) -> None:
    limit = app.state.settings.max_body_bytes
    anonymous = [
        await client.get("/v1/regions"),
        await client.get("/openapi.json"),
        await client.get("/v1/no-such-thing"),  # 404
        await client.delete("/healthz"),  # 405
        await client.get("/v1/plots", params={"limit": 0}),  # 422
        await client.post("/v1/plots", content=b"x" * (limit + 1)),  # 413
        await client.get("/v1/me"),  # 401
        await client.get("/ogc/collections/plots/tiles/WebMercatorQuad/0/0/0"),
    ]
    for response in anonymous:
        assert_secure(response)
        # A JSON (or tile) response may load, run and embed nothing at all.
        assert set(_csp(response)) == {"default-src", "frame-ancestors", "base-uri", "form-action"}
    authenticated = [
        await client.get("/v1/me", headers=bearer(admin_key)),
        await client.get("/v1/plots", headers=bearer(admin_key)),
        await client.get("/v1/me", headers=bearer("lm_00000000_" + "A" * 43)),  # 401
        await client.get("/v1/regions", headers=bearer(admin_key)),  # public, but asked with a key
    ]
    for response in authenticated:
        assert_secure(response, authenticated=True)


async def test_unhandled_errors_429_and_hsts(database_url: str) -> None:
    async def boom() -> None:
        raise RuntimeError("boom")

    async with app_with(
        database_url,
        hsts_max_age_seconds=31_536_000,
        rate_limit_per_second=0.01,
        rate_limit_burst=1,
    ) as app:
        app.add_api_route("/_test/boom", boom)
        async with client_of(app) as client:
            crashed = await client.get("/_test/boom")
            throttled = await client.get("/v1/regions")
    assert_problem(crashed, 500)
    assert_problem(throttled, 429)
    for response in (crashed, throttled):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert _csp(response)["default-src"] == "'none'"
        assert (
            response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        )


def _inline_scripts(page: str) -> list[str]:
    return re.findall(r"<script>(.*?)</script>", page, flags=re.S)


async def test_ogc_html_allows_only_its_own_script(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    hostile = 'Bad</script><script>alert("x")</script><!--'
    await make_municipality(session, "06412000", hostile)
    pages = [
        await client.get("/ogc", params={"f": "html"}),
        await client.get("/ogc/collections/municipalities/items", params={"f": "html"}),
        await client.get("/ogc/collections/municipalities/items/06412000", params={"f": "html"}),
    ]
    for page in pages:
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert_secure(page)
        csp = _csp(page)
        assert "'unsafe-inline'" not in csp["script-src"]
        # Every inline script runs under the policy: its hash is listed.
        for script in _inline_scripts(page.text):
            digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in csp["script-src"]
    items = pages[1].text
    assert len(_inline_scripts(items)) == 1
    assert 'alert("x")' not in items.replace("\\u003c", "<").split('id="features">')[0]
    data = items.split('<script type="application/json" id="features">', 1)[1]
    data = data.split("</script>", 1)[0]
    names = [f["properties"]["name"] for f in json.loads(data)["features"]]
    assert names == [hostile]  # the data survives intact, as data
    assert "</script><script>alert" not in items


async def test_docs_pages_get_a_policy_that_lets_them_load(client: httpx.AsyncClient) -> None:
    for path in ("/docs", "/redoc"):
        page = await client.get(path)
        csp = _csp(page)
        # 200 with a build (scripts from this origin), 503 saying how to build without one
        # (tests/web/test_serving.py checks both cases with a build of its own).
        assert page.status_code in (200, 503)
        assert csp["frame-ancestors"] == "'none'"
        if page.status_code == 200:
            assert csp["script-src"] == "'self'" and csp["connect-src"] == "'self'"


async def test_cors_only_for_configured_origins(
    database_url: str, client: httpx.AsyncClient
) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    async with app_with(database_url, cors_origins=[ALLOWED]) as app, client_of(app) as cors:
        allowed = await cors.get("/v1/regions", headers={"Origin": ALLOWED})
        other = await cors.get("/v1/regions", headers={"Origin": OTHER})
        allowed_pre = await cors.options("/v1/plots", headers={"Origin": ALLOWED, **preflight})
        other_pre = await cors.options("/v1/plots", headers={"Origin": OTHER, **preflight})
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    assert "Origin" in allowed.headers["vary"]
    exposed = allowed.headers["access-control-expose-headers"]
    assert "Retry-After" in exposed and "ETag" in exposed
    assert allowed_pre.status_code == 200
    assert allowed_pre.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in allowed_pre.headers["access-control-allow-methods"]
    assert_secure(allowed_pre)
    for response in (other, other_pre):
        assert "access-control-allow-origin" not in response.headers
    assert other_pre.status_code == 400

    # Without configured origins nobody gets CORS headers.
    plain = await client.get("/v1/regions", headers={"Origin": ALLOWED})
    plain_pre = await client.options("/v1/plots", headers={"Origin": ALLOWED, **preflight})
    for response in (plain, plain_pre):
        assert not any(h.startswith("access-control-") for h in response.headers)


PARAM_SECRET = "param-" + secrets.token_hex(8)


async def test_error_bodies_hold_no_traceback_or_sql(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def crash() -> None:
        raise RuntimeError(f"secret internal detail {PARAM_SECRET}")

    async def bad_sql(session: SessionDep) -> None:
        await session.execute(
            text("SELECT secret_col FROM no_such_table WHERE x = :p"), {"p": PARAM_SECRET}
        )

    async def bad_value(session: SessionDep) -> None:
        await session.execute(text("SELECT CAST(:p AS integer)"), {"p": PARAM_SECRET})

    caplog.set_level(logging.INFO)
    async with app_with(database_url) as app:
        app.add_api_route("/_test/crash", crash)
        app.add_api_route("/_test/sql", bad_sql)
        app.add_api_route("/_test/value", bad_value)
        async with client_of(app) as client:
            responses = [await client.get(f"/_test/{name}") for name in ("crash", "sql", "value")]
    # A value the driver cannot encode is the client's input: 422 (issue 14 item 6), with as
    # little detail as a 500.
    details = {
        500: "An unexpected error occurred; it has been logged.",
        422: "A value in the request cannot be stored or compared by the database",
    }
    for response, status in zip(responses, (500, 500, 422), strict=True):
        body = assert_problem(response, status)
        assert body["detail"] == details[status]
        for internal in (
            "Traceback",
            "RuntimeError",
            "secret internal detail",
            "SELECT",
            "no_such_table",
            "sqlalchemy",
            "asyncpg",
            "integer",
            PARAM_SECRET,
        ):
            assert internal not in response.text, internal
        assert_secure(response)
    # Operators get the traceback, without the bound values of the failed statement.
    assert "unhandled error on GET /_test/sql" in caplog.text
    assert "no_such_table" in caplog.text
    logged_sql = caplog.text.replace(f"secret internal detail {PARAM_SECRET}", "")
    assert PARAM_SECRET not in logged_sql


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """The app behind a real uvicorn on 127.0.0.1, logging as `landmarket serve` does."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=free_port(), lifespan="off", log_config=None, log_level="info"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn exposes a flag only)
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        await task


async def test_logs_hold_no_secrets(
    database_url: str,
    admin_key: str,
    session: AsyncSession,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    access = logging.getLogger("uvicorn.access")
    # Another test's uvicorn may have configured the access log not to propagate to caplog.
    monkeypatch.setattr(access, "propagate", True)
    caplog.set_level(logging.DEBUG)
    # As an operator would to see the SQL: statements are logged then, their values must not.
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    query_token, hook_token = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    await make_municipality(session, "06412000", "Frankfurt am Main")
    async with (
        app_with(
            database_url, webhook_allow_private_targets=True, webhook_timeout_seconds=2
        ) as app,
        served(app) as base,
        httpx.AsyncClient(base_url=base) as http,
    ):
        assert any(isinstance(f, RedactSecrets) for f in access.filters)
        assert logging.getLogger("httpx").level == logging.WARNING
        org = await http.post(
            "/v1/admin/organizations",
            json={"kind": "company", "name": "Acme", "home_ags": "06412000"},
            headers=bearer(admin_key),
        )
        assert org.status_code == 201, org.text
        created = await http.post(
            f"/v1/admin/organizations/{org.json()['id']}/api-keys",
            json={"name": "ci"},
            headers=bearer(admin_key),
        )
        assert created.status_code == 201, created.text
        key = created.json()["key"]
        assert (await http.get("/v1/me", headers=bearer(key))).status_code == 200
        # A key and a token where they do not belong: in the query string.
        await http.get("/v1/regions", params={"api_key": key, "token": query_token})
        # A webhook whose URL carries its receiver's token; its delivery fails (405).
        target = f"{base}/v1/regions?token={hook_token}"
        hook = await http.post(
            "/v1/webhooks",
            json={"url": target, "event_types": ["match.created"]},
            headers=bearer(key),
        )
        assert hook.status_code == 201, hook.text
        hook_secret = hook.json()["secret"]
        ping = await http.post(f"/v1/webhooks/{hook.json()['id']}/test", headers=bearer(key))
        assert ping.status_code == 202, ping.text
        worker = Worker(app.state.sessionmaker, app.state.settings)
        try:
            assert await worker.run_once() == 1
        finally:
            await worker.aclose()

    logged = caplog.text
    access_lines = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    # The logs are there, so their absence of secrets means something.
    assert any('"GET /v1/me HTTP/1.1" 200' in line for line in access_lines), access_lines
    assert any(
        "/v1/regions?api_key=[redacted]&token=[redacted]" in line for line in access_lines
    ), access_lines
    assert any("POST /v1/regions?token=[redacted]" in line for line in access_lines)
    assert f"to {base} failed: HTTP 405" in logged
    assert "INSERT INTO webhook_subscriptions" in logged
    password = make_url(database_url).password
    for secret in (key, admin_key, query_token, hook_token, hook_secret, password):
        if secret:
            assert secret not in logged
    assert "Bearer" not in logged and "authorization" not in logged.lower()
