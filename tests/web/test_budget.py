"""The JavaScript the app ships stays under its budget (issue 18: under 1 MB gzipped)."""

from __future__ import annotations

import gzip

import pytest

from landmarket.web import DEFAULT_DIST

BUDGET = 1_000_000


def test_app_javascript_under_one_megabyte_gzipped() -> None:
    index = DEFAULT_DIST / "index.html"
    if not index.is_file():
        pytest.skip("web/dist is not built (`make web`; `make test` builds it first)")
    # The app's own bundles (the docs pages' vendor copies are loaded only by /docs, /redoc).
    bundles = sorted((DEFAULT_DIST / "assets").glob("*.js"))
    assert bundles, "the build has no JavaScript bundle"
    shipped = sum(len(gzip.compress(path.read_bytes(), compresslevel=9)) for path in bundles)
    assert shipped < BUDGET, f"{shipped} bytes of gzipped JavaScript (budget {BUDGET})"
