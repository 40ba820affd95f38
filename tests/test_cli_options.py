"""Every option value of every subcommand is checked before any work: a bad value (not
finite, out of its range, an output file that cannot be written) exits 2 with one line
naming the option, the value given and what is expected, before a scenario or catalog is
read or anything is solved; never a traceback, an internal error or a pydantic dump.

The work the commands do (loading, solving, the analyses) is replaced by a tripwire here,
so a value that got through would show as work started rather than as a slow solve."""
from __future__ import annotations

import importlib
import math
import time

import pytest
from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.errors import InputError
from optimizer.paths import SCENARIOS_DIR

SCENARIO = str(SCENARIOS_DIR / "rural.yaml")
#: Seconds a refused command may take: it reads its command line and nothing else.
FAST = 0.5
#: What each command module calls to do work; none of it may run for a bad option.
WORK = {
    "optimizer.cli.plan_commands": ("load_inputs", "load_catalog", "optimize", "build_model"),
    "optimizer.cli.analysis_commands": ("load_inputs", "optimize", "frontier", "compare", "screen",
                                        "stance_check", "pitch", "robust", "alternatives", "explain"),
}


class WorkStarted(Exception):
    """A command started loading or solving."""


@pytest.fixture
def no_work(monkeypatch):
    """Replace the commands' work by a tripwire; the list says what was started."""
    started: list[str] = []
    for module, names in WORK.items():
        loaded = importlib.import_module(module)
        for name in names:
            def trip(*args, _name=name, **kwargs):
                started.append(_name)
                raise WorkStarted(_name)
            monkeypatch.setattr(loaded, name, trip)
    return started


def refused(no_work, *args) -> list[str]:
    """Run the command line; it must exit 2 at once without starting work. Returns the
    lines it printed."""
    began = time.perf_counter()
    result = CliRunner().invoke(app, [str(a) for a in args])
    seconds = time.perf_counter() - began
    output = result.output
    assert not no_work, f"work started before the options were checked: {no_work}\n{output}"
    assert result.exit_code == 2, (result.exit_code, output, result.exception)
    assert seconds < FAST, f"{seconds:.2f} s to refuse {args}"
    for bad in ("Traceback", "internal error", "please report", "validation error", "pydantic", "╭"):
        assert bad not in output, output
    return [line for line in output.splitlines() if line.strip()]


def one_line(lines: list[str], option: str, value: str) -> str:
    """The single line printed, naming ``option`` and ``value`` and what is expected."""
    assert len(lines) == 1, lines
    line = lines[0]
    assert option in line and value in line and "expected" in line, line
    return line


# ---------------------------------------------------------------------------- numbers

@pytest.mark.parametrize(("args", "option", "value"), [
    (["plan", SCENARIO, "--budget", "nan"], "--budget", "nan"),
    (["plan", SCENARIO, "--budget", "inf"], "--budget", "inf"),
    (["plan", SCENARIO, "--budget", "-1"], "--budget", "-1"),
    (["plan", SCENARIO, "--budget", "1e308"], "--budget", "1e+308"),
    (["plan", SCENARIO, "--gap", "nan"], "--gap", "nan"),
    (["plan", SCENARIO, "--gap", "-1"], "--gap", "-1"),
    (["plan", SCENARIO, "--gap", "5"], "--gap", "5"),
    (["plan", SCENARIO, "--time-limit", "0"], "--time-limit", "0"),
    (["plan", SCENARIO, "--time-limit", "-1"], "--time-limit", "-1"),
    (["plan", SCENARIO, "--time-limit", "nan"], "--time-limit", "nan"),
    (["plan", SCENARIO, "--time-limit", "1e9"], "--time-limit", "1000000000"),
    (["pitch", SCENARIO, "--cost", "inf", "--layer", "building", "--component", "video",
      "--effectiveness", "0.3"], "--cost", "inf"),
    (["pitch", SCENARIO, "--cost", "0", "--layer", "building", "--component", "video",
      "--effectiveness", "0.3"], "--cost", "0"),
    (["pitch", SCENARIO, "--cost", "50", "--annual", "-5", "--layer", "building", "--component", "video",
      "--effectiveness", "0.3"], "--annual", "-5"),
    (["pitch", SCENARIO, "--cost", "50", "--layer", "building", "--component", "video",
      "--effectiveness", "nan"], "--effectiveness", "nan"),
    (["frontier", SCENARIO, "--max-budget", "nan"], "--max-budget", "nan"),
    (["frontier", SCENARIO, "--max-budget", "0"], "--max-budget", "0"),
    (["frontier", SCENARIO, "--gap", "inf"], "--gap", "inf"),
    (["compare", SCENARIO, SCENARIO, "--time-limit", "0"], "--time-limit", "0"),
    (["screen", SCENARIO, "--multiple", "nan"], "--multiple", "nan"),
    (["stances", SCENARIO, "--gap", "0.9"], "--gap", "0.9"),
    (["robust", SCENARIO, "--spread", "nan"], "--spread", "nan"),
    (["robust", SCENARIO, "--seed", "-1"], "--seed", "-1"),
    (["robust", SCENARIO, "--time-limit", "-60"], "--time-limit", "-60"),
    (["alternatives", SCENARIO, "--within", "nan"], "--within", "nan"),
    (["alternatives", SCENARIO, "--within", "150%"], "--within", "150%"),
    (["explain", SCENARIO, "some-measure", "--gap", "-0.1"], "--gap", "-0.1"),
    (["catalog", "--tier", "five"], "--tier", "five"),
])
def test_a_bad_number_is_refused_before_any_work(no_work, args, option, value):
    one_line(refused(no_work, *args), option, value)


