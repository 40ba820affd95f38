"""Prices for a district too large to relax whole: the LP relaxations of a few sample
districts.

A price on a shared row (a year's budget, a grant's cap, a match) is what one more dollar of
it is worth. A district of a thousand schools spends its dollars much as every fortieth of
its schools would with a fortieth of its money, so the relaxation of such a sample district
(its local budgets and grant awards scaled by the sample's share of the enrollment) prices
the rows the two share by name. One sample's prices are noisy; the mean over several,
each starting at another school, is close to the whole relaxation's on the districts where
both can be solved (on the L benchmark, the per-school bound at the mean of four samples of
20 schools is within 0.03% of the bound at the relaxation's own prices; at one sample's,
0.3%). Any prices give a valid bound
(:func:`~optimizer.core.decompose.school_bound`), so sampling changes only how tight it is.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from optimizer.core.highs_runner import clock_stopped, run_highs
from optimizer.core.model import Model, build_model
from optimizer.core.problem import expand
from optimizer.data.inputs import Inputs
from optimizer.data.scenario import Scenario

#: Districts with more places than this are planned from sample prices: the whole LP relaxation
#: takes too long (benchmarks/README.md).
LARGE_SITES = 300
#: Schools in each sample district, and how many sample districts are averaged.
SAMPLE_SITES = 40
SAMPLES = 4


@dataclass
class SamplePrices:
    """Prices for every row of the model (HiGHS's minimisation sense, like its row duals;
    zero where no sample has a row of that name), and how they were found."""

    row_dual: np.ndarray
    samples: int
    sites: int
    seconds: float


def sample_district(scenario: Scenario, sites: int, offset: int = 0) -> Scenario:
    """Every (n / ``sites``)-th school from the ``offset``-th, with the local budgets and
    grant awards scaled by the sample's share of the enrollment. Picks and cost overrides
    at schools left out are dropped; an award limited to schools none of which is kept is
    left out."""
    data = scenario.model_dump()
    every = data["sites"]
    kept = [every[(round(i * len(every) / sites) + offset) % len(every)] for i in range(min(sites, len(every)))]
    ids = {site["id"] for site in kept}
    share = sum(site["enrollment"] for site in kept) / max(1, sum(site["enrollment"] for site in every))
    data["sites"] = kept
    budget = data["budget"]
    for key in ("capital", "operating"):
        amount = budget[key]
        budget[key] = {year: a * share for year, a in amount.items()} if isinstance(amount, dict) else amount * share
    if budget.get("total") is not None:
        budget["total"] *= share
    sources = {}
    for key, source in data["funding_sources"].items():
        if source.get("sites") is not None:
            source["sites"] = [s for s in source["sites"] if s in ids]
            if not source["sites"]:
                continue
        source["amount"] *= share
        sources[key] = source
    data["funding_sources"] = sources
    for key in ("must", "must_not", "cost_overrides"):
        data[key] = [pick for pick in data[key] if pick.get("site") is None or pick["site"] in ids]
    return type(scenario).model_validate(data)


def sampled_prices(inputs: Inputs, model: Model, samples: int = SAMPLES, sites: int = SAMPLE_SITES,
                   time_limit: float | None = None, threads: int | None = None) -> SamplePrices | None:
    """The mean of the row duals of ``samples`` sample districts' LP relaxations, by row
    name of ``model``; None when no sample's relaxation is solved in time."""
    began = time.perf_counter()
    names = {row.name: i for i, row in enumerate(model.prob.constraints())}
    total, solved = np.zeros(len(names)), 0
    for offset in range(samples):
        left = None if time_limit is None else time_limit - (time.perf_counter() - began)
        if left is not None and left <= 0:
            clock_stopped()  # the samples left are not solved for want of time
            break
        scenario = sample_district(inputs.scenario, sites, offset)
        sample = build_model(expand(Inputs(scenario, inputs.catalog, inputs.path)), objective=model.objective_kind)
        # the plain relaxation: its prices are the ones XL's target was measured with
        lp = run_highs(sample.prob, left, 0.0, threads, relax=True, implied=False)
        if lp.row_dual is None:  # set only for a relaxation solved to optimality
            continue
        for name, dual in zip((row.name for row in sample.prob.constraints()), lp.row_dual):
            row = names.get(name)
            if row is not None:
                total[row] += dual
        solved += 1
    if not solved:
        return None
    return SamplePrices(total / solved, solved, min(sites, len(inputs.scenario.sites)), time.perf_counter() - began)
