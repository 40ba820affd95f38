"""Streamlit app: interactive what-if planning on a district scenario.

Run with ``streamlit run app.py``. It opens on the built-in suburban example; the pages live
in ``ui/pages`` and call only public functions of ``optimizer``.
"""
from __future__ import annotations

import streamlit as st

from optimizer import gc_policy
from ui import state

gc_policy.apply()  # once per server process, on the first session's first run, before its state is made
st.set_page_config(page_title="School security planner", page_icon=":material/shield:", layout="wide")
st.set_option("client.showErrorDetails", "none")  # input problems are shown in words; never a traceback
st.set_option("client.toolbarMode", "viewer")
state.init()
PAGES = [("scenario", "Scenario", "edit_note"), ("plan", "Plan", "checklist"),
         ("funding", "Funding", "payments"), ("frontier", "Frontier", "stacked_line_chart"),
         ("opportunities", "Grant opportunities", "savings"),
         ("compare", "Compare", "compare_arrows"), ("screening", "Screening and pitch", "filter_alt"),
         ("robustness", "Robustness", "casino"), ("export", "Export", "download"),
         ("workspace", "Workspace", "inventory_2")]
page = st.navigation([st.Page(f"ui/pages/{name}.py", title=title, icon=f":material/{icon}:")
                      for name, title, icon in PAGES])
st.sidebar.caption(f"Scenario: **{state.scenario()['name']}** ({state.file_name()})")
page.run()
