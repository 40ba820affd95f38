"""Editors of the parts of a scenario: sites, budgets, funding sources, state and mandates,
must / must-not lists, weights and vendor quotes. Each writes the user's changes into the
edited scenario mapping (``state``); checking them is left to ``optimizer.load_inputs``."""
from __future__ import annotations

import json
from typing import get_args

import pandas as pd
import streamlit as st

from optimizer import Catalog
from optimizer.data.scenario import Site

from . import state

SCENARIO = state.SCENARIO
#: Key of the Plan page's number that sets the local capital budget of every fiscal year.
EVERY_YEAR = f"{SCENARIO}{state.SEP}budget.capital.every_year"
#: Per-year budget inputs in one row, at most.
YEARS_PER_ROW = 5
#: Names the Plan page's own keys of values the Scenario page also has widgets for.
PLAN_PAGE = "plan"
SITE_COLUMNS = list(Site.model_fields)
SITE_LEVELS = list(get_args(Site.model_fields["level"].annotation))
NO_STATE, EVERY_SITE = "(none)", "(every site)"
QUOTE_FIELDS = ("measure", "site", "capital", "annual", "source")


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows of an edited table as plain data, empty cells left out (so defaults apply and
    missing required values are reported by the scenario check)."""
    rows = json.loads(frame.to_json(orient="records"))
    return [{k: v for k, v in row.items() if v is not None and v != ""} for row in rows]


def sites_frame(sites: list[dict]) -> pd.DataFrame:
    """Sites as a table, measures in place joined with ``;``."""
    frame = pd.DataFrame(sites).reindex(columns=SITE_COLUMNS)
    frame["in_place"] = [";".join(v) if isinstance(v, list) else v for v in frame["in_place"]]
    frame["installed"] = ["; ".join(f"{k}:{y}" for k, y in v.items()) if isinstance(v, dict) else v
                          for v in frame["installed"]]
    return frame


def sites_records(frame: pd.DataFrame) -> list[dict]:
    """An edited sites table as site mappings (``in_place`` split back into a list;
    ``installed`` stays text, ``measure:year; ...``, which the scenario check reads)."""
    rows = records(frame)
    for row in rows:
        if isinstance(row.get("in_place"), str):
            row["in_place"] = [m.strip() for m in row["in_place"].split(";") if m.strip()]
    return rows


def table_editor(name: str, frame: pd.DataFrame, path: tuple, to_data, **kwargs) -> None:
    """An editable table of part of the scenario; edits are written back at ``path``.

    The table starts from the scenario as it is whenever it appears afresh (first visit,
    after a load, back from another page), so edits are never applied twice.

    Parameters
    ----------
    name : str
        Names the table in widget keys.
    frame : DataFrame
        The part of the scenario as a table.
    path : tuple
        Where the part lives in the scenario mapping.
    to_data : callable
        Turns the edited table back into plain data.
    **kwargs
        Passed to ``st.data_editor``.
    """
    key = f"{SCENARIO}{state.SEP}{name}#{state.version()}.{st.session_state.get('rev' + name, 0)}"
    base = "base" + state.SEP + name
    if key not in st.session_state:
        st.session_state[base] = frame
    edited = st.data_editor(st.session_state[base], key=key, width="stretch", **kwargs)
    if not edited.equals(st.session_state[base]):
        state.set_at(SCENARIO, path, to_data(edited))


def refresh(name: str) -> None:
    """Start a table editor afresh from the scenario (after a change made elsewhere)."""
    st.session_state["rev" + name] = st.session_state.get("rev" + name, 0) + 1


def sites(data: dict) -> None:
    """The sites table: add, delete and edit rows."""
    st.caption("One row per school. Measures in place are catalog ids separated by ';'. "
               "Problems name a site by its row in this table, counted from 1, and its id "
               "(site 4 (id HS-1) is the fourth row).")
    table_editor("sites", sites_frame(data["sites"]), ("sites",), sites_records, num_rows="dynamic",
                 height=min(38 + 35 * (len(data["sites"]) + 1), 560),
                 column_config={"level": st.column_config.SelectboxColumn(options=SITE_LEVELS),
                                "in_place": st.column_config.TextColumn(width="large")})


def budget(data: dict) -> None:
    """Local capital and operating budgets per fiscal year, carry-over and a total cap."""
    years = list(data["budget"]["capital"])
    for which, words in (("capital", "Local capital"), ("operating", "Local operating")):
        for column, year in zip(st.columns(len(years)), years):
            state.bound(column.number_input, f"{words} {year} ($)", SCENARIO, ("budget", which, year),
                        min_value=0.0, step=10_000.0, format="%.0f")
    left, right = st.columns(2)
    state.bound(left.toggle, "Unspent local capital carries over to the next year", SCENARIO,
                ("budget", "carry_over"), default=False)
    state.bound(right.number_input, "Cap on all local capital over the horizon ($, empty: none)",
                SCENARIO, ("budget", "total"), min_value=0.0, step=10_000.0, format="%.0f")


def same_amount(capital) -> float | None:
    """The one amount of a capital budget: the number itself, or the amount every fiscal
    year shares (None when the years differ or hold no number)."""
    amounts = list(capital.values()) if isinstance(capital, dict) else [capital]
    if amounts and all(isinstance(a, (int, float)) and a == amounts[0] for a in amounts):
        return float(amounts[0])
    return None


def _set_every_year() -> None:
    """Write the number typed to every fiscal year's capital budget (and their inputs)."""
    amount = st.session_state[EVERY_YEAR]
    if amount is None:  # cleared: the years keep their amounts
        return
    capital = state.scenario()["budget"]["capital"]
    if not isinstance(capital, dict):  # one number for every year stays one number
        state.set_at(SCENARIO, ("budget", "capital"), amount)
        return
    for year in capital:
        capital[year] = amount
        st.session_state[state.key_of(SCENARIO, ("budget", "capital", year), PLAN_PAGE)] = amount


