"""The analyses on instances built so that the right answer is known in advance."""
from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from optimizer.analyses.alternatives import alternatives
from optimizer.analyses.compare import compare
from optimizer.analyses.explain import explain
from optimizer.analyses.frontier import frontier
from optimizer.analyses.pitch import Pitch, pitch
from optimizer.analyses.screen import screen
from optimizer.analyses.sweep import BudgetSweep, at_least
from optimizer.core.run import optimize
from optimizer.core.status import SolveOptions, Status, relative_gap
from optimizer.core.verify import plan_objective
from optimizer.data.inputs import load_inputs
from optimizer.data.overrides import apply_overrides
from optimizer.paths import SCENARIOS_DIR
from tests.builders import instance, m, program, site

FREE = {"operating": 1e9}


def fixed(id: str, cost: float, **changes) -> dict:
    """A measure with one capital cost (no range) and no recurring cost."""
    return m(id, capital_low=cost, capital_typical=cost, capital_high=cost, annual_cost=0, **changes)


THREE = [fixed("a", 100, effectiveness=0.5), fixed("b", 200, effectiveness=0.4, component="video"),
         fixed("c", 400, effectiveness=0.3, component="communication")]


def test_frontier_is_a_non_decreasing_staircase_ending_at_the_unconstrained_optimum(tmp_path):
    inputs = instance(tmp_path, THREE, budget={"capital": 300, **FREE})
    f = frontier(inputs, points=5, max_budget=800)
    values = f.table["value"].tolist()
    assert f.table["budget"].tolist() == [0, 200, 400, 600, 800]
    assert all(b >= a - 1e-9 for a, b in zip(values, values[1:]))
    unlimited = optimize(apply_overrides(inputs, budget=10_000))
    assert values[-1] == pytest.approx(unlimited.value)
    assert values[0] == pytest.approx(f.plans[0].baseline_value)  # nothing affordable at $0
    # the board's unit beside it: the share of the risk left by what is in place that each plan removes
    assert f.table["risk_reduced"].tolist() == pytest.approx([p.gap_closed for p in f.plans])
    assert f.table["risk_reduced"].iloc[0] == pytest.approx(0.0) and f.table["risk_reduced"].iloc[-1] > 0
    # Budget 200 buys a (100); 400 buys a+b (300); 600 and 800 buy all three (700)... at 600 a+b only.
    assert [len(p.plan.items) for p in f.plans] == [0, 1, 2, 2, 3]
    step = (values[1] - values[0]) / 200 * 1000
    assert f.table["marginal_per_1000"].iloc[1] == pytest.approx(step)
    assert f.table["knee"].sum() == 1


def test_a_frontier_step_is_proven_only_when_its_plan_beats_the_bound_of_the_budget_before(tmp_path):
    """A finance officer reads the value one more $1,000 buys between budgets; each plan is proven
    only within its gap, so a step is marked proven only when the larger budget's plan is worth
    more than the bound proved at the smaller one (a step that buys nothing is never proven),
    and the unproven ones are named in words."""
    from optimizer.analyses.frontier import Frontier, _steps_proven
    inputs = instance(tmp_path, THREE, budget={"capital": 300, **FREE})
    f = frontier(inputs, points=5, max_budget=800)
    assert [len(p.plan.items) for p in f.plans] == [0, 1, 2, 2, 3]
    assert f.table["step_proven"].tolist() == [None, True, True, False, True]  # 600 buys what 400 did
    assert f.tolerance_words().startswith("1 of the steps up to a budget ($600) is not proven to buy more")
    # the value still rises from 200 to 400, but a bound at 200 above the plan at 400 proves nothing
    loose = list(f.plans)
    loose[1] = replace(loose[1], report=replace(loose[1].report, dual_bound=loose[2].report.objective + 1.0))
    assert _steps_proven(loose) == [None, True, False, False, True]
    table = f.table.assign(step_proven=[True] * 5)
    assert Frontier(table, f.plans, f.scenario_budget).tolerance_words() == ""


