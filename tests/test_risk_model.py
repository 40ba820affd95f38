"""Risk by threat, checked by hand on a one-school district: layered measures multiply the
residual risk, substitutes (one job at one stage) count as the strongest of them, the
headline and the by-threat table are the hand numbers, and brute force agrees with the solver."""
from __future__ import annotations

import math

import numpy as np
import pytest

from optimizer.analyses.marginal import added_value
from optimizer.core.risk import BREAKPOINTS, protection, protection_at
from optimizer.core.run import optimize
from optimizer.core.verify import plan_objective
from optimizer.data.inputs import load_inputs
from optimizer.paths import SCENARIOS_DIR
from optimizer.reports.export import plan_dict
from tests.builders import instance, m, problem, program
from tests.test_properties import brute_force_value, net_value

FREE = {"operating": 1e9}
#: The hand calculations count the horizon's years alone, undiscounted (the years after it and
#: discounting have their own test).
PLAIN = {"years_after_horizon": 0, "discount_rate": 0}


def fixed(id: str, cost: float, **changes) -> dict:
    return m(id, capital_low=cost, capital_typical=cost, capital_high=cost, **{"annual_cost": 0, **changes})


def threat(id: str, rate: float, harm: float) -> list[dict]:
    return [{"id": id, "name": id.title(), "level": level, "base_rate_per_school_year": rate, "rate_low": rate,
             "rate_high": rate, "rate_source": "test", "consequence_weight": harm, "consequence_source": "test"}
            for level in ("elementary", "middle", "high")]


#: T1: two incidents a year of half a serious-harm equivalent each (risk 1 a year); T2: one of
#: three (risk 3 a year).
THREATS = threat("t1", 2, 0.5) + threat("t2", 1, 3)


def by_hand(effects: list[float]) -> float:
    """Share of a threat removed by independent measures, on the chords of 1 - exp(-L)
    between the breakpoints, worked out without the code's helpers."""
    level = sum(-math.log(1 - e) for e in effects)
    for lo, hi in zip(BREAKPOINTS, BREAKPOINTS[1:]):
        if lo <= level <= hi:
            f_lo, f_hi = 1 - math.exp(-lo), 1 - math.exp(-hi)
            return f_lo + (level - lo) / (hi - lo) * (f_hi - f_lo)
    return 1 - math.exp(-BREAKPOINTS[-1])


def test_the_greedy_plan_s_protection_of_one_level_is_the_curve_s_to_the_last_bit():
    # the greedy plan reads the curve one level at a time (protection_at); the verifier and the
    # reports read it by array (protection): the two must agree exactly, ends and breakpoints too
    levels = np.concatenate([np.linspace(-1.0, 4.0, 20_001), BREAKPOINTS,
                             np.nextafter(BREAKPOINTS, -np.inf), np.nextafter(BREAKPOINTS, np.inf)])
    assert [protection_at(x) for x in levels] == protection(levels).tolist()


def test_risk_by_threat_of_a_plan_equals_the_hand_calculation(tmp_path):
    # a (0.5) acts on all of T1 and a fifth of T2; b (0.4) on T2 only, and is too dear.
    measures = [fixed("a", 100, effectiveness=0.5, threats="t1 1;t2 0.2"),
                fixed("b", 200, effectiveness=0.4, threats="t2 1", component="video")]
    result = optimize(instance(tmp_path, measures, threats=THREATS, budget={"capital": 100, **FREE},
                               horizon={"start": 2027, "years": 2}, policy=PLAIN))
    assert list(result.plan.items["measure_id"]) == ["a"]
    t1, t2 = by_hand([0.5]), by_hand([0.5 * 0.2])
    assert t1 == pytest.approx(0.49712, abs=1e-5) and t2 == pytest.approx(0.09978, abs=1e-5)
    years, full = 2, (1 + 3) * 2
    value = years * (1 * t1 + 3 * t2)
    assert result.full_value == pytest.approx(full)
    assert result.value == pytest.approx(value) and result.baseline_value == pytest.approx(0.0)
    assert result.gap_closed == pytest.approx(value / full)
    table = result.risk_by_threat().set_index("threat")
    assert table.at["t1", "plan"] == pytest.approx(t1) and table.at["t2", "plan"] == pytest.approx(t2)
    assert table.at["t2", "avoided"] == pytest.approx(years * 3 * t2)
    assert plan_dict(result)["gap_closed"] == pytest.approx(value / full, abs=1e-6)
    head = result.headline_words()[0]
    assert head.startswith(f"reduces the modelled risk of serious harm at the district's schools by "
                           f"{100 * value / full:.1f}%")
    assert "by threat: t2 10.0%, t1 49.7%" in head


