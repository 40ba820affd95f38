"""The shipped examples and the catalog browser, through the command line and the app."""
from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from optimizer import load_inputs
from optimizer.paths import SCENARIOS_DIR

EXAMPLES = sorted(p.name for p in SCENARIOS_DIR.glob("*.yaml"))


def run(*args):
    return subprocess.run([sys.executable, "-m", "optimizer", *map(str, args)], capture_output=True, text=True)


def test_the_examples_are_all_there():
    assert {"rural.yaml", "suburban.yaml", "urban.yaml", "suburban_no_svpp.yaml", "suburban_mandate.yaml"} <= set(EXAMPLES)


@pytest.mark.slow
@pytest.mark.parametrize("name", EXAMPLES)
def test_example_validates(name):
    r = run("validate", SCENARIOS_DIR / name)
    assert r.returncode == 0, r.stderr
    assert "valid" in r.stdout


def test_example_sizes_and_whatifs():
    sizes = {n: len(load_inputs(SCENARIOS_DIR / n).scenario.sites) for n in EXAMPLES}
    assert sizes["rural.yaml"] == 3 and sizes["suburban.yaml"] == 15 and sizes["urban.yaml"] == 120
    no_svpp = load_inputs(SCENARIOS_DIR / "suburban_no_svpp.yaml").scenario
    assert no_svpp.funding_sources["svpp"].awarded is False and no_svpp.funding_sources["pccd"].awarded
    mandate = load_inputs(SCENARIOS_DIR / "suburban_mandate.yaml").scenario
    assert "pa-panic-alarm" in mandate.mandates.extra and len(mandate.sites) == 15


def test_validate_catalog_folder():
    r = run("validate", SCENARIOS_DIR.parent / "catalog")
    assert r.returncode == 0 and "measures" in r.stdout and "state profiles" in r.stdout


def test_catalog_filters(tmp_path):
    out = tmp_path / "digital.csv"
    r = run("catalog", "--layer", "digital", "--tier", "1", "--out", out)
    assert r.returncode == 0, r.stderr
    table = pd.read_csv(out)
    assert len(table) > 5 and set(table["layer"]) == {"digital"} and set(table["tier"].astype(str)) == {"1"}
    r = run("catalog", "--evidence", "harmful")
    assert r.returncode == 0 and "harmful" in r.stdout
    r = run("catalog", "--discouraged", "--out", out)
    assert set(pd.read_csv(out)["discouraged"]) == {True}
    r = run("catalog", "--edition", "6", "--layer", "parking", "--out", out)
    assert r.returncode == 0 and set(pd.read_csv(out)["layer"]) == {"parking"}


def test_catalog_unknown_filter_value():
    r = run("catalog", "--layer", "roof")
    assert r.returncode == 2 and "known:" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_app_opens_on_the_example():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(SCENARIOS_DIR.parent / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert at.selectbox[0].value == "suburban.yaml"
    assert [m.value for m in at.metric][:1] == ["15"]
