"""The cycle collector's policy (``optimizer.gc_policy``): set once by the owner of a process
(the command line, the app, the worker processes this package starts), never by a solve."""
from __future__ import annotations

import gc
import subprocess
import sys
import textwrap

from optimizer import gc_policy
from optimizer.core import workers
from optimizer.core.run import optimize
from optimizer.core.status import SolveOptions
from tests.builders import three_measures


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_apply_freezes_what_is_loaded_once_and_later_objects_stay_collectable():
    out = _run("""
        import gc
        from optimizer import gc_policy
        gc_policy.apply()
        frozen, thresholds = gc.get_freeze_count(), gc.get_threshold()
        later = [[i] for i in range(1000)]  # a session's objects, made after the policy was set
        gc_policy.apply()
        print(frozen > 0, thresholds == gc_policy.THRESHOLDS, gc.get_freeze_count() == frozen)
    """)
    assert out == "True True True"


def test_the_command_line_sets_the_policy_before_it_plans():
    out = _run("""
        import gc, sys
        from optimizer import gc_policy
        from optimizer.cli import main
        sys.argv = ["optimizer", "--help"]
        try:
            main()
        except SystemExit:
            pass
        print(gc.get_threshold() == gc_policy.THRESHOLDS, gc.get_freeze_count() > 0)
    """)
    assert out.splitlines()[-1] == "True True"  # after the help text


def test_a_solve_leaves_the_process_collector_as_it_was(tmp_path):
    """A library call (a solve in one of the app's sessions) changes nothing process-wide."""
    thresholds, frozen = gc.get_threshold(), gc.get_freeze_count()
    optimize(three_measures(tmp_path), SolveOptions(gap=1e-3))
    assert (gc.get_threshold(), gc.get_freeze_count()) == (thresholds, frozen)


def test_the_worker_processes_this_package_starts_collect_as_the_command_line_does():
    with workers.pool(1) as pool:
        with workers.starting():
            thresholds = pool.submit(gc.get_threshold).result()
    assert thresholds == gc_policy.THRESHOLDS
