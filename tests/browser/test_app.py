"""The web app's first flows in Chromium (issue 18): the public map renders from our own
tiles and boundaries, the language switch, sign-in with a key kept in sessionStorage only,
the municipality's plot list, and not one request to another host."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from playwright.async_api import Browser, Page, Request, expect

from tests.browser.conftest import ROOT, SCREENSHOTS, Site

TIMEOUT = 30_000


async def _open(browser: Browser, site: Site) -> tuple[Page, list[str], list[str]]:
    """A fresh tab on the app; the URLs of requests to other hosts and the console errors
    (CSP violations included) are collected while it runs."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="de-DE")
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT)
    foreign: list[str] = []
    errors: list[str] = []
    own = urlsplit(site.base).netloc

    def on_request(request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != own:
            foreign.append(request.url)

    page.on("request", on_request)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(site.base + "/")
    return page, foreign, errors


async def _map_rendered(page: Page) -> None:
    """The boundaries (GeoJSON base layer) arrived and at least one plot tile was drawn."""
    await expect(page.locator("canvas.maplibregl-canvas")).to_be_visible()
    await expect(page.locator("#map[data-boundaries]")).to_have_attribute(
        "data-boundaries", "12", timeout=TIMEOUT
    )


async def _map_idle(page: Page) -> None:
    """Every tile of the current view loaded and drawn (MapLibre's idle event)."""
    await expect(page.locator("#map[data-idle]")).to_have_count(1, timeout=TIMEOUT)


async def test_public_map_renders_and_language_switches(browser: Browser, site: Site) -> None:
    page, foreign, errors = await _open(browser, site)
    async with page.expect_response(
        lambda r: "/ogc/collections/plots/tiles/WebMercatorQuad/" in r.url and r.status == 200
    ):
        await _map_rendered(page)
    # German first: every visible string from the catalogue, numbers formatted for German.
    await expect(page.locator("html")).to_have_attribute("lang", "de")
    await expect(page.get_by_role("heading", name="Filter")).to_be_visible()
    await expect(page.get_by_role("button", name="Anmelden")).to_be_visible()
    await expect(page.get_by_label("Baugebiet")).to_be_visible()
    # The municipality filter lists the boundaries' names (from the OGC API).
    assert await page.locator("#f-municipality option").count() == 13
    await _map_idle(page)
    await page.screenshot(path=SCREENSHOTS / "map-de.png")

    await page.get_by_label("Sprache").select_option("en")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("heading", name="Filters")).to_be_visible()
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await expect(page.get_by_label("Zoning")).to_be_visible()
    await expect(page.locator("#f-category option").nth(1)).to_have_text("Brownfield")
    # A filter applies in the browser (no reload, the map stays).
    await page.get_by_label("Category").select_option("brownfield")
    await expect(page.get_by_label("Category")).to_have_value("brownfield")
    await page.screenshot(path=SCREENSHOTS / "map-en-filtered.png")
    # The choice is remembered across a reload.
    await page.reload()
    await expect(page.get_by_role("heading", name="Filters")).to_be_visible()
    # A tablet in portrait: map on top, then details and filters, nothing cut off sideways.
    await page.set_viewport_size({"width": 820, "height": 1180})
    await expect(page.locator("#map canvas")).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 820, width
    await _map_idle(page)
    await page.screenshot(path=SCREENSHOTS / "map-en-tablet.png", full_page=True)

    assert foreign == [], foreign
    assert errors == [], errors


async def test_sign_in_keeps_the_key_in_session_storage_only(browser: Browser, site: Site) -> None:
    page, foreign, errors = await _open(browser, site)
    await _map_rendered(page)

    # A wrong key is refused with a message and not kept.
    await page.get_by_role("button", name="Anmelden").click()
    await page.get_by_label("API-Schlüssel").fill("lm_not_a_key")
    await page.get_by_role("dialog").get_by_role("button", name="Anmelden").click()
    await expect(page.get_by_role("alert")).to_have_text("Der Schlüssel wurde nicht akzeptiert.")
    assert await page.evaluate("sessionStorage.length") == 0

    key = site.keys["municipality"]
    await page.get_by_label("API-Schlüssel").fill(key)
    await page.get_by_role("dialog").get_by_role("button", name="Anmelden").click()
    await expect(page.get_by_text("Angemeldet als")).to_be_visible()
    stored = await page.evaluate("Object.values(sessionStorage)")
    assert stored == [key]
    assert key not in await page.evaluate("JSON.stringify(localStorage)")
    assert key not in page.url

    # The municipality's own plots, drafts included, as a table.
    await page.get_by_role("link", name="Meine Flächen").click()
    await expect(page.get_by_role("heading", name="Flächen meiner Kommune")).to_be_visible()
    rows = page.locator(".my-plots tbody tr")
    await expect(rows.first).to_be_visible()
    assert await rows.count() > 0
    await expect(page.locator(".my-plots tbody")).to_contain_text(" m²")
    await page.screenshot(path=SCREENSHOTS / "my-plots-de.png")

    # The key survives a reload of the tab, and signing out removes it.
    await page.reload()
    await expect(page.get_by_text("Angemeldet als")).to_be_visible()
    await page.get_by_role("button", name="Abmelden").click()
    await expect(page.get_by_role("button", name="Anmelden")).to_be_visible()
    assert await page.evaluate("sessionStorage.length") == 0
    assert page.url.endswith("#/")

    assert foreign == [], foreign
    # Only the refused key's 401 (the response and the browser's console line about it).
    assert [e for e in errors if "401" not in e] == [], errors


