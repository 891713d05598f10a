"""`landmarket plots ...`: the plot commands (``push`` is plots_push's, added by cli.py)."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)
