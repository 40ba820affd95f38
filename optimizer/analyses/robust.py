"""Robustness: costs drawn within their low-high ranges and effectiveness perturbed, the
scenario planned again for each draw, and how often each measure is chosen. Solves run in
parallel on a Dask cluster (a local one by default); every draw has its own seed derived
from the run's seed and is planned with work limits, not wall-clock ones (as every plan is,
see ``optimizer.core.guided.SUB_MIP_NODES``), so the result does not depend on the number of
workers, the order they finish in, or the machine's load. A draw whose worker is lost is
run again on another worker, and the result says so."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np
import pandas as pd

from optimizer import gc_policy
from optimizer.core.diagnose import why_no_plan
from optimizer.core import workers as processes
from optimizer.core.highs_runner import clock_stops
from optimizer.core.result import InvalidPlan
from optimizer.core.run import optimize, scenario_basis
from optimizer.core.status import LpBasis, SolveOptions
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
    rerun : int
        Draws run again because the worker that held them (running it, or sent it to run next)
        was lost, its process ended, before they finished: Dask runs them on another worker, or
        on the one started in its place. Their results are the same as they would have been.
    stopped : list of int
        Draws (0-based, in draw order) whose solve a time limit cut short: their plans are
        the best found in time, and another run may find others.
    notes : list of str
        What the caller should say besides the table, in plain words, one sentence each: first
        the lost worker and the draws run again (when ``rerun``), then the draws cut short by
        the time limit, then the draws without a plan and why; empty when there is nothing to say.
    why : list of str
        Per draw, why it has no plan (the first rule its prices make impossible to keep); empty
        for a draw with a plan.
    """

    frequency: pd.DataFrame
    items: pd.DataFrame
    samples: int
    values: list[float]
    gaps: list[float]
    rerun: int = 0
    stopped: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    why: list[str] = field(default_factory=list)  # per draw: why it has no plan ("" when it has one)

    @property
    def worst_gap(self) -> float:
        """The largest proven gap over the draws with a plan (NaN when none has one)."""
        known = [g for g in self.gaps if g == g]
        return max(known) if known else float("nan")


def perturbed(inputs: Inputs, seed: np.random.SeedSequence, effect_spread: float) -> Inputs:
    """The inputs with each measure's capital cost and annual cost each drawn from a triangular
    distribution over its low-typical-high range and its effectiveness scaled by a uniform
    factor within +/- ``effect_spread`` (kept within 0-1)."""
    rng = np.random.default_rng(seed)

    def drawn(low: float, mode: float, high: float) -> float:
        return float(rng.triangular(low, mode, high)) if high > low else mode

    measures = {}
    for mid, m in inputs.catalog.measures.items():
        capital = drawn(m.capital_low, m.capital_typical, m.capital_high)
        annual = drawn(m.annual_low, m.annual_cost, m.annual_high)
        factor = float(rng.uniform(1 - effect_spread, 1 + effect_spread)) if effect_spread > 0 else 1.0
        measures[mid] = m.model_copy(update={"capital_typical": capital, "annual_cost": annual,
                                             "effectiveness": min(1.0, max(0.0, m.effectiveness * factor))})
    return Inputs(inputs.scenario, replace(inputs.catalog, measures=measures), inputs.path)


class Draw(NamedTuple):
    """One draw's plan: its risk reduction (NaN: no plan), its items as (measure, place), its
    proven gap (NaN: no plan or no bound), and whether a time limit cut its solve short."""

    value: float
    items: list[tuple[str, str]]
    gap: float
    stopped: bool = False
    why: str = ""  # why a draw has no plan


def _solve_draw(inputs: Inputs, seed: np.random.SeedSequence, effect_spread: float, options: SolveOptions,
                basis: LpBasis | None = None) -> Draw:
    """One draw, planned on one thread with work limits instead of wall-clock ones (as every
    plan is, see ``optimizer.core.guided.SUB_MIP_NODES``), its relaxation started from the scenario's
    ``basis`` (the same for every draw), so a draw's plan does not depend on the worker it ran
    on, nor on how busy the machine was. The time limit stays a safety net: a draw it cuts
    short says so (``Draw.stopped``)."""
    before = clock_stops()
    try:
        result = optimize(perturbed(inputs, seed, effect_spread), options.but(threads=1), warm=basis)
    except InvalidPlan as exc:  # one draw's fault does not take the other draws with it
        return Draw(float("nan"), [], float("nan"), clock_stops() > before,
                    f"its plan failed the independent check, a fault of the tool to report: {exc.violations[0]}")
    stopped = clock_stops() > before  # one draw at a time in a worker's process
    if result.plan is None:
        return Draw(float("nan"), [], float("nan"), stopped, f"at its prices {why_no_plan(result)}")
    gap = float("nan") if result.report.gap is None else result.report.gap
    return Draw(result.value, list(zip(result.plan.items["measure_id"], result.plan.items["site_id"])), gap, stopped)


