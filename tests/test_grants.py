"""Grant rules as a finance office and an auditor see them: what a program may pay for and
why not, awards kept to their approved scope, earmarked money, grants before local money,
unused money explained, and states without a mandate profile."""
from __future__ import annotations

import pytest

from optimizer.core import run
from optimizer.core.grant_use import eligible_rows, rulings_for
from optimizer.core.highs_runner import run_highs
from optimizer.core.model import build_model
from optimizer.core.plan import make_plan
from optimizer.core.run import optimize
from optimizer.core.solve import fund_grants_first, solution_of, start_values
from optimizer.core.verify import plan_objective, verify
from optimizer.data.allowability import rule_on
from optimizer.data.funding import AllowRule
from optimizer.data.inputs import load_inputs
from optimizer.errors import InputError
from optimizer.paths import SCENARIOS_DIR
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


def test_an_award_is_spent_in_the_years_it_was_made_for_whatever_the_catalog_date(tmp_path):
    # The program's money had to be spent by 2026-06-30 (the end of fiscal year 2026), before
    # the catalog's as-of date (2026-11-29): a plan for fiscal years 2025-2026 still spends
    # the award it made, and a plan from 2027 leaves it out and says how much and why.
    closed = program("old", spend_by="2026-06-30", **NO_MATCH)
    then = plan_of(instance(tmp_path, [m("a", annual_cost=0, capital_low=400, capital_typical=400, capital_high=400)],
                            programs=[closed], funding_sources={"o": {"program": "old", "amount": 500}},
                            horizon={"start": 2025, "years": 2}, budget={"capital": 0, **FREE}))
    assert then.funding.query("source == 'o'")["amount"].sum() == pytest.approx(400)
    later = plan_of(instance(tmp_path, [m("a", annual_cost=0)], programs=[closed],
                             funding_sources={"o": {"program": "old", "amount": 500}},
                             budget={"capital": 0, **FREE}))
    assert later.problem.sources == [] and len(later.plan.items) == 0
    assert any("no fiscal year of the horizon is inside its period" in n and "500 left out" in n
               for n in later.report.notes)


def test_capital_only_money_pays_no_recurring_cost(tmp_path):
    # Bond money (a custom source that says recurring: false) pays the reader's $500 of
    # capital and none of its $100 a year of licences, which fall on the operating budget.
    # A custom source must say which it is; a program's award may narrow its rule, not widen it.
    reader = m("reader", capital_low=500, capital_typical=500, capital_high=500, annual_cost=100,
               funding_categories="hardware")
    bond = {"name": "Security bond", "amount": 10_000, "level": "local", "eligible_categories": ["hardware"],
            "recurring": False}
    result = plan_of(instance(tmp_path, [reader], funding_sources={"bond": bond},
                              budget={"capital": 0, "operating": 1000}))
    paid = result.funding.query("source == 'bond'")
    assert set(paid["kind"]) == {"capital"} and paid["amount"].sum() == pytest.approx(500)
    assert result.funding.query("kind == 'annual'")["source"].unique().tolist() == ["local"]
    # With no operating money for its licences the reader is not bought, and the bond money left
    # says why: what keeping the reader would cost the district a year (licence and renewal).
    idle = plan_of(instance(tmp_path, [reader], funding_sources={"bond": bond}, budget={"capital": 0, "operating": 0},
                            policy={"least_value_per_1000": 0.001}))
    why = idle.grant_use().set_index("source").at["bond", "why_unused"]
    life = idle.problem.candidates.at[0, "useful_life"]
    assert idle.plan.items.empty and "it pays one-time costs only" in why
    assert f"up to ${100 + 500 / life:,.0f} a year" in why and "the local operating budget" in why
    levy = plan_of(instance(tmp_path, [reader], funding_sources={"levy": dict(bond, recurring=True)},
                            budget={"capital": 0, "operating": 0}))
    assert levy.funding.query("kind == 'annual'")["source"].unique().tolist() == ["levy"]
    with pytest.raises(InputError) as err:
        instance(tmp_path, [reader], funding_sources={"bond": {k: v for k, v in bond.items() if k != "recurring"}})
    only([str(p) for p in err.value.problems], "funding_sources.bond", "recurring", "bond money")
    with pytest.raises(InputError) as err:
        instance(tmp_path, [reader], programs=[program("fed")],
                 funding_sources={"g": {"program": "fed", "amount": 100, "recurring": True}})
    only([str(p) for p in err.value.problems], "funding_sources.g", "recurring", "never widens")