def test_layers_multiply_the_residual_risk_and_substitutes_do_not_stack(tmp_path):
    # lock and alarm do different jobs; film does the lock's job. Each alone removes half.
    measures = [fixed("lock", 100, effectiveness=0.5, job="door"),
                fixed("film", 100, effectiveness=0.5, job="door", component="architectural"),
                fixed("alarm", 100, effectiveness=0.5, role="detect", component="detection")]
    p = problem(tmp_path, measures, budget={"capital": 300, **FREE}, policy=PLAIN)
    row = {mid: i for i, mid in enumerate(p.candidates["measure_id"])}
    with_lock = {row["lock"]: 2027}
    complement = added_value(p, with_lock, [row["alarm"]])
    substitute = added_value(p, with_lock, [row["film"]])
    # 1 - 0.5 x 0.5 = 75% with both layers, 50% with one: the chords give 74.4% and 49.7%.
    assert complement == pytest.approx(by_hand([0.5, 0.5]) - by_hand([0.5]))
    assert complement == pytest.approx(0.25, abs=0.01)
    assert substitute == pytest.approx(0.0) and complement > 0.2
    result = optimize(instance(tmp_path, measures, budget={"capital": 300, **FREE}))
    assert set(result.plan.items["measure_id"]) in ({"lock", "alarm"}, {"film", "alarm"})


def test_brute_force_agrees_on_a_district_with_substitutes_and_two_threats(tmp_path):
    measures = [fixed("a", 100, effectiveness=0.5, threats="t1 1;t2 0.2", job="x"),
                fixed("b", 150, effectiveness=0.6, threats="t1 0.5", job="x", component="video"),
                fixed("c", 120, effectiveness=0.4, threats="t2 1", component="communication"),
                fixed("d", 80, effectiveness=0.3, threats="t2 0.5;t1 0.3", role="respond", component="detection")]
    p = problem(tmp_path, measures, threats=THREATS, budget={"capital": 300, **FREE},
                horizon={"start": 2027, "years": 2})
    result = optimize(instance(tmp_path, measures, threats=THREATS, budget={"capital": 300, **FREE},
                               horizon={"start": 2027, "years": 2}))
    assert not result.violations
    assert net_value(p, result.plan) == pytest.approx(brute_force_value(p), rel=1e-7, abs=1e-7)


def test_local_money_buys_only_what_is_worth_its_price_and_the_plan_says_so(tmp_path):
    # A removes half of a 1-a-year risk for $100; the price asks 0.001 per $1,000 (a = 4.97
    # per $1,000, bought); B is the same protection for $10 million (0.0000497 per $1,000).
    measures = [fixed("a", 100, effectiveness=0.5), fixed("b", 10_000_000, effectiveness=0.5, component="video")]
    result = optimize(instance(tmp_path, measures, budget={"capital": 20_000_000, **FREE},
                               policy={"least_value_per_1000": 0.001, **PLAIN}))
    assert set(result.plan.items["measure_id"]) == {"a"}
    unspent = [w for w in result.headline_words() if w.startswith("local money left unspent")]
    assert unspent and "$19,999,900 capital" in unspent[0] and "0.001 serious-harm equivalents per $1,000" in unspent[0]
    free = optimize(instance(tmp_path, measures, budget={"capital": 20_000_000, **FREE},
                             policy={"least_value_per_1000": 0, **PLAIN}))
    assert set(free.plan.items["measure_id"]) == {"a", "b"}


