"""`landmarket serve` as a real process for tests: on 127.0.0.1 at a free port, returned once
/readyz answers 200, always stopped afterwards (by its pid)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from landmarket.db.embedded import free_port

BIN = Path(sys.executable).parent


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def serving(
    env: Mapping[str, str], log: Path, *options: str, wrapper: Sequence[str] = ()
) -> Iterator[Server]:
    """Start ``landmarket serve`` with ``env`` (its database, data dir, settings) and extra
    command-line ``options``; its output goes to ``log``. ``wrapper`` is a command that execs
    the rest (e.g. ``prlimit --nofile=1024 --``)."""
    port = free_port()
    command = [*wrapper, str(BIN / "landmarket"), "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, *options], env=dict(env), stdout=out, stderr=subprocess.STDOUT
        )
    server = Server(base=f"http://127.0.0.1:{port}", process=process, log=log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{server.base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(server.output())
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