def capital_budget(data: dict) -> None:
    """The scenario's own local capital budget, on the Plan page: one number that sets every
    fiscal year (it shows the amount when the years share one), and each year's amount as
    the scenario has it (the same inputs as the Scenario page's Budget tab)."""
    capital = data["budget"]["capital"]
    st.session_state[EVERY_YEAR] = same_amount(capital)  # follows edits of single years
    st.number_input("Local capital budget per fiscal year ($)", key=EVERY_YEAR, on_change=_set_every_year,
                    min_value=0.0, step=25_000.0, format="%.0f",
                    placeholder="the years differ: see each year below",
                    help="Sets the scenario's local capital budget of every fiscal year to this amount. "
                         "Each year's own amount is below and on the Scenario page.")
    years = list(capital) if isinstance(capital, dict) else []
    for start in range(0, len(years), YEARS_PER_ROW):
        row = years[start:start + YEARS_PER_ROW]
        for column, year in zip(st.columns(len(row)), row):
            state.bound(column.number_input, f"Local capital {year} ($)", SCENARIO, ("budget", "capital", year),
                        page=PLAN_PAGE, min_value=0.0, step=10_000.0, format="%.0f")


def funding(data: dict, catalog: Catalog) -> None:
    """Each funding source: awarded or not, its amount, fiscal years and match rate, and a
    button that removes it; under them, a form that adds a grant from the catalog's programs."""
    sources = data.get("funding_sources") or {}
    if not sources:
        st.info("This scenario has no funding sources.")
    horizon = _horizon_years(data)
    for sid, source in list(sources.items()):
        program = catalog.programs.get(source.get("program") or "")
        with st.container(border=True):
            text, awarded, remove = st.columns([4, 1, 1])
            text.markdown(f"**{source.get('name') or sid}** (`{sid}`)")
            text.caption((f"{program.name} ({program.level})"
                          + {"year": " (the amount is per year)", "total": " (the amount is the whole award)"}.get(
                              source.get("amount_per"), "")) if program else "custom source")
            state.bound(awarded.toggle, "Awarded", SCENARIO, ("funding_sources", sid, "awarded"),
                        default=True)
            remove.button("Remove", key=f"{FUNDING_REMOVE}{sid}", icon=":material/delete:",
                          on_click=_remove_source, args=(sid,))
            amount, first, last, match = st.columns(4)
            state.bound(amount.number_input, "Amount ($)", SCENARIO, ("funding_sources", sid, "amount"),
                        min_value=0.0, step=5_000.0, format="%.0f")
            for column, attr in ((first, "first_year"), (last, "last_year")):
                key = state.key_of(SCENARIO, ("funding_sources", sid, attr))
                if key not in st.session_state:
                    st.session_state[key] = source.get(attr)
                column.number_input(YEAR_LABELS[attr], key=key, value=None, step=1, format="%d",
                                    min_value=horizon[0] - 10, max_value=horizon[-1] + 10,
                                    placeholder=YEAR_PLACEHOLDERS[attr],
                                    on_change=_set_years, args=(sid,))
            rate = program.match_rate if program else 0.0
            state.bound(match.number_input, "Match rate", SCENARIO, ("funding_sources", sid, "match_rate"),
                        min_value=0.0, max_value=1.0, step=0.05, format="%.2f", value=None,
                        placeholder=f"the program's: {rate:.2f}" if program else "none",
                        help="The share the district must add (0.25: 25%). Empty: the program's rate.")
            problem = st.session_state.get(_problem_key(sid))
            if problem:
                st.error(problem)
    add_grant(data, catalog)


