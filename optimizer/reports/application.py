"""An application package written for people: a Word document to adapt into the program's
narrative, and a workbook with the budget in the program's cost categories, the evidence and
the timeline (the same figures)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from optimizer.analyses.application import ApplicationPackage
from optimizer.core.result import money_words
from optimizer.reports.export import CENTS_FORMAT, write_sheet
from optimizer.safe_write import replacing

#: Money columns of the package's tables.
MONEY = {"grant", "local_match", "total"}


def facts(package: ApplicationPackage) -> list[tuple[str, str]]:
    """The application's key facts, as (label, value) pairs."""
    return [("District", package.district), ("Program", package.program_name),
            ("Award the plan was made with", money_words(package.amount)),
            ("Grant requested (what the plan spends of it)", money_words(package.requested)),
            ("Local match committed", money_words(package.match)),
            ("Application deadline", package.deadline)]


def _asks(package: ApplicationPackage) -> list[tuple[str, str]]:
    """What the application asks, or where to find it when the catalog does not say."""
    return package.asks or [("the program's current solicitation", "the catalog's sources do not say what the "
                                                                   "application asks; read the solicitation")]


def asks_sentences(package: ApplicationPackage) -> list[str]:
    """What the application asks, a sentence a part, as the document and the app show it."""
    return [f"{label[0].upper()}{label[1:]}: {words}." for label, words in _asks(package)]


def _total(frame: pd.DataFrame) -> pd.DataFrame:
    total = {c: frame[c].sum() if c in MONEY else "" for c in frame.columns}
    total[frame.columns[0]] = "total"
    return pd.concat([frame, pd.DataFrame([total])], ignore_index=True)


def write_docx(package: ApplicationPackage, path: Path) -> None:
    """The package as a Word document: key facts, statement of need, project description,
    budget, evidence and timeline."""
    from docx import Document

    doc = Document()
    doc.core_properties.title = f"{package.program_name}: application of {package.district}"
    doc.add_heading(f"{package.program_name}", level=0)
    doc.add_paragraph(f"Application materials for {package.district}, drafted from its security plan. Adapt them "
                      f"to the program's current solicitation before submitting.")
    table = doc.add_table(rows=0, cols=2)
    for label, value in facts(package):
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, value
    doc.add_heading("What the application asks", level=1)
    for sentence in asks_sentences(package):
        doc.add_paragraph(sentence, style="List Bullet")
    doc.add_heading("Statement of need", level=1)
    for sentence in package.need:
        doc.add_paragraph(sentence)
    doc.add_heading("Project description", level=1)
    for sentence in package.projects:
        doc.add_paragraph(sentence, style="List Bullet")
    for title, frame in (("Budget", _total(package.budget)), ("Evidence for each measure", package.evidence),
                         ("Timeline", package.timeline)):
        doc.add_heading(title, level=1)
        grid = doc.add_table(rows=1, cols=len(frame.columns))
        grid.style = "Table Grid"
        for cell, column in zip(grid.rows[0].cells, frame.columns):
            cell.text = str(column).replace("_", " ")
        for row in frame.itertuples(index=False):
            for cell, column, value in zip(grid.add_row().cells, frame.columns, row):
                cell.text = money_words(value) if column in MONEY and value != "" else str(value)
    doc.add_paragraph("Risk figures come from the tool's value model (modelled risk of serious harm, with the ranges "
                      "and assumptions its plan report gives); costs are the catalog's, in its dollar year.")
    doc.save(str(path))


def write_xlsx(package: ApplicationPackage, path: Path) -> None:
    """The package as a workbook: the application (facts, need, projects), the budget with its
    total, the evidence and the timeline."""
    text = pd.DataFrame([*facts(package), *((f"Asks: {label}", words) for label, words in _asks(package)),
                         *(("Statement of need", s) for s in package.need),
                         *(("Project", s) for s in package.projects)], columns=["part", "text"])
    sheets = {"Application": text, "Budget": _total(package.budget), "Evidence": package.evidence,
              "Timeline": package.timeline}
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for name, frame in sheets.items():
        write_sheet(book, name, frame, money=MONEY, dollar_format=CENTS_FORMAT)
    book.save(path)


def write_application(package: ApplicationPackage, path: Path | str) -> Path:
    """Write the package by the file's suffix, ``.docx`` or ``.xlsx``, replacing the file in one step."""
    path = Path(path)
    writers = {".docx": write_docx, ".xlsx": write_xlsx}
    if path.suffix.lower() not in writers:
        raise ValueError(f"unknown application file type {path.suffix!r}; use .docx or .xlsx")
    with replacing(path) as temp:
        writers[path.suffix.lower()](package, temp)
    return path
