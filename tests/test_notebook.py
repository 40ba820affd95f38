"""The analyst notebook runs top to bottom on a fresh kernel, shows an optimal plan, and is
stored without outputs (so diffs stay readable and no stale numbers are committed)."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "walkthrough.ipynb"
CELL_TIMEOUT = 600  # seconds per cell; the robustness cell runs several solves


def _text(output) -> str:
    """The text of one cell output (stream, result or display)."""
    if output.get("output_type") == "stream":
        return output.get("text", "")
    data = output.get("data", {})
    return data.get("text/plain", "") + data.get("text/html", "")


def test_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
             and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, f"clear the outputs of cells {dirty} before committing the notebook"
    # nbformat 4.5 cells carry an id; nbformat warns of a missing one now and will refuse it
    missing = [i for i, cell in enumerate(json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]) if "id" not in cell]
    assert not missing, f"give cells {missing} an id (nbformat.validator.normalize) before committing the notebook"


def test_notebook_runs_top_to_bottom():
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    try:
        client.execute()
    except CellExecutionError as exc:  # the message holds the failing cell and its traceback
        pytest.fail(f"a notebook cell raised:\n{exc}")
    errors = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs
              if o.get("output_type") == "error"]
    assert not errors, [f"{e.get('ename')}: {e.get('evalue')}" for e in errors]
    text = "\n".join(_text(o) for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs)
    assert "status: optimal" in text
    assert "polcy" in text and "greater than or equal to 0" in text  # the bad input was caught and shown
    assert "knee at $" in text
    assert "robust buy" in text
    assert "plan.xlsx sheets:" in text and "status in the file: optimal" in text
