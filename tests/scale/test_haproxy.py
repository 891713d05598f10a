"""API processes behind HAProxy under load (issue 19, item 4): a node stopped with SIGTERM (a
rolling restart) costs no request; a node killed with SIGKILL costs at most the requests it had
in flight, and the others serve the rest."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

from tests.scale.components import haproxy
from tests.servers import Server, serving

CONCURRENCY = 6
PATH = "/v1/regions"  # a database read


async def _load(base: str, seconds: float, during: float, act: object) -> tuple[int, list[str]]:
    """Requests from CONCURRENCY clients for ``seconds``; ``act`` is called after ``during``.
    Returns the count of 200s and a description of every failure."""
    ok = 0
    failures: list[str] = []
    stop_at = time.monotonic() + seconds

    async def client() -> None:
        nonlocal ok
        async with httpx.AsyncClient(base_url=base, timeout=10) as c:
            while time.monotonic() < stop_at:
                try:
                    response = await c.get(PATH)
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                    continue
                if response.status_code == 200:
                    ok += 1
                else:
                    failures.append(f"{response.status_code} {response.text[:200]}")

    async def trigger() -> None:
        await asyncio.sleep(during)
        assert callable(act)
        act()

    await asyncio.gather(trigger(), *(client() for _ in range(CONCURRENCY)))
    return ok, failures


def _address(server: Server) -> str:
    return server.base.removeprefix("http://")


async def test_rolling_restart_and_a_killed_node_behind_haproxy(
    database_url: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "LANDMARKET_DATABASE_URL": database_url,
        "LANDMARKET_DATA_DIR": str(tmp_path),
    }
    with ExitStack() as stack:
        a = stack.enter_context(serving(env, tmp_path / "a.log", "--no-worker"))
        b = stack.enter_context(serving(env, tmp_path / "b.log", "--no-worker"))
        c = stack.enter_context(serving(env, tmp_path / "c.log", "--no-worker"))
        base = stack.enter_context(haproxy(tmp_path, [_address(n) for n in (a, b, c)]))
        async with httpx.AsyncClient(base_url=base, timeout=5) as probe:
            deadline = time.monotonic() + 15
            while (await probe.get("/readyz")).status_code != 200:
                assert time.monotonic() < deadline, "HAProxy found no node ready"
                await asyncio.sleep(0.2)
        # A rolling restart: one node drains on SIGTERM while the other takes over.
        ok, failures = await _load(base, 4, 1.5, lambda: a.process.send_signal(signal.SIGTERM))
        assert failures == [] and ok > 50, (ok, failures)
        a.process.wait(timeout=20)
        # A crash: only what the killed node had in flight may fail.
        ok, failures = await _load(base, 4, 1.5, b.process.kill)
        assert len(failures) <= CONCURRENCY and ok > 50, (ok, failures)
        print(f"rolling restart and kill: {ok} ok, {len(failures)} failed")
