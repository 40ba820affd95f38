"""Every rule of the model binds in a case built for it: the optimal plan keeps it, and the
same model without the rule gives a plan that the independent verifier rejects."""
from __future__ import annotations

import pytest

from optimizer.core.model import RULES, build_model
from optimizer.core.problem import Problem
from optimizer.core.solve import check, read_plan, solve_model
from optimizer.core.status import Status
from tests.builders import m, problem, program, site

FREE = {"operating": 1e9}


def solve(p: Problem, skip=()):
    model = build_model(p, skip=set(skip))
    report = solve_model(model)
    assert report.status == Status.OPTIMAL, report
    return check(model, read_plan(model))


def binds(p: Problem, rule: str) -> tuple:
    """Solve with and without ``rule``; return both checked plans."""
    with_rule, without = solve(p), solve(p, skip=[rule])
    assert with_rule.valid, with_rule.violations
    assert not without.valid, f"dropping {rule} changed nothing"
    return with_rule, without


def rules_broken(checked) -> set[str]:
    return {v.rule for v in checked.violations}


def installed(checked) -> set[str]:
    return set(checked.plan.items["measure_id"])


def test_once(tmp_path):
    # Year 1 has money, year 2 none: without "once", the model installs A, takes it out in
    # year 2 to "refund" its cost, and spends that on B.
    p = problem(tmp_path, [m("a", capital_low=0, capital_typical=100, capital_high=100, annual_cost=0),
                           m("b", component="video", capital_low=0, capital_typical=100, capital_high=100,
                             annual_cost=0)],
                horizon={"start": 2027, "years": 2}, budget={"capital": {2027: 100, 2028: 0}, **FREE})
    ok, bad = binds(p, "once")
    assert len(ok.plan.items) == 1


def test_forbidden(tmp_path):
    p = problem(tmp_path, [m("a", annual_cost=0)], budget={"capital": 1000, **FREE},
                must_not=[{"measure": "a"}])
    ok, bad = binds(p, "forbidden")
    assert installed(ok) == set() and "forbidden" in rules_broken(bad)


def test_discouraged_product_is_kept_out(tmp_path):
    p = problem(tmp_path, [m("a", annual_cost=0, discouraged="true", discouraged_reason="not fire-code compliant")],
                budget={"capital": 1000, **FREE})
    ok, bad = binds(p, "forbidden")
    assert installed(ok) == set()


def test_prerequisites(tmp_path):
    p = problem(tmp_path, [m("lock", component="video", effectiveness=0.1, annual_cost=0),
                           m("reader", annual_cost=0, prerequisites="lock")],
                budget={"capital": 250, **FREE}, policy={"tier_order": "off"})
    ok, bad = binds(p, "prerequisites")
    assert installed(bad) == {"reader"} and "prerequisites" in rules_broken(bad)


def test_a_prerequisite_with_options_is_met_by_any_one_of_them(tmp_path):
    # The live display needs the intercom or the vestibule: with the vestibule in place at A it
    # is free to come; at B neither is, and the cheaper intercom comes with it.
    # The budget buys both displays and one intercom, only if A's display needs no intercom.
    cost = dict(annual_cost=0, capital_low=100, capital_typical=100, capital_high=100)
    measures = [m("intercom", component="communication", effectiveness=0.01, **cost),
                m("vestibule", component="architectural", effectiveness=0.01, annual_cost=0,
                  capital_low=900, capital_typical=900, capital_high=900),
                m("display", component="video", effectiveness=0.9, prerequisites="intercom|vestibule", **cost)]
    p = problem(tmp_path, measures, sites=[site("A", in_place=["vestibule"]), site("B")],
                budget={"capital": 300, **FREE}, policy={"tier_order": "off", "least_value_per_1000": 0})
    checked = solve(p)
    assert checked.valid, checked.violations
    bought = set(zip(checked.plan.items["measure_id"], checked.plan.items["site_id"]))
    assert ("display", "A") in bought and ("display", "B") in bought
    assert ("intercom", "B") in bought and ("vestibule", "B") not in bought and ("intercom", "A") not in bought


def test_tier_order(tmp_path):
    p = problem(tmp_path, [m("t1", effectiveness=0.1, annual_cost=0),
                           m("t2", tier=2, effectiveness=0.9, annual_cost=0)],
                budget={"capital": 250, **FREE})
    ok, bad = binds(p, "tier_order")
    assert installed(ok) == {"t1"} and installed(bad) == {"t2"} and "tier_order" in rules_broken(bad)


