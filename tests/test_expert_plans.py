"""Plans a school-safety consultant would sign: a measure rated harmful is never counted as
protection under any evidence stance, enters a plan only when a scenario's must list forces it
(and the plan then warns), and ties are broken toward lower cost of ownership under every
stance."""
from __future__ import annotations

import pytest

from optimizer import load_catalog
from optimizer.core.model import build_model
from optimizer.core.run import optimize
from optimizer.data.stances import STANCES
from tests.builders import instance, m, problem, solved_example

DRILL = dict(evidence="harmful", role="respond", component="people", effectiveness=0.05, annual_cost=0)
MONEY = {"capital": 100_000, "operating": 100_000}


@pytest.mark.parametrize("stance", STANCES)
def test_a_harmful_measure_counts_as_no_protection_under_any_stance(tmp_path, stance):
    inputs = instance(tmp_path, [m("drill", **DRILL), m("lock", annual_cost=0)], budget=MONEY,
                      policy={"evidence_stance": stance})
    result = optimize(inputs)
    members = result.problem.cell_members.merge(
        result.problem.candidates[["measure_id"]], left_on="candidate", right_index=True)
    assert "drill" not in set(members["measure_id"])  # under evidence_only the lock counts for nothing too
    assert "drill" not in set(result.plan.items["measure_id"])


def test_a_harmful_measure_forced_by_the_must_list_is_bought_with_a_warning(tmp_path):
    inputs = instance(tmp_path, [m("drill", **DRILL, discouraged="true",
                                   discouraged_reason="raises student anxiety")], budget=MONEY,
                      must=[{"measure": "drill"}])
    result = optimize(inputs)
    assert set(result.plan.items["measure_id"]) == {"drill"}
    [warning] = [n for n in result.report.notes if n.startswith("warning:")]
    assert "must list" in warning and "raises student anxiety" in warning and "no protection" in warning


@pytest.mark.parametrize("stance", STANCES)
def test_ties_are_broken_toward_lower_cost_under_every_stance(tmp_path, stance):
    """A measure the stance weighs 0 beside one it counts: the cost of ownership still weighs
    in the objective (it once became exactly 0 when any candidate weighed 0)."""
    p = problem(tmp_path, [m("strong", evidence="strong", effectiveness=0.5),
                           m("opinion", evidence="expert_consensus", component="video", effectiveness=0.3)],
                budget=MONEY, policy={"evidence_stance": stance})
    model = build_model(p)
    costs = dict(model.prob.objective.items())
    strong = p.candidates.index[p.candidates["measure_id"] == "strong"][0]
    assert costs[model.y[strong][-1]] < 0  # its capital and annual cost lower the objective


@pytest.mark.parametrize("name", ["rural", "suburban", pytest.param("urban", marks=pytest.mark.slow)])
def test_no_example_buys_a_harmful_or_discouraged_measure(name):
    bought = set(solved_example(f"{name}.yaml").plan.items["measure_id"])
    against = {mid for mid, x in load_catalog().measures.items() if x.evidence == "harmful" or x.discouraged}
    assert against and not bought & against, bought & against
