"""Running external tools from a process that has threads (uvicorn, asyncio's executors,
pytest-asyncio, the test harness's own threads).

Two rules, kept here in one place:

- Nothing but async-signal-safe system calls may run between fork and exec in the child of a
  multi-threaded process. `subprocess`'s ``user=``, ``group=``, ``extra_groups=`` and
  ``preexec_fn=`` run more (glibc's set*id broadcast, Python code); a child caught there can
  deadlock before it ever execs, and then no timeout applies, since `Popen()` itself waits for
  the exec. A tool that must run as another user is started through util-linux's `setpriv`,
  which switches user in its own, single-threaded process and then execs the tool.
- Every call has a timeout, and at the timeout the tool's whole process group is killed (it
  runs in a session of its own), so a shell or helper it started does not linger.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

SETPRIV = "setpriv"


class ToolTimeout(RuntimeError):
    """A tool ran past its timeout; it and everything it started have been killed."""

    def __init__(self, args: Sequence[str], timeout: float) -> None:
        super().__init__(f"{Path(args[0]).name} did not finish within {timeout:g} s; stopped")
        self.args_run = list(args)
        self.timeout = timeout


def as_user(args: Sequence[str], uid: int, gid: int) -> list[str]:
    """``args`` prefixed so that they run as ``uid``:``gid`` without supplementary groups,
    the switch made by `setpriv` after the exec rather than in our forked child."""
    setpriv = shutil.which(SETPRIV) or shutil.which(SETPRIV, path="/usr/bin:/bin")
    if setpriv is None:
        raise FileNotFoundError(
            "setpriv (util-linux) is needed to run PostgreSQL's tools as another user; "
            "install util-linux"
        )
    return [setpriv, f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--", *args]


def kill_group(process: subprocess.Popen[str]) -> None:
    """SIGKILL to the process group of ``process`` (it leads its own session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def run_tool(
    args: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``args`` to completion, its output captured as text; `ToolTimeout` after
    ``timeout`` seconds, with the tool's process group killed."""
    process = subprocess.Popen(
        list(args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=None if env is None else dict(env),
        cwd=cwd,
        # setsid() in the child: a plain system call, and the group we kill at the timeout.
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        kill_group(process)
        # The group is dead, so the pipes close; bounded all the same.
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.communicate(timeout=5)
        raise ToolTimeout(args, timeout) from exc
    except BaseException:
        kill_group(process)  # KeyboardInterrupt, SystemExit: leave nothing behind
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
        raise
    return subprocess.CompletedProcess(list(args), process.returncode, stdout, stderr)
