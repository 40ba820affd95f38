"""Expansion of a scenario and its catalog into a solver-free Problem: candidates (measure x
site, or once district-wide) with quantities and costs, risk by threat, and every rule as
plain data. The model is built only from a Problem; the verifier reads only a Problem and a
Plan."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from optimizer.data.allowability import Ruling, rule_on
from optimizer.data.catalog import Catalog
from optimizer.data.funding import AllowRule, FundingProgram
from optimizer.data.inputs import Inputs, state_mandates
from optimizer.data.measures import Measure
from optimizer.data.scenario import FundingSource, Scenario, Site
from optimizer.core.risk import TimeWeights, risk_structure
from optimizer.data.stances import STANCE_WEIGHTS
from optimizer.data.vocabulary import EVIDENCE_BANDS, STUDENTS_PER_SCREENING_LANE, UNIT_LABELS
from optimizer.errors import InputError, InputProblem

DISTRICT = "district"
#: Project key of an award's project (followed by the funding source's id), see core.projects.
AWARD_PROJECT = "award:"
#: The PASS layer whose measures (perimeter, grounds, parking) sites on one campus share.
CAMPUS_LAYER = "campus"
#: Most candidates (measure x site) one problem may hold: over three times the largest
#: benchmark district's (about 84,000 for 1,000 schools); more would not fit a shared server.
MAX_CANDIDATES = 300_000

@dataclass(frozen=True)
class SourceLimit:
    """A cap inside a program: at most ``share`` of the award on ``measures``."""

    id: str
    share: float
    measures: frozenset[str]
    reason: str


@dataclass(frozen=True)
class Source:
    """A funding source as the model sees it (awarded sources only). What it may pay for is
    in :attr:`Problem.rulings`, decided by the program's cited rules and the award's scope."""

    id: str
    name: str
    program: str | None
    federal: bool
    amount: float
    per_year: bool
    years: tuple[int, ...]
    recurring_allowed: bool
    sites: frozenset[str] | None
    earmark: str | None
    match_rate: float
    match_basis: str
    supplement_not_supplant: bool
    limits: tuple[SourceLimit, ...] = ()
    compliance_measures: frozenset[str] = frozenset()
    continues: bool = False  # paid every year after the horizon too (an allocation by law): see Problem.after_payable

    @property
    def award_over_horizon(self) -> float:
        """Dollars the source can pay over the horizon (an annual allocation once a year)."""
        return self.amount * (len(self.years) if self.per_year else 1)

    @property
    def reading(self) -> str:
        """How the source's amount and rules were read, in words (``validate`` prints it)."""
        years = f"FY{self.years[0]}" + (f"-FY{self.years[-1]}" if len(self.years) > 1 else "")
        amount = (f"${self.amount:,.0f} a year in {years} (${self.award_over_horizon:,.0f} over the horizon)"
                  if self.per_year else f"${self.amount:,.0f} in all, spent in {years}")
        match = f"{self.match_rate:.0%} local match" if self.match_rate > 0 else "no local match"
        recurring = "pays recurring costs" if self.recurring_allowed else "one-time costs only (no recurring costs)"
        after = "; goes on after the horizon, paying its share of the plan's upkeep then" if self.continues else ""
        return f"{self.name} ({self.id}): {amount}; {recurring}; {match}{after}"

    @property
    def spans(self) -> list[tuple[int | str, tuple[int, ...]]]:
        """The periods the award is capped over: each year for an annual allocation, else
        the whole period ("all")."""
        return [(t, (t,)) for t in self.years] if self.per_year else [("all", self.years)]

    @property
    def match_factor(self) -> float:
        """Local match required per grant dollar used."""
        if self.match_rate <= 0:
            return 0.0
        if self.match_basis == "total_cost":
            return self.match_rate / (1 - self.match_rate) if self.match_rate < 1 else 1e6
        return self.match_rate


@dataclass(frozen=True)
class MandateRule:
    """A requirement on the plan: one of ``options`` in place by ``by_year`` at each place."""

    id: str
    title: str
    strength: str
    deadline_year: int
    by_year: int | None  # None: due after the horizon, not binding
    places: tuple[tuple[str, tuple[int, ...]], ...]  # (site or district, candidate rows)
    met_already: tuple[str, ...]  # places where an existing measure satisfies it
    # (place, year, candidate rows): met today by a measure whose useful life ends inside the
    # horizon; one of the rows must be in place by that year (or by ``by_year`` if later).
    renewals: tuple[tuple[str, int, tuple[int, ...]], ...] = ()
    source: str = ""  # the statute or rule that imposes it (for a scenario's own, where it is set)

    def requirements(self) -> list[tuple[str, int, tuple[int, ...]]]:
        """(place, year, candidate rows): one of the rows is in place by the year; empty
        when the mandate falls due after the horizon."""
        if self.by_year is None:
            return []
        return ([(place, self.by_year, options) for place, options in self.places]
                + [(place, max(year, self.by_year), options) for place, year, options in self.renewals])


