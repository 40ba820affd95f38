"""The value model rewards what works: the evidence stance changes the plan exactly where a
small catalog says it must, screening names true substitutes, and ageing measures are replaced."""
from __future__ import annotations

import pytest

from optimizer.analyses.stance_check import (
    EVIDENCE,
    HOLDS,
    OPINION,
    stance_check,
    with_stance,
)
from optimizer.core.run import optimize
from tests.builders import instance, m, site

FREE = {"operating": 1e9}


def fixed(id: str, cost: float, **changes) -> dict:
    return m(id, capital_low=cost, capital_typical=cost, capital_high=cost, annual_cost=0, **changes)


SMALL = [fixed("tam", 100, effectiveness=0.4, role="prevent", evidence="moderate", component="people", layer="district",
               scope="district", unit_basis="district"),
         fixed("drill", 100, effectiveness=0.4, role="respond", evidence="expert_consensus", component="people",
               layer="district", scope="district", unit_basis="district"),
         fixed("tips", 100, effectiveness=0.3, role="detect", evidence="promising", component="people",
               layer="district", scope="district", unit_basis="district")]


def test_the_evidence_stance_changes_the_plan_exactly_where_it_must(tmp_path):
    inputs = instance(tmp_path, SMALL, budget={"capital": 200, **FREE})
    bought = {stance: set(optimize(with_stance(inputs, stance)).plan.items["measure_id"])
              for stance in ("full", "reduced", "evidence_only")}
    # In full the drill (expert consensus, 0.4) beats the tip line (promising, 0.3); counted at
    # half, it does not.
    assert bought == {"full": {"tam", "drill"}, "reduced": {"tam", "tips"}, "evidence_only": {"tam", "tips"}}
    table = stance_check(inputs).table.set_index("measure_id")
    assert table.at["tam", "verdict"] == HOLDS
    assert table.at["drill", "verdict"] == OPINION
    assert table.at["tips", "verdict"] == EVIDENCE
    assert table.loc["drill", ["full", "reduced", "evidence_only"]].tolist() == [1, 0, 0]


def test_screening_names_the_better_buy_for_the_same_job(tmp_path):
    from optimizer.analyses.screen import screen
    measures = [fixed("tam", 100, effectiveness=0.45, role="prevent", evidence="moderate", component="people",
                      alternative_group="screening"),
                fixed("gadget", 400, effectiveness=0.2, role="prevent", evidence="none", component="detection",
                      alternative_group="screening"),
                fixed("other-job", 50, effectiveness=0.5, role="respond", component="communication")]
    table = screen(instance(tmp_path, measures, budget={"capital": 150, **FREE})).set_index("measure_id")
    assert table.at["gadget", "verdict"] != "chosen"
    assert table.at["gadget", "better_buy"] == ("tam does the same job (prevent, building layer; a place gets one of "
                                                "the two) for less money for "
                                                "the protection it gives: $100 per school over the 1-year plan for a "
                                                "protection rating of 0.45 out of 1, against $400 for 0.20 for this "
                                                "one; evidence: moderate vs none")
    assert table.at["tam", "better_buy"] == ""


def test_money_that_buys_nothing_toward_a_tier_is_visible(tmp_path):
    # The building layer stays at tier 0 while its video component lacks a tier-1 measure
    # (too dear), so the tier-2 reader buys nothing toward a tier yet; a costs-nothing
    # outside-tier item is shown as such.
    measures = [fixed("lock", 100, effectiveness=0.3), fixed("reader", 100, tier=2, effectiveness=0.5),
                fixed("camera", 10_000, component="video", effectiveness=0.3),
                fixed("sign", 10, tier="outside", tier_basis="outside", effectiveness=0.1, component="communication")]
    result = optimize(instance(tmp_path, measures, budget={"capital": 210, **FREE}))
    assert set(result.plan.items["measure_id"]) == {"lock", "reader", "sign"}
    money = result.tier_money()
    assert money.loc["toward the next tier", "capital"] == 100      # the lock: tier 1 of a tier-0 layer
    assert money.loc["beyond the next tier", "capital"] == 100      # the reader
    assert money.loc["outside the tiers", "capital"] == 10


def test_cameras_at_the_end_of_their_life_are_replaced_when_it_is_worth_it(tmp_path):
    cam = fixed("cam", 300, component="video", role="detect", effectiveness=0.3, useful_life=10)
    sites = [site(name, name=f"{name.title()} School", in_place="cam", installed={"cam": year})
             for name, year in (("OLD", 2014), ("AGING", 2018), ("NEW", 2024))]
    inputs = instance(tmp_path, [cam], sites=sites, horizon={"start": 2027, "years": 3},
                      budget={"capital": 1000, **FREE})
    result = optimize(inputs)
    replaced = dict(zip(result.plan.items["site_id"], result.plan.items["year"]))
    # OLD's cameras are past their life before the horizon: replaced at once; AGING's end in
    # fiscal year 2028 and are replaced then, not before; NEW's still serve.
    assert replaced == {"OLD": 2027, "AGING": 2028}
    assert any(n.startswith("Old School: cam (installed 2014) reached the end of its 10-year useful life in 2024")
               for n in result.report.notes)
    # When a replacement does not fit the budget, the old cameras simply lapse.
    dear = optimize(instance(tmp_path, [dict(cam, capital_typical="1000000", capital_high="1000000")], sites=sites,
                             horizon={"start": 2027, "years": 3}, budget={"capital": 1000, **FREE}))
    assert dear.plan.items.empty


