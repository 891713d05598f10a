"""Assertions and small helpers shared by the HTTP tests of every domain."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from landmarket.models import Base

PROBLEM = "application/problem+json"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    for key in ("type", "title", "detail"):
        assert isinstance(body[key], str) and body[key], f"problem without {key}"
    return body


def pointers(body: dict[str, Any]) -> list[str]:
    return [e["pointer"] for e in body.get("errors") or []]


async def count(session: AsyncSession, model: Any) -> int:
    """Rows of a mapped class or Table."""
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def truncate_all(engine: AsyncEngine) -> None:
    """Empty every table of the models (the audit log's trigger does not fire on TRUNCATE)."""
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
