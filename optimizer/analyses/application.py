"""An application package for one grant program: what the district would ask for and why, put
together from its plan with the award added (the projects the award pays for, the need the plan
answers, the evidence for each measure, the budget with its match and the timeline)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from optimizer.analyses.opportunities import (
    applied,
    award_size,
    deadline_words,
    effort_parts,
    why_not_open,
    with_awards,
)
from optimizer.core.plan import LOCAL
from optimizer.core.result import PlanResult, money_words, percent
from optimizer.core.run import optimize
from optimizer.core.status import SolveOptions
from optimizer.data.inputs import Inputs

BUDGET_COLUMNS = ["category", "measure", "places", "grant", "local_match", "total"]
EVIDENCE_COLUMNS = ["measure", "evidence", "source", "year"]
TIMELINE_COLUMNS = ["fiscal_year", "measure", "places", "grant"]


@dataclass
class ApplicationPackage:
    """The parts of an application for ``program`` of ``amount`` (a year, for a program
    allocated every year), each as the district's plan with the award gives it."""

    district: str
    program: str
    program_name: str
    amount: float
    deadline: str
    asks: list[tuple[str, str]]  # what the application asks (narrative, partners, data, registrations), where known
    need: list[str]  # the statement of need, in sentences
    projects: list[str]  # the project description: what the award buys, project by project
    budget: pd.DataFrame  # BUDGET_COLUMNS: by the program's cost categories, with the match
    evidence: pd.DataFrame  # EVIDENCE_COLUMNS: each measure the award pays for
    timeline: pd.DataFrame  # TIMELINE_COLUMNS: what is bought in each fiscal year
    result: PlanResult  # the plan with the award

    @property
    def requested(self) -> float:
        """Grant dollars the budget asks for (what the plan spends of the award)."""
        return float(self.budget["grant"].sum())

    @property
    def match(self) -> float:
        """Local match the budget commits."""
        return float(self.budget["local_match"].sum())


def application_package(inputs: Inputs, program_id: str, amount: float | None = None,
                        options: SolveOptions = SolveOptions(), base: PlanResult | None = None,
                        on: dt.date | None = None) -> ApplicationPackage:
    """The application package of ``program_id`` for the district, at ``amount`` (default: the
    award the program is valued at, see :func:`~optimizer.analyses.opportunities.award_size`).

    Raises
    ------
    ValueError
        When the catalog has no such program, the district cannot apply to it (and why), or no
        amount is given for a program the catalog gives none for.
    """
    catalog, scenario = inputs.catalog, inputs.scenario
    on = on or dt.date.today()
    if program_id not in catalog.programs:
        raise ValueError(f"no program {program_id} in the catalog (its ids: {', '.join(sorted(catalog.programs))})")
    program = catalog.programs[program_id]
    why = why_not_open(program, scenario, on)
    if why:
        raise ValueError(f"{program.name}: the district cannot apply: {why}")
    amount = amount if amount is not None else award_size(program, scenario).middle
    if not amount:
        raise ValueError(f"{program.name}: the catalog gives no award amount; give the amount to apply for")
    base = base or optimize(inputs, options)
    result = with_awards(inputs, [(program, amount)], base, options)
    if result.plan is None:
        raise ValueError(f"{program.name}: no plan keeps every rule with an award of {money_words(amount)}")
    key = applied(program.id)
    funding = result.plan.funding
    paid = funding[funding["source"] == key]
    match = funding[(funding["source"] == LOCAL) & (funding["match_for"] == key)]
    measures = catalog.measures
    rows = []
    for mid, grant in paid.groupby("measure_id")["amount"].sum().items():
        local = float(match.loc[match["measure_id"] == mid, "amount"].sum())
        places = paid.loc[paid["measure_id"] == mid, "site_id"].nunique()
        rows.append({"category": measures[mid].budget_category.replace("_", " "), "measure": measures[mid].name,
                     "places": places, "grant": round(float(grant), 2), "local_match": round(local, 2),
                     "total": round(float(grant) + local, 2)})
    budget = pd.DataFrame(rows, columns=BUDGET_COLUMNS).sort_values(["category", "grant"], ascending=[True, False])
    ids = list(dict.fromkeys(paid.sort_values("amount", ascending=False)["measure_id"]))
    evidence = pd.DataFrame([{"measure": measures[m].name, "evidence": measures[m].evidence.replace("_", " "),
                              "source": measures[m].evidence_source, "year": measures[m].evidence_year} for m in ids],
                            columns=EVIDENCE_COLUMNS)
    timeline = (paid.assign(measure=[measures[m].name for m in paid["measure_id"]])
                .groupby(["year", "measure"]).agg(places=("site_id", "nunique"), grant=("amount", "sum"))
                .reset_index().rename(columns={"year": "fiscal_year"}))
    timeline = timeline.assign(grant=timeline["grant"].round(2))[TIMELINE_COLUMNS]
    return ApplicationPackage(scenario.name, program.id, program.name, amount, deadline_words(program, on),
                              effort_parts(program), _need(base, result), _projects(result, key),
                              budget.reset_index(drop=True), evidence, timeline, result)


def _need(base: PlanResult, result: PlanResult) -> list[str]:
    """The statement of need: the district's PASS tier gaps and its modelled risk, before and after."""
    start, cells = base.tier1_reached(before=True)
    threats = base.risk_by_threat().head(3)  # the largest modelled risks a year
    return [f"The district has {len(base.problem.sites)} sites; {start} of its {cells} site-layers meet tier 1 of the "
            f"PASS Safety and Security Guidelines for K-12 Schools today.",
            f"What is in place removes {percent(base.baseline_protection)} of the modelled risk of serious harm at its "
            f"schools; the largest modelled risks are " + ", ".join(n.lower() for n in threats["name"]) + ".",
            f"Without this award the district's plan removes {percent(base.gap_closed)} of the modelled risk left; "
            f"with it, {percent(result.gap_closed)} ({100 * (result.gap_closed - base.gap_closed):.2f} points more; "
            f"a model, labelled as such: see the assumptions of the plan's report)."]


def _projects(result: PlanResult, key: str) -> list[str]:
    """What the award buys, one sentence per project it pays into."""
    projects = result.projects()
    mine = projects[projects["paid_by"].str.contains(result.source_names().get(key, key), regex=False)]
    return [f"{r.project}: {r.buys}, at {r.places} place(s); {money_words(r.capital)} of capital"
            + (f" and {money_words(r.annual)} a year" if r.annual > 0.5 else "") + f" (paid by {r.paid_by})."
            for r in mine.itertuples()]
