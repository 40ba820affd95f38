"""State mandate profiles: which measures a state requires (or forbids), how strongly, and
by when."""
from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, model_validator

from optimizer.data.vocabulary import MandateReach, MandateStrength


class Mandate(BaseModel):
    """One legal requirement. Any one of ``measures`` satisfies it (or, for ``must_not``,
    none of them may be bought). A date the audit could not confirm in the law is left
    empty, never guessed: a mandate without a confirmed deadline is planned as already due."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: str
    measures: list[str] = Field(min_length=1)
    strength: MandateStrength
    deadline: dt.date | None = Field(description="the day compliance is required; empty when not confirmed")
    applies_to: MandateReach
    law: str = Field(min_length=1, description="the law's name and number, e.g. the act that enacted it")
    enacted: dt.date | None = Field(description="the day the law was signed by the governor (or became law without a "
                                                "signature); empty when not confirmed")
    effective: dt.date | None = Field(default=None, description="the day the law took effect; empty when not confirmed")
    source: str = Field(min_length=1, description="the statute or rule section that imposes it")
    url: str | None = None
    notes: str | None = None
    as_of: dt.date

    @model_validator(mode="after")
    def _deadline_after_law(self):
        if self.deadline and self.enacted and self.deadline < self.enacted:
            raise ValueError(f"deadline {self.deadline} falls before the law was enacted ({self.enacted})")
        if self.effective and self.enacted and self.effective < self.enacted:
            raise ValueError(f"the law takes effect ({self.effective}) before it was signed ({self.enacted})")
        return self

    def deadline_fiscal_year(self) -> int | None:
        """The fiscal year (named by the calendar year it ends in, July to June) by whose end
        the mandate must be met; None when the deadline is not confirmed."""
        if self.deadline is None:
            return None
        return self.deadline.year + (1 if self.deadline.month >= 7 else 0)


class StateProfile(BaseModel):
    """The mandates of one state."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    state: str = Field(pattern=r"^[A-Z]{2}$")
    name: str
    mandates: list[Mandate]
