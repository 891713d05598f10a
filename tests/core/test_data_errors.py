"""The guard of last resort (issue 14 item 6): a value the database cannot represent is a 422
problem wherever it surfaces (the read-write session, the OGC read pool, the server or the
driver refusing it), never a 500 and never a 503 that blames the database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI, Request
from sqlalchemy import Integer, Text, bindparam, select, text

from landmarket.core.config import Settings
from landmarket.db import reads
from landmarket.db.session import SessionDep
from landmarket.main import create_app
from tests.helpers import assert_problem


@pytest.fixture(scope="module")
async def probe_app(database_url: str) -> AsyncIterator[FastAPI]:
    """The real app with routes that run statements the database refuses for their values."""
    app = create_app(Settings(rate_limit_per_second=0), database_url=database_url)

    @app.get("/probe/session/{case}")
    async def on_session(case: str, session: SessionDep) -> dict[str, object]:
        statements = {
            # The server refuses: division_by_zero, NUL in text, numeric overflow (class 22).
            "division": (text("SELECT 1 / 0"), {}),
            "nul": (select(bindparam("v", type_=Text)), {"v": "a\x00b"}),
            "overflow": (text("SELECT 1e308::float8 * 10"), {}),
            # The driver refuses to encode: an integer beyond int4.
            "int4": (select(bindparam("v", type_=Integer)), {"v": 2**40}),
        }
        statement, params = statements[case]
        await session.execute(statement, params)
        return {}

    @app.get("/probe/reads/{case}")
    async def on_read_pool(case: str, request: Request) -> dict[str, object]:
        values = {"nul": ("a\x00b", Text), "int4": (2**40, Integer)}
        value, type_ = values[case]
        await reads.fetch(
            request.app.state.read_pool, select(bindparam("v", type_=type_)), {"v": value}
        )
        return {}

    async with LifespanManager(app):
        yield app


@pytest.mark.parametrize(
    "path",
    [
        "/probe/session/division",
        "/probe/session/nul",
        "/probe/session/overflow",
        "/probe/session/int4",
        "/probe/reads/nul",
        "/probe/reads/int4",
    ],
)
async def test_database_data_errors_are_422_problems(probe_app: FastAPI, path: str) -> None:
    transport = httpx.ASGITransport(app=probe_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get(path)
    body = assert_problem(response, 422)
    assert body["type"] == "/problems/validation-failed"
    assert "Retry-After" not in response.headers
    # Security headers are added on this path too (the problem is rendered in the stack).
    assert response.headers.get("x-content-type-options") == "nosniff"
