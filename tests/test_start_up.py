"""What the command line loads when it starts: every command is registered, but the board
report's charting library (plotly, a tenth of a second of every start) loads only when a
report is written."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _loaded_after(code: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_the_command_line_starts_without_the_charting_library():
    loaded = _loaded_after("from optimizer.cli import app\n"
                           "assert 'plan' in [c.name or c.callback.__name__ for c in app.registered_commands]")
    assert "plotly" not in loaded
    assert "optimizer.cli.plan_commands" in loaded and "optimizer.cli.analysis_commands" in loaded
