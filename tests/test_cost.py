"""The cost model against a hand computation, the published bands, and its monotonicity."""

from __future__ import annotations

import copy
import datetime as dt
import math

import pytest
from conftest import ROOT, make_line
from hypothesis import given, settings
from hypothesis import strategies as st

from linesim.config import load_line
from linesim.economics.cost import capex, cost_report, energy_per_year, static_basis
from linesim.errors import UsageError

PILOT = ROOT / "configs" / "pilot_sulfide_200mwh.yaml"
GWH = ROOT / "configs" / "gwh_sulfide_4gwh.yaml"

TOY_COST = {
    "currency": {"cny_per_usd": 7.0, "rate_date": dt.date(2025, 12, 1)},
    "depreciation": {"equipment_years": 10.0, "building_years": 20.0},
    "building": {"usd_per_m2": 1000.0, "area_factor": 2.0},
    "dry_room": {"area_m2": 100.0, "dew_point_c": -40.0},
    "dry_room_classes": [
        {"dew_point_c": -40.0, "usd_per_m2": 2000.0, "power_w_per_m2": 100.0},
        {"dew_point_c": -60.0, "usd_per_m2": 9000.0, "power_w_per_m2": 400.0},
    ],
    "facility": {"capex_usd": 500_000.0, "power_kw": 5.0},
    "labour": {"wage_usd_per_h": 20.0, "indirect_operators": 0.5},
    "electricity": {"usd_per_kwh": 0.1},
    "materials": [
        {
            "name": "A",
            "quantity_per_kwh": 2.0,
            "unit": "kg",
            "price_per_unit": 10.0,
            "currency": "USD",
            "price_date": dt.date(2025, 6, 1),
            "utilisation": 0.8,
        },
        {
            "name": "B",
            "quantity_per_kwh": 4.0,
            "unit": "piece",
            "price_per_unit": 7.0,
            "currency": "CNY",
            "price_date": dt.date(2025, 6, 1),
            "enters_at": "s1",
        },
    ],
}


def toy_line(cost: dict | None = None, p0: float = 0.1, p1: float = 0.2):
    """Two discrete stations: s0 100 cells/h, p 0.1; s1 120 cells/h, p 0.2; 0.5 kWh cells."""
    return make_line(
        [
            {
                "kind": "discrete",
                "cycle_time_s": 36.0,
                "defect_probability": p0,
                "capex_usd": 1_000_000.0,
                "footprint_m2": 100.0,
                "power_kw": 10.0,
                "operators_per_machine": 1.0,
            },
            {
                "kind": "discrete",
                "cycle_time_s": 30.0,
                "defect_probability": p1,
                "capex_usd": 2_000_000.0,
                "footprint_m2": 50.0,
                "power_kw": 20.0,
                "operators_per_machine": 0.5,
            },
        ],
        energy_kwh=0.5,
        calendar={"hours_per_year": 8000.0},
        cost=copy.deepcopy(TOY_COST if cost is None else cost),
    )