def test_a_frontier_point_that_keeps_a_smaller_budget_s_plan_reports_its_own_bound(tmp_path):
    """Issue 30: a point whose solve (within its gap) came back worth less than the smaller
    budget's plan keeps that plan, and showed the smaller budget's status, bound and gap, proven
    for another problem. It reports the kept plan's objective at its own budget against the
    bound its own solve proved."""
    inputs = instance(tmp_path, THREE, budget={"capital": 300, **FREE})
    sweep = BudgetSweep(inputs, SolveOptions())
    smaller, larger = sweep.at(100), sweep.at(300)  # a alone; a and b
    assert smaller.report.status == larger.report.status == Status.OPTIMAL
    worse = replace(larger, value=smaller.value - 1.0)  # as if the solve had stopped on a worse plan
    kept = at_least(smaller, worse, gap=0.001)
    assert kept.plan is smaller.plan and kept.problem is larger.problem
    objective = plan_objective(larger.problem, smaller.plan)
    assert kept.report.objective == pytest.approx(objective)
    assert kept.report.dual_bound == larger.report.dual_bound != smaller.report.dual_bound
    assert kept.report.gap == pytest.approx(relative_gap(objective, larger.report.dual_bound)) and kept.report.gap > 0.1
    assert kept.report.status == Status.FEASIBLE and "kept the plan of a smaller budget" in kept.report.notes[-1]


def test_the_analyses_read_the_plan_that_the_plan_command_shows():
    """Explain, screening and a vendor pitch plan the scenario's own budget as the first budget
    of a sweep: that plan is the one the command line and the app's Plan page show (the greedy
    plan made only when the search asks for it, as there), not a near-equal one."""
    inputs = load_inputs(SCENARIOS_DIR / "rural.yaml")
    plain = optimize(inputs)
    sweep = BudgetSweep(inputs)
    swept = sweep.at(sweep.scenario_budget)
    assert swept.plan.installs == plain.plan.installs
    assert swept.report.objective == pytest.approx(plain.report.objective, rel=1e-12)
    assert swept.report.gap == pytest.approx(plain.report.gap, rel=1e-9)


@pytest.mark.slow
def test_a_frontier_budget_without_a_plan_says_why(tmp_path):
    """Issue 29: a row "$0 ... infeasible" had no reason. The scenario insists on measure c
    ($400): budgets below it have no plan, and their row says what falls short."""
    inputs = instance(tmp_path, THREE, budget={"capital": 300, **FREE}, must=[{"measure": "c"}])
    f = frontier(inputs, points=3, max_budget=800)
    rows = f.table.set_index("budget")
    assert rows.at[0, "status"] == "infeasible" and rows.at[800, "status"] == "optimal"
    assert "the rules cannot all be kept with the money there is" in rows.at[0, "why"]
    assert "short by $400" in rows.at[0, "why"] and rows.at[800, "why"] == ""


def _must_c(tmp_path):
    """Measure c ($400) must be in place by the end of 2027-2028, and the scenario's capital is
    split evenly over the two years: whichever year c is bought in, half the budget over the
    horizon must pay its $400, so no budget below $800 keeps the rule."""
    return instance(tmp_path, THREE, horizon={"start": 2027, "years": 2},
                    budget={"capital": {2027: 100, 2028: 100}, **FREE}, must=[{"measure": "c"}])


