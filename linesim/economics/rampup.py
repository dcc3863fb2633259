"""Ramp-up and learning: yield and OEE over the first years, and cost per kWh per quarter.

From start of production (t = 0, in months) the line approaches its mature state exponentially:

- yield  y(t) = Y − (Y − y₀)·exp(−t/τ_y), with Y the mature line yield of the output basis;
- OEE    o(t) = O − (O − o₀)·exp(−t/τ_o), with O the line's own OEE (the output basis':
  simulated, or the static estimate — one OEE) and o₀ = min(``oee_start``, O);
- cells started per month = mature starts per month × o(t)/O, good cells = starts × y(t).

Month values are taken at mid-month. Per quarter the fixed costs (depreciation, labour, energy,
profit on investment) accrue as in the mature year; materials follow the cells started; the
overheads are recomputed from those amounts (:func:`linesim.economics.cost.overheads_usd`).

Materials with a dated price trajectory (``price_change_per_year``) are priced per quarter at
its middle, counted from ``ramp_up.start_date`` (default: the latest material price date).
Each quarter's cost with learning is checked against ``ramp_up.cost_targets_cny_per_wh``: the
report names the first quarter at or below each target (``targets``; none if not reached).
Learning on top of the ramp: C(x) = C0·(x/x0)^(−b), b = −log2(1 − LR), applied to the
conversion cost (everything except materials), x the cumulative good output and x0 one year
of mature output, so learning counts the doublings after the first mature-year's volume
(factor 1 before). It is reported as its own column, since the ramp curves already carry much of
what a plant-level learning rate would.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from linesim.economics.cost import (
    OutputBasis,
    annual_cost,
    capex,
    cost_inputs,
    overheads_usd,
    usd_per_kwh_to_cny_per_wh,
)
from linesim.spec import LineSpec

__all__ = [
    "exponential_approach",
    "learning_exponent",
    "learning_factor",
    "RampMonth",
    "RampQuarter",
    "RampUpReport",
    "CostTarget",
    "material_price_factors",
    "ramp_up",
]


def exponential_approach(start: float, target: float, time_constant: float, t: float) -> float:
    """target − (target − start)·exp(−t/τ): first-order approach from ``start`` at t = 0."""
    return target - (target - start) * math.exp(-t / time_constant)


def learning_exponent(learning_rate: float) -> float:
    """b = −log2(1 − LR): cost falls by LR with each doubling of cumulative output."""
    return -math.log2(1.0 - learning_rate)


def learning_factor(cumulative: float, reference: float, learning_rate: float) -> float:
    """C(x)/C0 = (x/x0)^(−b) for x > x0, and 1 before the reference volume x0."""
    if cumulative <= reference or learning_rate == 0.0:
        return 1.0
    return (cumulative / reference) ** (-learning_exponent(learning_rate))


@dataclass(frozen=True)
class RampMonth:
    month: int  #: 1 = first month of production
    line_yield: float
    oee: float
    cells_started: float
    good_cells: float
    good_gwh: float
    cumulative_gwh: float


@dataclass(frozen=True)
class RampQuarter:
    quarter: int  #: 1 = first quarter of production
    good_gwh: float
    cumulative_gwh: float
    usd_per_kwh: float  #: ramp-up only
    cny_per_wh: float
    learning_factor: float  #: on conversion cost
    usd_per_kwh_with_learning: float
    cny_per_wh_with_learning: float


@dataclass(frozen=True)
class CostTarget:
    """The first quarter whose cost with learning is at or below a target (None: not reached
    within the ramp's years)."""

    cny_per_wh: float
    quarter: int | None


@dataclass(frozen=True)
class RampUpReport:
    line: str
    mature_line_yield: float
    oee_mature: float
    learning_rate: float
    learning_exponent: float
    months: tuple[RampMonth, ...]
    quarters: tuple[RampQuarter, ...]
    targets: tuple[CostTarget, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)


def ramp_up(spec: LineSpec, basis: OutputBasis) -> RampUpReport | None:
    """Monthly ramp-up and quarterly cost per kWh (``None`` without a ``ramp_up`` block)."""
    cost = cost_inputs(spec)
    ramp = cost.ramp_up
    if ramp is None:
        return None
    hours, kwh_cell = spec.calendar.year_hours, spec.product.energy_kwh
    mature_good = basis.good_cells_per_h * hours
    mature_starts = mature_good * basis.processed_per_good_cell[0]
    oee = basis.oee if basis.oee == basis.oee and basis.oee > 0 else (ramp.oee_mature or 1.0)
    oee_start = min(ramp.oee_start, oee)
    months, cumulative = [], 0.0
    for m in range(12 * ramp.years):
        t = m + 0.5
        y = exponential_approach(
            ramp.yield_start, basis.line_yield, ramp.yield_time_constant_months, t
        )
        o = exponential_approach(oee_start, oee, ramp.oee_time_constant_months, t)
        starts = mature_starts / 12.0 * o / oee
        good = starts * y
        gwh = good * kwh_cell / 1e6
        cumulative += gwh
        months.append(RampMonth(m + 1, y, o, starts, good, gwh, cumulative))

    annual = annual_cost(spec, basis)
    investment = capex(spec).total
    material_per_start = (annual.materials + annual.scrap) / mature_starts
    price_factors = material_price_factors(spec, basis, 4 * ramp.years)
    reference_gwh = mature_good * kwh_cell / 1e6
    quarters = []
    for q in range(4 * ramp.years):
        block = months[3 * q : 3 * q + 3]
        good_kwh = sum(m.good_gwh for m in block) * 1e6
        materials = material_per_start * price_factors[q] * sum(m.cells_started for m in block)
        d, lab, e = annual.depreciation / 4, annual.labour / 4, annual.energy / 4
        total = (
            d
            + lab
            + e
            + materials
            + annual.atmosphere / 4  # inert gas and scrubber run whatever the output
            + sum(overheads_usd(cost.overheads, d, lab, e, materials, investment / 4).values())
        )
        factor = learning_factor(block[-1].cumulative_gwh, reference_gwh, ramp.learning_rate)
        learned = materials + factor * (total - materials)
        rate = cost.currency.cny_per_usd
        quarters.append(
            RampQuarter(
                quarter=q + 1,
                good_gwh=good_kwh / 1e6,
                cumulative_gwh=block[-1].cumulative_gwh,
                usd_per_kwh=total / good_kwh,
                cny_per_wh=usd_per_kwh_to_cny_per_wh(total / good_kwh, rate),
                learning_factor=factor,
                usd_per_kwh_with_learning=learned / good_kwh,
                cny_per_wh_with_learning=usd_per_kwh_to_cny_per_wh(learned / good_kwh, rate),
            )
        )
    return RampUpReport(
        line=spec.name,
        mature_line_yield=basis.line_yield,
        oee_mature=oee,
        learning_rate=ramp.learning_rate,
        learning_exponent=learning_exponent(ramp.learning_rate),
        months=tuple(months),
        quarters=tuple(quarters),
        targets=tuple(
            CostTarget(
                target,
                next((x.quarter for x in quarters if x.cny_per_wh_with_learning <= target), None),
            )
            for target in ramp.cost_targets_cny_per_wh
        ),
    )


def material_price_factors(spec: LineSpec, basis: OutputBasis, quarters: int) -> list[float]:
    """Per quarter, the materials' cost relative to their dated prices: Σ_m w_m (1 + r_m)^t_m,
    w_m the material's share of the materials bought (scrap included) and t_m the years from
    its price date to the middle of the quarter [dimensionless]."""
    from linesim.economics.cost import cost_report

    cost = cost_inputs(spec)
    if not any(m.price_change_per_year for m in cost.materials):
        return [1.0] * quarters
    rows = cost_report(spec, basis).materials
    total = sum(r.usd_per_kwh_good for r in rows)
    start = cost.ramp_up.start_date if cost.ramp_up and cost.ramp_up.start_date else None
    start = start or max(m.price_date for m in cost.materials)
    out = []
    for q in range(quarters):
        weighted = 0.0
        for r, m in zip(rows, cost.materials):
            years = (start - m.price_date).days / 365.25 + (q + 0.5) / 4  # to mid-quarter
            weighted += r.usd_per_kwh_good * (1.0 + m.price_change_per_year) ** years
        out.append(weighted / total if total else 1.0)
    return out
