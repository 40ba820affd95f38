"""Command-line subcommands of the analyses (frontier, compare, screen, pitch, robust,
alternatives, explain, projects, opportunities, application). Each prints a readable table, or writes CSV / JSON with ``--out``."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import pandas as pd
import typer
from rich.progress import Progress

from optimizer.analyses.alternatives import alternatives
from optimizer.analyses.application import application_package
from optimizer.analyses.compare import SUMMARY_WORDS, compare
from optimizer.analyses.explain import explain
from optimizer.analyses.frontier import frontier
from optimizer.analyses.opportunities import opportunities, portfolio
from optimizer.analyses.pitch import pitch, read_pitch
from optimizer.analyses.project_count import project_count
from optimizer.analyses.robust import ROBUST_GAP, robust
from optimizer.analyses.screen import screen
from optimizer.analyses.stance_check import stance_check
from optimizer.cli import options as opt
from optimizer.cli.console import EXIT_INPUT, app, dollars, err, fail, in_words, out, print_frame, refuse
from optimizer.core.result import percent
from optimizer.core.run import optimize
from optimizer.core.status import SolveOptions
from optimizer.data.inputs import Inputs, load_inputs
from optimizer.data.readers import read_yaml_mapping
from optimizer.data.stances import STANCE_WORDS, STANCES
from optimizer.errors import OptimizerError
from optimizer.paths import CATALOG_DIR
from optimizer.reports.application import facts, write_application
from optimizer.reports.export import write_table

CATALOG = typer.Option(CATALOG_DIR, help="Catalog folder.")
GAP = opt.gap()
TIME_LIMIT = opt.time_limit(help="Solver time limit of each solve, seconds (none by default)")
OUT = opt.output(opt.TABLE_FILES, help="Write the table instead of printing it")
IDS = typer.Option(False, "--ids", help="Show the catalog's and the scenario's ids beside the names")


def _load(path: Path, catalog: Path) -> Inputs:
    try:
        return load_inputs(path, catalog)
    except OptimizerError as exc:
        fail(exc)


def _emit(frame: pd.DataFrame, out_file: Path | None, title: str, extra: dict | None = None,
          ids: bool = False) -> None:
    """Print ``frame`` as a table in words (ids only with ``ids``), or write it to ``out_file``
    as it is (.csv, or .json with ``extra``), for other tools."""
    if out_file is None:
        print_frame(in_words(frame, ids), title)
        return
    write_table(frame, out_file, extra)  # its suffix was checked with the options
    out.print(f"wrote {len(frame)} rows to {out_file}", highlight=False)


def _progress(label: str):
    """A rich progress bar and the ``progress(done, total)`` callback that drives it."""
    bar = Progress(console=err, transient=True)
    task = bar.add_task(label, total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)
    return bar, update


def _guard(call):
    """Run an analysis; turn the tool's own errors into a clear message and exit 2."""
    try:
        return call()
    except OptimizerError as exc:
        fail(exc)
    except ValueError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(EXIT_INPUT) from None


@app.command("frontier")
def frontier_cmd(scenario: Path = typer.Argument(..., help="Scenario YAML file."),
                 points: int = opt.checked(11, "--points", check=opt.whole(2, 200), help="Number of budget points"),
                 max_budget: Optional[float] = opt.money(None, "--max-budget", positive=True,
                                                         help="Largest local capital over the horizon ($); default twice the scenario's"),
                 workers: Optional[int] = opt.checked(None, "--workers", check=opt.whole(1),
                                                      help="Processes solving points at the same time (default: 2 for large scenarios)"),
                 gap: float = GAP, time_limit: Optional[float] = TIME_LIMIT,
                 out_file: Optional[Path] = OUT, ids: bool = IDS, catalog: Path = CATALOG) -> None:
    """Value against budget: the plan at each budget, the marginal value of $1,000, the knee."""
    inputs = _load(scenario, catalog)
    bar, update = _progress("frontier")
    with bar:
        result = _guard(lambda: frontier(inputs, points, max_budget, SolveOptions(time_limit=time_limit, gap=gap),
                                           workers=workers, progress=update))
    stance = inputs.scenario.policy.evidence_stance
    out.print(f"evidence stance: {stance} ({STANCE_WORDS[stance]})", highlight=False)
    knee = result.knee
    if knee is not None:
        out.print(f"knee at a local capital budget of ${knee['budget']:,.0f} (scenario: ${result.scenario_budget:,.0f})",
                  highlight=False)
    tolerance = result.tolerance_words()
    if tolerance:
        out.print(tolerance, highlight=False, markup=False)
    _emit(result.table, out_file, "Efficient frontier", {"scenario_budget": result.scenario_budget}, ids=ids)


