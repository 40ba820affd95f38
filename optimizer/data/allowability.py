"""Grant allowability: whether a funding program may pay for a measure, decided by the
program's cited rules, and the reason in words when it may not."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from optimizer.data.funding import AllowRule


@dataclass(frozen=True)
class Ruling:
    """Whether a source may pay for an item, why, and the rule's citation."""

    allowed: bool
    reason: str
    citation: str = ""

    def sentence(self, payer: str) -> str:
        """The ruling as a finance officer reads it, e.g. "STOP may not pay for this: ..."."""
        verb = "may pay for this" if self.allowed else "may not pay for this"
        cite = f" ({self.citation})" if self.citation else ""
        return f"{payer} {verb}: {self.reason}{cite}"


def _cite(rule: AllowRule) -> str:
    return rule.citation if str(rule.year) in rule.citation else f"{rule.citation}, {rule.year}"


def rule_on(rules: Iterable[AllowRule], measure_id: str, cost_types: Iterable[str]) -> Ruling:
    """Apply a program's rules to one measure.

    A rule naming the measure beats a rule on its cost types; at the same level a ``deny``
    beats an ``allow``; a measure that no rule allows is refused.
    """
    rules = list(rules)
    types = set(cost_types)
    named = [r for r in rules if measure_id in r.measures]
    typed = [r for r in rules if measure_id not in r.measures and types & set(r.cost_types)]
    for level in (named, typed):
        for effect in ("deny", "allow"):
            hits = [r for r in level if r.effect == effect]
            if hits:
                return Ruling(effect == "allow", hits[0].reason, _cite(hits[0]))
    return Ruling(False, "no rule of the program allows this measure or its cost types "
                  f"({', '.join(sorted(types))})")