def test_a_yearly_allocation_says_whether_its_amount_is_per_year_or_in_total(tmp_path):
    # Title IV-A style: $1,000 allocated every year of a 3-year plan, and $1,000 items only
    # grant money can pay. Read per year it pays $3,000 over the horizon (an item a year);
    # read as the whole award, $1,000; left unsaid, the scenario is refused with a message
    # that names the field and both readings.
    yearly = program("alloc", annual=True, **NO_MATCH)
    items = [m(f"i{k}", component=c, annual_cost=0, capital_low=1000, capital_typical=1000, capital_high=1000)
             for k, c in enumerate(["access_control", "video", "detection", "communication"])]
    common = dict(programs=[yearly], horizon={"start": 2027, "years": 3}, budget={"capital": 0, **FREE})
    for per, total in (("year", 3000), ("total", 1000)):
        result = plan_of(instance(tmp_path, items, funding_sources={"a": {"program": "alloc", "amount": 1000,
                                                                           "amount_per": per}}, **common))
        assert result.funding.query("source == 'a'")["amount"].sum() == pytest.approx(total, abs=0.01)
    with pytest.raises(InputError) as err:
        instance(tmp_path, items, funding_sources={"a": {"program": "alloc", "amount": 1000}}, **common)
    only([str(p) for p in err.value.problems], "funding_sources.a", "amount_per", "each year's allocation")


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


def test_an_award_made_for_replacing_cameras_at_end_of_life_replaces_them(tmp_path):
    # Both schools' cameras (installed 2015, 8-year life) are past their life. Local money is
    # dear here (a serious-harm equivalent per $1,000) and the award asks a 25% match: an award
    # free to pay anything goes to fencing, and replacing the weak cameras is not worth its
    # match and upkeep. Made for the camera replacement (its project), the award replaces the
    # cameras at both schools by its last year, pays for them and for nothing else, and the
    # plan says why they are bought.
    cams = m("cams", component="video", role="detect", effectiveness=0.02, useful_life=8, annual_cost=0,
             capital_low=400, capital_typical=400, capital_high=400)
    fence = m("fence", layer="campus", component="architectural", effectiveness=0.5, annual_cost=0,
              capital_low=400, capital_typical=400, capital_high=400)
    sites = [site(s, in_place=["cams"], installed={"cams": 2015}) for s in ("A", "B")]
    common = dict(programs=[program("fed")], sites=sites, horizon={"start": 2027, "years": 2},
                  budget={"capital": 1000, **FREE}, policy={"least_value_per_1000": 1.0})
    free = plan_of(instance(tmp_path, [cams, fence], funding_sources={"g": {"program": "fed", "amount": 1000}},
                            **common))
    assert "cams" not in set(free.plan.items["measure_id"])
    assert set(free.funding.query("source == 'g'")["measure_id"]) == {"fence"}
    awarded = plan_of(instance(tmp_path, [cams, fence], funding_sources={
        "g": {"program": "fed", "amount": 1000, "project": ["cams"], "last_year": 2027}}, **common))
    bought = {(r.measure_id, r.site_id, r.year) for r in awarded.plan.items.itertuples() if r.measure_id == "cams"}
    assert bought == {("cams", "A", 2027), ("cams", "B", 2027)}
    paid = awarded.funding.query("source == 'g'")
    assert set(paid["measure_id"]) == {"cams"} and paid["amount"].sum() == pytest.approx(640)  # 80% of $800
    assert any("the project it was awarded for" in r for r in awarded.reasons())


