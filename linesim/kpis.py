"""Key performance indicators, one function each, computed after a run from what it recorded.

Fractions of a station are shares of its machine-time in the observation window
(machines × window): the time accounts of :data:`~linesim.simulation.records.TIME_ACCOUNTS`
add up to 1 for every station.

OEE the way plants report it (:func:`station_losses`, :func:`line_losses`): calendar time
less planned downtime (off shift, planned maintenance) is the planned production time; OEE =
availability × performance × quality of it, with the six big losses — breakdowns and setups
(availability), minor stops, idling (starved or blocked) and speed (performance), rework,
start-up scrap and defects (quality). Each loss is reported in hours and in cells at the
ideal rate, and losses and good output add up exactly to the calendar time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from linesim.capacity import gwh_per_year
from linesim.simulation.records import SimResult, StationRecord

__all__ = [
    "replication_kpis",
    "good_cells_per_h",
    "started_cells_per_h",
    "output_gwh_per_year",
    "simulated_line_yield",
    "yield_attribution",
    "good_per_started",
    "defect_rate",
    "utilisation",
    "blocked_fraction",
    "starved_fraction",
    "down_fraction",
    "active_fraction",
    "station_oee",
    "line_oee",
    "LOSSES",
    "LOSS_GROUPS",
    "Losses",
    "station_losses",
    "line_losses",
    "mean_wip_cells",
    "mean_lead_time_h",
    "bottleneck",
    "bottleneck_shares",
]


def _machine_s(r: SimResult, s: StationRecord) -> float:
    return s.machines * r.horizon_s


def good_cells_per_h(r: SimResult) -> float:
    """Good cells out of the line per hour in the window [cells/h]."""
    return r.good / (r.horizon_s / 3600.0)


def started_cells_per_h(r: SimResult) -> float:
    """Cells started at the first station per hour in the window [cells/h]."""
    return r.started / (r.horizon_s / 3600.0)


def output_gwh_per_year(r: SimResult) -> float:
    """Good output as annual energy: cells/h × hours/yr × kWh/cell ÷ 10⁶ [GWh/yr]."""
    return gwh_per_year(good_cells_per_h(r), r.energy_kwh, r.hours_per_year)


def simulated_line_yield(r: SimResult) -> float:
    """Simulated line yield: good out ÷ started, per cohort.

    Estimated by the chain rule, Y = ∏_j (1 − scrapped_j ÷ processed_j): the probability that a
    started cell is never scrapped. Unlike the raw ratio of window counts
    (:func:`good_per_started`) it is not biased by WIP rising or falling during the window.
    NaN when no station processed a cell in the window: nothing was measured.
    """
    if not any(s.processed for s in r.stations):
        return math.nan
    y = 1.0
    for s in r.stations:
        if s.processed:
            y *= 1.0 - s.scrapped_here / s.processed
    return y


def yield_attribution(r: SimResult, analytic: float) -> dict[str, float]:
    """Why the simulated yield differs from the analytic ∏(1 − p_i): an exact split of
    Y_sim − Y_analytic into parts that add up to it.

    With, per station j and as shares of the cells it processed, d_j the cells made defective
    there, x_j those made defective by dry-room exposure (beyond the station's p₀), s_j its
    start-up scrap and f_j the defects due there (found there: scrapped, repaired by rework, or
    escaped):

    - ``sampling`` = ∏(1 − (d_j − x_j)) − Y_analytic: the draws at the stations' own p
      (binomial noise; zero on average);
    - ``exposure`` = ∏(1 − d_j) − ∏(1 − (d_j − x_j)): cells lost to waiting in the dry room;
    - ``detection_delay`` = ∏(1 − f_j) − ∏(1 − d_j): defects made in the window but due at
      their detection station later (or earlier), and defective cells drawn again downstream;
    - ``startup_scrap`` = ∏(1 − f_j − s_j) − ∏(1 − f_j): cells scrapped after changeovers;
    - ``inspection`` = Y_sim − ∏(1 − f_j − s_j): defective cells saved by rework, or shipped
      because inspection missed them (they leave the line, though not good).

    Every part is NaN when no station processed a cell (Y_sim is not defined).
    """
    if not any(s.processed for s in r.stations):
        return dict.fromkeys(
            ("sampling", "exposure", "detection_delay", "startup_scrap", "inspection"), math.nan
        )
    made = base = due = due_scrap = 1.0
    for s in r.stations:
        if s.processed:
            found = s.scrapped_here - s.startup_scrap_cells + s.repaired_cells + s.escaped_cells
            made *= 1.0 - s.defects_made / s.processed
            base *= 1.0 - (s.defects_made - s.exposure_defects) / s.processed
            due *= 1.0 - found / s.processed
            due_scrap *= 1.0 - (found + s.startup_scrap_cells) / s.processed
    return {
        "sampling": base - analytic,
        "exposure": made - base,
        "detection_delay": due - made,
        "startup_scrap": due_scrap - due,
        "inspection": simulated_line_yield(r) - due_scrap,
    }


def good_per_started(r: SimResult) -> float:
    """Raw ratio of good cells out to cells started in the window (WIP changes bias it)."""
    return r.good / r.started if r.started else math.nan


def defect_rate(s: StationRecord) -> float:
    """Cells made defective at the station ÷ cells processed there."""
    return s.defects_made / s.processed if s.processed else math.nan


def utilisation(r: SimResult, s: StationRecord) -> float:
    """Share of machine-time spent processing (excluding repairs)."""
    return s.busy_s / _machine_s(r, s)


def blocked_fraction(r: SimResult, s: StationRecord) -> float:
    """Share of machine-time holding a finished cell with no space downstream."""
    return s.blocked_s / _machine_s(r, s)


def starved_fraction(r: SimResult, s: StationRecord) -> float:
    """Share of machine-time waiting for a cell (or for a batch to fill)."""
    return s.starved_s / _machine_s(r, s)


def down_fraction(r: SimResult, s: StationRecord) -> float:
    """Share of machine-time under repair."""
    return s.down_s / _machine_s(r, s)


def active_fraction(r: SimResult, s: StationRecord) -> float:
    """Share of a station's working machine-time it is active — processing, under repair, in
    a setup, a minor stop, planned maintenance or rework: anything but waiting, blocked or
    starved (the active-period method: the station least often waiting holds the line back).
    Time off shift is neither: a station working two shifts and never waiting in them is as
    active as one working round the clock and never waiting."""
    working = _machine_s(r, s) - s.off_shift_s
    if working <= 0.0:
        return 0.0
    return (working - s.blocked_s - s.starved_s) / working


#: The loss tree's categories, in waterfall order from calendar time to good output.
LOSSES: tuple[str, ...] = (
    "off_shift",
    "planned_maintenance",
    "breakdowns",
    "setups",
    "minor_stops",
    "idle",
    "speed",
    "rework",
    "startup_scrap",
    "defects",
    "shipped_defective",
)
#: Which OEE factor each loss lowers ("planned": planned downtime, outside OEE).
LOSS_GROUPS: dict[str, str] = {
    "off_shift": "planned",
    "planned_maintenance": "planned",
    "breakdowns": "availability",
    "setups": "availability",
    "minor_stops": "performance",
    "idle": "performance",
    "speed": "performance",
    "rework": "quality",
    "startup_scrap": "quality",
    "defects": "quality",
    "shipped_defective": "quality",
}


class Losses:
    """A loss tree in hours: ``calendar_h`` = Σ losses + ``good_h``; ``rate_cells_per_h``
    (the ideal rate) converts hours to cells."""

    __slots__ = ("station", "calendar_h", "hours", "good_h", "rate_cells_per_h")

    def __init__(
        self, station: str, calendar_h: float, hours: dict[str, float], good_h: float, rate: float
    ):
        self.station = station  #: whose hours these are (the line's: its nameplate bottleneck)
        self.calendar_h = calendar_h
        self.hours = hours
        self.good_h = good_h
        self.rate_cells_per_h = rate

    def _sum(self, group: str) -> float:
        return sum(h for k, h in self.hours.items() if LOSS_GROUPS[k] == group)

    @property
    def planned_production_h(self) -> float:
        return self.calendar_h - self._sum("planned")

    @property
    def availability(self) -> float:
        planned = self.planned_production_h
        return (planned - self._sum("availability")) / planned if planned > 0 else math.nan

    @property
    def performance(self) -> float:
        run = self.planned_production_h - self._sum("availability")
        return (run - self._sum("performance")) / run if run > 0 else math.nan

    @property
    def quality(self) -> float:
        net = self.good_h + self._sum("quality")
        return self.good_h / net if net > 0 else math.nan

    @property
    def oee(self) -> float:
        planned = self.planned_production_h
        return self.good_h / planned if planned > 0 else math.nan

    def cells(self) -> dict[str, float]:
        """The losses in cells at the ideal rate."""
        return {k: h * self.rate_cells_per_h for k, h in self.hours.items()}


def station_losses(r: SimResult, s: StationRecord) -> Losses:
    """The station's loss tree in machine-hours (ideal time per cell: 1 ÷ nameplate rate).

    Speed loss is the processing time beyond the ideal time of the cells processed (negative
    when random process times ran short); defects are the cells made defective here; rework
    and start-up scrap as recorded.
    """
    ideal = s.nominal_s_per_cell
    good = s.processed - s.startup_scrap_cells - s.defects_made
    hours = {
        "off_shift": s.off_shift_s,
        "planned_maintenance": s.maintenance_s,
        "breakdowns": s.down_s,
        "setups": s.setup_s,
        "minor_stops": s.minor_stop_s,
        "idle": s.starved_s + s.blocked_s,
        "speed": s.busy_s - s.processed * ideal,
        "rework": s.rework_s,
        "startup_scrap": s.startup_scrap_cells * ideal,
        "defects": s.defects_made * ideal,
        "shipped_defective": 0.0,
    }
    return Losses(
        s.id,
        _machine_s(r, s) / 3600.0,
        {k: v / 3600.0 for k, v in hours.items()},
        good * ideal / 3600.0,
        3600.0 / ideal,
    )


def _nameplate_bottleneck(r: SimResult) -> StationRecord:
    """The station with the lowest nameplate output in its working time: machines ÷ ideal time
    per cell × the share of the window it works (a continuous aging store after a line that
    works two shifts is not the line's reference: the shift stations are)."""

    def working(s: StationRecord) -> float:
        return 1.0 - s.off_shift_s / _machine_s(r, s)

    return min(r.stations, key=lambda s: s.machines / s.nominal_s_per_cell * working(s))


def line_losses(r: SimResult) -> Losses:
    """The line's loss tree in hours of its nameplate bottleneck (the station whose nameplate
    rate in its working time is the lowest: it sets the line's ideal output): its time losses
    per machine, then the quality losses of the cells it
    processed that did not leave the line good — start-up scrap and shipped-defective cells
    after it, and defects (everything else: cells scrapped after it, and the change in work in
    process between it and the end of the line)."""
    b = _nameplate_bottleneck(r)
    k = next(j for j, s in enumerate(r.stations) if s is b)
    own = station_losses(r, b)
    per_cell_h = b.nominal_s_per_cell / b.machines / 3600.0  # line hours per cell
    hours = {key: h / b.machines for key, h in own.hours.items()}
    scrap = sum(s.startup_scrap_cells for s in r.stations[k:])
    lost = b.processed - r.good
    hours["startup_scrap"] = scrap * per_cell_h
    hours["shipped_defective"] = r.shipped_defective * per_cell_h
    hours["defects"] = (lost - scrap - r.shipped_defective) * per_cell_h
    return Losses(b.id, r.horizon_s / 3600.0, hours, r.good * per_cell_h, 1.0 / per_cell_h)


def station_oee(r: SimResult, s: StationRecord) -> float:
    """OEE = availability × performance × quality = good cells made × ideal time ÷ planned
    production time (machine-time less off-shift time and planned maintenance).

    Ideal time per cell is 1 ÷ nameplate rate; good cells made are those processed and not made
    defective or start-up scrap here.
    """
    return station_losses(r, s).oee


def line_oee(r: SimResult) -> float:
    """Line OEE: good cells out ÷ what the slowest station (at nameplate rate) could make in
    its planned production time (:func:`line_losses`)."""
    return line_losses(r).oee


def mean_wip_cells(r: SimResult) -> float:
    """Time-average cells in process (started, not yet good out or scrapped) [cells]."""
    return r.wip_cell_s / r.horizon_s


def mean_lead_time_h(r: SimResult) -> float:
    """Mean time from start to exit of the cells that left in the window [h]."""
    return r.lead_time_sum_s / r.exits / 3600.0 if r.exits else math.nan


def bottleneck(r: SimResult) -> str:
    """The station with the largest :func:`active_fraction` (least often waiting)."""
    return max(r.stations, key=lambda s: active_fraction(r, s)).id


def bottleneck_shares(results: Sequence[SimResult]) -> dict[str, float]:
    """How often each station is the bottleneck across replications (shares adding to 1)."""
    counts: dict[str, int] = {}
    for r in results:
        b = bottleneck(r)
        counts[b] = counts.get(b, 0) + 1
    return {k: v / len(results) for k, v in sorted(counts.items(), key=lambda kv: -kv[1])}


def replication_kpis(r: SimResult) -> dict:
    """The line KPIs of one replication as a flat mapping (a row of a sweep or of the store).

    The cell counts are the observation window's (after warm-up), under the names of a run's
    replication rows (:class:`linesim.summary.ReplicationCounts`): started = good +
    shipped_defective + scrapped + in_process_at_end − in_process_at_start.
    """
    return {
        "started": r.started,
        "good": r.good,
        "scrapped": r.scrapped,
        "shipped_defective": r.shipped_defective,
        "in_process_at_start": r.in_process_at_start,
        "in_process_at_end": r.in_process_at_end,
        "good_cells_per_h": good_cells_per_h(r),
        "output_gwh_per_year": output_gwh_per_year(r),
        "simulated_line_yield": simulated_line_yield(r),
        "line_oee": line_oee(r),
        "mean_wip_cells": mean_wip_cells(r),
        "mean_lead_time_h": mean_lead_time_h(r),
        "bottleneck": bottleneck(r),
    }
