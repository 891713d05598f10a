"""Requirements and matches

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 13:00:11.763210
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_geospatial_table(
        "requirements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("home_ags", sa.String(length=8), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("description", sa.String(length=5000), nullable=True),
        sa.Column("area_min_m2", sa.Float(), nullable=False),
        sa.Column("area_max_m2", sa.Float(), nullable=False),
        sa.Column(
            "emission_class",
            sa.Enum(
                "non_disturbing",
                "not_substantially_disturbing",
                "not_substantially_annoying",
                "substantially_annoying",
                name="requirement_emission_class",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("zonings", sa.ARRAY(sa.String(length=32)), nullable=True),
        sa.Column(
            "tenure",
            sa.Enum(
                "buy",
                "lease",
                "either",
                name="requirement_tenure",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("max_price_eur_per_m2", sa.Float(), nullable=True),
        sa.Column("max_rent_eur_per_m2_month", sa.Float(), nullable=True),
        sa.Column("needed_by", sa.Date(), nullable=True),
        sa.Column(
            "anchor",
            Geometry(
                geometry_type="POINT",
                srid=25832,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("max_distance_km", sa.Float(), nullable=True),
        sa.Column("municipalities", sa.ARRAY(sa.String(length=8)), nullable=True),
        sa.Column(
            "area",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=25832,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column(
            "search_box",
            Geometry(
                geometry_type="POLYGON",
                srid=25832,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("must_fibre", sa.Boolean(), nullable=False),
        sa.Column("must_rail_siding", sa.Boolean(), nullable=False),
        sa.Column("must_developed", sa.Boolean(), nullable=False),
        sa.Column("must_no_contamination", sa.Boolean(), nullable=False),
        sa.Column("must_max_transit_stop_distance_m", sa.Integer(), nullable=True),
        sa.Column("must_max_motorway_distance_km", sa.Float(), nullable=True),
        sa.Column("weight_area", sa.Float(), nullable=True),
        sa.Column("weight_distance", sa.Float(), nullable=True),
        sa.Column("weight_price", sa.Float(), nullable=True),
        sa.Column("weight_availability", sa.Float(), nullable=True),
        sa.Column("weight_infrastructure", sa.Float(), nullable=True),
        sa.Column("weight_reactivation", sa.Float(), nullable=True),
        sa.Column("sector_nace", sa.String(length=10), nullable=True),
        sa.Column("jobs", sa.Integer(), nullable=True),
        sa.Column("share_identity", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "paused",
                "fulfilled",
                "withdrawn",
                name="requirement_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "updated_at",
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
        sa.CheckConstraint(
            "area_min_m2 > 0 AND area_min_m2 <= area_max_m2",
            name=op.f("ck_requirements_area_range"),
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_requirements_version_positive")),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["organizations.id"],
            name=op.f("fk_requirements_company_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["home_ags"],
            ["municipalities.ags"],
            name=op.f("fk_requirements_home_ags_municipalities"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requirements")),
    )
    op.create_geospatial_index(
        "idx_requirements_search_box",
        "requirements",
        ["search_box"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        "ix_requirements_company_id_id", "requirements", ["company_id", "id"], unique=False
    )
    op.create_table(
        "matches",
        sa.Column("requirement_id", sa.Uuid(), nullable=False),
        sa.Column("plot_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("partial", sa.Boolean(), nullable=False),
        sa.Column("cross_border", sa.Boolean(), nullable=False),
        sa.Column("distance_km", sa.Float(), nullable=True),
        sa.Column("explanation", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("stale", sa.Boolean(), server_default="false", nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "suggested",
                "shortlisted",
                "dismissed",
                "interest_expressed",
                "in_contact",
                "closed",
                name="match_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="suggested",
            nullable=False,
        ),
        sa.Column("message", sa.String(length=2000), nullable=True),
        sa.Column("contact", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("interest_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "agreed",
                "no_agreement",
                "withdrawn",
                name="inquiry_outcome",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column(
            "computed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("state_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["plot_id"], ["plots.id"], name=op.f("fk_matches_plot_id_plots"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["requirement_id"],
            ["requirements.id"],
            name=op.f("fk_matches_requirement_id_requirements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("requirement_id", "plot_id", name=op.f("pk_matches")),
        sa.UniqueConstraint("id", name=op.f("uq_matches_id")),
    )
    op.create_index("ix_matches_plot_id", "matches", ["plot_id"], unique=False)
    op.create_index(
        "ix_matches_requirement_rank",
        "matches",
        ["requirement_id", sa.literal_column("score DESC"), "plot_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_matches_requirement_rank", table_name="matches")
    op.drop_index("ix_matches_plot_id", table_name="matches")
    op.drop_table("matches")
    op.drop_index("ix_requirements_company_id_id", table_name="requirements")
    op.drop_geospatial_index(
        "idx_requirements_search_box",
        table_name="requirements",
        postgresql_using="gist",
        column_name="search_box",
    )
    op.drop_geospatial_table("requirements")
