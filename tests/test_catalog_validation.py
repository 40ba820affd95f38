"""Bad catalog input: each kind of mistake gets a message naming file, row, field and value."""
from __future__ import annotations

import pytest

from optimizer import InputError, load_catalog
from tests.conftest import default_rows, measure_row, only


def problems_of(folder) -> list[str]:
    with pytest.raises(InputError) as info:
        load_catalog(folder)
    return [str(p) for p in info.value.problems]




def test_valid_minimal_catalog_loads(make_catalog):
    catalog = load_catalog(make_catalog())
    assert list(catalog.measures) == ["bld-lock", "bld-reader", "dst-plan"]
    assert catalog.measures["bld-reader"].prerequisites == ["bld-lock"]
    assert catalog.measures["bld-lock"].unit_ratio == 1.0


def test_missing_required_column_is_named(make_catalog):
    rows = default_rows()
    header = [c for c in rows[0] if c != "evidence"]
    msg = only(problems_of(make_catalog(rows, header=header)), "header", "evidence")
    assert "measures.csv" in msg


def test_unknown_column_is_named(make_catalog):
    rows = [dict(r, colour="red") for r in default_rows()]
    only(problems_of(make_catalog(rows)), "header", "colour", "column dictionary")


def test_wrong_type_names_row_field_and_value(make_catalog):
    rows = default_rows()
    rows[1]["capital_typical"] = "about 700"
    msg = only(problems_of(make_catalog(rows)), "row 3", "capital_typical")
    assert "'about 700'" in msg and "number" in msg


@pytest.mark.parametrize("value, expect", [("-5", "greater than or equal to 0"), ("nan", "finite")])
def test_negative_or_nan_cost_rejected(make_catalog, value, expect):
    rows = default_rows()
    rows[0]["annual_cost"] = value
    only(problems_of(make_catalog(rows)), "row 2", "annual_cost", expect)


def test_cost_range_out_of_order(make_catalog):
    rows = default_rows()
    rows[0].update(capital_low="500", capital_typical="200", capital_high="300")
    only(problems_of(make_catalog(rows)), "row 2", "capital_low/capital_typical/capital_high",
         "low <= typical <= high")


@pytest.mark.parametrize("field, value, expect", [
    ("layer", "roof", "PASS 7th-edition layer"),
    ("component", "drones", "PASS component"),
    ("tier", "5", "less than or equal to 4"),
    ("evidence", "great", "'strong'"),
])
def test_unknown_taxonomy_values(make_catalog, field, value, expect):
    rows = default_rows()
    rows[0][field] = value
    msg = only(problems_of(make_catalog(rows)), "row 2", field)
    assert expect in msg and repr(value) in msg


def test_duplicate_ids(make_catalog):
    rows = default_rows() + [measure_row("bld-lock")]
    only(problems_of(make_catalog(rows)), "row 5", "id", "unique id", "row 2")


def test_prerequisite_unknown(make_catalog):
    rows = default_rows()
    rows[1]["prerequisites"] = "bld-lock;bld-ghost"
    only(problems_of(make_catalog(rows)), "row 3", "prerequisites", "bld-ghost")


def test_prerequisite_cycle_is_shown(make_catalog):
    rows = default_rows()
    rows[0]["prerequisites"] = "bld-reader"
    msg = only(problems_of(make_catalog(rows)), "prerequisites", "cycle")
    assert "bld-lock -> bld-reader -> bld-lock" in msg or "bld-reader -> bld-lock -> bld-reader" in msg


def test_impossible_tier_chain(make_catalog):
    rows = default_rows() + [measure_row("bld-vest", tier=4, component="architectural")]
    only(problems_of(make_catalog(rows)), "row 5", "tier", "tier-3 measure in building/architectural")


def test_prerequisite_in_same_alternative_group_is_impossible(make_catalog):
    rows = default_rows()
    rows[0]["alternative_group"] = "door"
    rows[1]["alternative_group"] = "door"
    only(problems_of(make_catalog(rows)), "row 3", "alternative group 'door'")


def test_district_measure_cannot_require_site_measure(make_catalog):
    rows = default_rows()
    rows[2]["prerequisites"] = "bld-lock"
    only(problems_of(make_catalog(rows)), "row 4", "prerequisites", "district-wide prerequisites")


def test_discouraged_needs_reason(make_catalog):
    rows = default_rows()
    rows[0]["discouraged"] = "true"
    only(problems_of(make_catalog(rows)), "row 2", "discouraged_reason")


def test_all_errors_reported_at_once(make_catalog):
    rows = default_rows()
    rows[0]["effectiveness"] = "1.5"
    rows[1]["useful_life"] = "0"
    rows[2]["scope"] = "county"
    problems = problems_of(make_catalog(rows))
    assert len(problems) >= 3
    only(problems, "row 2", "effectiveness")
    only(problems, "row 3", "useful_life")
    only(problems, "row 4", "scope")


def test_non_utf8_measures_file(make_catalog):
    folder = make_catalog()
    (folder / "measures.csv").write_bytes("id,name\nbld-caf\xe9,x\n".encode("latin-1"))
    only(problems_of(folder), "measures.csv", "UTF-8", "0xe9")


def test_empty_measures_file(make_catalog):
    folder = make_catalog()
    (folder / "measures.csv").write_text("  \n")
    only(problems_of(folder), "measures.csv", "empty")


def test_utf8_bom_is_accepted(make_catalog):
    folder = make_catalog()
    path = folder / "measures.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert "bld-lock" in load_catalog(folder).measures


def test_mandate_naming_unknown_measure(make_catalog):
    from tests.conftest import STATE
    state = dict(STATE, mandates=[dict(STATE["mandates"][0], measures=["bld-nothing"])])
    only(problems_of(make_catalog(states=[state])), "state_mandates.yaml", "mandates[0]", "bld-nothing")


def test_program_with_bad_category_and_missing_key(make_catalog):
    from tests.conftest import PROGRAM
    program = {k: v for k, v in PROGRAM.items() if k != "source"}
    program["rules"] = [dict(PROGRAM["rules"][0], cost_types=["hardware", "snacks"])]
    problems = problems_of(make_catalog(programs=[program]))
    only(problems, "funding_programs.yaml", "programs[0]", "source", "required")
    only(problems, "programs[0]", "rules.0.cost_types.1", "snacks")


def test_yaml_not_a_mapping(make_catalog):
    folder = make_catalog()
    (folder / "state_mandates.yaml").write_text("- just\n- a list\n")
    only(problems_of(folder), "state_mandates.yaml", "YAML mapping", "list")
