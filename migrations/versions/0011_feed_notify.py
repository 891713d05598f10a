"""Writing feed events notifies the API processes (LISTEN/NOTIFY), so long polls need not poll

A waiting ``GET /v1/events`` used to query the database twice a second, each time through the
connection pool: 1,000 waiting clients were 2,000 pool checkouts a second and exhausted it.
Now each API process keeps one dedicated connection that LISTENs on ``landmarket_feed`` and
wakes the polls of the organisations named in a notification.

A statement-level trigger sends one notification per organisation and statement, whichever
path writes the events (the outbox's data-modifying CTEs, SQL by hand). PostgreSQL delivers a
notification only when the writing transaction commits, never for a rollback, and folds
identical ones of one transaction into one. ``ping`` events are not in the feed.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 17:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The channel is landmarket.webhooks.feed_listener.CHANNEL; a test checks that a write
    # wakes a waiting poll.
    op.execute(
        """
CREATE FUNCTION webhook_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('landmarket_feed', organization_id::text)
    FROM (SELECT DISTINCT organization_id FROM inserted WHERE type <> 'ping') AS recipients;
    RETURN NULL;
END
$$
"""
    )
    op.execute(
        """
CREATE TRIGGER webhook_events_notify
    AFTER INSERT ON webhook_events
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION webhook_events_notify()
"""
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER webhook_events_notify ON webhook_events")
    op.execute("DROP FUNCTION webhook_events_notify()")
