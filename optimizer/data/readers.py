"""Reading raw files: text with a clear word on encoding, YAML with a safe loader only, and
tables from CSV or Excel as rows of strings that keep their spreadsheet row numbers.

Excel sheets read as the CSV reader gives them: whole numbers without a trailing ``.0``,
formulas as the result Excel saved with them, merged cells refused (only the first cell of
a merged range holds a value, so the others would read as empty).

Whatever is wrong with a file (binary content, a damaged workbook, a YAML alias bomb, a
header given twice), the reader raises :class:`~optimizer.errors.InputError` naming it.

Every file is held to the limits below before its content is read, so a small hostile file
(a zip bomb, a sheet whose one cell sits at XFD1048576, a table of a million rows) is
refused in well under a second and a few megabytes instead of filling the memory: the size
of the file; for a workbook the sizes its zip directory declares for its parts once
unzipped (Python's zipfile never inflates a part beyond its declared size) and the used range
the sheet declares; then, while the sheet is streamed once, the cells it really holds. The
sheet is read with openpyxl's read-only mode, cell by cell, only over the range its cells
use, and never beyond :data:`MAX_ROWS` and :data:`MAX_COLUMNS`.
"""
from __future__ import annotations

import codecs
import csv
import os
import re
import warnings
import xml.parsers.expat
import zipfile
from dataclasses import dataclass, field as dataclass_field
from pathlib import Path

import yaml

from optimizer.errors import InputError, InputProblem, ProblemCollector, short
from optimizer.paths import CATALOG_DIR

#: Largest CSV or Excel file read, in bytes (20 MB). The largest real tables are far smaller:
#: the catalog's measures.csv (173 rows, 40 columns, each price's sources in words) is 230 KB,
#: a sites file of 120 schools 48 KB, so a district of 10,000 schools (:data:`MAX_ROWS`) fits
#: in about 4 MB.
MAX_FILE_BYTES = 20_000_000

#: Largest YAML file read, in bytes (2 MB): 20 times the largest real one (the catalog's
#: funding_programs.yaml, 104 KB); a scenario listing inline as many schools as a scenario may
#: hold (3,000) takes 0.9 to 1.5 MB.
#: Lower than :data:`MAX_FILE_BYTES` because PyYAML is slow: about 10 s and 400 MB for a
#: megabyte of short values, had :data:`MAX_YAML_VALUES` not stopped it at 200,000 of them.
MAX_YAML_BYTES = 2_000_000

#: Most data rows below the header row of a table (a blank row counts: the table must end by
#: spreadsheet row 10,001). The largest benchmark district has 1,000 schools, and a scenario
#: refuses more than 3,000 (optimizer.data.scenario.MAX_SITES) once its sites file is read.
MAX_ROWS = 10_000

#: Most columns of a table; the catalog's measures.csv, the widest real table, has 34.
MAX_COLUMNS = 120

#: Longest line of a CSV file, in characters: a line holds at most :data:`MAX_COLUMNS` cells
#: of a few hundred characters (a cell alone may hold up to csv's field size limit, 131,072).
MAX_LINE_CHARS = 1_000_000

#: Most bytes all parts of a workbook may declare once unzipped (50 MB); a workbook of
#: 10,000 schools unzips to about 5 MB.
MAX_XLSX_UNZIPPED_BYTES = 50_000_000

#: Most bytes one part of a workbook (a sheet, the shared strings) may declare once unzipped.
MAX_XLSX_PART_BYTES = 20_000_000

#: Highest compression ratio (unzipped : zipped) of a workbook part larger than
#: :data:`XLSX_RATIO_FLOOR`. Spreadsheet XML compresses 5 to 30 times; a zip bomb over 1,000.
MAX_XLSX_RATIO = 100

#: Parts smaller than this (1 MB once unzipped) may compress as well as they like.
XLSX_RATIO_FLOOR = 1_000_000

#: Most parts (files inside the zip) of a workbook; Excel writes 10 to 30.
MAX_XLSX_PARTS = 1_000

#: Most merged ranges and formulas without a saved result listed one by one in an error.
MAX_LISTED = 20

