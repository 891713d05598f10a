"""Demo plots for `landmarket demo`: about forty plots through the bulk import."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.auth.principal import AuthPrincipal
from landmarket.db.base import STORAGE_SRID
from landmarket.db.geo import EPSG_URI, SUPPORTED_CRS
from landmarket.demo.synthetic import plot_features, points_in
from landmarket.plots.imports.schemas import PlotImport, PlotImportReport
from landmarket.plots.imports.service import ImportOptions, import_plots

DEMO_PLOTS = 40
_SEED = 20240601


async def seed_demo_plots(
    session: AsyncSession, owner: AuthPrincipal, municipalities: Sequence[str]
) -> PlotImportReport:
    """Upsert the demo plots by external_id (idempotent: a second run reports them unchanged)."""
    points = await points_in(session, municipalities, DEMO_PLOTS, _SEED)
    body = PlotImport(
        type="FeatureCollection", features=plot_features(points, _SEED, prefix="demo")
    )
    options = ImportOptions(crs=SUPPORTED_CRS[EPSG_URI.format(STORAGE_SRID)])
    return await import_plots(session, owner, body, options)
