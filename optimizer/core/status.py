"""What a solve is asked and what it says, free of any solver object: the options of a solve,
its status and report, the names of the objectives, and a request to stop a solve under way
(:func:`stoppable`). Faces (the app, the CLI's printing, the exports) import these without
loading the solver."""
from __future__ import annotations

import math
import threading
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from enum import StrEnum
from numbers import Integral, Real

import numpy as np

from optimizer.defaults import DEFAULT_GAP
from optimizer.errors import InputError, InputProblem, SolveCancelled, short

#: The objectives a scenario can ask for (``policy.objective``).
OBJECTIVES = ("risk_reduction", "least_cost_tier", "tier1_first")

#: Largest relative optimality gap accepted: a plan allowed to fall half short of the best
#: can no longer be called close to it (the default is 0.001, the app offers up to 0.2).
MAX_GAP = 0.5
#: Longest time limit of one solve accepted, in seconds: one day (a district of 3,000 schools
#: is planned in minutes; a larger number is a typo, milliseconds for seconds say).
MAX_TIME_LIMIT = 86_400.0
#: The time a solve step is given when the time limit has already run out: the least any
#: step is given.
TIME_UP_SECONDS = 0.1


def _real(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def gap_expected(value) -> str | None:
    """None when ``value`` is a usable optimality gap, else what is expected instead."""
    if _real(value) and math.isfinite(value) and 0 <= value <= MAX_GAP:
        return None
    return f"a relative gap from 0 to {MAX_GAP:g} (0.001 = 0.1%)"


def time_limit_expected(value) -> str | None:
    """None when ``value`` is a usable time limit in seconds (None: no limit), else what is
    expected instead."""
    if value is None or (_real(value) and math.isfinite(value) and 0 < value <= MAX_TIME_LIMIT):
        return None
    return f"seconds above 0 and at most {MAX_TIME_LIMIT:,.0f} (one day), or no limit"


def threads_expected(value) -> str | None:
    """None when ``value`` is a usable number of solver threads (None: the solver's choice)."""
    if value is None or (isinstance(value, Integral) and not isinstance(value, bool) and value >= 1):
        return None
    return "a whole number of threads, 1 or more, or none (the solver's choice)"


class BadSolveOptions(InputError, ValueError):
    """Solve options out of range (a gap of NaN, a time limit of 0): refused when the
    options are made, before any solve, naming each field, its value and what is expected."""


@dataclass(frozen=True)
class SolveOptions:
    """How to solve: which solver, for how long, how close to the optimum, on how many
    threads. One value travels through every planning call and analysis.

    Attributes
    ----------
    solver : {"highs", "cbc"}
        HiGHS (default); CBC when HiGHS is missing (the notes say so).
    time_limit : float, optional
        Seconds per solve; at the limit the best plan so far is returned as ``feasible``.
    gap : float
        Relative optimality gap at which the solver may stop (0.001 = 0.1%).
    threads : int, optional
        Solver threads (None: the solver's choice).
    """

    solver: str = "highs"
    time_limit: float | None = None
    gap: float = DEFAULT_GAP
    threads: int | None = None

    def __post_init__(self) -> None:
        """Refuse a gap, time limit or thread count no solve can use.

        Raises
        ------
        BadSolveOptions
            Naming every bad field, its value and what is expected: the gap must be finite,
            from 0 to :data:`MAX_GAP`; the time limit finite, above 0 and at most
            :data:`MAX_TIME_LIMIT` (or None); threads a whole number from 1 (or None).
        """
        problems = [InputProblem("solve options", "", name, short(value), expected)
                    for name, value, expected in (("gap", self.gap, gap_expected(self.gap)),
                                                  ("time_limit", self.time_limit, time_limit_expected(self.time_limit)),
                                                  ("threads", self.threads, threads_expected(self.threads)))
                    if expected is not None]
        if problems:
            raise BadSolveOptions(problems)

    def but(self, **changes) -> SolveOptions:
        """The same options with some changed, e.g. ``options.but(threads=1)``; checked as
        new options are."""
        return replace(self, **changes)


class Status(StrEnum):
    """Outcome of a solve, read from the solution status, never from the headline status."""

    OPTIMAL = "optimal"                  # proven within the gap tolerance
    FEASIBLE = "feasible"                # a plan, not proven optimal (time limit): see gap
    INFEASIBLE = "infeasible"
    NO_SOLUTION = "no_solution"          # stopped before any plan was found


@dataclass
class SolveReport:
    """What the solver said, in the tool's own terms."""

    status: Status
    solver: str
    objective: float | None
    dual_bound: float | None
    gap: float | None
    solve_seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def has_plan(self) -> bool:
        """True when a plan can be read from the solution."""
        return self.status in (Status.OPTIMAL, Status.FEASIBLE)


def relative_gap(objective: float, bound: float) -> float:
    """How far a plan's objective may be from the best possible, proven by ``bound``: their
    distance over the objective's size (HiGHS's own definition). The one definition every
    step of a solve reports."""
    return abs(bound - objective) / max(abs(objective), 1e-9)


def proven_gap(objective: float, bound: float) -> float:
    """:func:`relative_gap` of a verified plan against a maximisation's bound, which may sit a
    hair below the plan's objective (it carries the tiny tie-break terms): then 0."""
    return relative_gap(objective, max(bound, objective))


_stop: ContextVar[threading.Event | None] = ContextVar("stop", default=None)


@contextmanager
def stoppable(stop: threading.Event):
    """Solve within this block (this thread) so that setting ``stop`` ends the solve soon:
    a HiGHS run under way is interrupted (through its interrupt callbacks, or its solver
    process is ended) and every solve then raises :class:`SolveCancelled`, as does every
    later one. The app's refinement in the background is stopped so when a newer edit
    replaces it."""
    token = _stop.set(stop)
    try:
        yield
    finally:
        _stop.reset(token)


def stop_requested() -> None:
    """Raise :class:`SolveCancelled` when this thread's solve was asked to stop."""
    stop = _stop.get()
    if stop is not None and stop.is_set():
        raise SolveCancelled()


def stop_request() -> threading.Event | None:
    """The event that stops this thread's solve (see :func:`stoppable`), if any."""
    return _stop.get()


#: HiGHS's basis statuses of a column at its lower bound and of a basic column or row
#: (``HighsBasisStatus.kLower``, ``kBasic``), kept here so that results need no solver.
BASIS_LOWER, BASIS_BASIC = 0, 1


@dataclass(frozen=True)
class LpBasis:
    """The final basis of a solved LP relaxation, by variable and row name, so that the
    relaxation of a changed model (a what-if: another budget, a grant off, a mandate added)
    can start from it. HiGHS's basis statuses (lower, basic, upper, zero, nonbasic)."""

    columns: tuple[str, ...]
    col_status: np.ndarray
    rows: tuple[str, ...]
    row_status: np.ndarray

    def on(self, columns: list[str], rows: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The statuses for another model's ``columns`` and ``rows``: a new column starts at
        its lower bound, a new row with its slack basic. HiGHS takes the result as an alien
        basis and repairs it where it does not fit (a column gone that was basic, say)."""
        col = dict(zip(self.columns, self.col_status.tolist()))
        row = dict(zip(self.rows, self.row_status.tolist()))
        return (np.array([col.get(c, BASIS_LOWER) for c in columns], dtype=np.int8),
                np.array([row.get(r, BASIS_BASIC) for r in rows], dtype=np.int8))
