"""A bound on the best plan from one school at a time (a Lagrangian bound), and a plan put
together from the schools' own choices (a restricted master problem).

The model separates by school except for the rows every school shares: the yearly budgets,
grant caps and local match, the project count, district-wide rules. Put a price on each
shared row and the rest falls apart into one small problem per school: choose that school's
measures and years, whole, for the risk reduction they buy less the priced use of the shared
rows. The sum of the schools' best values plus the priced right-hand sides is an upper bound
on every plan, whatever the prices (weak duality); with the prices of the LP
relaxation's duals it is never above the relaxation's bound, and is below it by whatever the
relaxation gained from buying fractions of a measure inside a school.

Each school's best choice at some prices is a whole plan for that school. The restricted
master problem picks, for every school, one of the plans it has been offered (its choices at
each set of prices tried, and the school's part of a known plan), with the district's money
(grants, match, carry-over, project counts) decided freely, under every shared row: a small
MIP whose plans keep every rule of the model, since each school's rows hold inside each of
its plans (a Dantzig-Wolfe master restricted to those plans).

The blocks are found from the model itself: each in-place decision belongs to its school,
and another variable joins a school when every row it shares with decided variables belongs
to that school alone; what is left (grant money, match, carry-over, projects) forms one more
block. Any split gives a valid bound; a split that follows the schools gives a tight one.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from optimizer.core import propagate
from optimizer.core.highs_runner import OPTIMAL, TIME_LIMIT, clock_stopped, model_arrays, solve_arrays
from optimizer.core.model import Model

#: Relative gap each school's small MIP is solved to; its proven dual bound is what counts.
BLOCK_GAP = 1e-4


@dataclass
class Split:
    """The model's matrix (as HiGHS takes it, see ``highs_runner.model_arrays``) split into
    blocks: ``label`` is the block of each column, ``rows`` the block of each row (-1: a
    shared row; -2: a row with no entries). The last block is the district's money."""

    arrays: dict
    label: np.ndarray
    rows: np.ndarray
    count: int
    _members: list = field(default_factory=list, repr=False)

    @property
    def money(self) -> int:
        """The block of district-level money and what else joins no school."""
        return self.count - 1

    @property
    def shared(self) -> np.ndarray:
        """The shared rows."""
        return np.flatnonzero(self.rows == -1)

    def members(self, block: int) -> tuple[np.ndarray, np.ndarray]:
        """The columns and the (unshared) rows of one block."""
        if not self._members:
            by_col, by_row = np.argsort(self.label, kind="stable"), np.argsort(self.rows, kind="stable")
            cb = np.searchsorted(self.label[by_col], np.arange(self.count + 1))
            rb = np.searchsorted(self.rows[by_row], np.arange(self.count + 1))
            self._members = [(by_col[cb[b]:cb[b + 1]], by_row[rb[b]:rb[b + 1]]) for b in range(self.count)]
        return self._members[block]


def split(model: Model, bounds: tuple[np.ndarray, np.ndarray] | None = None) -> Split:
    """The model's blocks, one per school (see the module's docstring), with the integer
    bounds the rows imply (``propagate.tighten``; ``bounds``: the column bounds the model's
    relaxation was solved with, which are those): every plan keeps them, so the bound at any
    prices is still a bound, and at the relaxation's prices never above the relaxation's."""
    _variables, position, arrays = model_arrays(model.prob)
    if bounds is None:
        propagate.tighten(arrays)
    else:
        arrays["lower"], arrays["upper"] = bounds
    return Split(arrays, *blocks(model, arrays, position))


@dataclass
class SchoolBound:
    """The Lagrangian bound and how it was found.

    Attributes
    ----------
    bound : float, optional
        In the model's sense (an upper bound for a maximisation); None when a school's
        problem could not be bounded within the time limit.
    schools : int
        Blocks solved one at a time (the schools, and one block of district-level money).
    shared_rows : int
        Rows priced instead of kept (they join more than one block).
    seconds : float
    point : ndarray, optional
        Each block's best choice at those prices, by column in the model's variable order
        (together they may break a shared row: a direction for the search, not a plan).
    """

    bound: float | None
    schools: int
    shared_rows: int
    seconds: float
    point: np.ndarray | None = None