#: The first and last fiscal year of a funding source: labels and what an empty year means.
YEAR_LABELS = {"first_year": "First fiscal year", "last_year": "Last fiscal year"}
YEAR_PLACEHOLDERS = {"first_year": "the horizon's first", "last_year": "the program's last"}
#: Key prefixes of the remove buttons and of the add-a-grant form's inputs (the form's start
#: with the scenario's, so a load resets them to the new scenario's defaults).
FUNDING_REMOVE = "funding_remove" + state.SEP
GRANT = f"{SCENARIO}{state.SEP}add_grant."
GRANT_FIELDS = ("program", "id", "amount", "first_year", "last_year", "match_rate", "awarded")


def _horizon_years(data: dict) -> list[int]:
    """The fiscal years of the scenario's horizon (one year, 2027, if it has none readable)."""
    horizon = data.get("horizon") or {}
    start, years = horizon.get("start"), horizon.get("years")
    if not isinstance(start, int) or not isinstance(years, int) or years < 1:
        return [start if isinstance(start, int) else 2027]
    return list(range(start, start + years))


def _problem_key(sid: str) -> str:
    return f"{SCENARIO}{state.SEP}funding_problem.{sid}"


def _years_problem(first, last) -> str | None:
    """What is wrong with a source's fiscal years (None when nothing is)."""
    if first is not None and last is not None and last < first:
        return (f"Last fiscal year ({last}) is before the first fiscal year ({first}): "
                "change one of them.")
    return None


def _set_years(sid: str) -> None:
    """Write a source's first and last fiscal years as its inputs show them, unless the last
    is before the first: then the scenario keeps its years and the row says why."""
    years = {attr: st.session_state.get(state.key_of(SCENARIO, ("funding_sources", sid, attr)))
             for attr in YEAR_LABELS}
    problem = _years_problem(years["first_year"], years["last_year"])
    if problem:
        st.session_state[_problem_key(sid)] = problem + " This change is not applied yet."
        return
    st.session_state.pop(_problem_key(sid), None)
    for attr, year in years.items():
        state.set_at(SCENARIO, ("funding_sources", sid, attr), None if year is None else int(year))


def _forget_widgets(sid: str) -> None:
    """Drop the inputs and message of a source, so a source added later under its id starts afresh."""
    prefix = state.key_of(SCENARIO, ("funding_sources", sid)) + "."
    for key in [k for k in st.session_state if str(k).startswith(prefix)]:
        del st.session_state[key]
    st.session_state.pop(_problem_key(sid), None)


def _remove_source(sid: str) -> None:
    state.scenario().get("funding_sources", {}).pop(sid, None)
    _forget_widgets(sid)


def open_programs(catalog: Catalog) -> list[str]:
    """Ids of the catalog's programs still open on its as-of date (a closed program's money is gone)."""
    return [pid for pid, program in catalog.programs.items() if not program.closed_on(catalog.as_of)]


def grant_id(program_id: str, taken) -> str:
    """An id for a new source of ``program_id``: the program's id, numbered when taken."""
    sid, n = program_id, 2
    while sid in taken:
        sid, n = f"{program_id}-{n}", n + 1
    return sid


def _grant_defaults(data: dict, catalog: Catalog, program_id: str) -> dict:
    """What the add-a-grant form shows for a program: its id, rate and the horizon's years."""
    program = catalog.programs[program_id]
    years = _horizon_years(data)
    return {"program": program_id, "id": grant_id(program_id, data.get("funding_sources") or {}),
            "amount": None, "first_year": years[0], "last_year": years[-1],
            "match_rate": float(program.match_rate), "awarded": True}


def _seed_grant(data: dict, catalog: Catalog, program_id: str, fields=GRANT_FIELDS) -> None:
    defaults = _grant_defaults(data, catalog, program_id)
    for field in fields:
        st.session_state[GRANT + field] = defaults[field]


