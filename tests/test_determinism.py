"""The same scenario gives the same plan files, byte for byte, when planned twice; with one
or with two solver threads and the gap closed, the same value, cost and grant use. Plan files hold no timings or dates (see
optimizer/reports/export.py; a workbook's document and zip entry dates are the catalog's as-of date),
so nothing is left out of the comparison.

Each thread count is planned in a fresh process, as a user's run is."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from optimizer import load_inputs
from optimizer.core.run import optimize
from optimizer.core.status import SolveOptions
from optimizer.paths import PROJECT_ROOT, SCENARIOS_DIR
from optimizer.reports.export import write_plan

RURAL = SCENARIOS_DIR / "rural.yaml"
pytestmark = pytest.mark.slow
SUFFIXES = (".json", ".csv", ".xlsx")

#: Plans the rural example with the thread count argv[1] and writes argv[2] + suffix.
PLAN_IN_A_FRESH_PROCESS = """
import sys
from optimizer import load_inputs
from optimizer.reports.export import write_plan
from optimizer.core.run import optimize
from optimizer.core.status import SolveOptions
inputs = load_inputs(sys.argv[3])
result = optimize(inputs, SolveOptions(threads=int(sys.argv[1]), gap=0.0))
for suffix in (".json", ".csv", ".xlsx"):
    write_plan(result, sys.argv[2] + suffix, inputs)
"""


CLOCK_WORDS = ("second", "time", "date", "elapsed", "duration")


def keys(value) -> list[str]:
    """Every key of a JSON document, at any depth."""
    if isinstance(value, dict):
        return [k for k, v in value.items() for k in (k, *keys(v))]
    if isinstance(value, list):
        return [k for v in value for k in keys(v)]
    return []


def read_files(stem: Path) -> dict[str, bytes]:
    """The plan files written under ``stem``."""
    return {suffix: stem.with_suffix(suffix).read_bytes() for suffix in SUFFIXES}


@pytest.fixture(scope="module")
def rural_files(tmp_path_factory) -> dict[str, dict[str, bytes]]:
    """JSON, CSV and Excel plan files of the rural example: two plans in this process, and one per
    thread count in a fresh process."""
    folder = tmp_path_factory.mktemp("plans")
    inputs = load_inputs(RURAL)
    files = {}
    for run, gap in (("first", None), ("again", None), ("closed gap", 0.0)):
        result = optimize(inputs) if gap is None else optimize(inputs, SolveOptions(gap=gap))
        files[run] = {suffix: write_plan(result, folder / f"{run.replace(' ', '_')}{suffix}", inputs).read_bytes()
                      for suffix in SUFFIXES}
    for threads in (1, 2):
        stem = folder / f"threads{threads}"
        done = subprocess.run([sys.executable, "-c", PLAN_IN_A_FRESH_PROCESS, str(threads), str(stem), str(RURAL)],
                              cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, done.stderr
        files[f"{threads} threads"] = read_files(stem)
    return files


def test_same_scenario_twice_gives_identical_files(rural_files):
    assert rural_files["first"] == rural_files["again"]


SAME_FOR_ANY_THREADS = ("status", "gap", "objective", "baseline_objective", "totals", "dollar_year",
                        "evidence_stance", "grant_use", "notes")


def test_one_or_two_threads_give_the_same_plan_value_and_spend(rural_files):
    # Within a gap tolerance, one and two threads may stop at different plans that are both
    # within the gap of the best (seen on the rural example: values 135.352 and 135.284, both
    # within 0.1%); with the gap closed they reach the same value, cost and grant use. Where
    # two items tie exactly (the same item at two schools alike in every number), either may
    # be chosen, so the item list itself is compared only for one thread count.
    plans = {name: json.loads(rural_files[name][".json"]) for name in ("1 threads", "2 threads", "closed gap")}
    for key in SAME_FOR_ANY_THREADS:
        assert plans["1 threads"][key] == plans["2 threads"][key] == plans["closed gap"][key], key


def test_plan_json_holds_no_clock_readings(rural_files):
    data = json.loads(rural_files["first"][".json"])
    assert data["items"], "the rural plan buys something"
    assert data["status"] == "optimal"
    clock = [k for k in keys(data) if any(word in k.lower() for word in CLOCK_WORDS)]
    assert clock == []
