"""Looking for values anywhere in the database and fingerprinting whole tables, driven by
``information_schema`` so a table or column added later is covered without a change here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.types import Text

# PostGIS's catalogue of coordinate systems: not ours and 8,500 rows of WKT.
NOT_OURS = frozenset({"spatial_ref_sys"})
_COLUMNS = (
    "SELECT table_name, column_name FROM information_schema.columns "
    "WHERE table_schema = 'public' AND table_name IN ("
    "  SELECT table_name FROM information_schema.tables "
    "  WHERE table_schema = 'public' AND table_type = 'BASE TABLE') "
    "ORDER BY table_name, ordinal_position"
)
# Every column type that can hold a string somewhere inside it.
_TEXTUAL = (
    "SELECT table_name, column_name, data_type FROM information_schema.columns "
    "WHERE table_schema = 'public' AND table_name IN ("
    "  SELECT table_name FROM information_schema.tables "
    "  WHERE table_schema = 'public' AND table_type = 'BASE TABLE') "
    "AND (data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea') "
    "     OR (data_type = 'ARRAY' AND udt_name IN ('_text', '_varchar', '_bpchar'))) "
    "ORDER BY table_name, column_name"
)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def find_values(engine: AsyncEngine, values: Iterable[str]) -> dict[str, list[str]]:
    """For each value, the ``table.column`` places whose content contains it (as a substring;
    JSON is searched in its text form, bytea as escaped text, arrays element by element as
    their text form)."""
    needles = list(values)
    found: dict[str, list[str]] = {v: [] for v in needles}
    async with engine.connect() as conn:
        columns = (await conn.execute(text(_TEXTUAL))).all()
        for table, column, data_type in columns:
            if table in NOT_OURS:
                continue
            ref = _quote(column)
            as_text = f"encode({ref}, 'escape')" if data_type == "bytea" else f"{ref}::text"
            # Identifiers come from the catalogue and are quoted; the values are bound.
            stmt = text(
                "SELECT n FROM unnest(:needles) AS n WHERE EXISTS ("  # noqa: S608
                f"SELECT 1 FROM {_quote(table)} WHERE strpos({as_text}, n) > 0)"
            ).bindparams(bindparam("needles", needles, type_=ARRAY(Text)))
            for (needle,) in (await conn.execute(stmt)).all():
                found[needle].append(f"{table}.{column}")
    return {v: places for v, places in found.items() if places}


class Fingerprint:
    """A digest of every table's rows (sorted, so independent of physical order), taken by
    one statement built from the catalogue once. ``ignore``: columns left out, e.g. a key's
    last_used_at that authentication refreshes."""

    def __init__(self, statement: str) -> None:
        self._statement = statement

    @classmethod
    async def build(
        cls, engine: AsyncEngine, ignore: Mapping[str, frozenset[str]] | None = None
    ) -> Fingerprint:
        ignore = ignore or {}
        async with engine.connect() as conn:
            rows = await conn.execute(text(_COLUMNS))
            columns: dict[str, list[str]] = {}
            for table, column in rows.all():
                if table not in NOT_OURS and column not in ignore.get(table, frozenset()):
                    columns.setdefault(table, []).append(column)
        parts = []
        for table, names in sorted(columns.items()):
            row = "ROW(" + ", ".join(_quote(c) for c in names) + ")::text"
            parts.append(
                f"SELECT '{table}' AS t, "  # noqa: S608 (catalogue names, quoted)
                f"md5(coalesce(string_agg({row}, E'\\n' ORDER BY {row}), '')) AS d "
                f"FROM {_quote(table)}"
            )
        return cls(" UNION ALL ".join(parts))

    async def take(self, engine: AsyncEngine) -> dict[str, str]:
        async with engine.connect() as conn:
            return {t: d for t, d in (await conn.execute(text(self._statement))).all()}
