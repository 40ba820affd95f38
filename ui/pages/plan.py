"""Plan page: the scenario's capital budget (every year at once, or year by year), the best
plan's headline numbers, its table and charts, buttons that pin it for comparison, and what
its number of projects costs."""
from __future__ import annotations

import json

import streamlit as st

from optimizer.data.stances import STANCE_WORDS, STANCES
from optimizer.errors import OptimizerError
from optimizer.reports import fmt, tables
from ui import compute, editors, state, views

OPTIONS = state.OPTIONS


def _title() -> str:
    """Words that say which plan this is, for the Compare page."""
    data = state.scenario()
    capital = data["budget"]["capital"]
    grants = [k for k, s in data.get("funding_sources", {}).items() if s.get("awarded", True)]
    amount = editors.same_amount(capital)
    money = (f"{fmt.money(amount)} capital per year" if amount is not None else
             "capital " + ", ".join(f"{year}: {fmt.money(v)}" for year, v in capital.items()))
    return f"{data['name']}; {money}; grants: {', '.join(grants) or 'none'}"


st.title("Plan")
budget_column, settings_column = st.columns([2, 3])
with budget_column:
    editors.capital_budget(state.scenario())
state.bound(settings_column.selectbox, "Evidence stance", state.SCENARIO, ("policy", "evidence_stance"),
            default="full", options=list(STANCES), format_func=lambda s: f"{s}: {STANCE_WORDS[s]}",
            help="How much measures resting on expert opinion or on no evidence count. The Screening "
                 "page shows which purchases hold under every stance.")
with settings_column.expander("Solver settings"):
    state.bound(st.number_input, "Time limit per solve (seconds)", OPTIONS, ("time_limit",),
                min_value=5.0, max_value=3600.0, step=10.0)
    state.bound(st.number_input, "Optimality gap", OPTIONS, ("gap",), min_value=0.0, max_value=0.2,
                step=0.0005, format="%.4f")
    why_gap = st.empty()  # filled once the plan is known: the gap beside the evidence bands' spread

first = views.first_look(state.request())
result = views.current_plan(wait=False)  # the first look stays while the final plan is refined
if result is None:
    st.stop()
first.empty()
why_gap.caption(result.gap_words(state.options()["gap"]))
views.headline(result)
for note in result.report.notes:
    st.info(note)
pins = st.columns(len(state.PIN_LABELS) + 1)
pins[0].markdown("**Pin this plan to compare it:**")
for column, label in zip(pins[1:], state.PIN_LABELS):
    if column.button(f"Pin as {label}", key=f"pin:{label}", icon=":material/push_pin:"):
        state.pin(label, state.request(), _title())
        st.toast(f"Pinned as {label}: {_title()}")
views.plan_details(result, "plan")

with st.expander("What the number of projects costs"):
    st.caption("The plan again with no limit on the number of projects, with procuring a project free, and at "
               "each limit from one project up: the modelled risk reduction a shorter list of projects gives up. "
               "Each limit is one solve.")
    task = json.dumps(["projects", state.request()])
    if state.started(task, st.button("Compute", key="projects:compute", icon=":material/play_arrow:")):
        try:
            counted = compute.project_count_of(state.request())
        except OptimizerError as exc:
            views.show_error(exc, "The project limits cannot be planned")
        else:
            for sentence in counted.words():
                st.markdown(sentence)
            st.dataframe(tables.project_count(counted), hide_index=True, width="stretch",
                         column_config={"Modelled risk reduced": views.PERCENT, "Proven gap": views.PERCENT,
                                        "Procuring a project": views.MONEY, "Procurement staff time": views.MONEY,
                                        "Local money": views.MONEY,
                                        "Serious harm avoided": st.column_config.NumberColumn(format="%.2f")})

with st.expander("Other plans nearly as good"):
    st.caption("Plans within a few points of the best that buy something else, so the board can choose on "
               "grounds the model does not see (a school's timing, a vendor, a community's wishes). Each is "
               "one solve.")
    within = st.slider("At most this many points of modelled risk reduced below the best", 0.5, 5.0, 2.0, 0.5,
                       key="alternatives:within")
    task = json.dumps(["alternatives", state.request(), within])
    if state.started(task, st.button("Find them", key="alternatives:compute", icon=":material/play_arrow:")):
        try:
            table = compute.alternatives_of(state.request(), within / 100 / max(result.gap_closed, 1e-9), 3)
        except OptimizerError as exc:
            views.show_error(exc, "Alternatives cannot be found")
        else:
            if table.empty:
                st.info("No other plan is that close: the best plan is the only one within it.")
            for row in table.itertuples():
                close = ("as good as the best, within the solves' proven gaps" if row.as_good else
                         f"{row.shortfall_points:.1f} points below the best")
                st.markdown(f"**Alternative {row.alternative}**: reduces the modelled risk by "
                            f"{row.risk_reduced:.1%} ({close}); adds {row.items_added} items, drops "
                            f"{row.items_dropped}.")
                st.caption(f"Adds: {row.added or 'nothing'}. Drops: {row.dropped or 'nothing'}.")
