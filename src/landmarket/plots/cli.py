"""`landmarket plots ...`: the plot commands (the push client lives in plots_push)."""

from __future__ import annotations

import typer

from landmarket.plots_push.cli import push_command

app = typer.Typer(no_args_is_help=True)
app.command("push")(push_command)
