"""Write the files of the bad-input corpus that are not plain UTF-8 text: Excel workbooks
(merged cells, formulas with and without a saved result, empty sheets, damaged files, and
small files that would exhaust the memory of a careless reader: a zip bomb, a cell at
XFD1048576, a cell in row 1,048,576), text in the wrong encoding or no text at all, and CSV
files whose bytes matter (CR line endings, a cell longer than csv's limit, one row too many).

Run from anywhere: ``python tests/data/bad/make_xlsx.py``. The output is the same bytes on
every run (fixed timestamps inside the workbooks), so regenerating shows no diff.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
import zipfile
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent
FIXED_TIME = dt.datetime(2025, 1, 1)

SITE_HEADER = ["id", "name", "level", "enrollment", "staff", "exterior_doors", "entrances",
               "classrooms", "camera_positions", "risk_weight", "in_place"]
SITES = [["ES-1", "Oak Elementary", "elementary", 420, 35, 10, 1, 20, 18, 1.0, "bld-com-pa-system"],
         ["HS-1", "Ridge High", "high", 1500, 110, 24, 2, 60, 50, 1.2, None]]

MEASURES = """\
id,name,description,layer,pass6_layer,component,tier,tier_basis,scope,unit_basis,unit_ratio,capital_low,capital_typical,capital_high,annual_cost,useful_life,effectiveness,evidence,funding_categories,budget_category,prerequisites,alternative_group,discouraged,discouraged_reason,cost_source,cost_year,evidence_source,evidence_year,role
bld-lock,Café door lock,A test measure.,building,,access_control,1,stated,site,school,,100,200,300,10,10,0.5,expert_consensus,hardware,equipment,,,false,,test source (2024),2024,test evidence (2023),2023,delay
bld-reader,Card reader,A test measure.,building,,access_control,2,stated,site,exterior_door,,500,750,2000,10,10,0.5,expert_consensus,hardware,equipment,bld-lock,,false,,test source (2024),2024,test evidence (2023),2023,delay
dst-plan,District plan,A test measure.,district,,policies,1,stated,district,district,,100,200,300,10,10,0.5,expert_consensus,planning,contractual,,,false,,test source (2024),2024,test evidence (2023),2023,delay
"""

SCENARIO = """\
name: Café district
horizon: {start: 2027, years: 2}
sites:
  - {id: ES-1, name: École Élémentaire, level: elementary, enrollment: 420, staff: 35, exterior_doors: 10, entrances: 1, classrooms: 20, camera_positions: 18}
