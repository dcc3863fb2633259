"""What one sample of the inputs gives: the line's KPIs on the static model or simulated.

The KPIs of a sample are good output [GWh/yr], line yield, line OEE and — where the config has a
``cost:`` block — cost per good Wh [CNY/Wh] and capex [M USD], by the public functions of
:mod:`linesim.economics` on the same output basis (static capacity, or one replication's
simulated output).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from linesim.economics.basis import OutputBasis, simulated_basis, static_basis
from linesim.economics.cost import (
    annual_cost,
    capex,
    cost_inputs,
    excursion_cells_per_year,
    usd_per_kwh_to_cny_per_wh,
)
from linesim.experiments import simulate_replication
from linesim.spec import LineSpec

__all__ = ["KPIS", "KPI_UNITS", "static_kpis", "basis_kpis", "simulate_task"]

#: KPI name → (label, unit), in the order reports show them.
KPI_UNITS: dict[str, tuple[str, str]] = {
    "output_gwh_per_year": ("good output", "GWh/yr"),
    "line_yield": ("line yield", ""),
    "line_oee": ("line OEE", ""),
    "cost_cny_per_wh": ("cost per good Wh", "CNY/Wh"),
    "capex_musd": ("capex", "M USD"),
}
KPIS: tuple[str, ...] = tuple(KPI_UNITS)


def basis_kpis(spec: LineSpec, basis: OutputBasis) -> dict[str, float]:
    """The KPIs of ``spec`` at output ``basis`` (cost and capex NaN without a cost block; cost
    NaN where the line makes no good cells). Output is :func:`~linesim.economics.cost.
    cost_report`'s: less the good cells moisture excursions scrap, where the config has them."""
    good_cells = basis.good_cells_per_h * spec.calendar.year_hours
    if spec.cost is not None:
        good_cells = max(good_cells - excursion_cells_per_year(cost_inputs(spec)), 0.0)
    out = {
        "output_gwh_per_year": good_cells * spec.product.energy_kwh / 1e6,
        "line_yield": basis.line_yield,
        "line_oee": basis.oee,
        "cost_cny_per_wh": math.nan,
        "capex_musd": math.nan,
    }
    if spec.cost is not None:
        investment = capex(spec)
        out["capex_musd"] = investment.total / 1e6
        good_kwh = out["output_gwh_per_year"] * 1e6
        if good_kwh > 0:  # cost_report's total per good kWh, without the rest of its report
            usd_per_kwh = annual_cost(spec, basis, investment).total / good_kwh
            rate = cost_inputs(spec).currency.cny_per_usd
            out["cost_cny_per_wh"] = usd_per_kwh_to_cny_per_wh(usd_per_kwh, rate)
    return out


def static_kpis(spec: LineSpec) -> dict[str, float]:
    """The KPIs of ``spec`` at its static capacity (no simulation)."""
    return basis_kpis(spec, static_basis(spec))


def simulate_task(
    task: tuple, on_fraction: Callable[[float], None] | None
) -> tuple[int, int, dict[str, float]]:
    """One replication of one sample (runs in a pool worker): ``task`` = (sample, spec,
    horizon_s, warmup_s, seed, replication, engine). Every sample's replication r draws from
    the same stream (common random numbers), so differences between samples are the inputs'."""
    i, spec, horizon_s, warmup_s, seed, r, engine = task
    res = simulate_replication((spec, horizon_s, warmup_s, seed, r, engine), on_fraction)
    kpis = basis_kpis(spec, simulated_basis(spec, [res]))
    kpis["cells_started"] = float(res.started)  # in the window: for throughput figures
    return i, r, kpis
