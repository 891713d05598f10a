"""Issue 14 item 1: `landmarket serve` supervises its webhook worker: a worker that dies is
started again (with back-off, logged), and none is left behind when serve stops."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.servers import serving


def _workers(pid: int) -> list[int]:
    # Children of every thread: the supervisor thread starts the restarted workers.
    children: list[str] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += (task / "children").read_text().split()
        except OSError:
            continue
    found = []
    for child in children:
        try:
            if b"worker" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(int(child))
        except OSError:
            continue
    return found


def _wait_for_other_worker(pid: int, gone: int, within: float) -> int:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        now = [w for w in _workers(pid) if w != gone]
        if now:
            return now[0]
        time.sleep(0.1)
    raise AssertionError(f"no new worker within {within} s")


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


@pytest.mark.usefixtures("clean_db")
def test_serve_restarts_a_killed_worker_with_back_off(database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "LANDMARKET_DATABASE_URL": database_url}
    env["LANDMARKET_DATA_DIR"] = str(tmp_path)
    with serving(env, tmp_path / "serve.log") as server:
        api = server.process.pid
        deadline = time.monotonic() + 30
        while not (workers := _workers(api)):
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.1)
        [first] = workers
        os.kill(first, signal.SIGKILL)
        second = _wait_for_other_worker(api, first, within=10)
        os.kill(second, signal.SIGKILL)  # again at once: the next start waits longer
        killed = time.monotonic()
        third = _wait_for_other_worker(api, second, within=15)
        assert time.monotonic() - killed >= 1.5, "no back-off between restarts"
        output = server.output()
        assert output.count("restarting in") == 2, output
        assert "restarting in 1 s" in output and "restarting in 2 s" in output, output
        assert _alive(third)
    # serve stopped: its worker with it, none restarted behind its back.
    deadline = time.monotonic() + 10
    while _alive(third):
        assert time.monotonic() < deadline, "the worker outlived serve"
        time.sleep(0.1)
