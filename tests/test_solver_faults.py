"""When the solver misbehaves: a time limit gives a verified plan marked not proven optimal
with its gap; a missing solver falls back and says so; a crashing solver or one that
returns garbage gives an OptimizerError (or a verified plan clearly marked as not proven
optimal), never a wrong plan shown as optimal, and the inputs are left as they were."""
from __future__ import annotations

import highspy
import numpy as np
import pulp
import pytest

from optimizer import OptimizerError, load_inputs
from optimizer.core import highs_runner
from optimizer.core.highs_runner import RawOutcome
from optimizer.core.run import optimize
from optimizer.core.solve import SolverUnavailable
from optimizer.core.status import SolveOptions, Status
from optimizer.core.verify import verify
from optimizer.defaults import DEFAULT_GAP
from optimizer.paths import SCENARIOS_DIR
from optimizer.reports.export import plan_dict
from tests.builders import instance, m, site

OPTIMAL = int(highspy.HighsModelStatus.kOptimal)


@pytest.fixture
def small(tmp_path):
    """A two-measure instance small enough for HiGHS to run in this process."""
    return instance(
        tmp_path,
        [m("lock"), m("plan", layer="district", component="policies", scope="district",
                      unit_basis="district", funding_categories="planning", budget_category="contractual")],
        sites=[site("A"), site("B")], budget={"capital": 5000, "operating": 100},
        horizon={"start": 2027, "years": 2}, must=[{"measure": "lock", "site": "A"}])


def snapshot(inputs) -> tuple:
    """Everything a plan is made from, as plain data."""
    catalog = inputs.catalog
    return (inputs.scenario.model_dump(), {k: v.model_dump() for k, v in catalog.measures.items()},
            {k: v.model_dump() for k, v in catalog.programs.items()}, inputs.path)


def assert_verified_not_optimal(result) -> None:
    assert result.status == Status.FEASIBLE
    assert verify(result.problem, result.plan) == []
    assert any("not proven optimal" in note for note in result.report.notes), result.report.notes
    assert plan_dict(result)["status"] == "feasible"


@pytest.mark.slow
def test_time_limit_gives_a_plan_marked_not_proven_optimal():
    inputs = load_inputs(SCENARIOS_DIR / "suburban.yaml")
    result = optimize(inputs, SolveOptions(time_limit=1.0))
    data = plan_dict(result)
    assert verify(result.problem, result.plan) == []
    if result.status == Status.OPTIMAL:  # a fast machine may prove it in time
        assert data["status"] == "optimal" and data["gap"] is not None and data["gap"] <= DEFAULT_GAP
    else:
        assert_verified_not_optimal(result)
        if data["gap"] is None:  # the LP relaxation alone took the time (a loaded machine): it says so
            assert any("did not finish within the time limit: no bound is proven" in n for n in result.report.notes)
        else:
            assert data["gap"] > 0, "a plan stopped by the time limit must show its gap"


def test_missing_highs_falls_back_to_cbc_and_says_so(small, monkeypatch):
    if "PULP_CBC_CMD" not in pulp.listSolvers(onlyAvailable=True) and "COIN_CMD" not in pulp.listSolvers(onlyAvailable=True):
        pytest.skip("CBC is not installed here")
    monkeypatch.setattr("optimizer.core.solve.available_solvers", lambda: ["cbc"])
    result = optimize(small, SolveOptions(solver="highs"))
    assert result.report.solver == "cbc"
    assert any("highs is not available; used cbc instead" in n for n in result.report.notes)
    assert result.status == Status.OPTIMAL and verify(result.problem, result.plan) == []


def test_no_solver_at_all_is_a_clear_error(small, monkeypatch):
    monkeypatch.setattr("optimizer.core.solve.available_solvers", list)  # none
    before = snapshot(small)
    with pytest.raises(SolverUnavailable, match="pip install highspy"):
        optimize(small)
    assert snapshot(small) == before


def _raise(arrays, options, start, *basis):
    raise RuntimeError("HiGHS crashed: simulated")


