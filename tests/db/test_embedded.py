"""The private PostGIS cluster: life cycle, persistence, crash recovery, clear errors."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from landmarket.db import embedded
from landmarket.db.embedded import EmbeddedCluster, EmbeddedError, PgInstall, free_port


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Under /tmp with 0711 so that, as root, the postgres user can reach it.
    path = Path(tempfile.mkdtemp(prefix="landmarket-embedded-", dir="/tmp"))
    path.chmod(0o711)
    yield path
    cluster = EmbeddedCluster(path)
    if cluster.status().running:
        cluster.stop()
    shutil.rmtree(path, ignore_errors=True)


def test_start_reuse_persist_stop(data_dir: Path) -> None:
    cluster = EmbeddedCluster(data_dir)
    assert cluster.start() is True
    assert cluster.start() is False, "a second start reuses the running cluster"
    cluster.psql("CREATE TABLE survivor (id int); INSERT INTO survivor VALUES (42)", "landmarket")
    assert cluster.psql("SELECT name FROM pg_available_extensions WHERE name = 'postgis'")
    assert cluster.stop() is True
    assert cluster.status().running is False
    assert cluster.stop() is False

    again = EmbeddedCluster(data_dir)
    assert again.start() is True
    assert again.psql("SELECT id FROM survivor", "landmarket") == "42"
    if os.geteuid() == 0:
        owner = pwd.getpwuid((data_dir / "pgdata").stat().st_uid).pw_name
        assert owner == "postgres", "as root the server runs as the postgres user"
    assert oct((data_dir / "embedded.json").stat().st_mode & 0o777) == "0o600"


def test_listens_only_on_loopback_with_a_password(data_dir: Path) -> None:
    cluster = EmbeddedCluster(data_dir)
    cluster.start()
    assert cluster.psql("SHOW listen_addresses") == "127.0.0.1"
    hba = cluster.psql("SELECT DISTINCT auth_method FROM pg_hba_file_rules")
    assert set(hba.split()) == {"scram-sha-256"}


def test_stale_postmaster_pid_after_crash_does_not_block(data_dir: Path) -> None:
    cluster = EmbeddedCluster(data_dir)
    cluster.start()
    pid = cluster.status().pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (data_dir / "pgdata" / "postmaster.pid").exists(), "kill -9 leaves the pid file"
    assert cluster.status().running is False
    assert cluster.start() is True
    assert cluster.psql("SELECT 1") == "1"


def test_backend_outliving_a_killed_postmaster_does_not_block_the_restart(
    data_dir: Path,
) -> None:
    """A backend busy computing does not notice its postmaster's death and keeps the shared
    memory; PostgreSQL then refuses to start until it is gone."""
    cluster = EmbeddedCluster(data_dir)
    cluster.start()
    pid = cluster.status().pid
    assert pid is not None
    # psql blocks until the connection dies with the cluster, so it runs in a thread.
    busy = threading.Thread(
        target=_ignore_errors,
        args=(cluster.psql, "SELECT count(*) FROM generate_series(1, 1e11)"),
        daemon=True,
    )
    busy.start()
    deadline = time.monotonic() + 20
    query = "SELECT pid FROM pg_stat_activity WHERE query LIKE '%generate_series(1, 1e11)%'"
    backend = ""
    try:
        while not backend and time.monotonic() < deadline:
            backend = cluster.psql(f"{query} AND pid <> pg_backend_pid()")
            time.sleep(0.1)
        assert backend, "the busy query never started"
        os.kill(pid, signal.SIGKILL)
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _running(int(backend)), "the busy backend outlives its postmaster"
        assert cluster.start() is True
        assert cluster.psql("SELECT 1") == "1"
        assert not _running(int(backend)), "the orphan was ended"
    finally:
        if backend and _running(int(backend)):  # never leave a busy orphan behind
            os.kill(int(backend), signal.SIGKILL)
    busy.join(timeout=10)


def _running(pid: int) -> bool:
    # A dead process may linger as a zombie when nobody reaps orphans (pid 1 in a container).
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _ignore_errors(fn: Callable[..., object], *args: object) -> None:
    # The connection dies with the killed cluster: expected.
    with contextlib.suppress(EmbeddedError):
        fn(*args)


def test_port_taken_by_someone_else_moves_the_cluster(data_dir: Path) -> None:
    cluster = EmbeddedCluster(data_dir)
    cluster.start()
    old_port = cluster.port
    cluster.stop()
    with socket.socket() as squatter:
        # The stopped server's connections may linger in TIME_WAIT on that port.
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", old_port))
        squatter.listen()
        cluster.start()
        assert cluster.port != old_port
        assert cluster.psql("SELECT 1") == "1"


def test_missing_postgresql_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded, "_candidate_bindirs", list)
    with pytest.raises(EmbeddedError, match=r"apt-get install postgresql"):
        embedded.find_install()


def test_missing_postgis_names_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = embedded.find_install()
    bare = PgInstall(bindir=real.bindir, sharedir=tmp_path, version=real.version)
    monkeypatch.setattr(embedded, "_install_from", lambda _bindir: bare)
    with pytest.raises(EmbeddedError, match=rf"postgresql-{real.version}-postgis-3"):
        embedded.find_install()


def _wait_for(url: str, timeout: float) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_serve_runs_on_embedded_postgis_and_stops_it(data_dir: Path, stop: signal.Signals) -> None:
    port = free_port()
    env = {**os.environ, "LANDMARKET_DATA_DIR": str(data_dir)}
    env.pop("LANDMARKET_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "landmarket", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert _wait_for(f"http://127.0.0.1:{port}/healthz", 60).status_code == 200
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        assert EmbeddedCluster(data_dir).status().running
    finally:
        proc.send_signal(stop)
        output, _ = proc.communicate(timeout=60)
    # SIGTERM is what systemd, docker stop and process supervisors send.
    assert proc.returncode in (0, 128 + stop), output
    assert "webhook worker stopped" in output
    assert "embedded PostGIS stopped" in output
    assert EmbeddedCluster(data_dir).status().running is False


def test_webhook_worker_does_not_outlive_a_killed_serve(data_dir: Path) -> None:
    """`serve` starts a delivery worker; killing `serve` outright must not orphan it."""
    port = free_port()
    env = {**os.environ, "LANDMARKET_DATA_DIR": str(data_dir)}
    env.pop("LANDMARKET_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "landmarket", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert _wait_for(f"http://127.0.0.1:{port}/healthz", 60).status_code == 200
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        workers = [
            int(pid) for pid in children if b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        assert len(workers) == 1, children
    finally:
        proc.kill()
        proc.wait(timeout=30)
    deadline = time.monotonic() + 15
    while Path(f"/proc/{workers[0]}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(f"/proc/{workers[0]}").exists(), "the worker was orphaned"
