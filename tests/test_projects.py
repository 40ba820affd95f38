"""Plans as districts procure them: a project is one PASS component's purchases in one fiscal
year; buying from vendors costs a project's procurement (staff time, from the operating
budget) once, and ``policy.max_projects`` counts projects."""
from __future__ import annotations

import pandas as pd
import pytest

from optimizer.core.greedy import greedy_plan
from optimizer.core.model import build_model
from optimizer.core.plan import Plan, make_plan
from optimizer.core.run import optimize
from optimizer.core.solve import check, read_plan, solve_model
from optimizer.core.status import SolveOptions, Status
from optimizer.core.verify import verify
from optimizer.data.inputs import load_inputs
from optimizer.data.synthetic import generate_scenario, generate_sites
from optimizer.paths import SCENARIOS_DIR
from tests.builders import instance, m, problem, program, site


def _measures():
    """Two access-control measures (one project when bought in one year) and a video one."""
    return [m("lock", annual_cost=0, effectiveness=0.5), m("reader", annual_cost=0, effectiveness=0.4, threats="harm 1"),
            m("cam", component="video", role="detect", annual_cost=0, effectiveness=0.5)]


def _rules_broken(problem_, plan) -> set[str]:
    return {v.rule for v in verify(problem_, plan)}


def test_each_component_bought_in_a_year_is_procured_once_from_the_operating_budget(tmp_path):
    # Capital for everything; staff time for one procurement only: the plan buys one project
    # (both access-control measures at both schools), not a scatter over two.
    p = problem(tmp_path, _measures(), sites=[site("A"), site("B")],
                budget={"capital": 10_000, "operating": 1_500}, policy={"project_cost": 1_000})
    model = build_model(p)
    assert solve_model(model).status == Status.OPTIMAL
    checked = check(model, read_plan(model))
    assert checked.valid, checked.violations
    plan = checked.plan
    assert set(plan.items["measure_id"]) == {"lock", "reader"} and len(plan.items) == 4
    assert plan.projects[["key", "year", "procurement", "places", "items"]].values.tolist() == [
        ["access_control", 2027, 1000.0, 2, 4]]
    # without the procurement in the operating budget the model buys both projects, which the
    # verifier refuses
    unpriced = build_model(p, skip={"operating_budget"})
    solve_model(unpriced)
    both = read_plan(unpriced)
    assert set(both.items["component"]) == {"access_control", "video"}
    assert "operating_budget" in _rules_broken(p, both)


def test_a_plan_that_miscounts_its_procurement_is_refused(tmp_path):
    p = problem(tmp_path, _measures(), sites=[site("A")], budget={"capital": 10_000, "operating": 10_000},
                policy={"project_cost": 1_000})
    plan = greedy_plan(p)
    assert not verify(p, plan) and plan.procurement == 2_000  # two components, one year
    free = plan.projects.assign(procurement=0.0)
    assert "projects" in _rules_broken(p, Plan(plan.installs, plan.items, plan.funding, free))


def test_the_project_limit_counts_components_bought_in_a_year_not_measures(tmp_path):
    # Two access-control measures are one project: a limit of one still buys both of them.
    p = problem(tmp_path, _measures(), sites=[site("A")], budget={"capital": 10_000, "operating": 10_000},
                policy={"max_projects": 1})
    model = build_model(p)
    solve_model(model)
    checked = check(model, read_plan(model))
    assert checked.valid and set(checked.plan.items["measure_id"]) == {"lock", "reader"}
    start = greedy_plan(p)
    assert len(start.projects) == 1 and not verify(p, start)


def test_a_four_school_district_at_60000_a_year_plans_at_most_a_dozen_projects():
    inputs = load_inputs(SCENARIOS_DIR / "rural.yaml")
    scenario = generate_scenario("S", inputs.catalog)  # $60,000 a year: two thirds capital
    scenario = scenario.model_copy(update={"sites": generate_sites(4, 7, inputs.catalog), "funding_sources": {},
                                           "budget": scenario.budget.model_copy(update={"capital": 40_000,
                                                                                        "operating": 20_000})})
    result = optimize(type(inputs)(scenario, inputs.catalog, inputs.path), SolveOptions(time_limit=120))
    assert result.plan is not None and not verify(result.problem, result.plan)
    assert len(result.plan.projects) <= 12, result.plan.projects[["project", "measures"]]


