"""Single-statement reads (the OGC API) on their own asyncpg pool, without the per-request costs
of the read-write engine.

The read-write engine pings every connection it checks out (with asyncpg: BEGIN, a ping and
ROLLBACK, three round trips), wraps work in a transaction and runs each statement through
SQLAlchemy's execution machinery. A read of one statement needs none of that:

- the pool (``db.readpool``) is a few plain asyncpg connections: a statement runs outside any
  transaction (autocommit, one round trip) as a prepared statement from the connection's
  statement cache, and a connection goes back without a reset query (these reads never change
  session state);
- statements are still built with SQLAlchemy, with bound parameters, and compiled once each
  (``compiled``); callers keep their statements (see ``ogc.repository``);
- instead of pinging, a read whose connection turns out to be dead is tried once more on a
  fresh one (reads are idempotent); a database that is away, or no connection free within
  ``db_pool_timeout_seconds``, is a 503 with Retry-After, as ``session.outage_as_503``
  answers for the read-write engine.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from starlette.requests import Request

from landmarket.core.config import Settings
from landmarket.db.readpool import Connect, PoolClosed, PoolTimeout, ReadPool
from landmarket.db.session import (
    as_unavailable,
    async_url,
    connect_args,
    is_unavailable_state,
)

APPLICATION_NAME = "landmarket-read"
_DIALECT = make_url("postgresql+asyncpg://").get_dialect()()


@dataclass(frozen=True)
class _Sql:
    text: str
    compiled: SQLCompiler
    names: tuple[str, ...]  # bound parameters in $n order
    processors: tuple[Callable[[Any], Any] | None, ...]


_compiled: weakref.WeakKeyDictionary[ClauseElement, _Sql] = weakref.WeakKeyDictionary()


def compiled(statement: ClauseElement) -> _Sql:
    """The statement's SQL for asyncpg, compiled on first use and kept as long as the
    statement is. IN lists are rendered as one parameter per value, from the statement."""
    found = _compiled.get(statement)
    if found is None:
        kwargs = {"render_postcompile": True}
        done = cast(SQLCompiler, statement.compile(dialect=_DIALECT, compile_kwargs=kwargs))
        names = tuple(done.positiontup or ())
        processors = tuple(
            done.binds[name].type.dialect_impl(_DIALECT).bind_processor(_DIALECT) for name in names
        )
        found = _Sql(str(done), done, names, processors)
        _compiled[statement] = found
    return found


def _args(sql: _Sql, params: Mapping[str, Any] | None) -> list[Any]:
    values = sql.compiled.construct_params(dict(params) if params else None) or {}
    return [
        values[name] if process is None else process(values[name])
        for name, process in zip(sql.names, sql.processors, strict=True)
    ]


def bound(statement: ClauseElement, params: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
    """The SQL text and positional arguments ``fetch`` sends for ``statement``."""
    sql = compiled(statement)
    return sql.text, _args(sql, params)


def connector(url: str, settings: Settings, application_name: str) -> Connect:
    """Opens plain asyncpg connections to ``url`` with the API's connection settings."""
    dsn = make_url(async_url(url)).set(drivername="postgresql").render_as_string(False)
    args = connect_args(settings, application_name)

    async def connect() -> asyncpg.Connection:
        return await asyncpg.connect(dsn, **args)

    return connect


def open_pool(url: str, settings: Settings) -> ReadPool:
    """The read pool; connections are opened on demand, so an unreachable database makes
    reads 503 instead of failing the start."""
    connect = connector(url, settings, APPLICATION_NAME)
    return ReadPool(
        connect,
        settings.db_pool_size,
        settings.db_pool_timeout_seconds,
        in_transaction=settings.db_transaction_pooler,
    )


def read_pool(request: Request) -> ReadPool:
    """The primary's read pool, or the replica's this request was routed to (db.replicas)."""
    pool: ReadPool = request.app.state.read_pool
    replicas = getattr(request.app.state, "replicas", None)
    if replicas is None:
        return pool
    routed: ReadPool = replicas.pool_for(request.scope, pool)
    return routed


def _dead_connection(exc: BaseException) -> bool:
    """The connection was lost before or while the statement ran (a restart, an idle
    timeout, a terminated backend): worth one more try on another connection."""
    if isinstance(exc, asyncpg.InterfaceError | asyncpg.InternalClientError | ConnectionError):
        # InternalClientError: the protocol met a message it did not expect, e.g. the
        # server's "terminating connection" arriving on an idle connection just before
        # the close.
        return True
    return isinstance(exc, asyncpg.PostgresError) and is_unavailable_state(exc.sqlstate or "")


_ERRORS = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.PostgresError,
    PoolTimeout,
    PoolClosed,
)


async def fetch(
    pool: ReadPool, statement: ClauseElement, params: Mapping[str, Any] | None = None
) -> list[asyncpg.Record]:
    """The rows of ``statement`` with ``params`` for its bound parameters."""
    text, args = bound(statement, params)
    try:
        try:
            return await pool.fetch(text, args)
        except _ERRORS as exc:
            if not _dead_connection(exc):
                raise
        return await pool.fetch(text, args)  # the dead connection was discarded
    except _ERRORS as exc:
        problem = as_unavailable(exc)
        if problem is None:
            raise
        raise problem from exc


async def scalar(
    pool: ReadPool, statement: ClauseElement, params: Mapping[str, Any] | None = None
) -> Any:
    """The first column of the first row (None without rows)."""
    rows = await fetch(pool, statement, params)
    return rows[0][0] if rows else None
