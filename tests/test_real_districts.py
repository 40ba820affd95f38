"""Real districts built from public documents (scenarios/real/, issue 27): each plan spends
every grant dollar where the award allows, on the project the award names, and the plan's
projects are compared with what the district bought in docs/real-districts.md."""
from __future__ import annotations

import pytest

from optimizer.core.run import optimize
from optimizer.core.verify import verify
from optimizer.data.inputs import load_inputs
from optimizer.paths import SCENARIOS_DIR

CAMERAS = {"bld-vid-entrance-cameras", "cls-vid-corridor-cameras", "cmp-vid-grounds-cameras"}


@pytest.fixture(scope="module")
def san_marino():
    return optimize(load_inputs(SCENARIOS_DIR / "real" / "san_marino_ca.yaml"))


def test_san_marino_spends_its_svpp_award_on_the_camera_replacement_it_was_made_for(san_marino):
    # The FY2023 SVPP award ($405,872) was made to replace the district's 130 cameras
    # ($595,279 in all, the district's estimate): every award dollar goes to the cameras, at
    # every school, in the award's years, with the district's share as local match.
    result = san_marino
    assert result.plan is not None and not verify(result.problem, result.plan)
    use = result.grant_use().set_index("source").loc["svpp"]
    assert use["used"] == pytest.approx(405_872, abs=0.01) and use["unused"] == pytest.approx(0, abs=0.01)
    paid = result.funding.query("source == 'svpp'")
    assert set(paid["measure_id"]) == CAMERAS and set(paid["year"]) <= {2024, 2025, 2026}
    items = result.plan.items
    cameras = items[items["measure_id"].isin(CAMERAS)]
    assert set(zip(cameras["measure_id"], cameras["site_id"])) == {
        (mid, sid) for mid in CAMERAS for sid in ("CARVER", "VALENTINE", "HUNTINGTON", "SMHS")}
    assert cameras["capital_cost"].sum() == pytest.approx(595_279, abs=20)  # 130 cameras at $4,579
    assert use["local_match"] == pytest.approx(189_407, abs=20)


def test_marble_falls_spends_its_state_safety_grants_on_the_fence_panic_system_and_film_it_approved():
    # The board approved $1,130,220 of state grants for scale-proof fencing ($475,336), a staff
    # panic notification system ($504,700) and entry-resistant film ($52,935) at its 7 campuses:
    # the plan buys those three at every campus within the grants' years and the grants pay
    # them, to the dollar of the district's figures; what the grants pay is only what they allow.
    result = optimize(load_inputs(SCENARIOS_DIR / "real" / "marble_falls_tx.yaml"))
    assert result.plan is not None and not verify(result.problem, result.plan)
    project = {"cmp-arc-perimeter-fencing": 475_336, "cls-det-silent-panic-alarm": 504_700,
               "bld-arc-security-film": 52_935}
    items = result.plan.items
    campuses = {s.id for s in result.problem.sites}
    for mid in project:
        assert set(items.loc[items["measure_id"] == mid, "site_id"]) == campuses, mid
    paid = result.funding.query("source == 'state-safety' and kind == 'capital'").groupby("measure_id")["amount"].sum()
    for mid, amount in project.items():
        assert paid[mid] == pytest.approx(amount, abs=7), mid  # the district's total, shared over 7 campuses
    allowed = {mid for (sid, mid), r in result.problem.rulings.items()
                if sid == "state-safety" and r.allowed}
    assert set(result.funding.query("source == 'state-safety'")["measure_id"]) <= allowed


@pytest.mark.slow
def test_lockport_spends_capital_only_bond_money_on_its_security_plan_and_never_on_banned_facial_recognition():
    # Smart Schools Bond Act money pays one-time capital only: every recurring cost of the
    # plan falls on local money. The plan's items (cameras, visitor badging, the PA that the
    # notification system replaced, bullet-resistant greeter windows) are bought where they
    # serve: the district office, a support building, gets only building and grounds items.
    # The facial recognition the district bought ($1.4-2.7 million, now banned in New York
    # schools) is never bought.
    result = optimize(load_inputs(SCENARIOS_DIR / "real" / "lockport_ny.yaml"))
    assert result.plan is not None and not verify(result.problem, result.plan)
    ssba = result.funding.query("source == 'ssba'")
    assert len(ssba) and set(ssba["kind"]) == {"capital"}
    assert result.funding.query("kind == 'annual' and amount > 0")["source"].unique().tolist() == ["local"]
    items = result.plan.items
    office = set(items.loc[items["site_id"] == "DO", "measure_id"])
    catalog = load_inputs(SCENARIOS_DIR / "real" / "lockport_ny.yaml").catalog
    assert office and all("support" in catalog.measures[mid].site_kinds for mid in office)
    assert "bld-vid-facial-recognition" not in set(items["measure_id"])
    # the allocation left unspent is set against what keeping the rest would cost the district
    why = result.grant_use().set_index("source").at["ssba", "why_unused"]
    assert "it pays one-time costs only" in why and "a year for all of them" in why
    schools = {s.id for s in result.problem.sites if s.kind == "school"}
    for mid in ("cls-vid-corridor-cameras", "cmp-vid-grounds-cameras", "bld-arc-bullet-resistant-glass"):
        assert set(items.loc[items["measure_id"] == mid, "site_id"]) >= schools, mid
