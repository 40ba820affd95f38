"""Writing a plan as JSON, CSV or an Excel workbook a finance office can use. Plan files hold
no timings or dates: the same input gives the same file, byte for byte. (A workbook must carry
dates, in its document properties and in its zip entries; they are the catalog's as-of date.)"""
from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
import zipfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.core.plan import LOCAL
from optimizer.core.result import PlanResult
from optimizer.data.inputs import Inputs
from optimizer.data.stances import STANCE_WORDS
from optimizer.safe_write import replacing

BUDGET_CATEGORIES = ["personnel", "equipment", "supplies", "contractual", "training", "other"]

#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_like(value) -> bool:
    """Whether a spreadsheet could run ``value`` as a formula: it starts with a formula
    character, or with its full-width form (``＝``, ``＋``), which some spreadsheets and input
    methods read as the ASCII one."""
    return isinstance(value, str) and unicodedata.normalize("NFKC", value[:1]).startswith(FORMULA_STARTS)


def _safe(value):
    """Neutralise text a spreadsheet would run as a formula."""
    return "'" + value if formula_like(value) else value


def write_table(frame: pd.DataFrame, path: Path | str, extra: dict | None = None) -> Path:
    """Write an analysis table: ``.csv`` (text cells a spreadsheet would run as a formula
    prefixed with an apostrophe) or ``.json`` (``extra`` keys beside its ``rows``), replacing
    any earlier file whole.

    Raises
    ------
    ValueError
        For another suffix.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise ValueError(f"unknown table file type {suffix!r}; use .csv or .json")
    with replacing(path) as temp:
        if suffix == ".csv":
            safe_frame(frame).to_csv(temp, index=False, lineterminator="\n")
        else:
            records = json.loads(frame.to_json(orient="records", double_precision=6))
            temp.write_text(json.dumps({**(extra or {}), "rows": records}, indent=2) + "\n", encoding="utf-8")
    return path


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Neutralise every text cell (object and pandas string columns alike)."""
    out = frame.copy()
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col]):
            out[col] = out[col].map(_safe)
    return out


def _sheet_name(text: str, taken: set[str]) -> str:
    """A name Excel accepts: no []:*?/\\ or edge quotes, at most 31 characters, unique."""
    base = re.sub(r"[\[\]:*?/\\]", "_", text).strip("'")[:31]
    name, n = base, 1
    while name.lower() in taken:
        n += 1
        name = f"{base[:31 - len(str(n)) - 1]}~{n}"
    taken.add(name.lower())
    return name


def _money(x: float) -> float:
    return round(float(x), 2)


def _figures(result: PlanResult) -> dict:
    """The plan's headline figures as plain data (the first keys of :func:`plan_dict`)."""
    tier1 = result.tier1_reached()
    return {
        "scenario": result.scenario,
        "status": str(result.status),
        "gap": None if result.report.gap is None else round(result.report.gap, 6),
        "objective": round(result.value, 6),
        "baseline_objective": round(result.baseline_value, 6),
        "full_objective": round(result.full_value, 6),
        "gap_closed": round(result.gap_closed, 6),
        "protection_before": round(result.baseline_protection, 6),
        "protection_after": round(result.protection, 6),
        "dollars_per_point": result.dollars_per_point,
        "tier1_reached": {"after": tier1[0], "before": result.tier1_reached(before=True)[0], "of": tier1[1]},
        "headline": result.headline_words()[0],
        "solver": result.report.solver,
        "dollar_year": result.problem.dollar_year,
        "evidence_stance": result.problem.evidence_stance,
        "totals": result.totals(),
        "cost_range": _cost_range(result),
    }


