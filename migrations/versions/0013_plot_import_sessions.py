"""Import sessions for batched pushes

A push of many batches is one unit: its batches are stored in ``plot_import_batches`` as they
arrive and written to ``plots`` only by the session's commit, in one transaction.

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-03 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
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
    op.create_index(
        "ix_plot_import_sessions_expires_at", "plot_import_sessions", ["expires_at"]
    )
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
    op.drop_table("plot_import_batches")
    op.drop_index("ix_plot_import_sessions_expires_at", table_name="plot_import_sessions")
    op.drop_table("plot_import_sessions")
