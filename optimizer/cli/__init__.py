"""The command line, ``python -m optimizer SUBCOMMAND``: the app and its printing helpers
(``app``), the commands that check inputs and plan (``plan_commands``) and the analyses
(``analysis_commands``)."""
from optimizer.cli import analysis_commands, plan_commands  # noqa: F401  (register the commands)
from optimizer.cli.app import app, main

__all__ = ["app", "main"]