NO_DUALS = np.empty(0)  # the row duals HiGHS returns for a MIP (and no basis: None)
CRASHES = {
    "raises": _raise,
    "returns a short tuple": lambda arrays, options, start, *basis: (OPTIMAL,),
    "returns NaN values": lambda arrays, options, start, *basis: RawOutcome(
        OPTIMAL, 2, float("nan"), float("nan"), float("nan"), np.full(len(arrays["cost"]), np.nan), NO_DUALS, None),
    "returns no values": lambda arrays, options, start, *basis: RawOutcome(OPTIMAL, 2, 1.0, 1.0, 0.0, np.array([]), NO_DUALS, None),
}


@pytest.mark.parametrize("crash", list(CRASHES))
def test_solver_crash_leaves_inputs_unchanged(small, monkeypatch, crash):
    monkeypatch.setattr("optimizer.core.highs_runner._solve", CRASHES[crash])
    before = snapshot(small)
    with pytest.raises(Exception):  # noqa: B017 - which type is the next test's concern
        optimize(small)
    assert snapshot(small) == before


@pytest.mark.parametrize("crash", list(CRASHES))
def test_solver_crash_is_an_optimizer_error(small, monkeypatch, crash):
    monkeypatch.setattr("optimizer.core.highs_runner._solve", CRASHES[crash])
    with pytest.raises(OptimizerError, match="(?i)solver|highs"):
        optimize(small)


GARBAGE = {
    "unknown status": lambda arrays, options, start, *basis: RawOutcome(999, 7, 0.0, 0.0, 0.0, np.zeros(len(arrays["cost"])), NO_DUALS, None),
    "fractional point called optimal": lambda arrays, options, start, *basis: RawOutcome(
        OPTIMAL, 2, 1.0, 1.0, 0.0, np.full(len(arrays["cost"]), 0.5), NO_DUALS, None),
}


@pytest.mark.parametrize("garbage", list(GARBAGE))
def test_solver_garbage_gives_a_verified_plan_marked_not_optimal(small, monkeypatch, garbage):
    monkeypatch.setattr("optimizer.core.highs_runner._solve", GARBAGE[garbage])
    before = snapshot(small)
    assert_verified_not_optimal(optimize(small))
    assert snapshot(small) == before


def test_solver_process_that_dies_gives_the_starting_plan(small, monkeypatch):
    monkeypatch.setattr("optimizer.core.highs_runner.IN_PROCESS_COLUMNS", 0)  # use the guarded child
    monkeypatch.setattr("optimizer.core.highs_runner._run_guarded", lambda *args: highs_runner.DIED)
    result = optimize(small)
    assert_verified_not_optimal(result)
    assert any("ended without an answer" in note for note in result.report.notes)


def test_two_thread_counts_in_one_process_both_solve(small):
    for threads in (2, 1):
        result = optimize(small, SolveOptions(threads=threads))
        assert result.status == Status.OPTIMAL, (threads, result.report.notes)


def test_a_run_highs_refuses_is_a_solver_failure_not_a_plan_without_that_step(small, monkeypatch):
    """HiGHS refuses a run whose thread count its thread's scheduler was not made for, and
    sets no status: that once passed as 'no plan from this step', silently giving a worse plan."""
    refused = lambda arrays, options, start, *rest: RawOutcome(0, 0, 0.0, 0.0, 0.0, np.empty(0), NO_DUALS, None)  # noqa: E731
    monkeypatch.setattr("optimizer.core.highs_runner._solve", refused)
    with pytest.raises(OptimizerError, match="HiGHS refused to run"):
        optimize(small)


def test_the_basis_statuses_a_result_keeps_are_highs_own():
    """``LpBasis`` lives with the solver-free results and names HiGHS's statuses by number."""
    from optimizer.core.status import BASIS_BASIC, BASIS_LOWER
    assert (BASIS_LOWER, BASIS_BASIC) == (int(highspy.HighsBasisStatus.kLower), int(highspy.HighsBasisStatus.kBasic))
