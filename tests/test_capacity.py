import math
from pathlib import Path

from conftest import make_line

from linesim.capacity import (
    capacity_report,
    cells_per_h_for_gwh,
    gwh_per_year,
    starts_per_good_cell,
)
from linesim.config import load_line
from linesim.rates import (
    availability,
    batch_rate_cells_per_h,
    continuous_rate_cells_per_h,
    discrete_rate_cells_per_h,
    sheet_rate_cells_per_h,
)

NAMEPLATE_GWH = {
    "pilot_sulfide_200mwh.yaml": 0.2,
    "gwh_sulfide_4gwh.yaml": 4.0,
    "pilot_oxide.yaml": 0.1,
    "gwh_polymer.yaml": 2.0,
    "gwh_liquid_lib_4gwh.yaml": 4.0,
    "gwh_liquid_lib_dry_electrode.yaml": 4.0,
    "gwh_oxide_1gwh.yaml": 1.0,
    "pilot_polymer_200mwh.yaml": 0.2,
}


def test_rates_per_kind_hand_computed():
    # 1.0 m × 40 m/min × 60 = 2400 m²/h ÷ 0.81 m²/cell
    assert math.isclose(continuous_rate_cells_per_h(1.0, 40, 0.81), 2400 / 0.81)
    # 3600 ÷ (0.3 s × 56 sheets) = 214.2857
    assert math.isclose(sheet_rate_cells_per_h(0.3, 56), 214.2857142857, rel_tol=1e-9)
    assert discrete_rate_cells_per_h(4) == 900.0
    # 48 cells × 3600 ÷ 900 s = 192
    assert batch_rate_cells_per_h(48, 900) == 192.0
    assert availability(None, None) == 1.0
    assert math.isclose(availability(8, 0.25), 8 / 8.25)


def test_station_capacity_and_bottleneck_hand_computed():
    line = make_line(
        [
            {"kind": "discrete", "cycle_time_s": 10, "machines": 2, "mtbf_h": 9, "mttr_h": 1},
            {"kind": "batch", "batch_size": 10, "cycle_time_s": 100, "machines": 1},
            {"kind": "discrete", "cycle_time_s": 12, "defect_probability": 0.5},
        ]
    )
    rep = capacity_report(line, target_gwh_per_year=None)
    caps = [s.capacity_cells_per_h for s in rep.stations]
    assert math.isclose(caps[0], 2 * 360 * 0.9)  # 648
    assert math.isclose(caps[1], 360.0)
    assert math.isclose(caps[2], 300.0)
    # starts per good: 2, 2, 2 (all loss at the last station) → max good = min(324, 180, 150)
    assert [round(s.starts_per_good_cell, 12) for s in rep.stations] == [2.0, 2.0, 2.0]
    assert rep.bottleneck == "s2" and math.isclose(rep.max_good_cells_per_h, 150.0)
    assert math.isclose(rep.max_output_gwh_per_year, 150 * 7920 * 0.3 / 1e6)


def test_starts_per_good_with_late_detection():
    line = make_line(
        [
            {"kind": "discrete", "cycle_time_s": 1, "defect_probability": 0.2, "detected_at": "s2"},
            {"kind": "discrete", "cycle_time_s": 1, "defect_probability": 0.5},
            {"kind": "discrete", "cycle_time_s": 1},
        ]
    )
    # s0 sees everything: 1/(0.8 × 0.5) = 2.5; s1 and s2 still see s0's undetected defects:
    # s1: 1/(0.8 × 0.5) = 2.5; s2: only s0's defect is found at or after s2 → 1/0.8
    assert [round(x, 12) for x in starts_per_good_cell(line)] == [2.5, 2.5, 1.25]


def test_gwh_conversion_round_trip():
    cells = cells_per_h_for_gwh(4.0, 0.3, 7920)
    assert math.isclose(gwh_per_year(cells, 0.3, 7920), 4.0)


def test_utilisation_at_target():
    line = make_line([{"kind": "discrete", "cycle_time_s": 36}])  # 100 cells/h
    target = gwh_per_year(50, 0.3, 7920)
    assert math.isclose(capacity_report(line, target).stations[0].utilisation_at_target, 0.5)


def test_bundled_config_reaches_its_nameplate(bundled_config):
    spec = load_line(bundled_config)
    rep = capacity_report(spec, NAMEPLATE_GWH[bundled_config.name])
    assert rep.max_output_gwh_per_year >= NAMEPLATE_GWH[bundled_config.name]
    assert all(s.utilisation_at_target <= 1.0 for s in rep.stations)
    assert math.isclose(rep.line_yield, math.prod(1 - s.defect_probability for s in spec.stations))


def test_every_bundled_config_has_a_nameplate():
    from conftest import CONFIGS

    assert sorted(p.name for p in CONFIGS) == sorted(NAMEPLATE_GWH)


def test_pilot_line_yield_near_ninety_percent():
    spec = load_line(Path(__file__).resolve().parents[1] / "configs/pilot_sulfide_200mwh.yaml")
    assert 0.88 <= capacity_report(spec).line_yield <= 0.91