def _grant_problems(values: dict, data: dict, catalog: Catalog) -> list[str]:
    """What is wrong with the add-a-grant form's values, each naming its field."""
    problems = []
    sid = (values["id"] or "").strip()
    if not sid:
        problems.append("Id: give the source an id (letters, digits and dashes).")
    elif sid in (data.get("funding_sources") or {}):
        problems.append(f"Id: '{sid}' is already a funding source of this scenario; choose another.")
    if values["amount"] is None:
        problems.append("Amount: enter the amount awarded (US dollars).")
    for attr, label in YEAR_LABELS.items():
        if values[attr] is None:
            problems.append(f"{label}: enter a fiscal year.")
    problem = _years_problem(values["first_year"], values["last_year"])
    if problem:
        problems.append(problem)
    program = catalog.programs[values["program"]]
    rate = values["match_rate"]
    if rate is not None and rate < program.match_rate and not program.match_waiver_possible:
        problems.append(f"Match rate: at least the program's {program.match_rate:.0%} "
                        "(it grants no waiver).")
    return problems


def _add_grant(catalog: Catalog) -> None:
    """Add the form's grant to the scenario, or keep the form as typed and say what is wrong."""
    data = state.scenario()
    values = {f: st.session_state.get(GRANT + f) for f in GRANT_FIELDS}
    problems = _grant_problems(values, data, catalog)
    st.session_state[GRANT + "problems"] = problems
    if problems:
        return
    program = catalog.programs[values["program"]]
    sid = values["id"].strip()
    _forget_widgets(sid)
    source = {"program": program.id, "name": program.name, "amount": float(values["amount"]),
              "first_year": int(values["first_year"]), "last_year": int(values["last_year"]),
              "awarded": bool(values["awarded"])}
    if program.annual:  # the form asks for the amount a year (its caption says so)
        source["amount_per"] = "year"
    if values["match_rate"] is not None:
        source["match_rate"] = float(values["match_rate"])
    data.setdefault("funding_sources", {})[sid] = source
    _seed_grant(data, catalog, program.id)  # a fresh form, its id free again


def add_grant(data: dict, catalog: Catalog) -> None:
    """A form adding a grant from the catalog's open programs: its id, amount, fiscal years,
    match rate and whether it is awarded."""
    programs = open_programs(catalog)
    if not programs:
        return
    if st.session_state.get(GRANT + "program") not in programs:
        _seed_grant(data, catalog, programs[0])
    for field in GRANT_FIELDS:  # back from another page: the form shows the defaults again
        if GRANT + field not in st.session_state:
            _seed_grant(data, catalog, st.session_state[GRANT + "program"], (field,))
    years = _horizon_years(data)
    with st.container(border=True):
        st.markdown("**Add a grant** from the catalog's programs (closed programs are left out)")
        st.selectbox("Program", programs, key=GRANT + "program",
                     format_func=lambda p: f"{catalog.programs[p].name} ({catalog.programs[p].level})",
                     on_change=lambda: _seed_grant(state.scenario(), catalog, st.session_state[GRANT + "program"],
                                                   ("id", "match_rate")))
        program = catalog.programs[st.session_state[GRANT + "program"]]
        if program.annual:
            st.caption("This program's amount is per year.")
        ident, amount, awarded = st.columns([2, 2, 1])
        ident.text_input("Id", key=GRANT + "id", help="The source's key in the scenario, unique in it.")
        amount.number_input("Amount ($)", key=GRANT + "amount", value=None, min_value=0.0, step=5_000.0,
                            format="%.0f", placeholder="the amount awarded")
        awarded.toggle("Awarded", key=GRANT + "awarded")
        first, last, match = st.columns(3)
        for column, attr in ((first, "first_year"), (last, "last_year")):
            column.number_input(YEAR_LABELS[attr], key=GRANT + attr, value=None, step=1, format="%d",
                                min_value=years[0] - 10, max_value=years[-1] + 10)
        match.number_input("Match rate", key=GRANT + "match_rate", value=None, min_value=0.0, max_value=1.0,
                           step=0.05, format="%.2f", help="The share the district must add (0.25: 25%).")
        st.button("Add the grant", key=GRANT + "add", icon=":material/add:", on_click=_add_grant,
                  args=(catalog,))
        for problem in st.session_state.get(GRANT + "problems") or []:
            st.error(problem)


