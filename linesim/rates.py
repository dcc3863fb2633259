"""Machine rates in cells per hour, one function per station kind, availability, and the
effective rate after the losses of a real line (the static model of what the engines
simulate: :func:`effective_rate_cells_per_h`)."""

from __future__ import annotations

import math
from typing import Any

from linesim.spec import Equipment, Station
from linesim.spec.losses import Calendar, ShiftPattern

__all__ = [
    "availability",
    "continuous_rate_cells_per_h",
    "sheet_rate_cells_per_h",
    "discrete_rate_cells_per_h",
    "batch_rate_cells_per_h",
    "machine_rate_cells_per_h",
    "station_capacity_cells_per_h",
    "rework_s_per_cell",
    "time_per_cell_s",
    "planned_share",
    "effective_rate_cells_per_h",
]


def continuous_rate_cells_per_h(
    web_width_m: float, web_speed_m_per_min: float, area_per_cell_m2: float
) -> float:
    """Roll-to-roll rate: width [m] × speed [m/min] × 60 [min/h] ÷ area per cell [m²/cell].

    Returns cells/h.
    """
    return web_width_m * web_speed_m_per_min * 60.0 / area_per_cell_m2


def sheet_rate_cells_per_h(time_per_sheet_s: float, sheets_per_cell: float) -> float:
    """Sheet rate: 3600 [s/h] ÷ (time per sheet [s/sheet] × sheets per cell). Returns cells/h."""
    return 3600.0 / (time_per_sheet_s * sheets_per_cell)


def discrete_rate_cells_per_h(cycle_time_s: float) -> float:
    """Discrete rate: 3600 [s/h] ÷ cycle time [s/cell]. Returns cells/h."""
    return 3600.0 / cycle_time_s


def batch_rate_cells_per_h(batch_size: int, cycle_time_s: float) -> float:
    """Batch rate: batch size [cells] × 3600 [s/h] ÷ cycle time [s/batch]. Returns cells/h."""
    return batch_size * 3600.0 / cycle_time_s


def availability(mtbf_h: float | None, mttr_h: float | None) -> float:
    """Inherent availability A = MTBF ÷ (MTBF + MTTR); 1 where no breakdowns are given."""
    if mtbf_h is None or mttr_h is None:
        return 1.0
    return mtbf_h / (mtbf_h + mttr_h)


def machine_rate_cells_per_h(eq: Equipment) -> float:
    """Nameplate rate of one machine of an equipment group [cells/h], before availability."""
    if eq.kind == "continuous":
        return continuous_rate_cells_per_h(
            _given(eq, "web_width_m"),
            _given(eq, "web_speed_m_per_min"),
            _given(eq, "area_per_cell_m2"),
        )
    if eq.kind == "sheet":
        return sheet_rate_cells_per_h(_given(eq, "time_per_sheet_s"), _given(eq, "sheets_per_cell"))
    if eq.kind == "discrete":
        return discrete_rate_cells_per_h(_given(eq, "cycle_time_s"))
    return batch_rate_cells_per_h(_given(eq, "batch_size"), _given(eq, "cycle_time_s"))


def _given(eq: Equipment, field: str) -> Any:
    """A capacity field of ``eq``'s kind: the spec requires it (``KIND_FIELDS``), so None here
    is a spec built around validation."""
    value = getattr(eq, field)
    if value is None:
        raise ValueError(f"{field}: missing on a {eq.kind} station; allowed: a validated spec")
    return value


def station_capacity_cells_per_h(
    station: Station,
    *,
    with_availability: bool = True,
    calendar: Calendar | None = None,
    due_probability: float = 0.0,
) -> float:
    """Σ over equipment options of machines × rate × availability [cells/h].

    With ``calendar`` (the line's) the rate is per calendar hour after every loss of the
    station (:func:`effective_rate_cells_per_h`, with ``due_probability`` the share of the
    cells it processes that carry a defect found there); without, only breakdowns count.
    """
    total = 0.0
    for eq in station.equipment():
        if calendar is not None:
            rate = effective_rate_cells_per_h(station, eq, calendar, due_probability)
        else:
            a = availability(eq.mtbf_h, eq.mttr_h) if with_availability else 1.0
            rate = machine_rate_cells_per_h(eq) * a
        total += eq.count * rate
    return total


def rework_s_per_cell(station: Station, due_probability: float, own_p: float) -> float:
    """Expected rework time per cell processed at ``station`` [s].

    A share q (``due_probability``) of its cells carry a defect found here; inspection finds
    it with η (``detection_efficiency``) and reworks a share f; a reworked cell is defective
    again with p₀ (``own_p``), found with η, reworked with f, up to ``max_attempts``:
    attempts = q η Σ_{k=1..a} f^k (p₀ η)^{k−1}.
    """
    rw = station.rework
    if rw is None:
        return 0.0
    eta = station.detection_efficiency
    chain, attempts = due_probability * eta, 0.0
    for _ in range(rw.max_attempts):
        chain *= rw.fraction
        attempts += chain
        chain *= own_p * eta
    return attempts * rw.time_s


def time_per_cell_s(station: Station, eq: Equipment, due_probability: float = 0.0) -> float:
    """Working seconds one machine spends per cell processed: its processing time, plus the
    minor stops and repairs that come with it (both clocks run on processing time), plus its
    share of changeovers and rework."""
    t = 3600.0 / machine_rate_cells_per_h(eq)
    stops = eq.mttr_h / eq.mtbf_h if eq.mtbf_h and eq.mttr_h else 0.0
    if station.minor_stops is not None:
        stops += station.minor_stops.mean_duration_s / station.minor_stops.mean_between_s
    per_cell = t * (1.0 + stops)
    co = station.changeover
    if co is not None and co.duration_s > 0:
        per_m = (
            eq.web_width_m / eq.area_per_cell_m2 if eq.web_width_m and eq.area_per_cell_m2 else None
        )
        every, _ = co.cells(per_m)
        unit = eq.batch_size if eq.kind == "batch" and eq.batch_size else 1
        per_cell += co.duration_s / (math.ceil(every / unit) * unit)  # changes fall between batches
    return per_cell + rework_s_per_cell(station, due_probability, eq.defect_probability)


def planned_share(station: Station, calendar: Calendar) -> float:
    """Share of calendar time the station's machines are planned to produce: its working
    share less planned maintenance (duration in working time every ``every_h`` of calendar)."""
    pattern: ShiftPattern = station.working_pattern(calendar)
    share = pattern.working_share
    pm = station.planned_maintenance
    if pm is not None:
        share -= pm.duration_h / pm.every_h
    return max(share, 0.0)


def effective_rate_cells_per_h(
    station: Station, eq: Equipment, calendar: Calendar, due_probability: float = 0.0
) -> float:
    """Cells one machine processes per calendar hour when it never waits for work: planned
    share of the hour ÷ working time per cell (:func:`time_per_cell_s`)."""
    return planned_share(station, calendar) * 3600.0 / time_per_cell_s(station, eq, due_probability)