@app.command("compare")
def compare_cmd(scenarios: list[Path] = typer.Argument(..., help="Two or more scenario YAML files; the first is the reference."),
                gap: float = GAP, time_limit: Optional[float] = TIME_LIMIT,
                out_file: Optional[Path] = OUT, ids: bool = IDS, catalog: Path = CATALOG) -> None:
    """Scenarios side by side: value, tiers, spend by year, layer and source, items changed."""
    if len(scenarios) < 2:
        err.print("compare needs at least two scenario files", highlight=False)
        raise typer.Exit(EXIT_INPUT)
    loaded = {path.stem: _load(path, catalog) for path in scenarios}
    results = _guard(lambda: {name: optimize(i, SolveOptions(time_limit=time_limit, gap=gap)) for name, i in loaded.items()})
    c = _guard(lambda: compare(results))
    if out_file is not None:
        frames = {"summary": c.summary, "spend_by_year": c.spend_by_year, "spend_by_layer": c.spend_by_layer,
                  "spend_by_source": c.spend_by_source}
        long = pd.concat([f.rename_axis("key").reset_index().assign(table=name).astype({"key": str})
                          for name, f in frames.items()], ignore_index=True)
        _emit(long[["table", "key", *[col for col in long.columns if col not in ("table", "key")]]], out_file,
              "comparison", {"scenarios": c.names}, ids=ids)
        return
    summary = _shown(c.summary, SUMMARY_FORMATS)
    summary[""] = summary[""].replace(SUMMARY_WORDS)
    print_frame(summary, "Summary")
    for name, frame in (("Capital by fiscal year", c.spend_by_year), ("Capital by layer", c.spend_by_layer),
                        ("Capital by funding source", c.spend_by_source)):
        print_frame(_shown(frame, {}), name)
    changed = c.changes.head(40)
    print_frame(in_words(changed.assign(capital_change=changed["capital_change"].map(dollars)), ids),
                f"Items that differ ({len(c.changes)}, first 40; capital each change adds or takes out)")


def _score(x: float) -> str:
    return "-" if x != x else f"{round(x, 3) + 0.0:,.3f}"  # + 0.0: no "-0.000"


def _count(x: float) -> str:
    return "-" if x != x else f"{round(x):,d}"


def _percent(x: float) -> str:
    return "-" if x != x else f"{round(100 * x, 2) + 0.0:.2f}%"


#: How the rows of the comparison summary are printed; other rows are dollars.
SUMMARY_FORMATS = {"risk_reduced": _percent, "value": _score, "gain": _score, "gap": _percent, "items": _count}


def _label(key) -> str:
    """A row label: fiscal years as plain integers (2027, not 2,027)."""
    if isinstance(key, float) and key.is_integer():
        key = int(key)
    return str(key)


def _shown(frame: pd.DataFrame, formats: dict) -> pd.DataFrame:
    """A comparison table as text, each row in its own format (dollars unless named in
    ``formats``), the row labels in the first, unnamed, column."""
    rows = {_label(key): [formats.get(key, dollars)(float(v)) for v in row] for key, row in frame.iterrows()}
    shown = pd.DataFrame.from_dict(rows, orient="index", columns=[str(col) for col in frame.columns])
    return shown.rename_axis("").reset_index()