def test_toy_line_by_hand():
    # Output: starts per good cell s0 = 1/(0.9·0.8) = 1.3889, s1 = 1/0.8 = 1.25; max good
    # s0 = 100/1.3889 = 72, s1 = 120/1.25 = 96 → 72 cells/h × 8000 h = 576,000 cells
    # = 288,000 kWh, Y = 0.72.
    r = cost_report(toy_line())
    assert r.good_cells_per_year == pytest.approx(576_000)
    assert r.good_kwh_per_year == pytest.approx(288_000)
    assert r.line_yield == pytest.approx(0.72)
    # Capex: equipment 3.0 M; dry room 100 m² × 2000 = 0.2 M (the −40 °C class is the cheapest
    # one dry enough); building 2 × 150 m² × 1000 = 0.3 M; facility 0.5 M → 4.0 M.
    assert (r.capex.equipment, r.capex.dry_room, r.capex.building, r.capex.facility) == (
        pytest.approx(3e6),
        pytest.approx(2e5),
        pytest.approx(3e5),
        pytest.approx(5e5),
    )
    assert r.capex_usd_per_gwh == pytest.approx(4e6 / 0.288)
    # D = 3.7 M / 10 + 0.3 M / 20 = 385,000; L = (1 + 0.5 + 0.5) × 8000 h × 20 = 320,000;
    # energy: s0 processes 100 cells/h of its 100 (always busy): 10 kW × 8000 h = 80,000; s1
    # processes 90 of its 120 cells/h (busy 0.75, idle 0.25 at the default idle fraction 0.3):
    # 20 kW × 8000 h × (0.75 + 0.3 × 0.25) = 132,000; dry room and facility (10 + 5) kW ×
    # 8760 h = 131,400 → 343,400 kWh → E = 34,340.
    a = r.annual
    assert a.depreciation == pytest.approx(385_000)
    assert a.labour == pytest.approx(320_000)
    assert r.energy.machines_by_station == pytest.approx({"s0": 80_000, "s1": 132_000})
    assert r.energy.total == pytest.approx(343_400)
    assert a.energy == pytest.approx(34_340)
    assert r.energy_kwh_per_kwh.total == pytest.approx(343_400 / 288_000)
    # Materials: A 2 × 0.5 / 0.8 × 10 = 12.5 USD per cell at s0, B 4 × 0.5 × 7/7 = 2 USD per
    # cell at s1. Good cells: 576,000 × 14.5 = 8,352,000. Scrap: 576,000 × (12.5 × 0.38889
    # + 2 × 0.25) = 3,088,000.
    assert a.materials == pytest.approx(8_352_000)
    assert a.scrap == pytest.approx(3_088_000)
    # Overheads: VOH 0.4 L + 0.2 D = 205,000; GSA 0.25 L + 0.25 D = 176,250; R&D 0.4 D = 154,000;
    # launch 0.05 M + 0.1 L = 604,000; WC 0.15 × 11,794,340 = 1,769,151 → profit
    # 0.05 × 5,769,151 = 288,457.55; warranty 0.056 × 13,607,047.55 = 761,994.66.
    o = a.overheads
    assert o["variable_overhead"] == pytest.approx(205_000)
    assert o["gsa"] == pytest.approx(176_250)
    assert o["rnd"] == pytest.approx(154_000)
    assert o["launch"] == pytest.approx(604_000)
    assert o["profit"] == pytest.approx(288_457.55)
    assert o["warranty"] == pytest.approx(761_994.66)
    assert a.total == pytest.approx(14_369_042.21)
    assert r.total_usd_per_kwh == pytest.approx(14_369_042.21 / 288_000)
    assert r.cny_per_wh == pytest.approx(14_369_042.21 / 288_000 * 7 / 1000)
    # Scrap by step: 800,000 started; s0 loses 80,000 cells worth 12.5 + (100,000 + 160,000
    # + 8,000)/800,000 = 12.835; s1 loses 144,000 worth 12.835 + 2 + (200,000 + 80,000 +
    # 13,200)/720,000.
    s0, s1 = r.scrap_by_step
    assert s0.cells_per_year == pytest.approx(80_000)
    assert s0.value_usd_per_cell == pytest.approx(12.835)
    assert s1.cells_per_year == pytest.approx(144_000)
    assert s1.value_usd_per_cell == pytest.approx(14.835 + 293_200 / 720_000)
    assert s1.usd_per_year == pytest.approx(144_000 * (14.835 + 293_200 / 720_000))


def test_categories_add_up_and_shares_are_consistent(bundled_config):
    spec = load_line(bundled_config)
    if spec.cost is None:
        pytest.skip("no cost block")
    r = cost_report(spec)
    assert sum(v for k, v in r.usd_per_kwh.items() if k != "total") == pytest.approx(
        r.total_usd_per_kwh
    )
    # every cell started and not good is scrapped: defects, start-up scrap after changeovers,
    # and the lots moisture excursions scrap (the output basis counts them as good)
    basis_good = r.good_cells_per_year + r.excursion_cells_per_year
    started = basis_good * static_basis(spec).processed_per_good_cell[0]
    assert sum(s.cells_per_year for s in r.scrap_by_step) == pytest.approx(
        started - r.good_cells_per_year, rel=1e-9
    )
    assert sum(m.usd_per_kwh_good for m in r.materials) == pytest.approx(
        r.usd_per_kwh["materials"] + r.usd_per_kwh["scrap"]
    )


# --- validation against domain.md bands ------------------------------------------------------
def test_gwh_capex_inside_announced_ssb_band():
    """Announced SSB projects: 0.54–1.67 bn CNY per GWh/yr (domain.md §3.1, R33)."""
    r = cost_report(load_line(GWH))
    assert 0.54 <= r.capex_bn_cny_per_gwh <= 1.67


def test_gwh_energy_inside_band():
    """4 GWh sulfide estimate 18–35 kWh per kWh (domain.md §3.4)."""
    r = cost_report(load_line(GWH))
    assert 18.0 <= r.energy_kwh_per_kwh.total <= 35.0


def test_pilot_energy_inside_band():
    """Pilot 60–150 kWh per kWh: dry room and utilities do not scale down (domain.md §3.4)."""
    r = cost_report(load_line(PILOT))
    assert 60.0 <= r.energy_kwh_per_kwh.total <= 150.0


def test_pilot_cost_inside_seed_range():
    """SSB seed range 1.9–6.2 CNY/Wh (domain.md §3.3) with the pilot's dated prices."""
    r = cost_report(load_line(PILOT))
    assert 1.9 <= r.cny_per_wh <= 6.2


def test_pilot_costs_more_per_kwh_than_gwh_line():
    pilot, gwh = cost_report(load_line(PILOT)), cost_report(load_line(GWH))
    assert pilot.total_usd_per_kwh > gwh.total_usd_per_kwh
    assert pilot.capex_usd_per_gwh > gwh.capex_usd_per_gwh