def mandates(data: dict, catalog: Catalog) -> None:
    """The state whose mandate profile applies, and which mandates apply."""
    codes = [NO_STATE] + sorted(set(catalog.states) | ({data["state"]} if data.get("state") else set()))
    code = state.bound(st.selectbox, "State", SCENARIO, ("state",), options=codes,
                       format_func=lambda c: c if c == NO_STATE or c not in catalog.states
                       else f"{c} ({catalog.states[c].name})",
                       show=lambda v: v or NO_STATE, keep=lambda v: None if v == NO_STATE else v)
    state.bound(st.toggle, "Apply the state's mandate profile", SCENARIO, ("mandates", "state_profile"),
                default=True)
    state.bound(st.toggle, "Supplement, not supplant: federal money may not pay for state mandates",
                SCENARIO, ("mandates", "supplement_not_supplant"), default=True)
    if code in catalog.states:
        profile = catalog.states[code]
        st.dataframe(pd.DataFrame([{"mandate": m.title, "strength": m.strength, "deadline": m.deadline,
                                    "signed": m.enacted, "in effect": m.effective,
                                    "measures": ", ".join(m.measures), "source": m.source}
                                   for m in profile.mandates]), hide_index=True, width="stretch")
    extra = data.get("mandates", {}).get("extra") or {}
    if extra:
        st.caption("Mandates this scenario adds (edit them in the YAML file):")
        st.dataframe(pd.DataFrame([{"key": k, **v} for k, v in extra.items()]), hide_index=True)


def picks(data: dict, catalog: Catalog) -> None:
    """Measures that must be bought, and measures that must not, at a site or everywhere."""
    site_ids = [s.get("id") for s in data["sites"] if s.get("id")]
    config = {"measure": st.column_config.SelectboxColumn(options=sorted(catalog.measures), required=True),
              "site": st.column_config.SelectboxColumn(options=site_ids, help="empty: every site")}
    for listing, words in (("must", "Must buy"), ("must_not", "Must not buy")):
        st.markdown(f"**{words}** (leave the site empty for every site)")
        frame = pd.DataFrame(data.get(listing, []), columns=["measure", "site"])
        table_editor(listing, frame, (listing,), records, num_rows="dynamic", column_config=config)


def weights(data: dict, catalog: Catalog) -> None:
    """Relative importance of each layer and component (1 when not given)."""
    taxonomy = catalog.taxonomy
    for group, named in (("layers", taxonomy.layers), ("components", taxonomy.components)):
        st.markdown(f"**{group.title()}**")
        for column, item in zip(st.columns(len(named)), named):
            state.bound(column.number_input, item.name, SCENARIO, ("weights", group, item.id),
                        default=1.0, min_value=0.0, max_value=1000.0, step=0.1)


def _add_quote() -> None:
    values = {f: st.session_state[f"quote{state.SEP}{f}"] for f in QUOTE_FIELDS}
    quote = {k: v for k, v in values.items() if v not in (None, "", EVERY_SITE)}
    state.scenario().setdefault("cost_overrides", []).append(quote)
    refresh("cost_overrides")


def quotes(data: dict, catalog: Catalog) -> None:
    """Vendor quotes replacing catalog costs: a form to add one, a table to edit them."""
    site_ids = [s.get("id") for s in data["sites"] if s.get("id")]
    with st.form("vendor_quote", clear_on_submit=True, border=True):
        st.markdown("**Add a vendor quote** (cost per unit, replacing the catalog's typical cost)")
        first, second = st.columns(2)
        first.selectbox("Measure", sorted(catalog.measures), key=f"quote{state.SEP}measure",
                        format_func=lambda m: f"{m} ({catalog.measures[m].name})")
        second.selectbox("Site", [EVERY_SITE] + site_ids, key=f"quote{state.SEP}site")
        first.number_input("Capital per unit ($)", min_value=0.0, value=None, step=100.0,
                           key=f"quote{state.SEP}capital")
        second.number_input("Annual cost per unit ($)", min_value=0.0, value=None, step=100.0,
                            key=f"quote{state.SEP}annual")
        st.text_input("Source of the quote", placeholder="e.g. Acme Locks quote of 2026-03-02",
                      key=f"quote{state.SEP}source")
        st.form_submit_button("Add the quote", on_click=_add_quote)
    frame = pd.DataFrame(data.get("cost_overrides", []), columns=list(QUOTE_FIELDS)).astype(
        {"capital": float, "annual": float})
    config = {"measure": st.column_config.SelectboxColumn(options=sorted(catalog.measures), required=True),
              "site": st.column_config.SelectboxColumn(options=site_ids, help="empty: every site"),
              "capital": st.column_config.NumberColumn(min_value=0.0),
              "annual": st.column_config.NumberColumn(min_value=0.0)}
    table_editor("cost_overrides", frame, ("cost_overrides",), records, num_rows="dynamic",
                 column_config=config)