@app.command("screen")
def screen_cmd(scenario: Path = typer.Argument(..., help="Scenario YAML file."),
               multiple: float = opt.checked(3.0, "--multiple", check=opt.MULTIPLE,
                                             help="Try budgets up to this multiple of the scenario's"),
               gap: float = GAP, time_limit: Optional[float] = TIME_LIMIT,
               out_file: Optional[Path] = OUT, ids: bool = IDS, catalog: Path = CATALOG) -> None:
    """Every catalog measure with a verdict: which products are unnecessary for this district, and why."""
    inputs = _load(scenario, catalog)
    table = _guard(lambda: screen(inputs, multiple=multiple, options=SolveOptions(time_limit=time_limit, gap=gap)))
    counts = table["verdict"].value_counts()
    out.print(", ".join(f"{k}: {v}" for k, v in counts.items()), highlight=False)
    _emit(table, out_file, "Screening of the catalog", ids=ids)


@app.command("stances")
def stances_cmd(scenario: Path = typer.Argument(..., help="Scenario YAML file."),
                gap: float = GAP, time_limit: Optional[float] = TIME_LIMIT,
                out_file: Optional[Path] = OUT, ids: bool = IDS, catalog: Path = CATALOG) -> None:
    """Which purchases hold under every evidence stance, and which depend on opinion."""
    inputs = _load(scenario, catalog)
    check = _guard(lambda: stance_check(inputs, SolveOptions(time_limit=time_limit, gap=gap)))
    for stance in STANCES:
        out.print(f"{stance}: {STANCE_WORDS[stance]}", highlight=False)
    counts = check.table["verdict"].value_counts()
    out.print(", ".join(f"{k}: {v}" for k, v in counts.items()), highlight=False)
    _emit(check.table, out_file, "Measures bought, places under each evidence stance", ids=ids)


@app.command("pitch")
def pitch_cmd(scenario: Path = typer.Argument(..., help="Scenario YAML file."),
              name: str = typer.Option("vendor product", help="Product name."),
              cost: Optional[float] = opt.money(None, "--cost", help="Capital cost per unit ($)"),
              annual: float = opt.money(0.0, "--annual", help="Recurring cost per unit and year ($)"),
              layer: Optional[str] = typer.Option(None, help="PASS layer id (e.g. building)."),
              component: Optional[str] = typer.Option(None, help="PASS component id (e.g. access_control)."),
              tier: Optional[int] = opt.checked(None, "--tier", check=opt.whole(1, 4), help="PASS tier the vendor claims"),
              effectiveness: Optional[float] = opt.checked(None, "--effectiveness", check=opt.FRACTION,
                                                           help="Effectiveness claimed"),
              role: Optional[str] = typer.Option(None, help="Its job: prevent, detect, delay, respond or recover (default: the usual job of its component)."),
              unit_basis: str = typer.Option("school", help="Priced per: school, classroom, exterior_door, entrance, camera_position, student, staff, district."),
              from_file: Optional[Path] = typer.Option(None, "--file", help="A YAML file with the same fields instead of the options."),
              gap: float = GAP, time_limit: Optional[float] = TIME_LIMIT,
              out_file: Optional[Path] = OUT, ids: bool = IDS, catalog: Path = CATALOG) -> None:
    """Check a vendor's product: the budget at which it enters the plan and what it displaces."""
    if from_file is not None:
        data = _guard(lambda: read_yaml_mapping(from_file))
        source = str(from_file)
    else:
        if cost == 0 and annual == 0:
            refuse(["--cost 0: expected above 0 when --annual is 0 (a product that costs nothing has no value "
                    "per dollar to compare)"])
        data = {k: v for k, v in dict(name=name, capital=cost, annual=annual, layer=layer, component=component,
                                      tier=tier, effectiveness=effectiveness, role=role, unit_basis=unit_basis).items()
                if v is not None}
        source = "command line"
    product = _guard(lambda: read_pitch(data, source))  # the product is checked before the scenario is read
    inputs = _load(scenario, catalog)
    result = _guard(lambda: pitch(inputs, product, options=SolveOptions(time_limit=time_limit, gap=gap)))
    out.print(result.summary(), highlight=False)
    table = pd.concat([result.places.assign(effect="installed"), result.displaced.assign(effect="displaced")],
                      ignore_index=True)
    _emit(table, out_file, "Where it goes and what it displaces",
          {"summary": result.summary(), "entry_budget": result.entry_budget,
           "value_per_1000": result.value_per_1000, "plan_marginal_per_1000": result.plan_marginal_per_1000}, ids=ids)


