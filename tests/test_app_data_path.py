"""The app's data path (issue 14): a scenario is checked from its mapping in memory, as the
file holding it would be, against a catalog loaded once; the app writes no scenario file
on a widget change, and its capital budget lives in the scenario alone."""
from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import pandas as pd
import pytest

import optimizer.data.catalog
import optimizer.data.inputs
import optimizer.data.scenario
from optimizer import InputError, OptimizerError, load_catalog, load_inputs
from optimizer.core.problem import expand
from optimizer.data.inputs import load_inputs_from_mapping
from optimizer.data.readers import read_yaml_mapping
from optimizer.data.scenario import MAPPING_NAME
from optimizer.data.scenario_io import scenario_yaml
from optimizer.paths import CATALOG_DIR, SCENARIOS_DIR
from ui import scenario_files

SUBURBAN = SCENARIOS_DIR / "suburban.yaml"
APP = str(Path(__file__).resolve().parent.parent / "app.py")
EVERY_YEAR = "scenario:budget.capital.every_year"


@pytest.fixture(scope="module")
def from_file():
    """The suburban example loaded from its file (the reference)."""
    return load_inputs(SUBURBAN)


@pytest.fixture
def no_catalog_loads(monkeypatch):
    """Loading the catalog from disk fails from here on."""
    def refuse(*args, **kwargs):
        raise AssertionError("the catalog was loaded again")
    for module in (optimizer.data.catalog, optimizer.data.inputs):
        monkeypatch.setattr(module, "load_catalog", refuse)


@pytest.fixture
def no_files(monkeypatch):
    """Temporary files and folders, YAML scenario reads and YAML or CSV writes fail from here on."""
    def refuse(*args, **kwargs):
        raise AssertionError("a file was made or read for the scenario")

    def guard(write):
        def checked(self, *args, **kwargs):
            if self.suffix.lower() in (".yaml", ".yml", ".csv"):
                raise AssertionError(f"wrote {self}")
            return write(self, *args, **kwargs)
        return checked

    for name in ("mkdtemp", "mkstemp", "NamedTemporaryFile", "TemporaryDirectory"):
        monkeypatch.setattr(tempfile, name, refuse)
    monkeypatch.setattr(optimizer.data.scenario, "read_yaml_mapping", refuse)
    monkeypatch.setattr(Path, "write_text", guard(Path.write_text))
    monkeypatch.setattr(Path, "write_bytes", guard(Path.write_bytes))


def assert_same_problem(a, b) -> None:
    """Both inputs expand to the same planning problem."""
    pa, pb = expand(a), expand(b)
    for frame in ("candidates", "existing", "groups", "cells", "cell_members", "cell_in_place"):
        pd.testing.assert_frame_equal(getattr(pa, frame), getattr(pb, frame))
    for attr in ("years", "capital_budget", "operating_budget", "total_budget", "carry_over", "musts",
                 "mandates", "prerequisites", "cap_classes", "op_classes"):
        assert getattr(pa, attr) == getattr(pb, attr), attr
    assert [vars(s) for s in pa.sources] == [vars(s) for s in pb.sources]


def test_the_yaml_mapping_loads_as_the_file_does(from_file):
    data = read_yaml_mapping(SUBURBAN)  # sites_file: suburban_sites.csv, next to it
    kept = copy.deepcopy(data)
    inputs = load_inputs_from_mapping(data, catalog=from_file.catalog, base_dir=SCENARIOS_DIR,
                                      name="suburban.yaml")
    assert data == kept  # the mapping is not changed
    assert inputs.scenario.model_dump() == from_file.scenario.model_dump()
    assert inputs.path == SUBURBAN
    assert_same_problem(inputs, from_file)


def test_the_apps_mapping_loads_in_memory_as_the_file_does(from_file, no_catalog_loads, no_files):
    data = scenario_files.as_mapping(from_file.scenario)  # sites inline, budgets year by year as text
    assert data["budget"]["capital"] == {"2027": 450_000, "2028": 350_000, "2029": 300_000}
    inputs = scenario_files.inputs_of(data, "suburban.yaml", from_file.catalog)
    assert inputs.scenario.model_dump() == from_file.scenario.model_dump()
    assert inputs.path == Path("suburban.yaml") and inputs.catalog is from_file.catalog
    assert_same_problem(inputs, from_file)


