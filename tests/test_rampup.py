"""Ramp-up curves and learning against their closed forms and the domain.md ranges."""

from __future__ import annotations

import copy
import dataclasses
import math

import pytest
from conftest import ROOT
from test_cost import TOY_COST, toy_line

from linesim.config import load_line
from linesim.economics.cost import cost_report, static_basis
from linesim.economics.rampup import (
    exponential_approach,
    learning_exponent,
    learning_factor,
    ramp_up,
)

GWH = ROOT / "configs" / "gwh_sulfide_4gwh.yaml"
PILOT = ROOT / "configs" / "pilot_sulfide_200mwh.yaml"


def test_exponential_approach():
    assert exponential_approach(0.5, 0.9, 6.0, 0.0) == pytest.approx(0.5)
    assert exponential_approach(0.5, 0.9, 6.0, 6.0) == pytest.approx(0.9 - 0.4 / math.e)
    assert exponential_approach(0.5, 0.9, 6.0, 600.0) == pytest.approx(0.9)


@pytest.mark.parametrize("rate, b", [(0.19, 0.304), (0.20, 0.322), (0.24, 0.396)])
def test_learning_exponent_matches_domain_table(rate, b):
    """domain.md §3.5: LR 19 %, 20 %, 24 % → b = 0.30, 0.32, 0.40."""
    assert learning_exponent(rate) == pytest.approx(b, abs=5e-4)


def test_each_doubling_cuts_cost_by_the_learning_rate():
    for doublings in range(1, 6):
        assert learning_factor(2.0**doublings, 1.0, 0.2) == pytest.approx(0.8**doublings)
    assert learning_factor(0.5, 1.0, 0.2) == 1.0  # before the reference volume


def _ramp_cost(yield_start=0.5, oee_start=0.3, tau=6.0, learning=0.0):
    cost = copy.deepcopy(TOY_COST)
    cost["ramp_up"] = {
        "yield_start": yield_start,
        "oee_start": oee_start,
        "oee_mature": 0.8,
        "yield_time_constant_months": tau,
        "oee_time_constant_months": tau,
        "learning_rate": learning,
        "years": 3,
    }
    return toy_line(cost)


def test_a_finished_ramp_costs_what_the_mature_line_costs():
    spec = _ramp_cost(tau=1e-3)
    r = ramp_up(spec, static_basis(spec))
    mature = cost_report(spec)
    for q in r.quarters:
        assert q.usd_per_kwh == pytest.approx(mature.total_usd_per_kwh, rel=1e-9)
        assert q.good_gwh * 4 == pytest.approx(mature.output_gwh_per_year, rel=1e-9)
    assert r.months[-1].cumulative_gwh == pytest.approx(3 * mature.output_gwh_per_year)


def test_ramp_cost_falls_quarter_by_quarter_towards_mature():
    spec = _ramp_cost()
    r = ramp_up(spec, static_basis(spec))
    costs = [q.usd_per_kwh for q in r.quarters]
    assert all(a > b for a, b in zip(costs, costs[1:]))
    assert costs[-1] == pytest.approx(cost_report(spec).total_usd_per_kwh, rel=0.01)
    # good output per month: mature × (oee/O) × (yield/Y), O the line's own (static) OEE
    m = r.months[0]
    basis = static_basis(spec)
    assert r.oee_mature == basis.oee
    mature_month = basis.good_cells_per_h * 8000 / 12
    assert m.good_cells == pytest.approx(mature_month * m.oee / basis.oee * m.line_yield / 0.72)


