"""The plot's rules, apart from the use cases that apply them: the status machine, who may write
a municipality's plots, and which column values a write sets. The interactive service and the
bulk import service both follow them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func

from landmarket.auth.principal import AuthPrincipal
from landmarket.core.errors import Conflict, FieldError, Forbidden
from landmarket.plots.models import PlotStatus
from landmarket.plots.schemas import PlotAttributes

# Reserved and under negotiation may fall back to published when a deal falls through.
TRANSITIONS: Mapping[PlotStatus, frozenset[PlotStatus]] = {
    PlotStatus.draft: frozenset({PlotStatus.published, PlotStatus.withdrawn}),
    PlotStatus.published: frozenset(
        {PlotStatus.reserved, PlotStatus.under_negotiation, PlotStatus.withdrawn}
    ),
    PlotStatus.reserved: frozenset(
        {
            PlotStatus.under_negotiation,
            PlotStatus.transferred,
            PlotStatus.published,
            PlotStatus.withdrawn,
        }
    ),
    PlotStatus.under_negotiation: frozenset(
        {PlotStatus.reserved, PlotStatus.transferred, PlotStatus.published, PlotStatus.withdrawn}
    ),
    PlotStatus.transferred: frozenset({PlotStatus.withdrawn}),
    PlotStatus.withdrawn: frozenset({PlotStatus.draft}),
}
INITIAL_STATUSES = frozenset({PlotStatus.draft, PlotStatus.published})


def may_write(principal: AuthPrincipal, ags: str) -> bool:
    return principal.is_admin or principal.may_edit(ags)


def forbidden(ags: str) -> Forbidden:
    return Forbidden(f"This key may not write plots of municipality {ags}")


def transition_problem(current: PlotStatus, new: PlotStatus) -> str | None:
    """Why the state machine refuses ``current`` → ``new``, or None when it allows it."""
    if new in TRANSITIONS[current]:
        return None
    allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current]))
    return f"A plot cannot go from {current.value} to {new.value}; from {current.value}: {allowed}"


def check_transition(current: PlotStatus, new: PlotStatus, pointer: str) -> None:
    problem = transition_problem(current, new)
    if problem is not None:
        raise Conflict(
            problem,
            errors=[FieldError(pointer=pointer, detail=f"illegal transition from {current}")],
        )


def attribute_values(props: PlotAttributes) -> dict[str, Any]:
    """Column values for the plot's descriptive properties (full replacement)."""
    values = props.model_dump(exclude={"municipality_ags", "status", "external_id", "contact"})
    values["contact"] = props.contact.model_dump(exclude_none=True) if props.contact else None
    return values


def status_values(new: PlotStatus) -> dict[str, Any]:
    values: dict[str, Any] = {"status": new}
    if new is PlotStatus.published:
        values["published_at"] = func.now()
    return values
