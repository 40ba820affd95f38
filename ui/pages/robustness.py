"""Robustness page: the plan under random draws of costs and effectiveness, and how often
each measure is chosen."""
from __future__ import annotations

import json
import math
import os

import streamlit as st

from optimizer.reports import charts, fmt
from ui import compute, state, views

st.title("Robustness")
st.caption("Each draw takes every measure's capital cost from its catalog low-high range and "
           "scales its effectiveness within +/- the spread, then plans again. Measures chosen in "
           "most draws are robust buys.")
if views.current_plan() is None:
    st.stop()
columns = st.columns(5)
samples = columns[0].number_input("Draws", min_value=2, max_value=500, value=20, key="robust:samples")
cores = os.cpu_count() or 1  # more worker processes than cores only crowd the server others share
workers = columns[1].number_input("Parallel workers", min_value=1, max_value=cores, value=min(2, cores),
                                  key="robust:workers")
spread = columns[2].slider("Effectiveness spread", 0.0, 0.5, 0.2, 0.05, key="robust:spread")
seed = columns[3].number_input("Seed", min_value=0, value=0, key="robust:seed")
clicked = columns[4].button("Run", type="primary", icon=":material/play_arrow:")
task = json.dumps(["robust", state.request(), samples, seed, spread, workers])
if not state.started(task, clicked):
    st.info(f"{samples} draws are {samples} solves, run {workers} at a time.")
    st.stop()

found = compute.robustness(state.request(), samples, seed, spread, workers)
values = [v for v in found.values if not math.isnan(v)]  # NaN: a draw without a plan
columns = st.columns(4)
columns[0].metric("Draws with a plan", f"{len(values)} of {found.samples}")
columns[1].metric("Risk reduction, lowest draw", fmt.value(min(values)) if values else "n/a")
columns[2].metric("Risk reduction, highest draw", fmt.value(max(values)) if values else "n/a")
columns[3].metric("Largest proven gap of a draw", fmt.gap(found.worst_gap) if values else "n/a",
                  help="Each draw's plan is proven within this distance of the best plan of that draw.")
# A worker lost and its draws run again (the first note when any were) is news, not a fault:
# the results are the same. A draw cut short by the time limit may differ in another run.
notes = list(found.notes)
if found.rerun and notes:
    st.info(notes.pop(0), icon=":material/restart_alt:")
for note in notes:
    st.warning(note)
st.plotly_chart(charts.selection_frequency(found.frequency), key="robust:chart")
st.dataframe(found.frequency, hide_index=True, width="stretch", height=360,
             column_config={"share": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1)})
