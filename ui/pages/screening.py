"""Screening and pitch page: which catalog products the district does not need and why,
why one measure is in or out, and a form to test a product a vendor proposes."""
from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from optimizer import OptimizerError
from optimizer.analyses.screen import VERDICT_MEANINGS, VERDICTS
from optimizer.data import vocabulary as words
from optimizer.data.parsing import MAX_DOLLARS
from optimizer.reports import charts, fmt
from ui import compute, state, views

PITCH = "pitch:product"
EVERY_PLACE = "(every place)"


def screening(request: str) -> None:
    """The screening table with reasons, filterable by verdict, and what each verdict means."""
    st.subheader("Which products are unnecessary for this district")
    verdict_legend()
    left, right = st.columns([1, 2])
    multiple = left.number_input("Try budgets up to this multiple of the scenario's", 1.5, 10.0, 3.0, 0.5,
                                 key="screen:multiple")
    clicked = right.button("Screen the catalog", type="primary", icon=":material/play_arrow:")
    if not state.started(json.dumps(["screen", request, multiple]), clicked):
        st.caption("Screening solves the plan at larger capital budgets, with more operating money and "
                   "without the project limit, to tell what holds a measure out from 'never chosen'.")
        return
    try:
        with st.spinner("Screening every catalog measure...", show_time=True):
            screened = compute.screening(request, multiple)
    except (OptimizerError, ValueError) as exc:  # a setting no solve can use, or no plan at this budget
        views.show_error(exc, "The catalog cannot be screened")
        return
    st.plotly_chart(charts.verdict_counts(screened, list(VERDICTS)), key="screen:counts")
    shown = st.multiselect("Verdicts shown", list(VERDICTS),
                           default=[v for v in VERDICTS if v not in ("chosen", "in place")], key="screen:verdicts")
    rows = screened[screened["verdict"].isin(shown)] if shown else screened
    st.dataframe(rows.astype({"tier": str}), hide_index=True, width="stretch", height=360)


def verdict_legend() -> None:
    """A small table saying in plain words what each verdict name means."""
    with st.expander("What the verdicts mean", icon=":material/info:"):
        legend = pd.DataFrame({"verdict": list(VERDICTS), "what it means": [VERDICT_MEANINGS[v] for v in VERDICTS]})
        st.dataframe(legend, hide_index=True, width="stretch",
                     column_config={"what it means": st.column_config.TextColumn(width="large")})


def explanation(request: str, result) -> None:
    """Why one measure is in the plan, or what would bring it in."""
    st.subheader("Why is a measure in the plan, or not?")
    catalog = compute.inputs(request).catalog
    left, middle, right = st.columns([2, 1, 1])
    measure = left.selectbox("Measure", sorted(catalog.measures), key="explain:measure",
                             format_func=lambda m: f"{m} ({catalog.measures[m].name})")
    site = middle.selectbox("Place", [EVERY_PLACE] + [s.id for s in result.problem.sites] + ["district"],
                            key="explain:site")
    clicked = right.button("Explain", icon=":material/help:")
    place = None if site == EVERY_PLACE else site
    if not state.started(json.dumps(["explain", request, measure, place]), clicked):
        return
    try:
        with st.spinner("Explaining...", show_time=True):
            found = compute.explanation(request, measure, place)
    except OptimizerError as exc:
        st.error(str(exc))
        return
    st.markdown(("**In the plan.** " if found.chosen else "**Not in the plan.** ")
                + " ".join(f"{r[0].upper()}{r[1:]}." for r in found.reasons))
    st.dataframe(found.places, hide_index=True, width="stretch", column_config=views.money_columns(found.places))


def pitch_form(request: str) -> None:
    """A form describing a vendor's product, and what it would do to the plan."""
    st.subheader("Test a product a vendor proposes")
    taxonomy = compute.inputs(request).catalog.pass7
    roles, evidence, budgets = (words.values(kind) for kind in (words.Role, words.Evidence, words.BudgetCategory))
    with st.form("pitch"):
        first, second, third = st.columns(3)
        product = {
            "name": first.text_input("Product name", placeholder="e.g. SmartDoor AI lock"),
            "capital": second.number_input("Capital cost per unit ($)", min_value=0.0, max_value=MAX_DOLLARS,
                                           value=2_000.0, step=100.0),
            "annual": third.number_input("Annual cost per unit ($)", min_value=0.0, max_value=MAX_DOLLARS,
                                         value=0.0, step=50.0),
            "layer": first.selectbox("Layer", taxonomy.layer_ids, index=taxonomy.layer_ids.index("building")
                                     if "building" in taxonomy.layer_ids else 0),
            "component": second.selectbox("Component", taxonomy.component_ids),
            "tier": third.selectbox("PASS tier", [None, 1, 2, 3, 4], format_func=lambda t: str(t) if t else "outside the tiers"),
            "effectiveness": first.slider("Effectiveness claimed (0-1)", 0.0, 1.0, 0.3, 0.05),
            "unit_basis": second.selectbox("Priced per", words.values(words.UnitBasis)),
            "scope": third.selectbox("Scope", words.values(words.Scope)),
            "role": third.selectbox("Its job", roles, index=roles.index("detect")),
            "evidence": first.selectbox("Evidence", evidence, index=evidence.index("none")),
            "funding_categories": second.multiselect("Grant categories", words.values(words.FundingCategory),
                                                     default=["hardware"]),
            "budget_category": third.selectbox("Budget category", budgets, index=budgets.index("equipment")),
            "useful_life": first.number_input("Useful life (years)", min_value=1, max_value=50, value=10),
        }
        if st.form_submit_button("Check the pitch", type="primary", icon=":material/play_arrow:"):
            st.session_state[PITCH] = (request, json.dumps(product))
    asked, product_json = st.session_state.get(PITCH, (None, None))
    if asked != request:  # nothing asked yet for this scenario
        return
    try:
        with st.spinner("Planning with and without the product (several solves)...", show_time=True):
            found = compute.pitch_check(request, product_json)
    except (OptimizerError, ValueError) as exc:  # bad fields (both costs 0), or no plan at the scenario's budget
        views.show_error(exc, "The pitch cannot be checked")
        return
    columns = st.columns(4)
    columns[0].metric("In the plan at this budget", "yes" if found.chosen_at_budget else "no")
    columns[1].metric("Enters at a local capital budget of",
                      "never" if found.entry_budget is None else fmt.money(found.entry_budget))
    columns[2].metric("Serious-harm equivalents avoided per $1 million", f"{1000 * found.value_per_1000:,.3g}")
    columns[3].metric("What the plan's last $1 million avoids", f"{1000 * found.plan_marginal_per_1000:,.3g}")
    st.info(found.summary())
    if not found.places.empty:
        st.markdown("**Where it would go**")
        st.dataframe(found.places, hide_index=True, column_config=views.money_columns(found.places))
    if not found.displaced.empty:
        st.markdown("**What it would displace**")
        st.dataframe(found.displaced, hide_index=True, column_config=views.money_columns(found.displaced))


st.title("Screening and vendor pitch")
result = views.current_plan()
if result is None:
    st.stop()
screening(state.request())
st.divider()
explanation(state.request(), result)
st.divider()
pitch_form(state.request())
