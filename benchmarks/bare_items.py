"""The floor of a Python server on this machine, for the OGC items benchmark (``ogc.py``).

A bare ASGI callable: no framework, no middleware, no parameter parsing, no links. Every
request runs the items endpoint's own statement with the benchmark's values over the product's
read pool (``db.readpool``) and answers the features joined into a collection. It runs on the
same uvicorn (uvloop, httptools) with as many workers as landmarket; what landmarket's items
endpoint achieves beyond this is the cost of being an OGC API server, what this achieves
against pgbench is the cost of HTTP and a Python database client here.

Configured by ``LANDMARKET_BARE_ITEMS``: JSON ``{"dsn": ..., "sql": ..., "args": [...]}``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import asyncpg

from landmarket.db.readpool import ReadPool

_SPEC: dict[str, Any] = json.loads(os.environ.get("LANDMARKET_BARE_ITEMS", "{}"))
_HEADERS = [(b"content-type", b"application/geo+json")]
_pool: ReadPool | None = None


async def _connect() -> asyncpg.Connection:
    return await asyncpg.connect(_SPEC["dsn"], server_settings={"jit": "off"})


async def _lifespan(receive: Any, send: Any) -> None:
    global _pool
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            _pool = ReadPool(_connect, 10, 10.0)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if _pool is not None:
                await _pool.close()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    assert _pool is not None
    rows = await _pool.fetch(_SPEC["sql"], _SPEC["args"])
    features = ",".join(row[1] for row in rows[:100])
    body = ('{"type":"FeatureCollection","features":[' + features + "]}").encode()
    headers = [*_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
