"""Risk by threat: the value model's structure and arithmetic, solver-free.

Each school faces the threats of ``catalog/threats.csv``; its baseline risk of a threat is
incidents a year x harm per incident (serious-harm equivalents a year). A measure acts on a
threat at its stage (role) with effect e = effectiveness x reach, and lowers the residual risk
by the factor (1 - e): independent layers multiply, so in logs they add. ``ell = -ln(1 - e)``
is that log-effect. Measures doing the same job at the same stage for the same threat at one
school (a *cell*) are substitutes: together they count at most as the strongest of them. The
share of a threat's risk removed is ``1 - exp(-L)`` where ``L`` sums the cells of that school
and threat, made piecewise linear between :data:`BREAKPOINTS` (exact at each of them) so that
the optimizer stays a MILP. Risk reduced is counted for every year a measure is in effect.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

#: Log-effects where the piecewise-linear protection curve is exact; beyond the last one
#: (95% of a threat removed) more protection counts for nothing.
BREAKPOINTS: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
_SHARES = tuple(1.0 - math.exp(-b) for b in BREAKPOINTS)
#: No single measure removes more of a threat than the curve can count.
MAX_EFFECT = _SHARES[-1]


def log_effect(effect: float) -> float:
    """``-ln(1 - e)`` of an effect ``e`` (share of a threat's risk removed), capped at :data:`MAX_EFFECT`."""
    return -math.log1p(-min(max(effect, 0.0), MAX_EFFECT))


def protection(level):
    """Share of a threat's risk removed at log-effect ``level`` (scalar or array): the chords of
    ``1 - exp(-L)`` between :data:`BREAKPOINTS`."""
    return np.interp(level, BREAKPOINTS, _SHARES)


_SLOPES = tuple((s1 - s0) / (b1 - b0) for (b0, s0), (b1, s1) in zip(zip(BREAKPOINTS, _SHARES),
                                                                     zip(BREAKPOINTS[1:], _SHARES[1:])))


def protection_at(level: float) -> float:
    """:func:`protection` of one level, as NumPy's ``interp`` computes it, without an array
    (the greedy plan asks it tens of thousands of times)."""
    if level <= BREAKPOINTS[0]:
        return _SHARES[0]
    if level >= BREAKPOINTS[-1]:
        return _SHARES[-1]
    j = bisect_right(BREAKPOINTS, level) - 1
    return _SLOPES[j] * (level - BREAKPOINTS[j]) + _SHARES[j]


def protection_pieces(start: float, end: float) -> list[tuple[float, float]]:
    """(slope, width) of the linear pieces of :func:`protection` between ``start`` and ``end``
    (the curve is concave, so a maximisation fills them in order)."""
    pieces = []
    for (b0, s0), (b1, s1) in zip(zip(BREAKPOINTS, _SHARES), zip(BREAKPOINTS[1:], _SHARES[1:])):
        width = min(b1, end) - max(b0, start)
        if width > 1e-12:
            pieces.append(((s1 - s0) / (b1 - b0), width))
    return pieces


@dataclass(frozen=True)
class TimeWeights:
    """How much a year of protection counts in the optimizer's objective: year ``k`` of the
    horizon (from 0) weighs ``1 / (1 + rate)**k``, so earlier protection is worth more, and
    the ``after`` years that follow the horizon count too, each discounted alike: there the
    plan's end state is kept (see :class:`RiskLedger`)."""

    horizon: int
    after: int
    rate: float

    def year(self, k: int) -> float:
        return (1 + self.rate) ** -k

    @property
    def total_after(self) -> float:
        """Weight of the years after the horizon, together."""
        return sum(self.year(self.horizon - 1 + j) for j in range(1, self.after + 1))


# -- the structure a Problem carries ---------------------------------------------------------

GROUP_COLUMNS = ["site_id", "threat", "weight"]
CELL_COLUMNS = ["group", "role", "job", "cap"]
MEMBER_COLUMNS = ["cell", "candidate", "ell", "ell_low", "ell_high"]
IN_PLACE_COLUMNS = ["cell", "ell", "ell_low", "ell_high", "until"]


def risk_structure(sites, threats: dict, measures: dict, cand: pd.DataFrame, existing: pd.DataFrame,
                   threat_weights: dict[str, float], scale: dict[str, float], bands: dict[str, tuple[float, float]],
                   stance: dict[str, float], district: str, serves: dict[tuple[str, str], list[str]] | None = None):
    """Groups (school x threat, weighted by baseline risk), cells (group x role x job, with
    their cap) and the log-effects of candidates and of measures in place in each cell.

    ``scale`` multiplies a measure's log-effect by the scenario's layer, component and role
    weights; ``bands`` gives each evidence rating's effectiveness range, for the headline's
    range; ``stance`` is the evidence stance's weight per rating; ``serves`` names the sites a
    measure at a place protects when not that place alone (a campus's measures, every site
    of the campus), by measure id and place.
    """
    serves = serves or {}
    site_ids = [s.id for s in sites]
    gindex = {}
    weights = []
    for s in sites:
        for tid, threat in threats.items():
            gindex[s.id, tid] = len(gindex)
            weights.append(threat.risk(s.level, s.enrollment, len(sites)) * s.risk_weight * threat_weights.get(tid, 1.0))
    groups = pd.DataFrame([(s, t, w) for (s, t), w in zip(gindex, weights)], columns=GROUP_COLUMNS)

    cindex: dict[tuple, int] = {}
    cells_rows, members, in_place = [], [], []
    for kind, frame in (("in_place", existing), ("candidate", cand)):
        cols = frame[["measure_id", "site_id", "effectiveness"]].itertuples(index=False)
        until = frame["until"].tolist() if kind == "in_place" else [0] * len(frame)
        for i, (mid, place, eff) in enumerate(cols):
            m = measures[mid]
            w = scale.get(mid, 1.0)
            low, high = bands[m.evidence]
            weight = stance[m.evidence]
            for tid, reach in m.threats.items():
                if tid not in threats or eff <= 0:
                    continue
                ells = (w * log_effect(eff * reach), w * log_effect(min(m.effectiveness, low) * weight * reach),
                        w * log_effect(max(m.effectiveness, high) * weight * reach))
                for s in (site_ids if place == district else serves.get((mid, place), [place])):
                    key = (gindex[s, tid], m.role, m.job_key)
                    if key not in cindex:
                        cindex[key] = len(cindex)
                        cells_rows.append(key)
                    if kind == "candidate":
                        members.append((cindex[key], i, *ells))
                    else:
                        in_place.append((cindex[key], *ells, until[i]))
    members = pd.DataFrame(members, columns=MEMBER_COLUMNS).astype({"cell": int, "candidate": int})
    in_place = pd.DataFrame(in_place, columns=IN_PLACE_COLUMNS).astype({"cell": int, "until": int})
    cells = pd.DataFrame(cells_rows, columns=["group", "role", "job"]).astype({"group": int})
    cells["cap"] = cell_caps(len(cells), members, in_place, "ell")
    return groups, cells, members, in_place


def cell_caps(n_cells: int, members: pd.DataFrame, in_place: pd.DataFrame, column: str) -> np.ndarray:
    """The strongest single log-effect in each cell, among candidates and measures in place."""
    cap = np.zeros(n_cells)
    for frame in (members, in_place):
        if len(frame):
            np.maximum.at(cap, frame["cell"].to_numpy(), frame[column].to_numpy(dtype=float))
    return cap


def in_place_levels(in_place: pd.DataFrame, n_cells: int, years: list[int], column: str = "ell") -> np.ndarray:
    """Summed log-effect of measures in place per cell (rows) and year (columns): an ageing one
    counts until the year its useful life ends (``until``; 0 = it does not end in the horizon)."""
    out = np.zeros((n_cells, len(years)))
    yrs = np.asarray(years)
    for cell, ell, until in zip(in_place["cell"], in_place[column], in_place["until"]):
        out[int(cell)] += np.where(yrs < until, ell, 0.0) if until else ell
    return out


class RiskLedger:
    """Log-effects of a plan per cell and period, and the risk reduced that follows; the
    verifier, the reports and the analyses read plans through it.

    The periods are the horizon's fiscal years and, last, the years after it
    (``problem.years_after`` of them, counted as one period), in which the plan's end state is
    kept: whatever is in place at the end of the horizon stays in service, renewed when its
    useful life ends, at the yearly cost of keeping it (``Problem.keeping_costs``).

    Parameters
    ----------
    problem : Problem
    installs : dict
        Candidate row -> fiscal year of installation.
    column : str
        ``ell`` (the catalog's effectiveness), ``ell_low`` or ``ell_high`` (its evidence band's ends).
    """

    def __init__(self, problem, installs: dict[int, int], column: str = "ell"):
        self.p, self.column, self.installs = problem, column, installs
        n = len(problem.cells)
        self.years = np.asarray(problem.years)
        self.cap = (problem.cells["cap"].to_numpy(dtype=float) if column == "ell" else
                    cell_caps(n, problem.cell_members, problem.cell_in_place, column))
        base = in_place_levels(problem.cell_in_place, n, problem.years, column)
        self.sums = np.concatenate([base, base[:, -1:]], axis=1)
        self.cell_group = problem.cells["group"].to_numpy()
        self.weight = problem.groups["weight"].to_numpy(dtype=float)
        members = problem.cell_members
        chosen = members[members["candidate"].isin(list(installs))]
        self.time = problem.time
        # each chosen member's log-effect in each period: from its install year on, and after the horizon
        self._cells = chosen["cell"].to_numpy(dtype=int)
        self._candidates = chosen["candidate"].to_numpy(dtype=int)
        ell = chosen[column].to_numpy(dtype=float)[:, None]
        installed = np.array([installs[c] for c in self._candidates.tolist()], dtype=float)[:, None]
        self._steps = np.concatenate([np.where(self.years[None, :] >= installed, ell, 0.0), ell], axis=1)
        np.add.at(self.sums, self._cells, self._steps)

    @cached_property
    def by_candidate(self) -> dict[int, list[tuple[int, np.ndarray]]]:
        """Candidate row -> (cell, its log-effect in each period) of each cell it counts in."""
        out: dict[int, list[tuple[int, np.ndarray]]] = defaultdict(list)
        for cell, c, step in zip(self._cells.tolist(), self._candidates.tolist(), self._steps):
            out[c].append((cell, step))
        return out

    def levels(self) -> np.ndarray:
        """Log-effect per group (rows) and period (columns: the fiscal years, then the years after)."""
        out = np.zeros((len(self.weight), len(self.years) + 1))
        np.add.at(out, self.cell_group, np.minimum(self.sums, self.cap[:, None]))
        return out

    def period_weights(self) -> np.ndarray:
        """How much each period counts: each fiscal year discounted, then the years after."""
        return np.array([self.time.year(k) for k in range(len(self.years))] + [self.time.total_after])

    def reduced(self) -> np.ndarray:
        """Risk reduced per group and period, each period counted by its weight (serious-harm
        equivalents)."""
        return self.weight[:, None] * protection(self.levels()) * self.period_weights()

    def total(self) -> float:
        """Risk reduced as the optimizer counts it, summed over schools, threats and periods."""
        return float(self.reduced().sum())

    def by_threat(self) -> pd.Series:
        """Risk reduced per threat, as :meth:`total` counts it."""
        return pd.Series(self.reduced().sum(axis=1), index=self.p.groups["threat"]).groupby(level=0).sum()

    def gains(self, rows: list[int]) -> list[float]:
        """For each candidate row of the plan, the risk reduced that the plan loses without it,
        as :meth:`total` counts it (only its own cells and their groups change)."""
        levels, weights = self.levels(), self.period_weights()
        out = []
        for c in rows:
            cells = self.by_candidate.get(c, [])
            groups = sorted({int(self.cell_group[cell]) for cell, _ in cells})
            after = levels[groups].copy()
            row_of = {g: k for k, g in enumerate(groups)}
            for cell, step in cells:
                with_it = np.minimum(self.sums[cell], self.cap[cell])
                without = np.minimum(self.sums[cell] - step, self.cap[cell])
                after[row_of[int(self.cell_group[cell])]] -= with_it - without
            w = self.weight[groups][:, None] * weights
            out.append(float((w * (protection(levels[groups]) - protection(after))).sum()))
        return out
