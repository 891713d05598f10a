"""``landmarket orgs erase``: erasure is privacy's; the ``landmarket`` command (``cli.py``) puts
it into the operator's ``orgs`` group (``auth.cli``), whose helpers it shares."""

from __future__ import annotations

from typing import Annotated

import typer

from landmarket.auth.cli import fail, run, uuid_arg
from landmarket.privacy import service as privacy


def orgs_erase(
    org_id: Annotated[str, typer.Argument(help="Id of the company organisation")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this cannot be undone")] = False,
) -> None:
    """Erase a company's personal data everywhere and revoke its keys (GDPR Art. 17)."""
    parsed = uuid_arg(org_id, "ID")
    if not yes:
        fail("erasure cannot be undone; pass --yes to confirm")
    erased = run(lambda session: privacy.erase_company(session, None, parsed))
    typer.echo(
        f"Erased organisation {erased.organization_id}, now {erased.name!r}: "
        f"{erased.requirements} requirement(s), {erased.matches} match(es), "
        f"{erased.audit_events} audit event(s), {erased.webhook_events} outbox event(s)"
    )
