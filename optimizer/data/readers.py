"""Reading raw files: text with a clear word on encoding, YAML with a safe loader only, and
tables from CSV or Excel as rows of strings that keep their spreadsheet row numbers.

Excel sheets read as the CSV reader gives them: whole numbers without a trailing ``.0``,
formulas as the result Excel saved with them, merged cells refused (only the first cell of
a merged range holds a value, so the others would read as empty).

Whatever is wrong with a file (binary content, a damaged workbook, a YAML alias bomb, a
header given twice), the reader raises :class:`~optimizer.errors.InputError` naming it."""
from __future__ import annotations

import codecs
import csv
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import yaml

from optimizer.errors import InputError, InputProblem, ProblemCollector, short

#: Most values (scalars, lists, mappings) a YAML file may hold once its aliases are expanded;
#: the built-in scenarios hold a few thousand. A "billion laughs" file expands to far more.
MAX_YAML_VALUES = 200_000

EXCEL_SUFFIXES = (".xlsx", ".xlsm")

#: Leading bytes of binary files people save under a text name, and what they are.
_SIGNATURES = {
    b"PK\x03\x04": "a zip archive (an .xlsx workbook with the wrong suffix?)",
    b"\xd0\xcf\x11\xe0": "an old Excel .xls workbook",
    b"%PDF": "a PDF document",
}

SAVE_AS_TEXT = "save it as CSV UTF-8 (or YAML) text, or give an .xlsx workbook the .xlsx suffix"


@dataclass(frozen=True)
class Table:
    """A table read from a file: header and rows of stripped strings.

    ``rows[i]`` sits on spreadsheet row ``numbers[i]`` (the header is row 1; blank rows are
    skipped but keep their place in the numbering).
    """

    file: Path
    header: list[str]
    rows: list[dict[str, str]]
    numbers: list[int]

    def row_label(self, index: int) -> str:
        """The spreadsheet row of data row ``index`` (0-based)."""
        return f"row {self.numbers[index]}"


def _fail(path: Path, expected: str, value: object = "", where: str = "", field: str = "") -> InputError:
    return InputError([InputProblem(str(path), where, field, short(value), expected)])


def _decode(path: Path, data: bytes) -> str:
    for signature, what in _SIGNATURES.items():
        if data.startswith(signature):
            raise _fail(path, f"a text file; this is {what}: {SAVE_AS_TEXT}")
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))  # unambiguous with its mark
    if not utf16 and b"\x00" in data:
        raise _fail(path, f"text without NUL bytes; this is a binary file or UTF-16 without a "
                    f"byte-order mark: {SAVE_AS_TEXT}", f"NUL at offset {data.index(0)}")
    try:
        return data.decode("utf-16" if utf16 else "utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _fail(path, "UTF-8 text (or UTF-16 with a byte-order mark); save the file as UTF-8 "
                    "(CSV UTF-8 in Excel)", f"byte 0x{data[exc.start]:02x} at offset {exc.start}") from None


def read_text(path: Path) -> str:
    """Read a text file: UTF-8 (a byte-order mark is accepted) or UTF-16 with its byte-order
    mark, refusing empty and binary files.

    Raises
    ------
    InputError
        When the file is missing, binary, not UTF-8 or empty.
    """
    if not path.is_file():
        raise _fail(path, "an existing file; check the path")
    text = _decode(path, path.read_bytes())
    if not text.strip():
        raise _fail(path, "a file with content; this one is empty")
    return text


class _Refused(yaml.constructor.ConstructorError):
    """A construct the loader refuses on purpose; its problem text says what is expected."""


