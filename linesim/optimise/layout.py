"""Layouts: machine counts per equipment option at each station, and what they make.

A layout is ``{station_id: {option_name: count}}`` (option ``default`` for a station without
options); an optional station whose counts are all zero is omitted. :func:`apply_layout` turns a
layout into a validated :class:`~linesim.spec.LineSpec`; :func:`evaluate_layout` measures it with
the static capacity analysis and the cost model – the same code the rest of linesim uses, so
the optimiser's answers can be checked against it independently of the CP-SAT model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from linesim.capacity import capacity_report
from linesim.config import (
    drop_materials_entering_at,
    editable,
    line_from_dict,
    with_settings,
)
from linesim.process import WINDOW_KINDS
from linesim.spec import DEFAULT_OPTION, LineSpec

__all__ = ["Layout", "current_layout", "apply_layout", "LayoutFigures", "evaluate_layout",
           "layout_capex_usd"]

Layout = Mapping[str, Mapping[str, int]]


def current_layout(spec: LineSpec) -> dict[str, dict[str, int]]:
    """The layout a config describes."""
    return {s.id: {e.name: e.count for e in s.equipment()} for s in spec.stations}


def apply_layout(spec: LineSpec, layout: Layout,
                 buffers: Mapping[str, int] | None = None,
                 settings: Mapping[str, Mapping[str, float]] | None = None) -> LineSpec:
    """``spec`` with the machine counts (and buffers, and process settings) of ``layout``,
    validated.

    Stations missing from ``layout`` keep their counts. An optional station with no machine is
    removed (with the materials entering there), and each station in its ``omission_effects``
    gets the extra independent defect probability δ: p → 1 − (1 − p)(1 − δ), per option.
    """
    if settings:
        spec = with_settings(spec, settings)
    raw = editable(spec)
    omitted = set()
    for station in raw["stations"]:
        counts = layout.get(station["id"])
        if counts is not None:
            if sum(counts.values()) == 0:
                omitted.add(station["id"])
            elif "options" in station:
                station["machines"] = {k: int(v) for k, v in counts.items()}
            else:
                station["machines"] = int(counts[DEFAULT_OPTION])
        if buffers and station["id"] in buffers:
            station["buffer_after"] = int(buffers[station["id"]])
    for sid in omitted:
        for target, delta in spec.stations[spec.station_index(sid)].omission_effects.items():
            _add_defect(raw["stations"][spec.station_index(target)], delta)
    raw["stations"] = [s for s in raw["stations"] if s["id"] not in omitted]
    drop_materials_entering_at(raw, omitted)
    return line_from_dict(raw, f"<layout of {spec.name}>")


def _add_defect(station: dict, delta: float) -> None:
    block = station.get("process")
    if block is not None and "defect_probability" in WINDOW_KINDS[block["model"]].DERIVES:
        # the window's p follows its settings: the extra δ goes into the window
        block["added_defect_probability"] = 1.0 - (1.0 - block.get(
            "added_defect_probability", 0.0)) * (1.0 - delta)
        return
    for holder in station.get("options") or [station]:
        p = holder.get("defect_probability", 0.0)
        holder["defect_probability"] = 1.0 - (1.0 - p) * (1.0 - delta)


def layout_capex_usd(spec: LineSpec) -> float:
    """Capex the optimiser minimises: the cost model's total when the spec has a cost block
    (equipment + dry room + building + facility), else the equipment alone [USD]."""
    if spec.cost is not None:
        from linesim.cost import capex

        return capex(spec).total
    return sum(e.count * e.capex_usd for s in spec.stations for e in s.equipment())


@dataclass(frozen=True)
class LayoutFigures:
    """What a layout makes by the static analysis (the optimiser's surrogate)."""

    output_gwh_per_year: float
    good_cells_per_h: float
    line_yield: float
    capex_usd: float
    bottleneck: str
    floor_area_m2: float  #: Σ machines × footprint
    dry_room_area_m2: float  #: the same over dry-room stations
    cost_usd_per_kwh: float | None  #: at the static capacity (None without a cost block)

    def to_dict(self) -> dict:
        return asdict(self)


def evaluate_layout(spec: LineSpec, layout: Layout | None = None,
                    settings: Mapping[str, Mapping[str, float]] | None = None) -> LayoutFigures:
    """Output, yield, capex, areas and cost of ``layout`` (at process ``settings``) on ``spec``
    (or of ``spec`` itself)."""
    line = apply_layout(spec, layout or {}, settings=settings) if layout or settings else spec
    report = capacity_report(line)
    cost = None
    if line.cost is not None and report.max_good_cells_per_h > 0:
        from linesim.cost import cost_report

        cost = cost_report(line).total_usd_per_kwh
    return LayoutFigures(
        output_gwh_per_year=report.max_output_gwh_per_year,
        good_cells_per_h=report.max_good_cells_per_h, line_yield=report.line_yield,
        capex_usd=layout_capex_usd(line), bottleneck=report.bottleneck,
        floor_area_m2=sum(e.count * e.footprint_m2 for s in line.stations
                          for e in s.equipment()),
        dry_room_area_m2=sum(e.count * e.footprint_m2 for s in line.stations if s.dry_room
                             for e in s.equipment()),
        cost_usd_per_kwh=cost,
    )
