"""Sending a push as one import session: open → upload batches → commit (or abort).

Network trouble (connection refused or dropped, timeouts, 502/503/504) is retried a few
times: re-sending a batch under its sequence number and re-sending the commit are both
idempotent on the server, so a retry never writes twice. What still fails is ``Unreachable``
(exit status 3); a request the API refuses as a whole is ``Refused`` (exit status 2).
After ``Unreachable`` the session stays open and a state file records it, so running the same
push again resumes it (``ResumeState``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from landmarket.plots.imports.schemas import ImportMode

_RETRIED_STATUS = frozenset({502, 503, 504})
_BACKOFF = (0.5, 1.0, 2.0, 4.0)


class Refused(Exception):
    """The API refused a request as a whole (key, limits, bad option): exit status 2."""


class Unreachable(Exception):
    """The API could not be reached or failed (network, timeout, 5xx): exit status 3."""


@dataclass(frozen=True)
class PushOptions:
    mode: ImportMode = ImportMode.atomic
    prune: bool = False
    dry_run: bool = False
    repair: bool = False
    batch_size: int = 1000
    # Merge: only these properties change on existing plots (None: replace whole plots).
    merge: tuple[str, ...] | None = None
    force: bool = False


def api_base(api: str) -> str:
    base = api.rstrip("/")
    return base if base.endswith("/v1") else base + "/v1"


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class SessionClient:
    def __init__(
        self,
        client: httpx.Client,
        api: str,
        key: str,
        crs_uri: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._base = api_base(api) + "/plot-import-sessions"
        self._headers = {"Authorization": f"Bearer {key}", "Content-Crs": f"<{crs_uri}>"}
        self._sleep = sleep

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        last = ""
        for delay in (*_BACKOFF, None):
            try:
                response = self._client.request(method, url, headers=self._headers, **kwargs)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc or 'no answer'}"
            else:
                if response.status_code not in _RETRIED_STATUS:
                    return response
                detail = _problem(response).get("detail") or response.reason_phrase
                last = f"HTTP {response.status_code}: {detail}"
            if delay is None:
                break
            self._sleep(delay)
        raise Unreachable(f"{method} {url}: {last}")

    @staticmethod
    def _refused(response: httpx.Response) -> Refused | Unreachable:
        detail = _problem(response).get("detail") or response.text[:500]
        if response.status_code >= 500:
            return Unreachable(f"HTTP {response.status_code}: {detail}")
        return Refused(f"HTTP {response.status_code}: {detail}")

    def open(self, options: PushOptions, keep: Sequence[str]) -> str:
        body = {
            "mode": options.mode.value,
            "repair": options.repair,
            "prune": options.prune,
            "keep": list(keep),
            "merge": None if options.merge is None else list(options.merge),
            "force": options.force,
        }
        response = self._request("POST", self._base, json=body)
        if response.status_code != 201:
            raise self._refused(response)
        return str(response.json()["id"])

    def upload(self, sid: str, seq: int, features: list[dict[str, Any]]) -> None:
        body = {"type": "FeatureCollection", "features": features}
        response = self._request("PUT", f"{self._base}/{sid}/batches/{seq}", json=body)
        if response.status_code != 200:
            raise self._refused(response)

    def commit(self, sid: str, batches: int, *, dry_run: bool) -> dict[str, Any]:
        """The report; for an atomic import with failures, ``{"errors": [...]}`` only."""
        response = self._request(
            "POST",
            f"{self._base}/{sid}/commit",
            json={"batches": batches},
            params={"dry_run": str(dry_run).lower()},
        )
        if response.status_code == 200:
            report: dict[str, Any] = response.json()
            return report
        errors = _problem(response).get("errors") or []
        if response.status_code in (403, 422) and errors and "index" in errors[0]:
            return {"errors": errors}  # atomic, with failures: nothing was written
        raise self._refused(response)

    @property
    def target(self) -> str:
        """What a resumed session must have been opened against: the API and the CRS."""
        return f"{self._base} {self._headers['Content-Crs']}"

    def state(self, sid: str) -> dict[str, Any] | None:
        """The session as the server has it; None when it is gone (aborted, expired, unknown)."""
        response = self._request("GET", f"{self._base}/{sid}")
        if response.status_code in (404, 422):
            return None
        if response.status_code != 200:
            raise self._refused(response)
        body: dict[str, Any] = response.json()
        return body

    def abort(self, sid: str) -> None:
        """Best effort: an abandoned session expires on the server anyway."""
        with contextlib.suppress(httpx.HTTPError):
            self._client.delete(f"{self._base}/{sid}", headers=self._headers)


def _digest(batch: Sequence[dict[str, Any]]) -> str:
    text = json.dumps(list(batch), separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class ResumeState:
    """The open session of a push and the batches the server acknowledged, in a small JSON
    file, so a rerun after a dropped connection continues the session instead of starting
    over. It is valid only for the same API, CRS and options (``fingerprint``); each batch is
    skipped only when its content hash is the one acknowledged."""

    def __init__(self, path: Path | None, fingerprint: str) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self.sid: str | None = None
        self.acknowledged: dict[int, str] = {}

    def load(self) -> None:
        if self.path is None or not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("fingerprint") == self.fingerprint:
                self.sid = str(data["session"])
                self.acknowledged = {int(k): str(v) for k, v in data["batches"].items()}
        except (ValueError, KeyError, TypeError, AttributeError, OSError):
            pass  # unreadable: start afresh (the old session expires on the server)

    def save(self) -> None:
        if self.path is None or self.sid is None:
            return
        data = {
            "fingerprint": self.fingerprint,
            "session": self.sid,
            "batches": {str(k): v for k, v in sorted(self.acknowledged.items())},
        }
        temporary = self.path.with_name(self.path.name + ".tmp")
        # A directory we may not write to costs only the resume, not the push.
        with contextlib.suppress(OSError):
            temporary.write_text(json.dumps(data), encoding="utf-8")
            temporary.replace(self.path)  # never a half-written state file

    def clear(self) -> None:
        self.sid, self.acknowledged = None, {}
        if self.path is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()


def _resumable(client: SessionClient, state: ResumeState, digests: list[str]) -> set[int]:
    """The batches of the saved session that need not be sent again; empty (and a cleared
    state) when there is no open session to continue or the file changed under it."""
    if state.sid is None:
        return set()
    remote = client.state(state.sid)
    received = set(remote.get("batches") or []) if remote else set()
    changed = any(
        seq >= len(digests) or digests[seq] != digest for seq, digest in state.acknowledged.items()
    )
    if remote is None or remote.get("state") != "open" or changed:
        if remote is not None and remote.get("state") == "open":
            client.abort(state.sid)  # the file changed: its batches are not this push's
        state.clear()
        return set()
    return {seq for seq in state.acknowledged if seq in received}


def send(
    client: SessionClient,
    features: Sequence[dict[str, Any]],
    options: PushOptions,
    *,
    keep: Sequence[str],
    validate_only: bool,
    advance: Callable[[str, int], None] = lambda stage, n: None,
    state_file: Path | None = None,
) -> tuple[dict[str, Any], bool]:
    """Upload and commit; returns the server's report and whether anything was written.

    ``validate_only``: the rows the client refused make an atomic push fail, but the server
    still checks the others (a dry-run commit), so one run names every problem.

    ``state_file``: when the API cannot be reached (``Unreachable``), the session is left open
    and recorded there; the same push run again continues it, sending only the batches the
    server has not acknowledged. Any other outcome ends the session and removes the file.
    """
    size = options.batch_size
    batches = [list(features[s : s + size]) for s in range(0, len(features), size)]
    digests = [_digest(b) for b in batches]
    settings = {**asdict(options), "mode": options.mode.value, "keep": sorted(keep)}
    settings |= {"validate_only": validate_only, "target": client.target}
    fingerprint = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
    state = ResumeState(state_file, fingerprint)
    state.load()
    done = _resumable(client, state, digests)
    if state.sid is None:
        state.sid = client.open(options, keep)
        state.save()
    sid = state.sid
    committed = False
    try:
        for seq, batch in enumerate(batches):
            if seq not in done:
                client.upload(sid, seq, batch)
                state.acknowledged[seq] = digests[seq]
                state.save()
            advance("uploading", len(batch))
        dry = options.dry_run or validate_only
        report = client.commit(sid, len(batches), dry_run=dry)
        committed = not dry and "created" in report
    except Unreachable:
        if state.path is None:
            client.abort(sid)
        raise  # the session stays open for a rerun (it expires on the server if none comes)
    except BaseException:
        client.abort(sid)
        state.clear()
        raise
    if not committed:
        client.abort(sid)
    state.clear()
    return report, committed