def test_the_least_local_capital_is_the_smallest_budget_with_a_plan(tmp_path):
    """The least local capital over the horizon that keeps every rule, found by one solve,
    against the hand calculation ($800) and the budgets around it solved one by one."""
    from optimizer.analyses.sweep import BudgetSweep
    from optimizer.core.diagnose import least_local_capital
    inputs = _must_c(tmp_path)
    least = least_local_capital(BudgetSweep(inputs).problem, SolveOptions())
    assert least == pytest.approx(800.0, abs=1e-3)
    for budget, has in ((790, False), (799, False), (800, True), (840, True)):
        assert (BudgetSweep(inputs).at(budget).plan is not None) == has, budget
    unlimited = instance(tmp_path, THREE, budget={"capital": 300, **FREE})  # no rule needs money
    assert least_local_capital(BudgetSweep(unlimited).problem, SolveOptions()) == pytest.approx(0.0, abs=1e-6)


def test_a_frontier_does_not_solve_budgets_below_the_least_that_keeps_every_rule(tmp_path, monkeypatch):
    """Once a budget has no plan, every smaller budget has none either: below the least local
    capital (one solve) a budget is not solved, and its row says what it is short of."""
    from optimizer.analyses import sweep
    inputs = _must_c(tmp_path)
    solved = []
    real = sweep.plan_model
    monkeypatch.setattr(sweep, "plan_model", lambda inputs, model, *rest: solved.append(
        sum(model.problem.capital_budget.values())) or real(inputs, model, *rest))
    f = frontier(inputs, points=9, max_budget=1600, workers=1)  # budgets 0, 200, ..., 1600
    rows = f.table.set_index("budget")
    assert 0 in solved and not {200, 400, 600} & {round(b) for b in solved}  # 200-600 lie below the least
    assert rows.loc[[0, 200, 400, 600], "status"].tolist() == ["infeasible"] * 4
    assert rows.at[800, "status"] == "optimal"
    assert rows.at[200, "why"] == ("the rules cannot all be kept with the money there is: no plan keeps every rule "
                                   "with less than $800 of local capital over the horizon, spread over the years as "
                                   "the scenario's budgets are; this budget is short by $600")
    assert "short by $400" in rows.at[0, "why"]  # solved, and diagnosed: c's $400 in one year


def test_a_frontier_keeps_the_largest_budget_s_plan_where_it_fits_without_solving(tmp_path, monkeypatch):
    """The largest budget is solved first: every smaller budget its plan fits keeps that plan,
    proven within the gap proved at the largest (a smaller budget allows fewer plans), without
    a solve of its own; a fresh solve at each of those budgets finds a plan worth the same."""
    from optimizer.analyses import sweep
    inputs = instance(tmp_path, THREE, budget={"capital": 300, **FREE})  # one year: a, b and c cost $700
    solved = []
    real = sweep.plan_model
    monkeypatch.setattr(sweep, "plan_model", lambda inputs, model, *rest: solved.append(
        sum(model.problem.capital_budget.values())) or real(inputs, model, *rest))
    f = frontier(inputs, points=9, max_budget=1600, workers=1)  # budgets 0, 200, ..., 1600
    assert [round(b) for b in solved] == [1600, 0, 200, 400, 600]
    monkeypatch.undo()
    for k, budget in enumerate(f.table["budget"]):
        plan = f.plans[k]
        if budget >= 800:  # the largest budget's plan, all three measures, fits
            assert len(plan.plan.items) == 3 and plan.status == Status.OPTIMAL
            assert plan.report.gap is not None and plan.report.gap <= SolveOptions().gap
            assert plan.value == pytest.approx(sweep.BudgetSweep(inputs).at(budget).value)
            if budget < 1600:
                assert "fits this budget" in plan.report.notes[-1]


