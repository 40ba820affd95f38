"""Plans read as a school-safety consultant reads them, on every example and on a generated
district: nothing rated harmful, controlled visitor entry before higher-tier video at a school
that lacks it, the strong-evidence SEL curriculum before weaker personnel items, no lock-status
indicator without inside locks, and no two items paying for the same service."""
from __future__ import annotations

from pathlib import Path

import pytest

from optimizer.core.run import optimize
from optimizer.data.catalog import load_catalog
from optimizer.data.inputs import Inputs
from optimizer.data.synthetic import generate_scenario
from tests.builders import solved_example

CONTROLLED_ENTRY = {"bld-ac-visitor-entry-intercom", "bld-arc-vestibule-retrofit", "bld-arc-vestibule-construction"}
SEL = "dst-ppl-sel-program"
INDICATOR = "cls-ac-lock-status-indicator"
INSIDE_LOCKS = {"cls-ac-interior-lock-retrofit", "cls-ac-door-replacement"}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module", params=["rural.yaml", "suburban.yaml", pytest.param("urban.yaml", marks=pytest.mark.slow),
                                        "generated"])
def result(request, catalog):
    if request.param == "generated":
        return optimize(Inputs(generate_scenario("S", catalog, seed=11), catalog, Path("synthetic-S")))
    return solved_example(request.param)


def _in_place(result, site_id: str) -> set[str]:
    existing = result.problem.existing
    return set(existing.loc[existing["site_id"].isin([site_id, "district"]), "measure_id"])


def test_no_measure_rated_harmful_is_bought(result, catalog):
    harmful = {mid for mid, m in catalog.measures.items() if m.evidence == "harmful"}
    assert harmful and not harmful & set(result.plan.items["measure_id"])


def test_controlled_entry_comes_before_higher_tier_video_at_a_school_without_it(result):
    items = result.plan.items
    for site in result.problem.sites:
        if _in_place(result, site.id) & CONTROLLED_ENTRY:
            continue
        mine = items[items["site_id"] == site.id]
        video = mine[(mine["component"] == "video") & (mine["tier"] >= 2)]
        if len(video):
            entry = mine[mine["measure_id"].isin(CONTROLLED_ENTRY)]
            assert len(entry) and entry["year"].min() <= video["year"].min(), site.id


def test_sel_is_bought_before_a_weaker_non_mandated_personnel_item(result, catalog):
    cand = result.problem.candidates.set_index("key")
    items = result.plan.items
    keys = [f"{mid}@{site}" for mid, site in zip(items["measure_id"], items["site_id"])]
    weaker = [k for k in keys if catalog.measures[cand.at[k, "measure_id"]].budget_category == "personnel"
              and catalog.measures[cand.at[k, "measure_id"]].evidence != "strong"
              and not cand.at[k, "mandated"] and not cand.at[k, "must"]]
    if weaker:
        assert SEL in set(items["measure_id"]) | _in_place(result, "district"), weaker


def test_no_lock_status_indicator_without_inside_locks(result):
    items = result.plan.items
    for site in items.loc[items["measure_id"] == INDICATOR, "site_id"]:
        assert (set(items.loc[items["site_id"] == site, "measure_id"]) | _in_place(result, site)) & INSIDE_LOCKS, site


def test_no_two_items_pay_for_the_same_service(result, catalog):
    items = result.plan.items
    for site in {s.id for s in result.problem.sites} | {"district"}:
        held = set(items.loc[items["site_id"] == site, "measure_id"]) | _in_place(result, site)
        groups = [catalog.measures[mid].alternative_group for mid in held if catalog.measures[mid].alternative_group]
        assert len(groups) == len(set(groups)), (site, sorted(groups))
