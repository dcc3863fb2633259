import math

from conftest import make_line
from hypothesis import given, settings
from hypothesis import strategies as st

from linesim.yield_model import (
    line_yield,
    product_yield,
    rate_weighted_defect_probability,
    step_yield,
    yield_waterfall,
)


def test_product_yield_hand_computed():
    # 0.99 × 0.98 × 0.95 = 0.92169
    assert math.isclose(product_yield([0.01, 0.02, 0.05]), 0.92169, rel_tol=1e-12)
    assert product_yield([]) == 1.0
    assert product_yield([0.3, 1.0]) == 0.0
    assert step_yield(0.25) == 0.75


def test_pilot_mid_values_give_ninety_percent():
    # domain.md §2.3: the twelve pilot mid values give Y ≈ 0.90 (Gotion pilot claim)
    p = [0.005, 0.012, 0.015, 0.008, 0.008, 0.006, 0.015, 0.004, 0.004, 0.008, 0.012, 0.008]
    assert abs(product_yield(p) - 0.90) < 0.006


def test_rate_weighted_defect_probability_hand_computed():
    line = make_line(
        [
            {
                "kind": "discrete",
                "options": [
                    {"name": "fast", "cycle_time_s": 10, "defect_probability": 0.04},  # 360 cells/h
                    {"name": "slow", "cycle_time_s": 20, "defect_probability": 0.01},  # 180 cells/h
                ],
                "machines": {"fast": 1, "slow": 2},
            }
        ]
    )
    # weights 360 and 2 × 180 = 360 → p = (360·0.04 + 360·0.01) / 720 = 0.025
    assert math.isclose(rate_weighted_defect_probability(line.stations[0]), 0.025)


def test_waterfall_adds_up_to_one_minus_yield_and_counts_late_detection():
    line = make_line(
        [
            {
                "kind": "discrete",
                "cycle_time_s": 10,
                "defect_probability": 0.1,
                "detected_at": "s2",
            },
            {"kind": "discrete", "cycle_time_s": 20, "defect_probability": 0.2},
            {"kind": "discrete", "cycle_time_s": 30, "defect_probability": 0.0},
        ]
    )
    steps = yield_waterfall(line, value_usd_per_cell=[1.0, 2.0, 4.0])
    assert math.isclose(sum(s.lost_per_1000 for s in steps), 1000 * (1 - line_yield(line)))
    # first step: 100 per 1000, found at s2 after wasting s1 and s2: 100 × (20 + 30) s = 5000 s
    assert math.isclose(steps[0].lost_per_1000, 100.0)
    assert steps[0].detected_at == "s2" and steps[0].steps_wasted == 2
    assert math.isclose(steps[0].machine_hours_wasted_per_1000, 100 * 50 / 3600)
    assert steps[0].value_added_usd_per_cell == 7.0
    # second step: 0.9 × 0.2 × 1000 = 180, detected where made
    assert math.isclose(steps[1].lost_per_1000, 180.0)
    assert steps[1].steps_wasted == 0 and steps[1].value_added_usd_per_cell == 3.0


probs = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12)


@settings(max_examples=200)
@given(probs, st.data())
def test_yield_in_unit_interval_and_never_rises_with_p(p, data):
    y = product_yield(p)
    assert 0.0 <= y <= 1.0
    k = data.draw(st.integers(0, len(p) - 1))
    higher = data.draw(st.floats(p[k], 1.0))
    raised = list(p)
    raised[k] = higher
    assert product_yield(raised) <= y + 1e-15
