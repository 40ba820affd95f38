"""The Scenario page's funding editor (issue 15): a finance office adds a grant from the
catalog's programs, edits its amount, years, match rate and awarded flag, and removes it,
with no YAML; a wrong entry is a message naming the field, and the other edits stay."""
from __future__ import annotations

from pathlib import Path

import pytest

from optimizer import load_catalog
from ui import editors

AppTest = pytest.importorskip("streamlit.testing.v1").AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
SCENARIO_PAGE = "ui/pages/scenario.py"
GRANT = editors.GRANT


def open_scenario_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=900).run()
    assert not at.exception
    at.switch_page(SCENARIO_PAGE).run()
    assert not at.exception, at.exception
    return at


def source_key(sid: str, attr: str) -> str:
    return f"scenario:funding_sources.{sid}.{attr}"


def test_closed_programs_are_not_offered_and_ids_are_unique():
    catalog = load_catalog()
    offered = editors.open_programs(catalog)
    assert "nh-safe-grant" not in offered and "ed-stronger-connections" not in offered  # spend_by passed
    assert "cops-svpp" in offered
    assert editors.grant_id("cops-svpp", {"svpp": {}}) == "cops-svpp"
    assert editors.grant_id("cops-svpp", {"cops-svpp": {}, "cops-svpp-2": {}}) == "cops-svpp-3"


def test_add_edit_and_remove_a_grant_without_yaml():
    at = open_scenario_page()
    assert not at.error
    assert "nh-safe-grant" not in at.selectbox(key=GRANT + "program").options
    at.selectbox(key=GRANT + "program").set_value("fema-slcgp").run()
    assert at.text_input(key=GRANT + "id").value == "fema-slcgp"
    assert at.number_input(key=GRANT + "match_rate").value == pytest.approx(0.4)
    assert [at.number_input(key=GRANT + y).value for y in ("first_year", "last_year")] == [2027, 2029]
    assert at.toggle(key=GRANT + "awarded").value is True

    # an amount left out and the years the wrong way round: messages naming the fields, nothing added
    at.number_input(key="scenario:budget.capital.2027").set_value(123_456.0).run()
    at.number_input(key=GRANT + "last_year").set_value(2026).run()
    at.button(key=GRANT + "add").click().run()
    assert not at.exception
    messages = " ".join(e.value for e in at.error)
    assert "Amount" in messages and "Last fiscal year (2026) is before the first fiscal year (2027)" in messages
    assert "fema-slcgp" not in at.session_state["scenario"]["funding_sources"]
    assert at.session_state["scenario"]["budget"]["capital"]["2027"] == 123_456  # other edits kept
    assert at.text_input(key=GRANT + "id").value == "fema-slcgp"  # the form keeps what was typed

    at.number_input(key=GRANT + "amount").set_value(75_000.0).run()
    at.number_input(key=GRANT + "first_year").set_value(2028).run()
    at.number_input(key=GRANT + "last_year").set_value(2029).run()
    at.number_input(key=GRANT + "match_rate").set_value(0.5).run()
    at.button(key=GRANT + "add").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state["scenario"]["funding_sources"]["fema-slcgp"] == {
        "program": "fema-slcgp", "name": load_catalog().programs["fema-slcgp"].name, "amount": 75_000.0, "first_year": 2028, "last_year": 2029, "match_rate": 0.5, "awarded": True}
    assert at.download_button, "the scenario still validates: it can be saved"
    assert at.text_input(key=GRANT + "id").value == "fema-slcgp-2"  # a fresh form
    assert at.session_state["scenario"]["budget"]["capital"]["2027"] == 123_456

    # the new row edits like the others
    assert at.number_input(key=source_key("fema-slcgp", "amount")).value == 75_000
    at.number_input(key=source_key("fema-slcgp", "amount")).set_value(80_000.0).run()
    at.toggle(key=source_key("fema-slcgp", "awarded")).set_value(False).run()
    at.number_input(key=source_key("fema-slcgp", "match_rate")).set_value(0.45).run()
    source = at.session_state["scenario"]["funding_sources"]["fema-slcgp"]
    assert (source["amount"], source["awarded"], source["match_rate"]) == (80_000, False, 0.45)

    # a last year before the first year on a row: a message naming the field, the years kept
    at.number_input(key=source_key("fema-slcgp", "last_year")).set_value(2027).run()
    assert not at.exception
    assert any("Last fiscal year (2027) is before the first fiscal year (2028)" in e.value for e in at.error)
    assert (source["first_year"], source["last_year"]) == (2028, 2029)
    at.number_input(key=source_key("fema-slcgp", "first_year")).set_value(2027).run()
    assert not at.error
    assert (source["first_year"], source["last_year"]) == (2027, 2027)
    assert source["amount"] == 80_000

    at.button(key=editors.FUNDING_REMOVE + "fema-slcgp").click().run()
    assert not at.exception and not at.error
    assert "fema-slcgp" not in at.session_state["scenario"]["funding_sources"]
    assert {"svpp", "pccd"} <= set(at.session_state["scenario"]["funding_sources"])
    assert at.download_button

    # loading another scenario starts the form afresh, on its horizon
    at.text_input(key=GRANT + "id").set_value("typed").run()
    at.selectbox(key="builtin").set_value("rural.yaml").run()
    assert not at.exception and not at.error
    assert at.text_input(key=GRANT + "id").value != "typed"
    assert "ohio-safety" in at.session_state["scenario"]["funding_sources"]
    assert at.toggle(key=source_key("ohio-safety", "awarded")).value is True