def test_the_message_says_what_is_expected(no_work):
    line = one_line(refused(no_work, "plan", SCENARIO, "--budget", "nan"), "--budget", "nan")
    assert "10,000,000,000" in line and "dollars" in line
    line = one_line(refused(no_work, "plan", SCENARIO, "--gap", "5"), "--gap", "5")
    assert "0 to 0.5" in line
    line = one_line(refused(no_work, "plan", SCENARIO, "--time-limit", "0"), "--time-limit", "0")
    assert "above 0" in line and "86,400" in line


def test_every_bad_option_is_named_on_its_own_line_and_good_ones_are_not(no_work):
    lines = refused(no_work, "plan", SCENARIO, "--budget", "0", "--years", "10", "--gap", "nan",
                    "--time-limit", "0", "--objective", "cheapest", "--solver", "highs")
    assert len(lines) == 3, lines
    assert any("--gap nan" in line for line in lines)
    assert any("--time-limit 0" in line for line in lines)
    assert any("--objective 'cheapest'" in line for line in lines)
    assert not any("--budget" in line or "--years" in line or "--solver" in line for line in lines)


def test_a_value_that_is_not_a_number_is_one_line_too(no_work):
    one_line(refused(no_work, "plan", SCENARIO, "--budget", "lots"), "--budget", "lots")


# ---------------------------------------------------------------------------- output files

def test_plan_out_in_a_missing_folder_is_refused_before_the_solve(no_work, tmp_path):
    target = tmp_path / "missing" / "plan.json"
    line = one_line(refused(no_work, "plan", SCENARIO, "--out", target), "--out", str(target))
    assert "does not exist" in line and ".tmp" not in line
    assert not target.parent.exists()


def test_plan_out_to_a_folder_is_refused_before_the_solve(no_work, tmp_path):
    line = one_line(refused(no_work, "plan", SCENARIO, "--out", tmp_path), "--out", str(tmp_path))
    assert "folder" in line
    assert list(tmp_path.iterdir()) == []


def test_plan_out_with_a_wrong_suffix_is_refused_before_the_solve(no_work, tmp_path):
    target = tmp_path / "plan.txt"
    line = one_line(refused(no_work, "plan", SCENARIO, "--out", target), "--out", str(target))
    assert ".json" in line and ".xlsx" in line
    assert list(tmp_path.iterdir()) == []


def test_write_model_with_a_wrong_suffix_is_refused_before_loading(no_work, tmp_path):
    target = tmp_path / "model.json"
    line = one_line(refused(no_work, "plan", SCENARIO, "--write-model", target), "--write-model", str(target))
    assert ".lp" in line and ".mps" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("command", "name"), [
    (["frontier", SCENARIO], "front.xlsx"),
    (["screen", SCENARIO], "screen.txt"),
    (["robust", SCENARIO], "robust.parquet"),
    (["catalog"], "catalog.json"),
])
def test_an_analysis_or_catalog_out_with_a_wrong_suffix_is_refused_before_loading(no_work, tmp_path, command, name):
    target = tmp_path / name
    one_line(refused(no_work, *command, "--out", target), "--out", str(target))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["catalog"], ["stances", SCENARIO], ["explain", SCENARIO, "m"]])
def test_an_out_in_a_missing_folder_is_refused_before_loading(no_work, tmp_path, command):
    target = tmp_path / "nowhere" / "table.csv"
    line = one_line(refused(no_work, *command, "--out", target), "--out", str(target))
    assert "does not exist" in line
    assert not target.parent.exists()


# ---------------------------------------------------------------------------- the API

@pytest.mark.parametrize(("field", "value"), [
    ("gap", math.nan), ("gap", -1.0), ("gap", 5.0), ("gap", math.inf),
    ("time_limit", 0.0), ("time_limit", -1.0), ("time_limit", math.nan), ("time_limit", math.inf),
])
def test_solve_options_refuse_a_value_no_solve_can_use(field, value):
    from optimizer.core.status import SolveOptions
    with pytest.raises(InputError) as raised:
        SolveOptions(**{field: value})
    assert raised.value.problems[0].field == field
    assert "expected" in str(raised.value)


@pytest.mark.parametrize("changes", [{"gap": math.nan}, {"gap": 0.9}, {"time_limit": math.nan},
                                     {"time_limit": math.inf}, {"threads": 0}])
def test_changed_solve_options_are_checked_too(changes):
    from optimizer.core.status import SolveOptions
    with pytest.raises(InputError):
        SolveOptions().but(**changes)


def test_solve_options_keep_the_usual_values_and_refuse_a_time_left_that_ran_out():
    from optimizer.core.status import SolveOptions
    assert SolveOptions(gap=0.0, time_limit=86_400).gap == 0.0
    assert SolveOptions(gap=0.5).gap == 0.5
    with pytest.raises(InputError):
        SolveOptions(gap=0.5000001)
    with pytest.raises(InputError):  # the solve floors the time it passes on, never the options
        SolveOptions(time_limit=2.0).but(time_limit=2.0 - 3.5)


@pytest.mark.parametrize(("costs", "field"), [
    ({"capital": 0.0, "annual": 0.0}, "capital"),
    ({"capital": 0.0}, "capital"),
    ({"capital": math.inf}, "capital"),
    ({"capital": 50.0, "annual": math.inf}, "annual"),
])
def test_read_pitch_refuses_a_product_without_a_finite_cost(costs, field):
    from optimizer.analyses.pitch import read_pitch
    data = {"name": "Door Sensor Pro", "layer": "building", "component": "detection", "effectiveness": 0.4, **costs}
    with pytest.raises(InputError) as raised:
        read_pitch(data, "vendor pitch form")
    assert [p.field for p in raised.value.problems] == [field]
