"""Who may read which region, and the set of municipalities a report covers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.auth.models import OrgKind
from landmarket.auth.principal import AuthPrincipal
from landmarket.core.errors import FieldError, Forbidden, NotFound, ValidationFailed
from landmarket.municipalities.models import Municipality, Region, region_municipalities

UNKNOWN_ATTRIBUTION = (
    "source not recorded (landmarket municipalities import --attribution gives it)"
)


async def boundary_attribution(session: AsyncSession, ags: tuple[str, ...] | None) -> str:
    """Each distinct licence line of the boundaries in scope, in a stable order."""
    stmt = select(Municipality.attribution).where(Municipality.attribution.is_not(None))
    if ags is not None:
        stmt = stmt.where(Municipality.ags.in_(ags))
    lines = sorted({str(a) for a in await session.scalars(stmt.distinct())})
    return "; ".join(lines) or UNKNOWN_ATTRIBUTION


@dataclass(frozen=True)
class Scope:
    """The municipalities (AGS) a report covers and its period. ``ags`` None: everything
    (admins without a region)."""

    region: str | None
    region_name: str | None
    ags: tuple[str, ...] | None
    date_from: date | None = None
    date_to: date | None = None
    # ``municipalities`` was given: the caller narrowed the region.
    chosen: bool = False
    # The licence lines of the scope's boundary sets, joined (municipalities.attribution).
    boundary_attribution: str = UNKNOWN_ATTRIBUTION

    def filters(self) -> dict[str, object]:
        return {
            "region": self.region,
            "municipalities": list(self.ags) if self.ags is not None else None,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
        }


def check_reader(principal: AuthPrincipal, region: str | None) -> None:
    """Agencies read their own regions (region required); admins everything; others none."""
    if principal.is_admin:
        return
    if principal.kind is not OrgKind.agency:
        raise Forbidden("Only agency and admin organisations may read reports")
    if region is None:
        raise ValidationFailed(
            "Agencies must name one of their regions",
            errors=[FieldError(pointer="/query/region", detail="required for agency keys")],
        )
    if region not in principal.regions:
        raise Forbidden(f"This key may not read reports of region {region!r}")


async def resolve(
    session: AsyncSession,
    principal: AuthPrincipal,
    region: str | None,
    municipalities: list[str] | None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Scope:
    check_reader(principal, region)
    return await resolve_unchecked(session, region, municipalities, date_from, date_to)


async def resolve_unchecked(
    session: AsyncSession,
    region: str | None,
    municipalities: list[str] | None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Scope:
    """The scope without an access check: for the operator's CLI."""
    if date_from and date_to and date_from > date_to:
        raise ValidationFailed(
            "`from` is after `to`", errors=[FieldError(pointer="/query/from", detail="after to")]
        )
    members: tuple[str, ...] | None = None
    name: str | None = None
    if region is not None:
        name = await session.scalar(select(Region.name).where(Region.slug == region))
        if name is None:
            raise NotFound(f"No region {region!r}")
        stmt = (
            select(region_municipalities.c.ags)
            .where(region_municipalities.c.region_slug == region)
            .order_by(region_municipalities.c.ags)
        )
        members = tuple(await session.scalars(stmt))
    if municipalities:
        wanted = sorted(set(municipalities))
        known = set(
            await session.scalars(select(Municipality.ags).where(Municipality.ags.in_(wanted)))
        )
        allowed = known if members is None else known & set(members)
        bad = [(i, a) for i, a in enumerate(municipalities) if a not in allowed]
        if bad:
            raise ValidationFailed(
                "Unknown municipalities or not in the region",
                errors=[
                    FieldError(pointer=f"/query/municipalities/{i}", detail=f"{a}: not in scope")
                    for i, a in bad
                ],
            )
        members = tuple(wanted)
    attribution = await boundary_attribution(session, members)
    return Scope(region, name, members, date_from, date_to, bool(municipalities), attribution)
