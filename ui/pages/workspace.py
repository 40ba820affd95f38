"""Workspace page: save the edited scenario with its plan under a name and a note, and reopen,
duplicate, compare or delete the plans saved before. The workspace is a database on the
server (``optimizer.workspace``), so saved work outlives the browser tab and the app."""
from __future__ import annotations

import streamlit as st

from optimizer.reports import fmt
from optimizer.workspace import Workspace, reopen
from ui import compute, state, views


@st.cache_resource
def workspace() -> Workspace:
    """One connection pool for every session of this app (each call is its own transaction)."""
    return Workspace()


st.title("Workspace")
st.caption("Plans saved here stay on the server: reopen them after closing the tab or restarting the app. "
           "A reopened plan is checked again against today's catalog and rules.")
space = workspace()
with st.form("workspace:save", clear_on_submit=True):
    st.subheader("Save the scenario and its plan")
    name = st.text_input("Name", value=state.scenario()["name"])
    note = st.text_area("Note (what changed, for whom)", height=70)
    if st.form_submit_button("Save", type="primary", icon=":material/save:"):
        result = views.current_plan()
        if result is not None and result.plan is not None:
            saved = space.save(name, note, state.file_name(), state.scenario(), state.options(), result)
            st.success(f"Saved as {name!r} (number {saved}).")
saved = space.list()
if saved.empty:
    st.info("Nothing saved yet.")
    st.stop()
shown = saved.assign(saved_at=saved["saved_at"].map(lambda t: f"{t:%Y-%m-%d %H:%M} UTC"))
st.dataframe(shown.rename(columns={"id": "number", "name": "name", "note": "note", "saved_at": "saved",
                                   "file_name": "scenario file", "headline": "the plan"}),
             hide_index=True, width="stretch")
id_of = {f"{r.id}: {r.name} ({r.saved_at:%Y-%m-%d %H:%M})": int(r.id) for r in saved.itertuples()}
labels = list(id_of)
picked = id_of[st.selectbox("A saved plan", labels, key="workspace:picked")]
opened, copied, removed = st.columns(3)
if opened.button("Open it to edit", icon=":material/folder_open:"):
    plan = space.open(picked)
    again = reopen(plan, compute.catalog)
    state.load(plan.scenario, plan.file_name)
    state.options().update(plan.options)
    if again.problems:
        st.warning("Reopened; the saved plan no longer keeps every rule of today's catalog (re-plan it on the "
                   "Plan page): " + "; ".join(again.problems[:5]))
    else:
        st.success(f"Reopened {plan.name!r}: the saved plan still keeps every rule. Its plan: {plan.headline}.")
if copied.button("Duplicate it", icon=":material/content_copy:"):
    space.duplicate(picked, f"{space.open(picked).name} (copy)")
    st.rerun()
if removed.button("Delete it", icon=":material/delete:"):
    space.delete(picked)
    st.rerun()
if len(labels) >= 2:
    st.subheader("Compare two saved plans")
    left, right = st.columns(2)
    first = id_of[left.selectbox("First", labels, key="workspace:first")]
    second = id_of[right.selectbox("Second", labels, index=1, key="workspace:second")]
    if first != second and st.button("Compare", icon=":material/compare_arrows:"):
        requests = tuple(state.request_of(p.file_name, p.scenario, p.options)
                         for p in (space.open(first), space.open(second)))
        found = compute.comparison(("first", "second"), requests)
        for row, words in (("risk_reduced", "Modelled risk reduced"), ("capital", "Capital spend"),
                           ("tco", "Total cost of ownership")):
            a, b = st.columns(2)
            show = fmt.money if row != "risk_reduced" else (lambda x: f"{x:.1%}")
            a.metric(f"{words}, first", show(found.summary.at[row, "first"]))
            b.metric(f"{words}, second", show(found.summary.at[row, "second"]))
        st.dataframe(found.changes, hide_index=True, width="stretch", height=300)