@app.command("robust")
def robust_cmd(scenario: Path = typer.Argument(..., help="Scenario YAML file."),
               samples: int = opt.checked(50, "--samples", check=opt.whole(1), help="Number of random draws"),
               seed: int = opt.checked(0, "--seed", check=opt.whole(0), help="Seed: the same seed gives the same result"),
               spread: float = opt.checked(0.2, "--spread", check=opt.FRACTION, help="Effectiveness varies by +/- this share"),
               scheduler: Optional[str] = typer.Option(None, help="Address of a running Dask scheduler."),
               workers: Optional[int] = opt.checked(None, "--workers", check=opt.whole(1), help="Workers of the local Dask cluster"),
               gap: float = opt.gap(ROBUST_GAP, help="Gap tolerance of each draw's solve"),
               time_limit: Optional[float] = opt.time_limit(60.0, help="Time limit of each draw's solve, seconds"),
               out_file: Optional[Path] = OUT, ids: bool = IDS, catalog: Path = CATALOG) -> None:
    """How often each measure is chosen when costs and effectiveness vary within their ranges."""
    inputs = _load(scenario, catalog)
    bar, update = _progress(f"{samples} draws")
    with bar:
        result = _guard(lambda: robust(inputs, samples, seed, spread, SolveOptions(time_limit=time_limit, gap=gap),
                                              scheduler, workers, update))
    counts = result.frequency["verdict"].value_counts()
    out.print(", ".join(f"{k}: {v}" for k, v in counts.items()), highlight=False)
    out.print(f"every draw's plan proven within {result.worst_gap:.2%} of its best", highlight=False)
    for note in result.notes:  # a lost worker's draws run again, draws cut short by the time limit
        out.print(note, highlight=False)
    _emit(result.frequency, out_file, f"Selection frequency over {samples} draws", {"samples": samples, "seed": seed}, ids=ids)


@app.command("alternatives")
def alternatives_cmd(scenario: Path = typer.Argument(..., help="Scenario YAML file."),
                     within: str = opt.checked("2%", "--within", check=opt.share(),
                                               help="Largest shortfall from the best value"),
                     count: int = opt.checked(3, "--count", check=opt.whole(1, 20), help="How many alternatives"),
                     min_difference: int = opt.checked(1, "--min-difference", check=opt.whole(1),
                                                       help="Items each must differ by"),
                     gap: float = GAP, time_limit: Optional[float] = TIME_LIMIT,
                     out_file: Optional[Path] = OUT, ids: bool = IDS, catalog: Path = CATALOG) -> None:
    """Plans almost as good as the best that differ from it and from each other."""
    share = opt.share_of(within)  # checked with the options
    inputs = _load(scenario, catalog)
    result = _guard(lambda: alternatives(inputs, share, count, min_difference, SolveOptions(time_limit=time_limit, gap=gap)))
    out.print(f"best plan: reduces the modelled risk by {percent(result.best.gap_closed)}; "
              f"{len(result.plans)} alternative(s) within {share:.1%} of it (as_good: the same within the "
              f"solves' proven gaps)", highlight=False)
    _emit(result.differences, out_file, "Alternatives", {"best_value": result.best.value, "within": share}, ids=ids)


