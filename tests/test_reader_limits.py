"""Limits on input files (optimizer.data.readers), checked before a file's content is read.

A small hostile file must not exhaust memory or time: each bomb (a zip bomb, a sheet whose
one cell sits at XFD1048576, a cell in row 1,048,576 under a lying or missing <dimension>,
the densest YAML the size limit lets through) is loaded in a child process, which must
refuse it with a clear InputError within 300 MB and 10 s of processor time (wall time is
bounded loosely: the test machine is shared). CSV files with CR line endings read; an
oversize cell, too many rows, columns or characters on a line are refused naming the row
and the limit. Inputs of a real size still read, and read as before."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
import yaml

from optimizer import InputError, load_inputs
from optimizer.data import readers
from optimizer.data.readers import (MAX_COLUMNS, MAX_FILE_BYTES, MAX_LINE_CHARS, MAX_ROWS,
                                    MAX_XLSX_PARTS, MAX_XLSX_RATIO, MAX_XLSX_UNZIPPED_BYTES,
                                    MAX_YAML_BYTES, MAX_YAML_VALUES, read_table, read_yaml_mapping)
from optimizer.data.scenario import MAX_SITES
from optimizer.paths import CATALOG_DIR, SCENARIOS_DIR

REPO = Path(__file__).resolve().parents[1]
BAD = REPO / "tests" / "data" / "bad"
SHEET = "xl/worksheets/sheet1.xml"
HEADER = ["id", "name", "level", "enrollment", "staff", "exterior_doors", "entrances", "classrooms",
          "camera_positions", "risk_weight", "in_place"]

#: What a bomb may cost the process that loads it, interpreter and imports included (~120 MB,
#: ~1 s): peak resident memory, processor time, and wall time on a busy shared machine.
PEAK_MB, CPU_SECONDS, WALL_SECONDS = 300, 10, 30
#: Where the parent stops a child that has clearly failed (the reader of old grew to GBs).
KILL_MB, KILL_SECONDS = 1_500, 60


def refused(path: Path, *needles: str) -> InputError:
    """Read ``path`` as a table, expecting an InputError naming the file and every needle."""
    with pytest.raises(InputError) as caught:
        read_table(path)
    message = str(caught.value)
    for needle in (path.name, *needles):
        assert needle in message, f"{needle!r} not in {message}"
    for problem in caught.value.problems:
        assert problem.file and problem.expected, problem
    return caught.value


# --- bombs, each in a child process ------------------------------------------------------

CHILD = r'''
import json, re, resource, shutil, sys, time
from pathlib import Path
import yaml
from optimizer import InputError, load_inputs

source, work = Path(sys.argv[1]), Path(sys.argv[2])
if source.suffix == ".yaml":
    scenario = source
else:  # the sites file of a small scenario, beside it (a scenario reads its own folder only)
    scenario = work / "scenario.yaml"
    if source.parent != work:
        shutil.copyfile(source, work / source.name)
    scenario.write_text(yaml.safe_dump({"name": "Bomb", "horizon": {"start": 2027, "years": 1},
                                        "sites_file": source.name, "budget": {"capital": 0, "operating": 0}}))
start = time.monotonic()
try:
    load_inputs(scenario)
    kind, message = "reads", ""
except InputError as exc:
    kind, message = "error", str(exc)
seconds = time.monotonic() - start
peak_kb = int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"kind": kind, "message": message, "peak_mb": peak_kb / 1024, "load_seconds": seconds,
                  "cpu_seconds": usage.ru_utime + usage.ru_stime}))
'''


def _rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    found = re.search(r"VmRSS:\s+(\d+)", status)
    return int(found.group(1)) / 1024 if found else 0.0


def load_in_child(source: Path, work: Path) -> dict:
    """Load ``source`` (a scenario, or a sites file) in a fresh interpreter; its outcome, peak
    memory (VmHWM, or what the parent saw before stopping it), processor and wall time."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    start = time.monotonic()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(source), str(work)], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = 0.0
    while True:
        try:
            out, err = child.communicate(timeout=0.05)
            break
        except subprocess.TimeoutExpired:
            seen = max(seen, _rss_mb(child.pid))
            if seen > KILL_MB or time.monotonic() - start > KILL_SECONDS:
                child.kill()
                child.communicate()
                return {"kind": "stopped", "message": "", "peak_mb": seen, "cpu_seconds": None,
                        "seconds": time.monotonic() - start}
    seconds = time.monotonic() - start
    assert child.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    return {**result, "peak_mb": max(seen, result["peak_mb"]), "seconds": seconds}


