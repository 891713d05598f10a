"""The isolation matrix: every write operation and every private read of the API, with the
status each actor must get. ``test_isolation_matrix`` checks that this table covers every
route the app has, so a new route without an entry fails the build.

Cells: an HTTP status (401 no valid key, 403 a key of the wrong kind or one that may see but
not change, 404 a key that may not even know the thing exists), ``OWN`` (the actor may do
this: reads must succeed, writes are not sent) or ``HIDDEN`` (a listing the actor may read,
which must not contain the owner's thing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from tests.matching.world import FRANKFURT, requirement_body
from tests.security.world import ACTORS, Seeded

OWN: Final = "own"
HIDDEN: Final = "hidden"
Expect = int | str

# Routes anyone may read and that hold nothing private (published plots, boundaries, docs):
# they have no row in the matrix. The field-level tests check what the plot views show.
PUBLIC_READS = frozenset(
    {
        "/",
        "/openapi.json",
        "/docs",
        "/redoc",
        "/healthz",
        "/readyz",
        "/v1/regions",
        "/v1/regions/{slug}",
        "/v1/municipalities",
        "/v1/municipalities/{ags}",
    }
)
# The OGC API serves published plots and boundaries to anyone and reads no key at all.
PUBLIC_PREFIXES = ("/ogc",)


def cells(default: Expect, **overrides: Expect) -> dict[str, Expect]:
    """``default`` for every keyed actor, 401 for a revoked key and for none."""
    expect: dict[str, Expect] = {a: default for a in ACTORS}
    expect |= {"revoked": 401, "anonymous": 401}
    expect.update(overrides)
    return expect


@dataclass(frozen=True)
class Op:
    label: str
    method: str
    route: str  # the path template exactly as the app declares it
    owner: str  # whose thing it is: tests.security.world.OWNERS
    expect: Mapping[str, Expect]
    path: Callable[[Seeded], str]
    body: Callable[[Seeded], Any] | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Callable[[Seeded], dict[str, str]] | None = None
    hidden: str | None = None  # for HIDDEN cells: the key in Seeded.ids that must not show

    @property
    def writes(self) -> bool:
        return self.method not in ("GET", "HEAD")


def _feature(w: Seeded, external_id: str = "new-1") -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [w.ring]},
        "properties": {
            "external_id": external_id,
            "title": "New plot",
            "municipality_ags": FRANKFURT,
            "zoning": "GE",
        },
    }


def _plot_ops() -> list[Op]:
    ops = [
        Op("create plot", "POST", "/v1/plots", "municipality", cells(403), lambda w: "/v1/plots",
           body=_feature),
        Op("draft plot", "GET", "/v1/plots/{plot_id}", "municipality",
           cells(404, anonymous=404), lambda w: f"/v1/plots/{w.ids['draft_plot']}"),
        Op("plot list", "GET", "/v1/plots", "municipality", cells(HIDDEN, anonymous=HIDDEN),
           lambda w: "/v1/plots", hidden="draft_plot"),
        Op("put existing plot", "PUT", "/v1/municipalities/{ags}/plots/{external_id:path}",
           "municipality", cells(403),
           lambda w: f"/v1/municipalities/{FRANKFURT}/plots/{w.plot_external_id}",
           body=lambda w: _feature(w, w.plot_external_id)),
        Op("put new plot", "PUT", "/v1/municipalities/{ags}/plots/{external_id:path}",
           "municipality", cells(403), lambda w: f"/v1/municipalities/{FRANKFURT}/plots/new-2",
           body=lambda w: _feature(w, "new-2")),
        Op("import plots", "POST", "/v1/plot-imports", "municipality", cells(403),
           lambda w: "/v1/plot-imports",
           body=lambda w: {"type": "FeatureCollection", "features": [_feature(w)]}),
    ]  # fmt: skip
    # A municipality sees another's published plot but may not change it (403); a draft it
    # may not even see (404). Companies and agencies are refused before any lookup (403).
    for which, write, read in (
        ("published", cells(403), cells(403)),
        ("draft", cells(403, other_municipality=404), cells(404)),
    ):
        thing = f"{which}_plot"

        def plot(suffix: str, thing: str = thing) -> Callable[[Seeded], str]:
            return lambda w: f"/v1/plots/{w.ids[thing]}{suffix}"

        def if_match(w: Seeded) -> dict[str, str]:
            return {"If-Match": '"1"'}

        ops += [
            Op(f"patch {which} plot", "PATCH", "/v1/plots/{plot_id}", "municipality", write,
               plot(""), body=lambda w: {"properties": {"title": "Changed"}}, headers=if_match),
            Op(f"withdraw {which} plot", "DELETE", "/v1/plots/{plot_id}", "municipality", write,
               plot(""), headers=if_match),
            Op(f"{which} plot status", "POST", "/v1/plots/{plot_id}/status", "municipality",
               write, plot("/status"), body=lambda w: {"status": "withdrawn"}),
            Op(f"confirm {which} plot", "POST", "/v1/plots/{plot_id}/confirm", "municipality",
               write, plot("/confirm")),
            Op(f"{which} plot history", "GET", "/v1/plots/{plot_id}/history", "municipality",
               read, plot("/history")),
            Op(f"{which} plot demand", "GET", "/v1/plots/{plot_id}/demand", "municipality", read,
               plot("/demand")),
        ]  # fmt: skip
    return ops


def _requirement_ops() -> list[Op]:
    confidential = cells(404, company=OWN)

    def req(suffix: str = "") -> Callable[[Seeded], str]:
        return lambda w: f"/v1/requirements/{w.ids['requirement']}{suffix}"

    def if_match(w: Seeded) -> dict[str, str]:
        return {"If-Match": w.ids["requirement_etag"]}

    return [
        Op("create requirement", "POST", "/v1/requirements", "company",
           cells(403, company=OWN, other_company=OWN), lambda w: "/v1/requirements",
           body=lambda w: requirement_body()),
        Op("requirement list", "GET", "/v1/requirements", "company",
           cells(403, company=OWN, other_company=HIDDEN), lambda w: "/v1/requirements",
           hidden="requirement"),
        Op("read requirement", "GET", "/v1/requirements/{requirement_id}", "company",
           confidential, req()),
        Op("patch requirement", "PATCH", "/v1/requirements/{requirement_id}", "company",
           confidential, req(), body=lambda w: {"title": "Changed"}, headers=if_match),
        Op("withdraw requirement", "DELETE", "/v1/requirements/{requirement_id}", "company",
           confidential, req()),
        Op("erase requirement", "DELETE", "/v1/requirements/{requirement_id}", "company",
           confidential, req(), params={"erase": "true"}),
        Op("requirement matches", "GET", "/v1/requirements/{requirement_id}/matches", "company",
           confidential, req("/matches")),
        Op("match state", "PATCH", "/v1/requirements/{requirement_id}/matches/{plot_id}",
           "company", confidential,
           lambda w: f"/v1/requirements/{w.ids['requirement']}/matches/{w.ids['published_plot']}",
           body=lambda w: {"state": "dismissed"}),
        Op("inquiry list", "GET", "/v1/inquiries", "municipality",
           cells(403, other_municipality=HIDDEN), lambda w: "/v1/inquiries", hidden="inquiry"),
        Op("update inquiry", "PATCH", "/v1/inquiries/{inquiry_id}", "municipality",
           cells(403, other_municipality=404), lambda w: f"/v1/inquiries/{w.ids['inquiry']}",
           body=lambda w: {"state": "in_contact"}),
    ]  # fmt: skip


def _webhook_ops() -> list[Op]:
    theirs = cells(404, company=OWN)

    def hook(suffix: str = "") -> Callable[[Seeded], str]:
        return lambda w: f"/v1/webhooks/{w.ids['webhook']}{suffix}"

    return [
        Op("create webhook", "POST", "/v1/webhooks", "company", cells(OWN),
           lambda w: "/v1/webhooks",
           body=lambda w: {"url": "https://example.org/hook", "event_types": ["match.created"]}),
        Op("webhook list", "GET", "/v1/webhooks", "company", cells(HIDDEN, company=OWN),
           lambda w: "/v1/webhooks", hidden="webhook"),
        Op("read webhook", "GET", "/v1/webhooks/{webhook_id}", "company", theirs, hook()),
        Op("patch webhook", "PATCH", "/v1/webhooks/{webhook_id}", "company", theirs, hook(),
           body=lambda w: {"active": False}),
        Op("delete webhook", "DELETE", "/v1/webhooks/{webhook_id}", "company", theirs, hook()),
        Op("webhook deliveries", "GET", "/v1/webhooks/{webhook_id}/deliveries", "company",
           theirs, hook("/deliveries")),
        Op("ping webhook", "POST", "/v1/webhooks/{webhook_id}/test", "company", theirs,
           hook("/test")),
        Op("redeliver", "POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
           "company", theirs,
           lambda w: f"/v1/webhooks/{w.ids['webhook']}/deliveries/{w.ids['delivery']}/redeliver"),
        Op("event feed", "GET", "/v1/events", "company", cells(HIDDEN, company=OWN),
           lambda w: "/v1/events", hidden="feed_event"),
    ]  # fmt: skip


def _report_ops() -> list[Op]:
    reports = ["supply", "demand", "matching", "unmet-demand", "flows", "timeseries"]
    paths = [*(f"/v1/reports/{r}" for r in reports), "/v1/reports/regional.pdf"]
    paths += ["/v1/exports/plots", "/v1/exports/municipalities"]
    # Agencies read their own regions only; everyone else is refused whatever the region.
    return [
        Op(p.removeprefix("/v1/"), "GET", p, "agency", cells(403, agency=OWN),
           lambda w, p=p: p, params={"region": "frm"})
        for p in paths
    ]  # fmt: skip


def _admin_ops() -> list[Op]:
    admin = cells(403)

    def org(suffix: str = "") -> Callable[[Seeded], str]:
        return lambda w: f"/v1/admin/organizations/{w.org_ids['company']}{suffix}"

    return [
        Op("create organisation", "POST", "/v1/admin/organizations", "admin", admin,
           lambda w: "/v1/admin/organizations", body=lambda w: {"kind": "admin", "name": "X"}),
        Op("organisations", "GET", "/v1/admin/organizations", "admin", admin,
           lambda w: "/v1/admin/organizations"),
        Op("organisation", "GET", "/v1/admin/organizations/{org_id}", "admin", admin, org()),
        Op("create key", "POST", "/v1/admin/organizations/{org_id}/api-keys", "admin", admin,
           org("/api-keys"), body=lambda w: {"name": "x"}),
        Op("keys", "GET", "/v1/admin/organizations/{org_id}/api-keys", "admin", admin,
           org("/api-keys")),
        Op("revoke key", "DELETE", "/v1/admin/api-keys/{key_id}", "admin", admin,
           lambda w: f"/v1/admin/api-keys/{w.ids['company_key']}"),
        Op("erase company", "POST", "/v1/admin/organizations/{org_id}/erasure", "admin", admin,
           org("/erasure")),
        Op("me", "GET", "/v1/me", "company", cells(OWN), lambda w: "/v1/me"),
    ]  # fmt: skip


def _import_session_ops() -> list[Op]:
    # Another municipality may open sessions of its own, but Frankfurt's does not exist for
    # it (404); companies and agencies are refused before any lookup (403).
    theirs = cells(403, other_municipality=404)

    def session(suffix: str = "") -> Callable[[Seeded], str]:
        return lambda w: f"/v1/plot-import-sessions/{w.ids['import_session']}{suffix}"

    batch = {"type": "FeatureCollection", "features": []}
    return [
        Op("open import session", "POST", "/v1/plot-import-sessions", "municipality",
           cells(403, other_municipality=OWN), lambda w: "/v1/plot-import-sessions",
           body=lambda w: {}),
        Op("import session", "GET", "/v1/plot-import-sessions/{session_id}", "municipality",
           theirs, session()),
        Op("upload import batch", "PUT", "/v1/plot-import-sessions/{session_id}/batches/{seq}",
           "municipality", theirs, session("/batches/1"), body=lambda w: batch),
        Op("commit import session", "POST", "/v1/plot-import-sessions/{session_id}/commit",
           "municipality", theirs, session("/commit"), body=lambda w: {"batches": 1}),
        Op("abort import session", "DELETE", "/v1/plot-import-sessions/{session_id}",
           "municipality", theirs, session()),
    ]  # fmt: skip


OPERATIONS: list[Op] = [
    *_plot_ops(),
    *_import_session_ops(),
    *_requirement_ops(),
    *_webhook_ops(),
    *_report_ops(),
    *_admin_ops(),
]
