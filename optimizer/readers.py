"""Reading raw files: text with a clear word on encoding, YAML with a safe loader, and
tables from CSV or Excel as rows of strings that keep their spreadsheet row numbers."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import InputError, InputProblem


@dataclass(frozen=True)
class Table:
    """A table read from a file: header and rows of stripped strings.

    ``rows[i]`` sits on spreadsheet row ``i + 2`` (the header is row 1).
    """

    file: Path
    header: list[str]
    rows: list[dict[str, str]]

    @staticmethod
    def row_label(index: int) -> str:
        """The spreadsheet row of data row ``index`` (0-based)."""
        return f"row {index + 2}"


def _fail(path: Path, expected: str, value: str = "") -> InputError:
    return InputError([InputProblem(str(path), "", "", value, expected)])


def read_text(path: Path) -> str:
    """Read a UTF-8 text file (a byte-order mark is accepted), refusing empty files.

    Raises
    ------
    InputError
        When the file is missing, not UTF-8 or empty.
    """
    if not path.is_file():
        raise _fail(path, "an existing file; check the path")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _fail(path, "UTF-8 text; save the file as UTF-8 (CSV UTF-8 in Excel)",
                    f"byte 0x{data[exc.start]:02x} at offset {exc.start}") from None
    if not text.strip():
        raise _fail(path, "a file with content; this one is empty")
    return text


def read_yaml_mapping(path: Path) -> dict:
    """Read a YAML file whose top level is a mapping, with PyYAML's safe loader only."""
    text = read_text(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError([InputProblem(str(path), where, "", "", f"valid YAML ({problem})")]) from None
    if not isinstance(data, dict):
        raise _fail(path, "a YAML mapping of keys to values at the top level",
                    type(data).__name__)
    return data


def read_table(path: Path, sheet: str | int = 0) -> Table:
    """Read a CSV (UTF-8) or Excel (.xlsx) table as strings, one dict per data row.

    Blank rows are skipped; cells are stripped; a missing cell reads as ``""``.
    """
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_excel(path, sheet)
    text = read_text(path)
    reader = csv.reader(io.StringIO(text))
    lines = list(reader)
    header = [h.strip() for h in lines[0]]
    rows = []
    for cells in lines[1:]:
        if not any(c.strip() for c in cells):
            continue
        cells = [c.strip() for c in cells] + [""] * (len(header) - len(cells))
        rows.append(dict(zip(header, cells)))
    return Table(path, header, rows)


def _read_excel(path: Path, sheet: str | int) -> Table:
    import pandas as pd

    if not path.is_file():
        raise _fail(path, "an existing file; check the path")
    try:
        frame = pd.read_excel(path, sheet_name=sheet, dtype=str, keep_default_na=False)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise _fail(path, f"a readable .xlsx workbook with sheet {sheet!r}", short_reason(exc)) from None
    if frame.empty and not len(frame.columns):
        raise _fail(path, "a sheet with a header row and data")
    header = [str(c).strip() for c in frame.columns]
    rows = [dict(zip(header, (str(v).strip() for v in rec))) for rec in frame.itertuples(index=False)]
    return Table(path, header, [r for r in rows if any(r.values())])


def short_reason(exc: Exception) -> str:
    """A one-line reason from a library exception."""
    return (str(exc).splitlines() or [type(exc).__name__])[0][:80]
