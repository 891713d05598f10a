"""`landmarket demo`: a region, organisations and API keys to try the service with.

Idempotent: running it again reuses the organisations and, while they still authenticate, the
keys it wrote to ``$DATA_DIR/demo-keys.json`` (mode 0600), so `make run` prints the same keys
every time.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.auth import repository as auth_repository
from landmarket.auth import service as auth_service
from landmarket.auth.models import OrgKind, organization_municipalities
from landmarket.auth.schemas import ApiKeyCreate, OrganizationCreate
from landmarket.core.config import Settings
from landmarket.core.errors import Unauthorized
from landmarket.db.connect import cli_session
from landmarket.demo.plots import seed_demo_plots
from landmarket.municipalities import repository as municipality_repository
from landmarket.municipalities.demo import DEMO_REGION, seed_demo_region
from landmarket.plots.imports.schemas import PlotImportReport


@dataclass(frozen=True)
class DemoKey:
    kind: OrgKind
    organization: str
    key: str


@dataclass(frozen=True)
class DemoResult:
    region: str
    municipalities: int
    keys: list[DemoKey]
    plots: PlotImportReport | None = None


def _company_home(members: list[str]) -> str:
    return members[min(1, len(members) - 1)]


def _plot_municipalities(members: list[str]) -> list[str]:
    """Where the demo plots lie and which AGS the demo plots office edits: every member but the
    company's home town, so every demo plot is a cross-border case for the company."""
    home = _company_home(members)
    return [m for m in members if m != home] or members


def _organizations(members: list[str]) -> list[OrganizationCreate]:
    """One organisation per kind; the company sits in a different town than the plots office,
    which is the cross-border case the product exists for."""
    return [
        OrganizationCreate(
            kind=OrgKind.municipality,
            name="Demo: Wirtschaftsförderung",
            ags=_plot_municipalities(members),
        ),
        OrganizationCreate(
            kind=OrgKind.company,
            name="Demo: Präzisionsteile GmbH",
            home_ags=_company_home(members),
            sector_nace="25.62",
        ),
        OrganizationCreate(
            kind=OrgKind.agency, name="Demo: Regionalagentur", regions=[DEMO_REGION]
        ),
        OrganizationCreate(kind=OrgKind.admin, name="Demo: Betrieb"),
    ]


def _read_keys(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_keys(path: Path, keys: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(keys, fh, indent=2)


async def _usable(session: AsyncSession, secret: str | None) -> bool:
    if not secret:
        return False
    try:
        await auth_service.authenticate(session, secret)
    except Unauthorized:
        return False
    return True


async def seed_demo(
    session: AsyncSession, data_dir: Path, municipalities_path: Path | None = None
) -> DemoResult:
    report = await seed_demo_region(session, municipalities_path)
    members = await municipality_repository.member_ags(session, DEMO_REGION)
    keys_file = data_dir / "demo-keys.json"
    saved = _read_keys(keys_file)
    result: list[DemoKey] = []
    for spec in _organizations(members):
        org_id = await auth_repository.find_organization_id(session, spec.kind, spec.name)
        if org_id is None:
            org_id = (await auth_service.create_organization(session, spec)).id
        elif spec.ags:
            # Demos seeded before the plots existed edited one municipality only.
            await _grant_ags(session, org_id, spec.ags)
        secret = saved.get(spec.kind.value)
        if not await _usable(session, secret):
            created = await auth_service.create_api_key(
                session, org_id, ApiKeyCreate(name="demo key")
            )
            secret = created.key
        assert secret is not None
        saved[spec.kind.value] = secret
        result.append(DemoKey(kind=spec.kind, organization=spec.name, key=secret))
    _write_keys(keys_file, saved)
    owner = await auth_service.authenticate(session, saved[OrgKind.municipality.value])
    plots = await seed_demo_plots(session, owner, _plot_municipalities(members))
    return DemoResult(
        region=DEMO_REGION, municipalities=report.municipalities, keys=result, plots=plots
    )


async def _grant_ags(session: AsyncSession, org_id: uuid.UUID, ags: list[str]) -> None:
    rows = [{"organization_id": org_id, "ags": a} for a in ags]
    await session.execute(insert(organization_municipalities).on_conflict_do_nothing(), rows)


async def seed_demo_database(
    settings: Settings, url: str, *, embedded: bool, municipalities_path: Path | None = None
) -> DemoResult:
    """Seed the demo in its own committed transaction (migrating the embedded database)."""
    async with cli_session(settings, url, embedded=embedded) as session:
        return await seed_demo(session, settings.data_dir, municipalities_path)


def describe(result: DemoResult, base_url: str | None = None) -> str:
    lines = [f"demo region '{result.region}': {result.municipalities} municipalities"]
    if result.plots is not None:
        p = result.plots
        lines.append(
            f"demo plots: {p.created} created, {p.updated} updated, {p.unchanged} unchanged"
        )
    if base_url:
        lines += [
            f"API:  {base_url}/v1/municipalities?region={result.region}",
            f"docs: {base_url}/docs",
        ]
    lines.append("demo API keys (Authorization: Bearer <key>):")
    lines += [f"  {k.kind.value:<13} {k.key}   ({k.organization})" for k in result.keys]
    return "\n".join(lines)