def test_a_given_catalog_is_reused_not_reloaded(from_file, no_catalog_loads):
    catalog = from_file.catalog
    data = scenario_files.as_mapping(from_file.scenario)
    assert load_inputs_from_mapping(data, catalog=catalog).catalog is catalog
    asked = []

    def cached(edition):
        asked.append(edition)
        return catalog

    assert load_inputs_from_mapping(data, catalog=cached).catalog is catalog
    assert asked == [7]
    assert load_inputs(SUBURBAN, catalog=catalog).catalog is catalog
    with pytest.raises(AssertionError, match="loaded again"):  # the monkeypatch holds
        load_inputs_from_mapping(data)


def test_a_catalog_of_another_edition_is_refused(from_file):
    data = {**scenario_files.as_mapping(from_file.scenario), "catalog_edition": 6}
    with pytest.raises(InputError) as caught:
        load_inputs_from_mapping(data, catalog=from_file.catalog, name="what-if.yaml")
    [problem] = caught.value.problems
    assert (problem.file, problem.field, problem.value) == ("what-if.yaml", "catalog_edition", "6")
    edition6 = load_inputs_from_mapping(data, catalog=lambda e: load_catalog(CATALOG_DIR, e))
    assert edition6.catalog.edition == 6


def _bad_capital(d):
    d["budget"]["capital"] = "lots"


def _bad_site(d):
    d["sites"][3]["enrollment"] = "many"
    d["sites"][5]["level"] = "castle"


def _unknown_key(d):
    d["budgets"] = d["budget"]


def _unknown_measure(d):
    d["must"] = [{"measure": "no-such-measure", "site": "ES-ASH"}]


def _year_outside(d):
    d["budget"]["capital"]["2031"] = 5.0


@pytest.mark.parametrize("spoil, fields", [
    (_bad_capital, {"budget.capital"}),
    (_bad_site, {"enrollment", "level"}),  # named "site 4 (id ...)" and "site 6 (id ...)"
    (_unknown_key, {"budgets"}),
    (_unknown_measure, {"measure"}),
    (_year_outside, {"2031"}),
])
def test_a_bad_field_is_named_as_in_the_file(from_file, tmp_path, spoil, fields):
    data = scenario_files.as_mapping(from_file.scenario)
    spoil(data)
    with pytest.raises(InputError) as in_memory:
        load_inputs_from_mapping(data, catalog=from_file.catalog)
    assert {p.field for p in in_memory.value.problems} == fields
    assert {p.file for p in in_memory.value.problems} == {MAPPING_NAME}
    path = tmp_path / "spoiled.yaml"
    path.write_text(scenario_yaml(data), encoding="utf-8")
    with pytest.raises(InputError) as from_disk:
        load_inputs(path)
    same = [(p.where, p.field, p.value, p.expected) for p in from_disk.value.problems]
    assert [(p.where, p.field, p.value, p.expected) for p in in_memory.value.problems] == same


def test_files_named_by_a_mapping_need_a_folder(from_file):
    data = read_yaml_mapping(SUBURBAN)
    with pytest.raises(InputError) as caught:
        load_inputs_from_mapping(data, catalog=from_file.catalog, name="suburban.yaml")
    [problem] = caught.value.problems
    assert (problem.file, problem.field) == ("suburban.yaml", "sites_file")
    with pytest.raises(InputError) as caught:
        load_inputs_from_mapping([1, 2], catalog=from_file.catalog)
    assert "mapping" in caught.value.problems[0].expected


def test_a_mapping_may_extend_a_file_in_its_folder(from_file):
    inputs = load_inputs_from_mapping({"extends": "suburban.yaml", "name": "What if"},
                                      catalog=from_file.catalog, base_dir=SCENARIOS_DIR)
    assert inputs.scenario.name == "What if"
    assert inputs.scenario.sites == from_file.scenario.sites


