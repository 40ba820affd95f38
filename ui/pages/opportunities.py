"""Grant opportunities page: the federal and state programs the district could apply for in the
plan's years, each valued by planning again with the award added, and those it cannot apply to."""
from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from optimizer import OptimizerError
from optimizer.reports import fmt
from optimizer.reports.application import asks_sentences, facts as application_facts
from ui import compute, state, views

SHOWN = ["rank", "name", "award", "points", "award_used", "local_match", "local_change", "why", "deadline", "selection",
         "success_rate", "match", "level"]

st.title("Grant opportunities")
st.caption("Which programs to apply for, and what each award would add to this district's plan: the plan is "
           "made again with the award added (at the program's average award where one was published, else the "
           "middle of its range, and at the most), starting from the plan without it. Points are points of the "
           "modelled risk the plan removes.")
if views.current_plan() is None:
    st.stop()
request = state.request()
listing = compute.programs_to_apply(request)
if listing.empty:
    st.info("No program of the catalog is open to this district for the plan's years.")
st.markdown("**Programs it could apply for.** Enter the award you expect where you know it (a year, for a program "
            "allocated every year); a program the catalog gives no amount for is valued only once you do.")
edited = st.data_editor(
    listing.assign(expected=listing["award"]), hide_index=True, width="stretch", key="opp:amounts",
    disabled=["program", "name", "level", "selection", "deadline", "award", "award_basis"],
    column_order=["name", "award", "expected", "deadline", "selection", "level", "award_basis"],
    column_config={"name": st.column_config.TextColumn("program", width="medium"),
                   "award": st.column_config.NumberColumn("Award valued ($)", format="dollar"),
                   "expected": st.column_config.NumberColumn("Award you expect ($)", min_value=0.0,
                                                             max_value=10_000_000_000.0, format="dollar"),
                   "award_basis": st.column_config.TextColumn("How the award is set", width="large")})
amounts = {row.program: float(row.expected) for row in edited.itertuples()
           if row.expected == row.expected and row.expected and row.expected != row.award}  # NaN: none given
clicked = st.button("Value the programs", type="primary", icon=":material/play_arrow:")
if not state.started(json.dumps(["opportunities", request, amounts], sort_keys=True), clicked):
    st.info("Each program is valued by one or two plans, two at a time.")
    st.stop()
try:
    found = compute.opportunities_of(request, json.dumps(amounts, sort_keys=True))
except (OptimizerError, ValueError) as exc:
    views.show_error(exc, "The programs cannot be valued")
    st.stop()
valued = found.table[found.table["points"].notna()]
columns = st.columns(2)
columns[0].metric("Programs it could apply for", len(found.table))
columns[1].metric("Valued", len(valued))
if not valued.empty:
    best = valued.iloc[0]
    st.success(f"**{best['name']}** adds the most to the plan: it {best['why']}.")
st.dataframe(found.table[SHOWN], hide_index=True, width="stretch",
             column_config={**views.money_columns(found.table[SHOWN]),
                            "name": st.column_config.TextColumn("program", width="medium"),
                            "award": st.column_config.NumberColumn("award valued ($)", format="dollar"),
                            "points": st.column_config.NumberColumn("points added", format="%.2f"),
                            "award_used": st.column_config.NumberColumn("award the plan spends ($)", format="dollar"),
                            "local_match": st.column_config.NumberColumn("local match ($)", format="dollar"),
                            "local_change": st.column_config.NumberColumn("local money, more or less ($)",
                                                                          format="dollar"),
                            "why": st.column_config.TextColumn(width="large"),
                            "success_rate": st.column_config.NumberColumn("awards / applications", format="percent")})
st.caption(f"Every plan is verified; the largest proven gap among them is "
           f"{fmt.gap(found.table['gap'].max()) if found.table['gap'].notna().any() else 'n/a'}.")
st.markdown("**What each application asks**, from the program's law or latest solicitation (a part the sources do "
            "not state is left out):")
st.markdown("\n".join(f"- **{row.name}** ({row.selection}): {row.asks}." for row in found.table.itertuples()))
if not found.closed.empty:
    st.markdown("**Programs it cannot apply to for this plan**")
    st.dataframe(found.closed.drop(columns="program"), hide_index=True, width="stretch")

if not valued.empty:
    st.markdown("**An application package**: the statement of need, the project description, the budget with its "
                "match, the evidence for each measure and the timeline, from the plan with the award.")
    names = dict(zip(valued["program"], valued["name"]))
    chosen_program = st.selectbox("Program", list(names), format_func=names.get, key="opp:package")
    award = float(valued.set_index("program").at[chosen_program, "award"])
    package = compute.application_of(request, chosen_program, award)
    with st.expander("Read the package", expanded=True):
        st.dataframe(pd.DataFrame(application_facts(package), columns=["", "value"]), hide_index=True,
                     width="stretch")
        st.markdown("**What the application asks**")
        st.markdown("\n".join(f"- {sentence}" for sentence in asks_sentences(package)))
        st.markdown("**Statement of need**\n\n" + " ".join(package.need))
        st.markdown("**Project description**\n\n" + "\n".join(f"- {sentence}" for sentence in package.projects))
        st.markdown("**Budget**")
        st.dataframe(package.budget, hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(f"{c.replace('_', ' ')} ($)", format="dollar")
                                    for c in ("grant", "local_match", "total")})
    left, right = st.columns(2)
    for column, suffix, label in ((left, ".docx", "Word document"), (right, ".xlsx", "Workbook")):
        column.download_button(f"Download the package ({label})", data=compute.application_file(
            request, chosen_program, award, suffix), file_name=f"application-{chosen_program}{suffix}",
            icon=":material/download:", key=f"opp:download{suffix}")
st.divider()
st.subheader("Which applications to make together")
st.caption("Awards interact: they share the local money for matches and upkeep, and the same needs. The choice "
           "adds one program at a time, the one that adds the most to the plan with those already chosen, until "
           "none adds anything; the plan never spends more local money than the budgets.")
together = st.button("Choose the applications", icon=":material/playlist_add_check:")
if state.started(json.dumps(["portfolio", request, amounts], sort_keys=True), together):
    chosen = compute.portfolio_of(request, json.dumps(amounts, sort_keys=True))
    for sentence in chosen.words():
        st.markdown(sentence)
    if not chosen.table.empty:
        st.dataframe(chosen.table.drop(columns=["program", "net_added"]), hide_index=True, width="stretch",
                     column_config={**views.money_columns(chosen.table),
                                    "award": st.column_config.NumberColumn("award applied for ($)", format="dollar"),
                                    "points": st.column_config.NumberColumn("points, all chosen so far", format="%.2f"),
                                    "award_used": st.column_config.NumberColumn("award the plan spends ($)",
                                                                                format="dollar"),
                                    "local_match": st.column_config.NumberColumn("local match ($)", format="dollar")})
        st.markdown("**Calendar of deadlines**")
        st.dataframe(chosen.calendar.drop(columns=["program", "date"]), hide_index=True, width="stretch")
