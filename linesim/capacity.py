"""Static capacity analysis: what a planner computes before any simulation.

All rates are in cells per (calendar) hour. The analysis is the surrogate the optimiser uses:

- capacity of a station = Σ_options machines × effective rate: the nameplate rate after the
  line's losses — the planned share of calendar time (working pattern less planned
  maintenance) ÷ the working time per cell (processing with its minor stops and repairs, plus
  its share of changeovers and rework): :func:`linesim.rates.effective_rate_cells_per_h`;
- starts a station must handle per good cell = 1 ÷ ∏ (1 − p_i) over the defect sources whose
  detection point is at or after the station (with detection at the source this is the usual
  1 ÷ ∏_{i ≥ j} (1 − p_i)), and over the start-up scrap shares of the stations at or after it;
- maximum good output = min_j capacity_j ÷ starts_j, reached at the static bottleneck;
- static line OEE = maximum good output ÷ (the nameplate bottleneck's rate × its planned
  share): the OEE the line reaches when no station ever waits for another (an upper bound of
  the simulated one, which adds idling).

Quality effects of rework and escapes on the good output (cells saved, cells shipped
defective) are left to simulation; their machine time is in the capacities.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from linesim.rates import (
    availability,
    batch_rate_cells_per_h,
    continuous_rate_cells_per_h,
    discrete_rate_cells_per_h,
    machine_rate_cells_per_h,
    planned_share,
    sheet_rate_cells_per_h,
    station_capacity_cells_per_h,
)
from linesim.spec import LineSpec, Station
from linesim.yield_model import line_yield, station_defect_probabilities

__all__ = [
    "availability",
    "continuous_rate_cells_per_h",
    "sheet_rate_cells_per_h",
    "discrete_rate_cells_per_h",
    "batch_rate_cells_per_h",
    "machine_rate_cells_per_h",
    "station_capacity_cells_per_h",
    "starts_per_good_cell",
    "due_probabilities",
    "startup_scrap_shares",
    "StationCapacity",
    "CapacityReport",
    "capacity_report",
    "gwh_per_year",
    "cells_per_h_for_gwh",
    "raw_flow_time_h",
    "suggested_warmup_h",
]


def option_scrap_shares(station: Station) -> dict[str, float]:
    """Start-up scrap cells ÷ cells between changeovers of each equipment option of
    ``station`` (empty without changeovers)."""
    co = station.changeover
    if co is None:
        return {}
    out = {}
    for eq in station.equipment():
        per_m = (
            eq.web_width_m / eq.area_per_cell_m2 if eq.web_width_m and eq.area_per_cell_m2 else None
        )
        every, scrap = co.cells(per_m)
        out[eq.name] = scrap / every
    return out


def startup_scrap_shares(spec: LineSpec) -> list[float]:
    """Share of the cells each station processes that are start-up scrap after changeovers
    (:func:`option_scrap_shares`, machine-weighted over equipment options)."""
    out = []
    for station in spec.stations:
        shares = option_scrap_shares(station)
        counts = sum(eq.count for eq in station.equipment())
        if not shares or not counts:
            out.append(0.0)
            continue
        out.append(sum(eq.count * shares[eq.name] for eq in station.equipment()) / counts)
    return out


def due_probabilities(spec: LineSpec, p: list[float] | None = None) -> list[float]:
    """Per station, the share of the cells reaching it that carry a defect found there:
    1 − ∏_{i : d_i = j} (1 − p_i) (the load of its inspection and rework)."""
    probs = station_defect_probabilities(spec) if p is None else list(p)
    detect = spec.detection_index()
    return [
        1.0 - math.prod(1.0 - probs[i] for i in range(len(probs)) if detect[i] == j)
        for j in range(len(spec.stations))
    ]


def starts_per_good_cell(
    spec: LineSpec, p: list[float] | None = None, *, scrap: bool = True
) -> list[float]:
    """Cells each station must process per good cell out of the line.

    A cell reaches station j unless a defect made at i was detected at d_i < j, or it was
    start-up scrap at a station before j, so the flow into j per good cell is
    1 ÷ [∏_{i : d_i ≥ j} (1 − p_i) × ∏_{i ≥ j} (1 − s_i)]. ``p`` overrides the per-station
    defect probabilities (default: the rate-weighted ones of the spec); ``scrap=False``
    leaves out start-up scrap. Infinite where some p_i = 1.
    """
    probs = station_defect_probabilities(spec) if p is None else list(p)
    shares = startup_scrap_shares(spec) if scrap else [0.0] * len(spec.stations)
    detect = spec.detection_index()
    out = []
    for j in range(len(spec.stations)):
        surviving = math.prod(1.0 - probs[i] for i in range(len(probs)) if detect[i] >= j)
        surviving *= math.prod(1.0 - s for s in shares[j:])
        out.append(math.inf if surviving <= 0.0 else 1.0 / surviving)
    return out


def gwh_per_year(cells_per_h: float, energy_kwh: float, hours_per_year: float) -> float:
    """Annual energy of good cells: cells/h × hours/yr × kWh/cell ÷ 10⁶ [GWh/yr]."""
    return cells_per_h * hours_per_year * energy_kwh / 1e6


def cells_per_h_for_gwh(gwh: float, energy_kwh: float, hours_per_year: float) -> float:
    """Good cells per hour needed for ``gwh`` GWh/yr (inverse of :func:`gwh_per_year`)."""
    return gwh * 1e6 / (hours_per_year * energy_kwh)


@dataclass(frozen=True)
class StationCapacity:
    """Static figures for one station (rates in cells/h)."""

    id: str
    machines: int
    defect_probability: float  #: rate-weighted over equipment options
    rate_per_machine_cells_per_h: float  #: machine-weighted nameplate rate
    availability: float  #: capacity ÷ nameplate: breakdowns and every other loss, per calendar hour
    capacity_cells_per_h: float
    starts_per_good_cell: float
    max_good_cells_per_h: float  #: capacity ÷ starts per good cell
    utilisation_at_target: float | None


@dataclass(frozen=True)
class CapacityReport:
    """The static analysis of a whole line."""

    line: str
    stations: tuple[StationCapacity, ...]
    bottleneck: str
    max_good_cells_per_h: float
    max_output_gwh_per_year: float
    line_yield: float
    target_gwh_per_year: float | None
    target_good_cells_per_h: float | None
    nameplate_bottleneck: str = ""  #: the lowest nameplate capacity in its working time
    static_oee: float = math.nan  #: max good output ÷ (its nameplate × planned share)

    def to_dict(self) -> dict:
        """Plain data for JSON output."""
        return asdict(self)


def capacity_report(spec: LineSpec, target_gwh_per_year: float | None = None) -> CapacityReport:
    """Static capacity analysis of ``spec``, optionally at a target output [GWh/yr]."""
    probs = station_defect_probabilities(spec)
    starts = starts_per_good_cell(spec, probs)
    hours, kwh = spec.calendar.year_hours, spec.product.energy_kwh
    target_cells = (
        cells_per_h_for_gwh(target_gwh_per_year, kwh, hours)
        if target_gwh_per_year is not None
        else None
    )
    due = due_probabilities(spec, probs)
    rows = []
    for station, s, p, q in zip(spec.stations, starts, probs, due):
        nameplate = station_capacity_cells_per_h(station, with_availability=False)
        cap = station_capacity_cells_per_h(station, calendar=spec.calendar, due_probability=q)
        n = station.machine_count
        max_good = cap / s if math.isfinite(s) else 0.0
        util = (target_cells * s / cap) if target_cells is not None and cap > 0 else None
        rows.append(
            StationCapacity(
                id=station.id,
                machines=n,
                defect_probability=p,
                rate_per_machine_cells_per_h=nameplate / n,
                availability=cap / nameplate if nameplate > 0 else 1.0,
                capacity_cells_per_h=cap,
                starts_per_good_cell=s,
                max_good_cells_per_h=max_good,
                utilisation_at_target=util,
            )
        )
    neck = min(rows, key=lambda r: r.max_good_cells_per_h)
    shares = [s.working_pattern(spec.calendar).working_share for s in spec.stations]
    k = min(
        range(len(rows)),
        key=lambda j: rows[j].rate_per_machine_cells_per_h * rows[j].machines * shares[j],
    )
    ideal = rows[k].rate_per_machine_cells_per_h * rows[k].machines
    planned = ideal * planned_share(spec.stations[k], spec.calendar)
    return CapacityReport(
        line=spec.name,
        stations=tuple(rows),
        bottleneck=neck.id,
        max_good_cells_per_h=neck.max_good_cells_per_h,
        max_output_gwh_per_year=gwh_per_year(neck.max_good_cells_per_h, kwh, hours),
        line_yield=line_yield(spec),
        target_gwh_per_year=target_gwh_per_year,
        target_good_cells_per_h=target_cells,
        nameplate_bottleneck=rows[k].id,
        static_oee=neck.max_good_cells_per_h / planned if planned > 0 else math.nan,
    )


def raw_flow_time_h(spec: LineSpec) -> float:
    """A cell's time through the line with full buffers and no other waiting [h].

    Σ_j (time per unit at j + batch filling time at j + buffer_after_j ÷ capacity_{j+1}),
    with the batch filling time = batch size ÷ capacity of the station before. It is the
    scale of the line's transient, used to choose a warm-up. Infinite where a station the
    line waits on has no static capacity (its planned maintenance takes its working time).
    """
    total = 0.0
    caps = [station_capacity_cells_per_h(s, calendar=spec.calendar) for s in spec.stations]
    for j, station in enumerate(spec.stations):
        eqs = [e for e in station.equipment() if e.count > 0]
        unit = max((e.batch_size or 1) / machine_rate_cells_per_h(e) for e in eqs)
        total += unit
        if station.kind == "batch" and j > 0:
            total += _hours_to_pass(max(e.batch_size or 1 for e in eqs), caps[j - 1])
        if j + 1 < len(spec.stations):
            total += _hours_to_pass(station.buffer_after, caps[j + 1])
    return total


def _hours_to_pass(cells: float, capacity_cells_per_h: float) -> float:
    """Hours for ``cells`` to pass a station of the given capacity (inf at none; 0 cells: 0)."""
    if cells == 0:
        return 0.0
    return cells / capacity_cells_per_h if capacity_cells_per_h > 0 else math.inf


def suggested_warmup_h(spec: LineSpec) -> float:
    """Warm-up long enough for the line to fill: max(48 h, 1.5 × raw flow time) [h]."""
    return max(48.0, 1.5 * raw_flow_time_h(spec))