def test_tier_order_relaxed_accepts_another_component(tmp_path):
    measures = [m("t1", component="video", effectiveness=0.1, annual_cost=0),
                m("t1b", effectiveness=0.1, capital_typical=300, capital_high=300, annual_cost=0),
                m("t2", tier=2, effectiveness=0.9, annual_cost=0)]
    strict = solve(problem(tmp_path, measures, budget={"capital": 400, **FREE}))
    relaxed = solve(problem(tmp_path, measures, budget={"capital": 400, **FREE}, policy={"tier_order": "relaxed"}))
    assert "t2" not in installed(strict) and installed(relaxed) == {"t1", "t2"}


def test_alternatives(tmp_path):
    p = problem(tmp_path, [m("a", annual_cost=0, alternative_group="lock"),
                           m("b", component="video", annual_cost=0, alternative_group="lock")],
                budget={"capital": 1000, **FREE})
    ok, bad = binds(p, "alternatives")
    assert len(ok.plan.items) == 1 and "alternatives" in rules_broken(bad)


def test_mandates(tmp_path):
    state = {"state": "NJ", "name": "New Jersey", "mandates": [{
        "id": "nj-panic", "title": "Panic alarm", "measures": ["panic"], "strength": "must",
        "deadline": "2026-06-30", "applies_to": "every_site", "source": "law (2019)", "law": "Test Act (2019)", "enacted": "2019-05-01", "as_of": "2025-01-01"}]}
    p = problem(tmp_path, [m("panic", component="detection", effectiveness=0.05, annual_cost=0),
                           m("lock", annual_cost=0, effectiveness=0.9)],
                states=[state], state="NJ", budget={"capital": 200, **FREE})
    ok, bad = binds(p, "mandates")
    assert installed(ok) == {"panic"} and "mandates" in rules_broken(bad)


def test_must(tmp_path):
    p = problem(tmp_path, [m("want", component="detection", effectiveness=0.05, annual_cost=0),
                           m("lock", annual_cost=0, effectiveness=0.9)],
                must=[{"measure": "want", "site": "A"}], budget={"capital": 200, **FREE})
    ok, bad = binds(p, "must")
    assert installed(ok) == {"want"} and "must" in rules_broken(bad)


def test_capital_budget(tmp_path):
    p = problem(tmp_path, [m("a", annual_cost=0)], budget={"capital": 100, **FREE})
    ok, bad = binds(p, "capital_budget")
    assert installed(ok) == set() and "capital_budget" in rules_broken(bad)


def test_operating_budget(tmp_path):
    p = problem(tmp_path, [m("a", annual_cost=500)], budget={"capital": 1000, "operating": 100})
    ok, bad = binds(p, "operating_budget")
    assert installed(ok) == set() and "operating_budget" in rules_broken(bad)


def test_total_budget(tmp_path):
    p = problem(tmp_path, [m("a", annual_cost=0), m("b", component="video", annual_cost=0)],
                horizon={"start": 2027, "years": 2}, budget={"capital": 200, "total": 200, **FREE})
    ok, bad = binds(p, "total_budget")
    assert len(ok.plan.items) == 1 and "total_budget" in rules_broken(bad)


def grant(**changes):
    return {"g": dict({"program": "fed", "amount": 1000}, **changes)}


def test_funding_caps(tmp_path):
    p = problem(tmp_path, [m("a", annual_cost=0, capital_low=900, capital_typical=900, capital_high=900)],
                programs=[program("fed", match_rate=0, match_basis="none", match_type="none")],
                funding_sources=grant(amount=500), budget={"capital": 0, **FREE})
    ok, bad = binds(p, "funding_caps")
    assert installed(ok) == set() and "funding_caps" in rules_broken(bad)


def test_funding_balance(tmp_path):
    # The grant may pay for "a" only; without the balance rule its unused money leaks to "b".
    p = problem(tmp_path, [m("a", annual_cost=0, effectiveness=0.1),
                           m("b", component="policies", annual_cost=0, funding_categories="planning")],
                programs=[program("fed", match_rate=0, match_basis="none", match_type="none")],
                funding_sources=grant(amount=400), budget={"capital": 0, **FREE})
    ok, bad = binds(p, "funding_balance")
    assert installed(ok) == {"a"} and ok.plan.funding.query("source == 'g'")["amount"].sum() == 200


def test_match(tmp_path):
    p = problem(tmp_path, [m("a", annual_cost=0, capital_low=1000, capital_typical=1000, capital_high=1000)],
                programs=[program("fed")], funding_sources=grant(), budget={"capital": 100, **FREE})
    ok, bad = binds(p, "match")
    assert installed(ok) == set() and "match" in rules_broken(bad)


