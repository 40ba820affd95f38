"""The solver stays behind one door: only the model package (``optimizer/core``'s model,
solve, guided and HiGHS runner) imports PuLP or highspy, and the faces (the app's modules, the
exports, the comparison, the command line's printing) load neither when imported."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOLVER_PACKAGES = {"pulp", "highspy"}
#: The only modules that may import the solver packages.
MODEL_PACKAGE = {"optimizer/core/model.py", "optimizer/core/solve.py", "optimizer/core/guided.py",
                 "optimizer/core/highs_runner.py"}
FACES = ["optimizer", "optimizer.reports.export", "optimizer.analyses.compare", "optimizer.cli.console",
         "optimizer.core.result", "optimizer.core.status", "optimizer.data.overrides",
         *sorted(f"ui.{p.stem}" for p in (ROOT / "ui").glob("*.py") if p.stem != "__init__")]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_model_package_imports_the_solver():
    files = [*ROOT.glob("optimizer/**/*.py"), *ROOT.glob("ui/**/*.py"), ROOT / "app.py"]
    importing = {str(p.relative_to(ROOT)) for p in files if _imports(p) & SOLVER_PACKAGES}
    assert importing <= MODEL_PACKAGE, f"solver imported outside the model package: {sorted(importing - MODEL_PACKAGE)}"
    assert importing, "the model package no longer imports PuLP: update MODEL_PACKAGE"


def test_the_faces_load_no_solver_when_imported():
    code = ("import importlib, sys\n"
            f"for name in {FACES!r}:\n"
            "    importlib.import_module(name)\n"
            f"print(sorted(set(sys.modules) & set({sorted(SOLVER_PACKAGES)!r})))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"importing the faces loaded {done.stdout.strip()}"
