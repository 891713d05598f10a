"""Small HTML views of the OGC documents, for people who open the URLs in a browser.

Everything interpolated is escaped; the map is Leaflet drawing the page's own GeoJSON, with no
base map: Leaflet is the copy the web app's build places in /assets/vendor (landmarket.web), so
the page loads nothing from another host (without a build, the map stays empty). The
GeoJSON sits in a non-executable JSON script element and the one inline script is constant,
so the Content-Security-Policy can allow exactly that script by its hash.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from html import escape
from typing import Any

from fastapi.responses import HTMLResponse

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title><link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;margin:1.5rem;max-width:80rem}}
table{{border-collapse:collapse;font-size:.85rem}}td,th{{border:1px solid #ccc;padding:.2rem .4rem;
text-align:left;vertical-align:top}}#map{{height:22rem;margin:1rem 0}}</style>{head}</head>
<body><h1>{title}</h1>{body}</body></html>"""
_LEAFLET_URL = "/assets/vendor/leaflet/"
_LEAFLET = (
    f'<link rel="stylesheet" href="{_LEAFLET_URL}leaflet.css">'
    f'<script src="{_LEAFLET_URL}leaflet.js"></script>'
)
_MAP_SCRIPT = """
if (typeof L !== 'undefined') {
  const data = JSON.parse(document.getElementById('features').textContent);
  const map = L.map('map');
  const layer = L.geoJSON(data).addTo(map);
  if (layer.getBounds().isValid()) map.fitBounds(layer.getBounds());
  else map.setView([50.1, 8.7], 9);
}
"""
_MAP = '<div id="map"></div><script type="application/json" id="features">{data}</script>'
_MAP_HASH = base64.b64encode(hashlib.sha256(_MAP_SCRIPT.encode()).digest()).decode()
# Leaflet from this origin, the map script by its hash, inline styles (the page's own and
# Leaflet's); nothing else, and no framing.
CSP = (
    f"default-src 'none'; script-src 'sha256-{_MAP_HASH}' 'self'; "
    "style-src 'unsafe-inline' 'self'; img-src data: 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def response(content: str, headers: Mapping[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(content, headers={**(headers or {}), "Content-Security-Policy": CSP})


def _links(links: list[dict[str, Any]]) -> str:
    items = "".join(
        f'<li><a href="{escape(str(li["href"]))}">{escape(str(li.get("title") or li["rel"]))}</a>'
        f" ({escape(str(li['rel']))})</li>"
        for li in links
    )
    return f"<ul>{items}</ul>"


def _value(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return escape(json.dumps(value, ensure_ascii=False))
    return "" if value is None else escape(str(value))


def page(title: str, doc: dict[str, Any]) -> str:
    """Any JSON document: its text members, then its links."""
    parts = [
        f"<p><b>{escape(k)}</b>: {_value(v)}</p>"
        for k, v in doc.items()
        if k not in ("links", "collections", "conformsTo")
    ]
    for c in doc.get("collections", []):
        href = next((li["href"] for li in c["links"] if li["rel"] == "items"), "#")
        parts.append(
            f'<h2><a href="{escape(href)}">{escape(c["title"])}</a></h2>'
            f"<p>{escape(c.get('description', ''))}</p>"
        )
    if "conformsTo" in doc:
        parts.append("<ul>" + "".join(f"<li>{escape(u)}</li>" for u in doc["conformsTo"]) + "</ul>")
    parts.append(_links(doc.get("links", [])))
    return _PAGE.format(title=escape(title), head="", body="".join(parts))


def features_page(title: str, features: list[dict[str, Any]], links: list[dict[str, Any]]) -> str:
    columns: list[str] = []
    for f in features:
        for name in f.get("properties") or {}:
            if name not in columns:
                columns.append(name)
    head = "<tr><th>id</th>" + "".join(f"<th>{escape(c)}</th>" for c in columns) + "</tr>"
    rows = "".join(
        f"<tr><td>{_value(f.get('id'))}</td>"
        + "".join(f"<td>{_value((f.get('properties') or {}).get(c))}</td>" for c in columns)
        + "</tr>"
        for f in features
    )
    # No "<" at all in the JSON (only inside its strings, as an escape), so no property can
    # end the script element or open a comment.
    data = json.dumps({"type": "FeatureCollection", "features": features}).replace("<", "\\u003c")
    body = (
        _MAP.format(data=data)
        + f"<script>{_MAP_SCRIPT}</script><table>{head}{rows}</table>"
        + _links(links)
    )
    return _PAGE.format(title=escape(title), head=_LEAFLET, body=body)
