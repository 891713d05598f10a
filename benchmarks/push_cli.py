"""Benchmark: `landmarket plots push` of a 10,000-feature GeoPackage with a mapping file,
end to end (reading, conversion, an import session of 10 batches, commit) against a real
server.

    python -m benchmarks.push_cli [--plots 10000] [--results benchmarks/results]

Starts `landmarket serve` on 127.0.0.1 with an embedded PostGIS in /tmp (or uses
LANDMARKET_DATABASE_URL), imports the FrankfurtRheinMain boundaries, writes the GIS office's
GeoPackage (layer "flaechen", German columns as in docs/examples/gewerbeflaechenkataster.toml:
categories in German, booleans as Integer(Boolean) with NULLs, prices as text with decimal
commas, dates as 01.03.2027, areas in hectares) and times the CLI as a subprocess: the first
push (all created) and the same push again (all unchanged). Target: under 15 s.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio.raw

from benchmarks.common import ROOT, SEED, free_port, machine, start_server, stop_server, versions
from benchmarks.plot_import import prepare
from landmarket.db.embedded import EmbeddedCluster

TARGET_S = 15.0
MAPPING = ROOT / "docs/examples/gewerbeflaechenkataster.toml"
_GERMAN = {
    "brownfield": "Brachfläche",
    "vacant_building": "Leerstand",
    "infill_gap": "Baulücke",
    "commercial_site": "Gewerbefläche",
    "greenfield_reserve": "Reservefläche",
}


def _wkb(ring: list[list[float]]) -> bytes:
    coords = b"".join(struct.pack("<dd", x, y) for x, y in ring)
    return struct.pack("<BIII", 1, 3, 1, len(ring)) + coords


def write_geopackage(path: Path, features: list[dict[str, Any]]) -> None:
    rng = random.Random(SEED)  # noqa: S311 - reproducible sample data
    props = [f["properties"] for f in features]
    n = len(features)
    fibre_null = np.array([rng.random() < 0.05 for _ in range(n)])

    def decimal_comma(value: float | None) -> str:
        return "" if value is None else f"{value:.2f}".replace(".", ",")

    columns: dict[str, Any] = {
        "FLAECHEN_ID": np.array([p["external_id"] for p in props], dtype=object),
        "AGS": np.array([p["municipality_ags"] for p in props], dtype=object),
        "BEZEICHNUNG": np.array([p["title"] for p in props], dtype=object),
        "BESCHREIBUNG": np.array(["" for _ in props], dtype=object),
        "KATEGORIE": np.array([_GERMAN[p["category"]] for p in props], dtype=object),
        "BAUNVO": np.array(
            ["§34" if p["zoning"] == "inner_area_34" else p["zoning"] for p in props],
            dtype=object,
        ),
        "GLASFASER": np.array([p["fibre_available"] for p in props]),
        "GLEISANSCHLUSS": np.array([p["rail_siding"] for p in props]),
        "PREIS_EUR_QM": np.array(
            [decimal_comma(p.get("price_eur_per_m2")) for p in props], dtype=object
        ),
        "VERFUEGBAR_AB": np.array(
            [f"01.{rng.randrange(1, 13):02d}.2027" if i % 3 else "" for i in range(n)],
            dtype=object,
        ),
        "TEILBAR": np.array(["ja" if p["divisible"] else "nein" for p in props], dtype=object),
        "MIN_TEILFL_HA": np.array([round(rng.uniform(0.1, 0.9), 2) for _ in props]),
        "INTERN": np.array(["Vermerk" for _ in props], dtype=object),
    }
    geometry = np.array([_wkb(f["geometry"]["coordinates"][0]) for f in features], dtype=object)
    pyogrio.raw.write(
        path,
        geometry,
        list(columns.values()),
        list(columns),
        field_mask=[fibre_null if name == "GLASFASER" else None for name in columns],
        crs="EPSG:25832",
        geometry_type="Polygon",
        driver="GPKG",
        layer="flaechen",
    )


def push(path: Path, base: str, key: str) -> tuple[float, dict[str, Any]]:
    binary = Path(sys.executable).parent / "landmarket"
    command = [str(binary), "plots", "push", str(path), "--api", base, "--key", key]
    command += ["--mapping", str(MAPPING), "--json"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"push failed ({done.returncode}): {done.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(done.stdout)
    return seconds, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plots", type=int, default=10_000)
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks/results")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="landmarket-bench-", dir="/tmp"))
    workdir.chmod(0o711)  # as root, the embedded cluster's postgres user must reach it
    env = {
        **os.environ,
        "LANDMARKET_DATA_DIR": str(workdir),
        "LANDMARKET_RATE_LIMIT_PER_SECOND": "0",
    }
    port = free_port()
    server = start_server(env, port, workdir / "serve.log")
    try:
        url = os.environ.get("LANDMARKET_DATABASE_URL") or EmbeddedCluster(workdir).url()
        key, features = asyncio.run(prepare(url, "regional", args.plots))
        source = workdir / "kataster.gpkg"
        write_geopackage(source, features)
        base = f"http://127.0.0.1:{port}"
        first, report = push(source, base, key)
        if report["created"] != len(features):
            raise SystemExit(f"created {report['created']} of {len(features)}")
        second, again = push(source, base, key)
        if again["unchanged"] != len(features):
            raise SystemExit(f"{again['unchanged']} of {len(features)} unchanged on the retry")
        pg, postgis = asyncio.run(versions(url))
    finally:
        stop_server(server)
    size = source.stat().st_size if source.exists() else 0
    today = dt.date.today().isoformat()
    lines = [
        f"# Push CLI benchmark, {today}",
        "",
        f"Command: `python -m benchmarks.push_cli --plots {args.plots}` (from the repository "
        "root, virtualenv active; `landmarket serve` with an embedded PostGIS in /tmp)",
        "",
        f"Machine: {machine()}; PostgreSQL {pg}, PostGIS {postgis}.",
        "",
        f"Data: {len(features):,} generated plots (seed {SEED}) in the FrankfurtRheinMain "
        f"municipalities, a GeoPackage of {size / 1e6:.1f} MB in EPSG:25832 with German "
        "columns, pushed with docs/examples/gewerbeflaechenkataster.toml (value maps, "
        "Integer(Boolean) with NULLs, decimal commas, German dates, hectares); 10 batches of "
        "1,000 in one import session.",
        "",
        "| run | seconds (CLI process, end to end) | plots/s | target |",
        "|---|---:|---:|---|",
        f"| first push, all created | {first:.2f} | {len(features) / first:,.0f} "
        f"| < {TARGET_S:g} s: {'met' if first < TARGET_S else 'MISSED'} |",
        f"| same file again, all unchanged | {second:.2f} | {len(features) / second:,.0f} "
        f"| < {TARGET_S:g} s: {'met' if second < TARGET_S else 'MISSED'} |",
        "",
        "The time includes starting the CLI process, reading and converting the file, the "
        "uploads and the commit (every geometry rule, placement in the municipalities, upsert "
        "and an audit event per plot, in one transaction).",
        "",
    ]
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / f"{today}-push-cli.md"
    out.write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"written to {out}")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
