"""Export page: the plan as an Excel workbook, CSV or JSON, and a self-contained HTML report
for a school board."""
from __future__ import annotations

import re

import streamlit as st

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
st.caption("One HTML page with the headline numbers, the charts, the plan, funding by source, and "
           "the assumptions and sources. It opens in any browser, offline.")
st.download_button("Download the HTML report", report, file_name=f"{stem}-report.html", mime="text/html",
                   icon=":material/description:", type="primary")
st.subheader("Plan files")
for suffix, words, what, mime in FILES:
    button, text = st.columns([1, 3], vertical_alignment="center")
    button.download_button(f"Download {words}", files[suffix], file_name=f"{stem}-plan{suffix}", mime=mime,
                           icon=":material/download:", width="stretch")
    text.caption(what)