def plan_dict(result: PlanResult) -> dict:
    """The plan as plain data: scenario, status, gap, objective, totals, items with their
    funding by source, spend summaries, and PASS tiers before and after."""
    plan = result.plan
    capital = plan.funding[plan.funding["kind"] == "capital"]
    annual = plan.funding[plan.funding["kind"] == "annual"]
    cap_by_item: dict = defaultdict(dict)
    for (mid, sid, source), amount in capital.groupby(["measure_id", "site_id", "source"])["amount"].sum().items():
        cap_by_item[mid, sid][source] = _money(amount)
    ann_by_item: dict = defaultdict(lambda: defaultdict(dict))
    by_year = annual.groupby(["measure_id", "site_id", "year", "source"])["amount"].sum()
    for (mid, sid, year, source), amount in by_year.items():
        ann_by_item[mid, sid][str(year)][source] = _money(amount)
    why = result.reasons().tolist()
    items = []
    for r, reason in zip(plan.items.itertuples(index=False), why):
        key = (r.measure_id, r.site_id)
        items.append({
            "measure_id": r.measure_id, "site_id": r.site_id, "year": int(r.year),
            "quantity": int(r.quantity), "unit": r.unit, "capital_cost": _money(r.capital_cost),
            "annual_cost": _money(r.annual_cost), "layer": r.layer, "component": r.component,
            "tier": int(r.tier) or None, "name": r.name,
            "funding": dict(cap_by_item.get(key, {})),
            "annual_funding": {y: dict(by) for y, by in ann_by_item.get(key, {}).items()},
            "why": reason,
        })
    before, after = result.tiers()
    by_source = result.spend_by_source()
    return {
        **_figures(result),
        "projects": result.projects().to_dict("records"),
        "what_to_buy": [{k: (int(v) if k in ("schools", "quantity") else v) for k, v in row.items()}
                        for row in result.what_to_buy().to_dict("records")],
        "items": items,
        "spend": {
            "by_year": {str(k): _money(v) for k, v in result.spend_by("year").items()},
            "by_layer": {k: _money(v) for k, v in result.spend_by("layer").items()},
            "by_component": {k: _money(v) for k, v in result.spend_by("component").items()},
            "by_site": {k: _money(v) for k, v in result.spend_by("site_id").items()},
            "by_source": {k: {"capital": _money(r.capital), "annual": _money(r.annual)}
                          for k, r in by_source.iterrows()},
        },
        "grant_use": [{k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
                      for row in result.grant_use().to_dict("records")],
        "tiers": {"before": {s: {k: int(v) for k, v in row.items()} for s, row in before.iterrows()},
                  "after": {s: {k: int(v) for k, v in row.items()} for s, row in after.iterrows()}},
        "notes": list(result.report.notes),
    }


def plan_table(result: PlanResult) -> pd.DataFrame:
    """One row per item with its capital funding split into one column per source and a
    short ``why``; the measure and school names first, the ids last."""
    items = result.plan.items.copy()
    names = result.school_names()
    items["school"] = [names.get(s, s) for s in items["site_id"]]
    items["why"] = result.reasons()
    capital = result.plan.funding[result.plan.funding["kind"] == "capital"]
    split = capital.pivot_table(index=["measure_id", "site_id"], columns="source", values="amount",
                                aggfunc="sum", fill_value=0.0)
    order = [s.id for s in result.problem.sources if s.id in split.columns] + [c for c in [LOCAL] if c in split.columns]
    split = split[order].add_prefix("paid_by_").reset_index()
    items["pass_tier"] = result.pass_tiers()
    table = items.merge(split, on=["measure_id", "site_id"], how="left").fillna(0.0)
    table["dollars_of"] = result.problem.dollar_year
    first = ["name", "school", "year", "quantity", "unit", "capital_cost", "annual_cost", "why", "pass_tier"]
    last = ["measure_id", "site_id"]
    return table[first + [c for c in table.columns if c not in first + last] + last]


def _budget_sheet(result: PlanResult, source_id: str) -> pd.DataFrame:
    f = result.plan.funding
    items = result.plan.items[["measure_id", "site_id", "budget_category"]]
    f = f.merge(items, on=["measure_id", "site_id"])
    grant = f[f["source"] == source_id].groupby("budget_category")["amount"].sum()
    match = f[(f["source"] == LOCAL) & (f["match_for"] == source_id)].groupby("budget_category")["amount"].sum()
    rows = [{"category": c, "grant_share": _money(grant.get(c, 0.0)), "local_match": _money(match.get(c, 0.0)),
             "total": _money(grant.get(c, 0.0) + match.get(c, 0.0))} for c in BUDGET_CATEGORIES]
    rows.append({"category": "total", "grant_share": _money(grant.sum()), "local_match": _money(match.sum()),
                 "total": _money(grant.sum() + match.sum())})
    return pd.DataFrame(rows)


#: Document properties of a workbook that openpyxl sets to the clock (``modified`` on every save).
_CORE_DATES = re.compile(rb"(<dcterms:(created|modified)\b[^>]*>)[^<]*(</dcterms:\2>)")


def _fix_workbook_dates(path: Path, stamp: dt.datetime) -> None:
    """Rewrite the workbook at ``path`` with ``stamp`` as its created and modified dates
    (docProps/core.xml) and as the date of every zip entry, so that the same plan gives the
    same bytes. Entries keep their order, names and compression."""
    with zipfile.ZipFile(path) as src:
        entries = [(info, src.read(info)) for info in src.infolist()]
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    when = max(stamp, dt.datetime(1980, 1, 1)).timetuple()[:6]  # zip dates start in 1980
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in entries:
            if info.filename == "docProps/core.xml":
                data = _CORE_DATES.sub(rb"\g<1>" + iso + rb"\g<3>", data)
            fixed = zipfile.ZipInfo(info.filename, date_time=when)
            fixed.compress_type = info.compress_type
            fixed.external_attr = info.external_attr
            fixed.create_system = 3  # Unix (permission bits in external_attr), on any machine
            dst.writestr(fixed, data)


#: Excel headers in words, by column name, for every sheet of the workbook (the CSV keeps the
#: column names; ``column_headers`` adds the per-sheet words: the measure's name, the dollars each
#: source pays, the grant budgets' dollar shares).
HEADERS = {
    "measure": "Measure", "schools": "Schools", "where": "Where", "quantity": "Quantity", "unit": "Unit",
    "capital": "Capital ($)", "annual": "Annual cost ($)", "fiscal_years": "Fiscal years",
    "paid_by": "Paid by", "measure_id": "Measure id", "site_id": "School id", "source": "Source",
    "name": "Name", "period": "Period", "award": "Award ($)", "used": "Used ($)",
    "local_match": "Local match ($)", "grant_share": "Grant share", "unused": "Left unused ($)",
    "why_unused": "Why money is left", "item": "Item", "value": "Value",
    "school": "School", "year": "Fiscal year", "capital_cost": "Capital cost ($)", "annual_cost": "Annual cost ($)",
    "why": "Why", "pass_tier": "What it does for PASS tiers", "layer": "Layer", "component": "Component",
    "tier": "PASS tier",
    "budget_category": "Budget category", "renewed_in": "Bought again in", "dollars_of": "US dollars of", "category": "Budget category",
    "total": "Total ($)", "assumption": "Assumption", "project": "Project", "buys": "What it buys",
    "places": "Places", "items": "Items", "procurement": "Procurement staff time ($)",
}
#: Dollar columns by their name in the frame written (budget sheets: ``BUDGET_MONEY``).
MONEY_COLUMNS = {"capital_cost", "annual_cost", "capital", "annual", "award", "used", "local_match", "unused",
                 "procurement"}
BUDGET_MONEY = {"grant_share", "local_match", "total"}
#: Share columns (0 to 1) by their name in the frame written, outside the budget sheets.
PERCENT_COLUMNS = {"grant_share"}
PAID_BY = "paid_by_"
DOLLARS = '"$"#,##0'
CENTS_FORMAT = '"$"#,##0.00'
PERCENT_FORMAT = "0.0%"


def _cost_range(result: PlanResult) -> dict[str, dict[str, float]]:
    """Each cost at typical prices, its likely range and its bounds (``PlanResult.cost_range``)."""
    likely, bounds = result.cost_range(), result.cost_range(bounds=True)
    return {k: {"likely_low": likely[k][0], "typical": likely[k][1], "likely_high": likely[k][2],
                "all_low": bounds[k][0], "all_high": bounds[k][2]} for k in likely}


def _summary(result: PlanResult, data: dict) -> pd.DataFrame:
    """The Summary sheet from the plan's figures (:func:`_figures`): the headline unit first,
    then the raw figures for analysts. Column ``format`` is the cell's number format (dropped
    before writing)."""
    tier1 = data["tier1_reached"]
    rows = [
        ("scenario", data["scenario"], None),
        ("modelled risk of serious harm reduced by the plan (share of the risk left by what is in place)",
         data["gap_closed"], PERCENT_FORMAT),
        ("modelled risk removed by what is in place (share of the risk with nothing in place)",
         data["protection_before"], PERCENT_FORMAT),
        ("modelled risk removed after the plan (share of the risk with nothing in place)", data["protection_after"],
         PERCENT_FORMAT),
        ("site-layers at PASS tier 1 or higher after the plan", f"{tier1['after']} of {tier1['of']}", None),
        ("site-layers at PASS tier 1 or higher before the plan", f"{tier1['before']} of {tier1['of']}", None),
        ("total cost of ownership per point of risk reduced ($)", data["dollars_per_point"], DOLLARS),
        *((f"{what} ($){end_words}", data["cost_range"][key][end], DOLLARS)
          for key, what in (("capital", "capital over the horizon"), ("annual", "annual cost at the end of the horizon"),
                            ("tco", "total cost of ownership over the horizon"))
          for end, end_words in (("typical", ""),
                                 ("likely_low", ", likely low (10th percentile across the price ranges)"),
                                 ("likely_high", ", likely high (90th percentile across the price ranges)"),
                                 ("all_low", ", every price at the low end of its range"),
                                 ("all_high", ", every price at the high end of its range"))),
        ("costs in US dollars of", data["dollar_year"], None),
        ("status", data["status"], None),
        ("optimality gap", data["gap"], None),
        ("risk reduced over the horizon, serious-harm equivalents", data["objective"], None),
        ("risk reduced by what is in place, serious-harm equivalents", data["baseline_objective"], None),
        ("risk over the horizon with nothing in place, serious-harm equivalents", data["full_objective"], None),
    ]
    return pd.DataFrame(rows, columns=["item", "value", "format"])


def _width(values) -> int:
    return min(max((len(str(v)) for v in values), default=8) + 2, 60)


def column_headers(result: PlanResult, frame: pd.DataFrame, sheet: str) -> dict[str, str]:
    """The words heading each column of ``frame`` on ``sheet``: ``HEADERS``, with the measure's
    name as "Measure" on "Plan by site", "Paid by <source name> ($)" for the dollars each
    source pays, and the grant share in dollars on the grant budget sheets."""
    words = dict(HEADERS)
    if sheet == "Plan by site":
        words["name"] = HEADERS["measure"]
    if sheet.startswith("Budget "):
        words["grant_share"] = f"{HEADERS['grant_share']} ($)"
    sources = [c[len(PAID_BY):] for c in frame.columns if str(c).startswith(PAID_BY)]
    names = result.source_names()
    shown = [names.get(s, s) for s in sources]
    for source, name in zip(sources, shown):
        named = name if shown.count(name) == 1 else f"{name} [{source}]"
        words[PAID_BY + source] = f"{HEADERS['paid_by']} {named} ($)"
    return {c: words.get(c, c) for c in frame.columns}


def write_sheet(book, name: str, frame: pd.DataFrame, words: dict | None = None, money: set[str] = frozenset(),
                formats: dict[int, str] | None = None, dollar_format: str = CENTS_FORMAT,
                percent: set[str] = frozenset()) -> None:
    """Add ``frame`` as sheet ``name`` to a write-only workbook (rows streamed out rather than
    cells placed one by one, see benchmarks/results/results.md): headers in ``words`` (by column
    name; the name itself otherwise), text a spreadsheet would run as a formula neutralised,
    missing values empty, a frozen header row, column widths that fit, dollar formats on the
    ``money`` columns and percentages on the ``percent`` ones (numeric columns of ``frame``, by
    name), and the per-row ``formats`` of the item/value Summary sheet in its second column."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    sheet = book.create_sheet(name)
    sheet.freeze_panes = "A2"
    header = [_safe(str((words or {}).get(column, column))) for column in frame.columns]
    column_formats = []
    for j, column in enumerate(frame.columns):
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        is_money = (str(column) in money or str(column).startswith(PAID_BY)) and numeric
        is_share = str(column) in percent and numeric
        shown = [f"${v:,.2f}" if is_money else f"{v:.1%}" if is_share and pd.notna(v) else v
                 for v in frame[column].tolist()]
        sheet.column_dimensions[get_column_letter(j + 1)].width = _width([header[j], *shown])
        column_formats.append(dollar_format if is_money else PERCENT_FORMAT if is_share else None)
    sheet.append(header)
    for i, row in enumerate(safe_frame(frame).itertuples(index=False, name=None)):
        row_format = (formats or {}).get(i)
        cells = []
        for j, value in enumerate(row):
            number_format = row_format if j == 1 and isinstance(row_format, str) else column_formats[j]
            value = _cell_value(value)
            if number_format is None:
                cells.append(value)
            else:
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = number_format
                cells.append(cell)
        sheet.append(cells)


def _cell_value(value):
    """A frame's value as a worksheet cell holds it: missing values empty (as pandas writes
    them), numpy numbers as Python ones."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return value.item() if isinstance(value, np.generic) else value


