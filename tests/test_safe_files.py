"""Files the tool writes and reads safely: scenarios saved atomically (a crash leaves the
old file), a saved scenario plans the same as the original, exported plans cannot run
formulas in a spreadsheet, and YAML is read as plain data only."""
from __future__ import annotations

import csv
import re
import signal
import subprocess
import sys
import unicodedata
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from optimizer import InputError, load_inputs, load_scenario
from optimizer.core.run import optimize
from optimizer.data.readers import _SafeLoader, read_yaml_mapping
from optimizer.data.scenario_io import save_scenario_yaml, scenario_dict
from optimizer.paths import SCENARIOS_DIR
from optimizer.reports.export import FORMULA_STARTS, write_plan
from optimizer.safe_write import replacing
from tests.builders import instance, m, program, site, solved_example

OLD = {"name": "Old scenario", "horizon": {"start": 2027, "years": 1}}
NEW = {"name": "New scenario", "horizon": {"start": 2028, "years": 2}}


@pytest.fixture
def saved(tmp_path) -> Path:
    path = tmp_path / "district.yaml"
    save_scenario_yaml(OLD, path)
    return path


def assert_only_old_file(path: Path) -> None:
    assert yaml.safe_load(path.read_text()) == OLD
    assert [p.name for p in path.parent.iterdir()] == [path.name], "a temporary file was left behind"


def test_save_writes_plain_yaml_and_replaces(saved):
    assert yaml.safe_load(saved.read_text()) == OLD
    save_scenario_yaml(NEW, saved)
    assert yaml.safe_load(saved.read_text()) == NEW
    assert [p.name for p in saved.parent.iterdir()] == [saved.name]


def test_failure_while_building_the_text_leaves_the_old_file(saved, monkeypatch):
    def broken_dump(*args, **kwargs):
        raise RuntimeError("serialiser crashed")

    monkeypatch.setattr("optimizer.data.scenario_io.yaml.safe_dump", broken_dump)
    with pytest.raises(RuntimeError):
        save_scenario_yaml(NEW, saved)
    assert_only_old_file(saved)


def test_crash_in_the_middle_of_writing_leaves_the_old_file(saved, monkeypatch):
    real_write = Path.write_text

    def half_then_crash(self, text, *args, **kwargs):
        real_write(self, text[: len(text) // 2], *args, **kwargs)
        raise OSError("no space left on device")

    monkeypatch.setattr(Path, "write_text", half_then_crash)
    with pytest.raises(OSError):
        save_scenario_yaml(NEW, saved)
    monkeypatch.undo()
    assert_only_old_file(saved)


def test_failed_flush_to_disk_leaves_the_old_file(saved, monkeypatch):
    def failing_fsync(fd):
        raise OSError("I/O error")

    monkeypatch.setattr("optimizer.safe_write.os.fsync", failing_fsync)
    with pytest.raises(OSError):
        save_scenario_yaml(NEW, saved)
    assert_only_old_file(saved)


def test_saved_file_keeps_its_permissions(saved):
    saved.chmod(0o640)
    save_scenario_yaml(NEW, saved)
    assert saved.stat().st_mode & 0o777 == 0o640


@pytest.mark.slow
def test_suburban_round_trip_gives_the_same_plan(tmp_path):
    original = load_inputs(SCENARIOS_DIR / "suburban.yaml")
    copy_path = save_scenario_yaml(scenario_dict(original.scenario), tmp_path / "suburban_copy.yaml")
    assert "sites:" in copy_path.read_text() and "sites_file" not in copy_path.read_text()
    copy = load_inputs(copy_path)
    assert copy.scenario.model_dump() == original.scenario.model_dump()
    keys = ["measure_id", "site_id", "year"]
    first, second = solved_example("suburban.yaml").plan.items[keys], optimize(copy).plan.items[keys]
    assert first.to_dict("records") == second.to_dict("records")
    assert len(first) > 0


@pytest.fixture
def hostile_plan(tmp_path):
    """A solved instance whose names would be formulas in a spreadsheet."""
    inputs = instance(
        tmp_path,
        [m("lock", name='=HYPERLINK("http://evil.example","click")'),
         m("plan", name="@SUM(1+1)*cmd|' /C calc'!A0", layer="district", component="policies",
           scope="district", unit_basis="district", funding_categories="planning",
           budget_category="contractual")],
        programs=[program("fed", name="+1+1")],
        name="-2+3 district",
        sites=[site("A", name="\t=1+1"), site("B", name="\uff1dHYPERLINK(\"http://evil.example\")")],
        funding_sources={"-evil": {"program": "fed", "name": "=cmd", "amount": 1000}},
        budget={"capital": 5000, "operating": 100},
    )
    return inputs, optimize(inputs)


def formula_like(value) -> bool:
    """A formula start, ASCII or full-width (NFKC folds ``＝`` to ``=``)."""
    return isinstance(value, str) and unicodedata.normalize("NFKC", value[:1]).startswith(FORMULA_STARTS)


def test_csv_export_neutralises_formulas(hostile_plan, tmp_path):
    inputs, result = hostile_plan
    path = write_plan(result, tmp_path / "plan.csv", inputs)
    with path.open(newline="", encoding="utf-8") as f:
        cells = [c for row in csv.reader(f) for c in row]
    assert not [c for c in cells if formula_like(c)]
    assert "'=HYPERLINK(\"http://evil.example\",\"click\")" in cells
    assert "'\uff1dHYPERLINK(\"http://evil.example\")" in cells


def test_excel_export_neutralises_formulas(hostile_plan, tmp_path):
    inputs, result = hostile_plan
    path = write_plan(result, tmp_path / "plan.xlsx", inputs)
    book = openpyxl.load_workbook(path)
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"], "a cell is a live formula"
    assert not [c.value for c in cells if formula_like(c.value)]
    texts = {c.value for c in cells if isinstance(c.value, str)}
    assert "'-2+3 district" in texts and "'-evil" in texts
    assert any(t.startswith("'=HYPERLINK") for t in texts)


def test_failed_export_leaves_the_earlier_plan_file(hostile_plan, tmp_path, monkeypatch):
    inputs, result = hostile_plan
    path = write_plan(result, tmp_path / "plan.json", inputs)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise RuntimeError("crashed while exporting")

    monkeypatch.setattr("optimizer.reports.export.plan_dict", broken)
    with pytest.raises(RuntimeError):
        write_plan(result, path, inputs)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".plan.json")] == []


