"""Webhook fixtures: an app that allows loopback targets, a real receiver on 127.0.0.1, and
in-process workers with short timeouts and back-off."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from landmarket.core.config import Settings
from landmarket.main import create_app
from landmarket.webhooks.worker import Worker
from tests.matching.world import World, make_world


@pytest.fixture(scope="session")
def hook_settings() -> Settings:
    return Settings(
        webhook_allow_private_targets=True,  # the receiver is on loopback
        webhook_timeout_seconds=0.5,
        webhook_backoff_base_seconds=0.05,
        webhook_backoff_max_seconds=0.2,
        webhook_worker_poll_seconds=0.05,
        webhook_max_attempts=4,
    )


@pytest.fixture(scope="session")
async def hook_app(database_url: str, hook_settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(hook_settings, database_url=database_url)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(hook_app: FastAPI, clean_db: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=hook_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def world(session: Any) -> World:
    return await make_world(session)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A real HTTP server; ``mode`` decides the answer: "ok", "fail" (500), "hang",
    "redirect" (to /elsewhere)."""

    mode: str = "ok"
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"] != "/hook":
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.received.append(Received(headers, body))
        if self.mode == "hang":
            await asyncio.sleep(30)
        status, extra = {
            "ok": (200, []),
            "fail": (500, []),
            "redirect": (307, [(b"location", b"/elsewhere")]),
        }.get(self.mode, (200, []))
        await send({"type": "http.response.start", "status": status, "headers": extra})
        await send({"type": "http.response.body", "body": b"ok"})

    async def start(self) -> None:
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            interface="asgi3",
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:  # noqa: ASYNC110 (uvicorn exposes a flag only)
            await asyncio.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            self._server.force_exit = True
            await self._task
            self._server = self._task = None

    def of_type(self, type_: str) -> list[Received]:
        import json

        return [r for r in self.received if json.loads(r.body)["type"] == type_]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    try:
        yield r
    finally:
        await r.stop()


WorkerFactory = Callable[..., Awaitable[tuple[Worker, "asyncio.Task[None]"]]]


@pytest.fixture
async def start_worker(
    clean_db: AsyncEngine, hook_settings: Settings
) -> AsyncIterator[WorkerFactory]:
    """Start in-process workers; every one still running is cancelled at the end."""
    tasks: list[asyncio.Task[None]] = []

    async def start(settings: Settings | None = None, **kwargs: Any) -> tuple[Worker, Any]:
        worker = Worker(
            async_sessionmaker(clean_db, expire_on_commit=False),
            settings or hook_settings,
            **kwargs,
        )
        task = asyncio.create_task(worker.run())
        tasks.append(task)
        return worker, task

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture
def receiver_url() -> str:
    """A loopback URL nothing needs to listen on (API tests that deliver nothing)."""
    return "http://127.0.0.1:9/hook"


ReceiverFactory = Callable[[str], Awaitable[Receiver]]


@pytest.fixture
async def receivers() -> AsyncIterator[ReceiverFactory]:
    """More real receivers, each answering in its own ``mode``; all stopped at the end."""
    started: list[Receiver] = []

    async def start(mode: str = "ok") -> Receiver:
        r = Receiver(mode=mode)
        await r.start()
        started.append(r)
        return r

    yield start
    for r in started:
        await r.stop()
