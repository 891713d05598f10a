"""Renderers of reports and exports: CSV, XLSX, GeoJSON, GeoPackage, PDF."""
