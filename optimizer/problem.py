"""Expansion of a scenario and its catalog into a solver-free Problem: candidates (measure x
site, or once district-wide) with quantities and costs, coverage groups, and every rule as
plain data. The model is built only from a Problem; the verifier reads only a Problem and a
Plan."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from .catalog import Catalog
from .funding import FundingProgram
from .inputs import Inputs
from .measures import Measure
from .scenario import FundingSource, Scenario, Site

DISTRICT = "district"

#: Diminishing returns of coverage: value = min over (slope * coverage + intercept), capped
#: at 1. Full value 1 is reached at a raw coverage of 5/3.
COVERAGE_SEGMENTS: tuple[tuple[float, float], ...] = ((1.0, 0.0), (0.6, 0.2), (0.3, 0.5))


def coverage_value(raw: float) -> float:
    """Value of a raw coverage sum after diminishing returns, capped at 1."""
    return min([1.0] + [slope * raw + icpt for slope, icpt in COVERAGE_SEGMENTS])


@dataclass(frozen=True)
class Source:
    """A funding source as the model sees it (awarded sources only)."""

    id: str
    name: str
    federal: bool
    amount: float
    per_year: bool
    years: tuple[int, ...]
    categories: frozenset[str]
    excluded: frozenset[str]
    recurring_allowed: bool
    only_measures: frozenset[str] | None
    excluded_measures: frozenset[str]
    match_rate: float
    match_basis: str
    supplement_not_supplant: bool

    @property
    def award_over_horizon(self) -> float:
        """Dollars the source can pay over the horizon (an annual allocation once a year)."""
        return self.amount * (len(self.years) if self.per_year else 1)

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


@dataclass
class Problem:
    """All data of one planning problem, free of any solver object.

    Attributes
    ----------
    candidates : DataFrame
        One row per measure x site (site scope) or measure x district (district scope) that
        is not already in place. Columns: key, measure_id, site_id, scope, layer, component,
        tier, quantity, capital, annual, effectiveness, cap_class, op_class, forbidden,
        mandated, budget_category, name.
    groups : DataFrame
        Coverage groups (site x layer x component) with weight (site risk x layer weight x
        component weight) and existing coverage.
    group_members : DataFrame
        (group, candidate row) pairs: which candidates add coverage to which group.
    """

    scenario_name: str
    edition: int
    years: list[int]
    sites: list[Site]
    candidates: pd.DataFrame
    existing: pd.DataFrame
    groups: pd.DataFrame
    group_members: pd.DataFrame
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


def _sources(scenario: Scenario, catalog: Catalog, notes: list[str]) -> list[Source]:
    out = []
    for key, src in scenario.funding_sources.items():
        if not src.awarded:
            continue
        program = catalog.programs.get(src.program) if src.program else None
        if program is not None and not program.public_schools_eligible:
            notes.append(f"funding source {key}: {program.name} is not open to public schools; ignored")
            continue
        level = src.level or (program.level if program else "local")
        rate = src.match_rate if src.match_rate is not None else (program.match_rate if program else 0.0)
        years = _source_years(src, program, scenario.horizon.fiscal_years)
        if not years:
            notes.append(f"funding source {key}: no fiscal year of the horizon is inside its period; ignored")
            continue
        out.append(Source(
            id=key,
            name=src.name or (program.name if program else key),
            federal=level == "federal",
            amount=src.amount,
            per_year=bool(program and program.annual),
            years=years,
            categories=frozenset(src.eligible_categories or (program.eligible_categories if program else [])),
            excluded=frozenset(program.excluded_categories if program else []),
            recurring_allowed=program.recurring_costs_allowed if program else True,
            only_measures=None if src.eligible_measures is None else frozenset(src.eligible_measures),
            excluded_measures=frozenset(src.excluded_measures),
            match_rate=rate,
            match_basis=(program.match_basis if program else "federal_share"),
            supplement_not_supplant=(program.supplement_not_supplant if program else level == "federal"),
        ))
    return out


def _count(measure: Measure, site: Site | None, sites: list[Site]) -> float:
    basis = measure.unit_basis
    if basis in ("school", "district"):
        return 1 if site is not None or basis == "district" else len(sites)
    attr = {"exterior_door": "exterior_doors", "entrance": "entrances", "classroom": "classrooms",
            "camera_position": "camera_positions", "student": "enrollment", "staff": "staff"}[basis]
    return getattr(site, attr) if site is not None else sum(getattr(s, attr) for s in sites)


def expand(inputs: Inputs) -> Problem:
    """Expand a checked scenario and catalog into a :class:`Problem`.

    Parameters
    ----------
    inputs : Inputs
        A scenario and the catalog it was checked against (see ``load_inputs``).

    Returns
    -------
    Problem
        Candidates, coverage groups and rules, ready for the model builder and the verifier.
    """
    scenario, catalog = inputs.scenario, inputs.catalog
    years = scenario.horizon.fiscal_years
    notes: list[str] = []
    sources = _sources(scenario, catalog, notes)
    layer_w = scenario.weights.layers
    comp_w = scenario.weights.components

    # Mandates that apply: state profile plus the scenario's own.
    mandate_specs = []
    if scenario.state and scenario.mandates.state_profile and scenario.state in catalog.states:
        for m in catalog.states[scenario.state].mandates:
            mandate_specs.append((m.id, m.title, m.strength, m.deadline_fiscal_year(), m.measures, m.applies_to))
    for key, m in scenario.mandates.extra.items():
        mandate_specs.append((key, m.title, m.strength, m.deadline_year, m.measures, m.applies_to))
    mandated_ids = {mid for spec in mandate_specs if spec[2] == "must" for mid in spec[4]}
    banned_ids = {mid: spec[1] for spec in mandate_specs if spec[2] == "must_not" for mid in spec[4]}

    forbidden_picks = {(p.measure, p.site) for p in scenario.must_not}
    must_picks = {(p.measure, p.site) for p in scenario.must}
    overrides = {(o.measure, o.site): o for o in scenario.cost_overrides}

    existing_rows, rows = [], []
    district_in_place = set(scenario.district_in_place)
    places: list[tuple[Site | None, str]] = [(s, s.id) for s in scenario.sites] + [(None, DISTRICT)]
    for measure in catalog.measures.values():
        layer = catalog.layer_of(measure)
        for site, place in places:
            if (measure.scope == "site") != (site is not None):
                continue
            in_place = measure.id in (site.in_place if site else district_in_place)
            base = dict(measure_id=measure.id, site_id=place, scope=measure.scope, layer=layer,
                        component=measure.component, tier=measure.tier or 0,
                        effectiveness=measure.effectiveness)
            if in_place:
                existing_rows.append(base)
                continue
            quantity = measure.quantity(_count(measure, site, scenario.sites))
            if quantity <= 0:
                continue
            override = overrides.get((measure.id, place)) or overrides.get((measure.id, None))
            unit_capital = override.capital if override and override.capital is not None else measure.capital_typical
            unit_annual = override.annual if override and override.annual is not None else measure.annual_cost
            must = (measure.id, place) in must_picks or (measure.id, None) in must_picks
            forbidden = ""
            if (measure.id, place) in forbidden_picks or (measure.id, None) in forbidden_picks:
                forbidden = "on the scenario's must-not list"
            elif measure.id in banned_ids:
                forbidden = f"prohibited: {banned_ids[measure.id]}"
            elif measure.discouraged and not must:
                forbidden = f"discouraged by guidance: {measure.discouraged_reason}"
            rows.append(dict(base, key=f"{measure.id}@{place}", quantity=quantity,
                             capital=quantity * unit_capital, annual=quantity * unit_annual,
                             forbidden=forbidden, must=must, mandated=measure.id in mandated_ids,
                             categories=frozenset(measure.funding_categories),
                             budget_category=measure.budget_category, name=measure.name,
                             alternative_group=measure.alternative_group or "",
                             prerequisite_ids=tuple(measure.prerequisites)))
    cand = pd.DataFrame(rows).reset_index(drop=True)
    existing = pd.DataFrame(existing_rows, columns=["measure_id", "site_id", "scope", "layer",
                                                    "component", "tier", "effectiveness"])
    row_of = {(m, s): i for i, (m, s) in enumerate(zip(cand["measure_id"], cand["site_id"]))}
    have = set(zip(existing["measure_id"], existing["site_id"]))

    # Funding classes: candidates with the same eligible sources share funding variables.
    def eligible(src: Source, measure_id: str, cats: frozenset, mandated: bool, recurring: bool) -> bool:
        """May ``src`` pay this measure's capital (or, with ``recurring``, annual) cost?"""
        if recurring and not src.recurring_allowed:
            return False
        if src.federal and src.supplement_not_supplant and mandated and scenario.mandates.supplement_not_supplant:
            return False
        if measure_id in src.excluded_measures:
            return False
        if src.only_measures is not None:
            return measure_id in src.only_measures
        return bool(cats & src.categories) and not (cats & src.excluded)

    triples = list(zip(cand["measure_id"], cand["categories"], cand["mandated"]))
    cap_sig = [tuple(s.id for s in sources if eligible(s, mid, c, m, False)) for mid, c, m in triples]
    op_sig = [tuple(s.id for s in sources if eligible(s, mid, c, m, True)) for mid, c, m in triples]
    cap_classes = {i: sig for i, sig in enumerate(sorted(set(cap_sig)))}
    op_classes = {i: sig for i, sig in enumerate(sorted(set(op_sig)))}
    cap_index = {sig: i for i, sig in cap_classes.items()}
    op_index = {sig: i for i, sig in op_classes.items()}
    cand["cap_class"] = [cap_index[s] for s in cap_sig]
    cand["op_class"] = [op_index[s] for s in op_sig]

    # Prerequisites: each resolved to the candidate rows that satisfy it at this place.
    prerequisites = []
    for i, (mids, site_id) in enumerate(zip(cand["prerequisite_ids"], cand["site_id"])):
        for pre in mids:
            pre_scope = catalog.measures[pre].scope
            place = site_id if pre_scope == "site" else DISTRICT
            if (pre, place) in have:
                continue
            prerequisites.append((i, (row_of[(pre, place)],) if (pre, place) in row_of else ()))

    # Tier order: a tier-k candidate needs a tier k-1 measure of the same layer (and
    # component when strict) at its site or district-wide, no later.
    tier_links = []
    if scenario.policy.tier_order != "off":
        strict = scenario.policy.tier_order == "strict"
        key_cols = ["layer", "component"] if strict else ["layer"]
        lower: dict[tuple, list[int]] = {}
        for i, row in enumerate(cand[["site_id", "tier", *key_cols]].itertuples(index=False)):
            lower.setdefault((row[0], row[1], *row[2:]), []).append(i)
        have_tier = {(r.site_id, r.tier, r.layer, r.component) if strict else (r.site_id, r.tier, r.layer)
                     for r in existing.itertuples(index=False)}
        for i, row in enumerate(cand[["site_id", "scope", "tier", *key_cols]].itertuples(index=False)):
            site_id, scope, tier, rest = row[0], row[1], row[2], tuple(row[3:])
            if tier < 2:
                continue
            places_ok = [site_id, DISTRICT] if scope == "site" else [DISTRICT]
            if any((p, tier - 1, *rest) in have_tier for p in places_ok):
                continue
            options = tuple(j for p in places_ok for j in lower.get((p, tier - 1, *rest), []))
            tier_links.append((i, options))

    # Alternative groups: at most one per place; an existing member leaves room for none.
    alternatives = []
    alt = cand[cand["alternative_group"] != ""]
    existing_groups = {(catalog.measures[m].alternative_group, s)
                       for m, s in have if catalog.measures[m].alternative_group}
    for (group, site_id), rows_ in alt.groupby(["alternative_group", "site_id"]).groups.items():
        members = tuple(int(r) for r in rows_)
        room = 0 if (group, site_id) in existing_groups else 1
        if len(members) > room:
            alternatives.append((members, room))

    # Mandates.
    mandates = []
    for mid, title, strength, deadline, measure_ids, reach in mandate_specs:
        if strength != "must":
            continue
        by_year = None if deadline > years[-1] else max(deadline, years[0])
        if deadline < years[0]:
            notes.append(f"mandate {mid} ({title}) was due in fiscal year {deadline}: "
                         f"planned for {years[0]} at the latest")
        targets = [s.id for s in scenario.sites] if reach == "every_site" else [DISTRICT]
        place_rows, met = [], []
        for place in targets:
            options_places = [place, DISTRICT] if place != DISTRICT else [DISTRICT]
            if any((m, p) in have for m in measure_ids for p in options_places):
                met.append(place)
                continue
            place_rows.append((place, tuple(row_of[(m, p)] for m in measure_ids for p in options_places
                                            if (m, p) in row_of)))
        mandates.append(MandateRule(mid, title, strength, deadline, by_year, tuple(place_rows), tuple(met)))

    # Coverage groups: site x layer x component; district measures cover every site.
    layers = catalog.taxonomy.layer_ids
    components = catalog.taxonomy.component_ids
    group_rows = []
    site_ids = [s.id for s in scenario.sites]
    for s in scenario.sites:
        for layer in layers:
            for comp in components:
                group_rows.append((s.id, layer, comp,
                                   s.risk_weight * layer_w.get(layer, 1.0) * comp_w.get(comp, 1.0)))
    groups = pd.DataFrame(group_rows, columns=["site_id", "layer", "component", "weight"])
    gindex = {(s, l, c): i for i, (s, l, c) in enumerate(zip(groups["site_id"], groups["layer"], groups["component"]))}
    existing_cov = [0.0] * len(groups)
    for r in existing.itertuples(index=False):
        for s in (site_ids if r.site_id == DISTRICT else [r.site_id]):
            existing_cov[gindex[(s, r.layer, r.component)]] += r.effectiveness
    groups["existing"] = existing_cov
    members = []
    for i, r in enumerate(cand[["site_id", "layer", "component", "effectiveness"]].itertuples(index=False)):
        for s in (site_ids if r.site_id == DISTRICT else [r.site_id]):
            members.append((gindex[(s, r.layer, r.component)], i, r.effectiveness))
    group_members = pd.DataFrame(members, columns=["group", "candidate", "effectiveness"])

    capital_budget = scenario.budget.per_year("capital", years)
    operating_budget = scenario.budget.per_year("operating", years)
    musts = [int(i) for i in cand.index[cand["must"]]]
    return Problem(
        scenario_name=scenario.name, edition=catalog.edition, years=years, sites=scenario.sites,
        candidates=cand, existing=existing, groups=groups, group_members=group_members,
        prerequisites=prerequisites, tier_links=tier_links, alternatives=alternatives,
        mandates=mandates, musts=musts, sources=sources, cap_classes=cap_classes,
        op_classes=op_classes, capital_budget=capital_budget, operating_budget=operating_budget,
        total_budget=scenario.budget.total, carry_over=scenario.budget.carry_over,
        layer_share={k: (v.min, v.max) for k, v in scenario.policy.layer_share.items()},
        equity=scenario.policy.equity, tier_order=scenario.policy.tier_order,
        objective=scenario.policy.objective, target_tier=scenario.policy.target_tier,
        layers=layers, components=components, notes=notes,
    )
