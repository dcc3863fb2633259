"""One line's planning picture – capacity, yield, cost, ramp-up, sensitivity – and comparisons.

:func:`analyse` gathers what the other modules compute for one line; :func:`compare` does it for
several lines, side by side. Simulation results are optional: with them, fixed costs are
divided by the simulated good output and the simulated yield, and the bottleneck is the
simulated one; without, the static capacity analysis is the basis (each report says which).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from linesim.capacity import CapacityReport, capacity_report
from linesim.economics.cost import (
    CostReport,
    OutputBasis,
    cost_report,
    simulated_basis,
    static_basis,
)
from linesim.economics.finance import FinanceReport, finance_report
from linesim.economics.rampup import RampUpReport, ramp_up
from linesim.economics.sensitivity import TornadoBar, tornado
from linesim.simulation.records import SimResult
from linesim.spec import LineSpec
from linesim.summary import RunSummary, summarise
from linesim.yield_model import WaterfallStep, yield_waterfall

__all__ = ["LineAnalysis", "analyse", "compare", "comparison_rows"]


@dataclass(frozen=True)
class LineAnalysis:
    """Everything a planner compares between lines, for one line."""

    spec: LineSpec
    basis: OutputBasis
    bottleneck: str
    capacity: CapacityReport
    cost: CostReport
    ramp: RampUpReport | None
    tornado: tuple[TornadoBar, ...]
    waterfall: tuple[WaterfallStep, ...]
    simulation: RunSummary | None  #: the run summary (:func:`linesim.summary.summarise`)
    finance: FinanceReport | None = None  #: greenfield vs conversion, NPV and payback

    def to_dict(self) -> dict:
        return {
            "line": self.spec.name,
            "basis": self.basis.source,
            "bottleneck": self.bottleneck,
            "capacity": self.capacity.to_dict(),
            "cost": self.cost.to_dict(),
            "ramp_up": self.ramp.to_dict() if self.ramp else None,
            "tornado": [b.to_dict() for b in self.tornado],
            "yield_waterfall": [s.to_dict() for s in self.waterfall],
            "simulation": self.simulation.to_dict() if self.simulation else None,
            "finance": self.finance.to_dict() if self.finance else None,
        }


def analyse(
    spec: LineSpec, results: Sequence[SimResult] | None = None, tornado_fraction: float = 0.2
) -> LineAnalysis:
    """Capacity, cost (on simulated output if ``results`` are given), ramp-up, tornado and the
    yield waterfall (with the value each scrapped cell carries) of one line."""
    from linesim.economics.cost import value_added_usd_per_cell

    basis = simulated_basis(spec, results) if results else static_basis(spec)
    capacity = capacity_report(spec)
    summary = summarise(spec, results) if results else None
    report = cost_report(spec, basis)
    return LineAnalysis(
        spec=spec,
        basis=basis,
        bottleneck=summary.bottleneck if summary else capacity.bottleneck,
        capacity=capacity,
        cost=report,
        ramp=ramp_up(spec, basis),
        tornado=tuple(tornado(spec, tornado_fraction)),
        waterfall=tuple(yield_waterfall(spec, value_added_usd_per_cell(spec, basis))),
        simulation=summary,
        finance=finance_report(spec, basis, report),
    )


def compare(
    specs: Sequence[LineSpec],
    results: Sequence[Sequence[SimResult] | None] | None = None,
    tornado_fraction: float = 0.2,
) -> list[LineAnalysis]:
    """:func:`analyse` for each line (``results[k]`` optional simulation results of line k)."""
    results = results or [None] * len(specs)
    return [analyse(s, r, tornado_fraction) for s, r in zip(specs, results)]


def comparison_rows(analyses: Sequence[LineAnalysis]) -> list[tuple[str, str, list[float]]]:
    """The side-by-side table: (label, unit, one value per line)."""

    def row(label: str, unit: str, f) -> tuple[str, str, list[float]]:
        return label, unit, [f(a) for a in analyses]

    def year1(a: LineAnalysis, attr: str) -> float | None:
        if a.ramp is None:
            return None
        months = a.ramp.months[:12]
        return sum(getattr(m, attr) for m in months) / len(months)

    rows = [
        row("good output", "GWh/yr", lambda a: a.cost.output_gwh_per_year),
        row("good cells", "M cells/yr", lambda a: a.cost.good_cells_per_year / 1e6),
        row("line yield", "", lambda a: a.cost.line_yield),
        row("line yield, analytic ∏(1 − p)", "", lambda a: a.capacity.line_yield),
        row("line OEE (mature)", "", lambda a: a.cost.oee),
        row(
            "defective cells shipped",
            "per M good",
            lambda a: a.cost.shipped_defective_cells_per_year / a.cost.good_cells_per_year * 1e6,
        ),
        row("capex", "M USD", lambda a: a.cost.capex.total / 1e6),
        row("  equipment", "M USD", lambda a: a.cost.capex.equipment / 1e6),
        row("  dry room", "M USD", lambda a: a.cost.capex.dry_room / 1e6),
        row("  building", "M USD", lambda a: a.cost.capex.building / 1e6),
        row("  facility", "M USD", lambda a: a.cost.capex.facility / 1e6),
    ]
    if any(a.cost.capex.atmosphere for a in analyses):
        rows.append(row("  atmosphere (H2S)", "M USD", lambda a: a.cost.capex.atmosphere / 1e6))
    if any(a.cost.capex.buffers for a in analyses):
        rows.append(row("  buffers", "M USD", lambda a: a.cost.capex.buffers / 1e6))
    rows += [
        row("capex per GWh/yr", "M USD", lambda a: a.cost.capex_usd_per_gwh / 1e6),
        row("capex per GWh/yr", "bn CNY", lambda a: a.cost.capex_bn_cny_per_gwh),
        row("cost per good kWh", "USD/kWh", lambda a: a.cost.total_usd_per_kwh),
        row("cost per good Wh", "CNY/Wh", lambda a: a.cost.cny_per_wh),
    ]
    atmosphere = any(a.cost.annual.atmosphere for a in analyses)
    for category in (
        "depreciation",
        "labour",
        "energy",
        "materials",
        "scrap",
        "escapes",
        *(["atmosphere"] if atmosphere else []),
        "overheads",
    ):
        rows.append(
            row(f"  {category}", "USD/kWh", lambda a, c=category: a.cost.usd_per_kwh.get(c, 0.0))
        )
    rows += [
        row("energy per good kWh", "kWh/kWh", lambda a: a.cost.energy_kwh_per_kwh.total),
        row("  machines", "kWh/kWh", lambda a: a.cost.energy_kwh_per_kwh.machines),
        row("  dry room", "kWh/kWh", lambda a: a.cost.energy_kwh_per_kwh.dry_room),
        row("direct labour", "FTE", lambda a: a.cost.direct_fte),
        row(
            "direct labour per GWh/yr",
            "FTE",
            lambda a: a.cost.direct_fte / a.cost.output_gwh_per_year,
        ),
        row("year-1 mean yield (ramp-up)", "", lambda a: year1(a, "line_yield")),
        row("year-1 mean OEE (ramp-up)", "", lambda a: year1(a, "oee")),
        row(
            "year-1 good output (ramp-up)",
            "GWh",
            lambda a: None if a.ramp is None else a.ramp.months[11].cumulative_gwh,
        ),
        row(
            "cost in quarter 1 (ramp-up)",
            "CNY/Wh",
            lambda a: None if a.ramp is None else a.ramp.quarters[0].cny_per_wh,
        ),
        row(
            "cost in last quarter, with learning",
            "CNY/Wh",
            lambda a: None if a.ramp is None else a.ramp.quarters[-1].cny_per_wh_with_learning,
        ),
    ]
    return rows + _finance_rows(analyses)


def _finance_rows(analyses: Sequence[LineAnalysis]) -> list[tuple[str, str, list[float]]]:
    """Conversion of a Li-ion hall, NPV and payback: rows only where some line has them."""

    def case(a: LineAnalysis, name: str):
        if a.finance is None:
            return None
        return next((c for c in a.finance.cases if c.case == name), None)

    def value(name: str, attr: str, scale: float = 1.0):
        def get(a: LineAnalysis):
            c = case(a, name)
            v = None if c is None else getattr(c, attr)
            return None if v is None else v / scale

        return get

    def selling_price(a: LineAnalysis):
        return None if a.finance is None else a.finance.selling_price_cny_per_wh

    rows = []
    if any(case(a, "conversion") for a in analyses):
        rows += [
            ("capex, conversion of a Li-ion hall", "M USD", value("conversion", "capex_usd", 1e6)),
            ("cost per good Wh, conversion", "CNY/Wh", value("conversion", "cny_per_wh")),
        ]
    if any(selling_price(a) is not None for a in analyses):
        rows += [
            ("selling price (finance)", "CNY/Wh", selling_price),
            ("NPV, greenfield", "M USD", value("greenfield", "npv_usd", 1e6)),
            ("payback, greenfield", "yr", value("greenfield", "payback_years")),
        ]
        if any(case(a, "conversion") for a in analyses):
            rows += [
                ("NPV, conversion", "M USD", value("conversion", "npv_usd", 1e6)),
                ("payback, conversion", "yr", value("conversion", "payback_years")),
            ]
    return [(label, unit, [f(a) for a in analyses]) for label, unit, f in rows]
