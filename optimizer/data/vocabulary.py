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
                    "student", "staff", "district", "glazing_sqft", "screening_lane"]
#: What one unit of each basis is called in plans (a licence's annual cost is per unit per year).
UNIT_LABELS = {"school": "school", "exterior_door": "exterior door", "entrance": "entrance",
               "classroom": "classroom", "camera_position": "camera position", "student": "student",
               "staff": "staff member", "district": "district", "glazing_sqft": "sq ft of glazing",
               "screening_lane": "screening lane"}
#: Students one entry-screening lane serves in the morning arrival window when a school has not
#: counted its lanes: 9 screeners for 2 hours per 2,000 students at 3 screeners a lane (NIJ,
#: "The Appropriate and Effective Use of Security Technologies in U.S. Schools", 1999).
STUDENTS_PER_SCREENING_LANE = 670
#: Effectiveness range each evidence rating allows (docs/effectiveness-rubric.md, section 2).
EVIDENCE_BANDS: dict[str, tuple[float, float]] = {
    "strong": (0.50, 0.90), "moderate": (0.35, 0.70), "promising": (0.25, 0.50), "expert_consensus": (0.10, 0.40),
    "none": (0.05, 0.25), "contested": (0.05, 0.20), "harmful": (0.00, 0.05)}
TierBasis = Literal["stated", "inferred", "practice", "outside"]
#: Where a price comes from: observed in a dated public purchase (indexed from its year to the
#: catalog's dollar year), a reasoned estimate (in the dollars of the year it is made: not
#: indexed), or none (the cost is zero).
PriceBasis = Literal["observed", "estimate", "none"]
MandateStrength = Literal["must", "must_consider", "must_not"]
#: The stage at which a measure acts (docs/effectiveness-rubric.md): substitutes share a job and a
#: stage; measures at different stages compound in the value model.
Role = Literal["prevent", "detect", "delay", "respond", "recover"]
#: every_site: at each school; district: once, by a district-wide measure; any_site: at
#: least once in the district (at any school, or district-wide), e.g. "at least one team".
MandateReach = Literal["every_site", "district", "any_site"]


def values(literal) -> tuple[str, ...]:
    """The allowed values of a vocabulary."""
    return get_args(literal)
