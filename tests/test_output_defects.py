"""Output defects of issue 14: the Excel plan file changed bytes on every run (document
and zip entry timestamps); ``--write-model file.mps`` wrote ``OBJSENSE`` before ``NAME``,
which SCIP refuses; ``compare`` printed years as "2,027" and counts as "125.000"."""
from __future__ import annotations

import datetime as dt
import re
import time
import zipfile

import pytest
from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.core.run import optimize
from optimizer.core.status import SolveOptions
from optimizer.data.inputs import load_inputs
from optimizer.paths import SCENARIOS_DIR
from optimizer.reports.export import write_plan
from tests.builders import solved_example, three_measures

FREE = {"operating": 1e9}


@pytest.fixture
def small(tmp_path):
    """Three measures, a budget for two of them: the best plan buys ``a`` and ``b``."""
    return three_measures(tmp_path)


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


# 1. The same scenario gives the same .xlsx bytes, as it does for .json and .csv.

def test_plan_files_are_the_same_bytes_when_written_again_later(small, tmp_path):
    result = optimize(small)
    for suffix in (".json", ".csv", ".xlsx"):
        first = write_plan(result, tmp_path / f"first{suffix}", small).read_bytes()
        time.sleep(2)  # cross a second (zip entry times) and a timestamp second (docProps/core.xml)
        again = write_plan(result, tmp_path / f"again{suffix}", small).read_bytes()
        assert first == again, suffix


def test_workbook_dates_are_the_catalog_date_and_it_still_opens(small, tmp_path):
    import openpyxl

    path = write_plan(optimize(small), tmp_path / "plan.xlsx", small)
    stamp = dt.datetime.combine(small.catalog.as_of, dt.time())
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
        assert {info.date_time for info in z.infolist()} == {stamp.timetuple()[:6]}
    book = openpyxl.load_workbook(path)
    assert book.properties.created == book.properties.modified == stamp
    assert "Summary" in book.sheetnames


# 2. --write-model file.mps: NAME first, then OBJSENSE MAX; HiGHS, SCIP and OR-Tools read it.

def read_with_highs(path):
    highspy = pytest.importorskip("highspy")
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    assert h.readModel(str(path)) != highspy.HighsStatus.kError
    h.setOptionValue("mip_rel_gap", 0.0)
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return h.getLp().sense_ == highspy.ObjSense.kMaximize, h.getInfo().objective_function_value


def read_with_scip(path):
    pyscipopt = pytest.importorskip("pyscipopt")
    model = pyscipopt.Model()
    model.hideOutput()
    model.readProblem(str(path))  # raises OSError on a file SCIP cannot read
    model.setParam("limits/gap", 0.0)
    model.optimize()
    assert model.getStatus() == "optimal"
    return model.getObjectiveSense() == "maximize", model.getObjVal()


def read_with_ortools(path):
    model_builder = pytest.importorskip("ortools.linear_solver.python.model_builder")
    model = model_builder.ModelBuilder()
    assert model.import_from_mps_file(str(path))
    solver = model_builder.Solver("scip")
    assert solver.solve(model) == model_builder.SolveStatus.OPTIMAL
    return model.maximize, solver.objective_value


@pytest.mark.parametrize("read", [read_with_highs, read_with_scip, read_with_ortools],
                         ids=["highs", "scip", "ortools"])
def test_mps_model_reads_as_a_maximisation_with_the_plan_objective(small, tmp_path, read):
    path = tmp_path / "model.mps"
    r = invoke("plan", small.path, "--catalog", small.catalog.folder, "--write-model", path)
    assert r.exit_code == 0, r.output
    records = [line.split() for line in path.read_text().splitlines() if line.strip() and not line.startswith("*")]
    assert records[0][0] == "NAME" and records[1] == ["OBJSENSE"] and records[2] == ["MAX"]
    maximise, objective = read(path)
    assert maximise
    planned = optimize(small, SolveOptions(gap=0.0))
    assert planned.report.objective > 0
    assert objective == pytest.approx(planned.report.objective, rel=1e-6, abs=1e-9)


# 3. compare prints years as years, counts as counts and money as dollars.

@pytest.mark.slow
def test_compare_prints_years_counts_and_dollars_plainly():
    r = invoke("compare", SCENARIOS_DIR / "rural.yaml", SCENARIOS_DIR / "suburban.yaml")
    assert r.exit_code == 0, r.output
    assert "2027" in r.output and "2,02" not in r.output
    assert ".000" not in r.output
    assert not re.search(r"\b0\.0000\b", r.output)
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
            for line in r.output.splitlines() if line.count("│") > 2}
    assert rows["items"] and all(re.fullmatch(r"-?\d[\d,]*", c) for c in rows["items"]), rows["items"]
    assert all(re.fullmatch(r"-?\$\d[\d,]*", c) for c in rows["capital"]), rows["capital"]
    assert all(re.fullmatch(r"-?\$\d[\d,]*|-", c) for c in rows["2027"]), rows["2027"]


# 4. Issue 15: every sheet of the workbook is headed in words (the CSV keeps its column names).

def test_every_workbook_sheet_is_headed_in_words_and_the_plan_says_why(tmp_path):
    import openpyxl

    inputs = load_inputs(SCENARIOS_DIR / "suburban.yaml")
    result = solved_example("suburban.yaml")
    book = openpyxl.load_workbook(write_plan(result, tmp_path / "plan.xlsx", inputs))
    assert book.sheetnames[:2] == ["Projects", "What to buy"] and "Budget svpp" in book.sheetnames
    for sheet in book.worksheets:
        header = [c.value for c in sheet[1]]
        assert sheet.freeze_panes == "A2", sheet.title
        assert all(isinstance(h, str) and h for h in header), (sheet.title, header)
        assert not [h for h in header if "_" in h or re.fullmatch(r"[a-z0-9-]+", h)], (sheet.title, header)
    plan = book["Plan by site"]
    header = [c.value for c in plan[1]]
    assert header[:3] == ["Measure", "School", "Fiscal year"] and header[-2:] == ["Measure id", "School id"]
    why = header.index("Why") + 1
    assert all(plan.cell(row=r, column=why).value for r in range(2, plan.max_row + 1))
    paid = header.index("Paid by COPS SVPP award FY2026 ($)") + 1
    assert "$" in plan.cell(row=2, column=paid).number_format
    assert [c.value for c in book["Budget svpp"][1]] == ["Budget category", "Grant share ($)", "Local match ($)",
                                                        "Total ($)"]
    with write_plan(result, tmp_path / "plan.csv", inputs).open(encoding="utf-8") as f:
        columns = f.readline().strip().split(",")
    assert columns[:2] == ["name", "school"] and {"capital_cost", "paid_by_svpp", "measure_id"} <= set(columns)
