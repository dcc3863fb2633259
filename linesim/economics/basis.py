"""The output a line's fixed costs are divided by: its static capacity, or what simulation
measured. Both give good cells per hour, the line yield, and the cells each station processes
per good cell (which scale the materials bought at each station)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from linesim import kpis
from linesim.capacity import capacity_report, starts_per_good_cell
from linesim.simulation.records import SimResult
from linesim.spec import LineSpec

__all__ = ["OutputBasis", "static_basis", "simulated_basis"]


@dataclass(frozen=True)
class OutputBasis:
    """The output the fixed costs are divided by.

    ``processed_per_good_cell[j]`` is the number of cells station j processes per good cell out
    (1 ÷ ∏ of the step yields from j on, for detection at the source).
    """

    source: str  #: "static capacity" or "simulation (…)"
    good_cells_per_h: float
    line_yield: float
    processed_per_good_cell: tuple[float, ...]
    good_cells_per_h_ci95: tuple[float, float] | None = None


def static_basis(spec: LineSpec) -> OutputBasis:
    """The line at its static capacity: bottleneck-limited output and the analytic yield."""
    report = capacity_report(spec)
    return OutputBasis(
        source="static capacity (no simulation)",
        good_cells_per_h=report.max_good_cells_per_h,
        line_yield=report.line_yield,
        processed_per_good_cell=tuple(starts_per_good_cell(spec)),
    )


def simulated_basis(spec: LineSpec, results: Sequence[SimResult]) -> OutputBasis:
    """Output and yield measured by simulation, averaged over replications.

    Cells processed at station j per good cell are estimated by the chain rule,
    1 ÷ ∏_{k ≥ j} (1 − scrapped_k ÷ processed_k), pooled over replications (consistent with
    :func:`linesim.kpis.simulated_line_yield`).
    """
    from linesim.summary import estimate

    rate = estimate([kpis.good_cells_per_h(r) for r in results])
    n = len(spec.stations)
    processed = [sum(r.stations[j].processed for r in results) for j in range(n)]
    scrapped = [sum(r.stations[j].scrapped_here for r in results) for j in range(n)]
    per_good, surviving = [0.0] * n, 1.0
    for j in reversed(range(n)):
        if processed[j]:
            surviving *= 1.0 - scrapped[j] / processed[j]
        per_good[j] = 1.0 / surviving if surviving > 0 else math.inf
    low, high = rate.ci95_low, rate.ci95_high
    ci = (low, high) if low is not None and high is not None else None
    hours = results[0].horizon_s / 3600.0
    return OutputBasis(
        source=f"simulation ({len(results)} replication{'s' * (len(results) > 1)} of {hours:g} h)",
        good_cells_per_h=rate.mean,
        line_yield=1.0 / per_good[0],
        processed_per_good_cell=tuple(per_good),
        good_cells_per_h_ci95=ci,
    )
