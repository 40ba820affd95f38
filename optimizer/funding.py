"""Funding programs (federal and state) as typed data, each with its source and as-of date."""
from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from .parsing import Dollars, Fraction
from .vocabulary import FundingCategory

ProgramId = str


class Award(BaseModel):
    """How much one district can receive from a program (US dollars)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    maximum: Dollars | None = None
    minimum: Dollars | None = None
    per_student: Dollars | None = None
    per_campus: Dollars | None = None
    per_school_maximum: Dollars | None = None


class FundingProgram(BaseModel):
    """A grant or allocation program and its accounting rules."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    id: ProgramId = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    name: str
    level: str = Field(pattern=r"^(federal|state)$")
    state: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    agency: str
    public_schools_eligible: bool
    eligible_categories: list[FundingCategory]
    excluded_categories: list[FundingCategory]
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
    source: str = Field(min_length=1)
    as_of: dt.date
    notes: str | None = None
