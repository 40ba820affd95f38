"""Places as they are (issue 27): a support building (bus garage, administration building) is
planned only for the building and grounds measures the catalog marks for it, never for a
classroom or student-facing measure."""
from __future__ import annotations

import pytest

from optimizer import InputError
from optimizer.core.model import build_model
from optimizer.core.run import optimize
from optimizer.core.solve import check, read_plan, solve_model
from optimizer.core.tiers import tiers_attained
from optimizer.core.verify import plan_value
from optimizer.data.catalog import load_catalog
from tests.builders import instance, m, problem, site

FREE = {"operating": 1e9}


def test_a_support_building_gets_no_classroom_or_student_facing_measure(tmp_path):
    # The alarm is marked for schools and support buildings; the classroom lock and the
    # visitor intercom for schools only. At the bus garage only the alarm is a candidate and
    # bought; the school gets all three.
    measures = [m("alarm", component="detection", role="detect", site_kinds="school;support", annual_cost=0),
                m("lock", layer="classroom", annual_cost=0),
                m("intercom", component="communication", annual_cost=0)]
    sites = [site("ES"), site("GARAGE", kind="support", level="other", enrollment=0, classrooms=0)]
    result = optimize(instance(tmp_path, measures, sites=sites, budget={"capital": 10_000, **FREE}))
    candidates = result.problem.candidates
    assert set(candidates.loc[candidates["site_id"] == "GARAGE", "measure_id"]) == {"alarm"}
    bought = result.plan.items
    assert set(bought.loc[bought["site_id"] == "GARAGE", "measure_id"]) == {"alarm"}
    assert set(bought.loc[bought["site_id"] == "ES", "measure_id"]) == {"alarm", "lock", "intercom"}
    assert not result.violations


def test_a_state_mandate_for_every_school_does_not_reach_a_support_building(tmp_path):
    # A law that every school hold drills binds the school, not the bus garage, where no drill
    # measure can be planned (the plan was infeasible: "cannot be met at GARAGE"); a law for
    # every building whose measure serves support buildings too binds both.
    def mandate(id, measure):
        return {"id": id, "title": id, "measures": [measure], "strength": "must", "deadline": "2027-06-30",
                "applies_to": "every_site", "law": "Test Act (2023)", "enacted": "2023-06-01",
                "source": "test law sec. 1 (2023)", "as_of": "2025-01-01"}
    measures = [m("alarm", component="detection", role="detect", site_kinds="school;support", annual_cost=0),
                m("drill", component="people", role="respond", annual_cost=0)]
    states = [{"state": "TX", "name": "Texas", "mandates": [mandate("tx-drills", "drill"), mandate("tx-alarm", "alarm")]}]
    sites = [site("ES"), site("GARAGE", kind="support", level="other", enrollment=0, classrooms=0)]
    result = optimize(instance(tmp_path, measures, states=states, state="TX", sites=sites,
                               budget={"capital": 10_000, **FREE}))
    places = {r.id: [place for place, _ in r.places] for r in result.problem.mandates}
    assert places == {"tx-drills": ["ES"], "tx-alarm": ["ES", "GARAGE"]}
    bought = set(zip(result.plan.items["measure_id"], result.plan.items["site_id"]))
    assert bought == {("drill", "ES"), ("alarm", "ES"), ("alarm", "GARAGE")} and not result.violations


def test_no_classroom_people_or_visitor_measure_of_the_catalog_is_marked_for_a_support_building():
    catalog = load_catalog()
    for measure in catalog.measures.values():
        if "support" in measure.site_kinds:
            assert measure.scope == "site", measure.id
            assert catalog.layer_of(measure) in ("building", "campus"), measure.id
            assert measure.component != "people" or measure.id in {"bld-ppl-aed", "bld-ppl-stop-the-bleed"}, measure.id
            assert "visitor" not in measure.id and "pa-system" not in measure.id, measure.id


def _campus_problem(tmp_path, **changes):
    fence = m("fence", layer="campus", component="architectural", annual_cost=0, effectiveness=0.5)
    sites = [site("A", campus="north"), site("B", campus="north"), site("C")]
    return problem(tmp_path, [fence], sites=changes.pop("sites", sites),
                   budget={"capital": changes.pop("capital", 200), "operating": 1e9}, **changes)


def test_a_campus_measure_is_bought_once_and_protects_every_school_on_the_campus(tmp_path):
    # A and B share a campus: its fence is one candidate, at A, and counts at both schools, so
    # with money for one fence the plan puts it on the shared campus.
    p = _campus_problem(tmp_path)
    assert sorted(p.candidates["key"]) == ["fence@A", "fence@C"]
    rows = {key: c for c, key in enumerate(p.candidates["key"])}
    none = plan_value(p, {})
    assert plan_value(p, {rows["fence@A"]: 2027}) - none == pytest.approx(2 * (plan_value(p, {rows["fence@C"]: 2027}) - none))
    model = build_model(p)
    solve_model(model)
    checked = check(model, read_plan(model))
    assert checked.valid and checked.plan.items[["measure_id", "site_id"]].values.tolist() == [["fence", "A"]]
    after = tiers_attained(p, checked.plan.installs)
    assert after.at["B", "campus"] == after.at["A", "campus"]


def test_a_campus_measure_in_place_at_one_school_serves_the_campus_and_meets_a_mandate_at_each(tmp_path):
    state = {"state": "TX", "name": "Texas", "mandates": [{
        "id": "tx-fence", "title": "Fence every campus", "measures": ["fence"], "strength": "must",
        "deadline": "2027-06-30", "applies_to": "every_site", "law": "Test Act (2023)", "enacted": "2023-06-01",
        "source": "test law sec. 1 (2023)", "as_of": "2025-01-01"}]}
    p = _campus_problem(tmp_path, sites=[site("A", campus="north"), site("B", campus="north", in_place="fence"),
                                         site("C")], capital=1000, states=[state], state="TX")
    assert list(p.candidates["key"]) == ["fence@C"]  # the campus has its fence (listed at B)
    model = build_model(p)
    solve_model(model)
    checked = check(model, read_plan(model))
    assert checked.valid and set(checked.plan.items["site_id"]) == {"C"}


def test_a_scenario_sets_a_measures_reach_and_an_unknown_measure_is_named(tmp_path):
    # The catalog puts readers on half of the exterior doors; the district on every one of them.
    reader = m("reader", unit_basis="exterior_door", unit_ratio=0.5, capital_low=1000, capital_typical=1000,
               capital_high=1000)
    half = problem(tmp_path, [reader], sites=[site("A", exterior_doors=10)], budget={"capital": 0, "operating": 0})
    every = problem(tmp_path, [reader], sites=[site("A", exterior_doors=10)], budget={"capital": 0, "operating": 0},
                    reach={"reader": 1})
    assert half.candidates[["quantity", "capital"]].values.tolist() == [[5, 5000.0]]
    assert every.candidates[["quantity", "capital"]].values.tolist() == [[10, 10000.0]]
    with pytest.raises(InputError) as caught:
        problem(tmp_path, [reader], budget={"capital": 0, "operating": 0}, reach={"readers": 1})
    assert "reach" in str(caught.value) and "readers" in str(caught.value)
