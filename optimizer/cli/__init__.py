"""The command line, ``python -m optimizer SUBCOMMAND``: the typer app with its consoles and
printing helpers (``console``), the commands that check inputs and plan (``plan_commands``)
and the analyses (``analysis_commands``). ``app`` and ``main`` here have every command
registered; importing ``console`` alone loads no solver."""
from __future__ import annotations

import importlib


def __getattr__(name: str):
    if name in ("app", "main"):
        importlib.import_module("optimizer.cli.plan_commands")  # registers its commands on the app
        importlib.import_module("optimizer.cli.analysis_commands")
        return getattr(importlib.import_module("optimizer.cli.console"), name)
    raise AttributeError(f"module 'optimizer.cli' has no attribute {name!r}")
