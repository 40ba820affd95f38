"""The catalog answers to its audit: every funding program and every state mandate has a
row in catalog/audit.csv naming its primary source and the day it was checked, no older than
the catalog's as-of date; prices are stated in one dollar year through a sourced index."""
from __future__ import annotations

import csv
import datetime as dt

import pytest

from optimizer.data.catalog import load_catalog
from optimizer.errors import InputError
from optimizer.paths import CATALOG_DIR
from tests.conftest import measure_row, only, write_settings

AUDIT = CATALOG_DIR / "audit.csv"
HEADER = ["kind", "id", "field", "old_value", "new_value", "source", "url", "checked_on", "note"]


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def audit_rows() -> list[dict[str, str]]:
    with AUDIT.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == HEADER
        return list(reader)


def test_every_audit_row_has_a_source_and_a_check_date_no_older_than_the_catalog(catalog):
    rows = audit_rows()
    assert rows
    for i, row in enumerate(rows, start=2):
        assert row["source"].strip(), f"audit.csv row {i} names no source"
        checked = dt.date.fromisoformat(row["checked_on"])
        assert checked >= catalog.as_of, f"audit.csv row {i} was checked {checked}, before {catalog.as_of}"


@pytest.mark.parametrize("kind", ["program", "mandate"])
def test_every_program_and_mandate_has_its_citation_audited(catalog, kind):
    ids = (set(catalog.programs) if kind == "program"
           else {m.id for p in catalog.states.values() for m in p.mandates})
    cited = {r["id"] for r in audit_rows() if r["kind"] == kind and r["field"] == "citation"}
    assert ids <= cited, f"no citation row in audit.csv for {sorted(ids - cited)}"


def test_programs_and_mandates_are_as_of_the_audit(catalog):
    for program in catalog.programs.values():
        assert program.as_of <= catalog.as_of and program.citation and program.rules
        assert all(rule.citation and rule.reason for rule in program.rules)
    for profile in catalog.states.values():
        for m in profile.mandates:
            assert m.law and m.source
            if m.enacted and m.deadline:
                assert m.enacted <= m.deadline


def test_a_deadline_before_the_law_was_enacted_is_refused(make_catalog):
    from tests.conftest import STATE
    state = dict(STATE, mandates=[dict(STATE["mandates"][0], deadline="2022-01-01", enacted="2023-06-01")])
    with pytest.raises(InputError) as err:
        load_catalog(make_catalog(states=[state]))
    only([str(p) for p in err.value.problems], "state_mandates.yaml", "falls before the law was enacted")


def test_costs_are_brought_to_the_dollar_year_by_the_price_index(make_catalog):
    rows = [measure_row("old", cost_year=2014, capital_low=100, capital_typical=200, capital_high=300, annual_cost=10),
            measure_row("new", component="video", cost_year=2025)]
    folder = make_catalog(rows=rows, states=[])
    write_settings(folder, dollar_year=2025)
    index = {int(r["year"]): float(r["index"]) for r in csv.DictReader((folder / "price_index.csv").open())}
    catalog = load_catalog(folder)
    factor = index[2025] / index[2014]
    assert factor > 1.3
    old = catalog.measures["old"]
    assert old.capital_typical == pytest.approx(200 * factor, abs=0.01)
    assert old.annual_cost == pytest.approx(10 * factor, abs=0.01)
    assert catalog.measures["new"].capital_typical == 200  # already in 2025 dollars
    assert catalog.dollar_year == 2025


def test_a_cost_year_the_index_lacks_is_named_with_its_row(make_catalog):
    folder = make_catalog(rows=[measure_row("old", cost_year=1995)], states=[])
    with pytest.raises(InputError) as err:
        load_catalog(folder)
    only([str(p) for p in err.value.problems], "measures.csv", "row 2", "cost_year", "1995", "price index")


def test_the_shipped_catalog_states_its_dollar_year_and_every_cost_year_is_indexed(catalog):
    assert catalog.dollar_year == 2025
    # an observed price was paid in a year the index has reached; an estimate is made in its own year
    assert all(year <= catalog.dollar_year for m in catalog.measures.values()
               for basis, year in ((m.capital_basis, m.cost_year), (m.annual_basis, m.annual_year)) if basis == "observed")
