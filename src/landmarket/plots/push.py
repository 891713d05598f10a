"""`landmarket plots push`: send a file's plots to the API in batches and merge the reports.

Batches and the import options:

- atomic (default): a batch is all or nothing on the server. So that a file with several
  batches is too, the features are first sent with ``dry_run=true`` (nothing written); only
  when no batch has a failure are they sent for real.
- prune: must see the whole file, not one batch, or each batch would withdraw the others.
  The batches are sent without prune; then one final request with no features, ``prune=true``,
  ``keep`` = every external id of the file and ``municipalities`` = every municipality the
  batches touched. Nothing is withdrawn when a batch failed in atomic mode.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from landmarket.plots.imports.schemas import ImportMode


class PushError(Exception):
    """The API refused a request as a whole (auth, 413, ...): nothing more is sent."""


@dataclass
class PushReport:
    received: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    repaired: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    municipalities: set[str] = field(default_factory=set)

    @property
    def failed(self) -> int:
        return len({e["index"] for e in self.errors})

    def as_dict(self, *, dry_run: bool) -> dict[str, Any]:
        counts = ("received", "created", "updated", "unchanged", "withdrawn", "failed")
        return {name: getattr(self, name) for name in counts} | {
            "dry_run": dry_run,
            "municipalities": sorted(self.municipalities),
            "repaired": self.repaired,
            "errors": self.errors,
        }

    def add(self, report: dict[str, Any], offset: int) -> None:
        for name in ("received", "created", "updated", "unchanged", "withdrawn"):
            setattr(self, name, getattr(self, name) + int(report.get(name, 0)))
        # Indexes and pointers name the feature in the file, not in the batch.
        for entry in report.get("errors") or []:
            index = int(entry["index"]) + offset
            pointer = str(entry["pointer"]).replace(
                f"/features/{entry['index']}", f"/features/{index}", 1
            )
            self.errors.append({**entry, "index": index, "pointer": pointer})
        self.repaired += [
            {**r, "index": int(r["index"]) + offset} for r in report.get("repaired") or []
        ]
        self.municipalities.update(report.get("municipalities") or [])


def imports_url(api: str) -> str:
    base = api.rstrip("/")
    return (base if base.endswith("/v1") else base + "/v1") + "/plot-imports"


@dataclass(frozen=True)
class PushOptions:
    mode: ImportMode = ImportMode.atomic
    prune: bool = False
    dry_run: bool = False
    repair: bool = False
    batch_size: int = 1000


class Pusher:
    def __init__(self, client: httpx.Client, api: str, key: str, crs_uri: str) -> None:
        self._client = client
        self._url = imports_url(api)
        self._headers = {"Authorization": f"Bearer {key}", "Content-Crs": f"<{crs_uri}>"}

    def send(
        self, body: dict[str, Any], options: PushOptions, *, dry_run: bool, prune: bool = False
    ) -> dict[str, Any]:
        params = {"mode": options.mode.value, "dry_run": str(dry_run).lower()}
        params |= {"prune": str(prune).lower(), "repair": str(options.repair).lower()}
        response = self._client.post(self._url, json=body, params=params, headers=self._headers)
        problem: dict[str, Any] = {}
        if response.headers.get("content-type", "").startswith("application/problem+json"):
            problem = response.json()
        if response.status_code == 200:
            report: dict[str, Any] = response.json()
            return report
        if response.status_code in (403, 422) and "index" in ((problem.get("errors") or [{}])[0]):
            # An atomic batch with failures (403: only municipalities the key may not write):
            # the same per-feature entries as a report.
            return {"errors": problem["errors"]}
        detail = problem.get("detail") or response.text[:500]
        raise PushError(f"HTTP {response.status_code}: {detail}")


def _batches(features: Sequence[dict[str, Any]], size: int) -> list[tuple[int, list[Any]]]:
    return [(s, list(features[s : s + size])) for s in range(0, len(features), size)]


def push(
    pusher: Pusher,
    features: Sequence[dict[str, Any]],
    options: PushOptions,
    advance: Callable[[str, int], None] = lambda stage, n: None,
) -> PushReport:
    batches = _batches(features, options.batch_size)
    if options.mode is ImportMode.atomic and len(batches) > 1 and not options.dry_run:
        checked = _send_all(pusher, batches, options, dry_run=True, advance=advance)
        if checked.errors:
            checked.received = len(features)
            return checked
    report = _send_all(pusher, batches, options, dry_run=options.dry_run, advance=advance)
    report.received = len(features)
    if options.prune and not (report.errors and options.mode is ImportMode.atomic):
        ids = sorted({str(f["properties"]["external_id"]) for f in features if _has_id(f)})
        final = {
            "type": "FeatureCollection",
            "features": [],
            "keep": ids,
            "municipalities": sorted(report.municipalities),
        }
        pruned = pusher.send(final, options, dry_run=options.dry_run, prune=True)
        report.withdrawn += int(pruned.get("withdrawn", 0))
        advance("pruning", 0)
    return report


def _has_id(feature: dict[str, Any]) -> bool:
    return isinstance(feature.get("properties"), dict) and bool(
        feature["properties"].get("external_id")
    )


def _send_all(
    pusher: Pusher,
    batches: list[tuple[int, list[Any]]],
    options: PushOptions,
    *,
    dry_run: bool,
    advance: Callable[[str, int], None],
) -> PushReport:
    report = PushReport()
    stage = "validating" if dry_run and not options.dry_run else "sending"
    for offset, batch in batches:
        body = {"type": "FeatureCollection", "features": batch}
        report.add(pusher.send(body, options, dry_run=dry_run), offset)
        advance(stage, len(batch))
        if report.errors and options.mode is ImportMode.atomic and not dry_run:
            break  # later batches would be refused for the same reason; stop writing
    return report
