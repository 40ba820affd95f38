"""Run the benchmark suite: ``python -m benchmarks.run`` (see benchmarks/README.md).

Each case runs in a fresh process, so its peak memory is its own. Before the timed call the
process plans a small example once (the solver's process is warm, as in a running app or
CLI). Every row reports the planner's time as a ratio to the LP relaxation of the same
model and to a plain PuLP + CBC solve of it at the same gap. Times are wall-clock seconds on
a shared machine: compare the ratios, not the absolute numbers.
"""
from __future__ import annotations

import argparse
import csv
import itertools
import math
import multiprocessing as mp
import os
import platform
import resource
import time
from dataclasses import replace
from datetime import date
from importlib.metadata import version
from pathlib import Path

from benchmarks.cases import CASES, Case
from optimizer.core.status import SolveOptions
from optimizer.defaults import FIRST_LOOK_SECONDS

HERE = Path(__file__).resolve().parent
#: Seconds a plain PuLP + CBC solve of a case's model may take before it is stopped.
CBC_LIMIT = 120.0


def _warm_up() -> None:
    """Plan the suburban example once, loosely: imports loaded, the solver's process started."""
    from optimizer.core.run import optimize

    optimize(CASES["suburban"].load(), SolveOptions(gap=0.05))


def baselines(case: Case, inputs) -> dict:
    """The LP relaxation of the case's model, and a plain PuLP + CBC solve of it (the model
    built anew, CBC at the case's gap, no start, stopped at ``CBC_LIMIT``)."""
    from optimizer.core.model import build_model
    from optimizer.core.problem import expand
    from optimizer.core.solve import relaxation_bound, solve_model

    problem = expand(inputs)
    model = build_model(problem)
    began = time.perf_counter()
    relaxation_bound(model)
    lp_s = time.perf_counter() - began
    began = time.perf_counter()
    cbc = solve_model(build_model(problem), SolveOptions("cbc", CBC_LIMIT, case.gap))
    cbc_s = time.perf_counter() - began
    return {"variables": len(model.prob.variables()), "rows": model.prob.numConstraints(),
            "lp_s": round(lp_s, 3), "cbc_s": round(cbc_s, 2), "cbc_status": str(cbc.status),
            "cbc_gap": None if cbc.gap is None else round(cbc.gap, 5)}


def _greedy_objective(problem) -> float | None:
    """What the optimizer maximises (risk reduced net of local money's price), of the greedy
    plan paid grants first; None when that plan breaks a rule."""
    from optimizer.core.greedy import greedy_plan
    from optimizer.core.model import build_model
    from optimizer.core.solve import fund_grants_first
    from optimizer.core.verify import plan_objective, verify

    greedy = greedy_plan(problem)
    greedy = fund_grants_first(build_model(problem), greedy.installs) or greedy
    return None if verify(problem, greedy) else plan_objective(problem, greedy)


def _plan_row(case: Case, result, seconds: float) -> dict:
    from optimizer.core.verify import plan_objective, verify

    verified = result.plan is not None and not verify(result.problem, result.plan)
    greedy = _greedy_objective(result.problem)
    value = result.value if result.plan is not None else None
    objective = None if result.plan is None else plan_objective(result.problem, result.plan)
    return {"status": str(result.status), "total_s": round(seconds, 3),
            "gap": None if result.report.gap is None else round(result.report.gap, 5),
            "value": None if value is None else round(value, 3), "verified": verified,
            "vs_greedy_pct": None if objective is None or not greedy else round(100 * (objective / greedy - 1), 2),
            "sites": len(result.problem.sites), "years": len(result.problem.years),
            "candidates": len(result.problem.candidates)}


def measure_plan(case: Case) -> dict:
    """Plan the case from its checked inputs: expand, build, solve, verify."""
    from optimizer.core.run import optimize

    inputs = case.load()
    _warm_up()
    began = time.perf_counter()
    result = optimize(inputs, SolveOptions(time_limit=case.time_limit, gap=case.gap))
    return {**_plan_row(case, result, time.perf_counter() - began), **baselines(case, inputs)}


def measure_whatif(case: Case) -> dict:
    """Re-plan a changed scenario starting from the plan before the change (solved first,
    untimed), as the app does after an edit."""
    from optimizer.core.run import optimize

    options = SolveOptions(time_limit=case.time_limit, gap=case.gap)
    before = optimize(case.before(), options)
    inputs = case.load()
    began = time.perf_counter()
    first = optimize(inputs, options.but(time_limit=FIRST_LOOK_SECONDS), previous=before)
    first_s = time.perf_counter() - began
    began = time.perf_counter()
    result = optimize(inputs, options, previous=before)
    return {**_plan_row(case, result, time.perf_counter() - began), "first_look_s": round(first_s, 3),
            "first_look_gap": None if first.report.gap is None else round(first.report.gap, 5),
            **baselines(case, inputs)}


