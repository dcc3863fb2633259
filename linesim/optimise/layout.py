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
from linesim.spec import LineSpec
from linesim.variants import Layout, apply_layout

__all__ = [
    "Layout",
    "current_layout",
    "apply_layout",
    "LayoutFigures",
    "evaluate_layout",
    "layout_capex_usd",
]


def current_layout(spec: LineSpec) -> dict[str, dict[str, int]]:
    """The layout a config describes."""
    return {s.id: {e.name: e.count for e in s.equipment()} for s in spec.stations}


def layout_capex_usd(spec: LineSpec) -> float:
    """Capex the optimiser minimises: the cost model's total when the spec has a cost block
    (equipment + dry room + building + facility + priced buffers), else the equipment and
    the priced buffers alone [USD]."""
    from linesim.economics.cost import buffer_capex_usd, capex

    if spec.cost is not None:
        return capex(spec).total
    equipment = sum(e.count * e.capex_usd for s in spec.stations for e in s.equipment())
    return equipment + buffer_capex_usd(spec)


@dataclass(frozen=True)
class LayoutFigures:
    """What a layout makes by the static analysis (the optimiser's surrogate)."""

    output_gwh_per_year: float
    good_cells_per_h: float
    line_yield: float
    capex_usd: float
    bottleneck: str
    #: Σ machines × footprint + the priced buffers' positions × their floor (the area
    #: ``Problem.floor_area_m2`` limits)
    floor_area_m2: float
    #: the same over dry-room stations and the buffers after them
    dry_room_area_m2: float
    cost_usd_per_kwh: float | None  #: at the static capacity (None without a cost block)

    def to_dict(self) -> dict:
        return asdict(self)


def evaluate_layout(
    spec: LineSpec,
    layout: Layout | None = None,
    settings: Mapping[str, Mapping[str, float]] | None = None,
) -> LayoutFigures:
    """Output, yield, capex, areas and cost of ``layout`` (at process ``settings``) on ``spec``
    (or of ``spec`` itself)."""
    from linesim.economics.cost import buffer_footprint_m2

    line = apply_layout(spec, layout or {}, settings=settings) if layout or settings else spec
    report = capacity_report(line)
    cost = None
    if line.cost is not None and report.max_good_cells_per_h > 0:
        from linesim.economics.cost import cost_report

        cost = cost_report(line).total_usd_per_kwh
    return LayoutFigures(
        output_gwh_per_year=report.max_output_gwh_per_year,
        good_cells_per_h=report.max_good_cells_per_h,
        line_yield=report.line_yield,
        capex_usd=layout_capex_usd(line),
        bottleneck=report.bottleneck,
        floor_area_m2=sum(e.count * e.footprint_m2 for s in line.stations for e in s.equipment())
        + buffer_footprint_m2(line),
        dry_room_area_m2=sum(
            e.count * e.footprint_m2 for s in line.stations if s.dry_room for e in s.equipment()
        )
        + buffer_footprint_m2(line, dry_room=True),
        cost_usd_per_kwh=cost,
    )