def test_after_the_horizon_the_end_state_is_kept_at_its_yearly_cost_and_later_years_are_discounted(tmp_path):
    # One school, risk 1 a year, a 2-year plan, 3 years counted after it at 10% a year. The
    # lock ($100, 4-year life) and the alarm ($100 and $10 a year, 20 years) are bought in
    # 2027; after the horizon both stay in service (the lock renewed when its life ends), at
    # a yearly cost of keeping each: $100/4 = $25 for the lock, $10 + $100/20 = $15 for the
    # alarm, paid with local money at its price. By hand:
    measures = [fixed("lock", 100, effectiveness=0.5, useful_life=4),
                fixed("alarm", 100, effectiveness=0.5, useful_life=20, role="detect", component="detection",
                      annual_cost=10)]
    price = 0.001
    result = optimize(instance(tmp_path, measures, budget={"capital": 200, **FREE}, horizon={"start": 2027, "years": 2},
                               policy={"years_after_horizon": 3, "discount_rate": 0.1, "least_value_per_1000": price}))
    assert {(mid, y) for mid, y in zip(result.plan.items["measure_id"], result.plan.items["year"])} == {
        ("lock", 2027), ("alarm", 2027)}
    both = by_hand([0.5, 0.5])
    years = 1 + 1 / 1.1                                # 2027 and 2028
    after = 1.1 ** -2 + 1.1 ** -3 + 1.1 ** -4          # 2029, 2030, 2031
    assert result.value == pytest.approx((years + after) * both)
    assert result.full_value == pytest.approx(years + after)
    local = 200 + 10 * 2                               # capital, and the alarm's running cost in the horizon
    keeping = after * (25 + 15)
    assert plan_objective(result.problem, result.plan) == pytest.approx(
        (years + after) * both - price * (local + keeping) / 1000)
    assert result.report.objective == pytest.approx(plan_objective(result.problem, result.plan), rel=1e-6)


def test_an_item_whose_renewals_cost_more_than_it_protects_is_not_bought(tmp_path):
    # The lock removes half of a 1-a-year risk for $2 million, at 0.0004 per $1,000 of local
    # money: 0.8 a purchase. Lasting three years, it is bought once in a 3-year horizon (1.5
    # avoided against 0.8): bought. Lasting one year, it is bought again in each year (1.5
    # against 2.4): not bought. After the horizon its renewals cost 0.8 / life a year against
    # 0.5 protected, so the years after the horizon keep each answer.
    policy = {"discount_rate": 0, "least_value_per_1000": 0.0004}
    horizon = {"start": 2027, "years": 3}
    for life, after, bought in ((3, 0, True), (1, 0, False), (3, 10, True), (1, 10, False)):
        lock = [fixed("lock", 2_000_000, effectiveness=0.5, useful_life=life)]
        result = optimize(instance(tmp_path, lock, budget={"capital": 3_000_000, **FREE}, horizon=horizon,
                                   policy={**policy, "years_after_horizon": after}))
        assert (set(result.plan.items["measure_id"]) == {"lock"}) is bought, (life, after)


