"""Store the SHA-256 of every example's plan JSON (``tests/data/plan_hashes.json``), which
``tests/test_examples_solve.py::test_example_plan_files_are_unchanged`` compares against.
Run it only after checking that the new plans are right:
``.venv/bin/python -m tests.refresh_plan_hashes``."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from tests.test_examples_solve import EXAMPLES, PLAN_HASHES, plan_json_sha256


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        hashes = {name: plan_json_sha256(name, Path(folder)) for name in EXAMPLES}
    PLAN_HASHES.write_text(json.dumps(hashes, indent=2) + "\n", encoding="utf-8")
    for name, digest in hashes.items():
        print(f"{name}: {digest}")


if __name__ == "__main__":
    main()
