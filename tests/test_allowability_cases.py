"""The catalog's grant rules against a table of (program, measure) pairs whose answer is
known from the program's statute or solicitation, each with its citation; and a scenario
funded only by BJA STOP that never shows STOP money on what STOP may not pay for, in any
export a district hands to an auditor."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import pytest
import yaml

from optimizer import load_inputs
from optimizer.core.run import optimize
from optimizer.data.allowability import rule_on
from optimizer.data.catalog import load_catalog
from optimizer.paths import SCENARIOS_DIR
from optimizer.reports.board import report_html
from optimizer.reports.export import assumptions, write_plan

CASES = Path(__file__).parent / "data" / "allowability_cases.csv"


def cases() -> list[dict[str, str]]:
    with CASES.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_the_table_holds_at_least_thirty_of_each_with_citations():
    rows = cases()
    assert sum(r["expected"] == "refused" for r in rows) >= 30
    assert sum(r["expected"] == "allowed" for r in rows) >= 30
    assert all(r["citation"].strip() for r in rows)
    assert {r["expected"] for r in rows} == {"allowed", "refused"}
    must_refuse = {("bja-stop", m) for m in ("bld-ppl-sro", "bld-ppl-armed-guard", "bld-det-ai-weapons-screening",
                                             "bld-vid-ai-gun-detection", "bld-vid-facial-recognition",
                                             "bld-ppl-guardian-program")}
    must_refuse |= {(p, "bld-ppl-guardian-program") for p in ("ed-title-iv-a", "ed-stronger-connections", "cops-svpp")}
    must_refuse |= {("cops-svpp", "bld-ppl-sro"), ("cops-svpp", "bld-ppl-armed-guard")}
    refused = {(r["program"], r["measure"]) for r in rows if r["expected"] == "refused"}
    assert must_refuse <= refused, must_refuse - refused


@pytest.mark.parametrize("case", cases(), ids=lambda c: f"{c['program']}-{c['measure']}")
def test_program_rules_decide_as_the_law_says(catalog, case):
    program = catalog.programs[case["program"]]
    measure = catalog.measures[case["measure"]]
    ruling = rule_on(program.rules, measure.id, measure.funding_categories)
    assert ruling.allowed == (case["expected"] == "allowed"), f"{ruling} ({case['citation']})"
    assert ruling.reason


FORBIDDEN_FOR_STOP = {"bld-ppl-sro", "bld-ppl-armed-guard", "bld-det-ai-weapons-screening",
                      "bld-vid-facial-recognition", "bld-vid-ai-gun-detection"}


def test_a_scenario_funded_only_by_stop_never_shows_stop_money_on_what_stop_may_not_pay(tmp_path):
    base = yaml.safe_load((SCENARIOS_DIR / "rural.yaml").read_text())
    base["funding_sources"] = {"stop": {"program": "bja-stop", "name": "BJA STOP award", "amount": 1000000}}
    first, second = base["sites"][0]["id"], base["sites"][1]["id"]
    # The district buys every forbidden item with its own money; STOP has plenty left. An
    # officer and an armed guard are alternatives, so the guard goes to another school.
    base["must"] = [{"measure": m, "site": second if m == "bld-ppl-armed-guard" else first}
                    for m in sorted(FORBIDDEN_FOR_STOP)]
    base["must_not"] = []
    base["budget"] = {"capital": 400000, "operating": 600000}
    path = tmp_path / "stop_only.yaml"
    path.write_text(yaml.safe_dump(base, sort_keys=False))
    inputs = load_inputs(path)
    result = optimize(inputs)
    assert result.plan is not None and not result.violations
    items = set(result.plan.items["measure_id"])
    assert FORBIDDEN_FOR_STOP <= items
    assert result.funding.query("source == 'stop'")["amount"].sum() > 0  # STOP pays for something
    assert not set(result.funding.query("source == 'stop'")["measure_id"]) & FORBIDDEN_FOR_STOP
    data = json.loads(write_plan(result, tmp_path / "plan.json", inputs).read_text())
    for item in data["items"]:
        if item["measure_id"] in FORBIDDEN_FOR_STOP:
            assert "stop" not in item["funding"]
            assert all("stop" not in year for year in item["annual_funding"].values())
    with (write_plan(result, tmp_path / "plan.csv", inputs)).open(newline="") as f:
        for row in csv.DictReader(f):
            if row["measure_id"] in FORBIDDEN_FOR_STOP:
                assert float(row.get("paid_by_stop") or 0) == 0
    book = openpyxl.load_workbook(write_plan(result, tmp_path / "plan.xlsx", inputs))
    sheet = book["Plan by site"]
    header = [c.value for c in sheet[1]]
    # the sheet splits capital by source: STOP's column is there when STOP pays capital
    stop_capital = result.funding.query("source == 'stop' and kind == 'capital'")["amount"].sum()
    assert "Measure id" in header and ("Paid by BJA STOP award ($)" in header) == (stop_capital > 0)
    for row in sheet.iter_rows(min_row=2, values_only=True):
        record = dict(zip(header, row))
        if record["Measure id"] in FORBIDDEN_FOR_STOP:
            assert not record.get("Paid by BJA STOP award ($)")
    assert "Grant money used and left" in book.sheetnames
    html = report_html(result, assumptions(inputs, result))
    assert "BJA STOP award" in html and "US dollars of 2025" in html
    # Every export says the dollar year, and STOP money left over, if any, is explained in words.
    assert data["dollar_year"] == 2025
    stop = [g for g in data["grant_use"] if g["source"] == "stop"]
    assert stop and all(bool(g["why_unused"]) == (g["unused"] > 1) for g in stop)
