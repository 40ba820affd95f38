"""Frontier page: the best plan at each local capital budget, as a staircase; clicking a
point (or picking its budget) shows that plan."""
from __future__ import annotations

import json

import streamlit as st

from optimizer.analyses.frontier import FRONTIER_WORDS
from optimizer.data.parsing import MAX_DOLLARS
from optimizer.data.stances import STANCE_WORDS
from optimizer.errors import OptimizerError
from optimizer.reports import charts, fmt
from ui import compute, state, views

POINTS, TOP, PICK, LAST_CLICK = "frontier:points", "frontier:top", "frontier:budget", "frontier:last_click"

st.title("Efficient frontier")
st.caption("The most modelled risk reduced at evenly spaced local capital budgets (over the whole "
           "horizon, spread over the years as the scenario's budgets are; grants come on top).")
result = views.current_plan()
if result is None:
    st.stop()
stance = result.problem.evidence_stance
st.caption(f"Evidence stance: **{stance}** ({STANCE_WORDS[stance]}); costs in {result.problem.dollar_year} dollars.")
scenario_budget = sum(result.problem.capital_budget.values())
left, middle, right = st.columns([1, 1, 1])
points = left.slider("Budgets to solve", 3, 15, 7, key=POINTS)
years = result.problem.years
horizon = f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0])
top = middle.number_input(f"Largest budget over {horizon} ($)", min_value=1_000.0, max_value=MAX_DOLLARS,
                          step=50_000.0, format="%.0f", value=min(max(2 * scenario_budget, 1_000.0), MAX_DOLLARS),
                          key=TOP)
clicked = right.button("Compute the frontier", type="primary", icon=":material/play_arrow:")
task = json.dumps(["frontier", state.request(), points, top])
if not state.started(task, clicked):
    st.info(f"Each budget is one solve; {points} budgets take about {points} times as long as the plan.")
    st.stop()

try:
    found = compute.frontier_of(state.request(), points, top)
except (OptimizerError, ValueError) as exc:  # a budget or solver setting no solve can use
    views.show_error(exc, "The frontier cannot be computed")
    st.stop()
table = found.table
budgets = table["budget"].tolist()
chart = st.container()
if PICK not in st.session_state or st.session_state[PICK] not in budgets:
    knee = found.knee
    st.session_state[PICK] = float(knee["budget"]) if knee is not None else budgets[-1]
with chart:
    event = st.plotly_chart(charts.frontier_staircase(table, found.scenario_budget, st.session_state[PICK]),
                            on_select="rerun", selection_mode="points", key="frontier:chart")
click = [p["x"] for p in event.selection.points] if event and event.selection.points else []
if click and click != st.session_state.get(LAST_CLICK):  # a new click picks that budget
    st.session_state[LAST_CLICK] = click
    st.session_state[PICK] = min(budgets, key=lambda b: abs(b - click[0]))
    st.rerun()
shown = table.rename(columns=FRONTIER_WORDS)
st.dataframe(shown, hide_index=True, width="stretch", column_config=views.money_columns(shown))
if found.tolerance_words():
    st.caption(found.tolerance_words())
chosen = st.selectbox(f"Show the plan at a budget over {horizon}", budgets, key=PICK, format_func=fmt.money)
picked = found.plans[budgets.index(chosen)]
st.subheader(f"Plan at {fmt.money(chosen)} of local capital over {horizon} "
             f"(about {fmt.money(chosen / len(years))} a year)")
st.caption(f"The scenario's own local capital is {fmt.money(scenario_budget)} over {horizon}; the Plan "
           "page edits it year by year.")
if picked.plan is None:
    st.warning(f"No plan at this budget: {table['why'].iloc[budgets.index(chosen)]}.")
    st.stop()
views.headline(picked)
views.plan_details(picked, "frontier")
