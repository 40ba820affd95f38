"""The command line's shared parts: the typer app, the consoles, exit statuses, and how
tables, money and errors are printed. The commands live beside it (``plan_commands``,
``analysis_commands``); ``optimizer.cli`` imports them so that they register on ``app``."""
from __future__ import annotations

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table as RichTable

from optimizer.errors import InputError, OptimizerError

EXIT_INPUT = 2
EXIT_INFEASIBLE = 3
EXIT_NO_PLAN = 4

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Plan school security spending: catalog, scenarios, optimal plans.")
out = Console(width=140, soft_wrap=True)
err = Console(stderr=True, width=140, soft_wrap=True)


def fail(exc: OptimizerError) -> None:
    """Print an error of the tool's own (every input problem on its line) and exit 2."""
    if isinstance(exc, InputError):
        err.print(f"[bold red]{len(exc.problems)} problem(s) in the input[/]", highlight=False)
        for p in exc.problems:
            err.print(f"  - {p}", highlight=False, markup=False)
    else:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
    raise typer.Exit(EXIT_INPUT)


def print_frame(frame, title: str, decimals: int = 0) -> None:
    """Print a data frame as a table, floats with thousands separators."""
    table = RichTable(title=title, show_lines=False)
    for col in frame.columns:
        table.add_column(str(col), overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*(_cell(v, decimals) for v in row))
    out.print(table)


def _cell(value, decimals: int) -> str:
    if value is None or value is pd.NA:
        return "-"
    if isinstance(value, float):
        if value != value:
            return "-"
        if value == 0:
            return "0"
        return f"{value:,.{decimals if abs(value) >= 1 or decimals else 4}f}"
    return str(value)


def dollars(x: float) -> str:
    """Whole dollars with thousands separators: ``$1,250``, ``-$300``; ``-`` when missing."""
    if x is None or x != x:
        return "-"
    return f"{'-' if round(x) < 0 else ''}${abs(x):,.0f}"


def main() -> None:
    """Entry point of ``python -m optimizer``: unexpected failures end with a short message
    (and status 1), never a traceback."""
    try:
        app(prog_name="python -m optimizer", standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:  # a bug, not a user error: say so plainly
        err.print(f"internal error ({type(exc).__name__}): {exc}. Your input files were not changed; "
                  "please report this with the scenario that caused it.", highlight=False, markup=False)
        raise SystemExit(1) from None