def write_excel(result: PlanResult, path: Path, assumptions: dict[str, str],
                stamp: dt.datetime = dt.datetime(2000, 1, 1)) -> None:
    """Workbook: what to buy (first), summary, plan by site, funding by source, grant money
    used and left, tiers, assumptions, and one grant budget worksheet per funding source
    (personnel, equipment, supplies, contractual, training, other; grant share and local
    match). Headers in words, dollar formats, fitted widths and a frozen header row.

    ``stamp`` is the workbook's created and modified date and the date of its zip entries
    (``write_plan`` passes the catalog's as-of date), never the clock: the same plan gives
    the same bytes."""
    summary = _summary(result, _figures(result))
    formats = dict(enumerate(summary.pop("format")))
    before, after = result.tiers()
    layers = result.problem.layer_names
    tiers = before.add_suffix(" before").join(after.add_suffix(" after"))
    tiers = tiers[[c for layer in before.columns for c in (f"{layer} before", f"{layer} after")]]
    tiers.columns = [f"{layers.get(layer, layer)} {when}" for layer in before.columns for when in ("before", "after")]
    names = result.school_names()
    tiers.insert(0, "school", [names.get(s, s) for s in tiers.index])
    tiers = tiers.reset_index()
    tiers = tiers[["school", *[c for c in tiers.columns if c not in ("school", "site_id")], "site_id"]]
    use = result.grant_use()
    use = use[["name", *[c for c in use.columns if c not in ("name", "source")], "source"]]
    funding = result.spend_by_source().reset_index()
    funding.insert(0, "name", [result.source_names().get(s, s) for s in funding["source"]])
    plan = plan_table(result).sort_values(["site_id", "year", "measure_id"])
    plan["layer"] = [layers.get(layer, layer) for layer in plan["layer"]]
    plan["component"] = plan["component"].str.replace("_", " ")
    sheets = {
        "Projects": result.projects().drop(columns=["key"]),
        "What to buy": result.what_to_buy(),
        "Summary": summary,
        "Plan by site": plan,
        "Funding by source": funding,
        "Grant money used and left": use,
        "Tiers before and after": tiers,
        "Assumptions": pd.DataFrame(list(assumptions.items()), columns=["assumption", "value"]),
        **{f"Budget {src.id}": _budget_sheet(result, src.id) for src in result.problem.sources},
    }
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    taken: set[str] = set()
    for name, frame in sheets.items():
        budget = name.startswith("Budget ")
        write_sheet(book, _sheet_name(name, taken), frame, column_headers(result, frame, name),
                    BUDGET_MONEY if budget else MONEY_COLUMNS, formats if name == "Summary" else None,
                    DOLLARS if name == "What to buy" else CENTS_FORMAT, set() if budget else PERCENT_COLUMNS)
    book.save(path)
    _fix_workbook_dates(Path(path), stamp)


