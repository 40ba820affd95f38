"""A solve can be stopped (issue 29): the app refines a what-if's final plan in the background
and a newer edit stops that refinement. Setting the stop ends the solve with SolveCancelled
and no plan, before or during a HiGHS run; a solve on another thread (another session) is
not touched."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from optimizer import load_inputs
from optimizer.core.run import optimize
from optimizer.core.status import SolveOptions, stoppable
from optimizer.errors import SolveCancelled
from optimizer.paths import SCENARIOS_DIR

pytestmark = pytest.mark.slow

#: A solve long enough to be stopped in the middle: the suburban example proven optimal.
LONG = SolveOptions(gap=0.0)


@pytest.fixture(scope="module")
def suburban():
    return load_inputs(SCENARIOS_DIR / "suburban.yaml")


def test_a_stop_set_before_the_solve_ends_it_at_once(suburban):
    stop = threading.Event()
    stop.set()
    with stoppable(stop), pytest.raises(SolveCancelled):
        optimize(suburban, LONG)


def test_a_stop_set_during_the_solve_ends_it_without_a_plan_and_leaves_another_session_s_solve_alone(suburban):
    stop = threading.Event()
    started = threading.Event()

    def stopped():
        with stoppable(stop):
            started.set()
            return optimize(suburban, LONG)

    with ThreadPoolExecutor(max_workers=2) as pool:
        mine = pool.submit(stopped)
        other = pool.submit(optimize, suburban, SolveOptions())  # another session, the app's gap
        started.wait()
        threading.Timer(1.0, stop.set).start()  # after expanding and building: inside the solve
        with pytest.raises(SolveCancelled):
            mine.result()
        result = other.result()
    assert result.plan is not None and result.status.value == "optimal"
