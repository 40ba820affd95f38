"""Writing a plan as JSON, CSV or an Excel workbook a finance office can use. Plan files hold
no timings or dates: the same input gives the same file, byte for byte. (A workbook must carry
dates, in its document properties and in its zip entries; they are the catalog's as-of date.)"""
from __future__ import annotations

import datetime as dt
import json
import re
import zipfile
from pathlib import Path

import pandas as pd

from optimizer.core.plan import LOCAL
from optimizer.core.result import PlanResult
from optimizer.core.tiers import tier_progress
from optimizer.data.inputs import Inputs
from optimizer.data.stances import STANCE_WORDS
from optimizer.safe_write import replacing

BUDGET_CATEGORIES = ["personnel", "equipment", "supplies", "contractual", "training", "other"]

#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _safe(value):
    """Neutralise text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
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


def plan_dict(result: PlanResult) -> dict:
    """The plan as plain data: scenario, status, gap, objective, totals, items with their
    funding by source, spend summaries, and PASS tiers before and after."""
    plan = result.plan
    capital = plan.funding[plan.funding["kind"] == "capital"]
    annual = plan.funding[plan.funding["kind"] == "annual"]
    cap_by_item = {k: {s: _money(a) for s, a in g.groupby("source")["amount"].sum().items()}
                   for k, g in capital.groupby(["measure_id", "site_id"])}
    ann_by_item = {k: {str(y): {s: _money(a) for s, a in gy.groupby("source")["amount"].sum().items()}
                       for y, gy in g.groupby("year")}
                   for k, g in annual.groupby(["measure_id", "site_id"])}
    items = []
    for r in plan.items.itertuples(index=False):
        key = (r.measure_id, r.site_id)
        items.append({
            "measure_id": r.measure_id, "site_id": r.site_id, "year": int(r.year),
            "quantity": int(r.quantity), "unit": r.unit, "capital_cost": _money(r.capital_cost),
            "annual_cost": _money(r.annual_cost), "layer": r.layer, "component": r.component,
            "tier": int(r.tier) or None, "name": r.name,
            "funding": cap_by_item.get(key, {}), "annual_funding": ann_by_item.get(key, {}),
        })
    before, after = result.tiers()
    by_source = result.spend_by_source()
    return {
        "scenario": result.scenario,
        "status": str(result.status),
        "gap": None if result.report.gap is None else round(result.report.gap, 6),
        "objective": round(result.value, 6),
        "baseline_objective": round(result.baseline_value, 6),
        "solver": result.report.solver,
        "dollar_year": result.problem.dollar_year,
        "evidence_stance": result.problem.evidence_stance,
        "totals": result.totals(),
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
    """One row per item with its capital funding split into one column per source."""
    items = result.plan.items.copy()
    capital = result.plan.funding[result.plan.funding["kind"] == "capital"]
    split = capital.pivot_table(index=["measure_id", "site_id"], columns="source", values="amount",
                                aggfunc="sum", fill_value=0.0)
    order = [s.id for s in result.problem.sources if s.id in split.columns] + [c for c in [LOCAL] if c in split.columns]
    split = split[order].add_prefix("paid_by_").reset_index()
    items["pass_tier"] = tier_progress(result.problem, items, result.plan.installs)
    table = items.merge(split, on=["measure_id", "site_id"], how="left").fillna(0.0)
    table["dollars_of"] = result.problem.dollar_year
    return table


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


def write_excel(result: PlanResult, path: Path, assumptions: dict[str, str],
                stamp: dt.datetime = dt.datetime(2000, 1, 1)) -> None:
    """Workbook: summary, plan by site, funding by source, tiers, assumptions, and one
    grant budget worksheet per funding source (personnel, equipment, supplies, contractual,
    training, other; grant share and local match).

    ``stamp`` is the workbook's created and modified date and the date of its zip entries
    (``write_plan`` passes the catalog's as-of date), never the clock: the same plan gives
    the same bytes."""
    data = plan_dict(result)
    summary = pd.DataFrame([
        ("scenario", data["scenario"]), ("status", data["status"]),
        ("costs in US dollars of", data["dollar_year"]),
        ("optimality gap", data["gap"]), ("risk reduction (objective)", data["objective"]),
        ("risk reduction with nothing bought", data["baseline_objective"]),
        ("capital over the horizon ($)", data["totals"]["capital"]),
        ("annual cost at the end of the horizon ($)", data["totals"]["annual"]),
        ("total cost of ownership over the horizon ($)", data["totals"]["tco"]),
    ], columns=["item", "value"])
    before, after = result.tiers()
    tiers = before.add_suffix(" before").join(after.add_suffix(" after"))
    tiers = tiers[[c for layer in before.columns for c in (f"{layer} before", f"{layer} after")]]
    sheets = {
        "Summary": summary,
        "Plan by site": plan_table(result).sort_values(["site_id", "year", "measure_id"]),
        "Funding by source": result.spend_by_source().reset_index(),
        "Grant money used and left": result.grant_use(),
        "Tiers before and after": tiers.reset_index(),
        "Assumptions": pd.DataFrame(list(assumptions.items()), columns=["assumption", "value"]),
    }
    budgets = [(f"Budget {src.id}", _budget_sheet(result, src.id)) for src in result.problem.sources]
    taken: set[str] = set()
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        for name, frame in [*sheets.items(), *budgets]:
            _safe_frame(frame).to_excel(xl, sheet_name=_sheet_name(name, taken), index=False)
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
            _safe_frame(plan_table(result)).to_csv(temp, index=False, lineterminator="\n")
        else:
            write_excel(result, temp, assumptions(inputs, result),
                        stamp=dt.datetime.combine(inputs.catalog.as_of, dt.time()))
    return path
