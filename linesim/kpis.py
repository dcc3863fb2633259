"""Key performance indicators, one function each, computed after a run from what it recorded.

Fractions of a station are shares of its machine-time in the observation window
(machines × window): busy + down + blocked + starved = 1 for every station.
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
    """
    y = 1.0
    for s in r.stations:
        if s.processed:
            y *= 1.0 - s.scrapped_here / s.processed
    return y


def yield_attribution(r: SimResult, analytic: float) -> dict[str, float]:
    """Why the simulated yield differs from the analytic ∏(1 − p_i): an exact split of
    Y_sim − Y_analytic into three parts that add up to it.

    With d_j the share of cells made defective at station j and x_j the share made defective
    by dry-room exposure (beyond the station's p₀):

    - ``sampling`` = ∏(1 − (d_j − x_j)) − Y_analytic: the draws at the stations' own p
      (binomial noise; zero on average);
    - ``exposure`` = ∏(1 − d_j) − ∏(1 − (d_j − x_j)): cells lost to waiting in the dry room
      (zero without an exposure window);
    - ``detection_delay`` = Y_sim − ∏(1 − d_j): defects made in the window but scrapped
      later (or earlier) at their detection station, and defective cells drawn again downstream.

    The model has no rework loops, so rework contributes nothing.
    """
    made = base = 1.0
    for s in r.stations:
        if s.processed:
            made *= 1.0 - s.defects_made / s.processed
            base *= 1.0 - (s.defects_made - s.exposure_defects) / s.processed
    return {
        "sampling": base - analytic,
        "exposure": made - base,
        "detection_delay": simulated_line_yield(r) - made,
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
    """Share of machine-time neither blocked nor starved (processing or under repair)."""
    return (s.busy_s + s.down_s) / _machine_s(r, s)


def station_oee(r: SimResult, s: StationRecord) -> float:
    """OEE = availability × performance × quality = good cells made × ideal time ÷ machine-time.

    Ideal time per cell is 1 ÷ nameplate rate; good cells made are those processed and not made
    defective here.
    """
    return (s.processed - s.defects_made) * s.nominal_s_per_cell / _machine_s(r, s)


def line_oee(r: SimResult) -> float:
    """Line OEE: good cells out ÷ what the slowest station could make at nameplate rate."""
    nameplate = min(s.machines / s.nominal_s_per_cell for s in r.stations) * 3600.0
    return good_cells_per_h(r) / nameplate


def mean_wip_cells(r: SimResult) -> float:
    """Time-average cells in process (started, not yet good out or scrapped) [cells]."""
    return r.wip_cell_s / r.horizon_s


def mean_lead_time_h(r: SimResult) -> float:
    """Mean time from start to exit of the cells that left in the window [h]."""
    return r.lead_time_sum_s / r.exits / 3600.0 if r.exits else math.nan


def bottleneck(r: SimResult) -> str:
    """The station with the largest active fraction (busy + down)."""
    return max(r.stations, key=lambda s: active_fraction(r, s)).id


def bottleneck_shares(results: Sequence[SimResult]) -> dict[str, float]:
    """How often each station is the bottleneck across replications (shares adding to 1)."""
    counts: dict[str, int] = {}
    for r in results:
        b = bottleneck(r)
        counts[b] = counts.get(b, 0) + 1
    return {k: v / len(results) for k, v in sorted(counts.items(), key=lambda kv: -kv[1])}


def replication_kpis(r: SimResult) -> dict:
    """The line KPIs of one replication as a flat mapping (a row of a sweep or of the store)."""
    return {
        "started": r.started,
        "good": r.good,
        "scrapped": r.scrapped,
        "good_cells_per_h": good_cells_per_h(r),
        "output_gwh_per_year": output_gwh_per_year(r),
        "simulated_line_yield": simulated_line_yield(r),
        "line_oee": line_oee(r),
        "mean_wip_cells": mean_wip_cells(r),
        "mean_lead_time_h": mean_lead_time_h(r),
        "bottleneck": bottleneck(r),
    }
