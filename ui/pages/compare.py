"""Compare page: plans pinned on the Plan page (A, B, C) side by side, with deltas
against A."""
from __future__ import annotations

import streamlit as st

from optimizer.analyses.compare import SUMMARY_WORDS
from optimizer.core.result import percent
from optimizer.reports import charts, fmt
from ui import compute, state, views

#: Headline rows of the comparison and how each is shown.
SUMMARY = {"risk_reduced": ("Modelled risk reduced", percent), "capital": ("Capital spend", fmt.money),
           "annual": ("Annual cost", fmt.money), "items": ("Items", lambda x: f"{x:,.0f}")}

st.title("Compare plans")
pins = state.pins()
if not pins:
    st.info("Pin plans on the Plan page (Pin as A, B or C), change the scenario or the budget "
            "in between, and compare them here.")
    st.page_link(views.PLAN_PAGE, label="Go to the Plan page", icon=":material/checklist:")
    st.stop()
labels = sorted(pins)
for label in labels:
    text, remove = st.columns([6, 1])
    text.markdown(f"**{label}**: {pins[label].title}")
    if remove.button("Remove", key=f"unpin:{label}", icon=":material/close:"):
        state.unpin(label)
        st.rerun()
if len(labels) < 2:
    st.info("Pin one more plan to compare.")
    st.stop()

with st.spinner("Comparing the pinned plans..."):
    found = compute.comparison(tuple(labels), tuple(pins[k].request for k in labels))
summary = found.summary
for row, (words, show) in SUMMARY.items():
    for column, label in zip(st.columns(len(labels)), labels):
        delta = None if label == labels[0] else summary.at[row, f"delta {label}"]
        column.metric(f"{words}, {label}", show(summary.at[row, label]),
                      delta=None if delta is None else ("-" if delta < 0 else "+") + show(abs(delta)))
st.subheader("Headline numbers")
st.dataframe(summary.rename(index=SUMMARY_WORDS), width="stretch",
             column_config={c: st.column_config.NumberColumn(format="localized") for c in summary.columns})
left, right = st.columns(2)
left.plotly_chart(charts.grouped_bars(found.spend_by_year, labels, "Capital spend by fiscal year"),
                  key="compare:years")
right.plotly_chart(charts.grouped_bars(found.spend_by_layer, labels, "Capital spend by layer"),
                   key="compare:layers")
st.plotly_chart(charts.grouped_bars(found.spend_by_source, labels, "Capital paid by source"),
                key="compare:sources")
st.subheader("PASS tiers per site and layer")
st.dataframe(found.tiers, width="stretch", height=300)
st.subheader(f"Items not in every plan ({len(found.changes)})")
st.caption("Each item in one plan but not another, by measure and school: its fiscal year in each plan, "
           "what changed against A, and the capital that change adds or takes out.")
st.dataframe(found.changes, hide_index=True, width="stretch", height=300,
             column_config={"capital_change": st.column_config.NumberColumn("Capital change", format="dollar")})
