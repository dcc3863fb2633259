"""Buffers as decisions of the simulation loop: where the simulation shows a station blocked
by a full buffer and the next one starved, a larger buffer between them – priced per cell
position by the config (``buffer_slot``: an accumulating conveyor's or a WIP rack's share per
cell [USD], and the floor it takes [m²]) – is a candidate beside the machines the loop would
add (:func:`linesim.optimise.closure.close_gap` simulates the cheaper one).

Where a buffer helps: station i is blocked when the buffer after it is full and station i + 1
is starved when it is empty; both waste capacity the static surrogate counts, and both fall as
the buffer grows (for two exponential stations μ₁ → B → μ₂ the throughput is
μ₂ (1 − π₀), π_n ∝ (μ₁/μ₂)ⁿ over n = 0 … B + 2, rising in B towards min(μ₁, μ₂)). A buffer
turns upstream blocked time into downstream working time only where both occur: a station
with capacity to spare is blocked most of the time whatever the buffer (measured on the 4 GWh
line: the powder lots blocked 44 %, and a doubled buffer after them bought nothing), so the
pair with the largest min(blocked_i, starved_(i+1)) share is the candidate; its size doubles,
starting from the cells the pair passes during the longer of its stops (a mean repair, or one
service).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from linesim.optimise.layout import layout_capex_usd
from linesim.spec import LineSpec
from linesim.spec.base import MAX_BUFFER_CELLS
from linesim.summary import RunSummary
from linesim.variants import apply_layout

__all__ = [
    "MIN_WASTED_SHARE",
    "BufferMove",
    "buffer_footprint_m2",
    "buffer_moves",
    "next_buffer_size",
    "with_buffers",
]

#: a pair whose min(blocked, starved) share is below this wastes too little for a buffer to buy
MIN_WASTED_SHARE = 0.01


@dataclass(frozen=True)
class BufferMove:
    """A larger buffer after one station, and what it costs."""

    station: str  #: the buffer after this station
    before: int  #: cells
    after: int  #: cells
    capex_usd: float  #: the added positions with their floor (building, dry room) [USD]
    wasted_share: float  #: min(blocked share of the station, starved share of the next) [-]

    def text(self) -> str:
        return f"{self.station} {self.before:,} → {self.after:,} (+{self.capex_usd:,.0f} USD)"


def next_buffer_size(line: LineSpec, index: int) -> int:
    """The next size of the buffer after station ``index`` [cells]: max(2·B, B₀), B₀ =
    ⌈c · t⌉ with c the next station's static capacity [cells/h] and t the longest of the
    pair's mean repair times and single services [h] (a buffer that carries the flow through
    one stop of either side), at most ``MAX_BUFFER_CELLS``."""
    from linesim.rates import station_capacity_cells_per_h
    from linesim.simulation.draws import group_times

    pair = line.stations[index : index + 2]
    stop_s = max(
        max(t.mttr_s, t.mean_s)
        for s in pair
        for t in (group_times(e) for e in s.equipment() if e.count)
    )
    downstream = station_capacity_cells_per_h(line.stations[index + 1], calendar=line.calendar)
    first = max(1, math.ceil(downstream * stop_s / 3600.0))
    return min(MAX_BUFFER_CELLS, max(2 * line.stations[index].buffer_after, first))


def buffer_footprint_m2(line: LineSpec, dry_room: bool = False) -> float:
    """Σ buffer_after × floor per position over the priced buffers (only those after dry-room
    stations with ``dry_room``) [m²]."""
    total = 0.0
    for s in line.stations:
        slot = line.buffer_slot_of(s)
        if slot is not None and (s.dry_room or not dry_room):
            total += s.buffer_after * slot.footprint_m2
    return total


def buffer_moves(
    line: LineSpec, run: RunSummary, least_share: float = MIN_WASTED_SHARE
) -> list[BufferMove]:
    """The priced buffers of ``line`` worth enlarging by its simulation ``run``, the most
    wasted pair first: every station i (not the last) with a ``buffer_slot`` price, a buffer
    below the maximum, and min(blocked_i, starved_(i+1)) ≥ ``least_share`` of machine time."""
    stations = {s.id: s for s in run.stations}
    moves = []
    base = layout_capex_usd(line)
    for i, station in enumerate(line.stations[:-1]):
        if line.buffer_slot_of(station) is None or station.buffer_after >= MAX_BUFFER_CELLS:
            continue
        here, after = stations.get(station.id), stations.get(line.stations[i + 1].id)
        if here is None or after is None:
            continue
        wasted = min(here.blocked.mean, after.starved.mean)
        if wasted < least_share:
            continue
        size = next_buffer_size(line, i)
        bigger = with_buffers(line, {station.id: size})
        moves.append(
            BufferMove(
                station.id, station.buffer_after, size, layout_capex_usd(bigger) - base, wasted
            )
        )
    return sorted(moves, key=lambda m: -m.wasted_share)


def with_buffers(line: LineSpec, buffers: Mapping[str, int]) -> LineSpec:
    """``line`` with these buffers [cells] (validated again)."""
    return apply_layout(line, {}, buffers)
