"""Apps with settings of their own (a limit set low, a feature switched on) on the test
database, and clients that claim a given client address."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from landmarket.core.config import Settings
from landmarket.main import create_app


@asynccontextmanager
async def app_with(database_url: str, **overrides: Any) -> AsyncIterator[FastAPI]:
    """``create_app`` with the test defaults (no rate limit, 1 MiB bodies) and overrides."""
    values: dict[str, Any] = {"max_body_bytes": 1024 * 1024, "rate_limit_per_second": 0}
    app = create_app(Settings(**(values | overrides)), database_url=database_url)
    async with LifespanManager(app):
        yield app


def client_of(app: FastAPI, address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")
