"""Places as they are (issue 27): a support building (bus garage, administration building) is
planned only for the building and grounds measures the catalog marks for it, never for a
classroom or student-facing measure."""
from __future__ import annotations

from optimizer.core.run import optimize
from optimizer.data.catalog import load_catalog
from tests.builders import instance, m, site

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


def test_no_classroom_people_or_visitor_measure_of_the_catalog_is_marked_for_a_support_building():
    catalog = load_catalog()
    for measure in catalog.measures.values():
        if "support" in measure.site_kinds:
            assert measure.scope == "site", measure.id
            assert catalog.layer_of(measure) in ("building", "campus"), measure.id
            assert measure.component != "people" or measure.id in {"bld-ppl-aed", "bld-ppl-stop-the-bleed"}, measure.id
            assert "visitor" not in measure.id and "pa-system" not in measure.id, measure.id
