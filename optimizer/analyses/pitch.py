"""The vendor pitch check: put a proposed product in the catalog and see at what budget it
would enter the plan, what it would displace, and how its value per dollar compares with
what the plan's last dollars buy."""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, replace

import pandas as pd
from pydantic import BaseModel, Field

from optimizer.analyses.marginal import (
    added_value,
    cost_of_ownership,
    entry_budget,
    marginal_value_per_dollar,
)
from optimizer.analyses.sweep import BudgetSweep
from optimizer.core.result import PlanResult
from optimizer.core.status import SolveOptions
from optimizer.data.catalog import Catalog
from optimizer.data.inputs import Inputs
from optimizer.data.measures import Measure
from optimizer.data.parsing import MAX_DOLLARS
from optimizer.data.validation import validate_model
from optimizer.data.vocabulary import (
    BudgetCategory,
    Evidence,
    FundingCategory,
    Role,
    Scope,
    UnitBasis,
)
from optimizer.errors import NoFeasiblePlan, ProblemCollector

#: The usual job of a PASS component, for a pitched product whose role is not given.
COMPONENT_ROLE = {"detection": "detect", "video": "detect", "access_control": "delay", "architectural": "delay",
                  "communication": "respond", "people": "prevent", "policies": "prevent"}


class Pitch(BaseModel):
    """A product as a vendor proposes it, priced per unit of ``unit_basis``."""

    name: str = Field(min_length=1)
    capital: float = Field(ge=0, le=MAX_DOLLARS, allow_inf_nan=False, description="Capital cost per unit, dollars.")
    annual: float = Field(default=0.0, ge=0, le=MAX_DOLLARS, allow_inf_nan=False,
                          description="Recurring cost per unit and year, dollars.")
    layer: str
    component: str
    tier: int | None = Field(default=None, ge=1, le=4)
    effectiveness: float = Field(ge=0, le=1, allow_inf_nan=False)
    role: Role | None = Field(default=None, description="the job it does; by default the usual job "
                              "of its PASS component (detection and video: detect; access control and "
                              "architecture: delay; communication: respond; people and policies: prevent)")
    unit_basis: UnitBasis = "school"
    scope: Scope = "site"
    evidence: Evidence = "none"
    funding_categories: list[FundingCategory] = ["hardware"]
    budget_category: BudgetCategory = "equipment"
    useful_life: int = Field(default=10, ge=1, le=50)
    threats: dict[str, float] | None = Field(default=None, description="threat id -> reach (0 to 1); by "
                                             "default, for each threat, the largest reach of the catalog's "
                                             "measures of the same component and role")
    job: str | None = Field(default=None, description="the catalog job it substitutes for; by default its own")

    @property
    def measure_id(self) -> str:
        """The id the product gets in the catalog."""
        return "pitch-" + (re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-") or "product")

    def default_threats(self, catalog: Catalog) -> dict[str, float]:
        """The threats it acts on, when the vendor does not say: those of the catalog's measures
        at its stage in its component (failing those, in its component; failing those, all),
        each at the largest reach among them."""
        role = self.role or COMPONENT_ROLE.get(self.component, "prevent")
        alike = ([m for m in catalog.measures.values() if m.component == self.component and m.role == role]
                 or [m for m in catalog.measures.values() if m.component == self.component]
                 or list(catalog.measures.values()))  # the nearest measures the catalog has
        reach: dict[str, float] = {}
        for m in alike:
            for tid, r in m.threats.items():
                reach[tid] = max(reach.get(tid, 0.0), r)
        return reach

    def as_measure(self, catalog: Catalog) -> Measure:
        """The product as a catalog measure (sourced to the vendor's own claim)."""
        year = datetime.date.today().year
        return Measure.model_validate({
            "id": self.measure_id, "name": self.name, "description": f"vendor proposal: {self.name}",
            "layer": self.layer, "component": self.component, "tier": self.tier,
            "tier_basis": "stated" if self.tier else "outside", "scope": self.scope,
            "unit_basis": self.unit_basis, "capital_low": self.capital, "capital_typical": self.capital,
            "capital_high": self.capital, "annual_cost": self.annual, "useful_life": self.useful_life,
            "effectiveness": self.effectiveness, "evidence": self.evidence,
            "role": self.role or COMPONENT_ROLE.get(self.component, "prevent"),
            "threats": self.threats if self.threats is not None else self.default_threats(catalog),
            "job": self.job,
            "funding_categories": self.funding_categories, "budget_category": self.budget_category,
            "discouraged": False, "cost_source": "vendor quote (pitch check)", "cost_year": min(year, 2030),
            "evidence_source": "vendor claim (pitch check)", "evidence_year": min(year, 2030)})


@dataclass
class PitchResult:
    """What the product would do to the plan.

    Attributes
    ----------
    measure_id : str
        The product's id in the catalog used for the check.
    chosen_at_budget : bool
        Whether the plan at the scenario's budget includes it.
    places : DataFrame
        Where and when it would be installed at the scenario's budget (plan items).
    displaced : DataFrame
        Items of the plan without the product that the plan with it leaves out.
    entry_budget : float or None
        Smallest local capital over the horizon at which it enters the plan (None: not even
        at the largest budget tried).
    value_per_1000 : float
        Risk reduction it adds to the plan per $1,000 of its cost of ownership (bought in the
        first year wherever it can go).
    plan_marginal_per_1000 : float
        What the plan's last $1,000 buy at the scenario's budget.
    scenario_budget : float
        The scenario's local capital over the horizon.
    name : str
        The product's name, as the vendor gives it (the summary says it, not the id).
    """

    measure_id: str
    chosen_at_budget: bool
    places: pd.DataFrame
    displaced: pd.DataFrame
    entry_budget: float | None
    value_per_1000: float
    plan_marginal_per_1000: float
    scenario_budget: float
    name: str = ""

    def summary(self) -> str:
        """One paragraph for a finance officer."""
        verdict = ("enters the plan at the current budget" if self.chosen_at_budget else
                   f"would enter the plan at a local capital budget of ${self.entry_budget:,.0f}"
                   if self.entry_budget is not None else "does not enter the plan at any budget tried")
        compare = "more" if self.value_per_1000 > self.plan_marginal_per_1000 else "less"
        return (f"{self.name or self.measure_id} {verdict} (scenario budget ${self.scenario_budget:,.0f}). It avoids "
                f"{1000 * self.value_per_1000:,.3g} serious-harm equivalents per $1 million, {compare} than the "
                f"plan's last $1 million buys ({1000 * self.plan_marginal_per_1000:,.3g}); at the current budget it displaces "
                f"{len(self.displaced)} item(s).")


def read_pitch(data: dict, source: str) -> Pitch:
    """Validate a product description (from a form, the command line or a YAML file).

    Costs must be finite dollars from 0 to ``MAX_DOLLARS``, and not both 0: a product that
    costs nothing has no value per dollar to compare.

    Raises
    ------
    InputError
        Naming ``source``, each bad field, its value and what is expected.
    """
    problems = ProblemCollector(source)
    product = validate_model(Pitch, data, problems, "")
    if product is not None and product.capital == 0 and product.annual == 0:
        problems.add("", "capital", product.capital, "a capital cost above 0, or an annual cost above 0: a product "
                     "that costs nothing has no value per dollar to compare")
    problems.raise_if_any()
    return product


def _check(product: Pitch, inputs: Inputs) -> None:
    """The product's layer and component must be the catalog's (PASS 7th edition ids)."""
    problems = ProblemCollector("vendor pitch")
    taxonomy = inputs.catalog.pass7
    for field, value, known in (("layer", product.layer, taxonomy.layer_ids),
                                ("component", product.component, taxonomy.component_ids)):
        if value not in known:
            problems.add("", field, value, f"one of {', '.join(known)}")
    problems.raise_if_any()


def with_measure(inputs: Inputs, measure: Measure) -> Inputs:
    """A copy of the inputs whose catalog also holds ``measure``."""
    catalog = replace(inputs.catalog, measures={**inputs.catalog.measures, measure.id: measure})
    return Inputs(inputs.scenario, catalog, inputs.path)


def _items(result: PlanResult) -> pd.DataFrame:
    return result.plan.items[["measure_id", "site_id", "year", "capital_cost", "name"]]


def pitch(inputs: Inputs, product: Pitch, multiple: float = 3.0,
          options: SolveOptions = SolveOptions()) -> PitchResult:
    """Check a vendor's product against the scenario's plan.

    Parameters
    ----------
    inputs : Inputs
        A checked scenario and catalog.
    product : Pitch
        The proposed product.
    multiple : float
        Budgets up to this multiple of the scenario's local capital are searched for the
        product's entry point.
    options : SolveOptions
        Solver, time limit, gap and threads.
    """
    _check(product, inputs)
    measure = product.as_measure(inputs.catalog)
    before = BudgetSweep(inputs, options)
    after = BudgetSweep(with_measure(inputs, measure), options)
    budget = before.scenario_budget
    base, new = before.at(budget), after.at(budget)
    if base.plan is None or new.plan is None:
        raise NoFeasiblePlan(f"pitch of {product.name}")
    mine = new.plan.items["measure_id"] == measure.id
    keys = set(zip(new.plan.items["measure_id"], new.plan.items["site_id"]))
    old = _items(base)
    gone = [k not in keys for k in zip(old["measure_id"], old["site_id"])]
    displaced = old[gone] if mine.any() else old.iloc[:0]  # without it, plans differ only by ties
    rows = [int(c) for c in after.problem.candidates.index[after.problem.candidates["measure_id"] == measure.id]]
    # The product's candidates come last, so the plan without it keeps its row numbers.
    value = added_value(after.problem, base.plan.installs, rows)
    tco = cost_of_ownership(after.problem, rows)
    return PitchResult(measure.id, bool(mine.any()), _items(new)[mine], displaced.reset_index(drop=True),
                       entry_budget(after, measure.id, multiple=multiple),
                       1000 * value / tco if tco else float("inf"),
                       1000 * marginal_value_per_dollar(before, budget), budget, product.name)
