"""Small planning instances written to a temporary folder, for model and property tests."""
from __future__ import annotations

import functools
import itertools
import shutil
from pathlib import Path

import yaml

from optimizer.core.problem import Problem, expand
from optimizer.core.result import PlanResult
from optimizer.core.run import optimize
from optimizer.core.status import SolveOptions
from optimizer.data.inputs import Inputs, load_inputs
from optimizer.paths import CATALOG_DIR, SCENARIOS_DIR
from tests.conftest import PROGRAM, measure_row, write_measures, write_settings

_counter = itertools.count()

SITE = {"name": "School", "level": "elementary", "enrollment": 400, "staff": 30, "exterior_doors": 8,
        "entrances": 1, "classrooms": 20, "camera_positions": 12}


def site(id: str, **changes) -> dict:
    """A site mapping for an inline scenario."""
    return dict(SITE, id=id, **changes)


def m(id: str, **changes) -> dict:
    """A measure row: site scope, per school, building / access control, tier 1 unless changed."""
    return measure_row(id, **changes)


def program(id: str, **changes) -> dict:
    """A funding program entry (federal, hardware, 25% match unless changed)."""
    out = dict(PROGRAM, id=id, **changes)
    return out


def instance(tmp: Path, measures: list[dict], programs: list[dict] | None = None,
             states: list[dict] | None = None, threats: list[dict] | None = None, **scenario) -> Inputs:
    """Write a catalog and a scenario, load and check them together (``threats``: rows of
    threats.csv; by default the one test threat of ``conftest.write_threats``)."""
    folder = tmp / f"case{next(_counter)}"
    shutil.copytree(CATALOG_DIR / "taxonomy", folder / "catalog" / "taxonomy")
    shutil.copy(CATALOG_DIR / "columns.csv", folder / "catalog" / "columns.csv")
    write_measures(folder / "catalog" / "measures.csv", measures)
    (folder / "catalog" / "funding_programs.yaml").write_text(yaml.safe_dump({"programs": programs or []}))
    (folder / "catalog" / "state_mandates.yaml").write_text(yaml.safe_dump({"states": states or []}))
    write_settings(folder / "catalog", threats=threats)
    data = {"name": "case", "horizon": {"start": 2027, "years": 1}, "sites": [site("A")],
            "budget": {"capital": 0, "operating": 0}}
    data.update(scenario)
    # hand-sized instances price items in hundreds of dollars: a project's procurement is left
    # out unless a test sets it (tests/test_projects.py)
    data["policy"] = {"project_cost": 0, **data.get("policy", {})}
    (folder / "scenario.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return load_inputs(folder / "scenario.yaml", folder / "catalog")


def problem(tmp: Path, measures: list[dict], **kwargs) -> Problem:
    """Like :func:`instance`, expanded."""
    return expand(instance(tmp, measures, **kwargs))


def three_measures(tmp: Path) -> Inputs:
    """Three measures of different components and a capital budget for two of them: the best
    plan buys ``a`` ($100) and ``b`` ($200), not ``c`` ($400)."""
    measures = [m(mid, capital_low=c, capital_typical=c, capital_high=c, annual_cost=0, effectiveness=e, component=comp)
                for mid, c, e, comp in (("a", 100, 0.5, "access_control"), ("b", 200, 0.4, "video"),
                                        ("c", 400, 0.3, "communication"))]
    return instance(tmp, measures, budget={"capital": 300, "operating": 1e9})


@functools.lru_cache(maxsize=None)
def solved_example(name: str) -> PlanResult:
    """An example scenario's plan, solved once per test session and shared by the slow tests
    that read it (the 120-school example takes about a minute)."""
    return optimize(load_inputs(SCENARIOS_DIR / name), SolveOptions(time_limit=600))
