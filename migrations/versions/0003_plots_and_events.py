"""Plots and the append-only event log

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 12:40:25.788916
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("actor_organization_id", sa.Uuid(), nullable=True),
        sa.Column("api_key_id", sa.Uuid(), nullable=True),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index("ix_events_entity", "events", ["entity_type", "entity_id", "id"], unique=False)
    # The audit log is append-only for everyone, the application included.
    op.execute(
        """
        CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'events are append-only';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
        "FOR EACH ROW EXECUTE FUNCTION events_append_only()"
    )
    op.create_geospatial_table(
        "plots",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_ags", sa.String(length=8), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=5000), nullable=True),
        sa.Column(
            "category",
            sa.Enum(
                "brownfield",
                "vacant_building",
                "infill_gap",
                "commercial_site",
                "greenfield_reserve",
                name="plot_category",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "zoning",
            sa.Enum(
                "MU",
                "MI",
                "MK",
                "GE",
                "GI",
                "SO",
                "inner_area_34",
                "other",
                name="plot_zoning",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "planning_status",
            sa.Enum(
                "binding_plan",
                "inner_area",
                "plan_in_preparation",
                "none",
                name="plot_planning_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("emission_quota_db", sa.Float(), nullable=True),
        sa.Column(
            "contamination",
            sa.Enum(
                "none",
                "suspected",
                "confirmed",
                "remediated",
                "unknown",
                name="plot_contamination",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "servicing",
            sa.Enum(
                "developed",
                "partially_developed",
                "undeveloped",
                name="plot_servicing",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("fibre_available", sa.Boolean(), nullable=False),
        sa.Column("broadband_mbps", sa.Integer(), nullable=True),
        sa.Column("transit_stop_distance_m", sa.Integer(), nullable=True),
        sa.Column("motorway_distance_km", sa.Float(), nullable=True),
        sa.Column("rail_siding", sa.Boolean(), nullable=False),
        sa.Column(
            "tenure",
            sa.Enum(
                "sale",
                "lease",
                "sale_or_lease",
                "hereditary_lease",
                name="plot_tenure",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("price_eur_per_m2", sa.Float(), nullable=True),
        sa.Column("rent_eur_per_m2_month", sa.Float(), nullable=True),
        sa.Column(
            "ownership",
            sa.Enum(
                "municipal",
                "private",
                "mixed",
                name="plot_ownership",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("divisible", sa.Boolean(), nullable=False),
        sa.Column("min_divisible_area_m2", sa.Float(), nullable=True),
        sa.Column("available_from", sa.Date(), nullable=True),
        sa.Column(
            "parcel_ids",
            sa.ARRAY(sa.String(length=64)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("contact", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "published",
                "reserved",
                "under_negotiation",
                "transferred",
                "withdrawn",
                name="plot_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=25832,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "area_m2", sa.Float(), sa.Computed("ST_Area(geom)", persisted=True), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "last_confirmed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_plots_version_positive")),
        sa.ForeignKeyConstraint(
            ["municipality_ags"],
            ["municipalities.ags"],
            name=op.f("fk_plots_municipality_ags_municipalities"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plots")),
        sa.UniqueConstraint(
            "municipality_ags", "external_id", name=op.f("uq_plots_municipality_ags")
        ),
    )
    op.create_geospatial_index(
        "idx_plots_geom",
        "plots",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("ix_plots_status_id", "plots", ["status", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_plots_status_id", table_name="plots")
    op.drop_geospatial_index(
        "idx_plots_geom", table_name="plots", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("plots")
    op.execute("DROP TRIGGER events_append_only ON events")
    op.execute("DROP FUNCTION events_append_only()")
    op.drop_index("ix_events_entity", table_name="events")
    op.drop_table("events")
