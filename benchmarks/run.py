"""Run the benchmark suite: ``python -m benchmarks.run`` (see benchmarks/README.md).

Each case and solver runs in a fresh process, so its peak memory is its own. Times are
wall-clock seconds on a shared machine; compare the ratios, not the absolute numbers.
"""
from __future__ import annotations

import argparse
import csv
import multiprocessing as mp
import os
import platform
import resource
import time
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path

from benchmarks.cases import CASES
from optimizer.core.status import SolveOptions

HERE = Path(__file__).resolve().parent


def measure_plan(case_name: str, solver: str, time_limit: float | None) -> dict:
    """Load, expand, build, start from greedy and solve one case; verify the plan."""
    from optimizer.core.greedy import greedy_plan
    from optimizer.core.model import build_model
    from optimizer.core.problem import expand
    from optimizer.core.run import solve_and_check
    from optimizer.core.solve import fund_grants_first
    from optimizer.core.verify import plan_value, verify

    case = CASES[case_name]
    t0 = time.perf_counter()
    inputs = case.load()
    t1 = time.perf_counter()
    problem = expand(inputs)
    t2 = time.perf_counter()
    model = build_model(problem)
    t3 = time.perf_counter()
    greedy = greedy_plan(problem)
    greedy = fund_grants_first(model, greedy.installs) or greedy  # paid grants first, as every plan is
    greedy_ok = not verify(problem, greedy)
    greedy_value = plan_value(problem, greedy.installs) if greedy_ok else None
    t_greedy = time.perf_counter()
    limit = time_limit or case.time_limit
    if case.target_seconds and not time_limit:  # leave room for the plan's check within the target
        limit = max(5.0, case.target_seconds - (t_greedy - t0) - 0.1 * case.target_seconds)
    result = solve_and_check(model, greedy if greedy_ok else None, SolveOptions(solver, limit, case.gap))
    report = result.report
    t5 = time.perf_counter()
    value = result.value if result.plan is not None else None
    verified = result.plan is not None  # solve_and_check raises when the verifier rejects a plan
    total = t5 - t0
    return {
        "case": case_name, "solver": report.solver, "sites": len(inputs.scenario.sites),
        "years": len(problem.years), "sources": len(problem.sources), "candidates": len(problem.candidates),
        "variables": len(model.prob.variables()), "constraints": model.prob.numConstraints(),
        "status": str(report.status), "load_s": round(t1 - t0, 3), "expand_s": round(t2 - t1, 3),
        "build_s": round(t3 - t2, 3), "greedy_s": round(t_greedy - t3, 3),
        "solve_s": round(t5 - t_greedy, 3),  # solve, read and verify the plan
        "total_s": round(total, 3), "build_share": round((t3 - t2) / total, 3),
        "peak_mb": round(max(resource.getrusage(who).ru_maxrss
                             for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024),
        "value": None if value is None else round(value, 4),
        "gain": None if report.objective is None else round(report.objective, 4),
        "dual_bound": None if report.dual_bound is None else round(report.dual_bound, 4),
        "gap": None if report.gap is None else round(report.gap, 6), "gap_target": case.gap,
        "verified": verified, "greedy_value": None if greedy_value is None else round(greedy_value, 4),
        "vs_greedy_pct": None if value is None or not greedy_value else round(100 * (value / greedy_value - 1), 2),
        "target": case.target, "target_s": case.target_seconds,
        "target_met": _met(case, report, value, total, verified),
    }


def measure_frontier(case_name: str, solver: str, time_limit: float | None) -> dict:
    """Time a frontier of ``case.size`` points (one model, re-solved at each budget)."""
    from optimizer.analyses.frontier import frontier

    case = CASES[case_name]
    inputs = case.load()
    began = time.perf_counter()
    f = frontier(inputs, points=case.size, options=SolveOptions(solver, time_limit or case.time_limit, case.gap),
                 workers=case.workers)
    total = time.perf_counter() - began
    values = f.table["value"].dropna().tolist()
    return _analysis_row(case, solver, total, {
        "status": ",".join(sorted(set(f.table["status"]))),
        "non_decreasing": all(b >= a - 1e-9 for a, b in zip(values, values[1:]))})


def measure_robust(case_name: str, solver: str, time_limit: float | None) -> dict:
    """Time ``case.size`` robustness draws on a local Dask cluster with one worker per core."""
    from optimizer.analyses.robust import robust

    case = CASES[case_name]
    inputs = case.load()
    began = time.perf_counter()
    r = robust(inputs, samples=case.size, seed=0,
               options=SolveOptions(time_limit=time_limit or case.time_limit, gap=case.gap), workers=case.workers)
    total = time.perf_counter() - began
    solved = sum(1 for v in r.values if v == v)
    return _analysis_row(case, solver, total, {"status": f"{solved}/{r.samples} solved"})


def _analysis_row(case, solver: str, total: float, extra: dict) -> dict:
    return {"case": case.name, "solver": solver, "kind": case.kind, "size": case.size, "workers": case.workers,
            "total_s": round(total, 2), "per_solve_s": round(total / case.size, 2), "gap_target": case.gap,
            "target": case.target, "target_s": case.target_seconds,
            "target_met": "yes" if case.target_seconds and total <= case.target_seconds else "no", **extra}


#: Measurements by case kind.
MEASURES = {"plan": measure_plan, "frontier": measure_frontier, "robust": measure_robust}


def measure(case_name: str, solver: str, time_limit: float | None, size: int | None = None) -> dict:
    """Run the measurement that the case's kind names (``size`` overrides an analysis case's)."""
    case = CASES[case_name]
    if size is not None and case.kind != "plan":
        CASES[case_name] = replace(case, size=size)
    return MEASURES[case.kind](case_name, solver, time_limit)


def _met(case, report, value, total, verified) -> str:
    if case.target_seconds is None:
        return "-"
    ok = verified and report.gap is not None and report.gap <= case.gap + 1e-9 and total <= case.target_seconds
    return "yes" if ok else "no"


def _child(args, queue):
    try:
        queue.put(measure(*args))
    except Exception as exc:  # report, do not stop the suite
        queue.put({"case": args[0], "solver": args[1], "status": f"error: {type(exc).__name__}: {exc}"})


def run_isolated(case: str, solver: str, time_limit: float | None, size: int | None = None) -> dict:
    """Run one measurement in a fresh process (its own peak memory)."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=((case, solver, time_limit, size), queue))
    proc.start()
    row = queue.get()
    proc.join()
    return row


def environment() -> dict:
    """Machine and library versions the numbers were measured with."""
    libs = {name: version(name) for name in ("pulp", "highspy", "pandas", "pydantic")}
    return {"cores": os.cpu_count(), "python": platform.python_version(), "machine": platform.machine(), **libs}


def write(rows: list[dict], out: Path) -> None:
    """Write the rows as CSV and as a Markdown table with the environment and HiGHS/CBC ratios."""
    out.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    with (out / "results.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    env = environment()
    shown = ["case", "solver", "sites", "years", "candidates", "status", "expand_s", "build_s", "greedy_s", "solve_s",
             "total_s", "build_share", "peak_mb", "gap", "gap_target", "vs_greedy_pct", "target_met"]
    lines = ["# Benchmark results", "", "Environment: " + ", ".join(f"{k} {v}" for k, v in env.items())]
    plans = [r for r in rows if r.get("kind", "plan") == "plan"]
    if plans:
        lines += ["", "| " + " | ".join(shown) + " |", "|" + "---|" * len(shown)]
        lines += ["| " + " | ".join("" if r.get(c) is None else str(r.get(c)) for c in shown) + " |" for r in plans]
    analyses = [r for r in rows if r.get("kind", "plan") != "plan"]
    if analyses:
        cols = ["case", "kind", "size", "workers", "status", "total_s", "per_solve_s", "gap_target", "target", "target_met"]
        lines += ["", "Analyses (size = frontier points or robustness draws):", "",
                  "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join("" if r.get(c) is None else str(r.get(c)) for c in cols) + " |" for r in analyses]
    ratios = _ratios(rows)
    if ratios:
        lines += ["", "HiGHS against CBC on the same model (CBC / HiGHS; above 1 means HiGHS is better):", "",
                  "| case | solve time ratio | value ratio (HiGHS / CBC) |", "|---|---|---|"]
        lines += [f"| {c} | {t} | {v} |" for c, t, v in ratios]
    (out / "results.md").write_text("\n".join(lines) + "\n")


def _ratios(rows):
    by = {(r["case"], r.get("solver")): r for r in rows}
    out = []
    for case in dict.fromkeys(r["case"] for r in rows):
        h, c = by.get((case, "highs")), by.get((case, "cbc"))
        if h and c and h.get("solve_s") and c.get("solve_s") and h.get("value") is not None:
            t = round(c["solve_s"] / h["solve_s"], 2)
            v = round(h["value"] / c["value"], 4) if h.get("value") and c.get("value") else "-"
            out.append((case, t, v))
    return out


def main() -> None:
    """Command line of the benchmark suite."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated case names")
    parser.add_argument("--solvers", default="highs,cbc", help="comma-separated: highs, cbc")
    parser.add_argument("--time-limit", type=float, default=None, help="override every case's time limit")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--size", type=int, default=None,
                        help="override the points or draws of the analysis cases (a quicker run)")
    args = parser.parse_args()
    rows = []
    for case in args.cases.split(","):
        for solver in args.solvers.split(","):
            if CASES[case].kind != "plan" and solver != "highs":
                continue  # analyses are timed with the default solver only
            row = run_isolated(case, solver, args.time_limit, args.size)
            print({k: row.get(k) for k in ("case", "solver", "status", "total_s", "build_s", "solve_s", "gap",
                                           "peak_mb", "vs_greedy_pct", "target_met")}, flush=True)
            rows.append(row)
            write(rows, args.out)  # after every row, so a long case cannot cost the others
    print(f"wrote {args.out / 'results.md'} and results.csv")


if __name__ == "__main__":
    main()