def test_labour_near_published_levels():
    """Pilot 40–80 direct FTE (§5.1); 4 GWh line 35–60 direct FTE per GWh (§5.2)."""
    assert 40 <= cost_report(load_line(PILOT)).direct_fte <= 80
    r = cost_report(load_line(GWH))
    assert 35 <= r.direct_fte / r.output_gwh_per_year <= 60


# --- properties -------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    p0=st.floats(0.0, 0.9),
    p1=st.floats(0.0, 0.9),
    dp=st.floats(0.0, 0.09),
    which=st.sampled_from([0, 1]),
)
def test_raising_a_defect_probability_never_lowers_cost(p0, p1, dp, which):
    base = cost_report(toy_line(p0=p0, p1=p1)).total_usd_per_kwh
    raised = cost_report(
        toy_line(p0=p0 + dp * (which == 0), p1=p1 + dp * (which == 1))
    ).total_usd_per_kwh
    assert raised >= base * (1 - 1e-12)


@settings(max_examples=40, deadline=None)
@given(index=st.integers(0, 12), dp=st.floats(1e-4, 0.05), gwh=st.booleans())
def test_raising_a_defect_probability_never_lowers_cost_bundled(index, dp, gwh):
    from linesim.variants import perturb_station

    spec = load_line(GWH if gwh else PILOT)
    station = spec.stations[index]
    factor = (station.defect_probability + dp) / station.defect_probability
    raised = perturb_station(spec, station.id, "defect_probability", factor)
    assert cost_report(raised).total_usd_per_kwh >= cost_report(spec).total_usd_per_kwh * (
        1 - 1e-12
    )


def test_capex_sensitivity_matches_the_annual_capital_charge():
    """+20 % capex at one station adds 0.2 × capex × (1/life × (1 + VOH_D + GSA_D + R&D_D)
    + profit) × (1 + warranty) per year – the tornado bar must equal that."""
    from linesim.economics.sensitivity import tornado

    spec = toy_line()
    bars = {b.parameter: b for b in tornado(spec, 0.2)}
    r = cost_report(spec)
    charge = (1 / 10 * (1 + 0.2 + 0.25 + 0.4) + 0.05) * (1 + 0.056)
    expected = 0.2 * 2_000_000 * charge / r.good_kwh_per_year
    assert bars["s1.capex_usd"].usd_per_kwh_high - r.total_usd_per_kwh == pytest.approx(expected)
    assert r.total_usd_per_kwh - bars["s1.capex_usd"].usd_per_kwh_low == pytest.approx(expected)
    # s0 is the bottleneck: ±20 % rate there moves output ±20 % (s1 binds only at 96 > 86.4/h)
    assert bars["s0.rate"].output_gwh_high == pytest.approx(r.output_gwh_per_year * 1.2)
    assert bars["s0.rate"].output_gwh_low == pytest.approx(r.output_gwh_per_year * 0.8)


def test_material_price_date_and_currency_reach_the_report():
    r = cost_report(toy_line())
    b = next(m for m in r.materials if m.name == "B")
    assert b.price_date == "2025-06-01" and b.currency == "CNY"
    assert b.usd_per_kwh_good == pytest.approx(4 * 7 / 7 * 1.25)


def test_dry_room_takes_the_cheapest_class_dry_enough():
    cost = copy.deepcopy(TOY_COST)
    cost["dry_room"]["dew_point_c"] = -50.0
    assert capex(toy_line(cost)).dry_room == pytest.approx(100 * 9000)
    assert energy_per_year(toy_line(cost)).dry_room == pytest.approx(40 * 8760)


def test_line_without_cost_block_is_a_usage_error():
    spec = make_line([{"kind": "discrete", "cycle_time_s": 10.0}])
    with pytest.raises(UsageError, match="no cost inputs"):
        cost_report(spec)


def test_simulated_basis_divides_by_simulated_output():
    from linesim.economics.cost import simulated_basis
    from linesim.experiments import replicate

    spec = toy_line()
    results = replicate(
        spec, horizon_s=200 * 3600.0, warmup_s=10 * 3600.0, replications=3, seed=5, workers=1
    )
    basis = simulated_basis(spec, results)
    assert basis.source.startswith("simulation (3 replications")
    static = static_basis(spec)
    # a deterministic two-station line with a buffer of 0: output within 5 % of the static 72/h
    assert basis.good_cells_per_h == pytest.approx(static.good_cells_per_h, rel=0.05)
    assert basis.line_yield == pytest.approx(0.72, abs=0.01)
    r = cost_report(spec, basis)
    assert r.basis == basis.source
    assert r.good_cells_per_year == pytest.approx(basis.good_cells_per_h * 8000)
    assert not math.isclose(r.total_usd_per_kwh, cost_report(spec).total_usd_per_kwh)
