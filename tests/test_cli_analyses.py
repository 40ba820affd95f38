"""The analysis subcommands: a readable table by default, CSV or JSON with --out, clear
errors with exit code 2."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from optimizer.cli import app
from tests.builders import three_measures

pytestmark = pytest.mark.slow

FREE = {"operating": 1e9}


@pytest.fixture
def case(tmp_path):
    inputs = three_measures(tmp_path)
    return inputs.path, inputs.catalog.folder


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def test_frontier_writes_json_and_prints_a_table(case, tmp_path):
    scenario, catalog = case
    out = tmp_path / "frontier.json"
    r = invoke("frontier", scenario, "--points", 3, "--max-budget", 700, "--catalog", catalog, "--out", out)
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    assert [row["budget"] for row in data["rows"]] == [0, 350, 700] and data["scenario_budget"] == 300
    printed = invoke("frontier", scenario, "--points", 3, "--max-budget", 700, "--catalog", catalog)
    assert "Efficient frontier" in printed.output and "350" in printed.output


def test_screen_and_alternatives_write_csv(case, tmp_path):
    scenario, catalog = case
    r = invoke("screen", scenario, "--catalog", catalog, "--out", tmp_path / "s.csv")
    assert r.exit_code == 0, r.output
    table = pd.read_csv(tmp_path / "s.csv")
    assert set(table["measure_id"]) == {"a", "b", "c"} and "verdict" in table
    r = invoke("alternatives", scenario, "--within", "60%", "--count", 2, "--catalog", catalog,
               "--out", tmp_path / "alt.csv")
    assert r.exit_code == 0, r.output
    assert len(pd.read_csv(tmp_path / "alt.csv")) == 2


def test_explain_prints_reasons_and_compare_prints_deltas(case, tmp_path):
    scenario, catalog = case
    r = invoke("explain", scenario, "c", "A", "--catalog", catalog)
    assert r.exit_code == 0 and "c at A: not in the plan" in r.output and "enters the plan at" in r.output
    other = scenario.with_name("bigger.yaml")
    other.write_text(scenario.read_text().replace("capital: 300", "capital: 700"))
    r = invoke("compare", scenario, other, "--catalog", catalog)
    assert r.exit_code == 0, r.output
    assert "delta bigger" in r.output and "Items that differ" in r.output


def test_pitch_reads_a_file_and_names_a_bad_field(case, tmp_path):
    scenario, catalog = case
    good = tmp_path / "pitch.yaml"
    good.write_text("name: Door Sensor Pro\ncapital: 50\nlayer: building\ncomponent: detection\n"
                    "tier: 1\neffectiveness: 0.6\n")
    r = invoke("pitch", scenario, "--file", good, "--catalog", catalog)
    assert r.exit_code == 0, r.output
    assert "Door Sensor Pro enters the plan at the current budget" in r.output  # its name, not an id
    r = invoke("pitch", scenario, "--cost", 50, "--layer", "roof", "--component", "video",
               "--effectiveness", 0.5, "--catalog", catalog)
    assert r.exit_code == 2 and "field 'layer'" in r.output and "roof" in r.output
    r = invoke("pitch", scenario, "--layer", "building", "--component", "video", "--catalog", catalog)
    assert r.exit_code == 2 and "capital" in r.output


def test_robust_writes_frequencies(case, tmp_path):
    scenario, catalog = case
    out = tmp_path / "robust.csv"
    r = invoke("robust", scenario, "--samples", 3, "--workers", 1, "--catalog", catalog, "--out", out)
    assert r.exit_code == 0, r.output
    table = pd.read_csv(out)
    assert set(table["verdict"]) <= {"robust buy", "borderline", "rarely", "never"} and len(table) == 3
    assert "every draw's plan proven within" in r.output


def test_a_plan_the_verifier_rejects_exits_5_as_the_tool_s_fault_not_2(case, monkeypatch):
    """Exit 2 means bad input; a plan the independent check rejects is the tool's fault."""
    import optimizer.cli.plan_commands as plan_commands
    from optimizer.core.result import InvalidPlan
    from optimizer.core.verify import Violation

    def rejected(*args, **kwargs):
        raise InvalidPlan([Violation("match", "a grant needs $10.05 of local match, $10.00 is counted")])

    monkeypatch.setattr(plan_commands, "optimize", rejected)
    scenario, catalog = case
    r = invoke("plan", scenario, "--catalog", catalog)
    assert r.exit_code == 5
    assert "$10.00 is counted" in r.output and "fault of the tool" in r.output


def test_printed_tables_name_things_in_words_and_show_ids_only_when_asked(case, tmp_path):
    """Issue 29: no ids or code names where a person reads, unless asked with --ids; the
    files written for other tools keep their machine names."""
    scenario, catalog = case
    plain = invoke("screen", scenario, "--catalog", catalog)
    with_ids = invoke("screen", scenario, "--catalog", catalog, "--ids")
    assert plain.exit_code == with_ids.exit_code == 0, plain.output
    for code in ("measure_id", "better_buy", "chosen_under", "expert_consensus", "Measure id"):
        assert code not in plain.output, code
    assert "better buy" in plain.output and "access" in plain.output  # access_control, in words
    assert "Measure id" in with_ids.output
    invoke("screen", scenario, "--catalog", catalog, "--out", tmp_path / "s.csv")
    assert "measure_id" in pd.read_csv(tmp_path / "s.csv")