@dataclass
class Problem:
    """All data of one planning problem, free of any solver object.

    Attributes
    ----------
    candidates : DataFrame
        One row per measure x site (site scope) or measure x district (district scope) that
        is not already in place. Columns: key, measure_id, site_id, scope, layer, component,
        role, tier, quantity, capital, annual, effectiveness, cap_class, op_class, forbidden,
        mandated, budget_category, name.
    groups : DataFrame
        School x threat, with ``weight``: the baseline risk a year (serious-harm equivalents
        with nothing in place, times the site's risk weight and the threat's weight).
    cells : DataFrame
        Group x role x job, with ``cap``: the strongest single log-effect among its measures
        (substitutes in one cell count at most as the strongest of them; see ``core.risk``).
    cell_members : DataFrame
        (cell, candidate row) pairs with the candidate's log-effect there (``ell``) and at
        the ends of its evidence band (``ell_low``, ``ell_high``).
    cell_in_place : DataFrame
        Log-effects of measures in place per cell, with the year an ageing one stops (0: never).
    """

    scenario_name: str
    edition: int
    years: list[int]
    sites: list[Site]
    candidates: pd.DataFrame
    existing: pd.DataFrame
    groups: pd.DataFrame
    cells: pd.DataFrame
    cell_members: pd.DataFrame
    cell_in_place: pd.DataFrame
    prerequisites: list[tuple[int, tuple[int, ...]]]
    tier_links: list[tuple[int, tuple[int, ...]]]
    alternatives: list[tuple[tuple[int, ...], int]]  # (candidate rows, how many may be added)
    mandates: list[MandateRule]
    musts: list[int]
    sources: list[Source]
    cap_classes: dict[int, tuple[str, ...]]
    op_classes: dict[int, tuple[str, ...]]
    capital_budget: dict[int, float]
    operating_budget: dict[int, float]
    total_budget: float | None
    carry_over: bool
    layer_share: dict[str, tuple[float, float]]
    equity: bool
    tier_order: str
    objective: str
    target_tier: int
    layers: list[str]
    components: list[str]
    notes: list[str] = field(default_factory=list)
    rulings: dict[tuple[str, str], Ruling] = field(default_factory=dict)
    cap_tags: dict[int, dict[str, frozenset[str]]] = field(default_factory=dict)
    op_tags: dict[int, dict[str, frozenset[str]]] = field(default_factory=dict)
    compliance: dict[str, tuple[tuple[str, tuple[int, ...]], ...]] = field(default_factory=dict)
    supplement_not_supplant: bool = True
    dollar_year: int | None = None
    max_projects: int | None = None
    project_cost: float = 0.0  # local operating dollars (staff time) to procure one project (see core.projects)
    evidence_stance: str = "full"
    layer_names: dict[str, str] = field(default_factory=dict)  # PASS layer id -> its name
    component_names: dict[str, str] = field(default_factory=dict)  # PASS component id -> its name
    campus_lead: dict[str, str] = field(default_factory=dict)  # site on a shared campus -> the campus's first site
    least_value_per_1000: float = 0.0
    years_after: int = 0  # years after the horizon in which the plan's end state is kept and counted
    discount_rate: float = 0.0

    @property
    def time(self) -> TimeWeights:
        """How much each year of protection counts in the objective."""
        return TimeWeights(len(self.years), self.years_after, self.discount_rate)
    threat_names: dict[str, str] = field(default_factory=dict)

    @cached_property
    def keeping_costs(self) -> np.ndarray:
        """Yearly cost, in dollars, of keeping each candidate in service after the horizon: its
        recurring cost plus its capital spread evenly over its useful life (what renewing it
        when its life ends costs a year, on average)."""
        cand = self.candidates
        return (cand["annual"].to_numpy(dtype=float)
                + cand["capital"].to_numpy(dtype=float) / cand["useful_life"].to_numpy(dtype=float))

    def capital_shares(self) -> dict[int, float]:
        """Each fiscal year's share of the local capital budget: the scenario's own proportions
        (even shares when its budgets are all zero). A budget over the horizon is spread so."""
        whole = sum(self.capital_budget.values())
        if whole > 0:
            return {t: b / whole for t, b in self.capital_budget.items()}
        return {t: 1 / len(self.capital_budget) for t in self.capital_budget}

    @property
    def continuing_sources(self) -> list[Source]:
        """Sources that keep paying after the horizon, and so pay their share of keeping the
        plan's end state in service then (``Source.continues``)."""
        return [s for s in self.sources if s.continues]

    def after_payable(self, source_ids) -> np.ndarray:
        """Yearly cost, in dollars, of keeping each candidate in service after the horizon
        (``keeping_costs``) that one of ``source_ids`` may pay: its recurring cost where one may
        pay its recurring costs, its renewal where one may pay its capital."""
        ids = set(source_ids)
        cand = self.candidates

        def payable(column: str, classes: dict[int, tuple[str, ...]]) -> np.ndarray:
            ok = {q: bool(ids.intersection(sig)) for q, sig in classes.items()}
            return np.array([ok[int(q)] for q in cand[column]], dtype=bool)

        renewal = cand["capital"].to_numpy(dtype=float) / cand["useful_life"].to_numpy(dtype=float)
        return (np.where(payable("op_class", self.op_classes), cand["annual"].to_numpy(dtype=float), 0.0)
                + np.where(payable("cap_class", self.cap_classes), renewal, 0.0))

    def purchases(self, c: int, year: int) -> range:
        """Fiscal years in the horizon in which candidate row ``c``, installed in ``year``, is
        bought: that year, and again each time its useful life ends (a three-year training
        bought in 2027 is bought again in 2030)."""
        return range(year, self.years[-1] + 1, int(self.lives[c]))

    @cached_property
    def lives(self) -> np.ndarray:
        """Each candidate's useful life in whole years (at least one)."""
        return np.maximum(1, self.candidates["useful_life"].to_numpy(dtype=int))

    def serving(self, site_id: str, layer: str) -> tuple[str, ...]:
        """Places whose measures of ``layer`` count at a site: the site, district-wide, and for
        the campus layer of a site on a shared campus, the campus's first site."""
        lead = self.campus_lead.get(site_id, site_id) if layer == CAMPUS_LAYER else site_id
        return (site_id, DISTRICT) if lead == site_id else (site_id, lead, DISTRICT)

    def may_pay(self, src: Source, c: int, kind: str) -> Ruling:
        """Whether ``src`` may pay candidate row ``c``'s ``capital`` or ``annual`` cost, and
        why not: the program's rules and the award's scope (measure ruling), its sites, its
        recurring-cost rule and supplement-not-supplant."""
        measure_id, site_id, mandated = self._payee_columns
        return _may_pay(src, self.rulings[src.id, measure_id[c]], site_id[c], bool(mandated[c]), kind,
                        self.supplement_not_supplant)

    @cached_property
    def _payee_columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The candidates' measure, site and mandated columns as arrays (``may_pay`` reads one
        row of them per call, by the thousand when a plan is checked)."""
        cand = self.candidates
        return cand["measure_id"].to_numpy(), cand["site_id"].to_numpy(), cand["mandated"].to_numpy()

    @property
    def last_year(self) -> int:
        """Last fiscal year of the horizon."""
        return self.years[-1]


def _source_years(src: FundingSource, program: FundingProgram | None, years: list[int]) -> tuple[int, ...]:
    first = src.first_year or years[0]
    last = src.last_year
    if last is None and program is not None:
        if program.spend_by is not None:
            last = program.spend_by.year + (1 if program.spend_by.month >= 7 else 0)
        elif program.period_months:
            last = first + math.ceil(program.period_months / 12) - 1
    last = years[-1] if last is None else last
    return tuple(y for y in years if first <= y <= last)


AFTER_COMPLIANCE = "after_compliance"
CANDIDATE_COLUMNS = ["measure_id", "site_id", "scope", "layer", "component", "role", "tier", "effectiveness",
                     "key", "quantity", "capital", "annual", "forbidden", "must", "mandated", "budget_category",
                     "name", "alternative_group", "prerequisite_ids", "not_before", "unit", "assessment", "useful_life",
                     "project", "capital_low", "capital_high", "annual_low", "annual_high"]


def _scope_ruling(key: str, fs: FundingSource, ruling: Ruling, measure: Measure,
                  earmark: tuple[str, frozenset[str]] | None) -> Ruling:
    """Narrow a program's ruling by the award's scope in the scenario."""
    where = f"scenario funding_sources.{key}"
    if not ruling.allowed:
        return ruling
    eligible = fs.eligible_measures if fs.eligible_measures is not None else fs.project
    if eligible is not None and measure.id not in eligible:
        return Ruling(False, "outside the award's approved project (its "
                      + ("eligible_measures)" if fs.eligible_measures is not None else "project)"), where)
    if measure.id in fs.excluded_measures:
        return Ruling(False, "excluded from this award by the scenario (excluded_measures)", where)
    if fs.program and fs.eligible_categories is not None and not set(fs.eligible_categories) & set(measure.funding_categories):
        return Ruling(False, "outside the award's approved budget categories (its eligible_categories)", where)
    if earmark is not None and measure.id not in earmark[1]:
        return Ruling(False, f"the money is earmarked for the mandate '{earmark[0]}'", where)
    return ruling


def _may_pay(src: Source, ruling: Ruling, site_id: str, mandated: bool, kind: str,
             sns: bool) -> Ruling:
    """A measure's ruling for one source, narrowed by the award's sites, its recurring-cost
    rule and supplement-not-supplant."""
    if not ruling.allowed:
        return ruling
    if src.sites is not None and site_id not in src.sites:
        return Ruling(False, "the award's approved sites do not include "
                      + ("district-wide items" if site_id == DISTRICT else f"site {site_id}"),
                      f"scenario funding_sources.{src.id}.sites")
    if kind == "annual" and not src.recurring_allowed:
        return Ruling(False, "the program does not pay recurring costs (subscriptions, salaries, "
                      "service fees); they fall on the operating budget")
    if src.federal and src.supplement_not_supplant and mandated and sns and src.earmark is None:
        return Ruling(False, "federal money supplements and may not supplant what state law "
                      "already requires (supplement-not-supplant); the mandate is paid from "
                      "state or local money")
    return ruling


def _mandate_titles(scenario: Scenario, catalog: Catalog) -> dict[str, tuple[str, frozenset[str]]]:
    """Every mandate the scenario can name (any state's, and its own): id -> (title, measures)."""
    out = {m.id: (m.title, frozenset(m.measures)) for p in catalog.states.values() for m in p.mandates}
    out.update({k: (m.title, frozenset(m.measures)) for k, m in scenario.mandates.extra.items()})
    return out


def _custom_rules(key: str, src: FundingSource, year: int) -> list[AllowRule]:
    """A custom source (no catalog program) pays for the cost types the scenario lists."""
    if not src.eligible_categories:
        return []
    return [AllowRule(effect="allow", cost_types=src.eligible_categories, reason="the scenario's own terms for this money",
                      citation=f"scenario funding_sources.{key}.eligible_categories", year=year, basis="primary")]


def _sources(scenario: Scenario, catalog: Catalog, notes: list[str],
             rulings: dict[tuple[str, str], Ruling]) -> list[Source]:
    out = []
    mandates = _mandate_titles(scenario, catalog)
    for key, src in scenario.funding_sources.items():
        if not src.awarded:
            continue
        program = catalog.programs.get(src.program) if src.program else None
        if program is not None and not program.public_schools_eligible:
            notes.append(f"funding source {key}: {program.name} is not open to public schools; ignored")
            continue
        level = src.level or (program.level if program else "local")
        rate = src.match_rate if src.match_rate is not None else (program.match_rate if program else 0.0)
        if program is not None and rate != program.match_rate:
            notes.append(f"funding source {key}: local match {rate:.0%} where {program.name} asks "
                         f"{program.match_rate:.0%}" + (" (more than the minimum, by the district's choice)"
                                                         if rate > program.match_rate else " (needs the waiver granted)"))
        # the award's own period decides, not the catalog's date: a program closed to new
        # applications still pays the awards it made, in the years they were made for
        years = _source_years(src, program, scenario.horizon.fiscal_years)
        if not years:
            notes.append(f"funding source {key}: no fiscal year of the horizon is inside its period "
                         f"(the award's first_year/last_year, else the program's spend-by date or period); "
                         f"{src.amount:,.0f} left out")
            continue
        rules = program.rules if program else _custom_rules(key, src, scenario.horizon.start)
        earmark = mandates[src.earmark] if src.earmark else None
        for m in catalog.measures.values():
            rulings[key, m.id] = _scope_ruling(key, src, rule_on(rules, m.id, m.funding_categories), m, earmark)
        limits = tuple(SourceLimit(lim.id, lim.share, frozenset(
            m.id for m in catalog.measures.values() if lim.covers(m.id, frozenset(m.funding_categories))),
            f"{lim.reason} ({lim.citation})") for lim in (program.limits if program else []))
        first = frozenset(measure for mandate_id in (program.compliance_first if program else [])
                          for measure in mandates.get(mandate_id, ("", frozenset()))[1])
        out.append(Source(
            id=key, name=src.name or (program.name if program else key),
            program=program.id if program else None, federal=level == "federal",
            amount=src.amount, per_year=src.amount_per == "year", years=years,
            recurring_allowed=bool(src.recurring if src.recurring is not None else
                                   program is not None and program.recurring_costs_allowed),
            sites=None if src.sites is None else frozenset(src.sites), earmark=src.earmark,
            match_rate=rate, match_basis=(program.match_basis if program else "federal_share"),
            supplement_not_supplant=(program.supplement_not_supplant if program else level == "federal"),
            limits=limits, compliance_measures=first,
            continues=_continues(src, program, years, scenario.horizon.fiscal_years[-1], rate),
        ))
    return out


def _continues(src, program, years: tuple[int, ...], last_year: int, match_rate: float) -> bool:
    """Whether a source keeps paying after the horizon: as the scenario says, else when it is a
    yearly allocation of a program allocated every year by law (the Texas allotment, Title IV-A),
    paid through the horizon's last year; never when it asks a local match (that is local money)."""
    said = src.continues if src.continues is not None else (
        program is not None and program.annual and src.amount_per == "year")
    return bool(said) and years[-1] == last_year and match_rate == 0


def _lanes(site: Site) -> int:
    """Screening lanes the school counted, else one per STUDENTS_PER_SCREENING_LANE students."""
    if site.screening_lanes is not None:
        return site.screening_lanes
    return math.ceil(site.enrollment / STUDENTS_PER_SCREENING_LANE) if site.enrollment else 0


def _count(measure: Measure, site: Site | None, sites: list[Site]) -> float:
    basis = measure.unit_basis
    if basis in ("school", "district"):
        return 1 if site is not None or basis == "district" else len(sites)
    if basis == "screening_lane":
        return _lanes(site) if site is not None else sum(_lanes(s) for s in sites)
    attr = {"exterior_door": "exterior_doors", "entrance": "entrances", "classroom": "classrooms",
            "camera_position": "camera_positions", "student": "enrollment", "staff": "staff",
            "glazing_sqft": "glazing_sqft"}[basis]
    return getattr(site, attr) if site is not None else sum(getattr(s, attr) for s in sites)


@dataclass(frozen=True)
class _MandateSpec:
    """A mandate that applies to the scenario (state profile or the scenario's own)."""

    id: str
    title: str
    strength: str
    deadline: int | None
    measures: tuple[str, ...]
    reach: str
    source: str
    sites: tuple[str, ...] | None = None  # an award's project: only at the award's sites


def _mandate_specs(scenario: Scenario, catalog: Catalog, notes: list[str]) -> list[_MandateSpec]:
    """The state profile's mandates plus the scenario's own."""
    specs = [_MandateSpec(m.id, m.title, m.strength, m.deadline_fiscal_year(), tuple(m.measures), m.applies_to,
                          m.source) for m in state_mandates(scenario, catalog)]
    if scenario.state and scenario.state not in catalog.states:
        notes.append(f"the catalog has no mandate profile for {scenario.state}: no state rules were "
                     "applied; add the state's mandates under mandates.extra or to catalog/state_mandates.yaml")
    specs += [_MandateSpec(key, m.title, m.strength, m.deadline_year, tuple(m.measures), m.applies_to,
                           f"scenario mandates.extra.{key}") for key, m in scenario.mandates.extra.items()]
    return specs


def campuses(scenario: Scenario) -> dict[str, list[str]]:
    """Sites sharing a campus, by the campus's first site (in the scenario's order): its
    campus-layer measures are bought there once and serve every site on it."""
    by_campus: dict[str, list[str]] = {}
    for s in scenario.sites:
        if s.campus is not None:
            by_campus.setdefault(s.campus, []).append(s.id)
    return {ids[0]: ids for ids in by_campus.values() if len(ids) > 1}


def _place_of(measure: Measure, site_id: str, lead_of: dict[str, str]) -> str:
    """Where a measure that serves ``site_id`` is a candidate: district-wide, at the first site
    of the site's campus (a campus-layer measure on a shared campus), or at the site."""
    if measure.scope != "site":
        return DISTRICT
    return lead_of.get(site_id, site_id) if measure.layer == CAMPUS_LAYER else site_id


def _candidates(scenario: Scenario, catalog: Catalog, specs: list[_MandateSpec], years: list[int],
                shared: dict[str, list[str]], notes: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every measure at every place it fits: the candidates (with their quantity, cost, unit and
    whether they are forbidden, must or mandated) and the measures already in place."""
    stance = STANCE_WEIGHTS[scenario.policy.evidence_stance]
    mandated_ids = {mid for spec in specs if spec.strength == "must" for mid in spec.measures}
    banned_ids = {mid: spec.title for spec in specs if spec.strength == "must_not" for mid in spec.measures}
    forbidden_picks = {(p.measure, p.site) for p in scenario.must_not}
    must_picks = {(p.measure, p.site) for p in scenario.must}
    overrides = {(o.measure, o.site): o for o in scenario.cost_overrides}

    existing_rows, rows = [], []
    unsized: set[str] = set()
    forced: dict[str, Measure] = {}  # discouraged or harmful measures a must list insists on
    district_in_place = set(scenario.district_in_place)
    places: list[tuple[Site | None, str]] = [(s, s.id) for s in scenario.sites] + [(None, DISTRICT)]
    lead_of = {member: lead for lead, members in shared.items() for member in members}
    # an award's project is procured as one project; other purchases by PASS component (core.projects)
    award_of = {mid: f"{AWARD_PROJECT}{key}" for key, fs in reversed(scenario.funding_sources.items())
                for mid in fs.project or []}
    by_id = {s.id: s for s in scenario.sites}
    for measure in catalog.measures.values():
        layer = catalog.layer_of(measure)
        for site, place in places:
            if (measure.scope == "site") != (site is not None):
                continue
            if site is not None and site.kind not in measure.site_kinds:
                continue
            if site is not None and _place_of(measure, place, lead_of) != place:
                continue  # bought once for the campus, at its first site
            on_campus = [by_id[s] for s in shared.get(place, [])] if measure.layer == CAMPUS_LAYER else []
            in_place = measure.id in (site.in_place if site else district_in_place) or any(
                measure.id in s.in_place for s in on_campus)
            base = dict(measure_id=measure.id, site_id=place, scope=measure.scope, layer=layer,
                        component=measure.component, role=measure.role, tier=measure.tier or 0,
                        effectiveness=measure.effectiveness * stance[measure.evidence])
            # An in-place measure with an install year stops counting at the end of its
            # useful life: already spent before the horizon, it is simply a candidate again;
            # spent inside the horizon, it counts until then and its replacement is a
            # candidate from that year on.
            installed = next((s.installed[measure.id] for s in on_campus if measure.id in s.installed),
                             (site.installed if site else scenario.district_installed).get(measure.id))
            until = installed + measure.useful_life if in_place and installed is not None else None
            if until is not None and until <= years[0]:
                notes.append(f"{site.name if site else 'District-wide'}: {measure.name} (installed {installed}) "
                             f"reached the end of its "
                             f"{measure.useful_life}-year useful life in {until}; it no longer counts and its "
                             "replacement is a candidate")
                in_place = False
            if in_place:
                existing_rows.append(dict(base, until=until if until is not None and until <= years[-1] else 0))
                if not until or until > years[-1]:
                    continue
            not_before = until if in_place else 0
            quantity = measure.quantity(_count(measure, site, scenario.sites), scenario.reach.get(measure.id))
            if quantity <= 0:
                if measure.unit_basis == "glazing_sqft":
                    unsized.add(measure.name)
                continue
            unit = UNIT_LABELS[measure.unit_basis]
            if measure.unit_basis == "screening_lane" and site is not None and site.screening_lanes is None:
                unit += f" (estimated, one per {STUDENTS_PER_SCREENING_LANE} students)"
            override = overrides.get((measure.id, place)) or overrides.get((measure.id, None))
            # a district's own quote is its price: no range around it
            quoted_capital = override is not None and override.capital is not None
            quoted_annual = override is not None and override.annual is not None
            unit_capital = override.capital if quoted_capital else measure.capital_typical
            unit_annual = override.annual if quoted_annual else measure.annual_cost
            capital_range = (unit_capital, unit_capital) if quoted_capital else (measure.capital_low, measure.capital_high)
            annual_range = (unit_annual, unit_annual) if quoted_annual else (measure.annual_low, measure.annual_high)
            must = (measure.id, place) in must_picks or (measure.id, None) in must_picks
            forbidden = ""
            if (measure.id, place) in forbidden_picks or (measure.id, None) in forbidden_picks:
                forbidden = "on the scenario's must-not list"
            elif measure.id in banned_ids:
                forbidden = f"prohibited: {banned_ids[measure.id]}"
            elif measure.discouraged and not must:
                forbidden = f"discouraged by guidance: {measure.discouraged_reason}"
            elif must and (measure.discouraged or measure.evidence == "harmful"):
                forced[measure.id] = measure
            # in whole cents, as it is paid: the solver's money and the plan's cents then add up
            # alike (a robustness draw's fractional-cent prices left a match 3 cents short)
            rows.append(dict(base, key=f"{measure.id}@{place}", quantity=quantity,
                             capital=round(quantity * unit_capital, 2), annual=round(quantity * unit_annual, 2),
                             forbidden=forbidden, must=must, mandated=measure.id in mandated_ids,
                             budget_category=measure.budget_category, name=measure.name,
                             alternative_group=measure.alternative_group or "",
                             prerequisite_ids=tuple(measure.prerequisite_options), not_before=not_before,
                             unit=unit, assessment=measure.assessment, useful_life=measure.useful_life,
                             project=award_of.get(measure.id, measure.component),
                             capital_low=round(quantity * capital_range[0], 2),
                             capital_high=round(quantity * capital_range[1], 2),
                             annual_low=round(quantity * annual_range[0], 2),
                             annual_high=round(quantity * annual_range[1], 2)))
    for measure in forced.values():
        harm = "; it counts as no protection" if measure.evidence == "harmful" else ""
        notes.append(f"warning: {measure.name} is in the plan only because the scenario's must list asks for it; "
                     f"guidance recommends against it ({measure.discouraged_reason or 'studies show harm'}){harm}")
    if unsized:
        notes.append(f"{', '.join(sorted(unsized))}: priced by square foot of glazing; not planned at schools "
                     "whose glazing area is not given (sites column glazing_sqft)")
    cand = pd.DataFrame(rows, columns=CANDIDATE_COLUMNS).reset_index(drop=True)
    existing = pd.DataFrame(existing_rows, columns=["measure_id", "site_id", "scope", "layer",
                                                    "component", "role", "tier", "effectiveness", "until"])
    return plain_text(cand), plain_text(existing)


def plain_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its text columns holding Python strings: the model builder, the greedy
    plan, the verifier and the reports read them one element at a time, which is several times
    slower from pandas's Arrow-backed strings."""
    text = {column: object for column, dtype in frame.dtypes.items() if isinstance(dtype, pd.StringDtype)}
    return frame.astype(text) if text else frame


def _funding_classes(cand: pd.DataFrame, sources: list[Source], rulings: dict, sns: bool):
    """Candidates that the same sources may pay, with the same limits and compliance standing,
    share funding variables: sets ``cap_class`` and ``op_class`` on ``cand`` and returns, per
    kind of cost, the sources of each class and their limit tags."""

    def signature(mid: str, site_id: str, mandated: bool, kind: str) -> tuple:
        sig = []
        for src in sources:
            if _may_pay(src, rulings[src.id, mid], site_id, mandated, kind, sns).allowed:
                tags = {lim.id for lim in src.limits if mid in lim.measures}
                if src.compliance_measures and mid not in src.compliance_measures:
                    tags.add(AFTER_COMPLIANCE)
                sig.append((src.id, tuple(sorted(tags))))
        return tuple(sig)

    triples = list(zip(cand["measure_id"], cand["site_id"], cand["mandated"]))
    class_maps = {}
    for kind, column in (("capital", "cap_class"), ("annual", "op_class")):
        sigs = [signature(mid, site_id, mandated, kind) for mid, site_id, mandated in triples]
        classes = {i: sig for i, sig in enumerate(sorted(set(sigs)))}
        index = {sig: i for i, sig in classes.items()}
        cand[column] = [index[sig] for sig in sigs]
        class_maps[kind] = ({q: tuple(sid for sid, _ in sig) for q, sig in classes.items()},
                            {q: {sid: frozenset(tags) for sid, tags in sig} for q, sig in classes.items()})
    return class_maps["capital"], class_maps["annual"]


def _prerequisites(cand: pd.DataFrame, existing: pd.DataFrame, catalog: Catalog,
                   lead_of: dict[str, str]) -> list[tuple[int, tuple[int, ...]]]:
    """Each prerequisite not in place, resolved to the candidate rows that satisfy it at the
    place (any one of them, for a prerequisite with options; a campus measure at the
    campus's first site, ``lead_of``)."""
    row_of = {(m, s): i for i, (m, s) in enumerate(zip(cand["measure_id"], cand["site_id"]))}
    have = set(zip(existing["measure_id"], existing["site_id"]))
    out = []
    for i, (prerequisites, site_id) in enumerate(zip(cand["prerequisite_ids"], cand["site_id"])):
        for options in prerequisites:
            places = [(pre, _place_of(catalog.measures[pre], site_id, lead_of)) for pre in options]
            if not any(place in have for place in places):
                out.append((i, tuple(row_of[place] for place in places if place in row_of)))
    return out


def _tier_links(cand: pd.DataFrame, existing: pd.DataFrame, tier_order: str) -> list[tuple[int, tuple[int, ...]]]:
    """Tier order: a tier-k candidate needs a tier k-1 measure of the same layer (and component
    when strict) at its site or district-wide, no later. An award's project is bought as
    awarded: its measures do not wait for the tiers below them (the district and the grantor
    scoped it; the tiers stay the roadmap for everything else)."""
    if tier_order == "off":
        return []
    awarded = cand["project"].str.startswith(AWARD_PROJECT).to_numpy()
    strict = tier_order == "strict"
    key_cols = ["layer", "component"] if strict else ["layer"]
    lower: dict[tuple, list[int]] = {}
    for i, row in enumerate(cand[["site_id", "tier", *key_cols]].itertuples(index=False)):
        lower.setdefault((row[0], row[1], *row[2:]), []).append(i)
    have_tier = {(r.site_id, r.tier, r.layer, r.component) if strict else (r.site_id, r.tier, r.layer)
                 for r in existing.itertuples(index=False)}
    links = []
    for i, row in enumerate(cand[["site_id", "scope", "tier", *key_cols]].itertuples(index=False)):
        site_id, scope, tier, rest = row[0], row[1], row[2], tuple(row[3:])
        if tier < 2 or awarded[i]:
            continue
        places_ok = [site_id, DISTRICT] if scope == "site" else [DISTRICT]
        if any((p, tier - 1, *rest) in have_tier for p in places_ok):
            continue
        links.append((i, tuple(j for p in places_ok for j in lower.get((p, tier - 1, *rest), []))))
    return links


def _alternatives(cand: pd.DataFrame, existing: pd.DataFrame, catalog: Catalog) -> list[tuple[tuple[int, ...], int]]:
    """Alternative groups: at most one per place; an existing member leaves room for none."""
    out = []
    alt = cand[cand["alternative_group"] != ""]
    existing_groups = {(catalog.measures[r.measure_id].alternative_group, r.site_id)
                       for r in existing[existing["until"] == 0].itertuples(index=False)
                       if catalog.measures[r.measure_id].alternative_group}
    for (group, site_id), rows_ in alt.groupby(["alternative_group", "site_id"]).groups.items():
        members = tuple(int(r) for r in rows_)
        room = 0 if (group, site_id) in existing_groups else 1
        if len(members) > room:
            out.append((members, room))
    return out


class _MandatePlaces:
    """Where a mandate's measures are, for each place it applies to: candidate rows, places
    met already, and places met by ageing measures (met only until their useful life ends;
    then one of the options, the replacement among them, must be in place)."""

    def __init__(self, cand: pd.DataFrame, existing: pd.DataFrame, site_ids: list[str], lead_of: dict[str, str],
                 campus_measures: set[str], site_kind: dict[str, str], kinds_served: dict[str, list[str]]):
        self.row_of = {(m, s): i for i, (m, s) in enumerate(zip(cand["measure_id"], cand["site_id"]))}
        self.ends = {(r.measure_id, r.site_id): int(r.until) for r in existing.itertuples(index=False)}
        for site, lead in lead_of.items():  # a campus measure at a site is the one at its campus's first site
            for table in (self.row_of, self.ends):
                table.update({(m, site): value for (m, place), value in list(table.items())
                              if place == lead and m in campus_measures})
        self.site_ids = site_ids
        self.site_kind, self.kinds_served = site_kind, kinds_served

    def __call__(self, measure_ids, reach, sites: tuple[str, ...] | None = None):
        # a law for every school does not reach a bus garage: only sites of a kind one of its measures serves
        targets = (list(sites) if sites is not None else
                   [s for s in self.site_ids if any(self.site_kind[s] in self.kinds_served.get(m, ("school",))
                                                    for m in measure_ids)]
                   if reach == "every_site" else [DISTRICT])
        place_rows, met, renewals = [], [], []
        for place in targets:
            options_places = ([place, DISTRICT] if place != DISTRICT
                              else [*self.site_ids, DISTRICT] if reach == "any_site" else [DISTRICT])
            options = tuple(self.row_of[(m, p)] for m in measure_ids for p in options_places
                            if (m, p) in self.row_of)
            lasts = [self.ends[m, p] for m in measure_ids for p in options_places if (m, p) in self.ends]
            if not lasts:
                place_rows.append((place, options))
                continue
            met.append(place)
            if 0 not in lasts:
                renewals.append((place, max(lasts), options))
        return place_rows, met, renewals


def _mandate_rules(specs: list[_MandateSpec], places: _MandatePlaces, years: list[int],
                   notes: list[str]) -> list[MandateRule]:
    """The ``must`` mandates as rules on the plan, each due by its deadline within the horizon."""
    rules = []
    for spec in specs:
        if spec.strength != "must":
            continue
        deadline = spec.deadline
        if deadline is None:
            notes.append(f"{spec.title}: the law's compliance date is not confirmed in the "
                         f"catalog; planned as due by fiscal year {years[0]}")
            deadline = years[0]
        by_year = None if deadline > years[-1] else max(deadline, years[0])
        if deadline < years[0]:
            notes.append(f"{spec.title} was due in fiscal year {deadline}: "
                         f"planned for {years[0]} at the latest")
        place_rows, met, renewals = places(spec.measures, spec.reach, spec.sites)
        rules.append(MandateRule(spec.id, spec.title, spec.strength, deadline, by_year, tuple(place_rows),
                                 tuple(met), tuple(renewals), source=spec.source))
    return rules


def _award_projects(scenario: Scenario, catalog: Catalog, sources: list[Source]) -> list[_MandateSpec]:
    """Each award made for a project, as rules on the plan: every measure of the project in
    place at the award's sites (else at every site of a kind the measure serves: a support
    building gets no classroom measure; district-wide for a district measure) by the award's
    last fiscal year, so that the award is spent on what it was given for. Not a mandate:
    federal money may pay for it (supplement-not-supplant does not apply)."""
    specs = []
    for src in sources:
        for mid in scenario.funding_sources[src.id].project or []:
            measure = catalog.measures[mid]
            district = measure.scope == "district"
            sites = (tuple(sorted(src.sites)) if src.sites is not None else
                     tuple(s.id for s in scenario.sites if s.kind in measure.site_kinds))
            specs.append(_MandateSpec(f"award-{src.id}-{mid}", f"{src.name}: the project it was awarded for "
                                      f"({measure.name})", "must", src.years[-1], (mid,),
                                      "district" if district else "every_site",
                                      f"scenario funding_sources.{src.id}.project", None if district else sites))
    return specs


def _compliance(scenario: Scenario, catalog: Catalog, sources: list[Source], places: _MandatePlaces) -> dict:
    """Compliance first: a source pays for other items in a year only once every place of the
    compliance mandates its program names is met by then."""
    by_id = {m.id: m for p in catalog.states.values() for m in p.mandates}
    compliance = {}
    for src in sources:
        program = catalog.programs.get(scenario.funding_sources[src.id].program or "")
        if program is not None and program.compliance_first:
            compliance[src.id] = tuple(pr for mid in program.compliance_first if mid in by_id
                                       for pr in places(by_id[mid].measures, by_id[mid].applies_to)[0])
    return compliance


def _risk(scenario: Scenario, catalog: Catalog, cand: pd.DataFrame, existing: pd.DataFrame,
          shared: dict[str, list[str]]):
    """Risk groups, cells and log-effects (``core.risk``); the scenario's layer, component and
    role weights scale a measure's log-effect."""
    w = scenario.weights
    scale = {}
    for frame in (cand, existing):
        for mid, layer, comp, role in frame[["measure_id", "layer", "component", "role"]].drop_duplicates().itertuples(index=False):
            scale[mid] = w.layers.get(layer, 1.0) * w.components.get(comp, 1.0) * w.roles.get(role, 1.0)
    serves = {(mid, lead): sites for lead, sites in shared.items()
              for mid, measure in catalog.measures.items() if measure.layer == CAMPUS_LAYER}
    frames = risk_structure(scenario.sites, catalog.threats, catalog.measures, cand, existing, w.threats, scale,
                            EVIDENCE_BANDS, STANCE_WEIGHTS[scenario.policy.evidence_stance], DISTRICT, serves)
    return tuple(plain_text(frame) for frame in frames)


def expand(inputs: Inputs) -> Problem:
    """Expand a checked scenario and catalog into a :class:`Problem`, one builder per concern:
    mandates that apply, candidates and what is in place, funding classes, prerequisites and
    tier links, alternatives, mandate rules and compliance, risk by threat.

    Parameters
    ----------
    inputs : Inputs
        A scenario and the catalog it was checked against (see ``load_inputs``).

    Returns
    -------
    Problem
        Candidates, risk by threat and rules, ready for the model builder and the verifier.
    """
    scenario, catalog = inputs.scenario, inputs.catalog
    years = scenario.horizon.fiscal_years
    notes: list[str] = []
    rulings: dict[tuple[str, str], Ruling] = {}
    sources = _sources(scenario, catalog, notes, rulings)
    specs = _mandate_specs(scenario, catalog, notes)
    shared = campuses(scenario)
    lead_of = {site: lead for lead, sites in shared.items() for site in sites}
    cand, existing = _candidates(scenario, catalog, specs, years, shared, notes)
    if len(cand) > MAX_CANDIDATES:
        raise InputError([InputProblem(str(inputs.path), "sites", "sites", f"{len(cand):,} candidates",
                                       f"at most {MAX_CANDIDATES:,} measure-and-site candidates in one "
                                       "plan; plan a larger district in parts (by region or school level)")])
    sns = scenario.mandates.supplement_not_supplant
    (cap_classes, cap_tags), (op_classes, op_tags) = _funding_classes(cand, sources, rulings, sns)
    places = _MandatePlaces(cand, existing, [s.id for s in scenario.sites], lead_of,
                            {mid for mid, measure in catalog.measures.items() if measure.layer == CAMPUS_LAYER},
                            {s.id: s.kind for s in scenario.sites},
                            {mid: measure.site_kinds for mid, measure in catalog.measures.items()})
    groups, cells, cell_members, cell_in_place = _risk(scenario, catalog, cand, existing, shared)
    policy = scenario.policy
    return Problem(
        scenario_name=scenario.name, edition=catalog.edition, years=years, sites=scenario.sites,
        candidates=cand, existing=existing, groups=groups, cells=cells, cell_members=cell_members,
        cell_in_place=cell_in_place,
        prerequisites=_prerequisites(cand, existing, catalog, lead_of), tier_links=_tier_links(cand, existing, policy.tier_order),
        alternatives=_alternatives(cand, existing, catalog),
        mandates=_mandate_rules(specs + _award_projects(scenario, catalog, sources), places, years, notes),
        musts=[int(i) for i in cand.index[cand["must"]]], sources=sources, cap_classes=cap_classes,
        op_classes=op_classes, capital_budget=scenario.budget.per_year("capital", years),
        operating_budget=scenario.budget.per_year("operating", years),
        total_budget=scenario.budget.total, carry_over=scenario.budget.carry_over,
        layer_share={k: (v.min, v.max) for k, v in policy.layer_share.items()},
        equity=policy.equity, tier_order=policy.tier_order, objective=policy.objective,
        target_tier=policy.target_tier, layers=catalog.taxonomy.layer_ids,
        components=catalog.taxonomy.component_ids, notes=notes, rulings=rulings, cap_tags=cap_tags,
        op_tags=op_tags, compliance=_compliance(scenario, catalog, sources, places), supplement_not_supplant=sns,
        dollar_year=catalog.dollar_year, max_projects=policy.max_projects, project_cost=policy.project_cost,
        least_value_per_1000=policy.least_value_per_1000, years_after=policy.years_after_horizon,
        discount_rate=policy.discount_rate,
        threat_names={t.id: t.name for t in catalog.threats.values()},
        evidence_stance=policy.evidence_stance,
        layer_names={layer.id: layer.name for layer in catalog.taxonomy.layers},
        component_names={c.id: c.name for c in catalog.taxonomy.components},
        campus_lead=lead_of,
    )