def _rezip(source: Path, target: Path, patch) -> Path:
    """Copy a workbook, ``patch(bytes)`` changing its sheet's XML."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            dst.writestr(info.filename, patch(body) if info.filename == SHEET else body)
    return target


def _no_dimension(work: Path) -> Path:
    return _rezip(BAD / "sites_million_rows.xlsx", work / "sites_no_dimension.xlsx",
                  lambda body: re.sub(rb"<dimension[^>]*/>", b"", body))


def _dense_yaml(work: Path) -> Path:
    """The most values a YAML file under the size limit can hold: one per four bytes."""
    path = work / "dense.yaml"
    head = "name: Dense\nsites:\n"
    path.write_text(head + "- 1\n" * ((MAX_YAML_BYTES - len(head)) // 4))
    return path


BOMBS = {
    "sites_dimension_bomb.xlsx": (lambda work: BAD / "sites_dimension_bomb.xlsx",
                                  ["sheet 'Sheet'", "XFD1048576", f"at most {MAX_ROWS:,} rows"]),
    "sites_zip_bomb.xlsx": (lambda work: BAD / "sites_zip_bomb.xlsx",
                            ["part xl/worksheets/sheet1.xml", "at most 20 MB", "zip bomb"]),
    "sites_million_rows.xlsx": (lambda work: BAD / "sites_million_rows.xlsx",
                                ["cell A1048576", "row 1,048,576", f"at most {MAX_ROWS:,} rows"]),
    "no <dimension>, a cell in row 1048576": (_no_dimension, ["cell A1048576", "row 1,048,576"]),
    "densest YAML under the size limit": (_dense_yaml, [f"at most {MAX_YAML_VALUES:,} values", "line "]),
}


@pytest.mark.parametrize("name", list(BOMBS))
def test_bomb_refused_in_little_memory_and_time(name, tmp_path):
    make, needles = BOMBS[name]
    result = load_in_child(make(tmp_path), tmp_path)
    assert result["kind"] == "error", (f"{name}: {result['kind']} after {result['seconds']:.1f} s at "
                                       f"{result['peak_mb']:.0f} MB")
    for needle in needles:
        assert needle in result["message"], f"{needle!r} not in {result['message']}"
    assert "Traceback" not in result["message"]
    assert result["peak_mb"] < PEAK_MB, f"{name}: peak {result['peak_mb']:.0f} MB"
    assert result["cpu_seconds"] < CPU_SECONDS, f"{name}: {result['cpu_seconds']:.1f} s of processor time"
    assert result["seconds"] < WALL_SECONDS, f"{name}: {result['seconds']:.1f} s"


# --- CSV -----------------------------------------------------------------------------------

SITES_ROWS = [HEADER, ["ES-1", "Oak Elementary", "elementary", "420", "35", "10", "1", "20", "18", "1.0",
                       "bld-com-pa-system"],
              ["HS-1", "Ridge High, North", "high", "1,500", "110", "24", "2", "60", "50", "1.2", ""]]


def _csv(rows, ending="\n") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=ending).writerows(rows)
    return buffer.getvalue()


@pytest.mark.parametrize("ending", ["\r", "\r\n"])
def test_csv_with_cr_or_crlf_endings_reads_as_lf(tmp_path, ending):
    expected = tmp_path / "lf.csv"
    expected.write_text(_csv(SITES_ROWS), newline="")
    other = tmp_path / "other.csv"
    other.write_text(_csv(SITES_ROWS + [[]] + [SITES_ROWS[1]], ending), newline="")
    want, got = read_table(expected), read_table(other)
    assert got.header == want.header and got.rows[:2] == want.rows
    assert got.numbers == [2, 3, 5]  # the blank row keeps its place with CR endings too


def test_cr_only_corpus_file_reads():
    data = (BAD / "sites_cr_only.csv").read_bytes()
    assert b"\r" in data and b"\n" not in data
    assert read_table(BAD / "sites_cr_only.csv").rows[1]["enrollment"] == "1500"


def test_oversize_cell_names_its_row_and_the_limit(tmp_path):
    path = tmp_path / "sites.csv"
    long = "x" * (csv.field_size_limit() + 1)
    path.write_text(_csv(SITES_ROWS + [["MS-1", long]]))
    error = refused(path, "row 4", f"at most {csv.field_size_limit():,} characters")
    assert "close every quote" not in str(error)


def test_unclosed_quote_keeps_its_advice(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text(_csv(SITES_ROWS) + 'MS-1,"Pine Middle\n')
    refused(path, "close every quote")


def test_rows_up_to_the_limit_read_and_one_more_is_refused(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text(_csv([HEADER] + [[f"S{i}"] for i in range(MAX_ROWS)]))
    assert len(read_table(path).rows) == MAX_ROWS
    path.write_text(_csv([HEADER] + [[f"S{i}"] for i in range(MAX_ROWS + 1)]))
    refused(path, f"row {MAX_ROWS + 2}", f"at most {MAX_ROWS:,} rows")


def test_corpus_too_many_rows_file_is_one_row_over_the_limit():
    with (BAD / "sites_too_many_rows.csv").open(newline="") as f:
        assert sum(1 for _ in csv.reader(f)) == 1 + MAX_ROWS + 1


def test_too_many_columns_refused(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(_csv([[f"c{i}" for i in range(MAX_COLUMNS + 1)], ["1"] * (MAX_COLUMNS + 1)]))
    refused(path, "row 1", f"at most {MAX_COLUMNS} columns", f"{MAX_COLUMNS + 1} cells")


def test_line_too_long_refused_before_csv_splits_it(tmp_path):
    path = tmp_path / "commas.csv"
    path.write_text(_csv(SITES_ROWS) + "," * MAX_LINE_CHARS + "\n")
    refused(path, "row 4", "line 4", f"at most {MAX_LINE_CHARS:,} characters")


# --- sizes of files ------------------------------------------------------------------------

def _sparse(path: Path, size: int) -> Path:
    with path.open("wb") as f:
        f.truncate(size)  # no disk used, and no byte of it may be read
    return path


@pytest.mark.parametrize(("name", "limit"), [("sites.csv", MAX_FILE_BYTES), ("sites.xlsx", MAX_FILE_BYTES),
                                             ("scenario.yaml", MAX_YAML_BYTES)])
def test_file_over_the_size_limit_refused_unopened(tmp_path, monkeypatch, name, limit):
    path = _sparse(tmp_path / name, limit + 1)

    def never(*_args, **_kwargs):
        raise AssertionError("the file was opened")
    monkeypatch.setattr(Path, "open", never)
    monkeypatch.setattr(Path, "read_bytes", never)
    with pytest.raises(InputError) as caught:
        read_yaml_mapping(path) if name.endswith(".yaml") else read_table(path)
    assert f"at most {limit // 1_000_000} MB" in str(caught.value) and name in str(caught.value)


def test_files_just_under_the_yaml_limit_are_read(tmp_path):
    path = tmp_path / "big.yaml"
    comment = "# " + "x" * 98 + "\n"
    path.write_text(comment * ((MAX_YAML_BYTES - 20) // len(comment)) + "name: big\n")
    assert read_yaml_mapping(path) == {"name": "big"}


# --- workbooks: the zip directory ------------------------------------------------------------

def _workbook(path: Path, rows, extra_parts: dict[str, bytes] | None = None) -> Path:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    wb.save(path)
    if extra_parts:
        with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z:
            for name, body in extra_parts.items():
                z.writestr(name, body)
    return path


def test_part_compressed_beyond_the_ratio_refused(tmp_path):
    path = _workbook(tmp_path / "sites.xlsx", SITES_ROWS, {"customXml/item1.xml": b" " * 2_000_000})
    refused(path, "part customXml/item1.xml", f"at most {MAX_XLSX_RATIO}:1", "zip bomb")


def _forge_sizes(path: Path, declared: int) -> None:
    """Make every 'pad' part's central-directory entry declare ``declared`` bytes unzipped."""
    data = bytearray(path.read_bytes())
    for found in re.finditer(rb"PK\x01\x02", bytes(data)):
        at = found.start()
        name_length = int.from_bytes(data[at + 28:at + 30], "little")
        if data[at + 46:at + 46 + name_length].startswith(b"pad"):
            data[at + 24:at + 28] = declared.to_bytes(4, "little")
    path.write_bytes(bytes(data))