class _SafeLoader(yaml.SafeLoader):
    """PyYAML's safe loader (plain data only), refusing a key given twice in one mapping
    and Python tags with a clear word. Only plain data can come out of it."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise _Refused(
                        None, None, f"each key once in a mapping; '{short(key_node.value)}' is given "
                        "twice", key_node.start_mark)
                seen.add(key_node.value)
        return super().construct_mapping(node, deep)


def _refuse_python(loader, suffix, node):
    raise _Refused(
        None, None, f"plain YAML data; the tag !!python/{suffix} is refused (data files may not "
        "create Python objects)", node.start_mark)


_SafeLoader.add_multi_constructor("tag:yaml.org,2002:python/", _refuse_python)


def _parse_yaml(path: Path, text: str):
    loader = _SafeLoader(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise _fail(path, problem if isinstance(exc, _Refused) else f"valid YAML ({problem})",
                    where=where) from None
    except RecursionError:
        raise _fail(path, "YAML nested less deeply; this file nests lists or mappings "
                    "hundreds of levels deep") from None
    except ValueError as exc:  # PyYAML's int() or date() on a value it matched but cannot build
        raise _fail(path, "values YAML can build: numbers of a sensible size, dates as "
                    "YYYY-MM-DD with a real month and day", short(exc)) from None
    finally:
        loader.dispose()


def _check_size(path: Path, data) -> None:
    """Refuse data that expands to more than MAX_YAML_VALUES values (an alias bomb, or an
    alias inside its own anchor), counting without expanding more than that."""
    stack, count = [data], 0
    while stack:
        item = stack.pop()
        count += 1
        if count > MAX_YAML_VALUES:
            raise _fail(path, f"at most {MAX_YAML_VALUES:,} values once &anchors and *aliases are "
                        "expanded; this file expands to more (an alias bomb, or an alias inside "
                        "its own anchor)")
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def read_yaml_mapping(path: Path) -> dict:
    """Read a YAML file whose top level is a mapping, with PyYAML's safe loader only.

    Raises
    ------
    InputError
        For text that is not YAML, Python tags, keys given twice, alias bombs, or a top
        level that is not a mapping.
    """
    data = _parse_yaml(path, read_text(path))
    _check_size(path, data)
    if not isinstance(data, dict):
        raise _fail(path, "a YAML mapping of keys to values at the top level",
                    type(data).__name__)
    return data


def read_table(path: Path, sheet: str | int = 0) -> Table:
    """Read a CSV (UTF-8) or Excel (.xlsx) table as strings, one dict per data row.

    Blank rows are skipped; cells are stripped; a missing cell reads as ``""``.

    Raises
    ------
    InputError
        For an unreadable file, a header with an empty or repeated name, or a row with
        more cells than the header.
    """
    lines = read_sheet(path, sheet) if path.suffix.lower() in EXCEL_SUFFIXES else _read_csv(path)
    return _table(path, lines)


def _read_csv(path: Path) -> list[list[str]]:
    reader = csv.reader(io.StringIO(read_text(path)), strict=True)
    try:
        return list(reader)
    except csv.Error as exc:
        raise _fail(path, "well-formed CSV: close every quote and put a comma after a quoted "
                    "cell (is the file cut short?)", str(exc), f"line {reader.line_num}") from None


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


def _header(path: Path, lines: list[list[str]], problems: ProblemCollector) -> list[str]:
    """The header row without trailing unnamed columns, each name checked."""
    header = [h.strip() for h in lines[0]] if lines else []
    while header and not header[-1]:
        header.pop()
    if not header:
        raise _fail(path, "a header row naming the columns in the first row", where="row 1")
    if len(header) == 1 and any(sep in header[0] for sep in ";\t"):
        raise _fail(path, "columns separated by commas; this file separates them with ';' or tabs "
                    "(in Excel, save as 'CSV UTF-8 (Comma delimited)')", header[0], "row 1")
    for i, name in enumerate(header):
        if not name:
            problems.add("header", f"column {i + 1}", "", "a column name; remove the column or name it")
        elif _is_number(name):
            problems.add("header", f"column {i + 1}", name, "a column name, not a number; the first "
                         "row must name the columns")
        elif name in header[:i]:
            problems.add("header", name, name, "each column once")
    return header


def _table(path: Path, lines: list[list[str]]) -> Table:
    problems = ProblemCollector(path)
    header = _header(path, lines, problems)
    rows, numbers = [], []
    for number, cells in enumerate(lines[1:], start=2):
        cells = [c.strip() for c in cells]
        extra = [c for c in cells[len(header):] if c]
        if extra:
            problems.add(f"row {number}", "", ", ".join(extra), f"at most {len(header)} cells, one per "
                         "header column; put cells that contain commas in quotes (\"$1,250\")")
        if any(cells):
            rows.append(dict(zip(header, cells + [""] * (len(header) - len(cells)))))
            numbers.append(number)
    problems.raise_if_any()
    return Table(path, header, rows, numbers)


def _load(path: Path, data_only: bool):
    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about features it does not read
            return openpyxl.load_workbook(path, data_only=data_only)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for damaged files
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise _fail(path, "a readable .xlsx workbook; open it in Excel and save it again", reason) from None


def _sheet(path: Path, book, sheet: str | int):
    names = book.sheetnames
    if isinstance(sheet, int) and not isinstance(sheet, bool) and 0 <= sheet < len(names):
        return book[names[sheet]]
    if isinstance(sheet, str) and sheet in names:
        return book[sheet]
    raise _fail(path, f"a sheet of the workbook, by name or by position from 0: {', '.join(names)}",
                sheet, field="sheet")


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def read_sheet(path: Path, sheet: str | int = 0) -> list[list[str]]:
    """Rows of one sheet as lists of text, from spreadsheet row 1 on.

    Parameters
    ----------
    path : Path
        An ``.xlsx`` workbook.
    sheet : str or int
        Sheet name, or position from 0.

    Raises
    ------
    InputError
        For a missing or damaged workbook, an unknown sheet, merged cells, or a formula
        without a saved result (a workbook written by a program, never opened in Excel).
    """
    if not path.is_file():
        raise _fail(path, "an existing file; check the path")
    cells = _sheet(path, _load(path, data_only=False), sheet)
    problems = ProblemCollector(path)
    for merged in sorted(cells.merged_cells.ranges, key=str):
        problems.add(f"cells {merged.coord}", "", "", "cells that are not merged; unmerge them and "
                     "fill in every cell")
    rows = [list(row) for row in cells.iter_rows()]
    formulas = [c for row in rows for c in row if c.data_type == "f"]
    saved = _sheet(path, _load(path, data_only=True), sheet) if formulas else None
    results = {}
    for cell in formulas:
        results[cell.coordinate] = saved[cell.coordinate].value
        if results[cell.coordinate] is None:
            problems.add(f"cell {cell.coordinate}", "", cell.value, "a value or a formula with a saved "
                         "result; open and save the workbook in Excel, or paste values")
    problems.raise_if_any()
    return [[_text(results.get(c.coordinate, c.value)) for c in row] for row in rows]
