"""Solves on several threads of one process (the app's sessions) touch nothing another solve
relies on (issue 30): HiGHS's process-wide thread pool is remade for another thread count only
while no HiGHS run is under way, and two sessions asking different thread counts at once both
get a verified plan proven within the gap asked, as alone (not the same plan: a plan's steps
stopped by a second of their own depend on the machine's load, see ``highs_runner.clock_stops``)."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import highspy
import pytest

from optimizer import load_inputs
from optimizer.core import highs_runner
from optimizer.core.run import optimize
from optimizer.core.status import SolveOptions
from optimizer.paths import SCENARIOS_DIR

pytestmark = pytest.mark.slow


def test_two_sessions_with_different_thread_counts_never_remake_the_pool_under_each_other(monkeypatch, capfd):
    inputs = load_inputs(SCENARIOS_DIR / "suburban.yaml")
    alone = {threads: optimize(inputs, SolveOptions(threads=threads)) for threads in (1, 2)}
    remade_while_solving = []
    reset = highspy.Highs.resetGlobalScheduler

    def checked_reset(blocking):
        remade_while_solving.append(highs_runner._solving[0])
        return reset(blocking)

    monkeypatch.setattr(highspy.Highs, "resetGlobalScheduler", staticmethod(checked_reset))
    with ThreadPoolExecutor(max_workers=2) as pool:
        together = dict(zip((1, 2), pool.map(lambda t: optimize(inputs, SolveOptions(threads=t)), (1, 2))))
    assert remade_while_solving and not any(remade_while_solving)  # remade, and only with no run under way
    os.write(1, b"standard output still reaches its file\n")  # no solve left it pointing elsewhere
    assert "standard output still reaches its file" in capfd.readouterr().out
    for threads, result in together.items():
        gap = SolveOptions().gap
        assert result.plan is not None and result.report.gap <= gap  # verified by optimize itself
        best = max(result.report.dual_bound, alone[threads].report.dual_bound)
        assert min(result.report.objective, alone[threads].report.objective) >= best * (1 - 2 * gap)
