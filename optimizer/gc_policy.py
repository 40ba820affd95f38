"""How often Python's cycle collector runs in a process this package owns: the command line,
the app's server, a worker process. A model is built of a few hundred thousand small objects
that live until its plan is read, and at Python's default thresholds the collector scans them
again and again (about a sixth of a what-if's time; benchmarks/README.md). Set once by the owner of
the process, never by a solve: a library call must not change how the process that imported
it collects memory, and the app's sessions share one process."""
from __future__ import annotations

import gc
import threading

#: Allocations (less deallocations) of container objects before the youngest generation is
#: scanned, and how many scans of each generation before the next older one is.
THRESHOLDS = (50_000, 20, 20)

_lock = threading.Lock()
_applied = False


def apply() -> None:
    """Freeze what the process holds so far (its modules, the catalog), so the collector never
    scans those objects again, and raise its thresholds to :data:`THRESHOLDS`. Once per
    process: later calls do nothing, so that the app's later objects (a session's plans) are
    never frozen and their reference cycles are still collected."""
    global _applied
    with _lock:
        if _applied:
            return
        gc.freeze()
        gc.set_threshold(*THRESHOLDS)
        _applied = True
