"""Evidence stances: how much a measure's effectiveness counts, by the independent evidence
behind it. ``full`` counts every measure as the catalog rates it (PASS practice: expert
consensus is the basis of most school-security guidance); ``reduced`` halves what rests on
expert opinion and quarters what rests on no evidence; ``evidence_only`` counts only
measures with strong, moderate or promising evidence. A measure rated harmful counts as no
protection under any stance: studies show harm, so no opinion makes it protect. A purchase
that holds under every stance does not depend on opinion."""
from __future__ import annotations

from typing import Literal

Stance = Literal["full", "reduced", "evidence_only"]
STANCES: tuple[str, ...] = ("full", "reduced", "evidence_only")

#: Multiplier of effectiveness per stance and evidence rating.
STANCE_WEIGHTS: dict[str, dict[str, float]] = {
    "full": {"strong": 1.0, "moderate": 1.0, "promising": 1.0, "expert_consensus": 1.0, "none": 1.0,
             "contested": 1.0, "harmful": 0.0},
    "reduced": {"strong": 1.0, "moderate": 1.0, "promising": 1.0, "expert_consensus": 0.5, "none": 0.25,
                "contested": 0.25, "harmful": 0.0},
    "evidence_only": {"strong": 1.0, "moderate": 1.0, "promising": 1.0, "expert_consensus": 0.0, "none": 0.0,
                      "contested": 0.0, "harmful": 0.0},
}

#: Words for each stance, as the app, the CLI and the exports show it.
STANCE_WORDS = {
    "full": "every measure counts as rated (expert consensus included; harmful ones never count)",
    "reduced": "expert-consensus measures count half, measures without evidence a quarter",
    "evidence_only": "only measures with strong, moderate or promising evidence count",
}