def test_match_is_paid_when_affordable(tmp_path):
    p = problem(tmp_path, [m("a", annual_cost=0, capital_low=1000, capital_typical=1000, capital_high=1000)],
                programs=[program("fed")], funding_sources=grant(), budget={"capital": 200, **FREE})
    ok = solve(p)
    f = ok.plan.funding
    assert installed(ok) == {"a"}
    assert f.query("source == 'g'")["amount"].sum() == pytest.approx(800)
    assert f.query("match_for == 'g'")["amount"].sum() == pytest.approx(200)


def test_layer_share(tmp_path):
    p = problem(tmp_path, [m("a", annual_cost=0), m("b", layer="classroom", annual_cost=0)],
                budget={"capital": 1000, **FREE}, policy={"layer_share": {"building": {"max": 0.0}}})
    ok, bad = binds(p, "layer_share")
    assert installed(ok) == {"b"} and "layer_share" in rules_broken(bad)


def test_equity(tmp_path):
    measures = [m("t1", effectiveness=0.2, annual_cost=0),
                m("t2", tier=2, effectiveness=0.9, annual_cost=0)]
    # Site A has tier 1 already; B lacks it and it costs more than the budget allows.
    p = problem(tmp_path, measures, sites=[site("A", in_place="t1", risk_weight=2), site("B")],
                budget={"capital": 200, **FREE}, policy={"equity": True})
    ok, bad = binds(p, "equity")
    assert installed(ok) == {"t1"} and "equity" in rules_broken(bad)


def test_target_tier(tmp_path):
    p = problem(tmp_path, [m("a", annual_cost=0)], budget={"capital": 1000, **FREE},
                policy={"objective": "least_cost_tier", "target_tier": 1})
    ok, bad = binds(p, "target_tier")
    assert installed(ok) == {"a"} and installed(bad) == set()


def test_supplement_not_supplant(tmp_path):
    state = {"state": "NJ", "name": "New Jersey", "mandates": [{
        "id": "nj-lock", "title": "Locks", "measures": ["a"], "strength": "must",
        "deadline": "2030-06-30", "applies_to": "every_site", "source": "law (2019)", "law": "Test Act (2019)", "enacted": "2019-05-01", "as_of": "2025-01-01"}]}
    kwargs = dict(programs=[program("fed", match_rate=0, match_basis="none", match_type="none")],
                  funding_sources=grant(), states=[state], state="NJ", budget={"capital": 200, **FREE})
    on = solve(problem(tmp_path, [m("a", annual_cost=0)], **kwargs))
    off = solve(problem(tmp_path, [m("a", annual_cost=0)], mandates={"supplement_not_supplant": False}, **kwargs))
    assert on.plan.funding.query("source == 'g'").empty
    assert off.plan.funding.query("source == 'g'")["amount"].sum() == 200


def test_grant_years_and_recurring_costs_after_the_grant(tmp_path):
    # The grant pays recurring costs in 2027 only; in 2028 the operating budget must carry them.
    kwargs = dict(programs=[program("fed", match_rate=0, match_basis="none", match_type="none",
                                    recurring_costs_allowed=True)],
                  funding_sources=grant(first_year=2027, last_year=2027, amount=10000),
                  horizon={"start": 2027, "years": 2})
    short = solve(problem(tmp_path, [m("a", annual_cost=500)], budget={"capital": 0, "operating": 100}, **kwargs))
    enough = solve(problem(tmp_path, [m("a", annual_cost=500)], budget={"capital": 0, "operating": 500}, **kwargs))
    assert installed(short) == set()
    f = enough.plan.funding.query("kind == 'annual'")
    assert f.query("year == 2027 and source == 'g'")["amount"].sum() == 500
    assert f.query("year == 2028 and source == 'local'")["amount"].sum() == 500


def test_carry_over(tmp_path):
    measures = [m("a", annual_cost=0, capital_low=150, capital_typical=150, capital_high=150)]
    kwargs = dict(horizon={"start": 2027, "years": 2})
    no = solve(problem(tmp_path, measures, budget={"capital": 100, **FREE}, **kwargs))
    yes = solve(problem(tmp_path, measures, budget={"capital": 100, "carry_over": True, **FREE}, **kwargs))
    assert installed(no) == set() and installed(yes) == {"a"}
    assert yes.plan.items["year"].tolist() == [2028]


