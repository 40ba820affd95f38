"""School security investment optimizer: catalog, scenarios, optimal verified plans.

The stages, one sub-package each: ``data`` reads and checks the inputs, ``core`` turns them
into a verified plan (the only code that touches the solver), ``analyses`` ask questions of
the core, ``reports`` write plans for people, ``cli`` is the command line. This module is the
one surface the app, the notebook and scripts import; the solving functions load the solver
only when first used.
"""
from __future__ import annotations

import importlib

from optimizer.data.catalog import Catalog, load_catalog
from optimizer.data.inputs import (
    Inputs,
    check_against_catalog,
    load_inputs,
    load_inputs_from_mapping,
)
from optimizer.data.scenario import Scenario, load_scenario
from optimizer.errors import InputError, InputProblem, OptimizerError

#: Public names loaded on first use, so that importing the package does not load the solver.
_LAZY = {
    "optimize": "optimizer.core.run", "apply_overrides": "optimizer.data.overrides",
    "PlanResult": "optimizer.core.result", "SolveOptions": "optimizer.core.status",
    "Status": "optimizer.core.status",
    "frontier": "optimizer.analyses.frontier", "screen": "optimizer.analyses.screen",
    "pitch": "optimizer.analyses.pitch", "explain": "optimizer.analyses.explain",
    "read_pitch": "optimizer.analyses.pitch", "diagnose": "optimizer.core.diagnose",
    "alternatives": "optimizer.analyses.alternatives", "robust": "optimizer.analyses.robust",
    "ROBUST_OPTIONS": "optimizer.analyses.robust",
    "compare": "optimizer.analyses.compare", "stance_check": "optimizer.analyses.stance_check",
    "write_plan": "optimizer.reports.export", "write_report": "optimizer.reports.board",
    "project_count": "optimizer.analyses.project_count", "opportunities": "optimizer.analyses.opportunities",
    "programs_to_apply": "optimizer.analyses.opportunities", "portfolio": "optimizer.analyses.opportunities",
    "application_package": "optimizer.analyses.application", "write_application": "optimizer.reports.application",
}

__all__ = ["Catalog", "InputError", "InputProblem", "Inputs", "OptimizerError", "Scenario",
           "check_against_catalog", "load_catalog", "load_inputs", "load_inputs_from_mapping", "load_scenario",
           *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'optimizer' has no attribute {name!r}")
