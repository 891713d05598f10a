"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from landmarket.core.errors import problem_responses
from landmarket.db import migrate
from landmarket.db.session import unavailable

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    schema_revision: str


@router.get("/healthz", response_model=Health, summary="The process is up")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="The database is reachable and its schema is at the head revision",
    responses=problem_responses(503),
)
async def readyz(request: Request) -> Readiness:
    engine: AsyncEngine = request.app.state.engine
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        revision = await migrate.current_revision(engine)
    except Exception as exc:  # any failure to reach the database means "not ready"
        raise unavailable("The database is not reachable") from exc
    head = migrate.head_revision()
    if revision != head:
        raise unavailable(
            f"The database schema is at {revision or 'no revision'}, expected {head}; "
            "run `landmarket db upgrade`"
        )
    return Readiness(status="ready", schema_revision=revision or "")
