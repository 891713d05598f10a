"""PostgreSQL goes away under load and comes back: the API answers 503 problem+json with
Retry-After while it is away and normally within 5 s of its return, without being restarted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.faults.conftest import FaultServer, Throwaway
from tests.faults.load import REQUEST_TIMEOUT_S, Load, Outcome
from tests.helpers import assert_problem, bearer
from tests.matching.world import FRANKFURT, ORIGIN, World, insert_plot, requirement_body
from tests.webhooks.conftest import Receiver

OUTAGE_S = 2.0
RECOVERY_BOUND_S = 5.0  # the bound, from the database accepting connections again


@dataclass(frozen=True)
class Window:
    down: float  # the fault is complete: nothing of the old server answers any more
    back: float  # the restart begins: every request answered before it must be a 503


async def _outage(
    client: httpx.AsyncClient, load: Load, fault: Callable[[], None], throwaway: Throwaway
) -> Window:
    # Let the clients settle into a rhythm so the fault hits requests in flight.
    await asyncio.sleep(0.5)
    await asyncio.to_thread(fault)
    down = time.monotonic()
    await asyncio.sleep(OUTAGE_S / 2)
    not_ready = await client.get("/readyz")
    assert_problem(not_ready, 503)
    assert not_ready.headers.get("retry-after"), not_ready.headers
    await asyncio.sleep(OUTAGE_S / 2)
    restart_begins = time.monotonic()
    await asyncio.to_thread(throwaway.start)
    back = time.monotonic()
    first = await load.first_ok_after("read", since=restart_begins, within=RECOVERY_BOUND_S + 5)
    assert first is not None, "no successful read within 10 s of the database being back"
    assert first.ended - back <= RECOVERY_BOUND_S, (
        f"first 200 {first.ended - back:.2f} s after the database was back"
    )
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    # Keep the load on a little so the window after recovery has requests of every kind.
    await asyncio.sleep(1.0)
    return Window(down=down, back=restart_begins)


def _check(outcomes: list[Outcome], window: Window, recovered_at: float) -> None:
    broken = [o for o in outcomes if o.error is not None or o.status not in (200, 201, 503)]
    assert not broken, f"failed requests (want only 2xx or 503): {broken[:5]}"
    bad_503 = [o for o in outcomes if o.status == 503 and not o.proper_503]
    assert not bad_503, f"503 without problem+json or Retry-After: {bad_503[:5]}"
    slow = [o for o in outcomes if o.ended - o.started > REQUEST_TIMEOUT_S / 2]
    assert not slow, f"requests hung during the outage: {slow[:5]}"
    during = [o for o in outcomes if o.started >= window.down and o.ended <= window.back]
    assert {o.name for o in during} == {"read", "write"}, "the outage saw too few requests"
    assert all(o.status == 503 for o in during), [o for o in during if o.status != 503][:5]
    after = [o for o in outcomes if o.started >= recovered_at]
    assert {o.name for o in after if o.ok} == {"read", "write"}, "no read and write after"
    assert all(o.ok for o in after), [o for o in after if not o.ok][:5]


async def _run_fault(
    server: FaultServer, world: World, plot_id: str, fault: Callable[[], None], throwaway: Throwaway
) -> None:
    limits = httpx.Limits(max_connections=10)
    async with httpx.AsyncClient(
        base_url=server.base, timeout=REQUEST_TIMEOUT_S, limits=limits
    ) as client:
        load = Load()
        read_key, write_key = bearer(world.frankfurt), bearer(world.company)
        for _ in range(4):
            load.start("read", lambda: client.get(f"/v1/plots/{plot_id}", headers=read_key))
        load.start(
            "write",
            lambda: client.post("/v1/requirements", json=requirement_body(), headers=write_key),
        )
        window = await _outage(client, load, fault, throwaway)
        outcomes = await load.stop()
    first_ok = min(
        o.ended for o in outcomes if o.name == "read" and o.started >= window.back and o.ok
    )
    _check(outcomes, window, first_ok)


async def test_restart_and_kill9_under_load(
    throwaway: Throwaway, server: FaultServer, world: World, db: AsyncSession
) -> None:
    x, y = ORIGIN[FRANKFURT]
    plot_id = str(await insert_plot(db, FRANKFURT, x=x + 100, y=y + 100))
    await db.close()
    api_pid, workers = server.process.pid, server.worker_pids()
    assert len(workers) == 1, server.output()

    await _run_fault(server, world, plot_id, throwaway.stop, throwaway)
    await _run_fault(server, world, plot_id, throwaway.kill9, throwaway)

    assert server.process.poll() is None, server.output()
    assert server.process.pid == api_pid
    assert server.worker_pids() == workers, "the webhook worker did not survive the outages"
    await _worker_delivers(server, world.company)


async def _worker_delivers(server: FaultServer, key: str) -> None:
    """The worker that lived through the outages still delivers: a ping reaches a receiver."""
    receiver = Receiver()
    await receiver.start()
    try:
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
            hook = await client.post(
                "/v1/webhooks",
                json={"url": receiver.url, "event_types": ["match.created"]},
                headers=bearer(key),
            )
            assert hook.status_code == 201, hook.text
            ping = await client.post(f"/v1/webhooks/{hook.json()['id']}/test", headers=bearer(key))
            assert ping.status_code == 202, ping.text
        deadline = time.monotonic() + 20
        # The receiver records into a list only, no event to wait on.
        while not receiver.of_type("ping") and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        assert receiver.of_type("ping"), server.output()[-3000:]
    finally:
        await receiver.stop()