def test_a_larger_budget_s_plan_that_cannot_be_paid_here_is_not_checked(tmp_path, monkeypatch):
    """Below the budgets the largest plan fits, the funding stage finds no way to pay its items,
    and the plan is taken not to fit without the independent check (a plan of the largest
    budget, paid as it was there, breaks this budget's rules): the check of each plan that
    is kept runs, the checks of plans that cannot fit do not."""
    from optimizer.analyses import sweep
    from optimizer.core import run
    no_match = dict(match_rate=0, match_basis="none", match_type="none")
    inputs = instance(tmp_path, THREE, programs=[program("fed", **no_match)],
                      funding_sources={"g": {"program": "fed", "amount": 50}}, budget={"capital": 300, **FREE})
    checked = []
    real = run.check
    monkeypatch.setattr(run, "check", lambda model, plan: checked.append(
        sum(model.problem.capital_budget.values())) or real(model, plan))
    s = sweep.BudgetSweep(inputs)
    s.at(1600)
    checked.clear()
    for budget, fits in ((200, False), (800, True)):  # a, b and c cost $700, the grant pays $50
        s.model.set_capital_budget(sweep.spread_budget(s.problem, budget), budget)
        assert (s._larger_plan_kept(budget) is not None) == fits
    assert checked == [800]


def test_frontier_in_parallel_gives_the_same_values(tmp_path):
    inputs = instance(tmp_path, THREE, budget={"capital": 300, **FREE})
    one = frontier(inputs, points=5, max_budget=800)
    two = frontier(inputs, points=5, max_budget=800, workers=2)
    assert two.table["value"].tolist() == pytest.approx(one.table["value"].tolist())


def test_a_frontier_of_an_example_uses_both_cores_and_a_toy_one_does_not(tmp_path, monkeypatch):
    """Issue 30: two processes halve the work of a frontier whose solves take tenths of a
    second or more (every example, rural included: its 20 budgets took 19.1 s in one process
    and 14.3 s in two), while a toy scenario's solves take less than starting the processes."""
    from optimizer import load_inputs
    from optimizer.analyses import frontier as module
    from optimizer.paths import SCENARIOS_DIR
    monkeypatch.setattr(module.os, "cpu_count", lambda: 2)
    rural = load_inputs(SCENARIOS_DIR / "rural.yaml")
    assert module.default_workers(rural, 20) == 2 and module.default_workers(rural, 3) == 1
    toy = instance(tmp_path, THREE, budget={"capital": 300, **FREE})
    assert module.default_workers(toy, 20) == 1
    monkeypatch.setattr(module.os, "cpu_count", lambda: 1)
    assert module.default_workers(rural, 20) == 1


def test_screening_gives_each_measure_its_reason(tmp_path):
    measures = [fixed("a", 100, effectiveness=0.5, alternative_group="lock")] + [
        fixed("worse", 1000, effectiveness=0.3, alternative_group="lock"),  # a substitute of a: one per place
        fixed("harm", 150, effectiveness=0.5, component="video", evidence="harmful"),
        fixed("disc", 10, effectiveness=0.5, component="detection", discouraged="true",
              discouraged_reason="test guidance says no"),
        fixed("have", 10, component="communication"),
        fixed("dear", 100_000, effectiveness=0.1, component="communication"),
        fixed("low", 10, effectiveness=0.9, layer="classroom", discouraged="true", discouraged_reason="no"),
        fixed("high", 10, effectiveness=0.9, layer="classroom", tier=2),  # its tier 1 is ruled out
        fixed("banned", 10, effectiveness=0.9, component="people"),
    ]
    inputs = instance(tmp_path, measures, sites=[site("A", in_place="have")],
                      budget={"capital": 100, **FREE}, must_not=[{"measure": "banned"}])
    table = screen(inputs).set_index("measure_id")
    verdicts = table["verdict"].to_dict()
    assert verdicts == {"a": "chosen", "worse": "dominated", "harm": "weak evidence", "disc": "discouraged",
                        "have": "in place", "dear": "never chosen", "low": "discouraged", "high": "skips tiers", "banned": "prohibited"}
    assert "does at least as much: a ($100 vs $1,000 per school" in table.at["worse", "reason"]
    assert table.at["disc", "reason"] == "test guidance says no"