def _given(value):
    """The value itself: the scenario and basis every draw shares become a task's result,
    which Dask computes again (from the value kept in the task) if the worker holding it is
    lost, where scattered data would be gone."""
    return value


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

    A worker lost during the run (its process killed, or out of memory) is survived: Dask
    runs the draws it held again on another worker, and the result counts them
    (``Robustness.rerun``) and says so (``Robustness.notes``).
    """
    import dask
    from dask.distributed import Client, LocalCluster, as_completed

    seeds = np.random.SeedSequence(seed).spawn(samples)
    before = clock_stops()
    basis = scenario_basis(inputs, options)
    basis_stopped = clock_stops() > before
    cluster = None
    if scheduler is None:
        # the workers must not run the caller's script (a Streamlit app), nor sample their own
        # stacks every 10 ms for Dask's profiler: the draws build their models in Python. They
        # log only what is critical: a draw's failure reaches the caller through its result,
        # and a worker's heartbeat to a scheduler already closing at the end (a known race,
        # dask/distributed#7105) is not an error anyone can act on.
        with processes.starting(), dask.config.set({"distributed.worker.profile.enabled": False}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=":0", silence_logs=logging.CRITICAL)
    results: list = [None] * samples
    try:
        with Client(scheduler or cluster) as client:
            if cluster is not None:  # only workers this run started: another cluster's are not ours to set
                client.run(gc_policy.apply)
            shared = client.submit(_given, inputs, pure=False)
            start = client.submit(_given, basis, pure=False)
            futures = [client.submit(_solve_draw, shared, s, effect_spread, options, start, pure=False)
                       for s in seeds]
            draw_of = {future.key: i for i, future in enumerate(futures)}
            pending = as_completed(futures)
            del futures  # a draw's result, once read, is dropped from its worker (see below)
            for done, future in enumerate(pending, 1):
                results[draw_of[future.key]] = future.result()
                future.release()  # else a worker lost later takes it along, and it is run again
                if progress is not None:
                    progress(done, samples)
            lost, rerun = _lost_workers(client.get_events("all"), set(draw_of))
    finally:  # a draw that fails leaves no cluster behind
        if cluster is not None:
            cluster.close()
    found = _tally(inputs, results)
    found.rerun = rerun
    found.notes = _notes(found, lost, rerun, options, basis_stopped)
    return found


def _lost_workers(events, draws: set) -> tuple[int, int]:
    """Workers removed from the cluster while they held some of ``draws`` (task keys), and
    how many of those draws were run again: the scheduler's ``remove-worker`` events name
    the tasks the worker was processing (running, or sent to it to run next) and the results
    it alone held (a draw not yet read); both are computed again elsewhere."""
    workers, again = 0, set()
    for _, msg in events:
        if not isinstance(msg, dict) or msg.get("action") != "remove-worker":
            continue
        held = (set(msg.get("processing-tasks") or ()) | set(msg.get("lost-computed-tasks") or ())) & draws
        if held:
            workers += 1
            again |= held
    return workers, len(again)


def _notes(found: Robustness, lost: int, rerun: int, options: SolveOptions, basis_stopped: bool) -> list[str]:
    """The sentences of ``Robustness.notes``."""
    notes = []
    if rerun:
        notes.append(f"{_count(lost, 'worker')} {'was' if lost == 1 else 'were'} lost during the run (the "
                     f"process ended: killed, or out of memory); the {_count(rerun, 'draw')} "
                     f"{'it' if lost == 1 else 'they'} held {'was' if rerun == 1 else 'were'} run again, so every "
                     f"draw has its result, the same as without the loss.")
    limit = "the time limit" if options.time_limit is None else f"the {options.time_limit:g}-second time limit"
    if found.stopped:
        which = ", ".join(str(i + 1) for i in found.stopped)
        notes.append(f"{_count(len(found.stopped), 'draw')} of {found.samples} (number {which}) "
                     f"{'was' if len(found.stopped) == 1 else 'were'} cut short by {limit}: "
                     f"{'its plan is' if len(found.stopped) == 1 else 'their plans are'} the best found in time, "
                     f"and another run with the same seed may differ; a longer time limit avoids this.")
    empty = [i for i, value in enumerate(found.values) if value != value]
    if empty:
        which = ", ".join(str(i + 1) for i in empty)
        notes.append(f"{_count(len(empty), 'draw')} of {found.samples} (number {which}) "
                     f"{'has' if len(empty) == 1 else 'have'} no plan; the first, "
                     f"{found.why[empty[0]]}. The frequencies count such a draw as buying nothing.")
    if basis_stopped:
        notes.append(f"The scenario's LP relaxation, which every draw starts from, was cut short by {limit}: "
                     f"the draws started without it, and another run with the same seed may differ.")
    return notes


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _tally(inputs: Inputs, results: list[Draw]) -> Robustness:
    samples = len(results)
    counts: dict[tuple[str, str], int] = {}
    for draw in results:
        for key in draw.items:
            counts[key] = counts.get(key, 0) + 1
    items = pd.DataFrame([(m, s, n / samples) for (m, s), n in sorted(counts.items())],
                         columns=["measure_id", "site_id", "share"])
    chosen = [{m for m, _ in draw.items} for draw in results]  # measures of each draw's plan
    per_measure = {m: sum(m in draw for draw in chosen) / samples for m in inputs.catalog.measures}
    places = items.groupby("measure_id")["share"].sum() if len(items) else pd.Series(dtype=float)
    rows = [{"measure_id": m, "name": inputs.catalog.measures[m].name, "share": share,
             "mean_places": float(places.get(m, 0.0)), "verdict": _verdict(share)}
            for m, share in per_measure.items()]
    frequency = pd.DataFrame(rows).sort_values(["share", "measure_id"], ascending=[False, True],
                                               ignore_index=True)
    return Robustness(frequency, items, samples, [draw.value for draw in results], [draw.gap for draw in results],
                      stopped=[i for i, draw in enumerate(results) if draw.stopped],
                      why=[draw.why for draw in results])


def _verdict(share: float) -> str:
    if share >= ROBUST:
        return "robust buy"
    if share >= RARE:
        return "borderline"
    return "rarely" if share > 0 else "never"