def measure_frontier(case: Case) -> dict:
    """A frontier of ``case.size`` budgets (one model, re-solved at each budget)."""
    from optimizer.analyses.frontier import frontier

    inputs = case.load()
    _warm_up()
    began = time.perf_counter()
    f = frontier(inputs, points=case.size, options=SolveOptions(time_limit=case.time_limit, gap=case.gap),
                 workers=case.workers)
    total = time.perf_counter() - began
    values = f.table["value"].dropna().tolist()
    gaps = f.table["gap"].dropna()
    return {"status": ",".join(sorted(set(f.table["status"]))), "total_s": round(total, 2),
            "gap": None if gaps.empty else round(float(gaps.max()), 5),
            "non_decreasing": all(b >= a - 1e-9 for a, b in itertools.pairwise(values)),
            **baselines(case, inputs)}


def measure_robust(case: Case) -> dict:
    """``case.size`` robustness draws on a local Dask cluster of ``case.workers`` processes."""
    from optimizer.analyses.robust import robust

    inputs = case.load()
    began = time.perf_counter()
    r = robust(inputs, samples=case.size, seed=0, options=SolveOptions(time_limit=case.time_limit, gap=case.gap),
               workers=case.workers)
    total = time.perf_counter() - began
    solved = sum(1 for v in r.values if not math.isnan(v))
    return {"status": f"{solved}/{r.samples} solved", "total_s": round(total, 2),
            "gap": None if math.isnan(r.worst_gap) else round(r.worst_gap, 5), **baselines(case, inputs)}


#: Runs of the command line per case: the median is reported (the first may meet a cold disk cache).
CLI_RUNS = 3


def measure_cli(case: Case) -> dict:
    """The command line a finance officer types, from a cold start: ``python -m optimizer plan``
    on the case's scenario file at the default gap, its Excel workbook written; wall-clock time
    of the whole process (start-up, solve, printing and export), the median of ``CLI_RUNS``
    (the first may compile the package's modules, as a user's first run does)."""
    import statistics
    import subprocess
    import sys
    import tempfile

    inputs = case.load()
    times = []
    # as on a user's machine, Python keeps the modules it compiled (an environment that turns
    # that off, as some sandboxes do, compiles the package again at every start)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(CLI_RUNS):
            began = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "optimizer", "plan", str(inputs.path), "--out",
                                   str(Path(folder) / "plan.xlsx")], capture_output=True, text=True, env=env)
            times.append(time.perf_counter() - began)
            if done.returncode != 0:
                return {"status": f"error: exit {done.returncode}: {done.stderr.strip()[-200:]}",
                        "total_s": round(times[-1], 2)}
    first = done.stdout.splitlines()[0]  # "<district>: <status> (solver highs, gap 0.0531%), build ..."
    gap = first.split("gap ", 1)[1].split("%", 1)[0] if "gap " in first else None
    return {"status": first.split(": ", 1)[1].split(" (", 1)[0], "total_s": round(statistics.median(times), 2),
            "gap": None if gap is None else round(float(gap) / 100, 5), **baselines(case, inputs)}


def measure_opportunities(case: Case) -> dict:
    """Every grant program the case's district could apply for, valued by ``case.workers``
    processes (the plan without an award solved first, in the call)."""
    from optimizer.analyses.opportunities import opportunities

    inputs = case.load()
    _warm_up()
    began = time.perf_counter()
    found = opportunities(inputs, SolveOptions(time_limit=case.time_limit, gap=case.gap), workers=case.workers)
    total = time.perf_counter() - began
    valued = int(found.table["points"].notna().sum())
    gaps = found.table["gap"].dropna()
    return {"status": f"{valued} of {len(found.table)} programs valued", "total_s": round(total, 2),
            "gap": round(max(float(gaps.max()), found.base.report.gap or 0.0), 5) if len(gaps) else None,
            **baselines(case, inputs)}


#: Measurements by case kind.
MEASURES = {"plan": measure_plan, "whatif": measure_whatif, "frontier": measure_frontier, "robust": measure_robust,
            "opportunities": measure_opportunities, "cli": measure_cli}