def test_rural_plans_at_most_20_projects_and_a_binding_limit_is_named_where_grant_money_is_left():
    inputs = load_inputs(SCENARIOS_DIR / "rural.yaml")
    result = optimize(inputs, SolveOptions(time_limit=120))
    assert len(result.plan.projects) <= 20
    limited = inputs.scenario.model_copy(update={"policy": inputs.scenario.policy.model_copy(
        update={"max_projects": 2})})
    held = optimize(type(inputs)(limited, inputs.catalog, inputs.path), SolveOptions(time_limit=120))
    assert len(held.plan.projects) == 2 and held.value < result.value
    use = held.grant_use()
    left = use[use["unused"] > 1]
    assert len(left) and all("limit of 2 projects" in why for why in left["why_unused"])


def test_the_projects_table_adds_up_to_the_items():
    result = optimize(load_inputs(SCENARIOS_DIR / "rural.yaml"), SolveOptions(time_limit=120))
    table = result.projects()
    items = result.plan.items
    assert table["items"].sum() == len(items)
    assert table["capital"].sum() == pytest.approx(items["capital_cost"].sum())
    assert table["procurement"].sum() == pytest.approx(result.totals()["procurement"])
    by_project = items.groupby(["component", "year"]).size()  # rural has no award made for a project
    assert sorted(by_project.index) == sorted(zip(table["key"], table["year"]))
    assert isinstance(table, pd.DataFrame) and table["project"].str.contains(r", FY20\d\d$").all()
    # each project is its items, to the bit: measures in the order the plan buys them, places, dollars
    grouped = items.groupby(["year", "component"], sort=False).agg(
        measures=("measure_id", "nunique"), places=("site_id", "nunique"), items=("measure_id", "size"),
        capital=("capital_cost", "sum"), annual=("annual_cost", "sum"),
        measure_ids=("measure_id", lambda ids: ";".join(dict.fromkeys(ids))))
    mine = result.plan.projects.set_index(["year", "key"])[list(grouped.columns)]
    assert mine.loc[grouped.index].astype(object).values.tolist() == grouped.astype(object).values.tolist()


def test_an_item_whose_life_ends_inside_the_horizon_is_bought_again_and_paid_then(tmp_path):
    # A two-year item in a three-year plan: bought in 2027 it is bought again in 2029, when
    # there is no money, so the plan buys it in 2028 (its renewal would fall after the horizon).
    training = m("training", annual_cost=0, useful_life=2, capital_low=100, capital_typical=100, capital_high=100)
    p = problem(tmp_path, [training], horizon={"start": 2027, "years": 3},
                budget={"capital": {2027: 100, 2028: 100, 2029: 0}, "operating": 1e9})
    model = build_model(p)
    solve_model(model)
    checked = check(model, read_plan(model))
    assert checked.valid and checked.plan.items[["year", "renewed_in", "capital_cost"]].values.tolist() == [[2028, "", 100.0]]
    early = make_plan(p, {0: 2027}, {}, {})
    assert early.items[["renewed_in", "capital_cost"]].values.tolist() == [["2029", 200.0]]
    capital = early.funding[early.funding["kind"] == "capital"]
    assert capital[["year", "amount"]].values.tolist() == [[2027, 100.0], [2029, 100.0]]
    assert "capital_budget" in _rules_broken(p, early)


