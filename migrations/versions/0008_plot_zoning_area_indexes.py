"""Indexes for requirements without a location: partial (zoning, area) indexes on published
plots, and region membership by municipality

A requirement without a location searches its whole home region; for a national region every
plot lies in its search box, so the GiST index cannot narrow the search. Rules 2 and 3 (area
range or divisible, allowed zones) can: matching probes the two plot indexes with a bitmap OR.
Rule 7 then asks whether the plot's municipality shares a region with the home municipality:
the primary key (region_slug, ags) cannot look up by municipality.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 16:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_region_municipalities_ags", "region_municipalities", ["ags", "region_slug"])
    op.create_index(
        "ix_plots_published_zoning_area",
        "plots",
        ["zoning", "area_m2"],
        postgresql_where=sa.text("status = 'published'"),
    )
    op.create_index(
        "ix_plots_published_divisible_zoning_area",
        "plots",
        ["zoning", "area_m2"],
        postgresql_where=sa.text("status = 'published' AND divisible"),
    )


def downgrade() -> None:
    op.drop_index("ix_plots_published_divisible_zoning_area", table_name="plots")
    op.drop_index("ix_plots_published_zoning_area", table_name="plots")
    op.drop_index("ix_region_municipalities_ags", table_name="region_municipalities")