def blocks(model: Model, arrays: dict, position: dict[int, int]) -> tuple[np.ndarray, np.ndarray, int]:
    """Block of each column and of each row (-1: a shared row; -2: a row with no entries),
    and the number of blocks. Columns are split by school (see the module's docstring)."""
    starts, index = arrays["start"], arrays["index"]
    n, m = len(arrays["cost"]), len(starts) - 1
    label = np.full(n, -1)
    sites: dict[str, int] = {}
    for site, ys in zip(model.problem.candidates["site_id"], model.y):
        block = sites.setdefault(site, len(sites))
        label[[position[id(v)] for v in ys]] = block
    row_of = np.repeat(np.arange(m), np.diff(starts))
    while True:  # a column joins the one school of every labelled row it is in
        low, high = _row_range(label[index], row_of, m)
        free = (label[index] < 0) & (high[row_of] >= 0)
        col_low, col_high = np.full(n, np.iinfo(np.int64).max), np.full(n, -1)
        np.minimum.at(col_low, index[free], low[row_of[free]])
        np.maximum.at(col_high, index[free], high[row_of[free]])
        joins = (label < 0) & (col_high >= 0) & (col_low == col_high)
        if not joins.any():
            break
        label[joins] = col_low[joins]
    count = len(sites) + 1
    label[label < 0] = count - 1  # district-level money and the rest
    low, high = _row_range(label[index], row_of, m)
    rows = np.where(low == high, low, -1)
    rows[np.diff(starts) == 0] = -2
    return label, rows, count


def _row_range(labels: np.ndarray, row_of: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest non-negative label in each row (max int and -1 when none)."""
    known = labels >= 0
    low, high = np.full(m, np.iinfo(np.int64).max), np.full(m, -1)
    np.minimum.at(low, row_of[known], labels[known])
    np.maximum.at(high, row_of[known], labels[known])
    return low, high


def _priced(parts: Split, row_dual: np.ndarray) -> tuple[np.ndarray, float]:
    """Column costs less the priced use of the shared rows, and the priced right-hand sides
    (a price on a side the row does not have counts as zero)."""
    arrays = parts.arrays
    shared = parts.shared
    price = np.asarray(row_dual, dtype=float)[shared]
    side = np.where(price > 0, arrays["row_lower"][shared], arrays["row_upper"][shared])
    price = np.where(np.isfinite(side) & (price != 0), price, 0.0)
    cost = arrays["cost"].copy()
    lengths, entries = _entries(arrays["start"], shared)
    np.add.at(cost, arrays["index"][entries], -np.repeat(price, lengths) * arrays["value"][entries])
    return cost, float(np.dot(price, np.where(price != 0, side, 0.0)))


def school_bound(model: Model, row_dual: np.ndarray, time_limit: float | None = None,
                 threads: int | None = None, parts: Split | None = None, lanes: Lanes | None = None) -> SchoolBound:
    """The Lagrangian bound of ``model`` at the prices ``row_dual`` (HiGHS's row duals, in
    its minimisation sense: positive on a row at its lower side, negative at its upper
    side), one per row of the model (only the shared rows' count). Valid for any prices.
    ``lanes``: how many blocks may be solved at once (see :func:`found_beside`); no bound
    when a block is dropped."""
    began = time.perf_counter()
    parts = parts or split(model)
    cost, total = _priced(parts, row_dual)
    found = _each_block(range(parts.count), lambda block, left: _block_value(parts, block, cost, left),
                        time_limit, threads, lanes)
    if any(part is None for part in found):
        return SchoolBound(None, parts.count, len(parts.shared), time.perf_counter() - began)
    point = np.zeros(len(parts.label))
    for block, (value, values) in enumerate(found):
        total += value
        point[parts.members(block)[0]] = values
    return SchoolBound(parts.arrays["sign"] * total, parts.count, len(parts.shared), time.perf_counter() - began, point)


def completed(parts: Split, known: np.ndarray, row_dual: np.ndarray, time_limit: float | None = None,
              threads: int | None = None) -> np.ndarray:
    """A known plan's decisions (``known``: a value for each integer column it decides, NaN
    elsewhere) with every other variable of each school chosen best at the prices: the plan
    each school would be offered in the master problem. A school whose part of the plan
    breaks one of its own rows (or is not solved in time) gets NaN: it is offered nothing."""
    cost, _total = _priced(parts, row_dual)
    integer = parts.arrays["integer"]

    def one(block: int, left: float | None):
        cols = parts.members(block)[0]
        lower, upper = parts.arrays["lower"][cols].copy(), parts.arrays["upper"][cols].copy()
        fixed = integer[cols] & ~np.isnan(known[cols])
        lower[fixed] = upper[fixed] = known[cols][fixed]
        return _block_value(parts, block, cost, left, (lower, upper))

    point = np.full(len(parts.label), np.nan)
    for block, part in enumerate(_each_block(range(parts.money), one, time_limit, threads)):
        if part is not None:
            point[parts.members(block)[0]] = part[1]
    return point


#: Most blocks solved at once, each by its own HiGHS on a thread of this process (HiGHS
#: releases Python's lock while it solves): twice as fast on two cores, the same bounds.
BLOCK_WORKERS = 4


class Lanes:
    """How many blocks may be solved at once, and whether blocks not yet started are still
    wanted (a bound found beside another solve: see :func:`found_beside`)."""

    def __init__(self, width: int):
        self._free = threading.Semaphore(width)
        self._wanted = True

    def widen(self, by: int) -> None:
        """Let ``by`` more blocks be solved at once."""
        self._free.release(by)

    def drop(self) -> None:
        """Start no more blocks (each comes back as None)."""
        self._wanted = False

    @contextmanager
    def lane(self) -> Iterator[bool]:
        """Hold a lane while one block is solved; True while blocks are still wanted."""
        with self._free:
            yield self._wanted


def block_workers(threads: int | None) -> int:
    """Blocks solved at once: one per core, at most ``BLOCK_WORKERS``; one when the caller
    asked for a single thread (a robustness draw, whose process shares the cores with the
    other draws')."""
    return 1 if threads == 1 else min(BLOCK_WORKERS, os.cpu_count() or 1)


def _each_block(blocks: range, solve, time_limit: float | None, threads: int | None,
                lanes: Lanes | None = None) -> list:
    """``solve(block, seconds left)`` for every block (None for a block not started in
    time, or dropped), on up to ``block_workers(threads)`` threads at once and as many as
    ``lanes`` lets through."""
    began = time.perf_counter()
    workers = block_workers(threads)
    lanes = lanes or Lanes(workers)

    def one(block: int):
        with lanes.lane() as wanted:
            left = None if time_limit is None else time_limit - (time.perf_counter() - began)
            if not wanted:
                return None
            if left is not None and left <= 0:
                clock_stopped()  # not started for want of time (see highs_runner.clock_stops)
                return None
            return solve(block, left)

    if workers == 1 or len(blocks) < 2:
        return [one(block) for block in blocks]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, blocks))


