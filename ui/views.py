"""Pieces the pages share: input problems as a table, the current plan with every way it
can fail shown in words, headline numbers, and a plan's table and charts."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from optimizer import InputError, InputProblem, OptimizerError
from optimizer.core.result import PlanResult
from optimizer.core.status import Status
from optimizer.reports import board, charts, fmt, tables

from . import compute, refine, state

SCENARIO_PAGE = "ui/pages/scenario.py"
PLAN_PAGE = "ui/pages/plan.py"
#: Column formats of money columns in tables.
MONEY = st.column_config.NumberColumn(format="dollar", step=1)
PERCENT = st.column_config.NumberColumn(format="percent")


def money_columns(frame: pd.DataFrame) -> dict:
    """Column settings showing the dollar columns of ``frame`` as dollars."""
    words = ("cost", "capital", "annual", "amount", "paid", "budget", "tco", "($)")
    return {c: MONEY for c in frame.columns
            if any(w in str(c) for w in words) and pd.api.types.is_float_dtype(frame[c])}


def problems_table(problems: list[InputProblem]) -> None:
    """Input problems as a table: file, place (row or key), field, value, what is expected."""
    frame = pd.DataFrame([{"file": Path(p.file).name, "where": p.where, "field": p.field,
                           "value": p.value, "expected": p.expected} for p in problems])
    st.dataframe(frame, hide_index=True, width="stretch")


def show_error(exc: OptimizerError, what: str) -> None:
    """An error of the tool in the page (never a traceback); input problems as a table."""
    if isinstance(exc, InputError):
        st.error(f"{what}: {len(exc.problems)} problem(s). Each row names the file, the place, "
                 "the field, the value found and what is expected.")
        problems_table(exc.problems)
    else:
        st.error(f"{what}: {exc}")


def first_look(request: str):
    """For a request not solved yet in this session, a first verified plan (solved for about a
    second from the plan before the change, with its proven gap): its headline and what to
    buy, labelled with what may still change, in a box that the page empties once the final
    plan is shown; returns that box (empty when there is nothing to show)."""
    box = st.empty()
    if state.solved(request) or refine.finished(request):
        return box
    try:
        quick = compute.quick_plan(request, state.last_solved())
    except OptimizerError:
        return box  # the final solve shows the problem
    if quick.plan is not None:
        with box.container():
            st.info(first_look_words(quick, state.last_solved() is not None), icon=":material/bolt:")
            headline(quick)
            what_to_buy(quick)
    return box


def first_look_words(quick: PlanResult, from_before: bool) -> str:
    """What the first look is: its proven gap, the seconds it took to build and solve (a large
    district's first look takes longer than the second asked for: its relaxation alone does),
    and what may still change."""
    gap = "proven optimal" if quick.status == Status.OPTIMAL else f"within {fmt.gap(quick.report.gap)} of the best"
    start = " from the plan before your change" if from_before else ""
    return (f"First look: a verified plan {gap}, found in {quick.build_seconds + quick.report.solve_seconds:.1f} s"
            f"{start}. The final plan, within the gap asked, is being refined; until it is shown here the items, "
            "their fiscal years, the funding and the totals may still change. You can keep editing: a newer change "
            "stops this refinement.")


def current_plan(wait: bool = True) -> PlanResult | None:
    """The plan of the edited scenario with the current options, from the plan cache or
    solved behind a spinner (``wait``), or, without ``wait``, refined in the background
    (:mod:`ui.refine`) while the page goes on: None then, with a line that says so, and the
    page runs again when the plan is ready.

    Problems of the scenario, an infeasible scenario (with the conflicting rules in plain
    words) and a solver that stopped without a plan are shown in the page; the result is
    None then.
    """
    request = state.request()
    before = state.last_solved()
    job = None if state.solved(request) or refine.inline() else refine.refinement(request)
    if job is not None and not wait and not job.future.done():
        _refining(job)
        return None
    try:
        with st.spinner("Solving the plan (the built-in examples take a few seconds)...", show_time=True):
            if job is not None:
                job.future.exception()  # wait for the refinement, not a second solve; a problem is raised below
            result = compute.plan(request)
        state.solved(request, now=True)
    except OptimizerError as exc:
        show_error(exc, "This scenario cannot be planned")
        st.page_link(SCENARIO_PAGE, label="Fix it on the Scenario page", icon=":material/edit:")
        return None
    if result.plan is not None:
        if before is not None and before != request:
            same = tables.unchanged_words(compute.plan(before), result)  # the plan before is in the cache
            if same:
                st.info(same, icon=":material/info:")
        return result
    if result.status == Status.INFEASIBLE:
        with st.spinner("Finding the rules that conflict..."):
            conflicts = compute.conflicts(request)
        st.error("No plan keeps every rule of this scenario. These rules conflict:\n\n"
                 + "\n".join(f"- {c}" for c in conflicts))
    else:
        st.warning("The solver stopped before it found a plan. " + " ".join(result.report.notes))
    return None


@st.fragment(run_every=refine.POLL_SECONDS)
def _refining(job: refine.Refinement) -> None:
    """A line that says the final plan is being refined; the whole page runs again when it is
    ready (or when the refinement stopped)."""
    if job.future.done():
        st.rerun()
    st.caption("Refining to the final gap in the background...")


def headline(result: PlanResult) -> None:
    """The plan's headline numbers as metrics: first in a board's units (share of the
    modelled risk reduced, as the command line says it), then the figures for analysts."""
    numbers = board.headline(result)
    for start in range(0, len(numbers), 4):
        for column, (label, value, note) in zip(st.columns(4), numbers[start:start + 4]):
            # only a change (+5 from 0) gets an arrow; a range or a reading of the figure does not
            change = start > 0 and note is not None and note[:1] in "+-"
            column.metric(label, value, delta=note, delta_color="normal" if change else "off",
                          delta_arrow="auto" if change else "off")
    st.caption(f"The plan {result.headline_words()[0]}. {board.MODEL_CAVEAT}")


def projects(result: PlanResult) -> None:
    """The plan's projects (a PASS component bought in one fiscal year), in the order bought."""
    st.subheader(f"Projects ({len(result.plan.projects)})")
    st.caption(f"One project is one PASS component's purchases in one fiscal year: one specification, bid and "
               f"board item. Buying from vendors takes {fmt.money(result.problem.project_cost)} of staff time "
               f"from the operating budget per project (policy.project_cost).")
    st.dataframe(tables.projects(result), hide_index=True, width="stretch",
                 column_config={"Capital": MONEY, "Annual cost": MONEY, "Procurement staff time": MONEY})


def what_to_buy(result: PlanResult) -> None:
    """What to buy, one row per measure, names first."""
    table = tables.what_to_buy(result)
    st.subheader("What to buy")
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"Capital": MONEY, "Annual cost": MONEY})


