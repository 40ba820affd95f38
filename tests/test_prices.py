"""Prices a cost estimator would accept: every measure of the shipped catalog states where each
part of its price comes from (observed in a dated public purchase, or an estimate), the year of
its dollars, a low-typical-high range for its one-time and its recurring cost, and an audit
row; the price index converts observed prices only; a plan's cost is shown with the range its
prices give; robustness draws recurring costs from their range too."""
from __future__ import annotations

import csv
import functools

import numpy as np
import pytest

from optimizer import load_catalog, load_inputs
from optimizer.analyses.robust import perturbed
from optimizer.core.run import optimize
from optimizer.paths import CATALOG_DIR, SCENARIOS_DIR
from optimizer.reports.board import cost_range_words
from optimizer.reports.fmt import money
from tests.builders import instance, m, site, solved_example
from tests.conftest import measure_row

PRICE_COLUMNS = ["capital_low", "capital_typical", "capital_high", "capital_basis", "cost_year",
                 "annual_low", "annual_cost", "annual_high", "annual_basis", "annual_year", "unit_basis"]
#: Measures bought by an example's or a real district's plan whose price is still, in part, an
#: estimate (issue 28 stays open until this is empty); a measure priced from a dated public
#: purchase must leave the list, and a new estimate bought by a plan fails the test.
BOUGHT_ESTIMATES = CATALOG_DIR.parent / "tests" / "data" / "bought_estimates.txt"
#: Measures whose whole price was observed in a dated public purchase of 2019 or later: no fewer
#: (issue 28 asks for 100).
OBSERVED_SINCE_2019 = 18