Found = TypeVar("Found")


@contextmanager
def found_beside(find: Callable[[Lanes], Found], threads: int | None) -> Iterator[Callable[[], Found]]:
    """Start ``find(lanes)`` (a bound found block by block, :func:`school_bound`) on a
    thread beside a search the caller makes on one thread meanwhile: its blocks are solved
    one at a time, on the core the search leaves free. The callable yielded waits for what
    it finds, letting its blocks through on every core first. On leaving, blocks not yet
    started are dropped and those running are finished, so no solve outlives the block;
    what it finds does not depend on when it was asked for (only a time limit can cut it).
    With a single thread asked for (or one core), ``find`` runs when its result is asked
    for, after the search.

    The caller's search and ``find`` must solve on one thread each and must not share model
    state: ``find`` works on arrays taken before it starts."""
    workers = block_workers(threads)
    if workers == 1:
        yield lambda: find(Lanes(1))
        return
    lanes = Lanes(1)
    with ThreadPoolExecutor(1) as side:
        future = side.submit(find, lanes)

        def found() -> Found:
            lanes.widen(workers - 1)
            return future.result()

        try:
            yield found
        finally:
            lanes.drop()
            lanes.widen(workers)  # nothing left waiting for a lane


def _block_value(parts: Split, block: int, cost: np.ndarray, time_limit: float | None,
                 bounds: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[float, np.ndarray] | None:
    """A proven lower bound on one block's least priced cost (HiGHS's sense) and the
    block's best point, or None; ``bounds`` replace its columns' own. Solved on one thread
    (see :func:`_each_block`)."""
    arrays = parts.arrays
    cols, rows = parts.members(block)
    if not len(cols):  # no district-level variables, say
        return 0.0, np.zeros(0)
    local = np.full(len(parts.label), -1, dtype=np.int64)
    local[cols] = np.arange(len(cols))
    lengths, entries = _entries(arrays["start"], rows)
    integer = arrays["integer"][cols]
    lower, upper = bounds or (arrays["lower"][cols], arrays["upper"][cols])
    sub = {"cost": cost[cols], "lower": lower, "upper": upper,
           "row_lower": arrays["row_lower"][rows], "row_upper": arrays["row_upper"][rows],
           "start": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32),
           "index": local[arrays["index"][entries]].astype(np.int32), "value": arrays["value"][entries],
           "integer": integer if integer.any() else None}
    run = solve_arrays(sub, _options(BLOCK_GAP, time_limit, 1))
    status, objective, dual_bound, values = run.status, run.objective, run.dual_bound, run.values
    if sub["integer"] is None:  # a linear program: its optimal objective
        return (float(objective), values) if status == OPTIMAL else None
    if status not in (OPTIMAL, TIME_LIMIT) or not np.isfinite(dual_bound) or abs(dual_bound) >= 1e30:
        return None
    if status == OPTIMAL and dual_bound > objective + 1e-9 * max(1.0, abs(objective)):
        return None  # a dual bound above the optimum is not a bound
    return float(dual_bound), (values if len(values) == len(cols) else np.zeros(len(cols)))


