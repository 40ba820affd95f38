"""The plan command end to end: summary, files, determinism, model export, infeasibility."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import highspy
import pandas as pd
import pytest

from optimizer import load_inputs
from optimizer.core.run import optimize
from optimizer.paths import SCENARIOS_DIR
from tests.builders import instance, m, program, site

pytestmark = pytest.mark.slow


def run(*args):
    return subprocess.run([sys.executable, "-m", "optimizer", *map(str, args)], capture_output=True, text=True)


@pytest.fixture
def case(tmp_path):
    inputs = instance(
        tmp_path,
        [m("lock", annual_cost=10), m("reader", tier=2, prerequisites="lock", unit_basis="exterior_door",
                                        capital_low=100, capital_typical=150, capital_high=300, annual_cost=5),
         m("plan", layer="district", component="policies", scope="district", unit_basis="district",
           funding_categories="planning", budget_category="contractual", annual_cost=0),
         m("train", layer="district", component="people", scope="district", unit_basis="staff",
           funding_categories="training", budget_category="training", capital_low=20, capital_typical=30,
           capital_high=40, annual_cost=0)],
        programs=[program("fed")],
        funding_sources={"svpp": {"program": "fed", "amount": 1000}},
        sites=[site("A"), site("B", risk_weight=1.5)],
        horizon={"start": 2027, "years": 2},
        budget={"capital": 1500, "operating": 100},
    )
    return inputs.path, inputs.path.parent / "catalog"


def test_help_lists_subcommands():
    out = run("--help").stdout
    for sub in ("validate", "catalog", "plan"):
        assert sub in out


def test_plan_json_is_complete_and_deterministic(case, tmp_path):
    scenario, catalog = case
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    r1 = run("plan", scenario, "--catalog", catalog, "--out", first)
    assert r1.returncode == 0, r1.stderr
    assert "optimal" in r1.stdout and "Capital by layer" in r1.stdout
    run("plan", scenario, "--catalog", catalog, "--out", second)
    assert first.read_bytes() == second.read_bytes()
    data = json.loads(first.read_text())
    assert {"scenario", "status", "gap", "objective", "totals", "items", "tiers"} <= set(data)
    assert data["status"] == "optimal" and data["gap"] is not None
    assert set(data["totals"]) == {"capital", "procurement", "annual", "tco"}
    for item in data["items"]:
        assert {"measure_id", "site_id", "year", "quantity", "capital_cost", "annual_cost", "funding"} <= set(item)
        assert sum(item["funding"].values()) == pytest.approx(item["capital_cost"], abs=0.02)
    assert set(data["tiers"]["before"]) == {"A", "B"}
    assert data["totals"]["capital"] == pytest.approx(sum(i["capital_cost"] for i in data["items"]))
    assert "svpp" in data["spend"]["by_source"]


def test_plan_csv_and_excel(case, tmp_path):
    scenario, catalog = case
    assert run("plan", scenario, "--catalog", catalog, "--out", tmp_path / "p.csv").returncode == 0
    table = pd.read_csv(tmp_path / "p.csv")
    assert (table["paid_by_svpp"] + table["paid_by_local"]).sum() == pytest.approx(table["capital_cost"].sum(), abs=0.1)
    assert run("plan", scenario, "--catalog", catalog, "--out", tmp_path / "p.xlsx").returncode == 0
    book = pd.read_excel(tmp_path / "p.xlsx", sheet_name=None)
    assert {"Summary", "Plan by site", "Funding by source", "Tiers before and after", "Assumptions",
            "Budget svpp"} <= set(book)
    budget = book["Budget svpp"].set_index("Budget category")
    assert list(budget.index) == ["personnel", "equipment", "supplies", "contractual", "training", "other", "total"]
    assert budget.loc["total", "Local match ($)"] == pytest.approx(0.25 * budget.loc["total", "Grant share ($)"],
                                                                abs=0.05)
    assert budget.loc["total", "Grant share ($)"] == pytest.approx(table["paid_by_svpp"].sum(), abs=0.05)


def test_plan_writes_the_board_report_as_html_and_pdf(case, tmp_path):
    """Issue 29: the board report from the command line, the same pages as the app's."""
    scenario, catalog = case
    done = run("plan", scenario, "--catalog", catalog, "--out", tmp_path / "report.html")
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "report.html").read_text()
    assert all(f'<section id="{part}"' in html for part in ("ask", "projects", "effect", "unspent"))
    assert 'id="appendix-plan"' not in html  # every line only when asked
    assert run("plan", scenario, "--catalog", catalog, "--out", tmp_path / "all.html", "--every-line").returncode == 0
    assert 'id="appendix-plan"' in (tmp_path / "all.html").read_text()
    if shutil.which("chromium"):
        done = run("plan", scenario, "--catalog", catalog, "--out", tmp_path / "report.pdf")
        assert done.returncode == 0, done.stderr
        assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")


