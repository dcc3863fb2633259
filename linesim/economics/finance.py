"""Brownfield conversion and money over the plant's life: NPV and payback, greenfield against
conversion of a liquid Li-ion hall.

Conversion capex (:class:`~linesim.spec.cost_inputs.Brownfield`): each station's equipment less
the machines taken over (as many of the hall's as the station runs, at the station's mean capex
per machine), plus the reused assets' book
value and their retrofit, as equipment; the building and dry room drop out when the hall and its
room are taken over. Everything else is the greenfield :func:`~linesim.economics.cost.capex`.

Cash flows (:class:`~linesim.spec.cost_inputs.Finance`), in USD, year 0 the investment:

- CF_0 = −capex × (1 − grant);
- CF_t = E_t × (p + s_t) − [F + v × n_t × f_t] for t = 1 … N, with E_t the good kWh of year t
  (the ramp-up's months while it lasts, then the mature output), p the selling price per kWh,
  s_t the subsidy per kWh (first ``subsidy_years``), n_t the cells started, v the materials
  (scrap included) per cell started at the dated prices and f_t their price trajectory's mean
  factor over the year (``price_change_per_year``), and F the rest of the annual cost less
  depreciation and the profit overhead (a return, not a payment);
- NPV = Σ_{t=0}^{N} CF_t ÷ (1 + r)^t; payback = the (fractional) year in which the cumulative
  cash flow turns non-negative, linear within the year (``None`` if not within N years); the
  discounted payback likewise on discounted flows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from linesim.economics.basis import OutputBasis
from linesim.economics.cost import (
    Capex,
    CostReport,
    annual_cost,
    capex,
    cost_inputs,
    usd_per_kwh_to_cny_per_wh,
)
from linesim.spec import LineSpec

__all__ = [
    "FinanceCase",
    "FinanceReport",
    "conversion_capex",
    "finance_report",
    "npv_usd",
    "payback_years",
    "reused_equipment_share",
]


def conversion_capex(spec: LineSpec) -> Capex | None:
    """The line's capex as a conversion of a Li-ion hall (``None`` without ``cost.brownfield``)
    [USD]."""
    reuse = cost_inputs(spec).brownfield
    if reuse is None:
        return None
    green = capex(spec)
    by_station = {}
    for s in spec.stations:
        machines = sum(e.count for e in s.equipment())
        taken = min(reuse.reused_machines.get(s.id, 0), machines)
        new_share = 1.0 - taken / machines if machines else 0.0
        by_station[s.id] = green.equipment_by_station[s.id] * new_share
    return replace(
        green,
        equipment_by_station=by_station,
        equipment=sum(by_station.values()) + reuse.book_value_usd + reuse.retrofit_usd,
        dry_room=0.0 if reuse.reuse_dry_room else green.dry_room,
        building=0.0 if reuse.reuse_building else green.building,
    )


def reused_equipment_share(spec: LineSpec) -> float:
    """New-equipment value of the machines taken over ÷ the line's new-equipment value
    [fraction] (0 without ``cost.brownfield``)."""
    reuse = cost_inputs(spec).brownfield
    green = capex(spec)
    if reuse is None or not green.equipment:
        return 0.0
    conv = conversion_capex(spec)
    assert conv is not None
    return 1.0 - sum(conv.equipment_by_station.values()) / green.equipment


def npv_usd(cash_flows: list[float], rate: float) -> float:
    """Σ_t CF_t ÷ (1 + r)^t, t = 0 for the first flow [USD]."""
    return sum(cf / (1.0 + rate) ** t for t, cf in enumerate(cash_flows))


def payback_years(cash_flows: list[float], rate: float = 0.0) -> float | None:
    """Years until the cumulative (discounted at ``rate``) cash flow is non-negative, linear
    within the year; 0 if it never is negative, ``None`` if not within the flows."""
    flows = [cf / (1.0 + rate) ** t for t, cf in enumerate(cash_flows)]
    total = flows[0]
    if total >= 0:
        return 0.0
    for t, cf in enumerate(flows[1:], start=1):
        if total + cf >= 0:
            return t - 1 + (-total / cf)
        total += cf
    return None


@dataclass(frozen=True)
class FinanceCase:
    """One way to build the line: its investment, cost per kWh and money over time."""

    case: str  #: "greenfield" or "conversion" (of a Li-ion hall)
    capex_usd: float
    usd_per_kwh: float  #: mature cost per good kWh with this investment's depreciation
    cny_per_wh: float
    npv_usd: float | None = None  #: None without ``cost.finance``
    payback_years: float | None = None  #: None: not within the years (or no ``cost.finance``)
    discounted_payback_years: float | None = None
    cash_flows_usd: tuple[float, ...] = ()  #: year 0 (investment) … N


@dataclass(frozen=True)
class FinanceReport:
    """Greenfield against conversion, and NPV/payback at the config's selling price."""

    line: str
    reused_equipment_share: float  #: of the line's new-equipment value (0 greenfield only)
    selling_price_cny_per_wh: float | None
    discount_rate: float | None
    years: int | None
    cases: tuple[FinanceCase, ...]

    def to_dict(self) -> dict:
        return asdict(self)