def test_parts_declaring_too_much_in_all_refused_from_the_directory(tmp_path):
    parts = {f"pad{i}.bin": os.urandom(300_000) for i in range(3)}
    path = _workbook(tmp_path / "sites.xlsx", SITES_ROWS, parts)
    _forge_sizes(path, 19_000_000)  # each under the part limit and the ratio; 57 MB in all
    refused(path, f"at most {MAX_XLSX_UNZIPPED_BYTES // 1_000_000} MB once unzipped", "57")


def test_too_many_parts_refused(tmp_path):
    parts = {f"customXml/item{i}.xml": b"<a/>" for i in range(MAX_XLSX_PARTS)}
    refused(_workbook(tmp_path / "sites.xlsx", SITES_ROWS, parts), f"at most {MAX_XLSX_PARTS:,} parts")


# --- workbooks: the sheet ------------------------------------------------------------------

def _ok_with(tmp_path: Path, patch) -> Path:
    return _rezip(BAD / "sites_ok.xlsx", tmp_path / "sites.xlsx", patch)


FAR_CELL = b'<c r="DQ2" t="inlineStr"><is><t>x</t></is></c>'  # column 121


def _far_cell(body: bytes) -> bytes:
    return re.sub(rb"(<row r=\"2\"[^>]*>.*?)(</row>)", rb"\1" + FAR_CELL + rb"\2", body, count=1, flags=re.S)


