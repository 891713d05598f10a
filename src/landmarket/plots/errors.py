"""Errors specific to plot writes."""

from __future__ import annotations

from landmarket.core.errors import AppError


class PreconditionRequired(AppError):
    """RFC 6585: the write must be conditional (If-Match) so lost updates cannot happen."""

    status, slug, title = 428, "precondition-required", "Precondition required"
