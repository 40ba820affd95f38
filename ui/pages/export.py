"""Export page: the plan as an Excel workbook, CSV or JSON, and the report for a school board as
HTML or PDF."""
from __future__ import annotations

import re

import streamlit as st

from optimizer.reports.pdf import PdfError
from ui import compute, state, views

FILES = [(".xlsx", "Excel workbook", ("summary, plan by site, funding, tiers, assumptions and a "
                                      "grant budget sheet per source"),
          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
         (".csv", "CSV", "one row per item with its capital split by source", "text/csv"),
         (".json", "JSON", "everything in the plan, for other tools", "application/json")]

st.title("Export")
result = views.current_plan()
if result is None:
    st.stop()
request = state.request()
stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", state.file_name().rsplit(".", 1)[0]).strip("-") or "plan"
lines = st.toggle("Include every plan line in the report (an appendix of many pages for a large district)",
                  value=len(result.plan.items) <= 200, key="export:lines")
with st.spinner("Writing the files...", show_time=True):
    report = compute.board_report(request, lines)
    files = {suffix: compute.plan_file(request, suffix) for suffix, *_ in FILES}
st.subheader("Report for the school board")
st.caption("Four to six pages a board reads, in this order: what we ask it to approve (costs by year, what the "
           "operating budget carries, the grants spent and when they expire), the projects and who pays, what the "
           "plan does (by threat and in PASS tiers), what is not spent and why; then appendices (every measure, "
           "funding by source, assumptions and sources). The HTML file opens in any browser, offline.")
html_button, pdf_button = st.columns(2)
html_button.download_button("Download the HTML report", report, file_name=f"{stem}-report.html", mime="text/html",
                            icon=":material/description:", type="primary", width="stretch")
if pdf_button.button("Print the report to PDF", icon=":material/picture_as_pdf:", width="stretch",
                     key="export:print"):
    st.session_state["export:pdf"] = (request, lines)
if st.session_state.get("export:pdf") == (request, lines):  # printed for this plan, as shown
    try:
        with st.spinner("Printing the report...", show_time=True):
            pdf = compute.board_pdf(request, lines)
    except PdfError as exc:
        st.error(str(exc))
    else:
        pdf_button.download_button("Download the PDF report", pdf, file_name=f"{stem}-report.pdf",
                                   mime="application/pdf", icon=":material/download:", width="stretch",
                                   key="export:pdf-download")
st.subheader("Plan files")
for suffix, words, what, mime in FILES:
    button, text = st.columns([1, 3], vertical_alignment="center")
    button.download_button(f"Download {words}", files[suffix], file_name=f"{stem}-plan{suffix}", mime=mime,
                           icon=":material/download:", width="stretch")
    text.caption(what)
