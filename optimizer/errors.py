"""Domain errors: every message names the file, the row or key, the field, the bad value
and what is expected, so a finance analyst can fix the input without reading code."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class InputProblem:
    """One thing wrong with one input file.

    Parameters
    ----------
    file : str
        The file the problem is in.
    where : str
        The row (``row 7``: the spreadsheet row a person sees, the header being row 1), the
        site of a scenario's inline list (``site 2 (id HS-1)``, counted from 1) or key path
        (``budget.capital``); empty for the whole file.
    field : str
        The column or key at fault; empty when the problem concerns the whole row or file.
    value : str
        The offending value as read, shortened for display.
    expected : str
        What would be accepted, or what to do.
    """

    file: str
    where: str
    field: str
    value: str
    expected: str

    def __str__(self) -> str:
        place = ", ".join(p for p in (self.where, f"field '{self.field}'" if self.field else "") if p)
        value = f": got {self.value!r}" if self.value != "" else ""
        return f"{self.file}{' ' + place if place else ''}{value}; expected {self.expected}"


def short(value: object, limit: int = 60) -> str:
    """Render a bad value for a message, shortened to ``limit`` characters."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class OptimizerError(Exception):
    """Base class of every error this tool raises on purpose."""


class InputError(OptimizerError):
    """Input files that cannot be used; carries every problem found, not only the first.

    Parameters
    ----------
    problems : list of InputProblem
        All problems found in the input, in file order.
    """

    def __init__(self, problems: list[InputProblem]):
        self.problems = list(problems)
        count = len(self.problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the input:\n{lines}")


class ProblemCollector:
    """Gathers problems while a file is read, then raises them all at once."""

    def __init__(self, file: Path | str):
        self.file = str(file)
        self.problems: list[InputProblem] = []

    def add(self, where: str, field: str, value: object, expected: str, file: Path | str | None = None) -> None:
        """Record one problem in this collector's file (or in ``file``: a sites file a
        scenario read, say)."""
        self.problems.append(InputProblem(str(file) if file is not None else self.file, where, field,
                                          short(value), expected))

    def extend(self, problems: list[InputProblem]) -> None:
        """Record problems found elsewhere (for example in an inherited file)."""
        self.problems.extend(problems)

    def raise_if_any(self) -> None:
        """Raise :class:`InputError` with every recorded problem, if there is one."""
        if self.problems:
            raise InputError(self.problems)


class NoFeasiblePlan(OptimizerError, ValueError):
    """An analysis needs the scenario's plan, and the scenario has none (its rules conflict,
    or the solver stopped before it found one)."""

    def __init__(self, what: str):
        super().__init__(f"{what}: the scenario has no feasible plan at its own budget; "
                         "run `plan` to see the conflicting rules")


class SolverFailed(OptimizerError):
    """The solver crashed or gave an answer that cannot be used; the inputs are unchanged."""


class SolveCancelled(OptimizerError):
    """A solve was stopped on request (a newer change replaced it); it has no result."""

    def __init__(self):
        super().__init__("the solve was stopped: a newer change replaced it")