def master(parts: Split, offers: list[np.ndarray], gap: float, time_limit: float | None = None,
           threads: int | None = None) -> np.ndarray | None:
    """Pick one of ``offers`` (points over every column of the model; NaN at a school that
    is not offered that one) for each school and decide the district's money, under every
    shared row and the money's own rows, for the best objective (see the module's
    docstring). Returns a value for every column of the model, or None when no combination
    of the plans offered keeps the shared rows (or none is found in time)."""
    label, money = parts.label, parts.money
    school = label < money
    offered = np.ones((len(offers), money))  # offer j at school b is the master's column j * money + b
    for j, offer in enumerate(offers):
        offered[j, np.unique(label[np.isnan(offer) & school])] = 0.0
    offers = [np.nan_to_num(offer) for offer in offers]
    run = solve_arrays(_master_arrays(parts, offers, offered.ravel()), _options(gap, time_limit, threads))
    if not run.has_point:
        return None
    chosen = run.values
    values = np.zeros(len(label))
    pick = np.round(chosen[:offered.size]).reshape(offered.shape)
    for j, offer in enumerate(offers):
        values[school] += offer[school] * pick[j, label[school]]
    values[parts.members(money)[0]] = chosen[offered.size:]
    return values


def _master_arrays(parts: Split, offers: list[np.ndarray], offered: np.ndarray) -> dict:
    """The master problem as HiGHS takes it: a binary per offer and school (its entry on a
    shared row is the use its columns make of it; ``offered`` is its upper bound), the
    district's money columns as they are, the shared rows and the money's own rows, and one
    row per school that takes exactly one offer."""
    arrays, label, money = parts.arrays, parts.label, parts.money
    picks = len(offers) * money
    kept = np.flatnonzero((parts.rows == -1) | (parts.rows == money))
    lengths, entries = _entries(arrays["start"], kept)
    row = np.repeat(np.arange(len(kept)), lengths)
    col, value = arrays["index"][entries], arrays["value"][entries]
    own = label[col] == money
    money_cols = parts.members(money)[0]
    local = np.full(len(label), -1, dtype=np.int64)
    local[money_cols] = picks + np.arange(len(money_cols))
    rows, cols, values = [row[own]], [local[col[own]]], [value[own]]
    for j, offer in enumerate(offers):
        use = value[~own] * offer[col[~own]]
        rows.append(row[~own][use != 0])
        cols.append(j * money + label[col[~own]][use != 0])
        values.append(use[use != 0])
    n_cols = picks + len(money_cols)
    unique, inverse = np.unique(np.concatenate(rows) * n_cols + np.concatenate(cols), return_inverse=True)
    summed = np.zeros(len(unique))
    np.add.at(summed, inverse, np.concatenate(values))
    r = np.concatenate([unique // n_cols, len(kept) + np.tile(np.arange(money), len(offers))])
    c = np.concatenate([unique % n_cols, np.arange(picks)])
    v = np.concatenate([summed, np.ones(picks)])
    order = np.lexsort((c, r))
    school = label < money
    cost = np.zeros((len(offers), money))
    for j, offer in enumerate(offers):
        np.add.at(cost[j], label[school], arrays["cost"][school] * offer[school])
    return {"cost": np.concatenate([cost.ravel(), arrays["cost"][money_cols]]),
            "lower": np.concatenate([np.zeros(picks), arrays["lower"][money_cols]]),
            "upper": np.concatenate([offered, arrays["upper"][money_cols]]),
            "row_lower": np.concatenate([arrays["row_lower"][kept], np.ones(money)]),
            "row_upper": np.concatenate([arrays["row_upper"][kept], np.ones(money)]),
            "start": np.searchsorted(r[order], np.arange(len(kept) + money + 1)).astype(np.int32),
            "index": c[order].astype(np.int32), "value": v[order],
            "integer": np.concatenate([np.ones(picks, dtype=bool), arrays["integer"][money_cols]])}


def _options(gap: float, time_limit: float | None, threads: int | None) -> dict:
    options = {"mip_rel_gap": gap}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    if threads is not None:
        options["threads"] = int(threads)
    return options


def _entries(starts: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Number of entries of each of ``rows`` and the positions of all their entries, in order."""
    lengths = starts[rows + 1] - starts[rows]
    first = np.repeat(starts[rows] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return lengths, first + np.arange(int(lengths.sum()))
