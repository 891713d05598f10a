"""Regions, municipalities, organisations and API keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 12:33:30.593408
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_geospatial_table(
        "municipalities",
        sa.Column("ags", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column(
            "district_ags",
            sa.String(length=5),
            sa.Computed("substr(ags, 1, 5)", persisted=True),
            nullable=False,
        ),
        sa.Column(
            "boundary",
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
            "area_m2", sa.Float(), sa.Computed("ST_Area(boundary)", persisted=True), nullable=False
        ),
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
        sa.CheckConstraint("ags ~ '^[0-9]{8}$'", name=op.f("ck_municipalities_ags_format")),
        sa.PrimaryKeyConstraint("ags", name=op.f("pk_municipalities")),
    )
    op.create_geospatial_index(
        "idx_municipalities_boundary",
        "municipalities",
        ["boundary"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("ix_municipalities_name_ags", "municipalities", ["name", "ags"], unique=False)
    op.create_table(
        "regions",
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "settings", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'", name=op.f("ck_regions_slug_format")
        ),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_regions")),
    )
    op.create_table(
        "organizations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "municipality",
                "company",
                "agency",
                "admin",
                name="org_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("home_ags", sa.String(length=8), nullable=True),
        sa.Column("sector_nace", sa.String(length=10), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["home_ags"],
            ["municipalities.ags"],
            name=op.f("fk_organizations_home_ags_municipalities"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
    )
    op.create_table(
        "region_municipalities",
        sa.Column("region_slug", sa.String(length=63), nullable=False),
        sa.Column("ags", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["ags"],
            ["municipalities.ags"],
            name=op.f("fk_region_municipalities_ags_municipalities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["region_slug"],
            ["regions.slug"],
            name=op.f("fk_region_municipalities_region_slug_regions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("region_slug", "ags", name=op.f("pk_region_municipalities")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), server_default="", nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_api_keys_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_index(
        op.f("ix_api_keys_organization_id"), "api_keys", ["organization_id"], unique=False
    )
    op.create_table(
        "organization_municipalities",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("ags", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["ags"],
            ["municipalities.ags"],
            name=op.f("fk_organization_municipalities_ags_municipalities"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_organization_municipalities_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "organization_id", "ags", name=op.f("pk_organization_municipalities")
        ),
    )
    op.create_table(
        "organization_regions",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("region_slug", sa.String(length=63), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_organization_regions_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["region_slug"],
            ["regions.slug"],
            name=op.f("fk_organization_regions_region_slug_regions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "organization_id", "region_slug", name=op.f("pk_organization_regions")
        ),
    )


def downgrade() -> None:

    op.drop_table("organization_regions")
    op.drop_table("organization_municipalities")
    op.drop_index(op.f("ix_api_keys_organization_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("region_municipalities")
    op.drop_table("organizations")
    op.drop_table("regions")
    op.drop_index("ix_municipalities_name_ags", table_name="municipalities")
    op.drop_geospatial_index(
        "idx_municipalities_boundary",
        table_name="municipalities",
        postgresql_using="gist",
        column_name="boundary",
    )
    op.drop_geospatial_table("municipalities")
