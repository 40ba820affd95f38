"""Closed vocabularies shared by the catalog, the funding programs and the scenarios.

The column dictionary (``catalog/columns.csv``) lists the same values for people; a test
keeps the two in step.
"""
from __future__ import annotations

from typing import Literal, get_args

FundingCategory = Literal["hardware", "construction", "technology", "training", "personnel",
                          "mental_health", "cyber", "planning"]
Evidence = Literal["strong", "moderate", "promising", "expert_consensus", "none", "contested",
                   "harmful"]
BudgetCategory = Literal["personnel", "equipment", "supplies", "contractual", "training", "other"]
Scope = Literal["site", "district"]
UnitBasis = Literal["school", "exterior_door", "entrance", "classroom", "camera_position",
                    "student", "staff", "district", "glazing_sqft"]
TierBasis = Literal["stated", "inferred", "practice", "outside"]
MandateStrength = Literal["must", "must_consider", "must_not"]
#: The job a measure does (docs/effectiveness-rubric.md): measures with different roles never
#: crowd each other out in the value model.
Role = Literal["prevent", "detect", "delay", "respond", "recover"]
#: every_site: at each school; district: once, by a district-wide measure; any_site: at
#: least once in the district (at any school, or district-wide), e.g. "at least one team".
MandateReach = Literal["every_site", "district", "any_site"]


def values(literal) -> tuple[str, ...]:
    """The allowed values of a vocabulary."""
    return get_args(literal)