def test_the_plan_page_budget_edits_the_scenario_in_memory(monkeypatch):
    """Typing a budget on the Plan page sets every year's capital budget of the scenario
    mapping; the plan is asked for with those inputs, checked in memory (no temporary or
    YAML file, no catalog load). The solver is stubbed, so this runs in seconds."""
    AppTest = pytest.importorskip("streamlit.testing.v1").AppTest
    from ui import compute

    at = AppTest.from_file(APP, default_timeout=120).run()  # opens on the Scenario page
    assert not at.exception
    catalog, asked, used = compute.catalog(7), [], []

    def stub(inputs, *args, **kwargs):
        asked.append(inputs)
        raise OptimizerError("no solver in this test")

    def spy(name):
        def record(*args, **kwargs):
            used.append(name)
            raise OSError(f"{name} is not for the app's scenario")
        return record

    monkeypatch.setattr(optimizer, "optimize", stub)  # the app calls optimizer.optimize
    for name in ("mkdtemp", "mkstemp", "NamedTemporaryFile", "TemporaryDirectory"):
        monkeypatch.setattr(tempfile, name, spy(name))
    monkeypatch.setattr(optimizer.data.scenario, "read_yaml_mapping", spy("read_yaml_mapping"))
    for module in (compute, optimizer.data.catalog, optimizer.data.inputs):
        monkeypatch.setattr(module, "load_catalog", spy("load_catalog"))

    at.switch_page("ui/pages/plan.py").run()
    assert not at.exception
    amount = 412_345.0  # a budget no other test solves (their plans may be in the cache)
    at.number_input(key=EVERY_YEAR).set_value(amount).run()
    assert not at.exception and "no solver in this test" in at.error[0].value
    assert at.session_state["scenario"]["budget"]["capital"] == dict.fromkeys(("2027", "2028", "2029"), amount)
    assert "budget" not in at.session_state["options"]
    assert asked[-1].scenario.budget.per_year("capital", [2027, 2028, 2029]) == dict.fromkeys(
        (2027, 2028, 2029), amount)
    assert asked[-1].catalog is catalog and asked[-1].path == Path("suburban.yaml")

    at.number_input(key="scenario:budget.capital.2028@plan").set_value(100_000.0).run()
    assert at.session_state["scenario"]["budget"]["capital"]["2028"] == 100_000
    assert at.number_input(key=EVERY_YEAR).value is None  # the years differ now
    assert asked[-1].scenario.budget.per_year("capital", [2027, 2028, 2029])[2028] == 100_000
    at.switch_page("ui/pages/scenario.py").run()  # the Budget tab shows the same budget
    assert not at.exception
    assert at.number_input(key="scenario:budget.capital.2027").value == amount
    assert at.number_input(key="scenario:budget.capital.2028").value == 100_000
    assert used == []  # no temporary file, no YAML scenario read, no catalog load


@pytest.mark.slow
def test_a_changed_budget_gets_a_quick_first_look_then_the_final_plan(monkeypatch):
    """A request the session has not solved is first solved with the solver stopped at
    ``FIRST_LOOK_SECONDS``, starting from the plan shown before the change (a verified plan with
    its gap, shown while the final plan is refined), then to the final gap; once solved,
    going back to it asks for no first look again."""
    AppTest = pytest.importorskip("streamlit.testing.v1").AppTest
    from optimizer.core.run import optimize as real_optimize
    from optimizer.defaults import FIRST_LOOK_SECONDS
    from ui import compute

    at = AppTest.from_file(APP, default_timeout=120).run()
    limits, previous = [], []

    def recording(inputs, options=None, *args, **kwargs):
        limits.append(options.time_limit)
        previous.append(kwargs.get("previous"))
        return real_optimize(inputs, options, previous=kwargs.get("previous"))

    monkeypatch.setattr(optimizer, "optimize", recording)
    small = load_inputs(SCENARIOS_DIR / "rural.yaml")
    monkeypatch.setattr(compute, "inputs", lambda request: small)  # a small district solves fast
    at.switch_page("ui/pages/plan.py").run()
    at.number_input(key=EVERY_YEAR).set_value(123_457.0).run()  # a request no other test solves
    assert not at.exception
    assert limits[-2:] == [FIRST_LOOK_SECONDS, at.session_state["options"]["time_limit"]]
    # the first look starts from the plan the page showed before the change
    shown_before = previous[-2]
    assert shown_before is not None and shown_before.plan is not None
    assert at.session_state["last_solved"] in at.session_state["solved"]
    before = len(limits)
    at.run()  # the same request again: the final plan is cached, no first look
    assert len(limits) == before and not at.exception
