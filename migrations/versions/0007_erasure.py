"""Erasure of personal data: organisations remember when they were erased, and the append-only
audit log admits one narrowly scoped change, the erasure of values in its snapshots

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# True when ``new`` is ``old`` with some top-level values replaced by JSON null: the only
# change an erasure may make to a snapshot (no key added or removed, nothing rewritten).
_ONLY_NULLED = """
CREATE FUNCTION jsonb_only_nulled(old jsonb, new jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN old IS NULL OR new IS NULL THEN old IS NOT DISTINCT FROM new
        WHEN jsonb_typeof(old) <> 'object' OR jsonb_typeof(new) <> 'object' THEN old = new
        ELSE NOT EXISTS (
            SELECT 1
            FROM jsonb_each(old) AS o FULL JOIN jsonb_each(new) AS n ON n.key = o.key
            WHERE o.key IS NULL OR n.key IS NULL
               OR (n.value <> o.value AND n.value <> 'null'::jsonb)
        )
    END
$$
"""

# Events stay append-only for everyone. The one exception: a transaction that has set
# `landmarket.erasure` to 'on' for itself (SET LOCAL / set_config(..., true), see
# landmarket.privacy.repository) may null values inside `before` / `after`; every other
# column, DELETE, and any other change to a snapshot are still refused.
_TRIGGER = """
CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND coalesce(current_setting('landmarket.erasure', true), '') = 'on'
       AND NEW.id = OLD.id
       AND NEW.occurred_at = OLD.occurred_at
       AND NEW.actor_organization_id IS NOT DISTINCT FROM OLD.actor_organization_id
       AND NEW.api_key_id IS NOT DISTINCT FROM OLD.api_key_id
       AND NEW.entity_type = OLD.entity_type
       AND NEW.entity_id = OLD.entity_id
       AND NEW.action = OLD.action
       AND jsonb_only_nulled(OLD.before, NEW.before)
       AND jsonb_only_nulled(OLD.after, NEW.after)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'events are append-only';
END $$
"""

_ORIGINAL_TRIGGER = """
CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only';
END $$
"""


def upgrade() -> None:
    op.add_column(
        "organizations", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute(_ONLY_NULLED)
    op.execute(_TRIGGER)


def downgrade() -> None:
    op.execute(_ORIGINAL_TRIGGER)
    op.execute("DROP FUNCTION jsonb_only_nulled(jsonb, jsonb)")
    op.drop_column("organizations", "erased_at")