def test_an_award_made_for_a_project_is_procured_as_one_project(tmp_path):
    # The award's project holds a lock (access control) and cameras (video): one procurement,
    # named after the award, not one per component.
    lock = m("lock", annual_cost=0, effectiveness=0.5, funding_categories="hardware")
    cams = m("cams", component="video", role="detect", annual_cost=0, effectiveness=0.3, funding_categories="hardware")
    common = dict(programs=[program("fed", match_rate=0.0)], sites=[site("A"), site("B")],
                  budget={"capital": 0, "operating": 10_000}, policy={"project_cost": 1_000})
    p = problem(tmp_path, [lock, cams], funding_sources={
        "g": {"program": "fed", "name": "Safety award", "amount": 800, "project": ["lock", "cams"]}}, **common)
    model = build_model(p)
    solve_model(model)
    checked = check(model, read_plan(model))
    assert checked.valid, checked.violations
    projects = checked.plan.projects
    assert projects[["project", "items", "procurement"]].values.tolist() == [["Safety award: its project, FY2027", 4, 1000.0]]


def test_risk_reduction_against_the_number_of_projects_names_what_the_limit_and_procuring_cost(tmp_path):
    # Three components, capital for all, staff time for two procurements at $100 each: the plan
    # with no limit is two projects, with procuring free three; a limit of one keeps one.
    from optimizer.analyses.project_count import FREE, NO_LIMIT, project_count, with_projects
    measures = [m("lock", annual_cost=0, effectiveness=0.5),
                m("cam", component="video", role="detect", annual_cost=0, effectiveness=0.4),
                m("radio", component="communication", role="respond", annual_cost=0, effectiveness=0.3)]
    inputs = instance(tmp_path, measures, sites=[site("A")], budget={"capital": 100_000, "operating": 250},
                      policy={"project_cost": 100, "max_projects": 1})
    found = project_count(inputs, options=SolveOptions(gap=0.0))
    table = found.table.set_index("plan")
    assert table.loc[NO_LIMIT, "projects"] == 2 and table.loc[FREE, "projects"] == 3
    assert table.loc["at most 1", "projects"] == 1 and bool(table.loc["at most 1", "scenario"])
    removed = table["risk_removed"]
    assert removed["at most 1"] < removed[NO_LIMIT] < removed[FREE]
    assert table.loc[NO_LIMIT, "procurement"] == 200 and table.loc[FREE, "procurement"] == 0
    assert all(not verify(r.problem, r.plan) for r in found.plans)
    limit, procuring = found.words()
    assert "limit of 1 projects" in limit and "with no limit the plan is 2 projects" in limit
    assert "$100 of staff time" in procuring and "3 projects" in procuring and "points more" in procuring
    loose = project_count(with_projects(inputs, 5), [1], SolveOptions(gap=0.0))  # a limit that does not bind
    assert bool(loose.table.set_index("plan").loc[NO_LIMIT, "scenario"])
    assert loose.words()[0] == "The scenario's limit of 5 projects does not bind: the best plan is 2 projects."


@pytest.mark.slow
def test_suburban_reports_risk_reduction_against_the_number_of_projects():
    # The suburban example allows 10 projects; planned at 2, 3 and 5 and with no limit: two
    # projects cannot meet Pennsylvania's mandates (policies, people and detection, all due
    # now), so that limit has no plan and says so; fewer projects remove less of the modelled
    # risk, and each plan keeps its limit.
    from optimizer.analyses.project_count import NO_LIMIT, project_count
    found = project_count(load_inputs(SCENARIOS_DIR / "suburban.yaml"), [2, 3, 5],
                          SolveOptions(gap=0.01, time_limit=30))
    table = found.table.set_index("plan")
    assert table.loc["at most 2", "status"] == "infeasible"
    assert table.loc["at most 3", "projects"] <= 3 and table.loc["at most 5", "projects"] <= 5
    removed = table["risk_removed"]
    assert removed["at most 3"] < removed["at most 5"] < removed[NO_LIMIT] + 0.01
    assert all(not verify(r.problem, r.plan) for r in found.plans if r.plan is not None)
    unlimited = int(table.loc[NO_LIMIT, "projects"])
    if unlimited <= 10:
        assert found.words()[0] == f"The scenario's limit of 10 projects does not bind: the best plan is {unlimited} projects."
    else:  # it binds: its plan is planned too, and set against the plan with no limit
        assert found.words()[0].startswith("The scenario's limit of 10 projects: its plan")
