"""Business rules for organisations and API keys. Raises AppError; only flushes."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.auth import keys, repository
from landmarket.auth.models import ApiKey, OrgKind
from landmarket.auth.principal import AuthPrincipal
from landmarket.auth.schemas import (
    KIND_FIELDS,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    OrganizationCreate,
    OrganizationRead,
)
from landmarket.core.errors import (
    Conflict,
    FieldError,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from landmarket.core.pagination import (
    Page,
    as_datetime,
    as_uuid,
    decode_typed_cursor,
    keyset_tail,
)

log = logging.getLogger(__name__)

_REQUIRED: dict[str, str] = {
    "ags": "a municipality needs at least one AGS it may edit",
    "home_ags": "a company needs the AGS of the municipality it is based in",
    "regions": "an agency needs at least one region",
}


def _dedupe(values: list[str] | None) -> list[str]:
    return list(dict.fromkeys(values or []))


def _kind_errors(data: OrganizationCreate) -> list[FieldError]:
    allowed = KIND_FIELDS[data.kind]
    errors: list[FieldError] = []
    for field in ("ags", "home_ags", "regions", "sector_nace"):
        value = getattr(data, field)
        # Empty lists are tolerated: clients that always send every field mean "none".
        if field not in allowed and value:
            errors.append(
                FieldError(pointer=f"/body/{field}", detail=f"not allowed for kind {data.kind}")
            )
        elif field in _REQUIRED and field in allowed and not value:
            errors.append(FieldError(pointer=f"/body/{field}", detail=_REQUIRED[field]))
    return errors


async def _reference_errors(
    session: AsyncSession, data: OrganizationCreate, ags: list[str], regions: list[str]
) -> list[FieldError]:
    errors: list[FieldError] = []
    if ags:
        known = await repository.existing_ags(session, ags)
        errors += [
            FieldError(pointer=f"/body/ags/{i}", detail=f"no municipality with AGS {a}")
            for i, a in enumerate(data.ags or [])
            if a not in known
        ]
    if data.home_ags is not None and not await repository.existing_ags(session, [data.home_ags]):
        errors.append(
            FieldError(pointer="/body/home_ags", detail=f"no municipality with AGS {data.home_ags}")
        )
    if regions:
        known = await repository.existing_regions(session, regions)
        errors += [
            FieldError(pointer=f"/body/regions/{i}", detail=f"no region with slug {r}")
            for i, r in enumerate(data.regions or [])
            if r not in known
        ]
    return errors


def _org_read(row: repository.OrgRow) -> OrganizationRead:
    org = row.org
    return OrganizationRead(
        id=org.id,
        kind=org.kind,
        name=org.name,
        ags=row.ags,
        regions=row.regions,
        home_ags=org.home_ags,
        sector_nace=org.sector_nace,
        created_at=org.created_at,
        erased_at=org.erased_at,
    )


async def create_organization(session: AsyncSession, data: OrganizationCreate) -> OrganizationRead:
    errors = _kind_errors(data)
    ags, regions = _dedupe(data.ags), _dedupe(data.regions)
    if not errors:
        errors = await _reference_errors(session, data, ags, regions)
    if errors:
        # Checked before any write, so a rejected request leaves nothing behind.
        raise ValidationFailed(
            "The organisation was not created: " + "; ".join(e.detail for e in errors),
            errors=errors,
        )
    org_id = await repository.insert_organization(
        session,
        kind=data.kind,
        name=data.name,
        home_ags=data.home_ags,
        sector_nace=data.sector_nace,
        ags=ags,
        regions=regions,
    )
    return await get_organization(session, org_id)


async def get_organization(session: AsyncSession, org_id: uuid.UUID) -> OrganizationRead:
    row = await repository.get_organization(session, org_id)
    if row is None:
        raise NotFound(f"No organisation with id {org_id}")
    return _org_read(row)


def _parse_org_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    created, org_id = decode_typed_cursor(cursor, as_datetime, as_uuid)
    return created, org_id


async def list_organizations(
    session: AsyncSession, *, kind: OrgKind | None, cursor: str | None, limit: int
) -> Page[OrganizationRead]:
    after = _parse_org_cursor(cursor) if cursor else None
    # One extra row tells whether there is a next page without a count query.
    rows = await repository.list_organizations(session, kind=kind, after=after, limit=limit + 1)
    page, next_cursor = keyset_tail(
        rows, limit, lambda r: (r.org.created_at.isoformat(), str(r.org.id))
    )
    return Page(items=[_org_read(r) for r in page], next_cursor=next_cursor)


async def create_api_key(
    session: AsyncSession, org_id: uuid.UUID, data: ApiKeyCreate
) -> ApiKeyCreated:
    owner = await repository.get_organization(session, org_id)
    if owner is None:
        raise NotFound(f"No organisation with id {org_id}")
    if owner.org.erased_at is not None:
        raise Conflict(f"Organisation {org_id} was erased; it gets no new keys")
    new = keys.generate()
    row = await repository.insert_api_key(
        session,
        org_id=org_id,
        name=data.name,
        prefix=new.prefix,
        digest=new.digest,
        expires_at=data.expires_at,
    )
    return ApiKeyCreated(**ApiKeyRead.model_validate(row).model_dump(), key=new.secret)


async def list_api_keys(session: AsyncSession, org_id: uuid.UUID | None) -> list[ApiKeyRead]:
    """Keys of one organisation (404 if it does not exist) or, with None, of all."""
    if org_id is not None and not await repository.organization_exists(session, org_id):
        raise NotFound(f"No organisation with id {org_id}")
    return [ApiKeyRead.model_validate(k) for k in await repository.list_api_keys(session, org_id)]


async def revoke_api_key(session: AsyncSession, key_id: uuid.UUID) -> ApiKeyRead:
    key = await repository.revoke_api_key(session, key_id)
    if key is None:
        raise NotFound(f"No API key with id {key_id}")
    return ApiKeyRead.model_validate(key)


# One text for every key that does not authenticate (malformed, unknown, revoked, expired):
# telling them apart would tell a caller holding a leaked or guessed key what it has. The
# reason goes to the log, with the key's public prefix at most, never the secret.
INVALID_KEY = "Invalid API key"


def _rejection(key: ApiKey, now: datetime) -> str | None:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    return None


def _refuse(reason: str, prefix: str | None = None) -> Unauthorized:
    log.info("API key refused: %s%s", reason, f" (key {prefix})" if prefix else "")
    return Unauthorized(INVALID_KEY)


async def authenticate(session: AsyncSession, secret: str) -> AuthPrincipal:
    """The principal for a presented key, or Unauthorized. Messages never echo the key."""
    if not keys.is_well_formed(secret):
        raise _refuse("malformed")
    presented = keys.digest(secret)
    found = await repository.find_key_by_digest(session, presented)
    if found is None or not keys.matches(found.key.key_hash, presented):
        raise _refuse("unknown", secret[: len(keys.KEY_PREFIX) + 8])
    now = datetime.now(UTC)
    reason = _rejection(found.key, now)
    if reason is not None:
        raise _refuse(reason, found.key.prefix)
    last = found.key.last_used_at
    if last is None or now - last > timedelta(seconds=repository.TOUCH_INTERVAL_S):
        await repository.touch_key(session, found.key.id)
    org = found.org.org
    return AuthPrincipal(
        org_id=org.id,
        kind=org.kind,
        name=org.name,
        key_id=found.key.id,
        key_prefix=found.key.prefix,
        editable_ags=frozenset(found.org.ags),
        regions=frozenset(found.org.regions),
        home_ags=org.home_ags,
        sector_nace=org.sector_nace,
    )


async def ensure_still_valid(session: AsyncSession, principal: AuthPrincipal) -> None:
    """Unauthorized if the principal's key was revoked, expired or deleted since it
    authenticated: for a request that outlives its authentication (a long poll)."""
    key = await repository.get_api_key(session, principal.key_id)
    reason = "deleted" if key is None else _rejection(key, datetime.now(UTC))
    if reason is not None:
        raise _refuse(reason, principal.key_prefix)
