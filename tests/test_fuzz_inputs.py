"""Random and broken inputs, end to end: loading a random catalog or scenario either
succeeds, and then planning gives a plan the independent verifier accepts (or an infeasible
status), or fails with one of the tool's own errors (OptimizerError). Any other exception
is a bug."""
from __future__ import annotations

import csv
import io
import shutil
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from optimizer import OptimizerError, load_inputs
from optimizer.core.run import optimize
from optimizer.core.status import SolveOptions, Status
from optimizer.core.verify import verify
from optimizer.paths import CATALOG_DIR
from tests.builders import m, program, site
from tests.conftest import write_settings

FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

BASE_MEASURES = [
    m("m0", capital_low=100, capital_typical=200, capital_high=300),
    m("m1", tier=2, prerequisites="m0", unit_basis="exterior_door", capital_low=50, capital_typical=80,
      capital_high=120, annual_cost=5),
    m("m2", layer="district", component="policies", scope="district", unit_basis="district",
      funding_categories="planning", budget_category="contractual", annual_cost=0),
]
COLUMNS = list(BASE_MEASURES[0])

#: Cell values people type, valid somewhere and wrong elsewhere.
TRICKY_CELLS = ["", " ", "0", "-1", "1", "2", "5", "0.5", "1e30", "inf", "nan", "-0", "$1,250", "1,250",
                "25%", "125%", " 7 ", "yes", "No", "TRUE", "outside", "1,25", "=1+1", "m0", "m1;m0", "m0;m9",
                "district", "site", "student", "exterior_door", "hardware;snacks", "estimate: x", "2024",
                "\u00e9", "\x00", '"', "a,b"]
CELLS = st.one_of(st.sampled_from(TRICKY_CELLS), st.text(max_size=6),
                  st.integers(-10, 10**7).map(str), st.floats(allow_nan=True).map(repr))

#: Random YAML values, nested a little.
YAML_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(), st.text(max_size=8),
              st.sampled_from(["$1,250", "25%", " yes ", "m0", "A", "2027", "risk_reduction", "strict"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.one_of(st.text(max_size=5), st.integers(2020, 2035)), inner,
                                            max_size=3)),
    max_leaves=6)


