"""A bound on the best plan from one school at a time (a Lagrangian bound).

The model separates by school except for the rows every school shares: the yearly budgets,
grant caps and local match, the project count, district-wide rules. Put a price on each
shared row and the rest falls apart into one small problem per school: choose that school's
measures and years, whole, for the risk reduction they buy less the priced use of the shared
rows. The sum of the schools' best values plus the priced right-hand sides is an upper bound
on every plan, whatever the prices (weak duality); with the prices of the LP
relaxation's duals it is never above the relaxation's bound, and is below it by whatever the
relaxation gained from buying fractions of a measure inside a school.

The blocks are found from the model itself: each in-place decision belongs to its school,
and another variable joins a school when every row it shares with decided variables belongs
to that school alone; what is left (grant money, match, carry-over, projects) forms one more
block. Any split gives a valid bound; a split that follows the schools gives a tight one.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from optimizer.core.highs_runner import OPTIMAL, TIME_LIMIT, model_arrays, solve_arrays
from optimizer.core.model import Model

#: Relative gap each school's small MIP is solved to; its proven dual bound is what counts.
BLOCK_GAP = 1e-4


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


def school_bound(model: Model, row_dual: np.ndarray, time_limit: float | None = None,
                 threads: int | None = None) -> SchoolBound:
    """The Lagrangian bound of ``model`` at the prices ``row_dual`` (HiGHS's row duals of
    the LP relaxation, in its minimisation sense: positive on a row at its lower side,
    negative at its upper side). Valid for any prices: a price on a side the row does not
    have counts as zero."""
    began = time.perf_counter()
    _variables, position, arrays = model_arrays(model.prob)
    label, row_block, count = blocks(model, arrays, position)
    starts, index, value = arrays["start"], arrays["index"], arrays["value"]
    shared = np.flatnonzero(row_block == -1)
    price = np.asarray(row_dual, dtype=float)[shared]
    side = np.where(price > 0, arrays["row_lower"][shared], arrays["row_upper"][shared])
    price = np.where(np.isfinite(side) & (price != 0), price, 0.0)
    cost = arrays["cost"].copy()
    lengths, entries = _entries(starts, shared)
    np.add.at(cost, index[entries], -np.repeat(price, lengths) * value[entries])
    total = float(np.dot(price, np.where(price != 0, side, 0.0)))
    by_block = np.argsort(label, kind="stable")
    col_bounds = np.searchsorted(label[by_block], np.arange(count + 1))
    rows_sorted = np.argsort(row_block, kind="stable")
    row_bounds = np.searchsorted(row_block[rows_sorted], np.arange(count + 1))
    local = np.empty(len(label), dtype=np.int64)
    point = np.zeros(len(label))
    for block in range(count):
        cols = by_block[col_bounds[block]:col_bounds[block + 1]]
        rows = rows_sorted[row_bounds[block]:row_bounds[block + 1]]
        if not len(cols):  # no district-level variables, say
            continue
        local[cols] = np.arange(len(cols))
        left = None if time_limit is None else time_limit - (time.perf_counter() - began)
        if left is not None and left <= 0:
            return SchoolBound(None, count, len(shared), time.perf_counter() - began)
        part = _block_value(arrays, cost, cols, rows, local, left, threads)
        if part is None:
            return SchoolBound(None, count, len(shared), time.perf_counter() - began)
        total += part[0]
        point[cols] = part[1]
    return SchoolBound(arrays["sign"] * total, count, len(shared), time.perf_counter() - began, point)


def _block_value(arrays: dict, cost: np.ndarray, cols: np.ndarray, rows: np.ndarray, local: np.ndarray,
                 time_limit: float | None, threads: int | None) -> tuple[float, np.ndarray] | None:
    """A proven lower bound on one block's least priced cost (HiGHS's sense) and the
    block's best point, or None."""
    starts, index, value = arrays["start"], arrays["index"], arrays["value"]
    lengths, entries = _entries(starts, rows)
    integer = arrays["integer"][cols]
    sub = {"cost": cost[cols], "lower": arrays["lower"][cols], "upper": arrays["upper"][cols],
           "row_lower": arrays["row_lower"][rows], "row_upper": arrays["row_upper"][rows],
           "start": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32),
           "index": local[index[entries]].astype(np.int32), "value": value[entries],
           "integer": integer if integer.any() else None}
    options = {"mip_rel_gap": BLOCK_GAP}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    if threads is not None:
        options["threads"] = int(threads)
    status, _primal, objective, dual_bound, _gap, values, _duals = solve_arrays(sub, options)
    if sub["integer"] is None:  # a linear program: its optimal objective
        return (float(objective), values) if status == OPTIMAL else None
    if status not in (OPTIMAL, TIME_LIMIT) or not np.isfinite(dual_bound) or abs(dual_bound) >= 1e30:
        return None
    if status == OPTIMAL and dual_bound > objective + 1e-9 * max(1.0, abs(objective)):
        return None  # a dual bound above the optimum is not a bound
    return float(dual_bound), (values if len(values) == len(cols) else np.zeros(len(cols)))


def _entries(starts: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Number of entries of each of ``rows`` and the positions of all their entries, in order."""
    lengths = starts[rows + 1] - starts[rows]
    first = np.repeat(starts[rows] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return lengths, first + np.arange(int(lengths.sum()))
