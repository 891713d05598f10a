"""Problem+json for framework-level errors, and the health endpoints."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from landmarket.db import migrate
from tests.helpers import assert_problem


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_head_revision(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["schema_revision"] == migrate.head_revision()


async def test_readyz_is_503_when_schema_is_behind(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    head = migrate.head_revision()
    async with engine.begin() as conn:
        await conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
    try:
        body = assert_problem(await client.get("/readyz"), 503)
        assert "landmarket db upgrade" in str(body["detail"])
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})


async def test_unknown_route_is_problem_404(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/v1/no-such-thing"), 404)
    assert body["instance"] == "/v1/no-such-thing"


async def test_wrong_method_is_problem_405(client: httpx.AsyncClient) -> None:
    assert_problem(await client.delete("/healthz"), 405)


def _allow(response: httpx.Response) -> set[str]:
    return {m.strip() for m in response.headers["allow"].split(",")}


async def test_405_allow_names_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    # GET and POST /v1/requirements are two routes; Starlette's Allow named only the first.
    response = await client.options("/v1/requirements")
    assert_problem(response, 405)
    assert _allow(response) == {"GET", "POST"}
    item = "/v1/plots/00000000-0000-4000-8000-000000000000"
    response = await client.put(item)
    assert_problem(response, 405)
    assert _allow(response) == {"GET", "PATCH", "DELETE"}


async def test_undecodable_body_is_problem_400(client: httpx.AsyncClient) -> None:
    # Not UTF-8, so not JSON at all: the framework refuses it before validation.
    response = await client.post(
        "/v1/admin/organizations",
        content=b"\xe3s",
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 400)


async def test_oversized_body_is_problem_413(client: httpx.AsyncClient, app: FastAPI) -> None:
    limit = app.state.settings.max_body_bytes
    response = await client.post("/v1/admin/organizations", content=b"x" * (limit + 1))
    assert assert_problem(response, 413)["type"] == "/problems/payload-too-large"


async def test_oversized_chunked_body_is_problem_413(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    limit = app.state.settings.max_body_bytes

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536

    response = await client.post("/v1/admin/organizations", content=chunks())
    assert assert_problem(response, 413)["type"] == "/problems/payload-too-large"


async def test_unexpected_error_is_problem_500_without_traceback(app: FastAPI) -> None:
    async def boom() -> None:
        raise RuntimeError("secret internal detail")

    app.add_api_route("/_test/boom", boom, include_in_schema=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            response = await c.get("/_test/boom")
    finally:
        app.router.routes.pop()
    body = assert_problem(response, 500)
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    assert body["type"]
