"""What the app remembers between reruns and pages: the edited scenario, the solver
options, upload problems and pinned plans, all in ``st.session_state``.

The edited scenario is a plain mapping and is the single source of truth, budgets included:
widgets are seeded from it and write back to it in their ``on_change`` callbacks, so an edit
survives a failed solve, a bad upload and a visit to another page. Only loading a scenario
replaces it: picking a built-in one, or adding a good file to the upload box (files already
read are never read again, so a rerun, a bad file or removing a file keeps the edits). The
options hold the solver's settings only.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from optimizer.defaults import DEFAULT_GAP

from . import compute, scenario_files

SCENARIO, FILE, VERSION = "scenario", "scenario_file", "scenario_version"
OPTIONS, PINS, UPLOAD_PROBLEMS, RAN, SOLVED = "options", "pins", "upload_problems", "ran", "solved"
#: The request whose final plan this session showed last (what-ifs start from its plan).
LAST_SOLVED = "last_solved"
#: What the upload box holds that was already read (a :class:`scenario_files.Uploads`).
UPLOADS = "uploads"
#: Widget keys bound to the scenario or the options start with their root's name and this.
SEP = ":"
#: Seconds the solver gets per plan in the app (the command line has no limit by default).
TIME_LIMIT = 120.0
PIN_LABELS = ("A", "B", "C")


@dataclass(frozen=True)
class Pin:
    """A plan kept for comparison: its request (the cache key of its plan) and the words
    that say what it was."""

    request: str
    title: str


def init() -> None:
    """Open on the built-in example the first time a session runs."""
    if SCENARIO not in st.session_state:
        name = scenario_files.default_name()
        st.session_state[VERSION] = 0
        st.session_state[PINS] = {}
        st.session_state[RAN] = set()
        st.session_state[SOLVED] = set()
        load(scenario_files.load_builtin(name, compute.catalog), name)


def load(data: dict, file_name: str) -> None:
    """Replace the edited scenario (loading a built-in or an upload) and reset its widgets."""
    for key in [k for k in st.session_state if str(k).startswith((SCENARIO + SEP, OPTIONS + SEP))]:
        del st.session_state[key]
    st.session_state[SCENARIO] = data
    st.session_state[FILE] = file_name
    st.session_state[OPTIONS] = {"gap": DEFAULT_GAP, "time_limit": TIME_LIMIT}
    st.session_state[VERSION] += 1
    st.session_state[UPLOAD_PROBLEMS] = None


def scenario() -> dict:
    """The edited scenario mapping."""
    return st.session_state[SCENARIO]


def file_name() -> str:
    """The file name the edited scenario came from."""
    return st.session_state[FILE]


def options() -> dict:
    """Solver options: ``gap`` and ``time_limit`` (budgets live in the scenario)."""
    return st.session_state[OPTIONS]


def version() -> int:
    """Counts loads; table editors include it in their keys to start afresh on a load."""
    return st.session_state[VERSION]


def scenario_key() -> str:
    """JSON of the edited scenario and its file name (a cache key).

    Keys keep the scenario's order: the order of sites and funding sources is the order of
    the model's rows, which can change which of several equally good plans the solver returns.
    """
    return json.dumps({"file": file_name(), "scenario": scenario()}, separators=(",", ":"))


def request() -> str:
    """JSON of the edited scenario plus the plan options (a cache key), in the scenario's
    order (see :func:`scenario_key`)."""
    return request_of(file_name(), scenario(), options())


def request_of(file: str, data: dict, solve_options: dict) -> str:
    """The request of a scenario mapping, its file name and plan options (as :func:`request`)."""
    return json.dumps({"file": file, "scenario": data, "options": solve_options}, separators=(",", ":"))


def get_at(root: str, path: tuple, default: Any = None) -> Any:
    """The value at ``path`` in the scenario or the options (``root``)."""
    node = st.session_state[root]
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def set_at(root: str, path: tuple, value: Any) -> None:
    """Set the value at ``path`` in the scenario or the options, creating mappings on the way."""
    node = st.session_state[root]
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


def key_of(root: str, path: tuple, page: str = "") -> str:
    """The widget key :func:`bound` gives the value at ``path`` in ``root`` (on ``page``)."""
    return root + SEP + ".".join(map(str, path)) + (f"@{page}" if page else "")


def bound(widget: Callable, label: str, root: str, path: tuple, default: Any = None,
          show: Callable = lambda v: v, keep: Callable = lambda v: v, page: str = "", **kwargs) -> Any:
    """Render a widget showing the value at ``path``; the user's changes are written back.

    Parameters
    ----------
    widget : callable
        A Streamlit widget function (``st.number_input``, ``st.toggle``...), or the same
        method of a container.
    label : str
        The widget's label.
    root : {"scenario", "options"}
        Which mapping the value lives in.
    path : tuple
        Keys leading to the value.
    default : Any
        Shown when the mapping has no value there.
    show, keep : callable
        Convert the stored value for the widget, and the widget's value for storing.
    page : str
        Set when the value has a widget on another page too: a widget key belongs to one
        page's widget (the same key on two pages would show the other page's stale state).
    **kwargs
        Passed to the widget.

    Returns
    -------
    Any
        The widget's value.
    """
    key = key_of(root, path, page)
    if key not in st.session_state:  # first run, after a load, or back from another page
        st.session_state[key] = show(get_at(root, path, default))

    def store() -> None:
        set_at(root, path, keep(st.session_state[key]))

    return widget(label, key=key, on_change=store, **kwargs)


def pins() -> dict[str, Pin]:
    """Pinned plans by label (A, B, C)."""
    return st.session_state[PINS]


def pin(label: str, request: str, title: str) -> None:
    """Keep the plan of ``request`` under ``label`` for the Compare page."""
    st.session_state[PINS][label] = Pin(request, title)


def unpin(label: str) -> None:
    """Forget the plan pinned under ``label``."""
    st.session_state[PINS].pop(label, None)


def upload_problems() -> list | None:
    """Problems of the last upload, or None when it was read (or there was none)."""
    return st.session_state.get(UPLOAD_PROBLEMS)


def set_upload_problems(problems: list | None) -> None:
    """Remember the problems of a refused upload (the edited scenario stays as it was)."""
    st.session_state[UPLOAD_PROBLEMS] = problems


def uploads() -> scenario_files.Uploads:
    """What the upload box holds that was already read."""
    return st.session_state.get(UPLOADS) or scenario_files.Uploads()


def set_uploads(record: scenario_files.Uploads) -> None:
    """Remember what the upload box holds that was read, and show its problems (if any)."""
    st.session_state[UPLOADS] = record
    set_upload_problems(list(record.problems) or None)


def forget_uploads() -> None:
    """The upload box starts empty again (it is new on the page): any file added to it is new.
    Problems shown stay until the next upload."""
    st.session_state[UPLOADS] = scenario_files.Uploads()


def started(task: str, clicked: bool) -> bool:
    """Whether an analysis was asked for with these exact settings, now or earlier.

    An analysis runs on a button; once run, it is shown again (from the cache) whenever the
    user comes back with the same scenario and settings.
    """
    if clicked:
        st.session_state[RAN].add(task)
    return task in st.session_state[RAN]


def solved(request_text: str, now: bool = False) -> bool:
    """Whether this session has shown the final plan of a request (``now``: it just did)."""
    if now:
        st.session_state[SOLVED].add(request_text)
        st.session_state[LAST_SOLVED] = request_text
    return request_text in st.session_state[SOLVED]


def last_solved() -> str | None:
    """The request whose final plan this session showed last: the plan before a change."""
    return st.session_state.get(LAST_SOLVED)
