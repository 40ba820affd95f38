"""The plan in a board's units and words: the share of the protection gap closed, what to buy
by measure, a short "why" for every item, names before ids, and the workbook's first sheet."""
from __future__ import annotations

import openpyxl
import pytest
from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.core.run import optimize
from optimizer.core.verify import plan_value
from optimizer.reports.export import plan_table, write_plan
from tests.builders import instance, m, program, site


def cheap(id: str, cost: float, **changes) -> dict:
    return m(id, capital_low=cost, capital_typical=cost, capital_high=cost, annual_cost=0, **changes)


@pytest.fixture
def district(tmp_path):
    """Two named schools, two years, a grant: a lock at each school, a card reader that needs
    the lock, and a district plan."""
    inputs = instance(
        tmp_path,
        [m("lock", annual_cost=10),
         m("reader", tier=2, prerequisites="lock", unit_basis="exterior_door", capital_low=100,
           capital_typical=150, capital_high=300, annual_cost=5),
         m("plan", layer="district", component="policies", scope="district", unit_basis="district",
           funding_categories="planning", budget_category="contractual", annual_cost=0)],
        programs=[program("fed")],
        funding_sources={"svpp": {"program": "fed", "amount": 1000}},
        sites=[site("A", name="Alder Elementary"), site("B", name="Birch Middle", risk_weight=1.5)],
        horizon={"start": 2027, "years": 2},
        budget={"capital": 1500, "operating": 100},
    )
    return inputs, optimize(inputs)


def test_nothing_bought_closes_none_of_the_gap(tmp_path):
    result = optimize(instance(tmp_path, [cheap("a", 100)], budget={"capital": 0, "operating": 0}))
    assert len(result.plan.items) == 0
    assert result.gap_closed == 0.0 and result.dollars_per_point is None
    assert result.protection == result.baseline_protection == 0.0
    assert result.tier1_reached() == (0, result.tier1_reached()[1])


def test_what_to_buy_adds_up_by_measure(district):
    _, result = district
    items, funding = result.plan.items, result.funding
    table = result.what_to_buy().set_index("measure_id")
    assert sorted(table.index) == sorted(set(items["measure_id"]))
    for mid, row in table.iterrows():
        mine = items[items["measure_id"] == mid]
        assert row["capital"] == pytest.approx(mine["capital_cost"].sum())
        assert row["annual"] == pytest.approx(mine["annual_cost"].sum())
        assert row["quantity"] == mine["quantity"].sum()
        assert row["fiscal_years"] == ", ".join(map(str, sorted(set(mine["year"]))))
        paid = funding[(funding["measure_id"] == mid) & (funding["amount"] > 0)]["source"]
        assert set(row["paid_by"].split(", ")) == {result.source_names()[s] for s in set(paid)}
        assert row["measure"] == mine["name"].iloc[0]
    lock = table.loc["lock"]
    assert lock["schools"] == 2 and lock["where"] == "Alder Elementary, Birch Middle"
    assert table.loc["plan", "where"] == "district-wide" and table.loc["plan", "schools"] == 2  # serves both
    assert list(result.what_to_buy().columns[:2]) == ["measure", "schools"]


def test_what_to_buy_counts_schools_when_many(tmp_path):
    result = optimize(instance(tmp_path, [cheap("a", 100)], sites=[site(x) for x in "ABCDE"],
                               budget={"capital": 500, "operating": 0}))
    row = result.what_to_buy().iloc[0]
    assert row["schools"] == 5 and row["where"] == "5 schools" and row["quantity"] == 5


def test_reasons_name_the_prerequisite_and_the_value(district):
    _, result = district
    why = result.reasons()
    assert list(why.index) == list(result.plan.items.index)
    items = result.plan.items.assign(why=why)
    assert "reader" in set(items["measure_id"])
    for r in items[items["measure_id"] == "lock"].itertuples():
        if ((items["measure_id"] == "reader") & (items["site_id"] == r.site_id)).any():
            assert "prerequisite for reader" in r.why
    assert all(w for w in why)
    assert items.loc[items["measure_id"] == "reader", "why"].str.contains("serious-harm equivalents per \\$1,000").all()


