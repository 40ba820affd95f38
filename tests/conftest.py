"""Shared fixtures: a small valid catalog written to a temporary folder, editable per test."""
from __future__ import annotations

import csv
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml

# the command line takes the terminal's width; the tests read its tables at the width of a pipe,
# whatever terminal runs them (set before any test imports the command line)
os.environ["COLUMNS"] = "140"
# the app's pages wait for the final plan, so that a scripted run (AppTest) reads it on its first
# run; the browser tests serve the app as users get it, refining in the background
os.environ["SCHOOL_SECURITY_REFINE"] = "inline"
# the app's workspace in a database of this test run, never the user's own
os.environ["SCHOOL_SECURITY_WORKSPACE"] = f"sqlite:///{tempfile.mkdtemp(prefix='workspace-')}/workspace.sqlite"

from optimizer.paths import CATALOG_DIR  # noqa: E402


def only(problems: list[str], *needles: str) -> str:
    """The first problem message that contains every needle (the test fails if none does)."""
    hits = [p for p in problems if all(n in p for n in needles)]
    assert hits, f"no problem mentions {needles}: {problems}"
    return hits[0]


def measure_row(id: str, **overrides) -> dict:
    """A valid measures.csv row; keyword arguments replace fields."""
    row = {
        "id": id, "name": id.replace("-", " "), "description": "A test measure.",
        "layer": "building", "pass6_layer": "", "component": "access_control", "tier": "1",
        "tier_basis": "stated", "scope": "site", "unit_basis": "school", "unit_ratio": "",
        "capital_low": "100", "capital_typical": "200", "capital_high": "300",
        "annual_cost": "10", "useful_life": "10", "effectiveness": "0.5", "role": "delay",
        "evidence": "expert_consensus", "funding_categories": "hardware",
        "budget_category": "equipment", "prerequisites": "", "threats": "harm 1", "alternative_group": "",
        "discouraged": "false", "discouraged_reason": "", "cost_source": "test source (2024)",
        "cost_year": "2024", "evidence_source": "test evidence (2023)", "evidence_year": "2023",
    }
    row.update({k: str(v) for k, v in overrides.items()})
    return row


def write_measures(path: Path, rows: list[dict], header: list[str] | None = None) -> None:
    """Write measures rows as CSV (header from the first row unless given)."""
    header = header or list(rows[0])
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


PROGRAM = {
    "id": "test-grant", "name": "Test grant", "level": "federal", "state": None,
    "agency": "Test agency", "public_schools_eligible": True,
    "rules": [{"effect": "allow", "cost_types": ["hardware"], "reason": "pays for hardware",
               "citation": "test solicitation, p. 1", "year": 2025, "basis": "primary"},
              {"effect": "deny", "cost_types": ["construction"], "reason": "no construction",
               "citation": "test solicitation, p. 2", "year": 2025, "basis": "primary"}],
    "citation": "test statute sec. 1",
    "award": {"maximum": 1000, "minimum": None, "per_student": None, "per_campus": None,
              "per_school_maximum": None},
    "annual": False, "match_rate": 0.25, "match_basis": "federal_share", "match_type": "cash",
    "match_waiver_possible": False, "period_months": 36, "spend_by": None, "payment": "advance",
    "recurring_costs_allowed": False, "supplement_not_supplant": True,
    "source": "test solicitation (2025)", "as_of": "2025-01-01", "notes": None,
}

STATE = {"state": "TX", "name": "Texas", "mandates": [{
    "id": "tx-test", "title": "Test mandate", "measures": ["bld-lock"], "strength": "must",
    "deadline": "2027-06-30", "applies_to": "every_site", "law": "Test Act (2023)",
    "enacted": "2023-06-01", "source": "test law sec. 1 (2023)", "as_of": "2025-01-01"}]}


def write_settings(folder: Path, dollar_year: int = 2024, threats: list[dict] | None = None) -> None:
    """The catalog's settings and price index beside a test catalog; test costs are quoted
    in 2024 dollars, so by default they are shown unchanged."""
    (folder / "catalog.yaml").write_text(
        f"as_of: 2026-11-29\ndollar_year: {dollar_year}\nprice_index: price_index.csv\n")
    shutil.copy(CATALOG_DIR / "price_index.csv", folder / "price_index.csv")
    write_threats(folder, threats)


#: The test catalogs' one threat: one incident a year at every school, each one serious-harm
#: equivalent, so a school's risk reduced a year is simply the share of the threat removed.
TEST_THREAT = "harm"


def write_threats(folder: Path, rows: list[dict] | None = None) -> None:
    """A threats table beside a test catalog (by default :data:`TEST_THREAT` alone)."""
    header = ["id", "name", "level", "base_rate_per_school_year", "per_students", "rate_low", "rate_high",
              "rate_source", "consequence_weight", "consequence_source"]
    rows = rows or [{"id": TEST_THREAT, "name": "Harm", "level": level, "base_rate_per_school_year": 1,
                     "rate_low": 1, "rate_high": 1, "rate_source": "test", "consequence_weight": 1,
                     "consequence_source": "test"} for level in ("elementary", "middle", "high")]
    with (folder / "threats.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def default_rows() -> list[dict]:
    """A tiny consistent catalog: a tier-1 and tier-2 chain plus a district measure."""
    return [
        measure_row("bld-lock"),
        measure_row("bld-reader", tier=2, prerequisites="bld-lock", unit_basis="exterior_door",
                    capital_low=500, capital_typical=750, capital_high=2000),
        measure_row("dst-plan", layer="district", component="policies", scope="district",
                    unit_basis="district", funding_categories="planning",
                    budget_category="contractual"),
    ]


@pytest.fixture
def make_catalog(tmp_path):
    """Return a function writing a catalog folder from measure rows (defaults valid)."""

    def make(rows=None, programs=None, states=None, header=None) -> Path:
        folder = tmp_path / "catalog"
        if folder.exists():
            shutil.rmtree(folder)
        shutil.copytree(CATALOG_DIR / "taxonomy", folder / "taxonomy")
        shutil.copy(CATALOG_DIR / "columns.csv", folder / "columns.csv")
        write_measures(folder / "measures.csv", rows if rows is not None else default_rows(), header)
        (folder / "funding_programs.yaml").write_text(
            yaml.safe_dump({"programs": programs if programs is not None else [PROGRAM]}))
        (folder / "state_mandates.yaml").write_text(
            yaml.safe_dump({"states": states if states is not None else [STATE]}))
        write_settings(folder)
        return folder

    return make
