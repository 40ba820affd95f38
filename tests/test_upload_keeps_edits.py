"""Issue 15: the upload box reads only the files newly added to it. A bad file added beside a
scenario read before, or a file removed from the box, never reloads that scenario, so the
edits made since (a grant switched off) stay."""
from __future__ import annotations

from pathlib import Path

import pytest

from optimizer import load_catalog
from optimizer.paths import SCENARIOS_DIR
from ui import scenario_files
from ui.scenario_files import Uploads, take_upload

APP = str(Path(__file__).resolve().parent.parent / "app.py")
SCENARIO_PAGE = "ui/pages/scenario.py"
SVPP_KEY = "scenario:funding_sources.svpp.awarded"
YAML = ("suburban.yaml", (SCENARIOS_DIR / "suburban.yaml").read_bytes())
SITES = (SCENARIOS_DIR / "suburban_sites.csv").read_bytes().decode()


def _without_column(text: str, column: str) -> bytes:
    rows = [line.split(",") for line in text.strip().splitlines()]
    drop = rows[0].index(column)
    return ("\n".join(",".join(r[:drop] + r[drop + 1:]) for r in rows) + "\n").encode()


#: A sites table with no enrollment column.
BROKEN = ("broken_sites.csv", _without_column(SITES, "enrollment"))
#: A good sites table of three schools.
THREE = ("three_sites.csv", ("\n".join(SITES.strip().splitlines()[:4]) + "\n").encode())


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_only_new_files_are_read_and_edits_stay(catalog, monkeypatch):
    reads = []
    real = scenario_files.read_upload
    monkeypatch.setattr(scenario_files, "read_upload",
                        lambda files, *a, **k: reads.append([n for n, _ in files]) or real(files, *a, **k))
    start = scenario_files.load_builtin("rural.yaml", catalog)

    # (1) the YAML is added: it replaces the scenario
    record, loaded = take_upload([YAML], Uploads(), start, "rural.yaml", catalog)
    assert loaded is not None and loaded[1] == "suburban.yaml" and not record.problems
    data, name = loaded
    assert data["funding_sources"]["svpp"].get("awarded", True) is True
    # (2) the user switches the SVPP grant off, as the app's toggle does
    data["funding_sources"]["svpp"]["awarded"] = False

    # the same list again (a rerun) reads nothing
    again, loaded = take_upload([YAML], record, data, name, catalog)
    assert loaded is None and again == record and reads == [["suburban.yaml"]]

    # (3) a broken CSV beside it: only the CSV is read, its problems name it, nothing loads
    record, loaded = take_upload([YAML, BROKEN], record, data, name, catalog)
    assert loaded is None and reads[-1] == ["broken_sites.csv"]
    assert record.problems and {p.file for p in record.problems} == {"broken_sites.csv"}
    assert data["funding_sources"]["svpp"]["awarded"] is False

    # (4) the CSV removed: nothing is read, the problems go, the edit stays
    record, loaded = take_upload([YAML], record, data, name, catalog)
    assert loaded is None and not record.problems and len(reads) == 2
    # the YAML removed too: still nothing is read
    record, loaded = take_upload([], record, data, name, catalog)
    assert loaded is None and record == Uploads() and len(reads) == 2


def test_a_broken_file_stays_shown_until_removed_and_is_not_read_again(catalog):
    data = scenario_files.load_builtin("suburban.yaml", catalog)
    record, loaded = take_upload([YAML], Uploads(), data, "suburban.yaml", catalog)
    record, loaded = take_upload([YAML, BROKEN], record, data, "suburban.yaml", catalog)
    problems = record.problems
    assert loaded is None and problems
    # removing the YAML while the broken CSV stays listed keeps its problems shown
    record, loaded = take_upload([BROKEN], record, data, "suburban.yaml", catalog)
    assert loaded is None and record.problems == problems


