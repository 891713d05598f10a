"""Shared fixtures: a real PostGIS, a migrated database, the ASGI app and an HTTP client."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from landmarket.core.config import Settings
from landmarket.db import migrate
from landmarket.main import create_app
from tests.helpers import truncate_all
from tests.pgserver import PgServer

# Tests send requests far faster than any client should, from one address: no rate limit for
# apps built from the environment here or in `landmarket serve` subprocesses. Tests of the
# limit pass their own settings (tests/limits).
os.environ.setdefault("LANDMARKET_RATE_LIMIT_PER_SECOND", "0")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = PgServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
async def database_url(pg_server: PgServer) -> AsyncIterator[str]:
    url = await pg_server.acreate_database()
    engine = create_async_engine(url)
    await migrate.upgrade(engine)
    await engine.dispose()
    yield url
    await pg_server.adrop_database(url)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(database_url)
    yield eng
    await eng.dispose()


@pytest.fixture
async def session(clean_db: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session for arranging and checking state directly in the database."""
    async with async_sessionmaker(clean_db, expire_on_commit=False)() as s:
        yield s


@pytest.fixture
async def clean_db(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """Every test that touches the database leaves it empty for the next one."""
    yield engine
    await truncate_all(engine)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(max_body_bytes=1024 * 1024, rate_limit_per_second=0)


@pytest.fixture(scope="session")
async def app(database_url: str, settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings, database_url=database_url)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app: FastAPI, clean_db: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
