"""Every computation of the app, cached on the canonical JSON of the scenario and options
(``state.request()``), so going back and forth between pages and settings is instant.

Each function takes the request text, rebuilds the checked inputs from it and calls one
public function of ``optimizer``. The inputs are checked from the scenario mapping in memory
against the catalog loaded once per PASS edition (:func:`catalog`); no scenario file is
written. Analyses that report progress draw their own progress bar inside the cached call
(a bar made outside cannot be replayed from the cache).
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

import optimizer
from optimizer import Catalog, Inputs, load_catalog
from optimizer.analyses.compare import Comparison, compare
from optimizer.core.result import PlanResult
from optimizer.core.status import SolveOptions
from optimizer.defaults import FIRST_LOOK_SECONDS
from optimizer.paths import CATALOG_DIR
from optimizer.reports import board
from optimizer.reports.export import assumptions, write_plan
from optimizer.reports.pdf import html_to_pdf

from . import scenario_files

if TYPE_CHECKING:  # the solving functions load the solver when first called (``optimizer``)
    from optimizer.analyses.explain import Explanation
    from optimizer.analyses.frontier import Frontier
    from optimizer.analyses.opportunities import Opportunities, Portfolio
    from optimizer.analyses.pitch import PitchResult
    from optimizer.analyses.project_count import ProjectCount
    from optimizer.analyses.robust import Robustness

#: Name that problems of the vendor pitch form carry.
PITCH_FORM = "vendor pitch form"


@st.cache_resource(show_spinner=False, max_entries=4)
def catalog(edition: int) -> Catalog:
    """The built-in catalog in a PASS edition, loaded and checked once per process."""
    return load_catalog(CATALOG_DIR, edition)


@st.cache_resource(show_spinner=False, max_entries=32)
def scenario_inputs(scenario_key: str) -> Inputs:
    """Checked inputs of an edited scenario (``state.scenario_key()``), checked in memory
    against the cached catalog of its edition.

    Raises
    ------
    InputError
        When the edited scenario has problems (not cached: checked again next time).
    """
    data = json.loads(scenario_key)
    return scenario_files.inputs_of(data["scenario"], data["file"], catalog)


def inputs(request: str) -> Inputs:
    """Checked inputs of a request (its scenario holds the budgets; the options only the
    solver's settings)."""
    data = json.loads(request)
    return scenario_inputs(json.dumps({"file": data["file"], "scenario": data["scenario"]},
                                      separators=(",", ":")))


def _solver_options(request: str) -> SolveOptions:
    options = json.loads(request)["options"]
    return SolveOptions(gap=options["gap"], time_limit=options["time_limit"])


@st.cache_data(show_spinner=False, max_entries=32)
def plan(request: str) -> PlanResult:
    """The verified plan of a request (infeasible ones come back without a plan)."""
    return optimizer.optimize(inputs(request), _solver_options(request))


@st.cache_data(show_spinner=False, max_entries=32)
def quick_plan(request: str, before: str | None = None) -> PlanResult:
    """A first verified plan of a request, solved for at most ``FIRST_LOOK_SECONDS`` (marked with
    its proven gap), shown while :func:`plan` refines it. ``before`` is the request whose
    plan the page showed before the change: the solve may start from that plan."""
    previous = plan(before) if before is not None and before != request else None
    return optimizer.optimize(inputs(request), _solver_options(request).but(time_limit=FIRST_LOOK_SECONDS),
                              previous=previous)


@st.cache_data(show_spinner=False, max_entries=16)
def conflicts(request: str) -> list[str]:
    """The rules that conflict in an infeasible request, in plain words."""
    return [str(c) for c in optimizer.diagnose(plan(request).problem)]


@st.cache_data(show_spinner=False, max_entries=16)
def plan_file(request: str, suffix: str) -> bytes:
    """The plan written as ``.xlsx``, ``.csv`` or ``.json`` (``optimizer.reports.export``)."""
    with tempfile.TemporaryDirectory() as folder:
        path = write_plan(plan(request), Path(folder) / f"plan{suffix}", inputs(request))
        return path.read_bytes()


@st.cache_data(show_spinner=False, max_entries=8)
def board_report(request: str, lines: bool = True) -> str:
    """The self-contained HTML report of a request's plan (``lines``: with every plan line)."""
    result = plan(request)
    return board.report_html(result, assumptions(inputs(request), result), lines)


@st.cache_data(show_spinner=False, max_entries=4)
def board_pdf(request: str, lines: bool = True) -> bytes:
    """The board report of a request's plan printed to PDF by Chromium
    (``optimizer.reports.pdf``; raises its ``PdfError`` when this machine cannot print)."""
    return html_to_pdf(board_report(request, lines))


@st.cache_data(show_spinner=False, max_entries=8)
def comparison(labels: tuple[str, ...], requests: tuple[str, ...]) -> Comparison:
    """Plans of several requests side by side, the first the reference for deltas."""
    return compare({label: plan(r) for label, r in zip(labels, requests)})


def _progress_bar(what: str):
    """A progress bar and the ``progress(done, total)`` callback that moves it."""
    bar = st.progress(0.0, text=f"{what}: starting")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"{what}: {done} of {total}")

    return bar, progress