def test_screening_never_calls_a_complement_dominated_and_names_the_limit_that_binds(tmp_path):
    """A measure that adds to another (no alternative group) is never "dominated" nor given a
    better buy, however much better and cheaper the other is; a measure held out by the
    operating budget, the project limit or a prerequisite is said to be held out by that."""
    measures = [fixed("a", 100, effectiveness=0.5),
                fixed("complement", 1000, effectiveness=0.3),          # same layer, component and role as a
                m("staffed", capital_low=0, capital_typical=0, capital_high=0, annual_cost=250,
                  effectiveness=0.6, component="people"),
                fixed("video", 50, effectiveness=0.4, component="video"),
                fixed("needs-gate", 10, effectiveness=0.9, component="communication", prerequisites="gate"),
                fixed("gate", 10, effectiveness=0.1, component="detection")]
    inputs = instance(tmp_path, measures, budget={"capital": 160, "operating": 100},
                      must_not=[{"measure": "gate"}], policy={"max_projects": 1})
    table = screen(inputs, multiple=3).set_index("measure_id")
    assert table.at["complement", "verdict"] != "dominated" and table.at["complement", "better_buy"] == ""
    assert table.at["staffed", "verdict"] == "needs operating money"
    assert "operating included, is 3 times" in table.at["staffed", "reason"]
    assert table.at["video", "verdict"] == "project limit" and "limit of 1 projects" in table.at["video", "reason"]
    assert table.at["needs-gate", "verdict"] == "needs a prerequisite"
    assert table.at["needs-gate", "reason"].startswith("it needs gate in place first")


def test_screening_names_the_budget_that_brings_a_measure_in(tmp_path):
    inputs = instance(tmp_path, THREE, budget={"capital": 100, **FREE})
    table = screen(inputs, multiple=3).set_index("measure_id")
    assert table.at["b", "verdict"] == "needs more budget" and "1.5 times" not in table.at["b", "reason"]
    assert table.at["b", "reason"].endswith("($300)")


def test_alternatives_are_distinct_and_within_the_stated_percent(tmp_path):
    measures = [fixed(f"x{i}", 100, effectiveness=0.5 - 0.01 * i, component=comp)
                for i, comp in enumerate(["access_control", "video", "communication", "detection"])]
    inputs = instance(tmp_path, measures, budget={"capital": 200, **FREE})
    alt = alternatives(inputs, within=0.05, count=3)
    sets = [frozenset(alt.best.plan.installs)] + [frozenset(p.plan.installs) for p in alt.plans]
    assert len(alt.plans) == 3 and len(set(sets)) == 4
    gain = alt.best.value - alt.best.baseline_value
    assert all(p.value >= alt.best.value - 0.05 * gain - 1e-6 for p in alt.plans)
    assert (alt.differences["items_added"] >= 1).all()
    # in the board's unit, never better than the best, and by name (issue 29: "-0.0021" and raw ids)
    table = alt.differences
    assert table["risk_reduced"].tolist() == pytest.approx([p.gap_closed for p in alt.plans])
    assert (table["shortfall_points"] >= 0).all()
    assert "@" not in " ".join(table["added"]) and " at School" in " ".join(table["added"] + table["dropped"])


def test_pitch_of_a_better_product_enters_and_displaces_the_weaker_one(tmp_path):
    inputs = instance(tmp_path, [fixed("a", 200, effectiveness=0.2)], budget={"capital": 200, **FREE})
    good = pitch(inputs, Pitch(name="Better Lock", capital=100, layer="building",
                               component="access_control", tier=1, effectiveness=0.9))
    assert good.chosen_at_budget and good.measure_id == "pitch-better-lock"
    assert list(good.displaced["measure_id"]) == ["a"]
    assert good.entry_budget is not None and good.entry_budget <= 200
    useless = pitch(inputs, Pitch(name="Snake Oil", capital=100, layer="building",
                                  component="access_control", tier=1, effectiveness=0.0))
    assert not useless.chosen_at_budget and useless.entry_budget is None and useless.displaced.empty
    assert useless.value_per_1000 == 0.0