def test_a_sites_table_added_beside_a_read_yaml_replaces_the_sites_only(catalog):
    data = scenario_files.load_builtin("suburban.yaml", catalog)
    record, loaded = take_upload([YAML], Uploads(), data, "suburban.yaml", catalog)
    data, name = loaded
    data["funding_sources"]["svpp"]["awarded"] = False
    record, loaded = take_upload([YAML, THREE], record, data, name, catalog)
    assert loaded is not None and not record.problems
    new, new_name = loaded
    assert new_name == "suburban.yaml" and len(new["sites"]) == 3
    assert new["funding_sources"]["svpp"]["awarded"] is False  # the YAML was not read again


def test_a_new_yaml_may_take_its_sites_table_from_the_files_listed_before(catalog):
    data = scenario_files.load_builtin("rural.yaml", catalog)
    own = ("suburban_sites.csv", THREE[1])  # the name the YAML gives its sites file
    record, loaded = take_upload([own], Uploads(), data, "rural.yaml", catalog)
    assert loaded is not None and len(loaded[0]["sites"]) == 3
    record, loaded = take_upload([own, YAML], record, *loaded, catalog)
    assert loaded is not None and loaded[1] == "suburban.yaml" and len(loaded[0]["sites"]) == 3


def test_a_scenario_uploaded_with_a_sites_table_it_does_not_name_says_so(catalog):
    """Issue 29: the YAML named my_sites.csv, the table was sites.csv, and the message was
    "(blank) | (blank) | an existing file"."""
    from optimizer import InputError
    text = (SCENARIOS_DIR / "suburban.yaml").read_text().replace("sites_file: suburban_sites.csv",
                                                                 "sites_file: my_sites.csv")
    with pytest.raises(InputError) as caught:
        scenario_files.read_upload([("district.yaml", text.encode()), ("sites.csv", THREE[1])], {}, "x.yaml",
                                   catalog)
    [problem] = caught.value.problems
    assert (problem.file, problem.field, problem.value) == ("district.yaml", "sites_file", "my_sites.csv")
    assert "sites.csv" in problem.expected and "rename" in problem.expected


@pytest.mark.slow  # the Plan page solves the scenario
def test_the_scenario_page_keeps_edits_through_a_bad_upload_and_a_removal():
    AppTest = pytest.importorskip("streamlit.testing.v1").AppTest
    at = AppTest.from_file(APP, default_timeout=900).run()
    at.switch_page(SCENARIO_PAGE).run()
    assert not at.exception, at.exception
    box = lambda: at.file_uploader[0]  # the page has one upload box, new after each load

    box().set_value([(*YAML, "text/yaml")]).run()  # (1)
    assert not at.exception and at.session_state["scenario_file"] == "suburban.yaml"
    assert not box().value  # loaded: an empty box, so uploads never pile up
    at.toggle(key=SVPP_KEY).set_value(False).run()  # (2) the grant switched off
    assert at.session_state["scenario"]["funding_sources"]["svpp"]["awarded"] is False
    version = at.session_state["scenario_version"]

    box().set_value([(*BROKEN, "text/csv")]).run()  # (3) a broken sites table added
    assert not at.exception
    assert at.session_state["scenario"]["funding_sources"]["svpp"]["awarded"] is False
    assert at.error and "broken_sites.csv" in set(at.dataframe[0].value["file"])
    assert at.toggle(key=SVPP_KEY).value is False
    assert at.session_state["scenario_version"] == version

    box().set_value([]).run()  # (4) the CSV removed
    assert not at.exception and not at.error
    assert at.session_state["scenario"]["funding_sources"]["svpp"]["awarded"] is False
    assert at.session_state["scenario_version"] == version

    # back on the page after another one, the upload box is new: adding the YAML loads it
    at.switch_page("ui/pages/plan.py").run()
    at.switch_page(SCENARIO_PAGE).run()
    assert at.session_state["scenario"]["funding_sources"]["svpp"]["awarded"] is False
    assert not box().value
    box().set_value([(*YAML, "text/yaml")]).run()
    assert at.session_state["scenario"]["funding_sources"]["svpp"].get("awarded", True) is True