#: Most values (scalars, lists, mappings) a YAML file may hold once its aliases are expanded;
#: the built-in scenarios hold a few thousand. A "billion laughs" file expands to far more.
#: The loader counts them as it composes the file too, so a file of many short values is
#: refused before PyYAML has built them all (in about 4 s and 120 MB).
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


def _mb(size: int) -> str:
    """A size for a message: 20 MB, 268.4 MB, 260 KB."""
    if size < 1_000_000:
        return f"{size / 1_000:,.0f} KB"
    return f"{size / 1_000_000:,.1f}".removesuffix(".0") + " MB"


def _check_file_size(path: Path, limit: int) -> None:
    """Refuse a missing file, or one larger than ``limit`` bytes, before opening it."""
    if not path.is_file():
        raise _fail(path, "an existing file; check the path")
    size = path.stat().st_size
    if size > limit:
        raise _too_big(path, limit, size)


def _read_bytes(path: Path, limit: int) -> bytes:
    """The bytes of an existing file of at most ``limit`` bytes, refusing a larger one before
    opening it (and reading at most ``limit + 1`` bytes, should it grow meanwhile)."""
    _check_file_size(path, limit)
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise _too_big(path, limit, max(path.stat().st_size, len(data)))
    return data


def _too_big(path: Path, limit: int, size: int) -> InputError:
    return _fail(path, f"a file of at most {_mb(limit)} (the largest real inputs are a few hundred "
                 f"KB); this one has {_mb(size)}: check it is the right file, or remove what is not "
                 "part of the table or scenario", f"{size:,} bytes")


