"""Grant rules as a finance office and an auditor see them: what a program may pay for and
why not, awards kept to their approved scope, earmarked money, grants before local money,
unused money explained, and states without a mandate profile."""
from __future__ import annotations

import pytest

from optimizer.core.grant_use import rulings_for
from optimizer.core.plan import make_plan
from optimizer.core.run import optimize
from optimizer.core.verify import verify
from optimizer.data.allowability import rule_on
from optimizer.data.funding import AllowRule
from optimizer.errors import InputError
from tests.builders import instance, m, program, site
from tests.conftest import only

FREE = {"operating": 1e9}
NO_MATCH = dict(match_rate=0, match_basis="none", match_type="none")


def rule(effect, reason, **names):
    return AllowRule(effect=effect, reason=reason, citation="test sec. 1", year=2024, basis="primary", **names)


def test_a_rule_naming_the_measure_beats_a_rule_on_its_cost_types():
    rules = [rule("allow", "pays for personnel", cost_types=["personnel"]),
             rule("deny", "no school resource officers", measures=["sro"]),
             rule("allow", "pays for the coordinator", measures=["coordinator"]),
             rule("deny", "no technology", cost_types=["technology"])]
    assert rule_on(rules, "counselor", ["personnel"]).allowed
    sro = rule_on(rules, "sro", ["personnel"])
    assert not sro.allowed and sro.reason == "no school resource officers" and "test sec. 1" in sro.citation
    assert rule_on(rules, "coordinator", ["technology", "personnel"]).allowed
    assert not rule_on(rules, "camera", ["technology", "personnel"]).allowed  # deny beats allow
    nothing = rule_on(rules, "fence", ["construction"])
    assert not nothing.allowed and "no rule of the program allows" in nothing.reason


def test_the_sentence_names_the_payer_the_reason_and_the_citation():
    ruling = rule_on([rule("deny", "no SRO hiring", measures=["sro"])], "sro", ["personnel"])
    assert ruling.sentence("STOP") == "STOP may not pay for this: no SRO hiring (test sec. 1, 2024)"


def plan_of(inputs):
    result = optimize(inputs)
    assert result.plan is not None and not result.violations
    return result


def test_grants_pay_before_local_money_and_a_plan_that_does_not_is_rejected(tmp_path):
    # Both items are bought; the $100 grant pays $100 of them, local money the rest.
    inputs = instance(tmp_path, [m("a", annual_cost=0, capital_low=80, capital_typical=80, capital_high=80),
                                 m("b", component="video", annual_cost=0, capital_low=80, capital_typical=80,
                                   capital_high=80)],
                      programs=[program("fed", **NO_MATCH)], funding_sources={"g": {"program": "fed", "amount": 100}},
                      budget={"capital": 1000, **FREE})
    result = plan_of(inputs)
    assert result.funding.query("source == 'g'")["amount"].sum() == pytest.approx(100)
    use = result.grant_use()
    assert use["unused"].tolist() == [0.0] and use["why_unused"].tolist() == [""]
    # The same items with only $30 of the grant used: the verifier refuses the plan.
    p = result.problem
    q = int(p.candidates.at[0, "cap_class"])
    lazy = make_plan(p, result.plan.installs, {("capital", "g", q, 2027): 30.0}, {})
    assert "grants_first" in {v.rule for v in verify(p, lazy)}


def test_unused_money_is_explained(tmp_path):
    inputs = instance(tmp_path, [m("a", annual_cost=0, capital_low=80, capital_typical=80, capital_high=80)],
                      programs=[program("fed", **NO_MATCH), program("cyber", rules=[dict(
                          effect="allow", cost_types=["cyber"], reason="cyber only", citation="test", year=2024, basis="primary")],
                          **NO_MATCH)],
                      funding_sources={"g": {"program": "fed", "amount": 100},
                                       "c": {"program": "cyber", "amount": 50}},
                      budget={"capital": 0, **FREE})
    use = plan_of(inputs).grant_use().set_index("source")
    assert use.at["g", "unused"] == 20
    assert "every planned item it may pay for in these years is paid by grants" in use.at["g", "why_unused"]
    assert use.at["c", "unused"] == 50
    assert "no item it may pay for is a candidate" in use.at["c", "why_unused"]
    assert "no rule of the program allows" in use.at["c", "why_unused"]


