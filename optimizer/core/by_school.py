"""Planning a district too large to relax whole, one school at a time.

At prices for the shared rows (from sample districts, :mod:`optimizer.core.sample`), each
school's best choice is solved whole; together they give a proven bound
(:func:`~optimizer.core.decompose.school_bound`). The plan is put together by the restricted
master problem (:func:`~optimizer.core.decompose.master`): for every school, its best
choice at those prices or its part of a known plan (the greedy plan), with the district's
money decided freely under every shared row. The plan is then paid grants first and checked
by the verifier like any other; its gap to the bound is proven.
"""
from __future__ import annotations

import time

import numpy as np

from optimizer.core.decompose import completed, master, school_bound, split
from optimizer.core.guided import Guided
from optimizer.core.model import Model
from optimizer.core.plan import Plan
from optimizer.core.sample import SamplePrices
from optimizer.core.solve import plan_of, solver_errors, start_values
from optimizer.core.status import SolveOptions

#: The master problem is solved this much closer than the gap asked (its plan's gap is
#: against the per-school bound, which is looser than the master's own).
MASTER_SHARE = 0.25


def plan_by_school(model: Model, prices: SamplePrices, known: Plan, options: SolveOptions) -> Guided:
    """A plan and a bound for ``model`` at ``prices``, from the schools' own choices and the
    schools' parts of the ``known`` plan (see the module's docstring). The Guided has no
    bound when a school's problem is not bounded in time, and no plan when the master finds
    no combination that keeps the shared rows."""
    began = time.perf_counter()
    variables = model.variables()

    def left() -> float | None:
        return None if options.time_limit is None else max(0.1, options.time_limit - (time.perf_counter() - began))

    with solver_errors("highs"):
        parts = split(model)
        found = school_bound(model, prices.row_dual, left(), options.threads, parts)
        integers = int(parts.arrays["integer"].sum())
        guided = Guided(found.bound, None, None, 0, integers, 0.0, prices.seconds, schools=found.schools,
                        prices=f"prices from the LP relaxations of {prices.samples} sample districts of "
                               f"{prices.sites} schools each")
        if found.bound is None:
            guided.seconds = time.perf_counter() - began
            return guided
        position = {id(v): i for i, v in enumerate(variables)}
        decided = np.full(len(variables), np.nan)
        for var, value in start_values(model, known.installs).items():
            decided[position[id(var)]] = value
        offers = [completed(parts, decided, prices.row_dual, left(), options.threads), found.point]
        chosen = master(parts, offers, MASTER_SHARE * options.gap, left(), options.threads)
    if chosen is not None:
        guided.objective, guided.plan = plan_of(model, chosen)
        guided.how = (f"put together one school at a time: each of {found.schools - 1} places takes its own best "
                      f"choice at those prices or its part of the greedy plan, and the district's money is decided "
                      f"under every shared budget and grant")
    guided.seconds = time.perf_counter() - began
    return guided
