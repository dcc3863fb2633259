"""The output a line's fixed costs are divided by: its static capacity, or what simulation
measured. Both give good cells per hour, the line yield and OEE, the cells each station
processes per good cell (which scale the materials bought at each station), how each station's
machines spend their time (which sets their energy), and the defective cells shipped."""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

from linesim import kpis
from linesim.capacity import capacity_report, due_probabilities
from linesim.rates import rework_s_per_cell, station_capacity_cells_per_h
from linesim.simulation.records import TIME_ACCOUNTS, SimResult, StationRecord
from linesim.spec import LineSpec

__all__ = ["OutputBasis", "static_basis", "simulated_basis", "static_capacity_gwh"]


@dataclass(frozen=True)
class OutputBasis:
    """The output the fixed costs are divided by.

    ``processed_per_good_cell[j]`` is the number of cells station j processes per good cell out
    (1 ÷ ∏ of the step yields from j on, for detection at the source). ``busy_shares[j]`` is
    the share of station j's machine-time (machines × calendar time) spent processing or
    reworking, at full power; ``working_shares[j]`` the share inside its working calendar
    (the rest it is off, drawing nothing).
    """

    source: str  #: "static capacity" or "simulation (…)"
    good_cells_per_h: float
    line_yield: float
    processed_per_good_cell: tuple[float, ...]
    good_cells_per_h_ci95: tuple[float, float] | None = None
    oee: float = math.nan  #: the line OEE (simulated, or the static estimate)
    busy_shares: tuple[float, ...] = ()
    working_shares: tuple[float, ...] = ()
    shipped_defective_per_good_cell: float = 0.0


# The static capacity of a spec, by identity (a frozen spec's never changes): capex, energy and
# the facility ask for it several times per cost report, and a capacity analysis is the dearest
# step of a static uncertainty sample. Kept beside the spec, not on it, so equal specs stay equal.
_STATIC_GWH: dict[int, float] = {}


def _remember(spec: LineSpec, gwh: float) -> float:
    if id(spec) not in _STATIC_GWH:
        _STATIC_GWH[id(spec)] = gwh
        weakref.finalize(spec, _STATIC_GWH.pop, id(spec), None)
    return gwh


def static_capacity_gwh(spec: LineSpec) -> float:
    """The line's static maximum good output [GWh/yr] (:func:`linesim.capacity.capacity_report`),
    computed once per spec."""
    gwh = _STATIC_GWH.get(id(spec))
    if gwh is None:
        gwh = _remember(spec, capacity_report(spec).max_output_gwh_per_year)
    return gwh


def static_basis(spec: LineSpec) -> OutputBasis:
    """The line at its static capacity: bottleneck-limited output after every loss, the
    analytic yield (with start-up scrap in the flow), and the static OEE estimate."""
    report = capacity_report(spec)
    _remember(spec, report.max_output_gwh_per_year)
    starts = [row.starts_per_good_cell for row in report.stations]
    probs = [row.defect_probability for row in report.stations]
    due = due_probabilities(spec, probs)
    good = report.max_good_cells_per_h
    busy, working, shipped = [], [], 0.0
    for j, station in enumerate(spec.stations):
        n = station.machine_count
        flow = good * starts[j] if math.isfinite(starts[j]) else 0.0
        nameplate = station_capacity_cells_per_h(station, with_availability=False)
        rework_h = (
            sum(
                e.count * rework_s_per_cell(station, due[j], e.defect_probability)
                for e in station.equipment()
            )
            / max(n, 1)
            / 3600.0
        )
        working_share = station.working_pattern(spec.calendar).working_share
        busy.append(min(flow / nameplate + flow * rework_h / n, working_share) if n else 0.0)
        working.append(working_share)
        shipped += starts[j] * due[j] * (1.0 - station.detection_efficiency)
    return OutputBasis(
        source="static capacity (no simulation)",
        good_cells_per_h=good,
        line_yield=report.line_yield,
        processed_per_good_cell=tuple(starts),
        oee=report.static_oee,
        busy_shares=tuple(busy),
        working_shares=tuple(working),
        shipped_defective_per_good_cell=shipped if math.isfinite(shipped) else 0.0,
    )


def simulated_basis(spec: LineSpec, results: Sequence[SimResult]) -> OutputBasis:
    """Output, yield, OEE and machine time measured by simulation, averaged over replications.

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

    def share(j: int, f) -> float:
        machine_s = sum(r.stations[j].machines * r.horizon_s for r in results)
        return sum(f(r.stations[j]) for r in results) / machine_s

    good = sum(r.good for r in results)
    return OutputBasis(
        source=f"simulation ({len(results)} replication{'s' * (len(results) > 1)} of {hours:g} h)",
        good_cells_per_h=rate.mean,
        line_yield=1.0 / per_good[0],
        processed_per_good_cell=tuple(per_good),
        good_cells_per_h_ci95=ci,
        oee=estimate([kpis.line_oee(r) for r in results]).mean,
        busy_shares=tuple(share(j, lambda s: s.busy_s + s.rework_s) for j in range(n)),
        working_shares=tuple(share(j, _working_s) for j in range(n)),
        shipped_defective_per_good_cell=sum(r.shipped_defective for r in results) / good
        if good
        else 0.0,
    )


def _working_s(s: StationRecord) -> float:
    """Machine-seconds of a station inside its working calendar."""
    return sum(getattr(s, name) for name in TIME_ACCOUNTS if name != "off_shift_s")
