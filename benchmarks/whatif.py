"""What-ifs at the speed of a conversation: how soon a changed scenario has a verified plan.

For each what-if on the suburban example (a budget cut, a grant switched off) it times, in
this process: the LP relaxation of the changed model, the first look the app shows (a solve
stopped at ``ui.compute.QUICK_SECONDS``, verified, with its proven gap), and the plain solve
to the final gap; and reports the first look's time as a ratio to both, with the instance's
size. Not part of the test run:

    .venv/bin/python -m benchmarks.whatif     # writes benchmarks/results/whatif.md
"""
from __future__ import annotations

import time
from pathlib import Path

from optimizer import load_inputs
from optimizer.core.model import build_model
from optimizer.core.problem import expand
from optimizer.core.run import optimize
from optimizer.core.solve import relaxation_bound
from optimizer.core.status import SolveOptions
from optimizer.core.verify import verify
from optimizer.data.inputs import Inputs
from optimizer.data.overrides import apply_overrides
from optimizer.paths import SCENARIOS_DIR

#: Same as ui.compute.QUICK_SECONDS (not imported: the app module needs Streamlit).
QUICK_SECONDS = 1.0
OUT = Path(__file__).parent / "results" / "whatif.md"


def without_grant(inputs: Inputs, source: str) -> Inputs:
    """The inputs with one funding source switched off (as the app's award toggle does)."""
    data = inputs.scenario.model_dump()
    data["funding_sources"][source]["awarded"] = False
    return Inputs(type(inputs.scenario).model_validate(data), inputs.catalog, inputs.path)


def timed(call):
    began = time.perf_counter()
    out = call()
    return out, time.perf_counter() - began


def measure(name: str, inputs: Inputs) -> dict:
    problem = expand(inputs)
    model = build_model(problem)
    _, lp_s = timed(lambda: relaxation_bound(model))
    quick, quick_s = timed(lambda: optimize(inputs, SolveOptions(time_limit=QUICK_SECONDS)))
    final, final_s = timed(lambda: optimize(inputs))
    assert not verify(quick.problem, quick.plan) and not verify(final.problem, final.plan)
    return {"what-if": name, "candidates": len(problem.candidates), "variables": len(model.prob.variables()),
            "rows": model.prob.numConstraints(), "lp_s": lp_s, "first_look_s": quick_s,
            "first_look_gap": quick.report.gap, "first_look_status": str(quick.status),
            "first_look_vs_final_value": quick.value / final.value, "final_s": final_s,
            "final_gap": final.report.gap, "first_look_over_lp": quick_s / lp_s,
            "first_look_over_final": quick_s / final_s}


def main() -> None:
    base = load_inputs(SCENARIOS_DIR / "suburban.yaml")
    rows = [measure("suburban, capital $400,000 a year", apply_overrides(base, budget=400_000)),
            measure("suburban, COPS SVPP award off", without_grant(base, "svpp"))]
    head = list(rows[0])
    lines = ["# What-if speed (suburban example)", "",
             "`python -m benchmarks.whatif`; seconds in one process on this machine (2 cores), "
             "end to end from checked inputs (expand, build, greedy start, solve, verify).", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in r.values()) + " |")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