def measure(case_name: str, size: int | None = None) -> dict:
    """Run the measurement the case's kind names (``size`` overrides an analysis case's), in a
    process that collects memory as the app's and the command line's do."""
    from optimizer import gc_policy

    gc_policy.apply()
    case = CASES[case_name]
    if size is not None and case.kind in ("frontier", "robust"):
        case = replace(case, size=size)
    row = {"case": case.name, "kind": case.kind, "size": case.size or None, "workers": case.workers,
           "gap_target": case.gap, "target": case.target, "target_s": case.target_seconds}
    row.update(MEASURES[case.kind](case))
    solves = case.size or 1
    row["per_solve_s"] = round(row["total_s"] / solves, 3)
    row["over_lp"] = round(row["per_solve_s"] / row["lp_s"], 2) if row.get("lp_s") else None
    row["over_cbc"] = round(row["per_solve_s"] / row["cbc_s"], 3) if row.get("cbc_s") else None
    row["peak_mb"] = round(max(resource.getrusage(who).ru_maxrss
                               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024)
    row["target_met"] = _met(case, row)
    return row


def _met(case: Case, row: dict) -> str:
    """"met" or "not met (...)" against the case's target; "-" when it has none."""
    if case.target_seconds is None:
        return "-"
    misses = []
    if row["total_s"] > case.target_seconds:
        misses.append(f"{row['total_s'] / case.target_seconds:.1f}x the time")
    if row.get("gap") is None or row["gap"] > case.gap + 1e-9:
        misses.append("gap " + ("not proven" if row.get("gap") is None else f"{row['gap']:.2%}"))
    if row.get("verified") is False:
        misses.append("plan not verified")
    if row.get("vs_greedy_pct") is not None and row["vs_greedy_pct"] < -1e-6:
        misses.append("below the greedy plan")
    if case.memory_mb and row["peak_mb"] > case.memory_mb:
        misses.append(f"{row['peak_mb']} MB")
    return "met" if not misses else "not met (" + ", ".join(misses) + ")"


def _child(args, queue):
    try:
        queue.put(measure(*args))
    except Exception as exc:  # report, do not stop the suite
        queue.put({"case": args[0], "status": f"error: {type(exc).__name__}: {exc}", "target_met": "error"})


def run_isolated(case: str, size: int | None = None) -> dict:
    """Run one measurement in a fresh process (its own peak memory)."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=((case, size), queue))
    proc.start()
    row = queue.get()
    proc.join()
    return row


def environment() -> dict:
    """Machine and library versions the numbers were measured with."""
    libs = {name: version(name) for name in ("pulp", "highspy", "pandas", "pydantic")}
    return {"cores": os.cpu_count(), "python": platform.python_version(), "machine": platform.machine(), **libs}


SHOWN = ["case", "kind", "size", "sites", "candidates", "variables", "rows", "status", "total_s", "per_solve_s",
         "gap", "gap_target", "first_look_s", "first_look_gap", "lp_s", "over_lp", "cbc_s", "cbc_gap", "over_cbc",
         "vs_greedy_pct", "peak_mb", "target", "target_met"]


def write(rows: list[dict], out: Path) -> None:
    """Write the rows as CSV and as a Markdown table with the environment."""
    out.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    with (out / "results.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    lines = ["# Benchmark results", "",
             f"`python -m benchmarks.run`, {date.today().isoformat()}. Environment: "
             + ", ".join(f"{k} {v}" for k, v in environment().items()), "",
             ("Seconds from the call with the process already running (model built, solved, plan "
             "verified). `lp_s`: the LP relaxation of the same model; `cbc_s`: a plain PuLP + CBC "
             f"solve of it at the same gap, stopped at {CBC_LIMIT:.0f} s (`cbc_gap` what it proved); "
             "`over_lp` and `over_cbc`: seconds per solve over those. What-ifs: `first_look_s` and "
             "`first_look_gap`, the app's first look (the solve stopped at "
             f"{FIRST_LOOK_SECONDS:.0f} s, from the plan before). Analyses: `per_solve_s` is per "
             "budget or draw, `gap` the largest over them."), "",
             "| " + " | ".join(SHOWN) + " |", "|" + "---|" * len(SHOWN)]
    lines += ["| " + " | ".join("" if r.get(c) is None else str(r.get(c)) for c in SHOWN) + " |" for r in rows]
    (out / "results.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    """Command line of the benchmark suite."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated case names")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--size", type=int, default=None,
                        help="override the budgets or draws of the analysis cases (a quicker run)")
    args = parser.parse_args()
    rows = []
    for case in args.cases.split(","):
        row = run_isolated(case, args.size)
        print({k: row.get(k) for k in ("case", "status", "total_s", "gap", "lp_s", "cbc_s", "target_met")},
              flush=True)
        rows.append(row)
        write(rows, args.out)  # after every row, so a long case cannot cost the others
    print(f"wrote {args.out / 'results.md'} and results.csv")


if __name__ == "__main__":
    main()
