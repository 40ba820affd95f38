"""A scenario reads no file outside its own folder and the built-in scenarios: not through
``sites_file``, not through ``extends``, not through a link, not from the app's upload. The
file outside is never opened, so none of its lines can reach a problem table."""
from __future__ import annotations

import builtins
from pathlib import Path

import pytest
import yaml

from optimizer import InputError, load_inputs
from optimizer.data.confine import MAX_EXTENDS
from optimizer.data.scenario import MAX_SITES
from optimizer.paths import SCENARIOS_DIR
from ui.scenario_files import MAX_NAME_BYTES, read_upload

SITES = ("id,name,level,enrollment,staff,exterior_doors,entrances,classrooms,camera_positions\n"
         "SECRET-1,Secret school,high,900,80,12,2,40,30\n")
BASE = {"name": "Confined", "horizon": {"start": 2027, "years": 1},
        "budget": {"capital": 10000, "operating": 1000}}


@pytest.fixture
def district(tmp_path):
    """A scenario folder, and beside it a folder the scenario must not reach holding a valid
    sites file (so a read would succeed silently)."""
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "sites.csv").write_text(SITES)
    (tmp_path / "secret" / "base.yaml").write_text(yaml.safe_dump({**BASE, "sites_file": "sites.csv"}))
    (tmp_path / "district").mkdir()
    return tmp_path


def refused(path: Path, field: str) -> str:
    """Load ``path``, expecting one problem on ``field`` saying the file is outside; its text."""
    with pytest.raises(InputError) as caught:
        load_inputs(path)
    [problem] = caught.value.problems
    assert (problem.file, problem.field) == (str(path), field)
    assert "own folder" in problem.expected and "not read" in problem.expected
    return str(problem)


@pytest.fixture
def no_reads_outside(monkeypatch, district):
    """Fail the test if anything opens a file of the secret folder."""
    secret = (district / "secret").resolve()
    real_open = builtins.open

    def guarded(file, *args, **kwargs):
        if isinstance(file, (str, Path)) and Path(file).resolve().is_relative_to(secret):
            raise AssertionError(f"{file} was opened")
        return real_open(file, *args, **kwargs)
    monkeypatch.setattr(builtins, "open", guarded)


@pytest.mark.parametrize("named", ["../secret/sites.csv", "SECRET_ABSOLUTE", "../../../../../../etc/passwd",
                                   "/etc/passwd", "sub/../../secret/sites.csv"])
def test_a_sites_file_outside_the_scenarios_folder_is_refused_unread(district, no_reads_outside, named):
    named = str(district / "secret" / "sites.csv") if named == "SECRET_ABSOLUTE" else named
    path = district / "district" / "what_if.yaml"
    path.write_text(yaml.safe_dump({**BASE, "sites_file": named}))
    text = refused(path, "sites_file")
    assert "SECRET" not in text and "root:" not in text


def test_a_link_inside_the_folder_that_points_outside_is_refused(district, no_reads_outside):
    (district / "district" / "sites.csv").symlink_to(district / "secret" / "sites.csv")
    path = district / "district" / "what_if.yaml"
    path.write_text(yaml.safe_dump({**BASE, "sites_file": "sites.csv"}))
    refused(path, "sites_file")


@pytest.mark.parametrize("named", ["../secret/base.yaml", "SECRET_ABSOLUTE", "/etc/hostname"])
def test_extends_outside_the_scenarios_folder_is_refused_unread(district, no_reads_outside, named):
    named = str(district / "secret" / "base.yaml") if named == "SECRET_ABSOLUTE" else named
    path = district / "district" / "what_if.yaml"
    path.write_text(yaml.safe_dump({"extends": named, "name": "What if"}))
    refused(path, "extends")


def test_files_in_the_folder_below_it_and_the_builtin_examples_are_read(district):
    folder = district / "district"
    (folder / "data").mkdir()
    (folder / "data" / "sites.csv").write_text(SITES)
    own = folder / "own.yaml"
    own.write_text(yaml.safe_dump({**BASE, "sites_file": "data/sites.csv"}))
    assert [s.id for s in load_inputs(own).scenario.sites] == ["SECRET-1"]
    what_if = folder / "what_if.yaml"  # a what-if of a built-in example, by its full path
    what_if.write_text(yaml.safe_dump({"extends": str(SCENARIOS_DIR / "suburban.yaml"), "name": "What if"}))
    assert len(load_inputs(what_if).scenario.sites) == 15