@app.command("explain")
def explain_cmd(scenario: Path = typer.Argument(..., help="Scenario YAML file."),
                measure: str = typer.Argument(..., help="Catalog measure id."),
                site: Optional[str] = typer.Argument(None, help="Site id (all places when omitted)."),
                gap: float = GAP, time_limit: Optional[float] = TIME_LIMIT,
                out_file: Optional[Path] = OUT, ids: bool = IDS, catalog: Path = CATALOG) -> None:
    """Why an item is in the plan, or what would bring it in."""
    inputs = _load(scenario, catalog)
    result = _guard(lambda: explain(inputs, measure, site, SolveOptions(time_limit=time_limit, gap=gap)))
    out.print(f"{measure}{' at ' + site if site else ''}: {'in the plan' if result.chosen else 'not in the plan'}",
              highlight=False)
    for reason in result.reasons:
        out.print(f"  - {reason}", highlight=False, markup=False)
    _emit(result.places, out_file, "Places", {"measure": measure, "site": site, "chosen": result.chosen,
                                              "reasons": result.reasons}, ids=ids)


@app.command("projects")
def projects_cmd(scenario: Path = typer.Argument(..., help="Scenario YAML file."),
                 limits: Optional[str] = typer.Option(None, "--limits", help="Limits on the number of projects to "
                                                      "plan under, e.g. 2,4,8 (default: from 1 to the unlimited plan's count)"),
                 gap: float = GAP, time_limit: Optional[float] = TIME_LIMIT,
                 out_file: Optional[Path] = OUT, ids: bool = IDS, catalog: Path = CATALOG) -> None:
    """Risk reduction against the number of projects: what the project limit and the cost of procuring cost."""
    counts = _limits(limits)
    inputs = _load(scenario, catalog)
    bar, update = _progress("limits")
    with bar:
        result = _guard(lambda: project_count(inputs, counts, SolveOptions(time_limit=time_limit, gap=gap), update))
    for sentence in result.words():
        out.print(sentence, highlight=False)
    table = result.table
    if out_file is None:  # shares as percentages, money as dollars, the scenario's own plan named
        table = table.assign(
            plan=[f"{plan} (the scenario's)" if own else plan for plan, own in zip(table["plan"], table["scenario"])],
            risk_removed=table["risk_removed"].map(_percent), avoided=table["avoided"].map(_score),
            gap=table["gap"].map(_percent),
            **{col: table[col].map(dollars) for col in ("procurement_each", "procurement", "local_money")},
        ).drop(columns="scenario")
    _emit(table, out_file, "Risk reduction against the number of projects", ids=ids)


@app.command("opportunities")
def opportunities_cmd(scenario: Path = typer.Argument(..., help="Scenario YAML file."),
                      amount: Optional[list[str]] = typer.Option(
                          None, "--amount", help="PROGRAM=DOLLARS: the award you expect from a program (a year, "
                                                 "for one allocated every year); repeat for several"),
                      together: bool = typer.Option(False, "--portfolio", help="Also choose the set of applications "
                                                    "worth making together, with a calendar of their deadlines"),
                      gap: float = GAP, time_limit: Optional[float] = TIME_LIMIT,
                      out_file: Optional[Path] = OUT, ids: bool = IDS, catalog: Path = CATALOG) -> None:
    """Grant programs the district could apply for in its horizon, ranked by what the award adds to its plan."""
    amounts = _amounts(amount or [])
    inputs = _load(scenario, catalog)
    options = SolveOptions(time_limit=time_limit, gap=gap)
    bar, update = _progress("awards")
    with bar:
        found = _guard(lambda: opportunities(inputs, options, amounts=amounts, progress=update))
    chosen = _guard(lambda: portfolio(inputs, found, options)) if together else None
    if out_file is not None:
        extra = {"not_open": found.closed.to_dict("records")}
        if chosen is not None:
            extra["portfolio"] = chosen.table.to_dict("records")
        _emit(found.table, out_file, "Grant opportunities", extra, ids=ids)
        return
    shown = {col: _or_dash(dollars) for col in ("award", "award_used", "local_match", "local_change")}
    table = found.table.assign(points=found.table["points"].map(_or_dash("{:.2f}".format)),
                               **{col: found.table[col].map(show) for col, show in shown.items()},
                               )[["rank", "name", "level", "selection", "deadline", "award", "match", "points", "award_used", "local_match",
       "local_change", "why"]]
    _emit(table, None, "Grant programs the district could apply for (points: of the modelled risk removed)", ids=ids)
    _emit(found.table[["rank", "name", "selection", "success_rate", "asks"]].assign(
        success_rate=found.table["success_rate"].map(_or_dash("{:.0%}".format))), None,
        "What each application asks (from the program's law or latest solicitation)", ids=ids)
    _emit(found.closed.drop(columns="program"), None, "Programs it cannot apply to for this plan", ids=ids)
    if chosen is not None:
        for sentence in chosen.words():
            out.print(sentence, highlight=False)
        _emit(chosen.calendar.drop(columns=["program", "date"]), None, "Deadlines of the applications to make", ids=ids)


