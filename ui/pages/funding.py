"""Funding page: which source pays for what, the local match paid, and what each source
has left."""
from __future__ import annotations

import streamlit as st

from optimizer.reports import charts, fmt, tables
from ui import views

KINDS = {"Capital and recurring": ("capital", "annual"), "Capital only": ("capital",),
         "Recurring only": ("annual",)}
BOTH = "Capital and recurring"

st.title("Funding")
result = views.current_plan()
if result is None:
    st.stop()
balance = tables.source_balance(result)
grants = balance[~balance["source"].str.startswith("local")]
columns = st.columns(4)
columns[0].metric("Grant money available", fmt.money(grants["available"].sum()))
columns[1].metric("Grant money used", fmt.money(grants["available"].sum() - grants["left"].sum()))
columns[2].metric("Local match paid", fmt.money(grants["local match paid"].sum()))
columns[3].metric("Grant money left", fmt.money(grants["left"].sum()))

kind = st.segmented_control("Costs shown", list(KINDS), default=BOTH, key="funding:kind")
flows = tables.source_to_layer(result, KINDS[kind or BOTH])
st.plotly_chart(charts.funding_sankey(flows, tables.source_ids(result), result.problem.layers),
                key="funding:sankey")
st.subheader("Money by source")
st.caption("Grants: the award over its years. Local match is paid from the district's capital "
           "budget and counted there too. Recurring costs are paid every year an item is in place.")
st.dataframe(balance, hide_index=True, width="stretch",
             column_config={c: views.MONEY for c in tables.BALANCE_MONEY})
st.subheader("Grant money used and left")
st.caption(f"Per award period, in {result.problem.dollar_year} dollars. Grants pay before local money: "
           "with the items of the plan fixed, a second step gives every eligible dollar to a grant. "
           "Where money is left, the last column says why.")
WORDS = {"local_match": "local match", "grant_share": "grant share", "why_unused": "why money is left"}
st.dataframe(result.grant_use().rename(columns=WORDS), hide_index=True, width="stretch",
             column_config={**{c: views.MONEY for c in ("award", "used", "local match", "unused")},
                            "grant share": views.PERCENT})
