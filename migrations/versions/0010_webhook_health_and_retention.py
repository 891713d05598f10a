"""Webhook health (fair claiming, per-endpoint back-off, auto-disable) and retention indexes

Subscriptions get the worker's view of their endpoint: consecutive failures, since when,
when to try again, when they were last served (round-robin claiming) and why they were
disabled. Deliveries get the indexes of the per-subscription claim, of the in-flight count
(concurrency cap) and of the retention purge, instead of the global due index the old claim
walked; events one for the purge by age.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 17:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIMES = ("failing_since", "retry_at", "served_at", "disabled_at")


def upgrade() -> None:
    op.add_column(
        "webhook_subscriptions",
        sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False),
    )
    for name in _TIMES:
        op.add_column(
            "webhook_subscriptions", sa.Column(name, sa.DateTime(timezone=True), nullable=True)
        )
    op.add_column("webhook_subscriptions", sa.Column("disabled_reason", sa.Text(), nullable=True))
    op.create_index(
        "ix_webhook_deliveries_subscription_due",
        "webhook_deliveries",
        ["subscription_id", "next_attempt_at"],
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index(
        "ix_webhook_deliveries_in_flight",
        "webhook_deliveries",
        ["subscription_id"],
        postgresql_where=sa.text("state = 'pending' AND lease IS NOT NULL"),
    )
    op.create_index(
        "ix_webhook_deliveries_finished",
        "webhook_deliveries",
        ["state", "last_attempt_at"],
        postgresql_where=sa.text("state <> 'pending'"),
    )
    op.create_index("ix_webhook_events_occurred_at", "webhook_events", ["occurred_at"])
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")


def downgrade() -> None:
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.drop_index("ix_webhook_events_occurred_at", table_name="webhook_events")
    op.drop_index("ix_webhook_deliveries_finished", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_in_flight", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_subscription_due", table_name="webhook_deliveries")
    op.drop_column("webhook_subscriptions", "disabled_reason")
    for name in reversed(_TIMES):
        op.drop_column("webhook_subscriptions", name)
    op.drop_column("webhook_subscriptions", "consecutive_failures")
