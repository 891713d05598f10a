"""The web app in a real browser: Debian's Chromium (installed by `make test` through
scripts/install-browser.sh) driven by Playwright, against a real `landmarket serve` with the
demo region on the test cluster. Screenshots go to tests/browser/screenshots/ (git-ignored)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.servers import serving

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parent / "screenshots"
# As root, in a closed network: no sandbox, and none of Chromium's calls home.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


@dataclass
class Site:
    base: str
    keys: dict[str, str]


@pytest.fixture(scope="session")
def built_app() -> Path:
    """web/dist, built (or found up to date) by the same make target `make test` runs."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (scripts/install-browser.sh installs it)")
    if shutil.which("npm") is None:
        pytest.skip("Node.js/npm missing: `make web` (scripts/install-node.sh) installs them")
    subprocess.run(["make", "--no-print-directory", "web"], cwd=ROOT, check=True, timeout=300)
    return ROOT / "web" / "dist"


@pytest.fixture
def site(
    built_app: Path, database_url: str, clean_db: AsyncEngine, tmp_path: Path
) -> Iterator[Site]:
    """`landmarket serve --demo` on a free port; the demo keys it wrote; emptied afterwards
    (by clean_db)."""
    env = {
        **os.environ,
        "LANDMARKET_DATABASE_URL": database_url,
        "LANDMARKET_DATA_DIR": str(tmp_path),
        "LANDMARKET_RATE_LIMIT_PER_SECOND": "0",
        "LANDMARKET_WEB_DIST_DIR": str(built_app),
    }
    with serving(env, tmp_path / "serve.log", "--demo", "--no-worker") as server:
        keys = json.loads((tmp_path / "demo-keys.json").read_text())
        yield Site(server.base, keys)


@pytest.fixture
async def browser(built_app: Path) -> AsyncIterator[Browser]:
    SCREENSHOTS.mkdir(exist_ok=True)
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=FLAGS, timeout=60_000
        )
        try:
            yield chromium
        finally:
            await chromium.close()