def test_pitch_with_an_unknown_layer_names_the_field(tmp_path):
    from optimizer.errors import InputError
    inputs = instance(tmp_path, [fixed("a", 200)], budget={"capital": 200, **FREE})
    with pytest.raises(InputError, match="field 'layer'"):
        pitch(inputs, Pitch(name="x", capital=1, layer="roof", component="video", effectiveness=0.1))


def test_explain_gives_the_mandate_the_alternative_and_the_budget(tmp_path):
    measures = [fixed("x", 100, effectiveness=0.6, alternative_group="g"),
                fixed("y", 100, effectiveness=0.5, alternative_group="g"),
                fixed("req", 300, effectiveness=0.1, component="communication"),
                fixed("later", 500, effectiveness=0.5, component="video")]
    mandate = {"law": {"title": "Test law", "measures": ["req"], "deadline_year": 2027}}
    inputs = instance(tmp_path, measures, budget={"capital": 400, **FREE}, mandates={"extra": mandate})
    req = explain(inputs, "req", "A")
    assert req.chosen and any("meets mandate law (Test law)" in r for r in req.reasons)
    y = explain(inputs, "y")
    assert not y.chosen and any("alternative group" in r and "x@A" in r for r in y.reasons)
    later = explain(inputs, "later", "A")
    assert not later.chosen
    assert any(r.startswith("enters the plan at a local capital budget of $9") for r in later.reasons)


def test_compare_reports_deltas_and_changed_items(tmp_path):
    small = instance(tmp_path, THREE, budget={"capital": 100, **FREE})
    large = apply_overrides(small, budget=300)
    more = optimize(large)
    c = compare({"small": optimize(small), "large": more})
    assert c.summary.at["capital", "delta large"] == pytest.approx(200)
    assert c.summary.at["items", "small"] == 1 and c.summary.at["items", "large"] == 2
    assert c.changes[["measure_id", "change"]].values.tolist() == [["b", "added"]]
    row = c.changes.iloc[0]  # by name and school, with the capital the change adds
    assert list(c.changes.columns[:2]) == ["measure", "school"]
    assert row["measure"] == more.plan.items.query("measure_id == 'b'")["name"].iloc[0]
    assert row["school"] == more.school_names()[row["site_id"]]
    assert row["capital_change"] == more.plan.items.query("measure_id == 'b'")["capital_cost"].iloc[0]
    assert c.spend_by_layer.loc["building", "delta large"] == pytest.approx(200)


@pytest.mark.slow
def test_robustness_without_spread_matches_the_single_plan(tmp_path):
    from optimizer.analyses.robust import robust
    inputs = instance(tmp_path, THREE, budget={"capital": 300, **FREE})  # fixed costs, no range
    single = set(optimize(inputs).plan.items["measure_id"])
    r = robust(inputs, samples=4, seed=1, effect_spread=0.0, workers=1)
    share = r.frequency.set_index("measure_id")["share"].to_dict()
    assert share == {mid: float(mid in single) for mid in ("a", "b", "c")}
    assert set(r.frequency["verdict"]) == {"robust buy", "never"}
    assert len(r.gaps) == 4 and all(0 <= g <= 1e-3 for g in r.gaps)  # each draw's proven gap
    assert r.worst_gap == max(r.gaps)


@pytest.mark.slow
def test_robustness_is_the_same_for_a_seed_whatever_the_number_of_workers(tmp_path):
    from optimizer.analyses.robust import robust
    ranged = [m(mid, capital_low=50, capital_typical=150, capital_high=400, annual_cost=0,
                effectiveness=0.4, component=comp)
              for mid, comp in (("a", "access_control"), ("b", "video"), ("c", "communication"))]
    inputs = instance(tmp_path, ranged, budget={"capital": 300, **FREE})
    one = robust(inputs, samples=8, seed=5, effect_spread=0.5, workers=1)
    two = robust(inputs, samples=8, seed=5, effect_spread=0.5, workers=2)
    assert one.values == two.values
    assert one.frequency.equals(two.frequency)
    assert 0 < one.frequency["share"].min() < 1 or one.frequency["share"].nunique() > 1


