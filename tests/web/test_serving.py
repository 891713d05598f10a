"""`landmarket serve` as the web app's host (issue 18): the app at /, its assets under
/assets, the documentation pages from local copies, and no page that loads from another host."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from landmarket.web import DEFAULT_DIST
from tests.helpers import assert_problem
from tests.limits.apps import app_with, client_of

INDEX = (
    '<!doctype html><html lang="de"><head><script type="module" src="/assets/index-abc123.js">'
    '</script></head><body><div id="app"></div></body></html>'
)


def _csp(response: httpx.Response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {d.split(" ", 1)[0]: d.split(" ", 1)[-1] for d in policy.split("; ")}


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A stand-in build: what Vite writes (index.html, hashed bundles, vendor copies)."""
    (tmp_path / "assets" / "vendor" / "swagger-ui").mkdir(parents=True)
    (tmp_path / "assets" / "vendor" / "redoc").mkdir(parents=True)
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log('app')")
    (tmp_path / "assets" / "vendor" / "swagger-ui" / "swagger-ui-bundle.js").write_text("//")
    (tmp_path / "assets" / "vendor" / "redoc" / "redoc.standalone.js").write_text("//")
    return tmp_path


async def test_root_without_a_build_says_how_to_build_it(database_url: str, tmp_path: Path) -> None:
    nowhere = tmp_path / "none"
    async with app_with(database_url, web_dist_dir=nowhere) as app, client_of(app) as client:
        for path in ("/", "/docs", "/redoc"):
            page = await client.get(path)
            assert page.status_code == 503, path
            assert "npm run build" in page.text and "make run" in page.text
            assert _csp(page)["default-src"] == "'none'"
        # The API is unaffected, and /assets is a plain 404 problem.
        assert (await client.get("/v1/regions")).status_code == 200
        assert_problem(await client.get("/assets/index-abc123.js"), 404)


async def test_the_app_is_served_at_root_under_a_strict_policy(
    database_url: str, dist: Path
) -> None:
    async with app_with(database_url, web_dist_dir=dist) as app, client_of(app) as client:
        page = await client.get("/")
        bundle = await client.get("/assets/index-abc123.js")
        missing = await client.get("/assets/index-nothere.js")
        escape = await client.get("/assets/../index.html")
        head = await client.head("/")
    assert page.status_code == 200 and page.text == INDEX
    assert page.headers["content-type"].startswith("text/html")
    csp = _csp(page)
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert csp["connect-src"] == "'self'" and csp["frame-ancestors"] == "'none'"
    assert page.headers["cache-control"] == "no-cache"
    assert bundle.status_code == 200 and bundle.text == "console.log('app')"
    assert "immutable" in bundle.headers["cache-control"]
    assert_problem(missing, 404)
    assert escape.status_code == 404 or escape.text != INDEX
    assert head.status_code == 200 and head.content == b""


async def test_docs_pages_load_their_scripts_from_this_origin(
    database_url: str, dist: Path
) -> None:
    async with app_with(database_url, web_dist_dir=dist) as app, client_of(app) as client:
        for path, bundle in (
            ("/docs", "/assets/vendor/swagger-ui/swagger-ui-bundle.js"),
            ("/redoc", "/assets/vendor/redoc/redoc.standalone.js"),
        ):
            page = await client.get(path)
            assert page.status_code == 200, path
            assert f'src="{bundle}"' in page.text
            assert (await client.get(bundle)).headers["cache-control"] == "no-cache"
            csp = _csp(page)
            assert csp["script-src"] == "'self'" and csp["connect-src"] == "'self'"
            assert "<script>" not in page.text  # no inline script at all


_URL = re.compile(r"""(?:src|href|action)\s*=\s*["']([^"']+)["']|url\(([^)]+)\)""", re.I)


def _foreign(text: str) -> list[str]:
    """Every URL in an attribute or url() that points at a host other than ours."""
    found = []
    for match in _URL.finditer(text):
        url = (match.group(1) or match.group(2) or "").strip("'\" ")
        host = urlsplit(url).netloc if "//" in url else ""
        if host and host != "testserver":
            found.append(url)
    return found


async def test_no_page_of_the_app_references_another_host(
    database_url: str, dist: Path, client: httpx.AsyncClient
) -> None:
    """The app, both documentation pages and the OGC HTML pages (their map included) load
    nothing from another host, neither by markup nor by what their policy allows. Before,
    /docs and /redoc loaded from jsdelivr and the OGC map from unpkg and OpenStreetMap."""
    built = DEFAULT_DIST if (DEFAULT_DIST / "index.html").is_file() else dist
    async with app_with(database_url, web_dist_dir=built) as app, client_of(app) as own:
        pages = [await own.get(p) for p in ("/", "/docs", "/redoc")]
        for collection in ("plots", "municipalities"):
            pages.append(await own.get(f"/ogc/collections/{collection}/items?f=html"))
        pages.append(await own.get("/ogc?f=html"))
        pages.append(await own.get("/ogc/collections?f=html"))
    for page in pages:
        assert page.status_code == 200, (page.url, page.text[:200])
        assert page.headers["content-type"].startswith("text/html"), page.url
        assert _foreign(page.text) == [], page.url
        assert "http" not in page.headers["content-security-policy"], page.url