def test_a_chain_of_extends_longer_than_the_limit_is_refused_by_name(tmp_path):
    count = MAX_EXTENDS + 5
    (tmp_path / "s0.yaml").write_text(yaml.safe_dump({**BASE, "sites_file": "sites.csv"}))
    (tmp_path / "sites.csv").write_text(SITES)
    for i in range(1, count):
        (tmp_path / f"s{i}.yaml").write_text(f"extends: s{i - 1}.yaml\nname: step {i}\n")
    with pytest.raises(InputError) as caught:
        load_inputs(tmp_path / f"s{count - 1}.yaml")
    [problem] = caught.value.problems
    assert problem.field == "extends" and f"at most {MAX_EXTENDS} scenario files" in problem.expected
    (tmp_path / "short.yaml").write_text("extends: s3.yaml\nname: short\n")  # a short chain reads
    assert load_inputs(tmp_path / "short.yaml").scenario.name == "short"


def test_more_sites_than_the_limit_are_refused_before_any_is_checked(tmp_path):
    row = SITES.splitlines()[1]
    (tmp_path / "sites.csv").write_text(SITES.splitlines()[0] + "\n"
                                        + "\n".join(row.replace("SECRET-1", f"S{i}") for i in range(MAX_SITES + 1)))
    (tmp_path / "big.yaml").write_text(yaml.safe_dump({**BASE, "sites_file": "sites.csv"}))
    with pytest.raises(InputError) as caught:
        load_inputs(tmp_path / "big.yaml")
    [problem] = caught.value.problems
    assert problem.field == "sites" and f"at most {MAX_SITES:,} sites" in problem.expected


@pytest.mark.parametrize("field, value, expected", [
    ("deadline_year", -1_000_000_000_000, "greater than or equal to 1950"),
    ("deadline_year", 20277, "less than or equal to 2100"),
])
def test_a_year_far_from_any_plan_is_refused(tmp_path, field, value, expected):
    data = {**BASE, "sites_file": "sites.csv", "mandates": {"extra": {"board": {
        "title": "Board rule", "measures": ["bld-ac-visitor-intercom"], field: value}}}}
    (tmp_path / "sites.csv").write_text(SITES)
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(InputError) as caught:
        load_inputs(tmp_path / "s.yaml")
    [problem] = caught.value.problems
    assert problem.field == f"mandates.extra.board.{field}" and expected in problem.expected


def test_a_date_where_an_installed_year_belongs_names_the_field_and_the_form(tmp_path):
    header, row = SITES.splitlines()
    (tmp_path / "sites.csv").write_text(f"{header},in_place,installed\n"
                                        f"{row},bld-ac-visitor-intercom,2017-01-01 00:00:00\n")
    (tmp_path / "s.yaml").write_text(yaml.safe_dump({**BASE, "sites_file": "sites.csv"}))
    with pytest.raises(InputError) as caught:
        load_inputs(tmp_path / "s.yaml")
    [problem] = caught.value.problems
    assert (problem.where, problem.field) == ("row 2", "installed")
    assert "measure id and fiscal year" in problem.expected


UPLOADED_SITES = SITES.replace("SECRET-1", "UP-1").encode()


@pytest.mark.parametrize("named", ["../../../../../../etc/passwd", "/etc/passwd",
                                   str(Path(__file__).parent / "data" / "bad" / "sites_ok.xlsx")])
def test_an_uploaded_scenario_reads_no_file_of_the_server(named):
    scenario = yaml.safe_dump({**BASE, "sites_file": named}).encode()
    with pytest.raises(InputError) as caught:
        read_upload([("evil.yaml", scenario)], {}, "current.yaml")
    [problem] = caught.value.problems
    assert (problem.file, problem.field) == ("evil.yaml", "sites_file")
    assert "root:" not in str(problem)


def test_an_upload_with_a_long_non_ascii_name_is_read():
    name = "学区" * 45 + ".yaml"  # 270 bytes of UTF-8: more than a file system takes
    scenario = yaml.safe_dump({**BASE, "sites_file": "sites.csv"}).encode()
    mapping, shown = read_upload([(name, scenario), ("sites.csv", UPLOADED_SITES)], {}, "current.yaml")
    assert [s["id"] for s in mapping["sites"]] == ["UP-1"]
    assert shown.endswith(".yaml") and shown.startswith("学区") and len(shown.encode()) <= MAX_NAME_BYTES
