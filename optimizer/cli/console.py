"""The command line's shared parts: the typer app, the consoles, exit statuses, and how
tables, money and errors are printed. The commands live beside it (``plan_commands``,
``analysis_commands``); ``optimizer.cli`` imports them so that they register on ``app``."""
from __future__ import annotations

import re

import shutil

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text
from typer.core import TyperCommand

try:  # typer 0.2x carries its own copy of click
    from typer._click.exceptions import MissingParameter
except ImportError:  # pragma: no cover - typer on the click package
    from click.exceptions import MissingParameter

from optimizer import gc_policy
from optimizer.cli.options import option_name, problems_of, shown
from optimizer.core.result import InvalidPlan
from optimizer.errors import InputError, OptimizerError
from optimizer.reports.export import HEADERS
from optimizer.reports.pdf import PdfError

EXIT_INPUT = 2
EXIT_INFEASIBLE = 3
EXIT_NO_PLAN = 4
EXIT_INVALID_PLAN = 5
EXIT_OUTPUT = 6

#: The terminal's width (or COLUMNS); 140 columns when the output goes to a file or a pipe.
WIDTH = shutil.get_terminal_size((140, 24)).columns
out = Console(width=WIDTH, soft_wrap=True)
err = Console(stderr=True, width=WIDTH, soft_wrap=True)


def refuse(problems: list[str]) -> None:
    """Print each problem of the command line on its own line and exit 2 (bad input)."""
    for problem in problems:
        err.print(Text.assemble(("error: ", "bold red"), problem), highlight=False)
    raise typer.Exit(EXIT_INPUT)


class CheckedCommand(TyperCommand):
    """A subcommand whose option values are all checked before it runs: every value an
    option's check refused (``optimizer.cli.options``), and every value typer could not read
    as the option's type, is printed on one line, and the command exits 2 without doing
    anything."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        given = list(args)
        try:
            rest = super().parse_args(ctx, args)
        except typer.BadParameter as exc:
            if isinstance(exc, MissingParameter) or exc.param is None:
                raise  # a missing argument: typer's usage message says which
            refuse([*problems_of(ctx), self._unreadable(ctx, given, exc)])
        problems = problems_of(ctx)
        if problems:
            refuse(problems)
        return rest

    def _unreadable(self, ctx: typer.Context, given: list[str], exc: typer.BadParameter) -> str:
        try:
            raw = self.make_parser(ctx).parse_args(args=list(given))[0].get(exc.param.name)
        except Exception:  # the line was read once already; this only finds the value again
            raw = None
        message = exc.message
        for prefix in ("Input should be ", "Value error, "):
            if message.startswith(prefix):
                message = "expected " + message[len(prefix):]
        value = "" if raw is None else " " + shown(raw if not isinstance(raw, (list, tuple)) else raw[-1])
        return f"{option_name(exc.param)}{value}: {message}"


class _Typer(typer.Typer):
    """The app: every command it registers is a :class:`CheckedCommand`."""

    def command(self, *args, **kwargs):
        kwargs["cls"] = kwargs.get("cls") or CheckedCommand
        return super().command(*args, **kwargs)


app = _Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
             help="Plan school security spending: catalog, scenarios, optimal plans.")


def fail(exc: OptimizerError) -> None:
    """Print an error of the tool's own (every input problem on its line) and exit 2; a plan
    the independent verifier rejects is the tool's fault, not the input's: exit 5; a report
    this machine cannot print (no Chromium for a PDF): exit 6."""
    if isinstance(exc, PdfError):
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(EXIT_OUTPUT)
    if isinstance(exc, InvalidPlan):
        err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=False)
        err.print("This is a fault of the tool, not of your input: please report it with the scenario.",
                  highlight=False)
        raise typer.Exit(EXIT_INVALID_PLAN)
    if isinstance(exc, InputError):
        err.print(f"[bold red]{len(exc.problems)} problem(s) in the input[/]", highlight=False)
        for p in exc.problems:
            err.print(f"  - {p}", highlight=False, markup=False)
    else:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
    raise typer.Exit(EXIT_INPUT)


#: Columns of ids: shown only when a command is asked ``--ids`` (the names stand beside them).
ID_COLUMNS = ("measure_id", "site_id", "mandate_id", "source_id")
_CODE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")


def in_words(frame, ids: bool = False):
    """A table as a person reads it: headers in words (the workbook's label table, else the
    name with spaces), values written as codes (``expert_consensus``) with spaces, and the id
    columns left out unless ``ids``."""
    shown = frame if ids else frame.drop(columns=[c for c in ID_COLUMNS if c in frame.columns])
    shown = shown.apply(lambda column: column.map(lambda v: v.replace("_", " ") if isinstance(v, str)
                                                  and _CODE.match(v) else v))
    return shown.rename(columns=lambda c: HEADERS.get(c, c.replace("_", " ")) if "_" in str(c) else c)


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
    gc_policy.apply()
    try:
        app(prog_name="python -m optimizer", standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:  # a bug, not a user error: say so plainly
        err.print(f"internal error ({type(exc).__name__}): {exc}. Your input files were not changed; "
                  "please report this with the scenario that caused it.", highlight=False, markup=False)
        raise SystemExit(1) from None