def write_catalog(folder: Path, measures_text: str) -> Path:
    """A catalog folder with the given measures table and one federal program."""
    catalog = folder / "catalog"
    shutil.copytree(CATALOG_DIR / "taxonomy", catalog / "taxonomy")
    shutil.copy(CATALOG_DIR / "columns.csv", catalog / "columns.csv")
    (catalog / "measures.csv").write_text(measures_text, encoding="utf-8", newline="")
    (catalog / "funding_programs.yaml").write_text(yaml.safe_dump({"programs": [program("fed")]}))
    (catalog / "state_mandates.yaml").write_text(yaml.safe_dump({"states": []}))
    write_settings(catalog)
    return catalog


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    """Rows written as CSV, quoted where needed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows([header, *rows])
    return buffer.getvalue()


@st.composite
def measure_tables(draw) -> str:
    """A measures table of 1-3 rows with a few cells (and maybe the header) mutated."""
    rows = [[r[c] for c in COLUMNS] for r in BASE_MEASURES[:draw(st.integers(1, 3))]]
    for _ in range(draw(st.integers(0, 3))):
        row = draw(st.sampled_from(rows))
        row[draw(st.integers(0, len(COLUMNS) - 1))] = draw(CELLS)
    header = list(COLUMNS)
    change = draw(st.sampled_from(["none", "none", "none", "drop", "repeat", "extra", "truncate"]))
    if change == "drop":
        gone = draw(st.integers(0, len(header) - 1))
        header.pop(gone)
        rows = [r[:gone] + r[gone + 1:] for r in rows]
    elif change == "repeat":
        header.append(draw(st.sampled_from(COLUMNS)))
    elif change == "extra":
        draw(st.sampled_from(rows)).append(draw(CELLS))
    text = csv_text(header, rows)
    if change == "truncate":
        text = text[:draw(st.integers(0, len(text)))]
    return text


SITE_COUNTS = st.fixed_dictionaries({
    "enrollment": st.integers(0, 2000), "staff": st.integers(0, 150), "exterior_doors": st.integers(1, 30),
    "entrances": st.integers(1, 4), "classrooms": st.integers(0, 80), "camera_positions": st.integers(0, 60),
    "risk_weight": st.sampled_from([0.5, 1.0, 2.0])})


@st.composite
def scenarios(draw) -> dict:
    """A small scenario, valid or with a few keys replaced by random YAML values."""
    ids = ["A", "B"][:draw(st.integers(1, 2))]
    picks = st.fixed_dictionaries({"measure": st.sampled_from(["m0", "m1", "m2"])},
                                  optional={"site": st.sampled_from(ids)})
    data = {
        "name": "fuzz",
        "horizon": {"start": 2027, "years": draw(st.integers(1, 2))},
        "sites": [site(i, **draw(SITE_COUNTS)) for i in ids],
        "budget": {"capital": draw(st.integers(0, 20)) * 250, "operating": draw(st.integers(0, 10)) * 20,
                   "carry_over": draw(st.booleans())},
        "funding_sources": {"g": {"program": "fed", "amount": draw(st.integers(0, 10)) * 100,
                                  "match_rate": draw(st.sampled_from([0, 0.25, "10%"]))}},
        "must": draw(st.lists(picks, max_size=1)),
        "must_not": draw(st.lists(picks, max_size=1)),
        "policy": {"objective": draw(st.sampled_from(["risk_reduction", "least_cost_tier", "tier1_first"])),
                   "tier_order": draw(st.sampled_from(["strict", "relaxed", "off"]))},
    }
    spots = [(part, key) for part in (data, data["budget"], data["sites"][0]) for key in part]
    for part, key in draw(st.lists(st.sampled_from(spots), max_size=2)):
        part[key] = draw(YAML_VALUES)
    return data


def plan_or_own_error(scenario: Path, catalog: Path) -> None:
    """Load and plan; a plan must pass the verifier. Only OptimizerError may escape.

    The outcome is recorded as a Hypothesis event (``--hypothesis-show-statistics``)."""
    try:
        inputs = load_inputs(scenario, catalog)
        result = optimize(inputs, SolveOptions(time_limit=10))
    except OptimizerError as exc:
        event(f"refused: {type(exc).__name__}")
        return
    event(f"planned: {result.status}")
    if result.status in (Status.OPTIMAL, Status.FEASIBLE):
        assert verify(result.problem, result.plan) == []
    else:
        assert result.status == Status.INFEASIBLE, result.report.notes


def small_scenario() -> dict:
    return {"name": "fuzz", "horizon": {"start": 2027, "years": 2}, "sites": [site("A")],
            "budget": {"capital": 1000, "operating": 50}, "policy": {"tier_order": "relaxed"}}


@FUZZ
@given(table=measure_tables())
def test_random_catalogs_load_and_plan_or_fail_cleanly(table):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        catalog = write_catalog(folder, table)
        (folder / "s.yaml").write_text(yaml.safe_dump(small_scenario()))
        plan_or_own_error(folder / "s.yaml", catalog)


@FUZZ
@given(data=scenarios(), cut=st.one_of(st.none(), st.floats(0, 1)))
def test_random_scenarios_load_and_plan_or_fail_cleanly(data, cut):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        catalog = write_catalog(folder, csv_text(COLUMNS, [[r[c] for c in COLUMNS] for r in BASE_MEASURES]))
        text = yaml.safe_dump(data, sort_keys=False)
        if cut is not None:  # a file cut short anywhere
            text = text[:int(len(text) * cut)]
        (folder / "s.yaml").write_text(text, encoding="utf-8")
        plan_or_own_error(folder / "s.yaml", catalog)
