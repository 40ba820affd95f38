"""Every example scenario solves to proven optimality with a verified plan, better than the
greedy baseline; the CLI's files for the suburban example open and agree with the API."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from optimizer import load_inputs
from optimizer.core.greedy import greedy_plan
from optimizer.core.projects import PROCURED
from optimizer.core.run import optimize
from optimizer.core.status import Status
from optimizer.core.verify import plan_objective, verify
from optimizer.data.inputs import Inputs
from optimizer.defaults import DEFAULT_GAP
from optimizer.paths import EXAMPLE_SCENARIO, SCENARIOS_DIR
from optimizer.reports.export import write_plan

EXAMPLES = sorted(p.name for p in SCENARIOS_DIR.glob("*.yaml"))
from tests.builders import solved_example

PLAN_HASHES = Path(__file__).parent / "data" / "plan_hashes.json"
#: The rural example (3 schools) stays in the fast loop: one scenario solved end to end and verified.
CASES = [pytest.param(n, marks=() if n == "rural.yaml" else pytest.mark.slow) for n in EXAMPLES]


solved = solved_example


@pytest.mark.parametrize("name", CASES)
def test_example_solves_to_optimality(name):
    result = solved(name)
    assert result.status == Status.OPTIMAL, result.report
    assert result.report.gap is not None and result.report.gap <= DEFAULT_GAP + 1e-9
    assert not verify(result.problem, result.plan)
    greedy = greedy_plan(result.problem)
    if not verify(result.problem, greedy):  # compared as the optimizer compares plans
        assert plan_objective(result.problem, result.plan) >= plan_objective(result.problem, greedy) - 1e-6
    totals = result.totals()
    procured = result.plan.items[result.plan.items["budget_category"].isin(PROCURED)]
    projects = len(procured[["component", "year"]].drop_duplicates())
    assert totals["procurement"] == pytest.approx(projects * result.problem.project_cost)
    assert totals["capital"] == pytest.approx(result.plan.items["capital_cost"].sum())


@pytest.mark.slow
def test_whatifs_move_the_plan_the_right_way():
    base, no_svpp = solved("suburban.yaml"), solved("suburban_no_svpp.yaml")
    assert no_svpp.value < base.value
    assert "svpp" not in set(no_svpp.plan.funding["source"])


@pytest.mark.slow
def test_cli_files_match_the_api(tmp_path):
    out = tmp_path / "plan.xlsx"
    js = tmp_path / "plan.json"
    for path in (out, js):
        r = subprocess.run([sys.executable, "-m", "optimizer", "plan", str(EXAMPLE_SCENARIO), "--out", str(path)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    api = solved(EXAMPLE_SCENARIO.name)
    data = json.loads(js.read_text())
    assert data["objective"] == pytest.approx(api.value, rel=1e-4)
    book = pd.read_excel(out, sheet_name=None)
    assert {"Summary", "Plan by site", "Funding by source", "Tiers before and after", "Assumptions",
            "Budget svpp", "Budget pccd", "Budget title-iv-a"} <= set(book)
    plan = book["Plan by site"]
    assert plan["Capital cost ($)"].sum() == pytest.approx(data["totals"]["capital"], abs=1)
    assumptions = book["Assumptions"].set_index("Assumption")["Value"]
    assert "PASS" in assumptions["catalog"] and "COPS" in assumptions["funding: svpp"]


def _left_out_for_opinion(result) -> list[tuple[str, str]]:
    """(bought, left out) pairs where the plan buys a measure without evidence (none or
    contested) while an evidence-backed one (strong or moderate) doing the same job (layer
    and role) at the same place, for less money per unit of effect, is left out although
    nothing rules it out (its alternative group is free, it is allowed)."""
    p, installs = result.problem, result.plan.installs
    cand = p.candidates
    catalog = load_inputs(SCENARIOS_DIR / "rural.yaml").catalog
    evidence = {mid: catalog.measures[mid].evidence for mid in set(cand["measure_id"])}
    per_effect = (cand["capital"] + cand["annual"] * len(p.years)) / cand["effectiveness"].where(cand["effectiveness"] > 0)
    taken_groups = {(cand.at[c, "alternative_group"], cand.at[c, "site_id"]) for c in installs
                    if cand.at[c, "alternative_group"]}
    out = []
    for c in installs:
        if evidence[cand.at[c, "measure_id"]] not in ("none", "contested") or not per_effect[c] > 0:
            continue
        for d in cand.index[(cand["layer"] == cand.at[c, "layer"]) & (cand["role"] == cand.at[c, "role"])
                            & cand["site_id"].isin([cand.at[c, "site_id"], "district"])
                            & (cand["forbidden"] == "")]:
            if (d not in installs and evidence[cand.at[d, "measure_id"]] in ("strong", "moderate")
                    and per_effect[d] < per_effect[c]
                    and (cand.at[d, "alternative_group"], cand.at[d, "site_id"]) not in taken_groups):
                out.append((cand.at[c, "key"], cand.at[d, "key"]))
    return out


@pytest.mark.parametrize("name", CASES)
def test_evidence_backed_measures_are_not_left_out_for_unproven_ones_doing_the_same_job(name):
    assert _left_out_for_opinion(solved(name)) == []


@pytest.mark.slow
def test_the_suburban_plan_is_at_most_ten_projects_that_reach_every_school():
    # The plan is chosen by risk reduced, with PASS tiers the roadmap beside it: every school
    # gets its own purchases. The risk plan completes a PASS tier at 4 of the 15 schools (it
    # puts district-wide programs, which count after the horizon too, before finishing each
    # layer's tier-1 components everywhere); a district that plans by the roadmap
    # (objective tier1_first) gains a tier at every school.
    result = solved("suburban.yaml")
    items = result.plan.items
    assert len(result.plan.projects) <= result.problem.max_projects == 10
    assert {s.id for s in result.problem.sites} <= set(items["site_id"])
    inputs = load_inputs(SCENARIOS_DIR / "suburban.yaml")
    data = inputs.scenario.model_dump()
    data["policy"]["objective"] = "tier1_first"
    roadmap = optimize(Inputs(type(inputs.scenario).model_validate(data), inputs.catalog, inputs.path))
    before, after = roadmap.tiers()
    gained = (after > before).any(axis=1)
    assert gained.all(), f"no PASS tier gained at {', '.join(gained[~gained].index)}"


@pytest.mark.slow
def test_suburban_cameras_at_the_end_of_their_life_stop_counting_and_are_replaced_only_then():
    result = solved("suburban.yaml")
    lapsed = [n for n in result.report.notes if "reached the end of its 8-year useful life" in n]
    assert sorted(n.split(":")[0] for n in lapsed) == ["Ash Grove Elementary", "Clayton Elementary", "Dogwood Elementary"]
    cand = result.problem.candidates.set_index("key")
    # Installed 2020 with an 8-year life: they serve through 2027; a replacement is a candidate
    # from fiscal year 2028 and the plan (verified) never buys one earlier.
    assert {cand.at[f"bld-vid-entrance-cameras@{s}", "not_before"] for s in ("HS-MAP", "HS-NTH", "MS-KNL")} == {2028}
    cameras = result.plan.items.query("measure_id == 'bld-vid-entrance-cameras'")
    assert all(y >= 2028 for s, y in zip(cameras["site_id"], cameras["year"]) if s in ("HS-MAP", "HS-NTH", "MS-KNL"))


def plan_json_sha256(name: str, folder) -> str:
    """SHA-256 of the example's plan JSON as ``plan --out plan.json`` writes it."""
    path = write_plan(solved(name), folder / f"{name}.json", load_inputs(SCENARIOS_DIR / name))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", CASES)
def test_example_plan_files_are_unchanged(name, tmp_path):
    """Every example's plan JSON is byte-identical to the stored one: a change to the code
    that moves a plan, a figure or a word shows here. Refresh deliberately, after checking
    the new plans, with ``.venv/bin/python -m tests.refresh_plan_hashes``."""
    expected = json.loads(PLAN_HASHES.read_text(encoding="utf-8"))
    assert plan_json_sha256(name, tmp_path) == expected[name], (
        f"the plan JSON of {name} changed; if that is intended, refresh tests/data/plan_hashes.json")