@app.command("application")
def application_cmd(scenario: Path = typer.Argument(..., help="Scenario YAML file."),
                    program: str = typer.Argument(..., help="Catalog id of the grant program (see 'opportunities')."),
                    amount: Optional[float] = opt.money(None, "--amount", positive=True,
                                                        help="Award to apply for ($; a year, for a program allocated "
                                                             "every year); default: the award it is valued at"),
                    out_file: Optional[Path] = opt.output((".docx", ".xlsx"), help="Write the package: .docx or .xlsx"),
                    gap: float = GAP, time_limit: Optional[float] = TIME_LIMIT, catalog: Path = CATALOG) -> None:
    """An application package for one program: need, projects, budget with its match, evidence, timeline."""
    inputs = _load(scenario, catalog)
    package = _guard(lambda: application_package(inputs, program, amount, SolveOptions(time_limit=time_limit, gap=gap)))
    for label, value in facts(package):
        out.print(f"{label}: {value}", highlight=False)
    for label, words in package.asks:
        out.print(f"Asks ({label}): {words}", highlight=False)
    if out_file is not None:
        write_application(package, out_file)
        out.print(f"wrote the application package to {out_file}", highlight=False)
        return
    for sentence in [*package.need, *package.projects]:
        out.print(f"- {sentence}", highlight=False)
    print_frame(in_words(package.budget.assign(**{c: package.budget[c].map(dollars)
                                                   for c in ("grant", "local_match", "total")})), "Budget")


def _or_dash(show):
    """``show`` for a value, "-" for a missing one (None or NaN)."""
    return lambda x: "-" if x is None or x != x else show(x)


def _amounts(given: list[str]) -> dict[str, float]:
    """The --amount options as program id -> dollars; a bad one is refused by name."""
    out_amounts = {}
    for text in given:
        key, _, value = text.partition("=")
        try:
            dollars_given = float(value.replace(",", "").lstrip("$"))
        except ValueError:
            dollars_given = -1.0
        if not key.strip() or not 0 < dollars_given < 1e10:
            err.print(f"--amount: {text!r} is not PROGRAM=DOLLARS with a positive amount (e.g. bja-stop=250000)",
                      highlight=False)
            raise typer.Exit(EXIT_INPUT)
        out_amounts[key.strip()] = dollars_given
    return out_amounts


def _limits(text: str | None) -> list[int] | None:
    """The --limits option as whole numbers of at least 1; a bad one is refused by name."""
    if text is None:
        return None
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        err.print(f"--limits: {text!r} is not a list of whole numbers of at least 1 (e.g. 2,4,8)", highlight=False)
        raise typer.Exit(EXIT_INPUT)
    return counts
