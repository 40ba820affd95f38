"""Security measures: the typed row of the measures table and its loader, driven by the
column dictionary that the documentation uses too."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from optimizer.data.parsing import MAX_FACTOR, Count, Dollars, Flag, Fraction, Number
from optimizer.data.readers import Table, read_table
from optimizer.data.validation import validate_model
from optimizer.data.vocabulary import (
    BudgetCategory,
    Evidence,
    FundingCategory,
    PriceBasis,
    Role,
    Scope,
    TierBasis,
    UnitBasis,
)
from optimizer.errors import ProblemCollector

ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
OUTSIDE_TIERS = "outside"


class ColumnSpec(BaseModel):
    """One row of the column dictionary."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    type: str
    unit: str = ""
    allowed: str = ""
    required: Flag
    default: str = ""
    meaning: str


class Measure(BaseModel):
    """A security measure of the catalog (one row of ``measures.csv``).

    Costs are US dollars per unit of ``unit_basis`` in the dollars of ``cost_year``.
    ``tier`` is None for measures outside the PASS tiers.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    layer: str
    pass6_layer: str | None = None
    component: str
    tier: int | None = Field(ge=1, le=4)
    tier_basis: TierBasis
    scope: Scope
    unit_basis: UnitBasis
    unit_ratio: Number = Field(default=1.0, gt=0, le=MAX_FACTOR)
    capital_low: Dollars
    capital_typical: Dollars
    capital_high: Dollars
    annual_cost: Dollars
    annual_low: Dollars | None = None
    annual_high: Dollars | None = None
    capital_basis: PriceBasis | None = None
    annual_basis: PriceBasis | None = None
    useful_life: Count = Field(ge=1, le=50)
    effectiveness: Fraction
    effectiveness_note: str | None = None
    role: Role
    evidence: Evidence
    evidence_key: str | None = Field(default=None, pattern=ID_PATTERN)
    funding_categories: list[FundingCategory] = Field(min_length=1)
    budget_category: BudgetCategory
    prerequisites: list[str] = []
    job: str | None = Field(default=None, pattern=ID_PATTERN)
    threats: dict[str, float] = {}
    alternative_group: str | None = None
    assessment: Flag = False
    site_kinds: list[Literal["school", "support"]] = ["school"]
    discouraged: Flag
    discouraged_reason: str | None = None
    cost_source: str = Field(min_length=1)
    cost_year: int = Field(ge=1990, le=2030)
    annual_year: int | None = Field(default=None, ge=1990, le=2030)
    evidence_source: str = Field(min_length=1)
    evidence_year: int = Field(ge=1990, le=2030)

    @model_validator(mode="after")
    def _price_defaults(self):
        # a catalog without the range and basis columns reads as before: no annual range, and a
        # price is observed unless its source says estimate
        guessed = "estimate" if self.cost_source.lower().startswith("estimate") else "observed"
        filled = {"annual_low": self.annual_cost if self.annual_low is None else self.annual_low,
                  "annual_high": self.annual_cost if self.annual_high is None else self.annual_high,
                  "annual_year": self.cost_year if self.annual_year is None else self.annual_year,
                  "capital_basis": self.capital_basis or ("none" if self.capital_high == 0 else guessed),
                  "annual_basis": self.annual_basis or ("none" if self.annual_cost == 0 else guessed)}
        for name, value in filled.items():
            object.__setattr__(self, name, value)
        return self

    @field_validator("threats", mode="before")
    @classmethod
    def _reach_pairs(cls, raw):
        # The table cell is a list of "threat reach" pairs, e.g. "violence 0.5;self_harm 0.3".
        if not isinstance(raw, list):
            return raw
        out = {}
        for pair in raw:
            parts = str(pair).split()
            try:
                threat, reach = parts[0], float(parts[1])
            except (IndexError, ValueError):
                raise ValueError(f"'{pair}' is not a threat id and its reach, e.g. 'violence 0.5'") from None
            if len(parts) != 2 or not 0 < reach <= 1:
                raise ValueError(f"'{pair}': the reach is a share above 0 and at most 1")
            if threat in out:
                raise ValueError(f"threat {threat} named twice")
            out[threat] = reach
        return out

    @property
    def prerequisite_options(self) -> list[tuple[str, ...]]:
        """Each prerequisite as the measures any one of which meets it (``a|b`` in the table)."""
        return [tuple(part.strip() for part in pre.split("|")) for pre in self.prerequisites]

    @property
    def job_key(self) -> str:
        """The job measures share when they are substitutes (the measure's id when none is given)."""
        return self.job or self.id

    @property
    def is_estimate(self) -> bool:
        """True when a cost of the measure (one-time or recurring) is reasoned, not observed in
        a dated public purchase."""
        return "estimate" in (self.capital_basis, self.annual_basis)

    def quantity(self, count: float, ratio: float | None = None) -> int:
        """Cost units needed for ``count`` units of the basis (doors, students, ...), at the
        catalog's ``unit_ratio`` or the scenario's ``ratio``."""
        return math.ceil(count * (self.unit_ratio if ratio is None else ratio) - 1e-9)


def load_column_dictionary(path: Path) -> list[ColumnSpec]:
    """Load the column dictionary of the measures table."""
    table = read_table(path)
    problems = ProblemCollector(path)
    specs = []
    for i, row in enumerate(table.rows):
        spec = validate_model(ColumnSpec, row, problems, table.row_label(i))
        if spec:
            specs.append(spec)
    problems.raise_if_any()
    return specs


def _cell(spec: ColumnSpec, raw: str):
    if spec.type == "list":
        return [part.strip() for part in raw.split(";") if part.strip()]
    if spec.name == "tier":
        return None if raw == OUTSIDE_TIERS else raw
    return raw


def _check_header(table: Table, specs: list[ColumnSpec], problems: ProblemCollector) -> None:
    known = {s.name for s in specs}
    for name in table.header:
        if name not in known:
            problems.add("header", name, name, "a column of the column dictionary (catalog/columns.csv); "
                         "remove or rename it")
    for spec in specs:
        if spec.required and spec.name not in table.header:
            problems.add("header", spec.name, "", f"a column '{spec.name}' ({spec.meaning})")


def _check_row(m: Measure, where: str, problems: ProblemCollector) -> None:
    if not m.capital_low <= m.capital_typical <= m.capital_high:
        problems.add(where, "capital_low/capital_typical/capital_high",
                     f"{m.capital_low:g} / {m.capital_typical:g} / {m.capital_high:g}",
                     "low <= typical <= high")
    if not m.annual_low <= m.annual_cost <= m.annual_high:
        problems.add(where, "annual_low/annual_cost/annual_high",
                     f"{m.annual_low:g} / {m.annual_cost:g} / {m.annual_high:g}", "low <= typical <= high")
    for part, high in (("capital", m.capital_high), ("annual", m.annual_high)):
        basis = getattr(m, f"{part}_basis")
        if (basis == "none") != (high == 0):
            problems.add(where, f"{part}_basis", basis, f"'none' exactly when the {part} cost is zero "
                         "(observed or estimate otherwise)")
    if m.discouraged and not m.discouraged_reason:
        problems.add(where, "discouraged_reason", "", "the reason guidance recommends against it, "
                     "since discouraged is true")
    if m.scope == "site" and m.unit_basis == "district":
        problems.add(where, "unit_basis", m.unit_basis, "a per-site basis for a site-scope measure "
                     "(school, exterior_door, entrance, classroom, camera_position, student, staff)")
    if (m.tier is None) != (m.tier_basis == "outside"):
        problems.add(where, "tier_basis", m.tier_basis,
                     "'outside' exactly when tier is 'outside'")


def load_measures(path: Path, specs: list[ColumnSpec],
                  problems: ProblemCollector) -> list[tuple[str, Measure]]:
    """Read the measures table, recording every problem in ``problems``.

    Parameters
    ----------
    path : Path
        ``measures.csv`` (or an Excel sheet with the same columns).
    specs : list of ColumnSpec
        The column dictionary: which columns exist, which are required, how lists are split.
    problems : ProblemCollector
        Collector of the catalog's problems; nothing is raised here.

    Returns
    -------
    list of (str, Measure)
        The rows that are valid on their own, with their row labels; cross-row rules are
        the catalog's job.
    """
    table = read_table(path)
    _check_header(table, specs, problems)
    if not table.rows:
        problems.add("row 2", "", "", "at least one measure below the header row")
    by_name = {s.name: s for s in specs}
    measures = []
    for i, row in enumerate(table.rows):
        where = table.row_label(i)
        data = {name: _cell(by_name[name], raw) for name, raw in row.items()
                if name in by_name and raw != ""}
        measure = validate_model(Measure, data, problems, where)
        if measure:
            _check_row(measure, where, problems)
            measures.append((where, measure))
    return measures
