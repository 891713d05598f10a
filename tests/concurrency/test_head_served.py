"""HEAD through a real `landmarket serve` (uvicorn), not only the in-process transport: the
server must accept a HEAD response that declares the GET's Content-Length and sends no body."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.matching.world import FRANKFURT, ORIGIN, insert_plot, make_world


async def test_head_on_a_real_server(
    server: str, session: AsyncSession, clean_db: AsyncEngine
) -> None:
    await make_world(session)
    x, y = ORIGIN[FRANKFURT]
    plot_id = await insert_plot(session, FRANKFURT, x=x + 100, y=y + 100)
    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        for path in (
            f"/v1/plots/{plot_id}",
            "/v1/plots",
            "/v1/municipalities",
            "/ogc/collections/plots/items",
            "/healthz",
        ):
            got = await http.get(path)
            head = await http.head(path)
            assert head.status_code == got.status_code == 200, path
            assert head.content == b"", path
            if "content-length" in got.headers:
                assert head.headers["content-length"] == got.headers["content-length"], path
        # The connection is still usable after HEAD responses (no stray body bytes).
        assert (await http.get("/healthz")).status_code == 200
