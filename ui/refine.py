"""The final plan of an edit, refined in the background while the Plan page shows the first
look: the page never waits for it, and a newer edit stops it (the solve is interrupted, see
``optimizer.core.status.stoppable``). Each session has at most one refinement; the
finished plan lands in the app's plan cache (``compute.plan``), where every page takes it.

``SCHOOL_SECURITY_REFINE=inline`` makes pages wait for the final plan instead (scripted runs
of the app, such as its tests, read the final plan on the first run)."""
from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from optimizer.core.result import PlanResult
from optimizer.core.status import stoppable

from . import compute

#: Environment variable: ``inline`` to wait for the final plan in the page.
REFINE_ENV = "SCHOOL_SECURITY_REFINE"
#: Session key of the refinement under way (a :class:`Refinement`).
REFINING = "refining"
#: Refinements solved at once by the server (each session has at most one; the rest queue).
WORKERS = 2
#: Seconds between the Plan page's looks at a refinement under way.
POLL_SECONDS = 0.5

_workers = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="refine")


@dataclass(frozen=True)
class Refinement:
    """A final plan being solved for ``request``; setting ``stop`` interrupts it."""

    request: str
    future: Future
    stop: threading.Event


def inline() -> bool:
    """True when pages wait for the final plan (``SCHOOL_SECURITY_REFINE=inline``)."""
    return os.environ.get(REFINE_ENV, "background") == "inline"


def refinement(request: str) -> Refinement:
    """This session's refinement of ``request``: the one under way, or a new one, which
    stops the session's refinement of an older request."""
    current = st.session_state.get(REFINING)
    if current is not None and current.request == request and not current.stop.is_set():
        return current
    if current is not None:
        current.stop.set()
    stop = threading.Event()
    ctx = get_script_run_ctx()

    def solve() -> PlanResult:
        add_script_run_ctx(threading.current_thread(), ctx)  # the plan cache belongs to the app's runtime
        with stoppable(stop):
            return compute.plan(request)

    job = Refinement(request, _workers.submit(solve), stop)
    st.session_state[REFINING] = job
    return job


def finished(request: str) -> bool:
    """True when this session's refinement of ``request`` is done (its plan is in the cache)."""
    current = st.session_state.get(REFINING)
    return current is not None and current.request == request and current.future.done()
