"""The `landmarket` command."""

from __future__ import annotations

import typer

from landmarket.auth.cli import keys_app, orgs_app
from landmarket.municipalities.cli import app as municipalities_app

app = typer.Typer(
    name="landmarket",
    help="Inter-municipal commercial land marketplace: service, database and data tools.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(municipalities_app, name="municipalities", help="Import and list municipalities.")
app.add_typer(orgs_app, name="orgs", help="Organisations (municipalities, companies, agencies).")
app.add_typer(keys_app, name="keys", help="API keys of organisations.")