def test_an_award_scoped_to_one_project_pays_only_for_it(tmp_path):
    measures = [m("a", annual_cost=0), m("b", component="video", annual_cost=0)]
    inputs = instance(tmp_path, measures, programs=[program("fed", **NO_MATCH)],
                      sites=[site("A"), site("B")],
                      funding_sources={"g": {"program": "fed", "amount": 1000, "eligible_measures": ["a"],
                                             "sites": ["A"]}},
                      budget={"capital": 600, **FREE})
    result = plan_of(inputs)
    paid = result.funding.query("source == 'g'")
    assert set(zip(paid["measure_id"], paid["site_id"])) == {("a", "A")}
    assert len(result.plan.items) == 4  # everything is bought; only a at A from the grant
    why = rulings_for(result.problem, "a", "B")
    assert why == ["Test grant may not pay for this: the award's approved sites do not include site B "
                   "(scenario funding_sources.g.sites)"]


def test_a_scope_naming_an_unknown_site_is_an_input_error(tmp_path):
    with pytest.raises(InputError) as err:
        instance(tmp_path, [m("a")], programs=[program("fed")],
                 funding_sources={"g": {"program": "fed", "amount": 10, "sites": ["Z"]}})
    only([str(p) for p in err.value.problems], "funding_sources.g", "sites", "Z")


def test_earmarked_money_pays_for_its_mandate_despite_supplement_not_supplant(tmp_path):
    measures = [m("panic", annual_cost=0), m("b", component="video", annual_cost=0, effectiveness=0.9)]
    mandate = {"panic-law": {"title": "Panic alarm in every school", "measures": ["panic"],
                             "deadline_year": 2027}}
    common = dict(programs=[program("fed", **NO_MATCH)], budget={"capital": 200, **FREE},
                  mandates={"extra": mandate})
    plain = plan_of(instance(tmp_path, measures, funding_sources={"g": {"program": "fed", "amount": 200}}, **common))
    # Federal money may not supplant the mandate: it pays b, local money pays the alarm.
    assert set(plain.funding.query("source == 'g'")["measure_id"]) == {"b"}
    earmarked = plan_of(instance(tmp_path, measures, funding_sources={
        "g": {"program": "fed", "amount": 200, "earmark": "panic-law"}}, **common))
    assert set(earmarked.funding.query("source == 'g'")["measure_id"]) == {"panic"}
    assert earmarked.funding.query("source == 'g'")["amount"].sum() == 200


def test_a_state_without_a_profile_is_planned_with_a_note(tmp_path):
    result = plan_of(instance(tmp_path, [m("a", annual_cost=0)], state="WY", budget={"capital": 500, **FREE}))
    assert any("no mandate profile for WY" in n and "no state rules were applied" in n for n in result.report.notes)
    assert len(result.plan.items) == 1


def test_a_program_past_its_spend_by_date_is_not_active_money(tmp_path):
    closed = program("old", spend_by="2026-09-30", **NO_MATCH)
    result = plan_of(instance(tmp_path, [m("a", annual_cost=0)], programs=[closed],
                              funding_sources={"o": {"program": "old", "amount": 500}},
                              budget={"capital": 0, **FREE}))
    assert result.problem.sources == [] and len(result.plan.items) == 0
    assert any("had to be spent by 2026-09-30" in n and "not active money" in n for n in result.report.notes)


def test_a_district_may_match_more_than_the_minimum_but_not_less(tmp_path):
    fed = program("fed", match_rate=0.25, match_basis="federal_share", match_type="cash", match_waiver_possible=False)
    common = dict(programs=[fed], budget={"capital": 1000, **FREE})
    more = plan_of(instance(tmp_path, [m("a", annual_cost=0, capital_low=140, capital_typical=140, capital_high=140)],
                            funding_sources={"g": {"program": "fed", "amount": 100, "match_rate": 0.4}}, **common))
    use = more.grant_use().iloc[0]
    assert use["used"] == pytest.approx(100) and use["local_match"] == pytest.approx(40)
    assert use["grant_share"] == pytest.approx(100 / 140, abs=1e-4)
    assert any("more than the minimum" in n for n in more.report.notes)
    with pytest.raises(InputError) as err:
        instance(tmp_path, [m("a")], funding_sources={"g": {"program": "fed", "amount": 100, "match_rate": 0.1}}, **common)
    only([str(p) for p in err.value.problems], "match_rate", "never less")