def test_a_pdf_this_machine_cannot_print_is_refused_before_the_solve(case, tmp_path):
    scenario, catalog = case
    done = subprocess.run([sys.executable, "-m", "optimizer", "plan", str(scenario), "--catalog", str(catalog),
                           "--out", str(tmp_path / "report.pdf")], capture_output=True, text=True,
                          env={**os.environ, "SCHOOL_SECURITY_CHROMIUM": "no-such-program"})
    assert done.returncode == 6
    assert "no-such-program" in done.stderr and "write the report as .html" in done.stderr
    assert "Traceback" not in done.stderr and "optimal" not in done.stdout  # refused before any solve
    assert not (tmp_path / "report.pdf").exists()


def test_written_model_resolves_to_the_same_objective(case, tmp_path):
    scenario, catalog = case
    mps = tmp_path / "model.mps"
    r = run("plan", scenario, "--catalog", catalog, "--write-model", mps, "--out", tmp_path / "p.json")
    assert r.returncode == 0, r.stderr
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(mps))
    h.run()
    ours = json.loads((tmp_path / "p.json").read_text())
    # The model's objective is the coverage value less a tie-break far below 0.01%.
    assert h.getInfo().objective_function_value == pytest.approx(ours["objective"], rel=1e-4)
    lp = tmp_path / "model.lp"
    assert run("plan", scenario, "--catalog", catalog, "--write-model", lp).returncode == 0
    assert "in_place_lock@A,2027" in lp.read_text()


def test_cbc_gives_the_same_objective(case, tmp_path):
    scenario, catalog = case
    run("plan", scenario, "--catalog", catalog, "--out", tmp_path / "h.json")
    r = run("plan", scenario, "--catalog", catalog, "--solver", "cbc", "--out", tmp_path / "c.json")
    assert r.returncode == 0, r.stderr
    h, c = (json.loads((tmp_path / f).read_text()) for f in ("h.json", "c.json"))
    assert c["solver"] == "cbc" and c["objective"] == pytest.approx(h["objective"], rel=1e-4)


def test_infeasible_scenario_exits_3_and_names_the_conflict(case):
    scenario, catalog = case
    text = scenario.read_text() + "must:\n- measure: reader\n  site: A\n- measure: reader\n  site: B\n"
    scenario.write_text(text.replace("capital: 1500", "capital: 100"))
    r = run("plan", scenario, "--catalog", catalog)
    assert r.returncode == 3
    assert "no feasible plan" in r.stderr and "short by $" in r.stderr and "cost at least $" in r.stderr
    assert "Traceback" not in r.stderr


def test_an_infeasible_plan_prints_what_was_left_out_before_the_conflict(case):
    # The award was made for FY2024-25: outside a 2027-2028 plan it is left out, and the plan
    # that needed its money is infeasible. The note saying so comes before the conflict.
    import yaml
    scenario, catalog = case
    data = yaml.safe_load(scenario.read_text())
    data["funding_sources"]["svpp"].update(first_year=2024, last_year=2025)
    data["budget"]["capital"] = 100
    data["must"] = [{"measure": "reader", "site": "A"}, {"measure": "reader", "site": "B"}]
    scenario.write_text(yaml.safe_dump(data, sort_keys=False))
    r = run("plan", scenario, "--catalog", catalog)
    assert r.returncode == 3 and "Traceback" not in r.stderr
    left_out = r.stderr.find("funding source svpp: no fiscal year of the horizon is inside its period")
    assert 0 <= left_out < r.stderr.find("The rules conflict") and "1,000 left out" in r.stderr


