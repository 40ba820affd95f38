"""Grant opportunities (issue 31), on small districts with known answers: a program that pays
for nothing the district needs is worth nothing and says why, a match makes an otherwise equal
program rank lower, and a closed program, another state's or one already awarded is not listed."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from optimizer.analyses.opportunities import applied, award_size, opportunities
from tests.builders import instance, m, program, site

NO_MATCH = dict(match_rate=0, match_basis="none", match_type="none")
ON = dt.date(2026, 1, 15)


def lock(**changes) -> dict:
    return m("lock", **{"capital_low": 1000, "capital_typical": 1000, "capital_high": 1000, "annual_cost": 0,
                        "effectiveness": 0.5, **changes})


def test_a_program_that_pays_for_nothing_the_district_needs_is_worth_nothing_and_says_why(tmp_path):
    # The district needs the lock (hardware); the program pays for training only.
    training = program("training-only", rules=[{"effect": "allow", "cost_types": ["training"],
                                                "reason": "pays for training", "citation": "test, p. 1",
                                                "year": 2025, "basis": "primary"}], **NO_MATCH)
    found = opportunities(instance(tmp_path, [lock()], programs=[training], budget={"capital": 0, "operating": 0}),
                          on=ON)
    row = found.table.set_index("program").loc["training-only"]
    assert row["award"] == 500 and row["award_used"] == 0 and row["points"] == 0 and row["net_value"] == 0
    assert row["why"].startswith("worth nothing to this plan")
    assert row["measures_it_may_pay"] == 0 and row["may_pay_for"].startswith("none of the district's")


def test_a_match_ranks_an_otherwise_equal_program_lower(tmp_path):
    # Two programs that pay for hardware, up to $2,000 each (middle award $1,000), one asking a
    # 50% match of the grant. The district has $1,000 of its own capital, which buys the lock
    # without any award: either award frees that money, the matched one only half of it.
    plain = program("plain", award={"maximum": 2000}, **NO_MATCH)
    matched = program("matched", award={"maximum": 2000}, match_rate=0.5, match_basis="federal_share",
                      match_type="cash")
    inputs = instance(tmp_path, [lock()], programs=[plain, matched], budget={"capital": 1000, "operating": 0})
    found = opportunities(inputs, on=ON, workers=2)
    pd.testing.assert_frame_equal(found.table, opportunities(inputs, on=ON, workers=1).table)  # one process or two
    table = found.table.set_index("program")
    assert list(found.table["program"]) == ["plain", "matched"]
    assert table.at["plain", "local_change"] == pytest.approx(-1000, abs=0.01)
    assert table.at["matched", "local_change"] == pytest.approx(-1000 + 1000 * 0.5 / 1.5, abs=0.01)
    assert table.at["matched", "local_match"] == pytest.approx(1000 / 3, abs=0.01)
    assert table.at["plain", "net_value"] > table.at["matched", "net_value"] > 0
    assert "frees $1,000 of local money" in table.at["plain", "why"]
    assert table.at["plain", "may_pay_for"] == "1 of the district's 1 measures: lock (test solicitation, p. 1, 2025)"
    assert table.at["plain", "harm_per_million_local"] is None  # it ties up no local money


def test_closed_programs_another_state_s_and_awards_already_held_are_not_listed(tmp_path):
    spent = program("spent", spend_by="2025-06-30", **NO_MATCH)
    elsewhere = program("elsewhere", level="state", state="OH", **NO_MATCH)
    nonprofit = program("nonprofit", public_schools_eligible=False, **NO_MATCH)
    held = program("held", **NO_MATCH)
    found = opportunities(instance(tmp_path, [lock()], programs=[spent, elsewhere, nonprofit, held],
                                   funding_sources={"award": {"program": "held", "amount": 500}},
                                   budget={"capital": 0, "operating": 0}), on=ON)
    assert found.table.empty
    why = found.closed.set_index("program")["why"]
    assert why["spent"] == "its money had to be spent by 30 June 2025"
    assert "elsewhere" not in why  # another state's program is not the district's to apply to
    assert why["nonprofit"] == "public school districts are not eligible"
    assert why["held"].startswith("already awarded to the district (funding source award)")
    # money spent by a date after today but before the plan's first fiscal year is closed too
    later = program("later", spend_by="2026-03-31", **NO_MATCH)
    found = opportunities(instance(tmp_path, [lock()], programs=[later], horizon={"start": 2027, "years": 1},
                                   budget={"capital": 0, "operating": 0}), on=ON)
    assert found.table.empty and list(found.closed["program"]) == ["later"]


def test_a_formula_program_is_valued_at_its_formula_s_amount(tmp_path):
    # $20 a student and $1,000 a school, at most $5,000: 2 schools of 100 students = $6,000 -> $5,000.
    formula = program("formula", annual=True, award={"per_student": 20, "per_campus": 1000, "maximum": 5000},
                      **NO_MATCH)
    inputs = instance(tmp_path, [lock()], programs=[formula], sites=[site("A", enrollment=100), site("B", enrollment=100)],
                      budget={"capital": 0, "operating": 0})
    size = award_size(inputs.catalog.programs["formula"], inputs.scenario)
    assert size.middle == size.most == 5000 and "$20.00 a student and $1,000 a school" in size.basis
    found = opportunities(inputs, on=ON)
    row = found.table.set_index("program").loc["formula"]
    assert row["award_used"] == pytest.approx(2000) and row["points"] > 0  # a lock at each school
    assert applied("formula") not in {s.id for s in found.base.problem.sources}


def test_the_command_refuses_an_amount_it_cannot_read_or_a_program_it_does_not_know():
    from typer.testing import CliRunner

    from optimizer.cli import app
    from optimizer.paths import SCENARIOS_DIR

    scenario = str(SCENARIOS_DIR / "rural.yaml")
    bad = CliRunner().invoke(app, ["opportunities", scenario, "--amount", "bja-stop=lots"])
    assert bad.exit_code == 2 and "--amount: 'bja-stop=lots' is not PROGRAM=DOLLARS" in bad.output
    unknown = CliRunner().invoke(app, ["opportunities", scenario, "--amount", "no-such-grant=1000"])
    assert unknown.exit_code == 2 and "no program no-such-grant in the catalog" in unknown.output
    assert "Traceback" not in bad.output + unknown.output


def test_the_last_round_decides_what_is_closed_when_applications_are_due_and_the_award_valued(tmp_path):
    # A pilot with one round that closed, a yearly program whose last deadline was 18 June 2025
    # with an average award of $1,500 (most $2,000), and a program the sources give no new round for.
    pilot = program("pilot", application={"selection": "competitive", "rounds": "one-time",
                                          "last_deadline": "2024-11-01"}, **NO_MATCH)
    yearly = program("yearly", award={"maximum": 2000}, application={
        "selection": "competitive", "rounds": "yearly", "last_deadline": "2025-06-18", "typical_award": 1500,
        "success_rate": 0.54}, **NO_MATCH)
    stopped = program("stopped", application={"selection": "formula", "rounds": "unknown",
                                              "last_deadline": "2024-02-29"}, **NO_MATCH)
    found = opportunities(instance(tmp_path, [lock()], programs=[pilot, yearly, stopped],
                                   budget={"capital": 0, "operating": 0}), on=ON)
    assert found.closed.set_index("program").at["pilot", "why"] == "its one application round closed on 01 November 2024"
    table = found.table.set_index("program")
    assert table.at["yearly", "deadline"] == "about 18 June 2026, if the round recurs as it has (last: 18 June 2025)"
    assert table.at["yearly", "award"] == 1500 and table.at["yearly", "success_rate"] == 0.54
    assert "the average award of its last round with published figures ($1,500)" in table.at["yearly", "award_basis"]
    assert table.at["stopped", "deadline"] == "no new round found; the last closed on 29 February 2024"
    assert table.at["stopped", "selection"] == "formula"


def test_what_an_application_asks_is_listed_where_the_sources_say_and_never_guessed(tmp_path):
    from pydantic import ValidationError

    from optimizer.data.funding import Application

    asks = {"narrative": "a project narrative of 20 pages", "partners": "a letter from the police",
            "registrations": "SAM.gov 30 days ahead"}
    scored = program("scored", application={"selection": "competitive", "rounds": "yearly", "effort": asks},
                     **NO_MATCH)
    silent = program("silent", application={"selection": "competitive"}, **NO_MATCH)
    share = program("share", application={"selection": "formula"}, **NO_MATCH)
    found = opportunities(instance(tmp_path, [lock()], programs=[scored, silent, share],
                                   budget={"capital": 0, "operating": 0}), on=ON)
    table = found.table.set_index("program")
    # in the order narrative, partners, data, registrations; a part the sources do not state is left out
    assert table.at["scored", "asks"] == ("narrative: a project narrative of 20 pages; partners: a letter from the "
                                          "police; register first: SAM.gov 30 days ahead")
    assert table.at["silent", "asks"] == "not in the catalog"
    assert table.at["share", "asks"] == "an allocation: no application effort found in the catalog's sources"
    with pytest.raises(ValidationError, match="give at least one of narrative, partners, data, registrations"):
        Application.model_validate({"selection": "competitive", "effort": {}})


def test_the_portfolio_takes_awards_that_add_up_and_never_more_match_than_the_district_has(tmp_path):
    # Two schools, a $1,000 lock each, no local capital: each program's middle award ($1,000)
    # buys one lock, so both are worth applying for together; the calendar puts the earlier
    # deadline first.
    from optimizer.analyses.opportunities import portfolio

    two = [site("A"), site("B")]
    early = program("early", award={"maximum": 2000}, application={
        "selection": "competitive", "rounds": "yearly", "last_deadline": "2025-03-01"}, **NO_MATCH)
    late = program("late", award={"maximum": 2000}, application={
        "selection": "competitive", "rounds": "yearly", "last_deadline": "2025-09-01"}, **NO_MATCH)
    inputs = instance(tmp_path, [lock()], programs=[late, early], sites=two, budget={"capital": 0, "operating": 0})
    found = opportunities(inputs, on=ON)
    chosen = portfolio(inputs, found, on=ON)
    assert set(chosen.table["program"]) == {"early", "late"}
    assert chosen.table["award_used"].tolist() == [1000, 1000] and (chosen.table["net_added"] > 0).all()
    assert len(chosen.result.plan.items) == 2  # a lock at each school
    assert list(chosen.calendar["program"]) == ["early", "late"]
    assert [str(d) for d in chosen.calendar["date"]] == ["2026-03-01", "2026-09-01"]
    # Two programs that each ask a 50% match of the grant, $600 of local capital in all: the
    # awards the plan spends never ask more match than that.
    half = dict(award={"maximum": 2000}, match_rate=0.5, match_basis="federal_share", match_type="cash")
    inputs = instance(tmp_path, [lock()], programs=[program("m1", **half), program("m2", **half)], sites=two,
                      budget={"capital": 600, "operating": 0})
    valued = opportunities(inputs, on=ON)
    matched = portfolio(inputs, valued, on=ON)
    assert 0 < matched.table["local_match"].sum() <= 600 + 0.01
    m1 = valued.table.set_index("program").loc["m1"]  # its match is local money the plan did not spend before
    assert m1["local_change"] > 0 and m1["harm_per_million_local"] == pytest.approx(
        1e6 * m1["harm_avoided"] / m1["local_change"]) and "per $1 million of it" in m1["why"]
    assert matched.words()[0].startswith("Apply for")


def test_an_application_package_s_budget_is_the_award_the_plan_spends_and_its_match(tmp_path):
    import docx
    import openpyxl

    from optimizer.analyses.application import application_package
    from optimizer.analyses.opportunities import applied
    from optimizer.reports.application import write_application

    matched = program("matched", award={"maximum": 2000}, match_rate=0.5, match_basis="federal_share",
                      match_type="cash", application={"selection": "competitive", "rounds": "yearly",
                                                      "last_deadline": "2025-06-18"})
    inputs = instance(tmp_path, [lock()], programs=[matched, program("spent", spend_by="2025-06-30", **NO_MATCH)],
                      sites=[site("A"), site("B")], budget={"capital": 1000, "operating": 0})
    package = application_package(inputs, "matched", 1500, on=ON)
    use = package.result.grant_use().set_index("source").loc[applied("matched")]
    assert package.requested == pytest.approx(use["used"]) and package.match == pytest.approx(use["local_match"])
    # two locks, $2,000: a 50% match of the grant is a third of the cost
    assert package.requested + package.match == pytest.approx(2000) and package.match == pytest.approx(2000 / 3, abs=0.01)  # whole cents
    assert package.deadline.startswith("about 18 June 2026") and package.need and package.projects
    docx_path = write_application(package, tmp_path / "package.docx")
    text = [p.text for p in docx.Document(str(docx_path)).paragraphs]
    assert {"What the application asks", "Statement of need", "Project description", "Budget", "Timeline"} <= set(text)
    assert "The program's current solicitation: the catalog's sources do not say what the application asks; read " \
           "the solicitation." in text  # the catalog holds no effort for this program
    sheet = openpyxl.load_workbook(write_application(package, tmp_path / "package.xlsx"))["Budget"]
    assert [c.value for c in sheet[sheet.max_row]][-3:] == [pytest.approx(package.requested),
                                                            pytest.approx(package.match), pytest.approx(2000)]
    asked = program("asked", award={"maximum": 2000}, application={
        "selection": "competitive", "effort": {"data": "a threat assessment of each school"}}, **NO_MATCH)
    asking = instance(tmp_path, [lock()], programs=[asked], budget={"capital": 1000, "operating": 0})
    package = application_package(asking, "asked", 1500, on=ON)
    assert package.asks == [("data", "a threat assessment of each school")]
    text = [p.text for p in docx.Document(str(write_application(package, tmp_path / "asked.docx"))).paragraphs]
    assert "Data: a threat assessment of each school." in text
    sheet = openpyxl.load_workbook(write_application(package, tmp_path / "asked.xlsx"))["Application"]
    assert ["Asks: data", "a threat assessment of each school"] in [[c.value for c in row] for row in sheet.iter_rows()]
    with pytest.raises(ValueError, match="cannot apply: its money had to be spent by 30 June 2025"):
        application_package(inputs, "spent", 1000, on=ON)
    with pytest.raises(ValueError, match="use .docx or .xlsx"):
        write_application(package, tmp_path / "package.pdf")
