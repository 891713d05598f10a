"""The export downloads (GET /v1/exports/...): plots and municipalities as CSV, XLSX, GeoJSON,
GeoPackage, streamed. ``repository`` selects, ``service`` streams through ``reports.exporters``,
``router`` is mounted by ``reports.router``."""
