"""Machine rates in cells per hour, one function per station kind, and availability."""

from __future__ import annotations

from typing import Any

from linesim.spec import Equipment, Station

__all__ = [
    "availability",
    "continuous_rate_cells_per_h",
    "sheet_rate_cells_per_h",
    "discrete_rate_cells_per_h",
    "batch_rate_cells_per_h",
    "machine_rate_cells_per_h",
    "station_capacity_cells_per_h",
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


def station_capacity_cells_per_h(station: Station, *, with_availability: bool = True) -> float:
    """Σ over equipment options of machines × rate × availability [cells/h]."""
    total = 0.0
    for eq in station.equipment():
        a = availability(eq.mtbf_h, eq.mttr_h) if with_availability else 1.0
        total += eq.count * machine_rate_cells_per_h(eq) * a
    return total