def test_cell_beyond_the_column_limit_under_a_lying_dimension_refused(tmp_path):
    path = _ok_with(tmp_path, _far_cell)
    assert b'<dimension ref="A1:K3"' in zipfile.ZipFile(path).read(SHEET)
    refused(path, "cell DQ2", "column 121", f"at most {MAX_ROWS:,} rows below its header row and "
                                           f"{MAX_COLUMNS} columns")


def test_workbook_rows_up_to_the_limit_read_and_one_more_is_refused(tmp_path):
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Sites")
    ws.append(["id"])
    for i in range(MAX_ROWS):
        ws.append([f"S{i}"])
    wb.save(tmp_path / "sites.xlsx")
    assert len(read_table(tmp_path / "sites.xlsx").rows) == MAX_ROWS
    rows = [HEADER] + [[f"S{i}", "School", "elementary", 400] for i in range(MAX_ROWS + 1)]
    refused(_workbook(tmp_path / "more.xlsx", rows), "sheet 'Sheet'", f"row {MAX_ROWS + 2:,}")


def test_rows_out_of_order_refused(tmp_path):
    path = _ok_with(tmp_path, lambda body: body.replace(b'<row r="3"', b'<row r="1"'))
    refused(path, "rows out of order", "readable .xlsx")


@pytest.mark.parametrize("dimension", [b'<dimension ref="A1"/>', b""])
def test_wrong_or_missing_dimension_still_reads_every_cell(tmp_path, dimension):
    path = _ok_with(tmp_path, lambda body: re.sub(rb"<dimension[^>]*/>", dimension, body))
    assert read_table(path).rows == read_table(BAD / "sites_ok.xlsx").rows