@functools.cache
def raw_rows() -> list[dict[str, str]]:
    with (CATALOG_DIR / "measures.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_every_measure_states_its_price_parts_years_and_ranges_in_the_table():
    """The columns the loader could default are filled in the shipped table itself."""
    for row in raw_rows():
        missing = [c for c in PRICE_COLUMNS if not row[c].strip()]
        assert not missing, f"{row['id']}: {missing}"
        for part, typical in (("capital", "capital_typical"), ("annual", "annual_cost")):
            low, mid, high = float(row[f"{part}_low"]), float(row[typical]), float(row[f"{part}_high"])
            assert low <= mid <= high, (row["id"], part)
            # a price with a cost has a range: one figure alone is not a range a board can read
            assert high == 0 or high > low, (row["id"], part)


def test_every_measure_has_a_price_audit_row():
    with (CATALOG_DIR / "audit.csv").open(encoding="utf-8") as f:
        audited = {r["id"] for r in csv.DictReader(f) if r["kind"] == "measure_cost"}
    assert {r["id"] for r in raw_rows()} <= audited, sorted({r["id"] for r in raw_rows()} - audited)


def test_an_estimate_is_in_the_dollars_of_the_year_it_was_made(catalog):
    """An estimate is not indexed, so it must be a present-day figure (made in 2025 or later)."""
    for mid, measure in catalog.measures.items():
        for part, year in (("capital", measure.cost_year), ("annual", measure.annual_year)):
            if getattr(measure, f"{part}_basis") == "estimate":
                assert year >= catalog.dollar_year, (mid, part, year)


def test_an_estimate_says_how_it_was_reasoned(catalog):
    for mid, measure in catalog.measures.items():
        if measure.capital_basis != "observed" and measure.annual_basis != "observed" and measure.is_estimate:
            assert measure.cost_source.lower().startswith("estimate:"), mid
            assert len(measure.cost_source.split(":", 1)[1].strip()) >= 15, mid


def test_observed_prices_are_dated_and_at_least_as_many_as_before(catalog):
    observed = [mid for mid, x in catalog.measures.items()
                if not x.is_estimate and all(y >= 2019 for b, y in ((x.capital_basis, x.cost_year),
                                                                   (x.annual_basis, x.annual_year)) if b == "observed")]
    assert len(observed) >= OBSERVED_SINCE_2019


def test_the_price_index_converts_observed_prices_only(tmp_path):
    """Capital observed in 2019 is brought to 2024 dollars by the CPI-U; the recurring cost, an
    estimate dated 2014 by mistake, is not (the index once turned a present-day staff-time
    estimate of $3,000 into $5,797)."""
    rows = [measure_row("bld-lock", capital_low=100, capital_typical=100, capital_high=100, capital_basis="observed",
                        cost_year=2019, annual_cost=3000, annual_low=2000, annual_high=4000,
                        annual_basis="estimate", annual_year=2014)]
    inputs = instance(tmp_path, rows, budget={"capital": 0, "operating": 0})
    lock = inputs.catalog.measures["bld-lock"]
    with (CATALOG_DIR / "price_index.csv").open() as f:
        cpi = {int(r["year"]): float(r["index"]) for r in csv.DictReader(f)}
    assert lock.capital_typical == pytest.approx(100 * cpi[2024] / cpi[2019], abs=0.01)
    assert (lock.annual_low, lock.annual_cost, lock.annual_high) == (2000, 3000, 4000)


def test_a_table_without_the_basis_columns_reads_as_before(tmp_path):
    """An older measures table: a price whose source is not an estimate counts as observed and
    is indexed; its recurring cost has no range."""
    inputs = instance(tmp_path, [m("bld-lock", cost_year=2019, annual_cost=10)], budget={"capital": 0, "operating": 0})
    lock = inputs.catalog.measures["bld-lock"]
    assert lock.capital_basis == lock.annual_basis == "observed" and lock.annual_year == 2019
    assert lock.capital_typical > 200 and lock.annual_low == lock.annual_cost == lock.annual_high > 10


def test_a_plan_s_cost_is_shown_with_the_range_of_its_prices(tmp_path):
    """Two schools' locks at $100-$200-$300 and $5-$10-$20 a year over two years; the second
    school's district quote of $250 has no range around it."""
    rows = [m("bld-lock", annual_low=5, annual_cost=10, annual_high=20, annual_basis="observed", annual_year=2024)]
    inputs = instance(tmp_path, rows, budget={"capital": 10_000, "operating": 10_000},
                      horizon={"start": 2027, "years": 2},
                      sites=[site("A"), site("B")],
                      cost_overrides=[{"measure": "bld-lock", "site": "B", "capital": 250, "source": "district quote"}])
    result = optimize(inputs)
    assert len(result.plan.items) == 2
    bounds = result.cost_range(bounds=True)
    assert bounds["capital"] == (100 + 250, 200 + 250, 300 + 250)
    assert bounds["annual"] == (10, 20, 40)
    low, typical, high = bounds["tco"]
    assert typical == result.totals()["tco"] and low < typical < high
    years = len(result.funding[result.funding["kind"] == "annual"]["year"].unique())
    assert high - typical == pytest.approx(100 + 20 * years)  # capital +100, each year's upkeep doubled
    # likely: the 10th and 90th percentile of school A's lock, triangular 100-200-300, plus the quote
    likely = result.cost_range()["capital"]
    assert likely[0] == pytest.approx(250 + 100 + np.sqrt(0.1 * 200 * 100), abs=2)
    assert likely[2] == pytest.approx(250 + 300 - np.sqrt(0.1 * 200 * 100), abs=2)
    assert "across the price ranges" in result.headline_words()[0]
    words = cost_range_words(result)  # the board report's sentence under its cost table
    assert f"likely {money(result.cost_range()['tco'][0])} to {money(result.cost_range()['tco'][2])}" in words
    assert f"at the high end {money(high)}" in words


def test_the_likely_range_of_a_plan_of_skewed_prices_sits_above_the_typical_sum(tmp_path):
    """Prices that reach further up than down ($150-$200-$800): the plan's likely cost is above
    the sum of typical prices, and the headline says why."""
    rows = [m(f"bld-m{i}", component=c, capital_low=150, capital_typical=200, capital_high=800, annual_cost=0)
            for i, c in enumerate(("access_control", "video", "communication", "detection"))]
    result = optimize(instance(tmp_path, rows, budget={"capital": 10_000, "operating": 10_000}))
    low, typical, high = result.cost_range()["capital"]
    assert typical == 800 and typical < low < high < 3200
    assert "most price ranges reach further up than down" in result.headline_words()[0]


def test_robustness_draws_recurring_costs_from_their_range(tmp_path):
    rows = [m("bld-lock", annual_low=5, annual_cost=10, annual_high=20)]
    inputs = instance(tmp_path, rows, budget={"capital": 0, "operating": 0})
    draws = [perturbed(inputs, np.random.SeedSequence(s), 0.0).catalog.measures["bld-lock"] for s in range(40)]
    annual = [d.annual_cost for d in draws]
    assert all(5 <= a <= 20 for a in annual) and len(set(annual)) == 40
    assert all(100 <= d.capital_typical <= 300 for d in draws)


@pytest.mark.slow
def test_no_measure_a_plan_buys_is_priced_by_an_estimate_beyond_the_known_list(catalog):
    bought = set()
    for name in ("rural.yaml", "suburban.yaml", "urban.yaml"):
        bought |= set(solved_example(name).plan.items["measure_id"])
    for path in sorted((SCENARIOS_DIR / "real").glob("*.yaml")):
        bought |= set(optimize(load_inputs(path)).plan.items["measure_id"])
    estimates = {mid for mid in bought if catalog.measures[mid].is_estimate}
    known = {line.split("#")[0].strip() for line in BOUGHT_ESTIMATES.read_text().splitlines()} - {""}
    assert estimates <= known, f"bought estimates not in {BOUGHT_ESTIMATES.name}: {sorted(estimates - known)}"
    priced = {mid for mid in known if not catalog.measures[mid].is_estimate}
    assert not priced, f"priced from a public purchase now: take {sorted(priced)} off {BOUGHT_ESTIMATES.name}"


def test_the_likely_range_is_the_same_with_items_of_one_price_merged():
    """Items of one measure whose prices span the same shares of their typical price are drawn
    as one (the same share of each price): merging them changes no number. Three schools' locks
    (two at the catalog's range, one at a district quote with none) and one camera."""
    from optimizer.core.price_range import COVERAGE, DRAWS, PlanPrices, _triangular

    catalog_range, quote = (np.array(0.5), np.array(1.5)), (np.array(1.0), np.array(1.0))
    low, high = (np.array([a, b, c, d]) for a, b, c, d in zip(catalog_range, catalog_range, quote, (0.8, 2.0)))
    prices = PlanPrices(np.array([0, 0, 0, 1]), np.array([200.0, 300.0, 250.0, 900.0]), np.array([10.0, 20.0, 5.0, 0.0]),
                        np.array([30.0, 60.0, 15.0, 0.0]), {"capital": (low, high), "annual": (low, high)}, 5000.0)
    assert len(prices._merged().measure) == 3
    rng = np.random.default_rng(0)
    draws = {kind: _triangular(rng.random((DRAWS, 2))[:, prices.measure], *prices.shares[kind])
             for kind in ("capital", "annual")}
    costs = prices.at(draws["capital"], draws["annual"])
    tail = (1 - COVERAGE) / 2
    for kind, (least, most) in prices.likely().items():
        assert least == pytest.approx(np.quantile(costs[kind], tail), rel=1e-12)
        assert most == pytest.approx(np.quantile(costs[kind], 1 - tail), rel=1e-12)