def plan_details(result: PlanResult, key: str) -> None:
    """A plan's table, filterable by site, layer, fiscal year and source, and its charts.

    Parameters
    ----------
    result : PlanResult
        A plan.
    key : str
        Prefix of the filter widgets' keys (one per page showing a plan).
    """
    items, problem = result.plan.items, result.problem
    projects(result)
    what_to_buy(result)
    expander = st.expander(f"Every item of the plan ({len(items):,}), with why it is in it")
    columns = expander.columns(4)
    sites = columns[0].multiselect("Sites", sorted(set(items["site_id"])), key=f"{key}:sites")
    layers = columns[1].multiselect("Layers", [x for x in problem.layers if x in set(items["layer"])],
                                    key=f"{key}:layers")
    years = columns[2].multiselect("Fiscal years", problem.years, key=f"{key}:years")
    sources = columns[3].multiselect("Paid by", tables.source_ids(result), key=f"{key}:sources")
    rows = tables.plan_rows(result, sites, layers, years, sources)
    expander.caption(f"{len(rows)} of {len(items)} items; capital {fmt.money(rows['capital_cost'].sum())}, "
                     f"annual cost {fmt.money(rows['annual_cost'].sum())}.")
    shown = tables.in_words(result, rows)
    expander.dataframe(shown, hide_index=True, width="stretch", height=320, column_config=money_columns(shown))
    st.plotly_chart(charts.spend_treemap(rows, problem.layers), key=f"{key}:treemap")
    left, right = st.columns(2)
    left.plotly_chart(charts.money_waterfall(tables.money_flow(result)), key=f"{key}:waterfall")
    right.plotly_chart(charts.capital_by_year(tables.capital_by_year(result), problem.capital_budget,
                                              tables.source_ids(result)), key=f"{key}:years_chart")
    left_unspent = tables.money_left(result)
    if left_unspent:
        st.markdown("**Why money is not spent**\n\n" + "\n".join(f"- {sentence}" for sentence in left_unspent))
    before, after = result.tiers()
    st.plotly_chart(charts.tier_heatmaps(before, after, board.layer_names(result), result.school_names()),
                    key=f"{key}:tiers")
    with st.expander("Why each school is at its tier before the plan"):
        st.caption(board.TIER_RULE)
        st.dataframe(tables.tier_gaps(result), hide_index=True, width="stretch")
