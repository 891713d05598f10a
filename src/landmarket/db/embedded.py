"""The private PostGIS cluster used when no database URL is configured.

It is built from the PostgreSQL and PostGIS binaries installed on the machine, lives in
``$DATA_DIR/pgdata``, listens on 127.0.0.1 at a free port (plus a unix socket inside the
data directory) and requires a password that is generated once and kept in
``$DATA_DIR/embedded.json`` (mode 0600).

PostgreSQL refuses to run as root, so when we are root every server command runs as the
``postgres`` system user (or ``LANDMARKET_EMBEDDED_USER``), which then owns ``pgdata``. The
switch is made by `setpriv` after the exec, never in a forked child of this (threaded)
process, and every tool runs with a timeout (core/processes.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from landmarket.core.processes import ToolTimeout, as_user, run_tool

DB_NAME = "landmarket"
PROBE_TIMEOUT_S = 30.0  # pg_config, postgres --version
SUPERUSER = "landmarket"
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; leave room for "/.s.PGSQL.NNNNN"


class EmbeddedError(RuntimeError):
    """A problem the operator can fix; the message says how."""


def _apt_hint(version: str | None) -> str:
    ver = version or "<version>"
    return (
        "install them, e.g. on Debian/Ubuntu: apt-get install postgresql "
        f"postgresql-{ver}-postgis-3 (or set LANDMARKET_DATABASE_URL to an existing PostGIS server)"
    )


@dataclass(frozen=True)
class PgInstall:
    bindir: Path
    sharedir: Path
    version: str

    def tool(self, name: str) -> str:
        return str(self.bindir / name)

    @property
    def has_postgis(self) -> bool:
        return (self.sharedir / "extension" / "postgis.control").exists()


def _major(path: Path) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", path.name)) or (0,)


def _probe(args: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return run_tool(args, timeout=PROBE_TIMEOUT_S)
    except ToolTimeout as exc:
        raise EmbeddedError(str(exc)) from exc


def _candidate_bindirs() -> list[Path]:
    found: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = _probe([pg_config, "--bindir"])
        if out.returncode == 0 and out.stdout.strip():
            found.append(Path(out.stdout.strip()))
    # Debian/Ubuntu keep every installed major version side by side; prefer the newest.
    for root in (Path("/usr/lib/postgresql"), Path("/usr/local/pgsql")):
        if root.is_dir():
            found.extend(p / "bin" for p in sorted(root.iterdir(), key=_major, reverse=True))
    found.extend(sorted(Path("/usr").glob("pgsql-*/bin"), key=lambda p: _major(p.parent)))
    return list(dict.fromkeys(found))  # de-duplicated, order kept


def _install_from(bindir: Path) -> PgInstall | None:
    if not all((bindir / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
        return None
    pg_config = bindir / "pg_config"
    sharedir: Path | None = None
    version = ""
    if pg_config.exists():
        out = _probe([str(pg_config), "--sharedir", "--version"])
        if out.returncode == 0:
            lines = out.stdout.strip().splitlines()
            sharedir, version = Path(lines[0]), (re.findall(r"\d+", lines[1]) or [""])[0]
    if sharedir is None:
        out = _probe([str(bindir / "postgres"), "--version"])
        version = (re.findall(r"\d+", out.stdout) or [""])[0]
        debian_share = Path("/usr/share/postgresql") / version
        sharedir = debian_share if debian_share.is_dir() else bindir.parent / "share"
    return PgInstall(bindir=bindir, sharedir=sharedir, version=version)


def find_install() -> PgInstall:
    """The newest PostgreSQL on this machine that has PostGIS, or a clear error."""
    installs = [i for i in map(_install_from, _candidate_bindirs()) if i is not None]
    if not installs:
        raise EmbeddedError(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found; "
            + _apt_hint(None)
        )
    for install in installs:
        if install.has_postgis:
            return install
    newest = installs[0]
    raise EmbeddedError(
        f"PostGIS is not installed for PostgreSQL {newest.version} ({newest.sharedir}); "
        f"install it, e.g. apt-get install postgresql-{newest.version}-postgis-3"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _pid_alive_postgres(pid: int) -> bool:
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return False
    return comm.startswith(("postgres", "postmaster"))


def cluster_processes(pgdata: Path) -> list[int]:
    """Every live server process of the cluster in ``pgdata``, orphans of a dead postmaster
    too: every PostgreSQL process works in its data directory. (A backend busy computing does
    not notice its postmaster's death and holds the shared memory, so a new start fails.)"""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or not _pid_alive_postgres(int(proc.name)):
            continue
        try:
            if (proc / "cwd").readlink() == pgdata:
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def _end_orphans(pgdata: Path, grace_seconds: float = 5.0) -> None:
    """Give the orphans of a dead postmaster ``grace_seconds`` to exit, then kill them (they
    serve nobody: their clients lost them with the postmaster)."""
    deadline = time.monotonic() + grace_seconds
    while (left := cluster_processes(pgdata)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + grace_seconds
    while cluster_processes(pgdata) and time.monotonic() < deadline:
        time.sleep(0.1)


@dataclass(frozen=True)
class Status:
    initialised: bool
    running: bool
    port: int | None
    pid: int | None
    pgdata: Path


class EmbeddedCluster:
    def __init__(self, data_dir: Path, install: PgInstall | None = None) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self.pgdata = self.data_dir / "pgdata"
        self.state_file = self.data_dir / "embedded.json"
        self._install = install
        self.run_as: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            user = os.environ.get("LANDMARKET_EMBEDDED_USER", "postgres")
            try:
                self.run_as = pwd.getpwnam(user)
            except KeyError as exc:
                raise EmbeddedError(
                    f"Running as root, but the system user {user!r} to run PostgreSQL does not "
                    "exist; create it (it comes with the postgresql package) or set "
                    "LANDMARKET_EMBEDDED_USER to an unprivileged user"
                ) from exc

    @property
    def install(self) -> PgInstall:
        if self._install is None:
            self._install = find_install()
        return self._install

    # -- state -----------------------------------------------------------------------------

    def _read_state(self) -> dict[str, object]:
        try:
            data = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write_state(self, state: dict[str, object]) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(state, fh)
        tmp.replace(self.state_file)

    @property
    def port(self) -> int:
        port = self._read_state().get("port")
        if not isinstance(port, int):
            raise EmbeddedError(f"The embedded cluster in {self.pgdata} is not initialised")
        return port

    def url(self, database: str = DB_NAME) -> str:
        state = self._read_state()
        password = quote(str(state.get("password", "")), safe="")
        return f"postgresql+asyncpg://{SUPERUSER}:{password}@127.0.0.1:{self.port}/{database}"

    # -- running commands ----------------------------------------------------------------------

    def _run(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "LC_ALL": "C",
            "PGPASSWORD": str(self._read_state().get("password", "")),
        }
        command = list(args)
        if self.run_as is not None:
            command = as_user(command, self.run_as.pw_uid, self.run_as.pw_gid)
            env["HOME"] = self.run_as.pw_dir
        try:
            proc = run_tool(command, timeout=timeout, env=env, cwd=str(self.data_dir))
        except ToolTimeout as exc:
            name = Path(args[0]).name
            raise EmbeddedError(f"{name} did not finish within {timeout:g} s; stopped") from exc
        except FileNotFoundError as exc:
            raise EmbeddedError(str(exc)) from exc
        if check and proc.returncode != 0:
            message = (proc.stderr or proc.stdout).strip()
            raise EmbeddedError(f"{Path(args[0]).name} failed: {message}")
        return proc

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise init/start/stop between concurrent `landmarket` processes."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with (self.data_dir / "embedded.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _check_traversable(self) -> None:
        if self.run_as is None:
            return
        uid, gid = self.run_as.pw_uid, self.run_as.pw_gid
        for directory in [self.data_dir, *self.data_dir.parents]:
            st = directory.stat()
            if st.st_uid == uid:
                ok = bool(st.st_mode & stat.S_IXUSR)
            elif st.st_gid == gid:
                ok = bool(st.st_mode & stat.S_IXGRP)
            else:
                ok = bool(st.st_mode & stat.S_IXOTH)
            if not ok:
                raise EmbeddedError(
                    f"The PostgreSQL user {self.run_as.pw_name!r} cannot enter {directory}; "
                    "choose a LANDMARKET_DATA_DIR it can reach (e.g. /var/lib/landmarket)"
                )

    # -- lifecycle ---------------------------------------------------------------------------

    def status(self) -> Status:
        initialised = (self.pgdata / "PG_VERSION").exists()
        pid = self._live_pid() if initialised else None
        port = self._read_state().get("port")
        return Status(
            initialised=initialised,
            running=pid is not None,
            port=port if isinstance(port, int) else None,
            pid=pid,
            pgdata=self.pgdata,
        )

    def _live_pid(self) -> int | None:
        try:
            first = (self.pgdata / "postmaster.pid").read_text().splitlines()[0]
            pid = int(first)
        except (OSError, ValueError, IndexError):
            return None
        return pid if _pid_alive_postgres(pid) else None

    def initialise(self) -> None:
        """Create the cluster once; a no-op when it exists."""
        install = self.install
        if (self.pgdata / "PG_VERSION").exists():
            return
        self._check_traversable()
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise EmbeddedError(f"{self.pgdata} exists, is not empty and holds no cluster")
        self.pgdata.mkdir(parents=True, exist_ok=True, mode=0o700)
        password = secrets.token_urlsafe(24)
        self._write_state({"port": free_port(), "password": password, "version": install.version})
        pwfile = self.data_dir / ".initdb-pw"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        if self.run_as is not None:
            os.chown(self.pgdata, self.run_as.pw_uid, self.run_as.pw_gid)
            os.chown(pwfile, self.run_as.pw_uid, self.run_as.pw_gid)
        try:
            self._run(
                install.tool("initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                SUPERUSER,
                "--pwfile",
                str(pwfile),
                "--auth",
                "scram-sha-256",
                "-E",
                "UTF8",
                "--no-locale",
            )
        except EmbeddedError:
            shutil.rmtree(self.pgdata, ignore_errors=True)
            raise
        finally:
            pwfile.unlink(missing_ok=True)

    def start(self) -> bool:
        """Start the cluster (initialising it first); True when this call started it."""
        with self._locked():
            self.initialise()
            if self._live_pid() is not None:
                return False
            # A postmaster.pid whose process is gone (crash, kill -9, reboot) must not block
            # us, nor may the backends that outlived it.
            if (self.pgdata / "postmaster.pid").exists():
                _end_orphans(self.pgdata.resolve())
            (self.pgdata / "postmaster.pid").unlink(missing_ok=True)
            state = self._read_state()
            port = state.get("port")
            if not isinstance(port, int) or _port_in_use(port):
                state["port"] = port = free_port()
                self._write_state(state)
            socket_dir = str(self.pgdata) if len(str(self.pgdata)) < _SOCKET_PATH_MAX else ""
            options = f"-p {port} -c listen_addresses=127.0.0.1 -k '{socket_dir}'"
            self._run(
                self.install.tool("pg_ctl"),
                "-D",
                str(self.pgdata),
                "-l",
                str(self.pgdata / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            )
            self._ensure_database(DB_NAME)
            return True

    def stop(self) -> bool:
        """Stop the cluster; True when it was running."""
        with self._locked():
            if self._live_pid() is None:
                return False
            self._run(
                self.install.tool("pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "stop"
            )
            return True

    def _client_args(self) -> list[str]:
        return ["-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER]

    def psql(self, sql: str, database: str = "postgres") -> str:
        psql = self.install.tool("psql")
        args = [*self._client_args(), "-d", database, "-v", "ON_ERROR_STOP=1", "-tAc", sql]
        return self._run(psql, *args).stdout.strip()

    def _ensure_database(self, name: str) -> None:
        # psql -c cannot bind parameters; the name is restricted to [a-z0-9_] just below.
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise EmbeddedError(f"invalid database name {name!r}")
        for _ in range(20):
            exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")  # noqa: S608
            if exists == "1":
                return
            createdb = self.install.tool("createdb")
            if self._run(createdb, *self._client_args(), name, check=False).returncode == 0:
                return
            time.sleep(0.2)  # another process may be creating it right now
        raise EmbeddedError(f"could not create database {name}")
