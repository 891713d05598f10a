import typer

orgs_app = typer.Typer(no_args_is_help=True)
keys_app = typer.Typer(no_args_is_help=True)