def _yearly_output(spec: LineSpec, basis: OutputBasis, report: CostReport, years: int):
    """(good kWh, cells started) per operating year: the ramp-up's months, then mature."""
    from linesim.economics.rampup import ramp_up

    kwh = spec.product.energy_kwh
    mature_starts = basis.good_cells_per_h * spec.calendar.year_hours
    mature_starts *= basis.processed_per_good_cell[0]
    ramp = ramp_up(spec, basis)
    excursion_kwh = report.excursion_cells_per_year * kwh
    out = []
    for y in range(years):
        months = ramp.months[12 * y : 12 * y + 12] if ramp else ()
        if len(months) == 12:
            good = sum(m.good_cells for m in months) * kwh - excursion_kwh
            out.append((max(good, 0.0), sum(m.cells_started for m in months)))
        else:
            out.append((report.good_kwh_per_year, mature_starts))
    return out, mature_starts


def finance_report(spec: LineSpec, basis: OutputBasis, report: CostReport) -> FinanceReport | None:
    """Greenfield (and conversion, with ``cost.brownfield``) capex and cost per kWh, with NPV
    and payback when the config has ``cost.finance`` (``None`` with neither block)."""
    from linesim.economics.rampup import material_price_factors

    cost = cost_inputs(spec)
    fin = cost.finance
    if fin is None and cost.brownfield is None:
        return None
    investments = [("greenfield", report.capex)]
    conv = conversion_capex(spec)
    if conv is not None:
        investments.append(("conversion", conv))
    rate = cost.currency.cny_per_usd
    cases = []
    for name, c in investments:
        annual = report.annual if name == "greenfield" else annual_cost(spec, basis, c)
        usd_per_kwh = annual.total / report.good_kwh_per_year
        case = FinanceCase(name, c.total, usd_per_kwh, usd_per_kwh_to_cny_per_wh(usd_per_kwh, rate))
        if fin is not None:
            output, mature_starts = _yearly_output(spec, basis, report, fin.years)
            variable = annual.materials + annual.scrap
            fixed = annual.total - annual.depreciation - annual.overheads["profit"] - variable
            factors = material_price_factors(spec, basis, 4 * fin.years)
            price_usd_per_kwh = fin.selling_price_cny_per_wh * 1000.0 / rate
            flows = [-c.total * (1.0 - fin.investment_grant_fraction)]
            for y, (good_kwh, starts) in enumerate(output):
                f = sum(factors[4 * y : 4 * y + 4]) / 4.0
                subsidy = fin.subsidy_usd_per_kwh if y < fin.subsidy_years else 0.0
                revenue = good_kwh * (price_usd_per_kwh + subsidy)
                flows.append(revenue - fixed - variable * starts / mature_starts * f)
            case = replace(
                case,
                npv_usd=npv_usd(flows, fin.discount_rate),
                payback_years=payback_years(flows),
                discounted_payback_years=payback_years(flows, fin.discount_rate),
                cash_flows_usd=tuple(flows),
            )
        cases.append(case)
    return FinanceReport(
        line=spec.name,
        reused_equipment_share=reused_equipment_share(spec),
        selling_price_cny_per_wh=fin.selling_price_cny_per_wh if fin else None,
        discount_rate=fin.discount_rate if fin else None,
        years=fin.years if fin else None,
        cases=tuple(cases),
    )
