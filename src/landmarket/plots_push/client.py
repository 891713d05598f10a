"""Sending a push as one import session: open → upload batches → commit (or abort).

Network trouble (connection refused or dropped, timeouts, 502/503/504) is retried a few
times: re-sending a batch under its sequence number and re-sending the commit are both
idempotent on the server, so a retry never writes twice. What still fails is ``Unreachable``
(exit status 3); a request the API refuses as a whole is ``Refused`` (exit status 2).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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

    def abort(self, sid: str) -> None:
        """Best effort: an abandoned session expires on the server anyway."""
        with contextlib.suppress(httpx.HTTPError):
            self._client.delete(f"{self._base}/{sid}", headers=self._headers)


def send(
    client: SessionClient,
    features: Sequence[dict[str, Any]],
    options: PushOptions,
    *,
    keep: Sequence[str],
    validate_only: bool,
    advance: Callable[[str, int], None] = lambda stage, n: None,
) -> tuple[dict[str, Any], bool]:
    """Upload and commit; returns the server's report and whether anything was written.

    ``validate_only``: the rows the client refused make an atomic push fail, but the server
    still checks the others (a dry-run commit), so one run names every problem.
    """
    sid = client.open(options, keep)
    committed = False
    try:
        size = options.batch_size
        batches = [list(features[s : s + size]) for s in range(0, len(features), size)]
        for seq, batch in enumerate(batches):
            client.upload(sid, seq, batch)
            advance("uploading", len(batch))
        dry = options.dry_run or validate_only
        report = client.commit(sid, len(batches), dry_run=dry)
        committed = not dry and "created" in report
        return report, committed
    finally:
        if not committed:
            client.abort(sid)