def test_a_robustness_run_that_fails_leaves_no_cluster_behind(tmp_path, monkeypatch):
    # The local cluster is closed however the run ends (here the scheduler is lost at once),
    # and its workers log only what is critical (not the heartbeat race at its close).
    import dask.distributed

    from optimizer.analyses.robust import robust
    started = []

    class Cluster:
        def __init__(self, **kwargs):
            self.kwargs, self.closed = kwargs, False
            started.append(self)

        def close(self):
            self.closed = True

    class LostScheduler:
        def __init__(self, address):
            raise OSError("the scheduler went away")

    monkeypatch.setattr(dask.distributed, "LocalCluster", Cluster)
    monkeypatch.setattr(dask.distributed, "Client", LostScheduler)
    inputs = instance(tmp_path, THREE, budget={"capital": 300, **FREE})
    with pytest.raises(OSError, match="went away"):
        robust(inputs, samples=2, seed=1, workers=1)
    assert len(started) == 1 and started[0].closed
    assert started[0].kwargs["silence_logs"] == logging.CRITICAL


def test_a_robustness_draw_starts_its_relaxation_from_the_scenarios_basis(tmp_path, monkeypatch):
    # Every draw's relaxation starts from the scenario's own final basis (the same for every
    # draw, whatever worker solves it); the draw's plan is the plan it gets from nothing.
    import highspy
    import numpy as np

    from optimizer.analyses.robust import _solve_draw
    from optimizer.core.run import scenario_basis
    ranged = [m(mid, capital_low=50, capital_typical=150, capital_high=400, annual_cost=0,
                effectiveness=0.4, component=comp)
              for mid, comp in (("a", "access_control"), ("b", "video"), ("c", "communication"))]
    inputs = instance(tmp_path, ranged, budget={"capital": 300, **FREE})
    options = SolveOptions(gap=1e-6)
    basis = scenario_basis(inputs, options)
    assert basis is not None and len(basis.columns) == len(basis.col_status) > 0
    seed = np.random.SeedSequence(3)
    cold = _solve_draw(inputs, seed, 0.5, options)
    real, used = highspy.Highs.setBasis, []

    def recording(self, *args):
        used.append(args)
        return real(self, *args)

    monkeypatch.setattr(highspy.Highs, "setBasis", recording)
    warm = _solve_draw(inputs, seed, 0.5, options, basis)
    assert len(used) == 1
    assert warm[0] == pytest.approx(cold[0], rel=1e-6) and sorted(warm[1]) == sorted(cold[1])


def test_screening_and_explain_say_which_grant_may_not_pay_and_why(tmp_path):
    fed = program("fed", rules=[
        {"effect": "allow", "cost_types": ["hardware"], "reason": "pays for hardware", "citation": "test sec. 1",
         "year": 2024, "basis": "primary"},
        {"effect": "deny", "measures": ["b"], "reason": "no officers", "citation": "test sec. 2",
         "year": 2024, "basis": "primary"}])
    inputs = instance(tmp_path, THREE, programs=[fed], funding_sources={"g": {"program": "fed", "amount": 50}},
                      budget={"capital": 300, **FREE})
    table = screen(inputs).set_index("measure_id")
    assert table.at["b", "grant_rules"] == "Test grant may not pay for this: no officers (test sec. 2, 2024)"
    assert table.at["a", "grant_rules"].startswith("Test grant may pay for this: pays for hardware")
    why = explain(inputs, "b", search_budget=False)
    assert "grant rules: Test grant may not pay for this: no officers (test sec. 2, 2024)" in why.reasons