@pytest.mark.parametrize("text", [
    "name: !!python/object/apply:os.system ['echo owned']\n",
    "name: !!python/object:optimizer.data.scenario.Scenario {}\n",
    "name: !!python/name:os.system\n",
])
def test_yaml_python_tags_are_refused(tmp_path, text):
    path = tmp_path / "evil.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert "!!python" in str(info.value) and "evil.yaml" in str(info.value)


def test_yaml_reader_is_a_safe_loader(tmp_path):
    assert issubclass(_SafeLoader, yaml.SafeLoader)
    path = tmp_path / "plain.yaml"
    path.write_text("a: &x {b: 1}\nc: *x\nd: 2025-01-01\n")
    data = read_yaml_mapping(path)
    assert data["c"] == {"b": 1} and str(data["d"]) == "2025-01-01"


def test_the_shipped_catalog_reads_the_same_with_the_faster_loader_and_keeps_its_refusals():
    # The catalog that comes with the tool is read with libyaml's parser (every start reads it);
    # what it gives is what the guarded loader gives, and it still refuses what that refuses.
    from optimizer.data.readers import _ShippedLoader
    from optimizer.paths import CATALOG_DIR

    assert issubclass(_ShippedLoader, yaml.SafeLoader if _ShippedLoader is _SafeLoader else yaml.CSafeLoader)
    files = sorted(CATALOG_DIR.rglob("*.yaml"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert yaml.load(text, Loader=_ShippedLoader) == yaml.load(text, Loader=_SafeLoader), path.name
    for text, refused in (("a: 1\na: 2\n", "given twice"), ("a: !!python/name:os.system\n", "!!python")):
        with pytest.raises(yaml.YAMLError, match=refused):
            yaml.load(text, Loader=_ShippedLoader)


UNSAFE = {
    "pickle": r"\bpickle\b|\bshelve\b|\bmarshal\.loads?\(",
    "eval": r"(?<![\w.])eval\(",
    "exec": r"(?<![\w.])exec\(",
    "yaml.load(": r"yaml\.(load|load_all|full_load|unsafe_load)\(",
    "an unsafe YAML loader": r"yaml\.(Loader|FullLoader|UnsafeLoader)\b",
}


@pytest.mark.parametrize("what", list(UNSAFE))
def test_no_module_uses_unsafe_deserialisation(what):
    package = Path(__file__).resolve().parent.parent / "optimizer"
    hits = [f"{path.name}:{n}: {line.strip()}" for path in sorted(package.rglob("*.py"))
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if re.search(UNSAFE[what], line)]
    assert hits == [], f"{what} used in optimizer/"


def test_a_writer_killed_mid_write_leaves_nothing_after_the_next_write(tmp_path):
    """SIGKILL runs no cleanup: the hidden temporary file it leaves is removed by the next
    write of the same file, which leaves only the file itself."""
    target = tmp_path / "plan.json"
    writer = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from optimizer.safe_write import replacing\n"
        "with replacing(sys.argv[1]) as temp:\n"
        "    temp.write_bytes(b'')\n"
        "    print('writing', flush=True)\n"
        "    time.sleep(60)\n"), str(target)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "writing"
    writer.send_signal(signal.SIGKILL)
    writer.wait(10)
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(".plan.json.") and left[0].endswith(".tmp.json")
    with replacing(target) as temp:
        temp.write_text("{}")
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]


def test_analysis_tables_written_by_the_command_line_neutralise_formulas(tmp_path):
    """Analyses name the district's own schools (compare, explain): their CSV files get the
    same neutralising as plan files, full-width formula starts included."""
    from optimizer.cli.analysis_commands import _emit
    frame = pd.DataFrame({"school": ["=cmd|' /C calc'!A0", "\uff0bSUM(1)", "Lincoln"], "capital": [1.0, 2.0, 3.0]})
    _emit(frame, tmp_path / "changes.csv", "Items")
    with (tmp_path / "changes.csv").open(newline="", encoding="utf-8") as f:
        cells = [c for row in csv.reader(f) for c in row]
    assert not [c for c in cells if formula_like(c)]
    assert "'=cmd|' /C calc'!A0" in cells and "Lincoln" in cells