def test_one_oee_the_ramp_approaches_the_line_oee_and_the_declared_one_is_checked():
    spec = _ramp_cost(tau=1e-3)  # declares oee_mature 0.8
    basis = static_basis(spec)
    # the toy line: s0 (100 cells/h, the nameplate bottleneck) makes 72 good cells/h
    assert basis.oee == pytest.approx(0.72)
    r = ramp_up(spec, basis)
    assert r.months[-1].oee == pytest.approx(0.72)
    (warning,) = cost_report(spec).warnings
    assert "oee_mature 0.80" in warning and "0.720" in warning
    simulated = dataclasses.replace(basis, oee=0.5, source="simulation (test)")
    assert ramp_up(spec, simulated).months[-1].oee == pytest.approx(0.5)
    assert cost_report(spec, simulated).oee == 0.5
    cost = copy.deepcopy(spec.cost.model_dump())
    cost["ramp_up"]["oee_mature"] = 0.74
    assert cost_report(toy_line(cost)).warnings == ()  # within 0.05: no warning


def test_learning_only_lowers_conversion_cost():
    spec = _ramp_cost(tau=1e-3, learning=0.2)
    r = ramp_up(spec, static_basis(spec))
    mature = cost_report(spec)
    materials = mature.usd_per_kwh["materials"] + mature.usd_per_kwh["scrap"]
    last = r.quarters[-1]
    # cumulative output is 3 mature years against a reference of one: factor 3^(−b)
    assert last.learning_factor == pytest.approx(3.0 ** -learning_exponent(0.2))
    conversion = mature.total_usd_per_kwh - materials
    launch_and_warranty_on_materials = last.usd_per_kwh - conversion - materials
    assert last.usd_per_kwh_with_learning == pytest.approx(
        materials + last.learning_factor * (conversion + launch_and_warranty_on_materials)
    )


def test_gwh_year_one_inside_domain_ranges():
    """domain.md §3.2: SSB GWh year 1: Y 0.70–0.85, OEE 0.5–0.7."""
    spec = load_line(GWH)
    r = ramp_up(spec, static_basis(spec))
    first_year = r.months[:12]
    assert 0.70 <= sum(m.line_yield for m in first_year) / 12 <= 0.85
    assert 0.50 <= sum(m.oee for m in first_year) / 12 <= 0.70


def test_no_ramp_block_no_ramp():
    spec = toy_line()
    assert ramp_up(spec, static_basis(spec)) is None


def test_dated_price_trajectory_and_cost_targets():
    """The sulfide electrolyte's price falls 15 %/yr from its date (2025-12-01, the latest
    price date, so the ramp's start): quarter q's materials cost Σ w_m (1 + r_m)^t, t = (q −
    ½)/4 years; the targets name the first quarter at or below them."""
    from linesim.config import load_line
    from linesim.economics.basis import static_basis
    from linesim.economics.cost import cost_report
    from linesim.economics.rampup import material_price_factors, ramp_up

    spec = load_line("gwh_sulfide_4gwh")
    basis = static_basis(spec)
    rows = cost_report(spec, basis).materials
    w = next(r.usd_per_kwh_good for r in rows if r.name.startswith("Li6PS5Cl")) / sum(
        r.usd_per_kwh_good for r in rows
    )
    factors = material_price_factors(spec, basis, 12)
    for q, f in enumerate(factors):
        assert f == pytest.approx(w * 0.85 ** ((q + 0.5) / 4) + (1 - w), rel=1e-9)
    flat = load_line(
        "gwh_sulfide_4gwh",
        overrides=["cost.materials.Li6PS5Cl sulfide electrolyte.price_change_per_year=0"],
    )
    falling, fixed = ramp_up(spec, basis), ramp_up(flat, static_basis(flat))
    assert falling.quarters[-1].cny_per_wh < fixed.quarters[-1].cny_per_wh
    assert falling.quarters[0].cny_per_wh < fixed.quarters[0].cny_per_wh
    first = falling.quarters[0].cny_per_wh_with_learning
    late = load_line(
        "gwh_sulfide_4gwh", overrides=[f"cost.ramp_up.cost_targets_cny_per_wh=[{first + 1}, 0.01]"]
    )
    targets = ramp_up(late, static_basis(late)).targets
    assert [(t.cny_per_wh, t.quarter) for t in targets] == [(first + 1, 1), (0.01, None)]