def test_an_award_s_project_does_not_wait_for_the_pass_tiers_below_it(tmp_path):
    # A tier-2 glazing the award was made for is bought as awarded, without the tier-1 step of
    # its component that strict tier order asks of the district's own purchases (the grantor
    # and the district scoped it); outside the award it still needs that step.
    step = m("step", component="architectural", tier=1, effectiveness=0.1, annual_cost=0,
             capital_low=500, capital_typical=500, capital_high=500)
    glazing = m("glazing", component="architectural", tier=2, effectiveness=0.3, annual_cost=0,
                capital_low=400, capital_typical=400, capital_high=400)
    common = dict(programs=[program("fed", **NO_MATCH)], budget={"capital": 0, **FREE})
    awarded = plan_of(instance(tmp_path, [step, glazing], funding_sources={
        "g": {"program": "fed", "amount": 400, "project": ["glazing"]}}, **common))
    assert set(awarded.plan.items["measure_id"]) == {"glazing"} and not verify(awarded.problem, awarded.plan)
    assert awarded.problem.tier_links == []
    scoped = plan_of(instance(tmp_path, [step, glazing], funding_sources={
        "g": {"program": "fed", "amount": 400, "eligible_measures": ["glazing"]}}, **common))
    assert scoped.plan.items.empty and len(scoped.problem.tier_links) == 1  # no money for the step


@pytest.mark.parametrize("path", ["rural.yaml", "real/lockport_ny.yaml", "real/marble_falls_tx.yaml"])
def test_grant_money_is_left_only_where_nothing_it_may_pay_for_is_worth_keeping(path):
    """The finance officer's question of an award left partly unspent: could it still buy
    something? With the plan's items kept in their years, every item an unspent grant may pay
    for is let in and the best plan that adds some is solved for: it gains nothing, so the
    money is left because what it could buy is worth less than what keeping it would cost
    the district (the reason the plan's grant table gives), not because a solve stopped early."""
    result = optimize(load_inputs(SCENARIOS_DIR / path))
    problem, plan = result.problem, result.plan
    use = result.grant_use()
    left = set(use.loc[use["unused"] > 1, "source"])
    assert left, f"{path} now spends all its grant money: pick an example that leaves some"
    free = {c for s in problem.sources if s.id in left for c in eligible_rows(problem, s)} - set(plan.installs)
    model = build_model(problem)
    let_in = {var for c in free for var in model.y[c]}
    decisions = {var for ys in model.y for var in ys}
    with model.integral_fixed(model.plan_values(plan.installs),
                              lambda var, _: var in decisions and var not in let_in):
        run_highs(model.prob, 120, 1e-7, None, start_values(model, plan.installs))
        _, found = solution_of(model)
    added = sorted(set(found.installs) - set(plan.installs))
    paid = fund_grants_first(model, found.installs)
    gain = plan_objective(problem, paid) - plan_objective(problem, plan)
    assert gain <= 1e-6 * abs(plan_objective(problem, plan)), (
        f"{path}: adding {[problem.candidates.at[c, 'key'] for c in added]} gains {gain:.6f}")


def test_on_a_large_district_the_spend_down_lets_in_only_what_the_relaxation_buys_any_of(monkeypatch):
    """Up to ``SPEND_DOWN_DECISIONS`` (items let in, times fiscal years) the spend-down search
    lets in every item an unspent grant may pay for; above it only those the relaxation puts in
    place in part (benchmarks/README.md). Rural is small, so the limit is lowered to see the large
    district's rule."""
    seen: dict[str, list] = {"guided": [], "let_in": [], "model": []}
    real_guided, real_spend_down = run.lp_guided, run.spend_down

    def guided(*args, **kwargs):
        seen["guided"].append(real_guided(*args, **kwargs))
        return seen["guided"][-1]

    def spend_down(model, plan, rows, options):
        seen["let_in"].append(list(rows))
        seen["model"].append(model)
        return real_spend_down(model, plan, rows, options)

    monkeypatch.setattr(run, "lp_guided", guided)
    monkeypatch.setattr(run, "spend_down", spend_down)
    inputs = load_inputs(SCENARIOS_DIR / "rural.yaml")
    small = optimize(inputs)
    every = seen["let_in"][-1]
    assert len(every) * len(small.problem.years) <= run.SPEND_DOWN_DECISIONS
    bought = seen["guided"][-1].bought_in_part(seen["model"][-1], every)
    assert 0 < len(bought) < len(every)
    monkeypatch.setattr(run, "SPEND_DOWN_DECISIONS", 0)
    large = optimize(inputs)
    assert seen["let_in"][-1] == bought
    assert large.plan is not None and not verify(large.problem, large.plan)
