"""Worker processes: the one way this package starts them. A frontier's workers, a HiGHS run
guarded in its own process (``highs_runner``) and robustness's Dask workers all start inside
:func:`starting`; the first two are forked from one clean server process (:func:`context`).
Dask starts its own workers with its configured method (``spawn`` by default), which it fixes
when it is first imported."""
from __future__ import annotations

import multiprocessing as mp
import sys
import threading
import types
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

from optimizer import gc_policy

#: Forked from a server process that has loaded only these: forking the caller itself could copy
#: a HiGHS scheduler (or a web server's locks) the child cannot use, and spawning imports all
#: of them again for every worker.
PRELOAD = ("numpy", "highspy", "optimizer.core.highs_runner")

_main_lock = threading.RLock()


def context() -> mp.context.BaseContext:
    """The multiprocessing context every worker of this package is started with."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(list(PRELOAD))
    return ctx


def pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes (started inside :func:`starting` when the first job is
    submitted) that collect memory as the command line and the app do (``gc_policy``)."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=context(), initializer=gc_policy.apply)


@contextmanager
def starting():
    """While worker processes are started, hide the caller's main script from them.

    A process started by spawn or forkserver first runs the parent's ``__main__`` script
    again (as ``__mp_main__``). Under Streamlit that script is the app: every worker would
    run the whole app without a browser session, print Streamlit's "run it with streamlit
    run" warning and "missing ScriptRunContext" lines, and redo the app's work. Workers need
    only this package, so the main module is replaced by an empty one (no file, no import
    name) while they are started.
    """
    with _main_lock:
        main = sys.modules.get("__main__")
        stand_in = types.ModuleType("__main__")
        sys.modules["__main__"] = stand_in
        try:
            yield
        finally:
            # A Streamlit rerun in another thread may have installed its own script meanwhile.
            if sys.modules.get("__main__") is stand_in and main is not None:
                sys.modules["__main__"] = main