def test_a_mandated_measure_at_the_end_of_its_life_must_be_replaced_when_it_lapses(tmp_path):
    # The law wants a panic alarm at every school. School A's was installed in 2016 with a
    # 10-year life: it meets the law until fiscal year 2026 and must be replaced then, even
    # though the lock is worth far more per dollar. School B's is new and needs nothing.
    state = {"state": "NJ", "name": "New Jersey", "mandates": [{
        "id": "nj-panic", "title": "Panic alarm", "measures": ["panic"], "strength": "must",
        "deadline": "2020-06-30", "applies_to": "every_site", "source": "law (2019)",
        "law": "Test Act (2019)", "enacted": "2019-05-01", "as_of": "2025-01-01"}]}
    measures = [fixed("panic", 100, component="detection", role="respond", effectiveness=0.05, useful_life=10),
                fixed("lock", 100, effectiveness=0.9)]
    sites = [site("A", in_place="panic", installed={"panic": 2016}),
             site("B", in_place="panic", installed={"panic": 2024})]
    inputs = instance(tmp_path, measures, states=[state], state="NJ", sites=sites,
                      horizon={"start": 2025, "years": 3}, budget={"capital": 200, **FREE})
    result = optimize(inputs)
    panic = result.plan.items.query("measure_id == 'panic'")
    assert panic[["site_id", "year"]].values.tolist() == [["A", 2026]]
    rule = result.problem.mandates[0]
    assert rule.met_already == ("A", "B") and [(pl, yr) for pl, yr, _ in rule.requirements()] == [("A", 2026)]


def test_entry_screening_is_sized_by_lanes_counted_or_estimated_from_enrollment(tmp_path):
    screen = fixed("screen", 8_000, component="detection", role="detect", unit_basis="screening_lane",
                   effectiveness=0.3)
    counted = optimize(instance(tmp_path, [screen], sites=[site("A", enrollment=2000, screening_lanes=2)],
                                budget={"capital": 100_000, **FREE}))
    assert counted.plan.items[["quantity", "unit", "capital_cost"]].values.tolist() == [[2, "screening lane", 16_000]]
    # 2,000 students and no count: one lane per 670 students gives 3, and the plan says so.
    estimated = optimize(instance(tmp_path, [screen], sites=[site("A", enrollment=2000)],
                                  budget={"capital": 100_000, **FREE}))
    assert estimated.plan.items[["quantity", "unit"]].values.tolist() == [
        [3, "screening lane (estimated, one per 670 students)"]]


def test_security_film_is_sized_by_glazing_area_and_not_planned_without_it(tmp_path):
    film = fixed("film", 15, unit_basis="glazing_sqft", effectiveness=0.3)
    surveyed = optimize(instance(tmp_path, [film], sites=[site("A", glazing_sqft=800)], budget={"capital": 20_000, **FREE}))
    assert surveyed.plan.items[["quantity", "capital_cost"]].values.tolist() == [[800, 12_000]]
    unknown = optimize(instance(tmp_path, [film], sites=[site("A")], budget={"capital": 20_000, **FREE}))
    assert unknown.plan.items.empty
    assert any("priced by square foot of glazing" in n and "glazing_sqft" in n for n in unknown.report.notes)


def test_the_tier_grid_says_which_component_holds_a_school_at_tier_0(tmp_path):
    # A lock (access control) is in place at A, but video also has a tier-1 measure in the
    # catalog and none is in place: A stays at tier 0 in the building layer, held by video.
    from optimizer.core.tiers import tier_gaps
    measures = [fixed("lock", 100), fixed("camera", 100, component="video")]
    inputs = instance(tmp_path, measures, sites=[site("A", in_place="lock")], budget={"capital": 0, **FREE})
    result = optimize(inputs)
    gaps = tier_gaps(result.problem).set_index("layer")
    assert gaps.at["building", "tier"] == 0 and gaps.at["building", "in_place"] == 1
    assert gaps.at["building", "lacking_next_tier"] == ["video"]
    with_camera = tier_gaps(result.problem, {int(result.problem.candidates.index[
        result.problem.candidates["measure_id"] == "camera"][0]): 2027}).set_index("layer")
    assert with_camera.at["building", "tier"] == 1 and with_camera.at["building", "in_place"] == 2
