"""What a solve is asked and what it says, free of any solver object: the options of a solve,
its status and report, and the names of the objectives. Faces (the app, the CLI's printing,
the exports) import these without loading the solver."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from optimizer.defaults import DEFAULT_GAP

#: The objectives a scenario can ask for (``policy.objective``).
OBJECTIVES = ("risk_reduction", "least_cost_tier", "tier1_first")


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

    def but(self, **changes) -> SolveOptions:
        """The same options with some changed, e.g. ``options.but(threads=1)``."""
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
