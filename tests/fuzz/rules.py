"""Rules of the API that its OpenAPI document cannot state, and a check that keeps them narrow.

positive_data_acceptance holds that every request valid per the schema is accepted. Some rules
depend on state or on the caller, which JSON Schema cannot express: a cursor must be one the API
issued, If-Match must name the current version, an Idempotency-Key stays bound to its first
request, a geometry must be valid and lie in its municipality, referenced municipalities,
regions and requirements must exist and be in the caller's scope, event types depend on the
caller's kind, a webhook URL must resolve to a public address. For such rules schemathesis
advises allowing the status they answer with on that operation (`st explain ST202`); only those
operations get it, and `unstated_rules_only` takes the slack back: a schema-valid request may be
refused that way only at the fields the operation's rules are about. Any other 422 still fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import schemathesis
from schemathesis.config._checks import (
    MISSING_REQUIRED_HEADER_EXPECTED_STATUSES,
    POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES,
)

from tests.reports.world import REPORT_PATHS


@dataclass(frozen=True)
class Rule:
    why: str
    # None: the document's status for invalid input (422 in the main API, 400 in the OGC API).
    status: int | None = None
    # Pointers (regular expressions) a refusal under this rule may name; a 412 names none.
    pointers: tuple[str, ...] = ()


CURSOR = Rule(
    "a cursor is an opaque position only the API issues", pointers=(r"/query/(cursor|after)$",)
)
IF_MATCH = Rule("If-Match must name the current version (RFC 9110 §13.1.1)", status=412)
IDEMPOTENCY = Rule(
    "an Idempotency-Key stays bound to its first request", pointers=(r"/header/idempotency-key$",)
)
BBOX = Rule("a bbox runs from min to max inside its CRS", pointers=(r"/query/bbox$",))
PLOT = Rule(
    "a plot's geometry is valid and lies in a municipality the key may edit; status changes"
    " follow the state machine",
    pointers=(
        r"/body/geometry",
        r"/body/properties/(municipality_ags|status|external_id)$",
        r"/header/content-crs$",
    ),
)
IMPORT = Rule(
    "every feature passes the single-plot rules; the key may edit the municipalities",
    # Per-feature errors point into the collection as docs/plots.md documents them
    # (`/features/3/geometry`, no /body prefix).
    pointers=(r"/body/features/", r"/features/\d+/", r"/body/municipalities/", r"/body/keep/"),
)
REQUIREMENT = Rule(
    "named municipalities exist, an area is a valid polygon, area_min <= area_max",
    pointers=(r"/body/location/(municipalities/|area)", r"/body/area_max_m2$"),
)
SCOPE = Rule(
    "agencies name one of their regions; municipalities lie in it; from <= to; "
    "include_empty goes with grouping by municipality; a CSV table is one of the report's tables",
    pointers=(
        r"/query/region$",
        r"/query/municipalities/",
        r"/query/from$",
        r"/query/include_empty$",
        r"/query/table$",
    ),
)
WEBHOOK = Rule(
    "the URL resolves to a public address; event types and requirements are the caller's",
    pointers=(r"/body/url$", r"/body/event_types/", r"/body/filter/requirement_ids/"),
)
ORGANIZATION = Rule(
    "named municipalities and regions exist", pointers=(r"/body/(ags/|home_ags$|regions/)",)
)
API_KEY = Rule("a key expires in the future", pointers=(r"/body/expires_at$",))

OGC_QUERY = Rule(
    "CQL2 filters and datetime intervals follow their grammars; a bbox runs from min to max"
    " inside its CRS; bbox-crs comes with a bbox",
    pointers=(r"/query/(filter|datetime|bbox|bbox-crs)$",),
)

BY_OPERATION: dict[str, tuple[Rule, ...]] = {
    "GET /v1/plots": (BBOX,),
    "POST /v1/plots": (PLOT,),
    "PATCH /v1/plots/{plot_id}": (PLOT,),
    "POST /v1/plots/{plot_id}/status": (PLOT,),
    "PUT /v1/municipalities/{ags}/plots/{external_id}": (PLOT,),
    "POST /v1/plot-imports": (IMPORT,),
    "POST /v1/requirements": (REQUIREMENT,),
    "PATCH /v1/requirements/{requirement_id}": (REQUIREMENT,),
    "POST /v1/webhooks": (WEBHOOK,),
    "PATCH /v1/webhooks/{webhook_id}": (WEBHOOK,),
    "POST /v1/admin/organizations": (ORGANIZATION,),
    "POST /v1/admin/organizations/{org_id}/api-keys": (API_KEY,),
    **{f"GET {path}": (SCOPE,) for path in REPORT_PATHS},
    # The OGC API document (paths relative to /ogc).
    "GET /collections/plots/items": (OGC_QUERY,),
    "GET /collections/municipalities/items": (OGC_QUERY,),
}

# Operation label -> its rules, for the check; filled from the document being fuzzed.
_ACTIVE: dict[str, tuple[Rule, ...]] = {}


def _parameters(spec: dict[str, Any], operation: dict[str, Any]) -> list[dict[str, Any]]:
    """The operation's parameters with local `$ref`s resolved (the OGC document uses them)."""
    resolved = []
    for parameter in operation.get("parameters", ()):
        ref = parameter.get("$ref", "")
        if ref.startswith("#/"):
            parameter = spec
            for part in ref[2:].split("/"):
                parameter = parameter[part]
        resolved.append(parameter)
    return resolved


