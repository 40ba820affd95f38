"""The bad-input corpus (tests/data/bad, listed in manifest.csv): every file is either read
correctly (currency signs, thousands separators, percentages, yes/no words, encodings a
person would expect to work) or refused with an InputError that names the file, the row or
key, the field and what is expected. Never a traceback, never another exception type."""
from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from optimizer import InputError, load_catalog, load_inputs
from optimizer.cli import app
from optimizer.cli.console import EXIT_INPUT

BAD = Path(__file__).parent / "data" / "bad"
MANIFEST = BAD / "manifest.csv"

#: How a corpus file is loaded: in place of one file of a small valid catalog, as a
#: scenario (against the shipped catalog), or as the sites file of a small scenario.
CATALOG_FILES = {"catalog measures": "measures.csv", "catalog programs": "funding_programs.yaml",
                 "catalog mandates": "state_mandates.yaml"}
SCENARIO, SITE_SHEET = "scenario", "site sheet"


def manifest() -> list[dict[str, str]]:
    """The manifest rows: file, loaded_as, outcome (error or reads), check, about."""
    with MANIFEST.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


ENTRIES = manifest()


@dataclass
class Outcome:
    """What loading one corpus file gave: ``error`` (InputError), ``reads`` or ``other``."""

    kind: str
    value: object  # the loaded catalog or scenario, or the exception
    detail: str = ""  # the traceback of an ``other`` outcome


def load(entry: dict[str, str], make_catalog, work: Path):
    """Load one corpus file the way its manifest row says; return the catalog or scenario."""
    source = BAD / entry["file"]
    how = entry["loaded_as"]
    if how in CATALOG_FILES:
        folder = make_catalog()
        shutil.copyfile(source, folder / CATALOG_FILES[how])
        return load_catalog(folder)
    if how == SCENARIO:
        return load_inputs(source).scenario
    assert how == SITE_SHEET, f"unknown loaded_as {how!r} in manifest.csv"
    shutil.copyfile(source, work / source.name)  # a scenario reads files of its own folder only
    scenario = work / f"{source.stem}_scenario.yaml"
    scenario.write_text(yaml.safe_dump({"name": "Sheet test", "horizon": {"start": 2027, "years": 1},
                                        "sites_file": source.name, "budget": {"capital": 0, "operating": 0}}))
    return load_inputs(scenario).scenario


_OUTCOMES: dict[str, Outcome] = {}


def outcome_of(entry: dict[str, str], make_catalog, work: Path) -> Outcome:
    """Load once per session (the summary reuses what the parametrized tests found)."""
    name = entry["file"]
    if name not in _OUTCOMES:
        try:
            _OUTCOMES[name] = Outcome("reads", load(entry, make_catalog, work))
        except InputError as exc:
            _OUTCOMES[name] = Outcome("error", exc)
        except Exception as exc:  # noqa: BLE001 - this is what the corpus hunts for
            _OUTCOMES[name] = Outcome("other", exc, traceback.format_exc())
    return _OUTCOMES[name]


def field_value(obj, path: str):
    """``measures.bld-lock.capital_typical`` or ``sites.0.enrollment`` of a loaded object."""
    for part in path.split("."):
        if isinstance(obj, dict):
            obj = obj[int(part) if part.isdigit() and part not in obj else part]
        elif isinstance(obj, list):
            obj = obj[int(part)]
        else:
            obj = getattr(obj, part)
    return obj


def same(actual, expected: str) -> bool:
    """Compare a loaded value with its text in the manifest."""
    if isinstance(actual, bool):
        return str(actual).lower() == expected.lower()
    if isinstance(actual, (int, float)):
        return float(expected) == pytest.approx(float(actual))
    return str(actual) == expected


def test_manifest_lists_every_corpus_file_once():
    listed = [e["file"] for e in ENTRIES]
    on_disk = sorted(p.name for p in BAD.iterdir() if p.name not in ("manifest.csv", "make_xlsx.py"))
    assert sorted(listed) == on_disk
    assert len(listed) >= 45
    assert {e["outcome"] for e in ENTRIES} <= {"error", "reads"}
    kinds = {Path(e["file"]).suffix for e in ENTRIES if e["loaded_as"] == SITE_SHEET}
    assert {".csv", ".xlsx"} <= kinds


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["file"] for e in ENTRIES])
def test_bad_input(entry, make_catalog, tmp_path):
    result = outcome_of(entry, make_catalog, tmp_path)
    assert result.kind != "other", result.detail
    assert result.kind == entry["outcome"], (f"{entry['file']}: expected {entry['outcome']}, got "
                                             f"{result.kind}: {result.value}")
    checks = [c.strip() for c in entry["check"].split("|")]
    if result.kind == "error":
        message = str(result.value)
        for needle in checks:
            assert needle in message, f"{entry['file']}: {needle!r} not in {message}"
        for problem in result.value.problems:
            assert problem.file and problem.expected, problem
    else:
        for check in checks:
            path, expected = check.split("=", 1)
            actual = field_value(result.value, path)
            assert same(actual, expected), f"{entry['file']}: {path} is {actual!r}, expected {expected}"


def test_summary_no_other_outcome(make_catalog, tmp_path, capsys):
    counts = {"clear error": 0, "read correctly": 0, "other": 0}
    others = []
    for i, entry in enumerate(ENTRIES):
        work = tmp_path / str(i)
        work.mkdir()
        result = outcome_of(entry, make_catalog, work)
        counts[{"error": "clear error", "reads": "read correctly", "other": "other"}[result.kind]] += 1
        if result.kind == "other":
            others.append(f"{entry['file']}: {result.detail.splitlines()[-1]}")
    width = max(map(len, counts))
    table = "\n".join([f"bad-input corpus: {len(ENTRIES)} inputs tried"]
                      + [f"  {k.ljust(width)}  {v:3d}" for k, v in counts.items()])
    with capsys.disabled():
        print("\n" + table)
    assert sum(counts.values()) == len(ENTRIES)
    assert counts["other"] == 0, others


CLI_CASES = ["scenario_python_tag.yaml", "scenario_alias_bomb.yaml", "scenario_loop_a.yaml",
             "scenario_utf16.yaml", "scenario_pdf.yaml", "scenario_wrong_sheet.yaml"]


def _cli_expectation(name: str) -> int:
    outcome = next(e["outcome"] for e in ENTRIES if e["file"] == name)
    return EXIT_INPUT if outcome == "error" else 0


@pytest.mark.slow
@pytest.mark.parametrize("name", CLI_CASES)
def test_cli_validate_corpus_file_exits_cleanly(name):
    result = CliRunner().invoke(app, ["validate", str(BAD / name)])
    assert result.exit_code == _cli_expectation(name), result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_cli_validate_bad_catalog_folder(make_catalog):
    folder = make_catalog()
    shutil.copyfile(BAD / "measures_cycle.csv", folder / "measures.csv")
    result = CliRunner().invoke(app, ["validate", str(folder)])
    assert result.exit_code == EXIT_INPUT
    assert "cycle" in result.output and "Traceback" not in result.output


def test_cli_process_refuses_alias_bomb_quickly():
    run = subprocess.run([sys.executable, "-m", "optimizer", "validate", str(BAD / "scenario_alias_bomb.yaml")],
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == EXIT_INPUT, run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert "aliases" in run.stderr