def test_upkeep_share(tmp_path):
    # Two state allocations that go on after the horizon, each $10,000 a year, may pay
    # hardware. Keeping the lock (a bond pays its $10,000) costs $2,500 a year after the
    # horizon. With the rule the lock is worth buying, its upkeep being theirs; without it,
    # that upkeep is local money at its price and the lock is left out. Together the two pay
    # at most the $2,500 (not $2,500 each): the solver's objective is the verifier's, whose
    # share is the min-cut over the sets of allocations, give or take the tie-breaks.
    alloc = program("alloc", annual=True, match_rate=0, match_basis="none", match_type="none",
                    recurring_costs_allowed=True, supplement_not_supplant=False, level="state")
    yearly = {"program": "alloc", "amount": 10_000, "amount_per": "year"}
    bond = {"name": "Bond", "amount": 10_000, "level": "local", "eligible_categories": ["hardware"], "recurring": False}
    lock = m("lock", capital_low=10_000, capital_typical=10_000, capital_high=10_000, annual_cost=0, useful_life=4,
             effectiveness=0.5, funding_categories="hardware")
    p = problem(tmp_path, [lock], programs=[alloc], funding_sources={"a": yearly, "b": yearly, "bond": bond},
                horizon={"start": 2027, "years": 2}, budget={"capital": 0, **FREE},
                policy={"years_after_horizon": 3, "discount_rate": 0, "least_value_per_1000": 0.6})
    assert p.after_payable(["a"]).tolist() == p.after_payable(["a", "b"]).tolist() == [2500.0]
    model = build_model(p)
    report = solve_model(model)
    ok, off = check(model, read_plan(model)), solve(p, skip=["upkeep_share"])
    assert installed(ok) == {"lock"} and installed(off) == set()
    assert ok.objective == pytest.approx(ok.value, abs=1e-9)  # no local money left to price
    assert report.objective == pytest.approx(ok.objective, rel=1e-3)


def test_every_rule_has_a_test():
    tested = {name[len("test_"):] for name in globals() if name.startswith("test_")}
    assert set(RULES) <= tested, set(RULES) - tested


def test_item_level_eligibility_and_cost_override(tmp_path):
    measures = [m("a", annual_cost=0), m("b", component="video", annual_cost=0)]
    kwargs = dict(programs=[program("fed", match_rate=0, match_basis="none", match_type="none")],
                  budget={"capital": 0, **FREE})
    only_a = solve(problem(tmp_path, measures, funding_sources=grant(eligible_measures=["a"]), **kwargs))
    assert installed(only_a) == {"a"}
    not_a = solve(problem(tmp_path, measures, funding_sources=grant(excluded_measures=["a"]), **kwargs))
    assert installed(not_a) == {"b"}
    quoted = solve(problem(tmp_path, measures, funding_sources=grant(amount=150),
                           cost_overrides=[{"measure": "b", "site": "A", "capital": 150, "source": "vendor quote 2026"}],
                           **kwargs))
    assert installed(quoted) == {"b"} and quoted.plan.items["capital_cost"].tolist() == [150]


NO_MATCH = dict(match_rate=0, match_basis="none", match_type="none")


def test_funding_limits(tmp_path):
    # The grant may spend at most 25% of its $300 on "a": a ($150) then needs local money,
    # which there is none of. Without the limit the grant pays for both.
    limit = {"id": "tech", "share": 0.25, "measures": ["a"], "reason": "technology at most 25%",
             "citation": "test statute sec. 9", "year": 2024, "basis": "primary"}
    measures = [m("a", annual_cost=0, capital_low=150, capital_typical=150, capital_high=150),
                m("b", component="video", annual_cost=0, capital_low=150, capital_typical=150, capital_high=150)]
    p = problem(tmp_path, measures, programs=[program("fed", limits=[limit], **NO_MATCH)],
                funding_sources=grant(amount=300), budget={"capital": 0, **FREE})
    ok, bad = binds(p, "funding_limits")
    assert installed(ok) == {"b"} and installed(bad) == {"a", "b"}
    assert "funding_limits" in rules_broken(bad)


