"""``landmarket orgs ...`` and ``landmarket keys ...``: operator commands.

``landmarket orgs create --kind admin --name Ops`` followed by ``landmarket keys create --org
<id>`` bootstraps the first admin key; everything else can then go through the API.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, NoReturn, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.auth import service
from landmarket.auth.models import OrgKind
from landmarket.auth.schemas import ApiKeyCreate, ApiKeyRead, OrganizationCreate
from landmarket.core.config import get_settings
from landmarket.core.errors import AppError, validation_errors
from landmarket.db.connect import SchemaBehindError, cli_session, database_url

orgs_app = typer.Typer(no_args_is_help=True)
keys_app = typer.Typer(no_args_is_help=True)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

# JSON pointers in service errors → the option the operator typed.
_OPTION = {
    "kind": "--kind",
    "name": "--name",
    "ags": "--ags",
    "home_ags": "--ags",
    "regions": "--region",
    "sector_nace": "--sector",
    "expires_at": "--expires-days",
}


def fail(message: str) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(1)


def _fail_fields(summary: str, pointers_details: list[tuple[str, str]]) -> NoReturn:
    lines = [summary]
    for pointer, detail in pointers_details:
        parts = pointer.strip("/").split("/")
        if parts[0] == "body":
            parts = parts[1:]
        option = _OPTION.get(parts[0], parts[0])
        # A repeated option's error names which occurrence, counting from 1.
        which = f" #{int(parts[1]) + 1}" if len(parts) > 1 and parts[1].isdigit() else ""
        lines.append(f"  {option}{which}: {detail}")
    fail("\n".join(lines))


def run(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one transaction; AppErrors become a message and exit code 1."""
    settings = get_settings()

    async def main(url: str, embedded: bool) -> T:
        async with cli_session(settings, url, embedded=embedded) as session:
            return await work(session)

    try:
        with database_url(settings) as (url, embedded):
            return asyncio.run(main(url, embedded))
    except AppError as exc:
        if exc.errors:
            _fail_fields(exc.detail, [(e.pointer, e.detail) for e in exc.errors])
        fail(exc.detail)
    except (SchemaBehindError, OSError) as exc:
        fail(str(exc))
    except DBAPIError as exc:
        # The driver's message only: SQLAlchemy's own text would list the bound parameters.
        fail(f"database error: {exc.orig}")


def uuid_arg(value: str, option: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        fail(f"{option}: {value!r} is not an id (a UUID as shown by the list commands)")


def _validated(model: type[M], **data: object) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = validation_errors(exc.errors())
        _fail_fields("Invalid input:", [("/body" + e.pointer, e.detail) for e in errors])


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


@orgs_app.command("create")
def orgs_create(
    kind: Annotated[str, typer.Option(help="municipality, company, agency or admin")],
    name: Annotated[str, typer.Option(help="Display name")],
    ags: Annotated[
        list[str] | None,
        typer.Option(help="municipality: AGS it may edit (repeat); company: its home AGS"),
    ] = None,
    region: Annotated[
        list[str] | None, typer.Option(help="agency: slug of a region it reads (repeat)")
    ] = None,
    sector: Annotated[str | None, typer.Option(help="company: NACE Rev. 2 code")] = None,
) -> None:
    """Create an organisation."""
    if kind not in OrgKind.__members__:
        fail(f"--kind: {kind!r} is not one of {', '.join(OrgKind.__members__)}")
    org_kind = OrgKind(kind)
    fields: dict[str, object] = {"kind": org_kind, "name": name, "regions": region or None}
    if org_kind is OrgKind.company and ags:
        if len(ags) != 1:
            fail("--ags: a company has exactly one home AGS")
        fields["home_ags"] = ags[0]
    else:
        fields["ags"] = ags or None
    if sector is not None:
        fields["sector_nace"] = sector
    data = _validated(OrganizationCreate, **fields)
    org = run(lambda session: service.create_organization(session, data))
    typer.echo(f"Created {org.kind} organisation {org.name!r} with id {org.id}")


@orgs_app.command("list")
def orgs_list(
    kind: Annotated[str | None, typer.Option(help="Only organisations of this kind")] = None,
) -> None:
    """List organisations, oldest first."""
    if kind is not None and kind not in OrgKind.__members__:
        fail(f"--kind: {kind!r} is not one of {', '.join(OrgKind.__members__)}")
    org_kind = OrgKind(kind) if kind else None

    async def everything(session: AsyncSession) -> list[str]:
        lines, cursor = [], None
        while True:
            page = await service.list_organizations(
                session, kind=org_kind, cursor=cursor, limit=1000
            )
            for org in page.items:
                scope = ",".join(org.ags or org.regions) or org.home_ags or "-"
                lines.append(f"{org.id}  {org.kind:<12}  {scope:<20}  {org.name}")
            if page.next_cursor is None:
                return lines
            cursor = page.next_cursor

    lines = run(everything)
    typer.echo("\n".join(lines) if lines else "No organisations.")


@keys_app.command("create")
def keys_create(
    org: Annotated[str, typer.Option(help="Organisation id")],
    name: Annotated[str, typer.Option(help="What the key is for")] = "cli",
    expires_days: Annotated[
        int | None, typer.Option(help="Expire after this many days (default: never)")
    ] = None,
) -> None:
    """Create an API key and print it once."""
    org_id = uuid_arg(org, "--org")
    if expires_days is not None and expires_days < 1:
        fail("--expires-days: must be at least 1")
    expires = datetime.now(UTC) + timedelta(days=expires_days) if expires_days else None
    data = _validated(ApiKeyCreate, name=name, expires_at=expires)
    created = run(lambda session: service.create_api_key(session, org_id, data))
    typer.echo(f"Created API key {created.id} ({created.prefix}) for organisation {org_id}")
    typer.echo("Store it now, it cannot be shown again:")
    typer.echo("")
    typer.echo(f"    {created.key}")
    typer.echo("")


def _key_line(key: ApiKeyRead) -> str:
    now = datetime.now(UTC)
    state = "active"
    if key.revoked_at is not None:
        state = "revoked"
    elif key.expires_at is not None and key.expires_at <= now:
        state = "expired"
    return (
        f"{key.id}  {key.prefix}  org={key.organization_id}  {state:<7}  "
        f"used={_when(key.last_used_at)}  expires={_when(key.expires_at)}  {key.name}"
    )


@keys_app.command("list")
def keys_list(
    org: Annotated[str | None, typer.Option(help="Only keys of this organisation")] = None,
) -> None:
    """List API keys: ids and prefixes, never the keys themselves."""
    org_id = uuid_arg(org, "--org") if org is not None else None
    found = run(lambda session: service.list_api_keys(session, org_id))
    typer.echo("\n".join(_key_line(k) for k in found) if found else "No API keys.")


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="API key id")]) -> None:
    """Revoke an API key; requests with it get 401 from now on."""
    parsed = uuid_arg(key_id, "ID")
    key = run(lambda session: service.revoke_api_key(session, parsed))
    typer.echo(f"Revoked API key {key.id} ({key.prefix}) at {_when(key.revoked_at)}")