def test_shared_formula_without_result_shown_as_openpyxl_translates_it(tmp_path):
    def patch(body):
        body = re.sub(rb'<c r="H2"[^>]*>.*?</c>', b'<c r="H2"><f t="shared" ref="H2:H3" si="0">G2*3</f></c>',
                      body, flags=re.S)
        return re.sub(rb'<c r="H3"[^>]*>.*?</c>', b'<c r="H3"><f t="shared" si="0"/></c>', body, flags=re.S)
    refused(_ok_with(tmp_path, patch), "cell H2: got '=G2*3'", "cell H3: got '=G3*3'", "saved result")


def test_many_merged_ranges_listed_up_to_a_count(tmp_path):
    def fill(ws):
        for i in range(25):
            ws.merge_cells(f"A{2 * i + 1}:B{2 * i + 1}")
    wb = openpyxl.Workbook()
    wb.active.append(HEADER)
    fill(wb.active)
    wb.save(tmp_path / "merged.xlsx")
    error = refused(tmp_path / "merged.xlsx", "cells A1:B1", "5 more merged ranges")
    assert len(error.problems) == readers.MAX_LISTED + 1


def _open_files() -> set[str]:
    return {os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
            if os.path.exists(f"/proc/self/fd/{fd}")}


#: Workbooks read, refused by a limit (declared or found while scanning), merged, damaged.
CLOSED_CASES = {"sites_ok.xlsx": None, "sites_merged.xlsx": None, "sites_truncated.xlsx": None,
                "declares A1:K20000": lambda body: body.replace(b'<dimension ref="A1:K3"', b'<dimension ref="A1:K20000"'),
                "a cell in column 101": _far_cell}


@pytest.mark.parametrize("name", list(CLOSED_CASES))
def test_workbook_closed_after_reading(name, tmp_path):
    patch = CLOSED_CASES[name]
    path = BAD / name if patch is None else _ok_with(tmp_path, patch)
    before = _open_files()
    try:
        read_table(path)
    except InputError:
        assert name != "sites_ok.xlsx"
    assert not {f for f in _open_files() - before if f.endswith(".xlsx")}


# --- real inputs stay well inside the limits -----------------------------------------------

def test_limits_are_well_above_the_real_inputs():
    measures = read_table(CATALOG_DIR / "measures.csv")
    assert MAX_COLUMNS >= 3 * len(measures.header) and MAX_ROWS >= 10 * len(measures.rows)
    assert MAX_ROWS >= 3 * MAX_SITES  # the scenario's own limit on schools refuses first
    # the audit trail is for people and tests; the tool never reads it
    shipped = [p for p in (*CATALOG_DIR.rglob("*"), *SCENARIOS_DIR.rglob("*")) if p.is_file() and p.name != "audit.csv"]
    assert max(p.stat().st_size for p in shipped if p.suffix == ".yaml") * 10 < MAX_YAML_BYTES
    assert max(p.stat().st_size for p in shipped if p.suffix == ".csv") * 50 < MAX_FILE_BYTES


def test_sites_workbook_of_the_scenario_limit_reads(tmp_path):
    """MAX_SITES schools from the urban example's rows, as .xlsx and .csv, load whole."""
    with (SCENARIOS_DIR / "urban_sites.csv").open(newline="") as f:
        header, *rows = list(csv.reader(f))
    table = [header] + [[f"S-{i}", *rows[i % len(rows)][1:]] for i in range(MAX_SITES)]
    book = _workbook(tmp_path / "sites.xlsx", [[int(c) if c.isdigit() else c for c in row] for row in table])
    (tmp_path / "sites.csv").write_text(_csv(table))
    for name in ("sites.xlsx", "sites.csv"):
        scenario = tmp_path / f"{name}.yaml"
        scenario.write_text(yaml.safe_dump({"name": "Big", "horizon": {"start": 2027, "years": 1},
                                            "sites_file": name, "budget": {"capital": 0, "operating": 0}}))
        start = time.monotonic()
        sites = load_inputs(scenario).scenario.sites
        assert len(sites) == MAX_SITES and sites[-1].id == f"S-{MAX_SITES - 1}", name
        assert time.monotonic() - start < 30, name
    assert book.stat().st_size < MAX_FILE_BYTES / 10
