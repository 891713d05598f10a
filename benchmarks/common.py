"""Pieces every benchmark shares: paths, a `landmarket serve` process, versions, the machine."""

from __future__ import annotations

import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from landmarket.core.config import Settings
from landmarket.db.session import async_url, connect_args

ROOT = Path(__file__).resolve().parents[1]
MUNICIPALITIES = ROOT.parent / "shared/data/municipalities"
FRM = MUNICIPALITIES / "frm-75-vg5000-2021.geojson"
GERMANY = MUNICIPALITIES / "vg5000_gem_2021"
RESULTS = ROOT / "benchmarks/results"
SEED = 20260101
UTM = "<http://www.opengis.net/def/crs/EPSG/0/25832>"


def product_engine(url: str) -> AsyncEngine:
    """An engine with the API's connection settings (statement timeout off, JIT off as in
    ``db.session.connect_args``), so SQL timed here runs as the product runs it."""
    args = connect_args(Settings(statement_timeout_ms=0), application_name="benchmark")
    return create_async_engine(async_url(url), connect_args=args)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    env: dict[str, str], port: int, log: Path, *, workers: int = 1
) -> subprocess.Popen[bytes]:
    """`landmarket serve` on 127.0.0.1:``port``, returned once /readyz answers 200."""
    binary = Path(sys.executable).parent / "landmarket"
    command = [str(binary), "serve", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workers", str(workers)],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    return await_up(process, f"http://127.0.0.1:{port}/readyz", "landmarket serve", log, 120)


def await_up(
    process: subprocess.Popen[bytes], url: str, what: str, log: Path, seconds: float = 60
) -> subprocess.Popen[bytes]:
    """``process`` once ``url`` answers 200; stopped, and the run ended, if it never does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.3)
    stop_server(process)
    raise SystemExit(f"{what} did not come up; see {log}")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Stop the server we started (by its pid; uvicorn stops its workers on SIGTERM)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


async def versions(url: str) -> tuple[str, str]:
    """(PostgreSQL server version, PostGIS library version) of the database at ``url``."""
    engine = create_async_engine(async_url(url))
    try:
        async with engine.connect() as conn:
            pg = str(await conn.scalar(text("SHOW server_version")))
            postgis = str(await conn.scalar(text("SELECT postgis_lib_version()")))
        return pg, postgis
    finally:
        await engine.dispose()


def machine() -> str:
    """Cores, memory, kernel and Python of this machine, for the results file."""
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return f"{os.cpu_count()} CPUs (nproc) {cpu}, {mem_kb / 1024 / 1024:.1f} GiB memory, " + (
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def libpq_url(url: str) -> str:
    """A libpq connection URI (for pgbench, ogr2ogr, tipg) from a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def pgbench(dsn: str, scripts: Sequence[str], seconds: float, clients: int) -> float:
    """Transactions per second of pgbench running ``scripts`` (one SQL statement each, picked
    at random per transaction) with prepared statements; ``clients`` connections."""
    with tempfile.TemporaryDirectory(prefix="landmarket-pgbench-") as tmp:
        command = ["pgbench", "-n", "-M", "prepared", "-c", str(clients)]
        command += ["-j", str(min(clients, 2)), "-T", str(max(1, round(seconds)))]
        for i, sql in enumerate(scripts):
            path = Path(tmp) / f"q{i}.sql"
            path.write_text(sql.rstrip().rstrip(";") + ";\n")
            command += ["-f", str(path)]
        out = subprocess.run(
            [*command, dsn], capture_output=True, text=True, check=False, timeout=seconds + 120
        )
    if out.returncode != 0:  # the command line holds the password: show pgbench's words only
        raise SystemExit(f"pgbench failed ({out.returncode}):\n{out.stderr[-2000:]}")
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out.stdout)
    if match is None:
        raise SystemExit(f"pgbench gave no tps:\n{out.stdout}\n{out.stderr}")
    return float(match.group(1))
