"""Funding programs (federal and state) as typed data: the award, the match, the period, and
the allowability rules that say, with their citations, what the program may pay for."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from optimizer.data.parsing import Dollars, Fraction
from optimizer.data.vocabulary import FundingCategory

ProgramId = str
_STRICT = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Award(BaseModel):
    """How much one district can receive from a program (US dollars)."""

    model_config = _STRICT
    maximum: Dollars | None = None
    minimum: Dollars | None = None
    per_student: Dollars | None = None
    per_campus: Dollars | None = None
    per_school_maximum: Dollars | None = None


#: The parts of an application's effort, in the order they are shown.
EFFORT_PARTS = ("narrative", "partners", "data", "registrations")


class Effort(BaseModel):
    """What an application asks of the district, read in the program's law or latest solicitation;
    a part the sources do not state is left out (None), not guessed."""

    model_config = _STRICT
    narrative: str | None = Field(default=None, min_length=1,
                                  description="what the application must explain or fill in, and its length")
    partners: str | None = Field(default=None, min_length=1,
                                 description="partners, consultation, letters or agreements it requires")
    data: str | None = Field(default=None, min_length=1,
                             description="assessments or data it must include, or keep and report")
    registrations: str | None = Field(default=None, min_length=1,
                                      description="systems to register in before applying, and how far ahead")

    @model_validator(mode="after")
    def _something_known(self) -> Effort:
        if not any(getattr(self, part) for part in EFFORT_PARTS):
            raise ValueError("effort: give at least one of " + ", ".join(EFFORT_PARTS) + ", or leave effort out")
        return self


class Application(BaseModel):
    """How a district applies, read from the program's most recent round found; each fact has
    its row in ``catalog/audit.csv`` (kind program, field ``application.<name>``, or
    ``application.effort.<part>`` for what an application asks)."""

    model_config = _STRICT
    selection: Literal["formula", "competitive", "first-come"] = Field(
        description="formula: every eligible applicant receives its share; competitive: applications are scored; "
                    "first-come: eligible applications are paid in the order received until the money runs out")
    rounds: Literal["yearly", "one-time", "unknown"] = Field(
        default="unknown", description="whether a new round is expected each year, the program had one round only, "
                                       "or the sources do not say")
    last_deadline: dt.date | None = Field(default=None, description="application deadline of the most recent round found")
    typical_award: Dollars | None = Field(default=None, description="average award of the last round with published "
                                                                    "figures (total awarded / awards made)")
    success_rate: Fraction | None = Field(default=None, description="awards made / applications, last round published")
    effort: Effort | None = Field(default=None, description="what an application asks (narrative, partners, data, "
                                                            "registrations), where the sources say")


class Cited(BaseModel):
    """Where a rule comes from: the statute, regulation or solicitation, and its year."""

    model_config = _STRICT
    reason: str = Field(min_length=1, description="the sentence a finance officer reads")
    citation: str = Field(min_length=1, description="statute, regulation or solicitation, with section")
    url: str | None = None
    year: int = Field(ge=1965, le=2100)
    basis: Literal["primary", "secondary", "inferred"] = Field(
        description="primary: read in the statute, rule or solicitation; secondary: a faithful "
                    "copy or summary only; inferred: the tool's reading of a closed list of uses")


class AllowRule(Cited):
    """One allowability rule of a program: it allows or denies named measures, or cost types.

    A program pays for a measure only when an ``allow`` rule names the measure or one of its
    cost types and no ``deny`` rule applies. A rule that names the measure beats a rule on
    cost types; at the same level, ``deny`` beats ``allow``.
    """

    effect: Literal["allow", "deny"]
    cost_types: list[FundingCategory] = []
    measures: list[str] = []

    @model_validator(mode="after")
    def _names_something(self):
        if not self.cost_types and not self.measures:
            raise ValueError("a rule names cost_types, measures or both")
        return self


class ProgramLimit(Cited):
    """A cap inside a program: at most ``share`` of the award on the named cost types or
    measures (for example Title IV-A's limit on technology infrastructure)."""

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    share: Fraction
    cost_types: list[FundingCategory] = []
    measures: list[str] = []

    def covers(self, measure_id: str, cost_types: frozenset[str]) -> bool:
        """True when a measure's spending counts against this limit."""
        return measure_id in self.measures or bool(cost_types & set(self.cost_types))


class FundingProgram(BaseModel):
    """A grant or allocation program, its accounting rules and what it may pay for."""

    model_config = _STRICT
    id: ProgramId = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    name: str
    level: str = Field(pattern=r"^(federal|state)$")
    state: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    agency: str
    public_schools_eligible: bool
    award: Award
    annual: bool
    match_rate: Fraction
    match_basis: str = Field(pattern=r"^(federal_share|total_cost|none)$")
    match_type: str = Field(pattern=r"^(cash|in_kind|either|none)$")
    match_waiver_possible: bool | None = None
    period_months: int | None = Field(default=None, ge=1, le=120)
    spend_by: dt.date | None = None
    payment: str = Field(pattern=r"^(advance|reimbursement)$")
    recurring_costs_allowed: bool
    supplement_not_supplant: bool
    rules: list[AllowRule] = Field(min_length=1)
    limits: list[ProgramLimit] = []
    compliance_first: list[str] = Field(
        default=[], description="mandate ids whose measures this money must pay for first")
    application: Application | None = None
    citation: str = Field(min_length=1, description="the program's primary source")
    url: str | None = None
    source: str = Field(min_length=1)
    as_of: dt.date
    notes: str | None = None

    def closed_on(self, day: dt.date) -> bool:
        """True when the program's spend-by date is before ``day``: its money is gone."""
        return self.spend_by is not None and self.spend_by < day
