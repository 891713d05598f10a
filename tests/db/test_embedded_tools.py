"""PostgreSQL's tools started from a threaded process (issue 14, item 14): no user switch in a
forked child of this process, every call killed (with what it started) at its timeout, and
start/stop/psql from several threads at once never hang."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from landmarket.db.embedded import EmbeddedCluster, EmbeddedError

ROOT = os.geteuid() == 0
# What may not run between fork and exec in the child of a threaded process.
UNSAFE_IN_CHILD = ("user", "group", "extra_groups", "preexec_fn")


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    """A throwaway cluster of this module's own (it is stopped and started here)."""
    tmp = Path(tempfile.mkdtemp(prefix="landmarket-tools-", dir="/tmp"))
    tmp.chmod(0o711)  # as root, the postgres user must reach the cluster inside
    made = EmbeddedCluster(tmp / "data")
    made.start()
    try:
        yield made
    finally:
        made.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _processes_running(marker: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker.encode() in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def test_a_tool_and_what_it_started_are_killed_at_the_timeout(cluster: EmbeddedCluster) -> None:
    """psql runs a shell (`\\!`) that outlives psql unless the whole group is killed."""
    seconds = f"{30 + uuid.uuid4().int % 1000 / 1000:.3f}"  # a sleep no one else runs
    psql = cluster.install.tool("psql")
    args = [*cluster._client_args(), "-d", "postgres", "-c", f"\\! sleep {seconds}"]
    started = time.monotonic()
    try:
        with pytest.raises((EmbeddedError, subprocess.TimeoutExpired)):
            cluster._run(psql, *args, timeout=1.5)
        assert time.monotonic() - started < 10
        deadline = time.monotonic() + 5
        while _processes_running(f"sleep\0{seconds}") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _processes_running(f"sleep\0{seconds}") == [], "the tool's shell outlived it"
    finally:
        for pid in _processes_running(f"sleep\0{seconds}"):
            os.kill(pid, 9)


@pytest.mark.skipif(not ROOT, reason="only as root does the cluster switch to the postgres user")
def test_no_user_switch_in_a_forked_child(
    cluster: EmbeddedCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every child is started without user/group/preexec_fn (the switch happens after the
    exec, in setpriv), in a session of its own; the tools still run as the postgres user."""
    seen: list[dict[str, Any]] = []
    real = subprocess.Popen

    class Recording(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            seen.append(kwargs)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", Recording)
    assert cluster.psql("SELECT 1") == "1"
    assert cluster.stop()
    assert cluster.start()
    assert seen, "no tool was started"
    for kwargs in seen:
        unsafe = [name for name in UNSAFE_IN_CHILD if kwargs.get(name) is not None]
        assert unsafe == [], kwargs
        assert kwargs.get("start_new_session") or kwargs.get("process_group") == 0, kwargs
    # The server still runs as the unprivileged user.
    pid = cluster.status().pid
    assert pid is not None and cluster.run_as is not None
    uids = Path(f"/proc/{pid}/status").read_text().split("Uid:")[1].split()[:4]
    assert uids == [str(cluster.run_as.pw_uid)] * 4


@pytest.mark.skipif(
    not ROOT, reason="the user switch that could deadlock in a forked child happens only as root"
)
def test_start_stop_and_psql_from_several_threads(cluster: EmbeddedCluster) -> None:
    """Six threads run psql while one stops and starts the cluster; all must finish within
    a bound (a child stuck before exec would hang its thread for good)."""
    errors: list[BaseException] = []
    done = threading.Event()

    def queries() -> None:
        while not done.is_set():
            try:
                cluster.psql("SELECT 1")
            except EmbeddedError:
                pass  # the cluster is down for a moment: refused, not hung
            except BaseException as exc:  # reported to the test below
                errors.append(exc)
                return

    def cycles() -> None:
        try:
            for _ in range(8):
                cluster.stop()
                cluster.start()
        except BaseException as exc:  # reported to the test below
            errors.append(exc)
        finally:
            done.set()

    # Daemon threads: should one hang, the test fails instead of blocking the session.
    workers = [threading.Thread(target=queries, daemon=True) for _ in range(6)]
    cycler = threading.Thread(target=cycles, daemon=True)
    for thread in [*workers, cycler]:
        thread.start()
    deadline = time.monotonic() + 120
    for thread in [cycler, *workers]:
        thread.join(timeout=max(0.1, deadline - time.monotonic()))
    hung = [t for t in [cycler, *workers] if t.is_alive()]
    done.set()
    assert hung == [], f"{len(hung)} threads still waiting on a tool after 120 s"
    assert errors == []
    assert cluster.psql("SELECT 1") == "1"