def test_compliance_first(tmp_path):
    # The program pays for other items only once its compliance item "c" is in place: with
    # $100 of grant and no local money it buys "c", never the more valuable "a" alone.
    state = {"state": "NJ", "name": "New Jersey", "mandates": [{
        "id": "nj-standard", "title": "Facility standard", "measures": ["c"], "strength": "must",
        "deadline": "2030-06-30", "applies_to": "every_site", "source": "rule sec. 1 (2023)",
        "law": "Test rule (2023)", "enacted": "2023-01-01", "as_of": "2025-01-01"}]}
    measures = [m("a", effectiveness=0.9, annual_cost=0),
                m("c", component="video", effectiveness=0.1, annual_cost=0)]
    p = problem(tmp_path, measures, states=[state],
                programs=[program("fed", compliance_first=["nj-standard"], **NO_MATCH)],
                funding_sources=grant(amount=200), budget={"capital": 0, **FREE})
    ok, bad = binds(p, "compliance_first")
    assert installed(ok) == {"c"} and installed(bad) == {"a"}
    assert "compliance_first" in rules_broken(bad)


def test_a_mandate_for_at_least_one_team_is_met_at_one_school(tmp_path):
    # "at least one team per school entity": one site suffices; the cheaper one is chosen.
    state = {"state": "NJ", "name": "New Jersey", "mandates": [{
        "id": "nj-team", "title": "At least one team", "measures": ["team"], "strength": "must",
        "deadline": "2026-06-30", "applies_to": "any_site", "source": "law sec. 2", "law": "Test Act (2019)",
        "enacted": "2019-05-01", "as_of": "2025-01-01"}]}
    p = problem(tmp_path, [m("team", effectiveness=0, annual_cost=0, unit_basis="staff", capital_low=1,
                             capital_typical=1, capital_high=1)],
                sites=[site("A", staff=10), site("B", staff=50)], states=[state], state="NJ",
                budget={"capital": 1000, **FREE})
    ok, bad = binds(p, "mandates")
    assert ok.plan.items[["measure_id", "site_id"]].values.tolist() == [["team", "A"]]
    assert installed(bad) == set()


def test_projects(tmp_path):
    # Two distinct measures at two schools: with at most one project the plan buys the better
    # measure everywhere instead of a scatter of both.
    measures = [m("a", annual_cost=0, effectiveness=0.6), m("b", component="video", annual_cost=0, effectiveness=0.5)]
    p = problem(tmp_path, measures, sites=[site("A"), site("B")], budget={"capital": 800, **FREE},
                policy={"max_projects": 1})
    ok, bad = binds(p, "projects")
    assert installed(ok) == {"a"} and len(ok.plan.items) == 2 and installed(bad) == {"a", "b"}


def test_the_greedy_start_keeps_the_project_limit(tmp_path):
    from optimizer.core.greedy import greedy_plan
    from optimizer.core.verify import verify
    measures = [m("a", annual_cost=0, effectiveness=0.6), m("b", component="video", annual_cost=0, effectiveness=0.5)]
    p = problem(tmp_path, measures, sites=[site("A"), site("B")], budget={"capital": 800, **FREE},
                policy={"max_projects": 1})
    start = greedy_plan(p)
    assert set(start.items["measure_id"]) == {"a"} and not verify(p, start)


def test_replacement_timing(tmp_path):
    # Cameras installed in 2016 with a 10-year life serve until fiscal year 2026. Money is
    # there only in 2025: a replacement bought then would count twice while the old cameras
    # still serve, so the rule keeps it out until 2026, when there is no money.
    cam = m("cam", component="video", role="detect", annual_cost=0, useful_life=10)
    p = problem(tmp_path, [cam], sites=[site("A", in_place="cam", installed={"cam": 2016})],
                horizon={"start": 2025, "years": 2}, budget={"capital": {2025: 500, 2026: 0}, **FREE})
    ok, bad = binds(p, "replacement_timing")
    assert installed(ok) == set() and bad.plan.items["year"].tolist() == [2025]
    assert "replacement_timing" in rules_broken(bad)


def test_sequencing(tmp_path):
    # $100 a year buys one item a year. The survey is worth less than the door, so without the
    # rule the door comes first and the survey a year after the purchase it should inform.
    survey = m("survey", assessment="true", component="policies", role="prevent", effectiveness=0.2,
               capital_low=100, capital_typical=100, capital_high=100, annual_cost=0)
    door = m("door", effectiveness=0.5, capital_low=100, capital_typical=100, capital_high=100, annual_cost=0)
    p = problem(tmp_path, [survey, door], horizon={"start": 2027, "years": 2},
                budget={"capital": 100, **FREE})
    ok, bad = binds(p, "sequencing")
    years = dict(zip(ok.plan.items["measure_id"], ok.plan.items["year"]))
    assert years.get("survey", 2027) == 2027
    assert dict(zip(bad.plan.items["measure_id"], bad.plan.items["year"]))["survey"] == 2028
    assert "sequencing" in rules_broken(bad)
