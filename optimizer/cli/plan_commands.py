"""Commands that check inputs and make a plan: ``validate``, ``catalog``, ``plan``. They call
public functions of the package and print; they hold no model logic."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from optimizer.cli import options as opt
from optimizer.cli.console import (
    EXIT_INFEASIBLE,
    EXIT_INPUT,
    EXIT_NO_PLAN,
    app,
    dollars,
    err,
    fail,
    in_words,
    out,
    print_frame,
)
from optimizer.core.diagnose import diagnose
from optimizer.core.model import build_model
from optimizer.core.problem import expand
from optimizer.core.result import PlanResult
from optimizer.core.run import optimize
from optimizer.core.status import OBJECTIVES, SolveOptions, Status
from optimizer.data.catalog import load_catalog
from optimizer.data.inputs import load_inputs
from optimizer.data.overrides import apply_overrides
from optimizer.data.stances import STANCE_WORDS
from optimizer.data.taxonomy import DEFAULT_EDITION, EDITIONS
from optimizer.errors import OptimizerError
from optimizer.paths import CATALOG_DIR
from optimizer.reports.export import assumptions, write_plan, write_table
from optimizer.reports.pdf import REPORT_FILES, chromium


@app.command()
def validate(path: Path = typer.Argument(..., help="A catalog folder or a scenario YAML file.")) -> None:
    """Check a catalog folder or a scenario file and summarise it; exit 2 on any problem."""
    try:
        if path.is_dir():
            catalog = load_catalog(path)
            per_layer = catalog.frame.groupby("layer").size().to_dict()
            out.print(f"catalog {path}: valid. {len(catalog.measures)} measures "
                      f"({', '.join(f'{k} {v}' for k, v in per_layer.items())}), "
                      f"{len(catalog.programs)} funding programs, {len(catalog.states)} state profiles; "
                      f"rules checked on {catalog.as_of} (audit.csv), costs in {catalog.dollar_year} dollars.",
                      highlight=False)
            return
        inputs = load_inputs(path)
        s = inputs.scenario
        awarded = [k for k, f in s.funding_sources.items() if f.awarded]
        out.print(f"scenario {path}: valid. '{s.name}', {len(s.sites)} sites, "
                  f"{sum(x.enrollment for x in s.sites):,} students, fiscal years "
                  f"{s.horizon.fiscal_years[0]}-{s.horizon.fiscal_years[-1]}, state {s.state or '-'}, "
                  f"{len(awarded)} funding source(s) awarded, PASS edition {s.catalog_edition}.",
                  highlight=False)
        problem = expand(inputs)
        for source in problem.sources:
            out.print(f"  money: {source.reading}", highlight=False, markup=False)
        for note in problem.notes:
            out.print(f"  note: {note}", highlight=False)
    except OptimizerError as exc:
        fail(exc)


#: The tiers ``catalog --tier`` filters on.
TIERS = ("1", "2", "3", "4", "outside")


@app.command("catalog")
def catalog_cmd(
    layer: Optional[str] = typer.Option(None, help="Only this layer (e.g. building)."),
    component: Optional[str] = typer.Option(None, help="Only this component (e.g. access_control)."),
    tier: Optional[str] = opt.checked(None, "--tier", check=opt.one_of(TIERS), help="Only this tier"),
    evidence: Optional[str] = typer.Option(None, help="Only this evidence rating (e.g. moderate)."),
    discouraged: Optional[bool] = typer.Option(None, "--discouraged/--not-discouraged",
                                               help="Only discouraged products, or only the others."),
    edition: int = opt.checked(DEFAULT_EDITION, "--edition", check=opt.one_of(EDITIONS),
                               help="PASS edition of the layers shown"),
    folder: Path = typer.Option(CATALOG_DIR, help="Catalog folder."),
    out_file: Optional[Path] = opt.output(opt.CATALOG_FILES, help="Write the filtered table as CSV"),
) -> None:
    """Browse the measures of the catalog as a table, filtered."""
    try:
        frame = load_catalog(folder, edition).frame
    except OptimizerError as exc:
        fail(exc)
    filters = {"layer": layer, "component": component, "evidence": evidence,
               "tier": None if tier is None else (tier if tier == "outside" else int(tier))}
    for column, wanted in filters.items():
        if wanted is not None:
            if wanted not in set(frame[column]):
                err.print(f"no measure has {column} {wanted!r}; known: "
                          f"{', '.join(map(str, sorted(set(frame[column]), key=str)))}", highlight=False)
                raise typer.Exit(EXIT_INPUT)
            frame = frame[frame[column] == wanted]
    if discouraged is not None:
        frame = frame[frame["discouraged"] == discouraged]
    if out_file:
        write_table(frame, out_file)
        out.print(f"wrote {len(frame)} measures to {out_file}")
        return
    shown = frame[["id", "layer", "component", "tier", "unit_basis", "capital_typical",
                   "annual_cost", "effectiveness", "evidence"]]
    print_frame(shown, f"{len(frame)} measures")


def _print_summary(result: PlanResult, ids: bool = False) -> None:
    """The plan in words and tables, names first; the catalog's and the scenario's ids only
    with ``ids`` (for matching rows to files)."""
    r = result.report
    gap = "n/a" if r.gap is None else f"{r.gap:.4%}"
    out.print(f"[bold]{result.scenario}[/]: {r.status} (solver {r.solver}, gap {gap}), "
              f"build {result.build_seconds:.2f} s, solve {r.solve_seconds:.2f} s", highlight=False)
    for note in r.notes:
        out.print(f"  note: {note}", highlight=False)
    stance = result.problem.evidence_stance
    out.print(f"evidence stance: {stance} ({STANCE_WORDS[stance]}); costs in {result.problem.dollar_year} dollars",
              highlight=False)
    totals = result.totals()
    head, analyst, *unspent = result.headline_words()
    out.print(f"[bold]The plan {head}.[/]", highlight=False)
    ranges = result.cost_range()

    def ranged(key: str) -> str:
        low, typical, high = ranges[key]
        return dollars(typical) + (f" ({dollars(low)} to {dollars(high)})" if high > low else "")

    out.print(f"{len(result.plan.projects)} projects, {len(result.plan.items)} items; capital {ranged('capital')}, "
              f"procurement staff time {dollars(totals['procurement'])}, annual cost {ranged('annual')}, "
              f"total cost of ownership {ranged('tco')}; in brackets the likely range across the price ranges "
              f"(10th to 90th percentile)", highlight=False)
    out.print(f"for analysts: {analyst}", highlight=False)
    for line in unspent:
        out.print(line, highlight=False)
    projects = result.projects()
    for col in ("capital", "annual", "procurement"):
        projects[col] = projects[col].map(dollars)
    print_frame(in_words(projects.drop(columns=["key", "year"])),
                f"Projects (a PASS component bought in one fiscal year; procurement: "
                f"{dollars(result.problem.project_cost)} of local operating money (staff time) each when bought from vendors)")
    buy = result.what_to_buy()
    buy["quantity"] = [f"{q:,} {u}" for q, u in zip(buy["quantity"], buy["unit"])]
    for col in ("capital", "annual"):
        buy[col] = buy[col].map(dollars)
    print_frame(in_words(buy.drop(columns=["unit", "schools"]), ids),
                "What to buy (one row per measure, largest capital first)")
    layers = result.problem.layer_names
    layer = result.spend_by("layer").rename("capital").reset_index()
    layer["layer"] = [layers.get(x, x) for x in layer["layer"]]
    layer["capital"] = layer["capital"].map(dollars)
    print_frame(layer.rename(columns={"layer": "PASS layer"}), "Capital by layer")
    src = result.spend_by_source().reset_index().rename(columns={"source": "source_id"})
    src.insert(0, "funding source", [result.source_names().get(x, x) for x in src["source_id"]])
    for col in ("capital", "annual"):
        src[col] = src[col].map(dollars)
    print_frame(in_words(src, ids), "Paid by funding source (capital, and annual over the horizon)")
    use = result.grant_use().rename(columns={"source": "source_id", "name": "grant"})
    if len(use):
        for col in ("award", "used", "local_match", "unused"):
            use[col] = use[col].map(dollars)
        use["grant_share"] = use["grant_share"].map(lambda x: "" if x is None or x != x else f"{x:.0%}")
        print_frame(in_words(use[["grant", *[c for c in use.columns if c != "grant"]]], ids),
                    f"Grant money used and left (dollars of {result.problem.dollar_year})")
    by_tier = result.tier_money().reset_index()
    by_tier["capital"] = by_tier["capital"].map(dollars)
    print_frame(in_words(by_tier), "Capital by what it does for PASS tiers (beyond the next tier: buys nothing toward "
                                   "a tier yet)")
    before, after = result.tiers()
    both = before.astype(str) + " -> " + after.astype(str)
    names = result.school_names()
    both.insert(0, "school", [names.get(x, x) for x in both.index])
    both = both.reset_index()[["school", *before.columns, "site_id"]].rename(columns=layers)
    print_frame(in_words(both, ids), "PASS tier per site and layer, before -> after")


@app.command()
def plan(
    scenario: Path = typer.Argument(..., help="Scenario YAML file."),
    budget: Optional[float] = opt.money(None, "--budget", help="Local capital budget per fiscal year ($), replacing the scenario's"),
    years: Optional[int] = opt.checked(None, "--years", check=opt.whole(1, 10), help="Number of fiscal years planned"),
    objective: Optional[str] = opt.checked(None, "--objective", check=opt.one_of(OBJECTIVES), help="What the plan maximises"),
    solver: str = opt.checked("highs", "--solver", check=opt.one_of(("highs", "cbc")), help="The solver"),
    time_limit: Optional[float] = opt.time_limit(help="Solver time limit in seconds (none by default)"),
    gap: float = opt.gap(help="Relative optimality gap tolerance"),
    out_file: Optional[Path] = opt.output(opt.PLAN_FILES, help="Write the plan (.json, .csv, .xlsx) or the board "
                                          "report (.html, or .pdf printed by Chromium)"),
    every_line: bool = typer.Option(False, "--every-line", help="In a board report, list every plan line in an "
                                                               "appendix"),
    ids: bool = typer.Option(False, "--ids", help="Show the catalog's measure ids and the scenario's site and "
                                                  "source ids beside the names"),
    write_model: Optional[Path] = opt.output(opt.MODEL_FILES, "--write-model", help="Write the model as built"),
    catalog: Path = typer.Option(CATALOG_DIR, help="Catalog folder."),
) -> None:
    """Find the best plan for a scenario, check it independently, print and save it."""
    try:
        inputs = apply_overrides(load_inputs(scenario, catalog), budget, years, objective)
        if out_file is not None and out_file.suffix.lower() == ".pdf":
            chromium()  # before the solve: a machine that cannot print says so at once
        if write_model is not None:
            _write_model(inputs, write_model)
        result = optimize(inputs, SolveOptions(solver=solver, time_limit=time_limit, gap=gap))
    except OptimizerError as exc:
        fail(exc)
    if result.status == Status.NO_SOLUTION:
        err.print(f"{result.scenario}: the solver stopped before it found a plan. "
                  + " ".join(result.report.notes), highlight=False, markup=False)
        raise typer.Exit(EXIT_NO_PLAN)
    if not result.report.has_plan:
        err.print(f"[bold red]{result.scenario}: no feasible plan ({result.status}).[/]", highlight=False)
        if result.problem.notes:  # what was left out and why comes first: it is often the cause
            err.print("Read with these notes:", highlight=False)
            for note in result.problem.notes:
                err.print(f"  - {note}", highlight=False, markup=False)
        err.print("The rules conflict:", highlight=False)
        for conflict in diagnose(result.problem):
            err.print(f"  - {conflict}", highlight=False, markup=False)
        raise typer.Exit(EXIT_INFEASIBLE)
    _print_summary(result, ids)
    if out_file is not None:
        try:
            if out_file.suffix.lower() in REPORT_FILES:
                from optimizer.reports.board import write_report  # its charts load plotly: only when a report is written

                write_report(result, out_file, assumptions(inputs, result), lines=every_line)
            else:
                write_plan(result, out_file, inputs)
        except OptimizerError as exc:
            fail(exc)
        except ValueError as exc:
            err.print(str(exc), highlight=False)
            raise typer.Exit(EXIT_INPUT) from None
        out.print(f"wrote {out_file}", highlight=False)


def _write_model(inputs, path: Path) -> None:
    build_model(expand(inputs)).write(path)
    out.print(f"wrote model {path}", highlight=False)