def read_text(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    """Read a text file: UTF-8 (a byte-order mark is accepted) or UTF-16 with its byte-order
    mark, refusing empty and binary files and files larger than ``limit`` bytes.

    Raises
    ------
    InputError
        When the file is missing, too large, binary, not UTF-8 or empty.
    """
    text = _decode(path, _read_bytes(path, limit))
    if not text.strip():
        raise _fail(path, "a file with content; this one is empty")
    return text


class _Refused(yaml.constructor.ConstructorError):
    """A construct the loader refuses on purpose; its problem text says what is expected."""


class _Checked:
    """What both YAML loaders refuse, with a clear word: a key given twice in one mapping, and
    Python tags (only plain data can come out)."""

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


class _SafeLoader(_Checked, yaml.SafeLoader):
    """PyYAML's safe loader (plain data only), with the refusals of :class:`_Checked`. It stops
    composing after :data:`MAX_YAML_VALUES` values, before building them (PyYAML's nodes take
    about a kilobyte each)."""

    def __init__(self, stream):
        super().__init__(stream)
        self._composed = 0

    def compose_node(self, parent, index):
        self._composed += 1
        if self._composed > MAX_YAML_VALUES:
            raise _Refused(None, None, f"at most {MAX_YAML_VALUES:,} values (scalars, lists and "
                           "mappings); this file holds more: check it is a scenario or catalog file",
                           self.peek_event().start_mark)
        return super().compose_node(parent, index)


if yaml.__with_libyaml__:
    class _ShippedLoader(_Checked, yaml.CSafeLoader):
        """For the catalog that comes with the tool, read at every start: libyaml's parser, about
        ten times faster; its files are reviewed, so the guard on composing a huge file is not
        needed."""
else:
    _ShippedLoader = _SafeLoader


def _refuse_python(loader, suffix, node):
    raise _Refused(
        None, None, f"plain YAML data; the tag !!python/{suffix} is refused (data files may not "
        "create Python objects)", node.start_mark)


for _loader in {_SafeLoader, _ShippedLoader}:
    _loader.add_multi_constructor("tag:yaml.org,2002:python/", _refuse_python)


def _parse_yaml(path: Path, text: str):
    loader = (_ShippedLoader if _shipped(path) else _SafeLoader)(text)
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


def _shipped(path: Path) -> bool:
    """True for a file of the catalog that comes with the tool."""
    return Path(path).resolve().is_relative_to(CATALOG_DIR.resolve())


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
    data = _parse_yaml(path, read_text(path, MAX_YAML_BYTES))
    _check_size(path, data)
    if not isinstance(data, dict):
        raise _fail(path, "a YAML mapping of keys to values at the top level",
                    type(data).__name__)
    return data


def read_table(path: Path, sheet: str | int = 0) -> Table:
    """Read a CSV (UTF-8) or Excel (.xlsx) table as strings, one dict per data row.

    Blank rows are skipped; cells are stripped; a missing cell reads as ``""``. CSV lines may
    end in CR LF, LF or CR alone (old Mac files).

    Raises
    ------
    InputError
        For an unreadable file, a header with an empty or repeated name, a row with more
        cells than the header, or a file beyond the limits (:data:`MAX_FILE_BYTES`,
        :data:`MAX_ROWS`, :data:`MAX_COLUMNS`, a cell longer than csv's field size limit).
    """
    lines = read_sheet(path, sheet) if path.suffix.lower() in EXCEL_SUFFIXES else _read_csv(path)
    return _table(path, lines)


#: A line with its ending (CR LF, LF or CR alone: universal newlines), or a last line without.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")

_WIDER = "delete the columns to the right of the table, or save the table on its own"
_LONGER = "delete the rows below the table (in Excel: select them, then Delete), or split the file"


def _csv_lines(path: Path, text: str, records: list):
    """The lines of ``text`` for csv.reader, refusing one longer than MAX_LINE_CHARS before csv
    splits it into cells (``records`` is the list being filled, for the row number)."""
    for number, match in enumerate(_LINE.finditer(text), start=1):
        line = match.group()
        if len(line) > MAX_LINE_CHARS:
            raise _fail(path, f"lines of at most {MAX_LINE_CHARS:,} characters; line {number} has "
                        f"{len(line):,}: is this a table? If it is, {_WIDER}", where=f"row {len(records) + 1}")
        yield line


def _read_csv(path: Path) -> list[list[str]]:
    records: list[list[str]] = []
    reader = csv.reader(_csv_lines(path, read_text(path), records), strict=True)
    try:
        for cells in reader:
            if len(records) > MAX_ROWS:
                raise _fail(path, f"a table of at most {MAX_ROWS:,} rows below its header row; this "
                            f"file has more: {_LONGER}", where=f"row {len(records) + 1}")
            if len(cells) > MAX_COLUMNS:
                raise _fail(path, f"a table of at most {MAX_COLUMNS} columns; this row has "
                            f"{len(cells):,} cells: {_WIDER}", where=f"row {len(records) + 1}")
            records.append(cells)
    except csv.Error as exc:
        where = f"row {len(records) + 1}"
        if str(exc).startswith("field larger than field limit"):
            limit = csv.field_size_limit()
            raise _fail(path, f"cells of at most {limit:,} characters; a cell of this row is longer: "
                        "shorten it (or, if it should be short, close the quote opened in this row)",
                        f"line {reader.line_num}", where) from None
        raise _fail(path, "well-formed CSV: close every quote and put a comma after a quoted "
                    "cell (is the file cut short?)", str(exc), f"line {reader.line_num}") from None
    return records


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


_RESAVE = "a readable .xlsx workbook; open it in Excel and save it again"


def _damaged(path: Path, exc: BaseException) -> InputError:
    reason = (str(exc).splitlines() or [type(exc).__name__])[0]
    return _fail(path, _RESAVE, reason or type(exc).__name__)


def _check_parts(path: Path, archive: zipfile.ZipFile) -> None:
    """Refuse a workbook whose parts declare more than the limits once unzipped, from the
    zip's central directory alone (nothing is inflated)."""
    parts = archive.infolist()
    if len(parts) > MAX_XLSX_PARTS:
        raise _fail(path, f"a workbook of at most {MAX_XLSX_PARTS:,} parts (Excel writes a few dozen); "
                    f"this zip holds {len(parts):,} files: save the sheet as a new workbook or as CSV",
                    len(parts))
    total = 0
    for part in parts:
        size, packed = part.file_size, max(part.compress_size, 1)
        total += size
        ratio = f"{size // packed:,}:1"
        bomb = ", a zip bomb?" if size > MAX_XLSX_RATIO * packed else ""
        if size > MAX_XLSX_PART_BYTES:
            raise _fail(path, f"workbook parts of at most {_mb(MAX_XLSX_PART_BYTES)} once unzipped; this "
                        f"part unzips to {_mb(size)} from {_mb(packed)} ({ratio}{bomb}): save the sheet "
                        "as a new workbook, or as CSV", _mb(size), f"part {part.filename}")
        if size > XLSX_RATIO_FLOOR and size > MAX_XLSX_RATIO * packed:
            raise _fail(path, f"workbook parts that compress at most {MAX_XLSX_RATIO}:1 (spreadsheets "
                        f"compress about 10:1); this part unzips to {_mb(size)} from {_mb(packed)} "
                        f"({ratio}, a zip bomb?): save the sheet as a new workbook, or as CSV",
                        ratio, f"part {part.filename}")
    if total > MAX_XLSX_UNZIPPED_BYTES:
        raise _fail(path, f"a workbook of at most {_mb(MAX_XLSX_UNZIPPED_BYTES)} once unzipped; this one "
                    f"unzips to {_mb(total)}: save the sheet as a new workbook, or as CSV", _mb(total))


def _load(path: Path, handle):
    """The workbook in read-only mode with the results Excel saved for its formulas."""
    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about features it does not read
            return openpyxl.load_workbook(handle, read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for damaged files
        raise _damaged(path, exc) from None


def _sheet(path: Path, book, sheet: str | int):
    names = book.sheetnames
    if isinstance(sheet, int) and not isinstance(sheet, bool) and 0 <= sheet < len(names):
        chosen = book[names[sheet]]
    elif isinstance(sheet, str) and sheet in names:
        chosen = book[sheet]
    else:
        raise _fail(path, f"a sheet of the workbook, by name or by position from 0: {', '.join(names)}",
                    sheet, field="sheet")
    if not hasattr(chosen, "iter_rows"):
        raise _fail(path, "a sheet of cells; this one is a chart sheet: name the sheet that holds the "
                    "table", chosen.title, field="sheet")
    return chosen


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _letters(column: int) -> str:
    """Spreadsheet column letters: 1 is A, 27 is AA, 16,384 is XFD."""
    letters = ""
    while column > 0:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _column(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


def _range(min_col: int, min_row: int, max_col: int, max_row: int) -> str:
    return f"{_letters(min_col)}{min_row}:{_letters(max_col)}{max_row}"


_LIMITS = (f"a table of at most {MAX_ROWS:,} rows below its header row and {MAX_COLUMNS} columns "
           "(the limits of this tool)")
_AROUND = ("delete the rows and columns around the table (in Excel: select them, then Delete), or "
           "copy the table into a new workbook")


def _check_declared(path: Path, ws) -> None:
    """Refuse a sheet whose declared used range (its <dimension>) passes the limits, before
    its cells are read."""
    if ws.max_row is None or ws.max_column is None:
        return  # no <dimension>: the cells themselves are checked while the sheet is scanned
    if ws.max_row > MAX_ROWS + 1 or ws.max_column > MAX_COLUMNS:
        used = _range(ws.min_column, ws.min_row, ws.max_column, ws.max_row)
        raise _fail(path, f"{_LIMITS}; this sheet says its cells reach row {ws.max_row:,} and column "
                    f"{ws.max_column:,} ({_letters(ws.max_column)}): {_AROUND}", used, f"sheet '{ws.title}'")


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main "
_CELL_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]+)")


@dataclass
class _Scan:
    """What one streaming pass over a sheet's XML found: the range its cells use, its merged
    ranges and its formulas without a saved result, each list capped at MAX_LISTED."""

    path: Path
    title: str
    rows: int = 0  # last row holding a cell
    columns: int = 0  # last column holding a cell
    merged: list[str] = dataclass_field(default_factory=list)
    merged_count: int = 0
    unsaved: list[tuple[str, str]] = dataclass_field(default_factory=list)
    unsaved_count: int = 0
    _row: int = 0
    _cells_in_row: int = 0
    _col: int = 0
    _cell: dict | None = None
    _chars: list[str] | None = None
    _shared: dict = dataclass_field(default_factory=dict)

    def _refuse(self, expected: str, value: object = "", where: str = "") -> None:
        raise _fail(self.path, expected, value, where)  # expat stops and passes it on

    def doctype(self, *_args) -> None:
        self._refuse(_RESAVE, "a DTD in the sheet's XML")  # spreadsheet XML never has one

    def _beyond(self, coordinate: str, what: str) -> None:
        self._refuse(f"{_LIMITS}; this sheet has {what}: {_AROUND}",
                     where=f"sheet '{self.title}', cell {coordinate}")

    def start(self, name: str, attrs: dict) -> None:
        if not name.startswith(_MAIN):
            return
        tag = name[len(_MAIN):]
        if tag == "row":
            self._start_row(attrs.get("r"))
        elif tag == "c":
            self._start_cell(attrs)
        elif self._cell is not None and tag in ("f", "v", "is"):
            self._cell[tag] = dict(attrs)
            self._chars = [] if tag in ("f", "v") else None
        elif tag == "mergeCell":
            self.merged_count += 1
            if len(self.merged) < MAX_LISTED:
                self.merged.append(attrs.get("ref", ""))

    def _start_row(self, number: str | None) -> None:
        if number is None:
            row = self._row + 1
        else:
            try:
                row = int(number)
            except ValueError:  # openpyxl accepts 5.0 as well
                try:
                    row = int(float(number)) if float(number).is_integer() else -1
                except (ValueError, OverflowError):
                    row = -1
            if row < 1:
                self._refuse(_RESAVE, f"row number {short(number)}")
            if row <= self._row:  # openpyxl's read-only mode would drop such a row
                self._refuse(_RESAVE, f"row {row} after row {self._row}: rows out of order")
        self._row, self._col, self._cells_in_row = row, 0, 0

    def _start_cell(self, attrs: dict) -> None:
        reference = attrs.get("r")
        if reference is None:
            self._col += 1
        else:
            match = _CELL_REF.fullmatch(reference)
            if match is None:
                self._refuse(_RESAVE, f"cell reference {short(reference)}")
            self._col = _column(match[1])
        self._cells_in_row += 1
        coordinate = f"{_letters(self._col)}{self._row}"
        if self._row > MAX_ROWS + 1:
            self._beyond(coordinate, f"a cell in row {self._row:,}")
        if self._col > MAX_COLUMNS:
            self._beyond(coordinate, f"a cell in column {self._col:,} ({_letters(self._col)})")
        if self._cells_in_row > MAX_COLUMNS:
            self._beyond(coordinate, f"{self._cells_in_row:,} cells in row {self._row:,}")
        self.rows, self.columns = max(self.rows, self._row), max(self.columns, self._col)
        self._cell = {"coordinate": coordinate, "t": attrs.get("t", "n")}

    def text(self, data: str) -> None:
        if self._chars is not None:
            self._chars.append(data)

    def end(self, name: str) -> None:
        if self._cell is None or not name.startswith(_MAIN):
            return
        tag = name[len(_MAIN):]
        if tag in ("f", "v") and tag in self._cell and self._chars is not None:
            self._cell[tag]["text"] = "".join(self._chars)
            self._chars = None
        elif tag == "c":
            self._end_cell(self._cell)
            self._cell = None

    def _end_cell(self, cell: dict) -> None:
        """Note a formula without a saved result (openpyxl's data_only mode would read None)."""
        if "f" not in cell:
            return
        saved = "is" in cell if cell["t"] == "inlineStr" else bool(cell.get("v", {}).get("text"))
        formula = cell["f"]
        text = "=" + formula.get("text", "")
        if formula.get("t") == "shared":  # the text is given once, in the first cell (as openpyxl)
            from openpyxl.formula.translate import Translator

            known = self._shared.get(formula.get("si"))
            try:
                if known is not None:
                    text = known.translate_formula(cell["coordinate"])
                elif text != "=":
                    self._shared[formula.get("si")] = Translator(text, cell["coordinate"])
            except Exception:  # noqa: BLE001 - a formula openpyxl cannot parse: show it as written
                pass
        if not saved:
            self.unsaved_count += 1
            if len(self.unsaved) < MAX_LISTED:
                self.unsaved.append((cell["coordinate"], text))


def _scan(path: Path, archive: zipfile.ZipFile, ws) -> _Scan:
    """Stream the sheet's XML once with expat (constant memory), checking every cell against
    the limits and noting merged ranges and formulas without a saved result."""
    scan = _Scan(path, ws.title)
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.StartElementHandler = scan.start
    parser.EndElementHandler = scan.end
    parser.CharacterDataHandler = scan.text
    parser.StartDoctypeDeclHandler = scan.doctype
    try:
        with archive.open(ws._worksheet_path) as source:  # noqa: SLF001 - openpyxl's part name
            while chunk := source.read(1 << 16):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except (xml.parsers.expat.ExpatError, zipfile.BadZipFile, KeyError, OSError, EOFError,
            ValueError, RuntimeError) as exc:
        raise _damaged(path, exc) from None
    return scan


def _problems(path: Path, scan: _Scan) -> ProblemCollector:
    problems = ProblemCollector(path)
    for merged in sorted(scan.merged, key=str):
        problems.add(f"cells {merged}", "", "", "cells that are not merged; unmerge them and fill in "
                     "every cell")
    if scan.merged_count > len(scan.merged):
        problems.add(f"sheet '{scan.title}'", "", "", f"cells that are not merged; "
                     f"{scan.merged_count - len(scan.merged):,} more merged ranges are not listed")
    for coordinate, formula in scan.unsaved:
        problems.add(f"cell {coordinate}", "", formula, "a value or a formula with a saved result; "
                     "open and save the workbook in Excel, or paste values")
    if scan.unsaved_count > len(scan.unsaved):
        problems.add(f"sheet '{scan.title}'", "", "", "values or formulas with a saved result; "
                     f"{scan.unsaved_count - len(scan.unsaved):,} more formulas have none")
    return problems


def read_sheet(path: Path, sheet: str | int = 0) -> list[list[str]]:
    """Rows of one sheet as lists of text, from spreadsheet row 1 on.

    Before any cell is read: the file's size (:data:`MAX_FILE_BYTES`), the unzipped sizes its
    zip directory declares (:data:`MAX_XLSX_PART_BYTES`, :data:`MAX_XLSX_UNZIPPED_BYTES`,
    :data:`MAX_XLSX_RATIO`, :data:`MAX_XLSX_PARTS`) and the used range the sheet declares.
    Then one streaming pass over the sheet's XML checks every cell (a <dimension> may be
    missing or wrong) and finds merged cells and formulas without a saved result; last,
    openpyxl's read-only mode reads the cells of the range in use, and the workbook is closed.

    Parameters
    ----------
    path : Path
        An ``.xlsx`` workbook.
    sheet : str or int
        Sheet name, or position from 0.

    Raises
    ------
    InputError
        For a missing, damaged or too large workbook, an unknown sheet, cells beyond
        :data:`MAX_ROWS` or :data:`MAX_COLUMNS`, merged cells, or a formula without a saved
        result (a workbook written by a program, never opened in Excel).
    """
    _check_file_size(path, MAX_FILE_BYTES)
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > MAX_FILE_BYTES:  # it grew since
            raise _too_big(path, MAX_FILE_BYTES, size)
        try:
            archive = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise _damaged(path, exc) from None
        with archive:
            _check_parts(path, archive)
            book = _load(path, handle)
            try:
                return _read_cells(path, archive, book, sheet)
            finally:
                book.close()


def _read_cells(path: Path, archive: zipfile.ZipFile, book, sheet: str | int) -> list[list[str]]:
    ws = _sheet(path, book, sheet)
    _check_declared(path, ws)
    scan = _scan(path, archive, ws)
    _problems(path, scan).raise_if_any()
    if not scan.rows:
        return []
    try:
        return [[_text(cell.value) for cell in row]
                for row in ws.iter_rows(min_row=1, max_row=scan.rows, min_col=1, max_col=scan.columns)]
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for damaged sheets
        raise _damaged(path, exc) from None
