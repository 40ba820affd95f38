"""The shipped catalog: complete, sourced, ordered, acyclic, and consistent with its own
column dictionary and both PASS editions."""
from __future__ import annotations

import pytest

from optimizer import load_catalog
from optimizer.data.allowability import rule_on
from optimizer.data.measures import Measure
from optimizer.data.vocabulary import (
    BudgetCategory,
    Evidence,
    FundingCategory,
    Scope,
    TierBasis,
    UnitBasis,
    values,
)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def names(catalog, **where) -> str:
    picked = [m for m in catalog.measures.values()
              if all(getattr(m, k) == v for k, v in where.items())]
    return " | ".join(f"{m.id} {m.name} {m.description}".lower() for m in picked)


def test_catalog_is_large_enough(catalog):
    assert len(catalog.measures) >= 120


def test_every_layer_and_component_has_a_tier1_measure(catalog):
    missing = [(layer, comp) for layer in catalog.pass7.layer_ids for comp in catalog.pass7.component_ids
               if not any(m.layer == layer and m.component == comp and m.tier == 1
                          for m in catalog.measures.values())]
    assert missing == []


def test_higher_tiers_exist(catalog):
    tiers = {m.tier for m in catalog.measures.values()}
    assert {1, 2, 3, 4, None} <= tiers


def test_every_measure_is_sourced(catalog):
    for m in catalog.measures.values():
        assert m.cost_source.strip() and m.evidence_source.strip(), m.id
        assert 1990 <= m.cost_year <= 2030 and 1990 <= m.evidence_year <= 2030, m.id


def test_cost_ranges_are_ordered(catalog):
    for m in catalog.measures.values():
        assert 0 <= m.capital_low <= m.capital_typical <= m.capital_high, m.id
        assert m.annual_cost >= 0 and 0 < m.effectiveness <= 1, m.id


def test_prerequisite_graph_is_acyclic_and_closed(catalog):
    # Kahn's algorithm, independent of the loader's own check; a prerequisite with options
    # ("a|b") counts each option as an edge.
    edges = {m.id: [o for options in m.prerequisite_options for o in options] for m in catalog.measures.values()}
    indegree = {mid: 0 for mid in catalog.measures}
    for mid, pres in edges.items():
        for pre in pres:
            assert pre in catalog.measures, f"{mid} requires unknown {pre}"
            indegree[mid] += 1
    ready = [mid for mid, d in indegree.items() if d == 0]
    done = 0
    dependants = {mid: [m for m, pres in edges.items() for pre in pres if pre == mid] for mid in catalog.measures}
    while ready:
        node = ready.pop()
        done += 1
        for nxt in dependants[node]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    assert done == len(catalog.measures)


def test_edition_mapping_is_complete(catalog):
    pass6 = load_catalog(edition=6)
    assert set(pass6.mapping.back_to_6) == set(catalog.pass7.layer_ids)
    assert set(pass6.mapping.to_7) == set(pass6.taxonomy.layer_ids)
    layers6 = {pass6.layer_of(m) for m in pass6.measures.values()}
    assert layers6 <= set(pass6.taxonomy.layer_ids)
    assert {"property", "district"} <= layers6
    for m in pass6.measures.values():
        assert m.layer in pass6.mapping.to_7[pass6.layer_of(m)], m.id


@pytest.mark.parametrize("topic", ["multi-factor", "patch", "backup", "remote", "incident response", "train"])
def test_digital_layer_covers_cisa_first_steps(catalog, topic):
    assert topic in names(catalog, layer="digital")


@pytest.mark.parametrize("topic", ["threat assessment", "anonymous", "psychologist", "counselor",
                                   "mental health first aid", "drill", "tabletop", "reunification",
                                   "map"])
def test_people_and_policy_topics(catalog, topic):
    text = names(catalog, component="people") + names(catalog, component="policies")
    assert topic in text


@pytest.mark.parametrize("topic", ["weapons", "gun detection", "gunshot"])
def test_enhanced_technologies_outside_tiers(catalog, topic):
    assert topic in names(catalog, tier=None)


@pytest.mark.parametrize("topic", ["barricade", "backpack", "facial recognition"])
def test_discouraged_products_flagged_with_reason(catalog, topic):
    hits = [m for m in catalog.measures.values() if topic in f"{m.name} {m.description}".lower()
            and m.discouraged]
    assert hits and all(m.discouraged_reason and len(m.discouraged_reason) > 20 for m in hits)


def test_column_dictionary_matches_the_model(catalog):
    assert [c.name for c in catalog.columns] == list(Measure.model_fields)
    allowed = {c.name: c.allowed.split(";") for c in catalog.columns if c.type in ("category", "list")}
    assert allowed["evidence"] == list(values(Evidence))
    assert allowed["funding_categories"] == list(values(FundingCategory))
    assert allowed["budget_category"] == list(values(BudgetCategory))
    assert allowed["scope"] == list(values(Scope))
    assert allowed["unit_basis"] == list(values(UnitBasis))
    assert allowed["tier_basis"] == list(values(TierBasis))
    assert allowed["layer"] == catalog.pass7.layer_ids
    assert allowed["component"] == catalog.pass7.component_ids


def test_funding_programs(catalog):
    federal = [p for p in catalog.programs.values() if p.level == "federal"]
    states = {p.state for p in catalog.programs.values() if p.level == "state"}
    assert len(federal) >= 7 and len(states) >= 6
    assert catalog.programs["fema-nsgp"].public_schools_eligible is False
    assert catalog.programs["cops-svpp"].match_rate == 0.25
    svpp = catalog.programs["cops-svpp"]
    assert not rule_on(svpp.rules, "bld-arc-vestibule-construction", ["construction"]).allowed
    for p in catalog.programs.values():
        assert p.source and p.citation and p.as_of.year >= 2014


def test_state_profiles_have_real_strength(catalog):
    assert {"TX", "FL", "NJ", "PA", "OH", "GA", "NY"} <= set(catalog.states)

    def panic(state):
        return [m for m in catalog.states[state].mandates
                if any("panic" in catalog.measures[x].name.lower() or "panic" in catalog.measures[x].id
                       for x in m.measures)]

    assert {m.strength for m in panic("NJ")} == {"must"}
    assert {m.strength for m in panic("FL")} == {"must"}
    assert {m.strength for m in panic("NY")} == {"must_consider"}
    assert panic("NJ")[0].deadline.year == 2019 or panic("NJ")[0].deadline.year == 2020
    for profile in catalog.states.values():
        for m in profile.mandates:
            assert m.source and m.as_of


def test_catalog_docs_list_every_column(catalog):
    from optimizer.paths import CATALOG_DIR
    text = (CATALOG_DIR / "README.md").read_text()
    for column in catalog.columns:
        assert f"| `{column.name}` | {column.type} |" in text