def test_reasons_name_the_mandate(tmp_path):
    state = {"state": "NJ", "name": "New Jersey", "mandates": [{
        "id": "nj-panic", "title": "Panic alarm in every school", "measures": ["panic"], "strength": "must",
        "deadline": "2026-06-30", "applies_to": "every_site", "source": "law (2019)", "law": "Test Act (2019)",
        "enacted": "2019-05-01", "as_of": "2025-01-01"}]}
    result = optimize(instance(tmp_path, [cheap("panic", 100, component="detection", effectiveness=0.05),
                                          cheap("lock", 100, effectiveness=0.9)],
                               states=[state], state="NJ", budget={"capital": 200, "operating": 0}))
    why = result.plan.items.assign(why=result.reasons()).set_index("measure_id")["why"]
    assert why["panic"].startswith("meets mandate: Panic alarm in every school")
    assert "per $1,000" in why["lock"]


def test_item_gains_match_the_plan_value_without_the_item(district):
    _, result = district
    gains = result.item_gains()
    installs = result.plan.installs
    for i, c in zip(result.plan.items.index, result._rows):
        without = {k: v for k, v in installs.items() if k != c}
        assert gains[i] == pytest.approx(result.value - plan_value(result.problem, without), abs=1e-9)


def test_item_table_names_first_with_why(district):
    _, result = district
    table = plan_table(result)
    assert list(table.columns[:2]) == ["name", "school"] and list(table.columns[-2:]) == ["measure_id", "site_id"]
    assert "why" in table.columns and table["why"].str.len().gt(0).all()


def test_workbook_opens_on_what_to_buy(district, tmp_path):
    inputs, result = district
    path = write_plan(result, tmp_path / "plan.xlsx", inputs)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[:3] == ["Projects", "What to buy", "Summary"]
    sheet = book["What to buy"]
    header = [c.value for c in sheet[1]]
    assert header == ["Measure", "Schools", "Where", "Quantity", "Unit", "Capital ($)", "Annual cost ($)",
                      "Fiscal years", "Paid by", "Measure id"]
    assert sheet.freeze_panes == "A2"
    capital = header.index("Capital ($)") + 1
    assert sheet.max_row == 1 + len(result.what_to_buy())
    for row in range(2, sheet.max_row + 1):
        assert "$" in sheet.cell(row=row, column=capital).number_format
    assert sheet.column_dimensions["A"].width >= len("Measure")
    summary = book["Summary"]
    assert [c.value for c in summary[1]] == ["Item", "Value"] and summary.freeze_panes == "A2"
    rows = {r[0].value: r[1] for r in summary.iter_rows(min_row=2)}
    gap = rows["modelled risk of serious harm reduced by the plan (share of the risk left by what is in place)"]
    assert gap.value == pytest.approx(result.gap_closed, abs=1e-6) and gap.number_format == "0.0%"
    assert "$" in rows["total cost of ownership over the horizon ($)"].number_format
    plan = book["Plan by site"]
    assert [c.value for c in plan[1]][:2] == ["Measure", "School"] and "Why" in [c.value for c in plan[1]]
    assert plan.freeze_panes == "A2"
    assert write_plan(result, tmp_path / "again.xlsx", inputs).read_bytes() == path.read_bytes()


def test_cli_plan_prints_the_headline_in_words(district):
    inputs, result = district
    out = CliRunner().invoke(app, ["plan", str(inputs.path), "--catalog", str(inputs.path.parent / "catalog")])
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert f"reduces the modelled risk of serious harm at the district's schools by {100 * result.gap_closed:.1f}%" in text
    assert "What to buy" in text and "for analysts: modelled risk over" in text
    assert text.index("Projects (a PASS component bought in one fiscal year") < text.index("What to buy") \
        < text.index("Capital by layer")
