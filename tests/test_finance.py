"""Brownfield conversion and NPV/payback against closed forms (annuities, hand sums)."""

from __future__ import annotations

import pytest

from linesim.config import editable, line_from_dict, load_line
from linesim.economics.basis import static_basis
from linesim.economics.cost import annual_cost, capex, cost_report
from linesim.economics.finance import (
    conversion_capex,
    finance_report,
    npv_usd,
    payback_years,
    reused_equipment_share,
)
from linesim.errors import ConfigError


def test_npv_and_payback_of_an_annuity_by_hand():
    flows = [-100.0] + [30.0] * 5
    # −100 + 30 × (1 − 1.1^−5) / 0.1 = 13.7236
    assert npv_usd(flows, 0.1) == pytest.approx(-100 + 30 * (1 - 1.1**-5) / 0.1)
    assert payback_years(flows) == pytest.approx(100 / 30)
    # discounted: 27.273 + 24.793 + 22.539 + 20.490 = 95.095 after 4 years, 18.628 in the 5th
    d = [30 / 1.1**t for t in range(1, 6)]
    assert payback_years(flows, 0.1) == pytest.approx(4 + (100 - sum(d[:4])) / d[4])
    assert payback_years([-100.0, 10.0, 10.0]) is None
    assert payback_years([0.0, 1.0]) == 0.0


def _polymer(**cost_changes):
    raw = editable(load_line("gwh_polymer"))
    raw["cost"].pop("ramp_up")  # mature output from year 1: the flows are an annuity
    raw["cost"].update(cost_changes)
    return line_from_dict(raw)


def test_a_mature_line_earns_an_annuity_of_price_less_cash_cost():
    spec = _polymer()
    basis = static_basis(spec)
    rep = cost_report(spec, basis)
    fin = spec.cost.finance
    green = finance_report(spec, basis, rep).cases[0]
    a = rep.annual
    cash_cost = a.total - a.depreciation - a.overheads["profit"]
    revenue = rep.good_kwh_per_year * fin.selling_price_cny_per_wh * 1000 / 7.2
    cf = revenue - cash_cost
    assert green.cash_flows_usd[1:] == pytest.approx([cf] * fin.years, rel=1e-12)
    r, n = fin.discount_rate, fin.years
    assert green.npv_usd == pytest.approx(-rep.capex.total + cf * (1 - (1 + r) ** -n) / r)
    assert green.payback_years == pytest.approx(rep.capex.total / cf)


def test_a_subsidy_and_a_grant_add_their_present_value():
    base = _polymer()
    fin = {**editable(base)["cost"]["finance"], "subsidy_usd_per_kwh": 5.0, "subsidy_years": 3}
    paid = _polymer(finance={**fin, "investment_grant_fraction": 0.25})
    b, p = (finance_report(s, static_basis(s), cost_report(s)) for s in (base, paid))
    rep = cost_report(base)
    r = base.cost.finance.discount_rate
    extra = 5.0 * rep.good_kwh_per_year * sum((1 + r) ** -t for t in (1, 2, 3))
    assert p.cases[0].npv_usd - b.cases[0].npv_usd == pytest.approx(
        extra + 0.25 * rep.capex.total, rel=1e-9
    )


def test_conversion_takes_the_reused_machines_hall_and_room_out_of_the_investment():
    spec = load_line("gwh_polymer")
    reuse = spec.cost.brownfield
    green, conv = capex(spec), conversion_capex(spec)
    by_id = {s.id: s for s in spec.stations}
    taken = sum(n * by_id[sid].capex_usd for sid, n in reuse.reused_machines.items())
    assert taken == pytest.approx(4 * 2.5e6 + 2 * 0.75e6 + 2 * 1.15e6 + 70 * 250e3 + 180 * 50e3)
    assert green.total - conv.total == pytest.approx(
        taken - reuse.book_value_usd - reuse.retrofit_usd + green.building + green.dry_room
    )
    assert reused_equipment_share(spec) == pytest.approx(taken / green.equipment)
    # depreciation: equipment life for machines, book value and retrofit; the hall's 20 years
    basis = static_basis(spec)
    d_green = annual_cost(spec, basis).depreciation
    d_conv = annual_cost(spec, basis, conv).depreciation
    assert d_green - d_conv == pytest.approx(
        (green.equipment + green.dry_room - conv.equipment) / 10 + green.building / 20
    )
    cases = finance_report(spec, basis, cost_report(spec, basis)).cases
    assert [c.case for c in cases] == ["greenfield", "conversion"]
    assert cases[1].usd_per_kwh < cases[0].usd_per_kwh


def test_reusing_a_station_the_line_does_not_have_is_refused_by_name():
    with pytest.raises(ConfigError) as err:
        load_line("gwh_polymer", ["cost.brownfield.reused_machines.nowhere=1"])
    assert "cost.brownfield.reused_machines.nowhere" in str(err.value)
    assert "one of:" in str(err.value)


def test_a_layout_with_fewer_machines_than_the_hall_reuses_what_it_runs():
    from linesim.variants import apply_layout

    spec = load_line("gwh_polymer")  # the hall has 4 stackers; a layout of 3 reuses 3
    fewer = apply_layout(spec, {"stacking": {"default": 3}})
    assert capex(fewer).equipment_by_station["stacking"] == pytest.approx(3 * 2.5e6)
    assert conversion_capex(fewer).equipment_by_station["stacking"] == 0.0
    more = apply_layout(spec, {"stacking": {"default": 6}})
    assert conversion_capex(more).equipment_by_station["stacking"] == pytest.approx(2 * 2.5e6)


def test_compare_shows_npv_and_conversion_only_for_lines_that_have_them():
    from linesim.economics.analysis import compare, comparison_rows

    lines = [load_line("gwh_polymer"), load_line("pilot_polymer_200mwh")]
    analyses = compare(lines)
    rows = {label: values for label, _, values in comparison_rows(analyses)}
    polymer = {c.case: c for c in analyses[0].finance.cases}
    assert rows["NPV, greenfield"] == [polymer["greenfield"].npv_usd / 1e6, None]
    assert rows["NPV, conversion"] == [polymer["conversion"].npv_usd / 1e6, None]
    assert rows["payback, conversion"][0] == polymer["conversion"].payback_years
    assert rows["capex, conversion of a Li-ion hall"][0] == polymer["conversion"].capex_usd / 1e6
    assert rows["selling price (finance)"] == [0.60, None]
    # a conversion costs less than building new, so it pays back sooner
    assert rows["payback, conversion"][0] < rows["payback, greenfield"][0]
    # lines without a finance block show no finance rows at all
    plain = {label for label, _, _ in comparison_rows(compare([load_line("pilot_oxide")]))}
    assert not {"NPV, greenfield", "capex, conversion of a Li-ion hall"} & plain
