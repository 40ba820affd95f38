"""Words a finance officer reads (issue 15): screening reasons and explanations without model
terms, and sites-file problems that name the file, the spreadsheet row and the column once."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from optimizer import InputError, load_catalog, load_scenario
from optimizer.analyses.explain import explain
from optimizer.analyses.screen import VERDICT_MEANINGS, VERDICTS, screen
from optimizer.data.inputs import load_inputs
from tests.builders import instance, m

FREE = {"operating": 1e9}
COLUMNS = "id,name,level,enrollment,staff,exterior_doors,entrances,classrooms,camera_positions,in_place"
SITES_CSV = (COLUMNS + "\n"
             "ES-1,Oak Elementary,elementary,420,35,10,1,20,18,bld-lock\n"
             "HS-1,Ridge High,high,1500,110,24,2,60,50,\n")
SCENARIO = {"name": "Test district", "horizon": {"start": 2027, "years": 1}, "sites_file": "my_sites.csv",
            "budget": {"capital": 1000, "operating": 1000}}


def fixed(id: str, cost: float, **changes) -> dict:
    return m(id, capital_low=cost, capital_typical=cost, capital_high=cost, annual_cost=0, **changes)


# ---------------------------------------------------------------------------- screening


def test_screening_reasons_name_the_better_product_with_dollars_and_no_model_words(tmp_path):
    measures = [fixed("a", 100, effectiveness=0.5, name="Door lock", evidence="moderate", alternative_group="lock"),
                fixed("worse", 1000, effectiveness=0.3, name="Smart lock", evidence="expert_consensus",
                      alternative_group="lock"),
                fixed("dear", 100_000, effectiveness=0.1, component="communication")]
    inputs = instance(tmp_path, measures, budget={"capital": 100, **FREE})
    table = screen(inputs).set_index("measure_id")
    assert table.at["worse", "verdict"] == "dominated"  # the verdict names stay as they were
    for text in table["reason"].tolist() + table["better_buy"].tolist():
        assert "dominated" not in text and "effectiveness (vs" not in text, text
        assert "objective" not in text and "coverage group" not in text, text
    reason = table.at["worse", "reason"]
    assert reason.startswith("a cheaper option in the catalog does at least as much: Door lock "
                             "($100 vs $1,000 per school over the 1-year plan, evidence: moderate vs "
                             "expert consensus)"), reason
    assert "Door lock" in table.at["worse", "better_buy"] and "$100" in table.at["worse", "better_buy"]
    assert "other purchases protect more for the money" in table.at["dear", "reason"]


def test_every_verdict_is_explained_in_plain_words():
    assert set(VERDICT_MEANINGS) == set(VERDICTS)
    assert all(text.endswith(".") and "dominated" not in text for text in VERDICT_MEANINGS.values())
    page = (Path(__file__).resolve().parents[1] / "ui" / "pages" / "screening.py").read_text(encoding="utf-8")
    assert "VERDICT_MEANINGS" in page and "What the verdicts mean" in page


# ---------------------------------------------------------------------------- explain


def test_explain_compares_per_1000_in_words(tmp_path):
    measures = [fixed("a", 100, effectiveness=0.5), fixed("b", 200, effectiveness=0.4, component="video"),
                fixed("c", 400, effectiveness=0.3, component="communication")]
    inputs = instance(tmp_path, measures, budget={"capital": 300, **FREE})
    for measure in ("a", "c"):
        why = explain(inputs, measure, search_budget=False)
        [worth] = [r for r in why.reasons if "per $1 million" in r]
        assert not re.search(r"\d\.\d{4}", worth), worth
        assert "that the plan's last $1,000 buy" not in worth, worth
        assert re.search(r"serious-harm equivalents for \$[\d,]+[^,]*, that is [\d.,]+ per \$1 million, "
                         r"(more than|less than|about the same as) the [\d.,]+ per \$1 million that the last "
                         r"items the plan buys avoid$", worth), worth


# ---------------------------------------------------------------------------- sites files


def _problems(path: Path, catalog=None) -> list:
    with pytest.raises(InputError) as info:
        scenario = load_scenario(path)
        if catalog is not None:
            from optimizer import check_against_catalog
            check_against_catalog(scenario, catalog, path)
    return info.value.problems


def _scenario(tmp_path: Path, sites: str, **changes) -> Path:
    (tmp_path / "my_sites.csv").write_text(sites, encoding="utf-8")
    path = tmp_path / "district.yaml"
    path.write_text(yaml.safe_dump({**SCENARIO, **changes}), encoding="utf-8")
    return path


def test_a_missing_sites_column_is_named_once(tmp_path):
    without = "\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != 7)
                        for line in SITES_CSV.splitlines()) + "\n"
    assert "classrooms" not in without
    problems = _problems(_scenario(tmp_path, without))
    about = [p for p in problems if "classrooms" in str(p)]
    assert len(about) == 1, problems
    [problem] = about
    assert problem.file.endswith("my_sites.csv") and problem.field == "classrooms"
    assert "add it to the header row" in problem.expected
    assert not any("at least 1 item" in str(p) or "field is required" in str(p) for p in problems), problems
    assert len(problems) == 1, problems


def test_a_bad_sites_value_names_the_spreadsheet_row(tmp_path):
    problems = _problems(_scenario(tmp_path, SITES_CSV.replace("1500", "many")))
    assert [(Path(p.file).name, p.where, p.field) for p in problems] == [("my_sites.csv", "row 3", "enrollment")]
    assert not any("at least 1 item" in str(p) for p in problems)


def test_a_duplicate_site_id_names_the_row_of_the_sites_file(tmp_path):
    problems = _problems(_scenario(tmp_path, SITES_CSV.replace("HS-1", "ES-1")))
    assert [(Path(p.file).name, p.where, p.field) for p in problems] == [("my_sites.csv", "row 3 (site ES-1)", "id")]


def test_inline_sites_are_named_site_n_with_their_id(tmp_path):
    site = {"name": "School", "level": "elementary", "enrollment": 400, "staff": 30, "exterior_doors": 8,
            "entrances": 1, "classrooms": 20, "camera_positions": 12}
    data = {k: v for k, v in SCENARIO.items() if k != "sites_file"}
    data["sites"] = [dict(site, id="ES-1"), dict(site, id="HS-1", enrollment="many"), dict(site, id="ES-1")]
    path = tmp_path / "inline.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    problems = _problems(path)
    assert [(p.where, p.field) for p in problems] == [("site 2 (id HS-1)", "enrollment")]
    data["sites"][1]["enrollment"] = 1500
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert [(p.where, p.field) for p in _problems(path)] == [("site 3 (id ES-1)", "id")]
    for p in _problems(path):
        assert "sites[" not in str(p) and "sites.2" not in str(p)


def test_an_unknown_in_place_id_is_reported_against_the_sites_file(tmp_path, make_catalog):
    catalog = load_catalog(make_catalog())
    path = _scenario(tmp_path, SITES_CSV.replace("bld-lock", "bld-moat"))
    [problem] = _problems(path, catalog)
    assert (Path(problem.file).name, problem.where, problem.field, problem.value) == (
        "my_sites.csv", "row 2 (site ES-1)", "in_place", "bld-moat")


def test_an_uploaded_sites_table_is_named_in_its_problems(tmp_path, make_catalog):
    from ui import scenario_files
    catalog = load_catalog(make_catalog())
    bad = SITES_CSV.replace("bld-lock", "bld-moat").encode()
    # beside the scenario YAML that names it
    with pytest.raises(InputError) as beside:
        scenario_files.read_upload([("district.yaml", yaml.safe_dump(SCENARIO).encode()), ("my_sites.csv", bad)],
                                   {}, "current.yaml", catalog=catalog)
    assert [(p.file, p.where, p.field) for p in beside.value.problems] == [
        ("my_sites.csv", "row 2 (site ES-1)", "in_place")]
    # alone, replacing the sites of the scenario being edited
    current = scenario_files.as_mapping(load_inputs(_scenario(tmp_path, SITES_CSV), catalog=catalog).scenario)
    with pytest.raises(InputError) as alone:
        scenario_files.read_upload([("new_sites.csv", bad)], current, "district.yaml", catalog=catalog)
    assert [(p.file, p.where, p.field) for p in alone.value.problems] == [
        ("new_sites.csv", "row 2 (site ES-1)", "in_place")]
