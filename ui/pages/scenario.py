"""Scenario page: pick a built-in scenario or upload one, edit it, save it as YAML. An upload box
whose files were loaded is replaced by an empty one, so the files of earlier uploads never pile up."""
from __future__ import annotations

import streamlit as st

from optimizer import InputError
from optimizer.data.scenario_io import scenario_dict, scenario_yaml
from ui import compute, editors, scenario_files, state, views

BUILTIN, UPLOAD = "builtin", "upload"
#: Session key counting upload boxes: once its files are loaded, a box is replaced by an empty one.
BOXES = "upload_boxes"


def _upload_key() -> str:
    """The widget key of this session's current upload box."""
    return f"{UPLOAD}-{st.session_state.get(BOXES, 0)}"


def _load_builtin() -> None:
    name = st.session_state[BUILTIN]
    if name:
        state.load(scenario_files.load_builtin(name, compute.catalog), name)


def _read_upload() -> None:
    """Read only the files newly added to the upload box: a rerun, a bad file or removing a
    file never reloads a file read before, so the edits made since stay."""
    files = [(f.name, f.getvalue()) for f in st.session_state[_upload_key()] or []]
    record, loaded = scenario_files.take_upload(files, state.uploads(), state.scenario(),
                                                state.file_name(), compute.catalog)
    if loaded:
        state.load(*loaded)
        st.session_state[BUILTIN] = None
        st.session_state[BOXES] = st.session_state.get(BOXES, 0) + 1  # its files are in: the box starts empty
        record = scenario_files.Uploads()
    state.set_uploads(record)


def _number(value) -> float:
    return value if isinstance(value, (int, float)) else 0


st.title("Scenario")
names = scenario_files.builtin_names()
if BUILTIN not in st.session_state:
    st.session_state[BUILTIN] = state.file_name() if state.file_name() in names else None
if _upload_key() not in st.session_state:  # a new, empty upload box: what the old one held is gone
    state.forget_uploads()
pick, upload = st.columns([1, 2])
pick.selectbox("Built-in scenario", names, key=BUILTIN, on_change=_load_builtin,
               placeholder=f"uploaded: {state.file_name()}")
upload.file_uploader("Or upload a scenario (YAML, with the sites CSV or Excel file it names), "
                     "or a sites table alone to replace the sites", type=scenario_files.UPLOAD_TYPES,
                     accept_multiple_files=True, key=_upload_key(), on_change=_read_upload)
if state.upload_problems():
    st.error("The upload was not used; the scenario below is unchanged. Problems found:")
    views.problems_table(state.upload_problems())

data = state.scenario()
catalog = compute.catalog(data.get("catalog_edition", 7))
summary = st.container()  # filled after the editors, so it shows this run's edits
tabs = st.tabs(["Sites", "Budget", "Funding sources", "State and mandates", "Must and must not",
                "Weights", "Vendor quotes"])
with tabs[0]:
    editors.sites(data)
with tabs[1]:
    editors.budget(data)
with tabs[2]:
    editors.funding(data, catalog)
with tabs[3]:
    editors.mandates(data, catalog)
with tabs[4]:
    editors.picks(data, catalog)
with tabs[5]:
    editors.weights(data, catalog)
with tabs[6]:
    editors.quotes(data, catalog)

with summary:
    columns = st.columns(4)
    columns[0].metric("Sites", len(data["sites"]))
    columns[1].metric("Students", f"{sum(_number(s.get('enrollment')) for s in data['sites']):,.0f}")
    horizon = data["horizon"]
    columns[2].metric("Fiscal years", f"{horizon['start']}-{horizon['start'] + horizon['years'] - 1}")
    columns[3].metric("Catalog measures", len(catalog.measures))
    st.caption(f"**{data['name']}** ({state.file_name()}). {data.get('description', '')}")
    try:
        inputs = compute.scenario_inputs(state.scenario_key())
    except InputError as exc:
        views.show_error(exc, "The edited scenario cannot be planned yet")
    else:
        save, plan = st.columns([2, 3])
        save.download_button("Save the scenario as YAML", icon=":material/download:",
                             data=scenario_yaml(scenario_dict(inputs.scenario)),
                             file_name=state.file_name(), mime="application/x-yaml")
        plan.page_link(views.PLAN_PAGE, label="See the plan", icon=":material/checklist:")
