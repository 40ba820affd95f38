"""Streamlit app: interactive what-if planning on a district scenario.

Run with ``streamlit run app.py``. The app only calls public functions of ``optimizer``.
"""
from __future__ import annotations

import streamlit as st

from optimizer import OptimizerError, load_inputs
from optimizer.paths import EXAMPLE_SCENARIO, SCENARIOS_DIR

st.set_page_config(page_title="School security planner", layout="wide")
st.title("School security planner")

choices = sorted(p.name for p in SCENARIOS_DIR.glob("*.yaml"))
chosen = st.selectbox("Scenario", choices, index=choices.index(EXAMPLE_SCENARIO.name))
try:
    inputs = load_inputs(SCENARIOS_DIR / chosen)
except OptimizerError as exc:
    st.error(str(exc))
    st.stop()

scenario = inputs.scenario
years = scenario.horizon.fiscal_years
cols = st.columns(4)
cols[0].metric("Sites", len(scenario.sites))
cols[1].metric("Students", f"{sum(s.enrollment for s in scenario.sites):,}")
cols[2].metric("Fiscal years", f"{years[0]}-{years[-1]}")
cols[3].metric("Catalog measures", len(inputs.catalog.measures))
st.subheader("Sites")
st.dataframe([s.model_dump() for s in scenario.sites], use_container_width=True)
