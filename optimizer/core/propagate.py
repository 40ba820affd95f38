"""Bounds of the integer decisions that the rows imply: what a MIP solver's domain propagation
finds before its first relaxation, done here so that the LP relaxation the planning steps read
(``guided.lp_guided``) is as tight as the solver's own. An item that cannot be afforded alone in a
year, once the money that every plan must spend is counted, is 0 in every plan; the plain
relaxation buys a fraction of it (on the suburban example, three-quarters of a district social
worker), and that fraction alone kept its bound 0.23% above the best plan."""
from __future__ import annotations

import numpy as np

#: How far a bound may sit above an integer and still round down to it (and below, up): the
#: solvers' feasibility tolerance, so that money computed to the cent never loses an item.
ROUNDING = 1e-6
#: Rounds of propagation at most: each round carries a change one row further.
ROUNDS = 20
#: Models with more columns keep the plain relaxation: re-solving a relaxation that size with the
#: decisions it can no longer buy a part of costs more than it saves (benchmarks/README.md).
IMPLIED_BOUNDS_COLUMNS = 100_000


def tighten(arrays: dict) -> None:
    """Set ``arrays``' column bounds to :func:`implied_integer_bounds` (in place); nothing to do
    when every integer decision is fixed (a plan's funding stage), the rows cannot all hold, or
    the model has more than ``IMPLIED_BOUNDS_COLUMNS`` columns."""
    free = arrays["integer"] & (arrays["lower"] < arrays["upper"])
    if len(arrays["cost"]) > IMPLIED_BOUNDS_COLUMNS or not free.any():
        return
    implied = implied_integer_bounds(arrays)
    if implied is not None:
        arrays["lower"], arrays["upper"] = implied


def implied_integer_bounds(arrays: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """(lower, upper) column bounds with each integer column's bounds tightened to what the
    rows imply, one row at a time and repeated until nothing changes (continuous columns keep
    their bounds: their implied bounds are used only to carry a change to the next row).
    Every plan that keeps every row keeps these bounds, so the relaxation with them is still
    a bound on the best plan. None when the rows cannot all hold (the solver says so itself).

    ``arrays`` is the model as :func:`optimizer.core.highs_runner.model_arrays` gives it:
    rows in compressed form (``start``, ``index``, ``value``), ``row_lower``/``row_upper``,
    ``lower``/``upper`` and ``integer``."""
    start, index, value = arrays["start"], arrays["index"], arrays["value"]
    integer = arrays["integer"]
    rows = len(arrays["row_lower"])
    row_of = np.repeat(np.arange(rows), np.diff(start))
    positive = value > 0
    lower, upper = arrays["lower"].astype(float), arrays["upper"].astype(float)
    for _ in range(ROUNDS):
        col_lower, col_upper = lower[index], upper[index]
        least = np.where(positive, value * col_lower, value * col_upper)  # each term's smallest value
        most = np.where(positive, value * col_upper, value * col_lower)
        new_upper, new_lower = upper.copy(), lower.copy()
        for row_bound, terms, toward_upper in ((arrays["row_upper"], least, True),
                                               (arrays["row_lower"], most, False)):
            room = _room(row_bound, terms, row_of, rows)
            if room is None:
                continue
            # the term's column may move only as far as the rest of the row leaves room for
            limit = room / value
            caps_upper = positive == toward_upper
            known = np.isfinite(limit)
            np.minimum.at(new_upper, index[known & caps_upper], limit[known & caps_upper])
            np.maximum.at(new_lower, index[known & ~caps_upper], limit[known & ~caps_upper])
        new_upper = np.where(integer, np.floor(new_upper + ROUNDING), new_upper)
        new_lower = np.where(integer, np.ceil(new_lower - ROUNDING), new_lower)
        if np.any(new_lower > new_upper + ROUNDING * _scale(new_lower)):
            return None
        tighter_upper = new_upper < upper - ROUNDING * _scale(upper)
        tighter_lower = new_lower > lower + ROUNDING * _scale(lower)
        if not (tighter_upper.any() or tighter_lower.any()):
            break
        upper = np.where(tighter_upper, new_upper, upper)
        lower = np.where(tighter_lower, new_lower, lower)
    lower_int, upper_int = arrays["lower"].astype(float), arrays["upper"].astype(float)
    lower_int[integer], upper_int[integer] = lower[integer], upper[integer]
    return lower_int, upper_int


def _scale(bounds: np.ndarray) -> np.ndarray:
    """1 plus each finite bound's size (an infinite bound counts 0): a tolerance's scale."""
    return 1.0 + np.abs(np.where(np.isfinite(bounds), bounds, 0.0))


def _room(row_bound: np.ndarray, terms: np.ndarray, row_of: np.ndarray, rows: int) -> np.ndarray | None:
    """For each term of each row with a finite ``row_bound``: the row's bound less every other
    term's extreme value (``terms``), or NaN where another term is unbounded."""
    finite_row = np.isfinite(row_bound)
    if not finite_row.any():
        return None
    unbounded = ~np.isfinite(terms)
    total = np.bincount(row_of, np.where(unbounded, 0.0, terms), rows)
    open_terms = np.bincount(row_of, unbounded, rows)
    others_open = open_terms[row_of] - unbounded
    rest = total[row_of] - np.where(unbounded, 0.0, terms)
    room = row_bound[row_of] - rest
    return np.where(finite_row[row_of] & (others_open == 0), room, np.nan)
