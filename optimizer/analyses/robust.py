"""Robustness: costs drawn within their low-high ranges and effectiveness perturbed, the
scenario planned again for each draw, and how often each measure is chosen. Solves run in
parallel on a Dask cluster (a local one by default); every draw has its own seed derived
from the run's seed, so the result does not depend on the number of workers."""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from optimizer.core.highs_runner import LpBasis, main_script_hidden
from optimizer.core.run import optimize, scenario_basis
from optimizer.core.status import SolveOptions
from optimizer.data.inputs import Inputs

#: Shares of draws at or above which a measure is a robust buy, and below which (but above
#: zero) it is rarely chosen.
ROBUST, RARE = 0.8, 0.2
ROBUST_GAP = 0.005
#: Settings of each draw unless the caller gives others: a 0.5% gap and a minute per solve.
ROBUST_OPTIONS = SolveOptions(gap=ROBUST_GAP, time_limit=60.0)


@dataclass
class Robustness:
    """How often each measure was chosen over the draws.

    Attributes
    ----------
    frequency : DataFrame
        Per measure: ``share`` of draws choosing it somewhere, mean number of places, and a
        verdict: ``robust buy``, ``borderline``, ``rarely`` or ``never``.
    items : DataFrame
        Per item (measure at a place): share of draws choosing it.
    samples : int
    values : list of float
        Risk reduction of the plan of each draw, in draw order (NaN: no plan).
    gaps : list of float
        Proven relative gap of each draw's plan, in draw order (NaN: no plan or no bound).
    """

    frequency: pd.DataFrame
    items: pd.DataFrame
    samples: int
    values: list[float]
    gaps: list[float]

    @property
    def worst_gap(self) -> float:
        """The largest proven gap over the draws with a plan (NaN when none has one)."""
        known = [g for g in self.gaps if g == g]
        return max(known) if known else float("nan")


def perturbed(inputs: Inputs, seed: np.random.SeedSequence, effect_spread: float) -> Inputs:
    """The inputs with each measure's capital cost drawn from a triangular distribution over
    its low-typical-high range and its effectiveness scaled by a uniform factor within
    +/- ``effect_spread`` (kept within 0-1)."""
    rng = np.random.default_rng(seed)
    measures = {}
    for mid, m in inputs.catalog.measures.items():
        lo, mode, hi = m.capital_low, m.capital_typical, m.capital_high
        cost = float(rng.triangular(lo, mode, hi)) if hi > lo else mode
        factor = float(rng.uniform(1 - effect_spread, 1 + effect_spread)) if effect_spread > 0 else 1.0
        measures[mid] = m.model_copy(update={"capital_typical": cost,
                                             "effectiveness": min(1.0, max(0.0, m.effectiveness * factor))})
    return Inputs(inputs.scenario, replace(inputs.catalog, measures=measures), inputs.path)


def _solve_draw(inputs: Inputs, seed: np.random.SeedSequence, effect_spread: float, options: SolveOptions,
                basis: LpBasis | None = None) -> tuple[float, list[tuple[str, str]], float]:
    """One draw, planned on one thread, its relaxation started from the scenario's ``basis``
    (the same for every draw, so a draw's plan does not depend on the worker it ran on)."""
    result = optimize(perturbed(inputs, seed, effect_spread), options.but(threads=1), warm=basis)
    if result.plan is None:
        return float("nan"), [], float("nan")
    gap = float("nan") if result.report.gap is None else result.report.gap
    return result.value, list(zip(result.plan.items["measure_id"], result.plan.items["site_id"])), gap


def robust(inputs: Inputs, samples: int = 50, seed: int = 0, effect_spread: float = 0.2,
           options: SolveOptions = ROBUST_OPTIONS, scheduler: str | None = None,
           workers: int | None = None, progress=None) -> Robustness:
    """Plan the scenario under ``samples`` random draws of costs and effectiveness.

    Parameters
    ----------
    inputs : Inputs
        A checked scenario and catalog.
    samples : int
        Number of draws.
    seed : int
        Seed of the run; draw ``i`` uses the ``i``-th child of ``SeedSequence(seed)``.
    effect_spread : float
        Effectiveness is scaled by a factor drawn in ``[1 - spread, 1 + spread]``.
    options : SolveOptions
        Solver settings of each draw (each solve uses one thread); by default
        ``ROBUST_OPTIONS``.
    scheduler : str, optional
        Address of an existing Dask scheduler; a local cluster is started when omitted.
    workers : int, optional
        Workers of the local cluster (default: the machine's cores).
    progress : callable, optional
        Called as ``progress(done, total)`` after each draw.
    """
    import dask
    from dask.distributed import Client, LocalCluster, as_completed

    seeds = np.random.SeedSequence(seed).spawn(samples)
    basis = scenario_basis(inputs, options)
    cluster = None
    if scheduler is None:
        # the workers must not run the caller's script (a Streamlit app), nor sample their own
        # stacks every 10 ms for Dask's profiler: the draws build their models in Python. They
        # log only what is critical: a draw's failure reaches the caller through its result,
        # and a worker's heartbeat to a scheduler already closing at the end (a known race,
        # dask/distributed#7105) is not an error anyone can act on.
        with main_script_hidden(), dask.config.set({"distributed.worker.profile.enabled": False}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=":0", silence_logs=logging.CRITICAL)
    results: list = [None] * samples
    try:
        with Client(scheduler or cluster) as client:
            shared, start = client.scatter([inputs, basis], broadcast=True)
            futures = {client.submit(_solve_draw, shared, s, effect_spread, options, start, pure=False): i
                       for i, s in enumerate(seeds)}
            for done, future in enumerate(as_completed(futures), 1):
                results[futures[future]] = future.result()
                if progress is not None:
                    progress(done, samples)
    finally:  # a draw that fails leaves no cluster behind
        if cluster is not None:
            cluster.close()
    return _tally(inputs, results)


def _tally(inputs: Inputs, results: list[tuple[float, list[tuple[str, str]], float]]) -> Robustness:
    samples = len(results)
    counts: dict[tuple[str, str], int] = {}
    for _, items, _ in results:
        for key in items:
            counts[key] = counts.get(key, 0) + 1
    items = pd.DataFrame([(m, s, n / samples) for (m, s), n in sorted(counts.items())],
                         columns=["measure_id", "site_id", "share"])
    chosen = [{m for m, _ in its} for _, its, _ in results]  # measures of each draw's plan
    per_measure = {m: sum(m in draw for draw in chosen) / samples for m in inputs.catalog.measures}
    places = items.groupby("measure_id")["share"].sum() if len(items) else pd.Series(dtype=float)
    rows = [{"measure_id": m, "name": inputs.catalog.measures[m].name, "share": share,
             "mean_places": float(places.get(m, 0.0)), "verdict": _verdict(share)}
            for m, share in per_measure.items()]
    frequency = pd.DataFrame(rows).sort_values(["share", "measure_id"], ascending=[False, True],
                                               ignore_index=True)
    return Robustness(frequency, items, samples, [v for v, _, _ in results], [g for _, _, g in results])


def _verdict(share: float) -> str:
    if share >= ROBUST:
        return "robust buy"
    if share >= RARE:
        return "borderline"
    return "rarely" if share > 0 else "never"