def assumptions(inputs: Inputs, result: PlanResult) -> dict[str, str]:
    """What the plan rests on: catalog edition, scenario, budgets, funding sources with their
    program sources, and the cost source of every measure in the plan."""
    s, catalog = inputs.scenario, inputs.catalog
    out = {
        "scenario": f"{s.name} ({inputs.path.name})",
        "catalog": f"PASS {catalog.taxonomy.title} ({catalog.taxonomy.year})",
        "fiscal years": f"{s.horizon.fiscal_years[0]}-{s.horizon.fiscal_years[-1]} (July-June, named by the year they end)",
        "local capital budget per year ($)": ", ".join(f"{y}: {v:,.0f}" for y, v in result.problem.capital_budget.items()),
        "local operating budget per year ($)": ", ".join(f"{y}: {v:,.0f}" for y, v in result.problem.operating_budget.items()),
        "tier order": s.policy.tier_order, "objective": s.policy.objective,
        "evidence stance": f"{s.policy.evidence_stance}: {STANCE_WORDS[s.policy.evidence_stance]}",
        "costs": f"typical catalog cost per unit in {catalog.dollar_year} dollars (CPI-U, catalog/price_index.csv) "
                 "unless a vendor quote overrides it",
        "catalog checked on": f"{catalog.as_of} (catalog/audit.csv)",
    }
    for src in result.problem.sources:
        program = catalog.programs.get(s.funding_sources[src.id].program or "")
        origin = f"{program.citation}, as of {program.as_of}" if program else "custom source from the scenario"
        out[f"funding: {src.id}"] = (f"{src.name}: ${src.amount:,.0f}{' per year' if src.per_year else ''}, "
                                     f"years {src.years[0]}-{src.years[-1]}, match {src.match_rate:.0%}; {origin}")
    for mid in sorted(set(result.plan.items["measure_id"])):
        m = catalog.measures[mid]
        out[f"cost: {mid}"] = (f"{m.cost_source} (quoted in {m.cost_year} dollars, shown in {catalog.dollar_year} "
                               f"dollars); evidence {m.evidence}: {m.evidence_source}")
    return out


def write_plan(result: PlanResult, path: Path | str, inputs: Inputs) -> Path:
    """Write the plan by the file's suffix: ``.json``, ``.csv`` or ``.xlsx``.

    The file is replaced atomically: a failure while writing leaves any earlier file whole.
    Text cells of CSV and Excel files that a spreadsheet would run as a formula are
    prefixed with an apostrophe.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv", ".xlsx"):
        raise ValueError(f"unknown plan file type {suffix!r}; use .json, .csv or .xlsx")
    with replacing(path) as temp:
        if suffix == ".json":
            temp.write_text(json.dumps(plan_dict(result), indent=2, sort_keys=False) + "\n", encoding="utf-8")
        elif suffix == ".csv":
            safe_frame(plan_table(result)).to_csv(temp, index=False, lineterminator="\n")
        else:
            write_excel(result, temp, assumptions(inputs, result),
                        stamp=dt.datetime.combine(inputs.catalog.as_of, dt.time()))
    return path