@st.cache_data(show_spinner=False, max_entries=8)
def frontier_of(request: str, points: int, max_budget: float) -> Frontier:
    """The efficient frontier from zero to ``max_budget`` (local capital over the horizon)."""
    bar, progress = _progress_bar("Budgets solved")
    result = optimizer.frontier(inputs(request), points=points, max_budget=max_budget,
                                options=_solver_options(request), progress=progress)
    bar.empty()
    return result


@st.cache_data(show_spinner=False, max_entries=8)
def programs_to_apply(request: str) -> pd.DataFrame:
    """The grant programs the district could apply for, before any is valued."""
    return optimizer.programs_to_apply(inputs(request))


@st.cache_data(show_spinner=False, max_entries=8)
def opportunities_of(request: str, amounts: str) -> Opportunities:
    """Every program the district could apply for, valued against the request's plan
    (``amounts``: JSON of program id -> the award the district expects)."""
    bar, progress = _progress_bar("Awards valued")
    result = optimizer.opportunities(inputs(request), _solver_options(request), amounts=json.loads(amounts),
                                     progress=progress, base=plan(request))
    bar.empty()
    return result


@st.cache_data(show_spinner=False, max_entries=8)
def portfolio_of(request: str, amounts: str) -> Portfolio:
    """The applications worth making together, from the programs valued (:func:`opportunities_of`)."""
    bar, progress = _progress_bar("Rounds of the choice")
    result = optimizer.portfolio(inputs(request), opportunities_of(request, amounts), _solver_options(request),
                                 progress=progress)
    bar.empty()
    return result


@st.cache_data(show_spinner="Planning with the award", max_entries=8)
def application_of(request: str, program: str, amount: float):
    """The application package of ``program`` at ``amount`` (``optimizer.application_package``)."""
    return optimizer.application_package(inputs(request), program, amount, _solver_options(request),
                                         base=plan(request))


@st.cache_data(show_spinner=False, max_entries=8)
def application_file(request: str, program: str, amount: float, suffix: str) -> bytes:
    """The application package of ``program`` at ``amount``, written as ``.docx`` or ``.xlsx``."""
    package = application_of(request, program, amount)
    with tempfile.TemporaryDirectory() as folder:
        return optimizer.write_application(package, Path(folder) / f"application{suffix}").read_bytes()


@st.cache_data(show_spinner=False, max_entries=8)
def alternatives_of(request: str, within: float, count: int) -> pd.DataFrame:
    """Plans nearly as good as the best that differ from it (``optimizer.analyses.alternatives``),
    one row each in words."""
    found = optimizer.alternatives(inputs(request), within=within, count=count, options=_solver_options(request))
    return found.differences


@st.cache_data(show_spinner=False, max_entries=8)
def project_count_of(request: str) -> ProjectCount:
    """Risk reduction against the number of projects (``optimizer.analyses.project_count``)."""
    bar, progress = _progress_bar("Project limits solved")
    result = optimizer.project_count(inputs(request), options=_solver_options(request), progress=progress)
    bar.empty()
    return result


@st.cache_data(show_spinner=False, max_entries=8)
def screening(request: str, multiple: float) -> pd.DataFrame:
    """Every catalog measure with a verdict and its reason (``optimizer.analyses.screen``)."""
    return optimizer.screen(inputs(request), plan(request), multiple=multiple, options=_solver_options(request))


@st.cache_data(show_spinner=False, max_entries=16)
def pitch_check(request: str, product: str) -> PitchResult:
    """A vendor's product (JSON of the form's fields) checked against the plan.

    Raises
    ------
    InputError
        Naming each bad field of the form.
    """
    checked = optimizer.read_pitch(json.loads(product), PITCH_FORM)
    return optimizer.pitch(inputs(request), checked, options=_solver_options(request))


@st.cache_data(show_spinner=False, max_entries=16)
def explanation(request: str, measure_id: str, site_id: str | None) -> Explanation:
    """Why a measure is in the plan, or what would bring it in (``optimizer.analyses.explain``)."""
    return optimizer.explain(inputs(request), measure_id, site_id, _solver_options(request))


@st.cache_data(show_spinner=False, max_entries=8)
def robustness(request: str, samples: int, seed: int, effect_spread: float, workers: int) -> Robustness:
    """Selection frequency of each measure over random draws of costs and effectiveness."""
    bar, progress = _progress_bar("Draws solved")
    options = optimizer.ROBUST_OPTIONS.but(time_limit=_solver_options(request).time_limit)
    result = optimizer.robust(inputs(request), samples=samples, seed=seed, effect_spread=effect_spread,
                              options=options, workers=workers, progress=progress)
    bar.empty()
    return result