def test_an_allocation_paid_every_year_by_law_pays_upkeep_after_the_horizon_up_to_its_amount(tmp_path):
    # One school, risk 1 a year, a 2-year plan and 3 years after it, undiscounted. A bond pays
    # the lock's $10,000 in 2027; keeping it after the horizon costs $10,000 / 4 years = $2,500
    # a year. Local money is dear (0.6 serious-harm equivalents per $1,000), so the lock (5 years of
    # protection, 2.486) is worth buying only if the district's own money pays little of that
    # upkeep: 3 x (2,500 - share) x 0.6 / 1,000 against 2.486. A yearly state allocation that goes
    # on after the horizon pays its share of the upkeep, up to its yearly amount:
    #   $10,000 a year: share 2,500, local 0                  -> bought, objective 2.486
    #   $2,000 a year:  share 2,000, local 3 x 500 = 1,500    -> bought, objective 2.486 - 0.9
    #   $1,000 a year:  share 1,000, local 3 x 1,500 = 4,500  -> 2.7 > 2.486, not bought
    # and an allocation that ends before the horizon does, or that the district says will not
    # go on (continues: false), pays none of it: not bought.
    lock = fixed("lock", 10_000, effectiveness=0.5, useful_life=4, funding_categories="hardware")
    alloc = program("alloc", annual=True, match_rate=0, match_basis="none", match_type="none",
                    recurring_costs_allowed=True, supplement_not_supplant=False, level="state")
    bond = {"name": "Bond", "amount": 10_000, "level": "local", "eligible_categories": ["hardware"], "recurring": False}
    both = 5 * by_hand([0.5])
    assert both == pytest.approx(2.486, abs=1e-3)

    def plan(amount: float, **source):
        sources = {"bond": bond, "alloc": {"program": "alloc", "amount": amount, "amount_per": "year", **source}}
        return optimize(instance(tmp_path, [lock], programs=[alloc], funding_sources=sources,
                                 budget={"capital": 0, **FREE}, horizon={"start": 2027, "years": 2},
                                 policy={"years_after_horizon": 3, "discount_rate": 0, "least_value_per_1000": 0.6}))

    for amount, bought, objective in ((10_000, True, both), (2000, True, both - 0.9), (1000, False, 0.0)):
        result = plan(amount)
        assert (set(result.plan.items["measure_id"]) == {"lock"}) is bought, amount
        assert plan_objective(result.problem, result.plan) == pytest.approx(objective, abs=1e-6)
        assert result.report.objective == pytest.approx(objective, rel=1e-3)  # the solver's adds its tie-breaks
        assert "goes on after the horizon" in next(s for s in result.problem.sources if s.id == "alloc").reading
    for source in ({"last_year": 2027}, {"continues": False}):
        ended = plan(10_000, **source)
        assert ended.plan.items.empty, source
        assert "goes on after the horizon" not in next(s for s in ended.problem.sources if s.id == "alloc").reading


@pytest.mark.slow
@pytest.mark.parametrize("name", ["rural.yaml", "suburban.yaml"])
def test_example_plans_buy_no_harmful_measure_and_put_sel_in(name):
    from tests.builders import solved_example
    result = solved_example(name)
    catalog = load_inputs(SCENARIOS_DIR / name).catalog
    bought = set(result.plan.items["measure_id"])
    assert not {mid for mid in bought if catalog.measures[mid].evidence == "harmful"}
    assert "dst-ppl-sel-program" in bought
    assert not ({"cls-ac-lock-status-indicator"} & bought) or {"cls-ac-interior-lock-retrofit",
                                                                "cls-ac-door-replacement"} & (
        bought | set(result.problem.existing["measure_id"]))


def test_the_gap_is_set_beside_the_spread_the_evidence_bands_give(tmp_path):
    """Issue 30: the app's gap is justified against the uncertainty of the effectiveness
    bands: the words give the bands' range of this plan and how many gaps it spans."""
    measures = [fixed("a", 100, effectiveness=0.3, threats="t1 1;t2 0.2", evidence="expert_consensus")]
    result = optimize(instance(tmp_path, measures, threats=THREATS, budget={"capital": 100, **FREE},
                               horizon={"start": 2027, "years": 2}, policy=PLAIN))
    low, high = result.risk_range()
    assert low < result.gap_closed < high
    spread = (high - low) / result.gap_closed
    words = result.gap_words(0.001)
    assert f"from {100 * low:.1f}% to {100 * high:.1f}%, {spread:.0%} of its value" in words
    assert f"about {spread / 0.001:,.0f} times the gap" in words
    assert words.endswith("This gap is the command line's default, so its plans are these.")
    assert result.gap_words(0.01).endswith("The command line gives these plans with --gap 0.01.")
    assert f"about {spread / 0.01:,.0f} times the gap" in result.gap_words(0.01)