async def test_plot_details_by_link_and_by_click(browser: Browser, site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.base, timeout=10) as client:
        plots = await client.get("/ogc/collections/plots/items?f=json&limit=1")
    plot = plots.json()["features"][0]
    page, foreign, errors = await _open(browser, site)
    # A shared link opens the map on that plot with its details.
    await page.goto(f"{site.base}/#/plots/{plot['id']}")
    await _map_rendered(page)
    panel = page.locator(".plot-detail")
    await expect(panel.get_by_role("heading", level=2)).to_have_text(plot["properties"]["title"])
    area = plot["properties"]["area_m2"]
    hectares = f"{round(area / 10_000, 2):g}".replace(".", ",")  # German: 3,28 ha; 3,4 ha
    shown = f"{hectares} ha" if area >= 10_000 else " m²"
    await expect(panel).to_contain_text(shown)  # German number format
    link = panel.get_by_role("link", name="Als OGC-Feature öffnen")
    await expect(link).to_have_attribute("href", f"/ogc/collections/plots/items/{plot['id']}")
    await _map_idle(page)
    await page.screenshot(path=SCREENSHOTS / "plot-detail-de.png")

    # Closed, then the same plot clicked on the map (the link centred it).
    await panel.get_by_role("button", name="Schließen").click()
    await expect(panel).to_have_count(0)
    box = await page.locator("#map canvas").bounding_box()
    assert box is not None
    await _map_idle(page)
    await page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await expect(panel.get_by_role("heading", level=2)).to_have_text(plot["properties"]["title"])
    assert page.url.endswith(f"#/plots/{plot['id']}")

    # The OGC feature page it links to works offline too.
    await link.click()
    await expect(page.locator("h1")).to_be_visible()
    await expect(page.locator("#map.leaflet-container")).to_be_visible()
    await page.screenshot(path=SCREENSHOTS / "ogc-feature.png")

    assert foreign == [], foreign
    assert errors == [], errors


AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"


async def _serious_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.1 A/AA rules on the page as it is; serious and critical findings."""
    if await page.evaluate("typeof axe") == "undefined":
        await page.add_script_tag(path=AXE)
    result = await page.evaluate(
        "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']})"
    )
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def test_no_serious_accessibility_violations(browser: Browser, site: Site) -> None:
    # axe is injected as a script, which the app's policy rightly forbids: this context only.
    context = await browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT)
    await page.goto(site.base + "/")
    await _map_rendered(page)
    found = {"map": await _serious_violations(page)}
    await page.get_by_role("button", name="Anmelden").click()
    await expect(page.get_by_role("dialog")).to_be_visible()
    found["sign-in"] = await _serious_violations(page)
    await page.get_by_label("API-Schlüssel").fill(site.keys["municipality"])
    await page.get_by_role("dialog").get_by_role("button", name="Anmelden").click()
    await page.get_by_role("link", name="Meine Flächen").click()
    await expect(page.locator(".my-plots tbody tr").first).to_be_visible()
    found["my-plots"] = await _serious_violations(page)
    await page.get_by_label("Sprache").select_option("en")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    found["my-plots-en"] = await _serious_violations(page)
    await context.close()
    assert found == {view: [] for view in found}, found


async def test_api_docs_render_offline(browser: Browser, site: Site) -> None:
    """Swagger UI and ReDoc from the build's local copies: rendered, nothing from elsewhere."""
    page, foreign, errors = await _open(browser, site)
    await page.goto(site.base + "/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("landmarket")
    await expect(page.locator(".opblock").first).to_be_visible()
    await page.screenshot(path=SCREENSHOTS / "docs.png")
    await page.goto(site.base + "/redoc")
    await expect(page.locator("h1").first).to_contain_text("landmarket")
    await page.screenshot(path=SCREENSHOTS / "redoc.png")
    assert foreign == [], foreign
    assert errors == [], errors