budget: {capital: 100000, operating: 20000}
"""


def _workbook_bytes(fill) -> bytes:
    """A workbook filled by ``fill(sheet)``, saved with fixed timestamps."""
    wb = openpyxl.Workbook()
    wb.properties.created = wb.properties.modified = FIXED_TIME
    fill(wb.active)
    buffer = io.BytesIO()
    wb.save(buffer)
    return _rezip(buffer.getvalue())


def _fixed_modified(name: str, body: bytes) -> bytes:
    """openpyxl stamps the save time into the document properties; fix it."""
    if name != "docProps/core.xml":
        return body
    return re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2025-01-01T00:00:00Z", body)


def _rezip(data: bytes, patch=None) -> bytes:
    """Copy a zip with fixed entry times and document dates; ``patch(name, bytes)`` may
    change an entry."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = _fixed_modified(info.filename, src.read(info.filename))
            if patch is not None:
                body = patch(info.filename, body)
            dst.writestr(zipfile.ZipInfo(info.filename, FIXED_TIME.timetuple()[:6]), body,
                         compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _table(header, rows):
    def fill(ws):
        ws.append(header)
        for row in rows:
            ws.append(row)
    return fill


def _merged(ws):
    _table(SITE_HEADER, SITES + [["MS-1", "Pine Middle", None, 600, 50, 12, 1, 30, 20, 1.0, None]])(ws)
    ws.merge_cells("C3:C4")  # "high" typed once for two schools


def _formula(ws):
    _table(SITE_HEADER, SITES)(ws)
    ws["H2"] = "=H3/3"  # classrooms of ES-1 computed from HS-1's


def _formula_saved(name: str, body: bytes) -> bytes:
    """Give the formula the result Excel would have saved with it (openpyxl cannot)."""
    if name != "xl/worksheets/sheet1.xml":
        return body
    return re.sub(rb"(<f>H3/3</f>)<v\s*/>", rb"\1<v>20</v>", body)


def _text_numbers(ws):
    _table(SITE_HEADER, [["ES-1", " Oak Elementary ", "elementary", " 1,500 ", "35", "10", "1", "20", "18",
                          " 1.5 ", "bld-com-pa-system ; bld-ac-visitor-id-badges"]])(ws)


def _date_cell(ws):
    _table(SITE_HEADER, SITES)(ws)
    ws["G2"] = dt.datetime(2025, 1, 5)  # "1-5" typed for entrances, turned into a date by Excel


def _error_cell(ws):
    _table(SITE_HEADER, SITES)(ws)
    ws["D2"] = "#DIV/0!"


#: The reader's limit on data rows (optimizer.data.readers.MAX_ROWS; tests check they agree).
MAX_ROWS = 10_000

#: How much blank space the zip bomb's sheet holds once unzipped: 256 MiB, zipped to about
#: 250 KB (a part may unzip to at most 20 MB; a whole workbook to 50 MB).
BOMB_BYTES = 256 * 2**20


def _dimension_bomb(ws):
    ws["XFD1048576"] = 1  # the sheet's only cell, in its last row and column


def _in_sheet(before: bytes, insert: bytes):
    """A patch putting ``insert`` into the sheet's XML just before ``before``."""
    def patch(name: str, body: bytes) -> bytes:
        if name != "xl/worksheets/sheet1.xml":
            return body
        assert body.count(before) == 1, before
        return body.replace(before, insert + before)
    return patch


def _zip_bomb(ok: bytes) -> bytes:
    """The clean workbook with 256 MiB of spaces between its rows: valid XML, one part of
    about 250 KB that unzips to 1,000 times its size (written in pieces, never held whole)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(ok)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            body = src.read(info.filename)
            if info.filename != "xl/worksheets/sheet1.xml":
                dst.writestr(entry, body)
                continue
            head, tail = body.split(b"</sheetData>")
            with dst.open(entry, "w") as part:
                part.write(head)
                blank = b" " * 2**20
                for _ in range(BOMB_BYTES // len(blank)):
                    part.write(blank)
                part.write(b"</sheetData>" + tail)
    return out.getvalue()


def _workbooks() -> dict[str, bytes]:
    ok = _workbook_bytes(_table(SITE_HEADER, SITES))
    far_row = b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    return {
        "sites_ok.xlsx": ok,
        "sites_merged.xlsx": _workbook_bytes(_merged),
        "sites_formula_saved.xlsx": _rezip(_workbook_bytes(_formula), _formula_saved),
        "sites_formula_unsaved.xlsx": _workbook_bytes(_formula),
        "sites_empty_sheet.xlsx": _workbook_bytes(lambda ws: None),
        "sites_header_only.xlsx": _workbook_bytes(_table(SITE_HEADER, [])),
        "sites_no_header.xlsx": _workbook_bytes(_table(SITES[0], SITES[1:])),
        "sites_duplicate_header.xlsx": _workbook_bytes(_table(SITE_HEADER + ["staff"], [r + [40] for r in SITES])),
        "sites_text_numbers.xlsx": _workbook_bytes(_text_numbers),
        "sites_date_cell.xlsx": _workbook_bytes(_date_cell),
        "sites_error_cell.xlsx": _workbook_bytes(_error_cell),
        "sites_truncated.xlsx": ok[: len(ok) // 2],
        "sites_csv_renamed.xlsx": (",".join(SITE_HEADER) + "\nES-1,Oak,elementary,1,1,1,1,1,1,1,\n").encode(),
        "measures_xlsx_renamed.csv": ok,
        "sites_dimension_bomb.xlsx": _workbook_bytes(_dimension_bomb),
        "sites_zip_bomb.xlsx": _zip_bomb(ok),
        # The sheet still says its cells end at K3 (<dimension ref="A1:K3"/>): it lies.
        "sites_million_rows.xlsx": _rezip(ok, _in_sheet(b"</sheetData>", far_row)),
    }


def _csv(rows, ending: str = "\n") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=ending).writerows(rows)
    return buffer.getvalue().encode()


def _tables() -> dict[str, bytes]:
    oversize = [*SITES[0][:-1], "bld-com-pa-system;" * 7_500]  # 135,000 characters in one cell
    return {
        "sites_cr_only.csv": _csv([SITE_HEADER, *SITES], "\r"),  # old Mac line endings
        "sites_oversize_cell.csv": _csv([SITE_HEADER, SITES[1], oversize]),
        "sites_too_many_rows.csv": _csv([SITE_HEADER] + [[f"S{i}"] for i in range(1, MAX_ROWS + 2)]),
    }


def _encodings() -> dict[str, bytes]:
    noise = random.Random(7)
    return {
        "measures_bom.csv": MEASURES.encode("utf-8-sig"),
        "measures_utf16.csv": MEASURES.encode("utf-16"),  # with its byte-order mark
        "measures_utf16_nobom.csv": MEASURES.encode("utf-16-le"),
        "measures_latin1.csv": MEASURES.encode("latin-1"),
        "scenario_latin1.yaml": SCENARIO.encode("latin-1"),
        "scenario_utf16.yaml": SCENARIO.encode("utf-16"),
        "scenario_pdf.yaml": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        "sites_binary.csv": bytes(noise.randrange(256) for _ in range(2048)),
        "sites_xls_renamed.csv": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
    }


def main() -> None:
    """Write every generated file next to this script."""
    for name, data in {**_workbooks(), **_encodings(), **_tables()}.items():
        (HERE / name).write_bytes(data)


if __name__ == "__main__":
    main()