def test_overrides_on_the_command_line(case, tmp_path):
    scenario, catalog = case
    r = run("plan", scenario, "--catalog", catalog, "--budget", 0, "--years", 1, "--out", tmp_path / "z.json")
    assert r.returncode == 0, r.stderr
    data = json.loads((tmp_path / "z.json").read_text())
    local = sum(i["funding"].get("local", 0) for i in data["items"])
    assert local == 0 or all(i["year"] == 2027 for i in data["items"])
    assert all(i["year"] == 2027 for i in data["items"])


def test_bad_options_exit_2(case):
    scenario, catalog = case
    r = run("plan", scenario, "--catalog", catalog, "--objective", "cheapest")
    assert r.returncode == 2 and "risk_reduction" in r.stderr and "Traceback" not in r.stderr


def test_validate_bad_file_exits_2_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nhorizon: {start: 2027, years: 40}\n")
    r = run("validate", bad)
    assert r.returncode == 2 and "horizon.years" in r.stderr and "bad.yaml" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_validate_says_how_it_read_each_source_and_names_a_state_without_a_profile(tmp_path):
    what_if = tmp_path / "what_if.yaml"
    what_if.write_text(f"extends: {SCENARIOS_DIR / 'suburban.yaml'}\nstate: WY\nfunding_sources:\n"
                       "  connections:\n    program: ed-stronger-connections\n    amount: 200000\n")
    result = run("validate", what_if)
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    # the program is closed to new applications, but its awards are spent until 2026-09-30:
    # fiscal year 2027 (July 2026 - June 2027) is the one year of the plan they still pay in
    assert "(connections): $200,000 in all, spent in FY2027;" in text
    assert "no mandate profile for WY" in text
    # and every source's reading: the Title IV-A allocation per year, the SVPP award in all
    assert ("money: Title IV-A safe and healthy students set-aside (title-iv-a): $45,000 a year in "
            "FY2027-FY2028 ($90,000 over the horizon)") in text
    assert "money: COPS SVPP award FY2026 (svpp): $400,000 in all" in text and "25% local match" in text


def test_the_plan_fits_a_terminal_of_100_columns(case):
    """Issue 29: the command line printed 140 columns whatever the terminal; it takes the
    terminal's width (COLUMNS here), and 140 only when the output goes to a file or a pipe."""
    import os
    scenario, catalog = case
    narrow = subprocess.run([sys.executable, "-m", "optimizer", "plan", str(scenario), "--catalog", str(catalog)],
                            capture_output=True, text=True, env={**os.environ, "COLUMNS": "100"})
    assert narrow.returncode == 0, narrow.stderr
    assert max(len(line) for line in narrow.stdout.splitlines() if line.startswith(("┃", "│", "┏", "└"))) <= 100
    wide = run("plan", scenario, "--catalog", catalog)
    assert max(len(line) for line in wide.stdout.splitlines()) > 100  # a pipe gets the wide tables


def test_the_plan_shows_names_and_the_ids_only_when_asked():
    """Issue 29: no ids or code names where a person reads, the command line included, unless
    asked with a flag: measures, schools, grants and PASS layers by name, headers in words."""
    rural = SCENARIOS_DIR / "rural.yaml"
    plain, with_ids = run("plan", rural), run("plan", rural, "--ids")
    assert plain.returncode == with_ids.returncode == 0, plain.stderr
    result = optimize(load_inputs(rural))
    measure_ids = set(result.plan.items["measure_id"])
    site_ids = {s for s in result.plan.items["site_id"] if s != "district"}
    codes = measure_ids | site_ids | {"local_match", "grant_share", "why_unused", "pass_tier", "site_id"}
    assert not [code for code in codes if code in plain.stdout]
    assert "Cedar Hollow High School" in plain.stdout and "Building Perimeter" in plain.stdout
    assert all(m[:10] in with_ids.stdout for m in measure_ids)  # a long id may wrap in its column
    assert all(s in with_ids.stdout for s in site_ids)
