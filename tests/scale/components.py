"""Throwaway Redis and PgBouncer for the scale tests: each its own process on a free port of
127.0.0.1, stopped (by its pid) when the test ends. Never the Redis that may already run on
the machine."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from landmarket.core.processes import as_user
from landmarket.db.embedded import free_port


def need(binary: str, package: str) -> str:
    """The binary's path; the test is skipped (saying what to install) when it is missing:
    scripts/install-system-deps.sh installs it."""
    path = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/usr/bin:/sbin")
    if path is None:
        pytest.skip(f"{binary} is not installed (apt-get install {package}, or run make deps)")
    return path


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def _running(
    command: list[str], ready: Callable[[], bool], log: Path, *, capture: bool = True
) -> Iterator[None]:
    """``command`` running until the block ends (terminated, killed after 10 s), once
    ``ready()`` holds; its log in the error when it exits or is not ready within 10 s.
    ``capture``: its output goes to ``log`` (else the program writes ``log`` itself)."""
    with log.open("ab") if capture else open(os.devnull, "wb") as out:  # noqa: PTH123
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while not ready():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log.read_text(errors="replace") if log.exists() else "")
            time.sleep(0.05)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    """A redis-server of this test's own; yields its URL."""
    binary = need("redis-server", "redis-server")
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--dir", str(workdir), "--daemonize", "no"]
    with _running(command, lambda: _answers(port), workdir / "redis.log"):
        yield f"redis://127.0.0.1:{port}/0"


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def pgbouncer(upstream_url: str, *, pool_size: int = 2) -> Iterator[str]:
    """PgBouncer in transaction mode in front of ``upstream_url``'s server, with at most
    ``pool_size`` server connections (so clients share them); yields the URL through it.
    Run as the cluster's unprivileged user when we are root (PgBouncer refuses root)."""
    binary = need("pgbouncer", "pgbouncer")
    url = make_url(upstream_url)
    workdir = Path(tempfile.mkdtemp(prefix="landmarket-pgbouncer-", dir="/tmp"))
    workdir.chmod(0o711)
    port = free_port()
    (workdir / "userlist.txt").write_text(f'"{url.username}" "{url.password}"\n')
    (workdir / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={url.host} port={url.port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {workdir}/userlist.txt
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 200
logfile = {workdir}/pgbouncer.log
pidfile = {workdir}/pgbouncer.pid
"""
    )
    command = [binary, str(workdir / "pgbouncer.ini")]
    if os.geteuid() == 0:
        user = pwd.getpwnam(os.environ.get("LANDMARKET_EMBEDDED_USER", "postgres"))
        for path in [workdir, *workdir.iterdir()]:
            os.chown(path, user.pw_uid, user.pw_gid)
        command = as_user(command, user.pw_uid, user.pw_gid)
    try:
        # PgBouncer writes its own log file (pgbouncer.ini); its output is discarded.
        log = workdir / "pgbouncer.log"
        with _running(command, lambda: _port_open(port), log, capture=False):
            yield url.set(port=port).render_as_string(hide_password=False)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def haproxy(workdir: Path, backends: list[str]) -> Iterator[str]:
    """HAProxy on a free port balancing over ``backends`` (``host:port``), checking each with
    GET /readyz every 300 ms and retrying a request whose connection failed, or whose
    connection closed before any response, on another backend. Yields its base URL."""
    binary = need("haproxy", "haproxy")
    port = free_port()
    servers = "\n".join(
        f"    server api{i} {address} check inter 300ms fall 3 rise 2"
        for i, address in enumerate(backends)
    )
    config = workdir / "haproxy.cfg"
    config.write_text(
        f"""global
    maxconn 1000

defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    # Generous: on a loaded machine a slow /readyz must not take a healthy node out. A
    # stopped node is skipped at once anyway (its refused connection is retried elsewhere).
    timeout check 5s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout

frontend api
    bind 127.0.0.1:{port}
    default_backend apis

backend apis
    balance roundrobin
    option httpchk GET /readyz
{servers}
"""
    )
    command = [binary, "-db", "-f", str(config)]
    with _running(command, lambda: _port_open(port), workdir / "haproxy.log"):
        yield f"http://127.0.0.1:{port}"
