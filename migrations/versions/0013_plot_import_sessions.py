"""Import sessions for batched pushes; plots say whether their geometry is approximate

A push of many batches is one unit: its batches are stored in ``plot_import_batches`` as they
arrive and written to ``plots`` only by the session's commit, in one transaction.

``plots.synced_version``: the version the last import left, so a push can tell a plot edited
by other means since (a conflict) from one it wrote itself.

``municipalities.attribution``: the licence line of the boundary set each boundary came from
(unknown for boundaries imported before: NULL, so nothing claims a source it may not be).

``plots.geometry_precision``: ``approximate`` for a square of the registered area around a
register's point (``landmarket plots push --point-area-field``). It is a public property, so
the trigger of migration 0009 that keeps ``public_properties`` is redefined to include it.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-03 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

_UTC = """'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'"""


def _function(with_precision: bool) -> str:
    precision = "'geometry_precision', NEW.geometry_precision," if with_precision else ""
    return f"""
CREATE OR REPLACE FUNCTION plots_public_properties() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.public_properties := json_build_object(
        'external_id', NEW.external_id,
        'municipality_ags', NEW.municipality_ags,
        'title', NEW.title,
        'description', NEW.description,
        'category', NEW.category,
        'zoning', NEW.zoning,
        'planning_status', NEW.planning_status,
        'emission_quota_db', NEW.emission_quota_db,
        'contamination', NEW.contamination,
        'servicing', NEW.servicing,
        'fibre_available', NEW.fibre_available,
        'broadband_mbps', NEW.broadband_mbps,
        'transit_stop_distance_m', NEW.transit_stop_distance_m,
        'motorway_distance_km', NEW.motorway_distance_km,
        'rail_siding', NEW.rail_siding,
        'tenure', NEW.tenure,
        'price_eur_per_m2', NEW.price_eur_per_m2,
        'rent_eur_per_m2_month', NEW.rent_eur_per_m2_month,
        'ownership', NEW.ownership,
        'divisible', NEW.divisible,
        'min_divisible_area_m2', NEW.min_divisible_area_m2,
        'available_from', NEW.available_from,
        'parcel_ids', NEW.parcel_ids,
        {precision}
        'area_m2', ST_Area(NEW.geom),
        'published_at', to_char(timezone('UTC', NEW.published_at), {_UTC}),
        'updated_at', to_char(timezone('UTC', NEW.updated_at), {_UTC})
    );
    RETURN NEW;
END
$$
"""


revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "plots",
        sa.Column(
            "geometry_precision",
            sa.Enum(
                "exact",
                "approximate",
                name="plot_geometry_precision",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="exact",
            nullable=False,
        ),
    )
    op.add_column("plots", sa.Column("synced_version", sa.Integer(), nullable=True))
    op.add_column("municipalities", sa.Column("attribution", sa.String(length=300), nullable=True))
    op.execute(_function(with_precision=True))
    # The trigger fills the new member in on every row.
    op.execute("UPDATE plots SET public_properties = NULL")
    op.create_table(
        "plot_import_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "open",
                "committed",
                name="plot_import_session_state",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("crs", sa.String(length=128), nullable=False),
        sa.Column("options", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("report", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_plot_import_sessions_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plot_import_sessions")),
    )
    op.create_index("ix_plot_import_sessions_expires_at", "plot_import_sessions", ["expires_at"])
    op.create_table(
        "plot_import_batches",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("features", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["plot_import_sessions.id"],
            name=op.f("fk_plot_import_batches_session_id_plot_import_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", "seq", name=op.f("pk_plot_import_batches")),
    )


def downgrade() -> None:
    op.execute(_function(with_precision=False))
    op.drop_column("plots", "geometry_precision")
    op.drop_column("plots", "synced_version")
    op.drop_column("municipalities", "attribution")
    op.execute("UPDATE plots SET public_properties = NULL")
    op.drop_table("plot_import_batches")
    op.drop_index("ix_plot_import_sessions_expires_at", table_name="plot_import_sessions")
    op.drop_table("plot_import_sessions")
