"""Event types and who may subscribe to them."""

from __future__ import annotations

import enum

from landmarket.auth.models import OrgKind


class EventType(enum.StrEnum):
    match_created = "match.created"
    match_updated = "match.updated"
    plot_withdrawn = "plot.withdrawn"
    inquiry_created = "inquiry.created"
    demand_matched = "demand.matched"
    ping = "ping"


# What each organisation kind may receive; an event is only ever written for its recipient.
BY_KIND: dict[OrgKind, frozenset[EventType]] = {
    OrgKind.company: frozenset(
        {EventType.match_created, EventType.match_updated, EventType.plot_withdrawn}
    ),
    OrgKind.municipality: frozenset({EventType.inquiry_created, EventType.demand_matched}),
}

# A score change smaller than this is not worth telling anyone (availability drifts daily).
MATERIAL_SCORE_CHANGE = 5.0
