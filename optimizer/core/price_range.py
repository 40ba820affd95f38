"""What a plan may cost given the price ranges of its measures: the bounds (every price at
the low or at the high end of its range) and the likely range (the middle of the costs when
each measure's price falls anywhere in its range, independently of the other measures')."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from optimizer.core.result import PlanResult

#: Share of the draws the likely range holds (from the 10th to the 90th percentile).
COVERAGE = 0.8
DRAWS = 4000
KINDS = ("capital", "annual", "tco")


@dataclass(frozen=True)
class PlanPrices:
    """Each plan item's cost at the typical price and its low and high price as shares of it
    (1 around a district's own quote), with its recurring costs over the horizon."""

    measure: np.ndarray  # measure of each item, as an index into the plan's measures
    capital: np.ndarray
    annual: np.ndarray  # at the end of the horizon
    recurring: np.ndarray  # over every year of the horizon
    shares: dict[str, tuple[np.ndarray, np.ndarray]]  # kind -> (low, high) shares of the typical
    procurement: float

    @classmethod
    def of(cls, result: PlanResult) -> PlanPrices:
        items, funding = result.plan.items, result.plan.funding
        cand = result.problem.candidates.iloc[result._rows]
        shares = {}
        for kind in ("capital", "annual"):
            typical = cand[kind].to_numpy(dtype=float)
            shares[kind] = tuple(np.divide(cand[f"{kind}_{end}"].to_numpy(dtype=float), typical,
                                           out=np.ones_like(typical), where=typical > 0) for end in ("low", "high"))
        recurring = funding[funding["kind"] == "annual"].groupby(["measure_id", "site_id"])["amount"].sum()
        keys = pd.MultiIndex.from_arrays([items["measure_id"], items["site_id"]])
        first = ~keys.duplicated()  # an item bought again (a renewal) pays its recurring costs once
        return cls(pd.factorize(items["measure_id"])[0], items["capital_cost"].to_numpy(dtype=float),
                   items["annual_cost"].to_numpy(dtype=float),
                   np.where(first, recurring.reindex(keys).fillna(0.0).to_numpy(), 0.0), shares,
                   float(result.plan.procurement))

    def at(self, capital_share: np.ndarray, annual_share: np.ndarray) -> dict[str, np.ndarray]:
        """Capital, annual cost and total cost of ownership with each item's price at the given
        shares of its typical price (one row per draw, or a single row)."""
        capital = capital_share @ self.capital
        return {"capital": capital, "annual": annual_share @ self.annual,
                "tco": capital + self.procurement + annual_share @ self.recurring}

    def bounds(self) -> dict[str, tuple[float, float]]:
        low = self.at(self.shares["capital"][0], self.shares["annual"][0])
        high = self.at(self.shares["capital"][1], self.shares["annual"][1])
        return {k: (float(low[k]), float(high[k])) for k in KINDS}

    def likely(self, coverage: float = COVERAGE, draws: int = DRAWS, seed: int = 0) -> dict[str, tuple[float, float]]:
        """The middle ``coverage`` of the costs over ``draws`` draws: each measure's one-time and
        recurring price each drawn once from a triangular distribution over its range (the same
        draw at every school: one price per measure), independently of the other measures'."""
        rng = np.random.default_rng(seed)
        measures = int(self.measure.max()) + 1 if len(self.measure) else 0
        merged = self._merged()
        parts = {kind: _triangular(rng.random((draws, measures))[:, merged.measure], *merged.shares[kind])
                 for kind in ("capital", "annual")}
        costs = merged.at(parts["capital"], parts["annual"])
        tail = (1 - coverage) / 2
        return {k: (float(np.quantile(costs[k], tail)), float(np.quantile(costs[k], 1 - tail))) for k in KINDS}

    def _merged(self) -> PlanPrices:
        """The same costs with the items of a measure whose prices span the same shares of
        their typical price merged into one (their drawn prices are the same share of it)."""
        keys = np.column_stack([self.measure, *self.shares["capital"], *self.shares["annual"]])
        unique, group = np.unique(keys, axis=0, return_inverse=True)
        group = group.ravel()

        def summed(values: np.ndarray) -> np.ndarray:
            return np.bincount(group, weights=values, minlength=len(unique))

        return PlanPrices(unique[:, 0].astype(int), summed(self.capital), summed(self.annual), summed(self.recurring),
                          {"capital": (unique[:, 1], unique[:, 2]), "annual": (unique[:, 3], unique[:, 4])},
                          self.procurement)


def _triangular(u: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """The quantile ``u`` of the triangular distribution from ``low`` to ``high`` with its mode
    at 1 (each column its own item)."""
    width = np.maximum(high - low, 1e-12)
    below = np.maximum(1 - low, 0.0) / width  # the share of the distribution below the mode
    rising = low + np.sqrt(np.maximum(u * width * (1 - low), 0.0))
    falling = high - np.sqrt(np.maximum((1 - u) * width * (high - 1), 0.0))
    return np.where(high - low < 1e-12, 1.0, np.where(u < below, rising, falling))