def _by_parameters(parameters: list[dict[str, Any]]) -> tuple[Rule, ...]:
    names = {p.get("name") for p in parameters}
    return (
        *((CURSOR,) if names & {"cursor", "after"} else ()),
        *((IF_MATCH,) if "If-Match" in names else ()),
        *((IDEMPOTENCY,) if "Idempotency-Key" in names else ()),
    )


def _required_if_match(parameters: list[dict[str, Any]]) -> bool:
    return any(p.get("name") == "If-Match" and p.get("required") for p in parameters)


def operations_config(spec: dict[str, Any], invalid: int = 422) -> list[dict[str, Any]]:
    """schemathesis `[[operations]]` entries: for each operation with rules, the statuses they
    answer with (``invalid`` where a rule names none) added to positive_data_acceptance's
    defaults; where If-Match is required, its absence is 428 Precondition Required (RFC 6585),
    added to missing_required_header's."""
    entries = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            label = f"{method.upper()} {path}"
            parameters = _parameters(spec, operation)
            rules = tuple(
                replace(r, status=r.status or invalid)
                for r in (*_by_parameters(parameters), *BY_OPERATION.get(label, ()))
            )
            checks: dict[str, Any] = {}
            if rules:
                _ACTIVE[label] = rules
                statuses = sorted({str(r.status) for r in rules})
                expected = [*POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES, *statuses]
                checks["positive_data_acceptance"] = {"expected-statuses": expected}
            if _required_if_match(parameters):
                expected = [*MISSING_REQUIRED_HEADER_EXPECTED_STATUSES, "428"]
                checks["missing_required_header"] = {"expected-statuses": expected}
            if checks:
                entries.append({"include-name": label, "checks": checks})
    return entries


def _pointers(response: Any) -> list[str]:
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return [e.get("pointer", "") for e in errors or () if isinstance(e, dict)]


@schemathesis.check
def unstated_rules_only(ctx: Any, response: Any, case: Any) -> bool | None:
    """A schema-valid request refused under an allowance names only its rules' fields."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    rules = [r for r in _ACTIVE.get(case.operation.label, ()) if r.status == response.status_code]
    if not rules or response.status_code == IF_MATCH.status:
        return None
    allowed = [re.compile(p) for rule in rules for p in rule.pointers]
    named = _pointers(response)
    unexplained = [p for p in named if not any(a.match(p) for a in allowed)]
    if not named or unexplained:
        raise AssertionError(
            f"Schema-valid request refused with {response.status_code} at "
            f"{unexplained or 'no field'}: only {', '.join(r.why for r in rules)} may do that; "
            "state any other rule in the OpenAPI document"
        )
    return None
