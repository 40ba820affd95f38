"""Bad scenario input: keys, types, site rows, inheritance, and ids unknown to the catalog."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from optimizer import InputError, check_against_catalog, load_catalog, load_scenario
from tests.conftest import only

SITES_CSV = (
    "id,name,level,enrollment,staff,exterior_doors,entrances,classrooms,camera_positions,risk_weight,in_place\n"
    "ES-1,Oak Elementary,elementary,420,35,10,1,20,18,1.0,bld-lock\n"
    "HS-1,Ridge High,high,1500,110,24,2,60,50,1.2,\n"
)

BASE = {
    "name": "Test district",
    "state": "TX",
    "horizon": {"start": 2027, "years": 3},
    "sites_file": "sites.csv",
    "budget": {"capital": 100000, "operating": {2027: 5000, 2028: 6000, 2029: 7000}},
    "funding_sources": {"grant": {"program": "test-grant", "amount": 1000}},
    "must": [{"measure": "bld-reader", "site": "HS-1"}],
}


def write(folder: Path, name: str, data) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


@pytest.fixture
def scenario_dir(tmp_path):
    (tmp_path / "sites.csv").write_text(SITES_CSV)
    write(tmp_path, "base.yaml", BASE)
    return tmp_path


def problems_of(path, catalog=None) -> list[str]:
    with pytest.raises(InputError) as info:
        scenario = load_scenario(path)
        if catalog is not None:
            check_against_catalog(scenario, catalog, path)
    return [str(p) for p in info.value.problems]




def test_valid_scenario_loads_sites_and_budgets(scenario_dir, make_catalog):
    s = load_scenario(scenario_dir / "base.yaml")
    assert [x.id for x in s.sites] == ["ES-1", "HS-1"]
    assert s.sites[0].in_place == ["bld-lock"] and s.sites[1].in_place == []
    assert s.budget.per_year("operating", s.horizon.fiscal_years) == {2027: 5000, 2028: 6000, 2029: 7000}
    assert s.budget.per_year("capital", s.horizon.fiscal_years)[2029] == 100000
    check_against_catalog(s, load_catalog(make_catalog()), "base.yaml")


def test_whatif_inherits_and_changes_a_few_fields(scenario_dir):
    write(scenario_dir, "nogrant.yaml", {"extends": "base.yaml", "name": "No grant",
                                          "funding_sources": {"grant": {"awarded": False}}})
    s = load_scenario(scenario_dir / "nogrant.yaml")
    assert s.name == "No grant"
    assert s.funding_sources["grant"].awarded is False
    assert s.funding_sources["grant"].amount == 1000  # kept from the base
    assert len(s.sites) == 2  # sites file found relative to the base


def test_unknown_key_and_wrong_type(scenario_dir):
    data = dict(BASE, colour="blue", horizon={"start": 2027, "years": "three"})
    msgs = problems_of(write(scenario_dir, "bad.yaml", data))
    only(msgs, "bad.yaml", "colour", "a scenario key")
    only(msgs, "bad.yaml", "horizon.years", "'three'", "integer")


def test_an_award_ending_before_it_starts_is_refused(scenario_dir):
    data = dict(BASE, funding_sources={"grant": dict(BASE["funding_sources"]["grant"], first_year=2028, last_year=2027)})
    only(problems_of(write(scenario_dir, "bad.yaml", data)), "bad.yaml", "funding_sources.grant.last_year",
         "2027", "no earlier than first_year (2028)")


def test_missing_required_key(scenario_dir):
    data = {k: v for k, v in BASE.items() if k != "budget"}
    only(problems_of(write(scenario_dir, "bad.yaml", data)), "budget", "required")


def test_bad_site_row_names_the_sites_file_row_and_field(scenario_dir):
    (scenario_dir / "sites.csv").write_text(SITES_CSV.replace("420,35", "-420,35").replace(",1.2,", ",lots,"))
    msgs = problems_of(scenario_dir / "base.yaml")
    only(msgs, "sites.csv", "row 2", "enrollment", "'-420'")
    only(msgs, "sites.csv", "row 3", "risk_weight", "'lots'")


def test_sites_from_excel(scenario_dir):
    import csv
    import io

    import pandas as pd
    frame = pd.DataFrame(list(csv.DictReader(io.StringIO(SITES_CSV))))
    frame.to_excel(scenario_dir / "sites.xlsx", index=False, sheet_name="Sites")
    write(scenario_dir, "xl.yaml", dict(BASE, sites_file="sites.xlsx", sites_sheet="Sites"))
    s = load_scenario(scenario_dir / "xl.yaml")
    assert s.sites[1].enrollment == 1500 and s.sites[0].in_place == ["bld-lock"]


def test_unknown_ids_against_catalog(scenario_dir, make_catalog):
    data = dict(BASE, must=[{"measure": "bld-teleporter", "site": "HS-9"}],
                district_in_place=["bld-lock"],
                funding_sources={"g": {"program": "no-such-program", "amount": 5}})
    (scenario_dir / "sites.csv").write_text(SITES_CSV.replace("bld-lock", "bld-moat"))
    msgs = problems_of(write(scenario_dir, "ids.yaml", data), load_catalog(make_catalog()))
    only(msgs, "must[0]", "measure", "bld-teleporter")
    only(msgs, "must[0]", "site", "HS-9")
    only(msgs, "site ES-1", "in_place", "bld-moat")
    only(msgs, "district_in_place", "bld-lock", "district-scope")
    only(msgs, "funding_sources.g", "program", "no-such-program")


def test_extends_missing_base(scenario_dir):
    path = write(scenario_dir, "orphan.yaml", {"extends": "gone.yaml", "name": "x"})
    only(problems_of(path), "orphan.yaml", "extends", "gone.yaml", "existing scenario file")


def test_extends_itself(scenario_dir):
    path = write(scenario_dir, "self.yaml", {"extends": "self.yaml", "name": "x"})
    only(problems_of(path), "self.yaml", "extends", "does not lead back")


def test_extends_in_a_loop(scenario_dir):
    write(scenario_dir, "a.yaml", {"extends": "b.yaml"})
    write(scenario_dir, "b.yaml", {"extends": "a.yaml"})
    msg = only(problems_of(scenario_dir / "a.yaml"), "extends", "a.yaml -> b.yaml -> a.yaml")
    assert "does not lead back" in msg


def test_yaml_not_a_mapping(scenario_dir):
    only(problems_of(write(scenario_dir, "list.yaml", "- a\n- b\n")), "list.yaml", "YAML mapping", "list")


def test_non_utf8_and_empty_scenario(scenario_dir):
    path = scenario_dir / "latin.yaml"
    path.write_bytes("name: Caf\xe9\n".encode("latin-1"))
    only(problems_of(path), "latin.yaml", "UTF-8")
    only(problems_of(write(scenario_dir, "empty.yaml", "")), "empty.yaml", "empty")


def test_broken_yaml_names_line(scenario_dir):
    only(problems_of(write(scenario_dir, "broken.yaml", "name: [unclosed\nx: 1\n")), "broken.yaml", "line")


def test_budget_year_outside_horizon(scenario_dir):
    data = dict(BASE, budget={"capital": {2035: 10}, "operating": 0})
    only(problems_of(write(scenario_dir, "b.yaml", data)), "budget.capital", "2035", "horizon")


def test_all_scenario_errors_at_once(scenario_dir):
    data = dict(BASE, horizon={"start": 2027, "years": 40}, policy={"tier_order": "sometimes"})
    msgs = problems_of(write(scenario_dir, "many.yaml", data))
    only(msgs, "horizon.years")
    only(msgs, "policy.tier_order", "sometimes")
