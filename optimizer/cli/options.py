"""Every option value of every subcommand, checked while the command line is read: before a
scenario is loaded, a catalog read or anything solved.

Each option that takes a number, a choice or an output file is made here with a
:class:`Check` attached as its callback. A value a check refuses is recorded on the command
line's context; once every option is read, :class:`~optimizer.cli.console.CheckedCommand`
prints one line per refused value (the option, the value given, what is expected) and exits
with status 2. The ranges:

- money (``--budget``, ``--max-budget``, ``--cost``, ``--annual``): finite dollars from 0 to
  ``MAX_DOLLARS`` ($10 billion, the largest amount a scenario or catalog file may hold);
  ``--max-budget`` above 0;
- ``--gap``: 0 to ``MAX_GAP`` (0.5); ``--time-limit``: above 0 and at most ``MAX_TIME_LIMIT``
  seconds (one day); the same rules :class:`~optimizer.core.status.SolveOptions` enforces;
- counts keep their ranges (``--years`` 1-10, ``--points`` 2-200, ``--count`` 1-20, ...);
  ``--seed`` 0 or more; shares (``--spread``, ``--effectiveness``, ``--within``) 0 to 1;
  ``--multiple`` 1 to 100;
- output files: a suffix the command writes, in a folder that exists and can be written,
  not a folder itself.

This module prints nothing and loads no solver.
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Any

import typer

from optimizer.core.status import (
    MAX_GAP,
    MAX_TIME_LIMIT,
    gap_expected,
    time_limit_expected,
)
from optimizer.data.parsing import MAX_DOLLARS
from optimizer.defaults import DEFAULT_GAP

#: Key of the command line context's ``meta`` under which refused values are listed.
PROBLEMS = "optimizer.cli.option_problems"

#: Output files each kind of command writes.
PLAN_FILES = (".json", ".csv", ".xlsx", ".html", ".pdf")  # the last two: the board report
MODEL_FILES = (".lp", ".mps")
TABLE_FILES = (".csv", ".json")
CATALOG_FILES = (".csv",)

#: Largest multiple of the scenario's budget ``screen --multiple`` tries.
MAX_MULTIPLE = 100.0


@dataclass(frozen=True)
class Check:
    """What an option accepts.

    Attributes
    ----------
    expected : str
        The accepted values in words; ends the option's ``--help`` text.
    problem : callable
        Given a value (never None: an option not given is not checked), why it is refused,
        or None when it is accepted.
    """

    expected: str
    problem: Callable[[Any], "str | None"]


def _finite(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _amount(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() and abs(x) >= 1000 else f"{x:g}"


def number(low: float, high: float | None = None, *, above: bool = False, unit: str = "",
           whole: bool = False) -> Check:
    """A finite number from ``low`` (excluded when ``above``) to ``high`` (no bound: None)."""
    kind = f"a whole number{' of ' + unit if unit else ''}" if whole else (unit or "a number")
    start = f"above {_amount(low)}" if above else f"from {_amount(low)}"
    if high is None:
        expected = f"{kind} {'above ' + _amount(low) if above else f'of {_amount(low)} or more'}"
    else:
        expected = f"{kind} {start} {'and at most' if above else 'to'} {_amount(high)}"

    def ok(value) -> bool:
        if not _finite(value) or (whole and not float(value).is_integer()):
            return False
        if value < low or (above and value == low):
            return False
        return high is None or value <= high

    return Check(expected, lambda value: None if ok(value) else f"expected {expected}")


def one_of(choices: Sequence) -> Check:
    """One of ``choices`` exactly."""
    expected = "one of " + ", ".join(map(str, choices))
    return Check(expected, lambda value: None if value in choices else f"expected {expected}")


def _from_status(rule: Callable[[Any], "str | None"], expected: str) -> Check:
    """A check made of a rule of :mod:`optimizer.core.status` (the API's own)."""
    return Check(expected, lambda value: None if rule(value) is None else f"expected {rule(value)}")


def share_of(text: str) -> float:
    """A share written as a percent (``2%``) or a fraction (``0.02``).

    Raises
    ------
    ValueError
        When ``text`` is neither, or is not finite.
    """
    share = float(text.strip().rstrip("%")) / (100 if text.strip().endswith("%") else 1)
    if not math.isfinite(share):
        raise ValueError(text)
    return share


def share(low: float = 0.0, high: float = 1.0) -> Check:
    """A share from ``low`` to ``high``, written as a percent (2%) or a fraction (0.02)."""
    expected = f"a percent such as 2% or a fraction such as 0.02, from {low:.0%} to {high:.0%}"

    def problem(text) -> str | None:
        try:
            value = share_of(str(text))
        except ValueError:
            return f"expected {expected}"
        return None if low <= value <= high else f"expected {expected}"

    return Check(expected, problem)


def output_file(suffixes: Sequence[str]) -> Check:
    """A file the command may write: one of ``suffixes``, in a folder that exists and can be
    written, not a folder itself (checked before any work, so nothing is solved for a file
    that cannot be written)."""
    names = ", ".join(suffixes[:-1]) + (" or " if len(suffixes) > 1 else "") + suffixes[-1]
    expected = f"a {names} file in an existing folder"

    def problem(value) -> str | None:
        path = Path(value)
        if path.is_dir():
            return f"is a folder; expected a file name ending in {names}"
        if path.suffix.lower() not in suffixes:
            return f"expected a file name ending in {names}"
        folder = path.parent
        if not folder.exists():
            return f"the folder {folder} does not exist; expected a file in an existing folder (mkdir -p {folder} makes it)"
        if not folder.is_dir():
            return f"{folder} is not a folder; expected a file in an existing folder"
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"the folder {folder} cannot be written to; expected a folder you may write in"
        if path.exists() and not os.access(path, os.W_OK):
            return "the file exists and cannot be replaced (read-only); expected a file you may write"
        return None

    return Check(expected, problem)


#: The checks options share.
DOLLARS = number(0, MAX_DOLLARS, unit="dollars")
POSITIVE_DOLLARS = number(0, MAX_DOLLARS, above=True, unit="dollars")
GAP_CHECK = _from_status(gap_expected, f"a relative gap from 0 to {MAX_GAP:g} (0.001 = 0.1%)")
TIME_LIMIT_CHECK = _from_status(time_limit_expected, f"seconds above 0 and at most {MAX_TIME_LIMIT:,.0f} (one day)")
FRACTION = number(0, 1, unit="a share")
MULTIPLE = number(1, MAX_MULTIPLE, unit="a multiple")


def whole(low: int, high: int | None = None) -> Check:
    """A whole number from ``low`` to ``high`` (no bound: None)."""
    return number(low, high, whole=True)


def option_name(param) -> str:
    """How an option is written on the command line (``--max-budget``); an argument's name."""
    long = [o for o in getattr(param, "opts", []) if o.startswith("--")]
    return long[0] if long else (getattr(param, "human_readable_name", None) or str(param.name))


def shown(value) -> str:
    """A value as the person typed it, near enough: ``300000``, ``nan``, ``'cheapest'``."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (str, Path)):
        return repr(str(value))
    return str(value)


def _recorder(check: Check):
    """The option callback that records a value ``check`` refuses."""

    def record(ctx: typer.Context, param: typer.CallbackParam, value):
        if value is not None and not ctx.resilient_parsing:
            problem = check.problem(value)
            if problem is not None:
                ctx.meta.setdefault(PROBLEMS, []).append(f"{option_name(param)} {shown(value)}: {problem}")
        return value

    return record


def checked(default: Any, *names: str, check: Check, help: str) -> Any:
    """A ``typer.Option`` whose value ``check`` accepts; the accepted values end its help."""
    return typer.Option(default, *names, help=f"{help.rstrip('.')}: {check.expected}.", callback=_recorder(check))


def money(default: float | None, *names: str, help: str, positive: bool = False) -> Any:
    """An option in dollars: finite, from 0 (above 0 when ``positive``) to $10 billion."""
    return checked(default, *names, check=POSITIVE_DOLLARS if positive else DOLLARS, help=help)


def gap(default: float = DEFAULT_GAP, help: str = "Relative optimality gap tolerance of each solve") -> Any:
    """``--gap``: from 0 to ``MAX_GAP``."""
    return checked(default, "--gap", check=GAP_CHECK, help=help)


def time_limit(default: float | None = None, help: str = "Solver time limit of each solve, seconds") -> Any:
    """``--time-limit``: above 0 and at most a day (not given: no limit)."""
    return checked(default, "--time-limit", check=TIME_LIMIT_CHECK, help=help)


def output(suffixes: Sequence[str], *names: str, help: str) -> Any:
    """An output file option (default ``--out``), checked before any work."""
    return checked(None, *(names or ("--out",)), check=output_file(suffixes), help=help)


def problems_of(ctx: typer.Context) -> list[str]:
    """The refused values recorded while the command line was read (and forgets them)."""
    return ctx.meta.pop(PROBLEMS, [])
