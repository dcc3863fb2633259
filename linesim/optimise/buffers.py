"""Buffers as decisions of the simulation loop: where the simulation shows a station blocked
by a full buffer and the next one starved, a larger buffer between them – priced per cell
position by the config (``buffer_slot``: an accumulating conveyor's or a WIP rack's share per
cell [USD], and the floor it takes [m²]) – is a candidate beside the machines the loop would
add (:func:`linesim.optimise.closure.close_gap` simulates the cheaper one). This module holds
the buffer side of that loop: which buffer to try and at what size, what it costs against the
machines, whether a trial pays, and what the answer's buffers add to its capex or cost.

Where a buffer helps: station i is blocked when the buffer after it is full and station i + 1
is starved when it is empty; both waste capacity the static surrogate counts, and both fall as
the buffer grows (for two exponential stations μ₁ → B → μ₂ the throughput is
μ₂ (1 − π₀), π_n ∝ (μ₁/μ₂)ⁿ over n = 0 … B + 2, rising in B towards min(μ₁, μ₂)). A buffer
turns upstream blocked time into downstream working time only where both occur: a station
with capacity to spare is blocked most of the time whatever the buffer (measured on the 4 GWh
line: the powder lots blocked 44 %, and a doubled buffer after them bought nothing), so the
pair with the largest min(blocked_i, starved_(i+1)) share is the candidate; its size doubles,
starting from the cells one machine of the pair passes during its longest stop (a mean repair,
or one service: a repair takes one machine of k out, not the station).

A buffer is no decision of the CP-SAT model: the model counts each priced buffer as part of
its station (positions in its capex, their floor in its footprint: building, dry room, and the
floor and dry-room limits); the loop solves on the spec with the buffers it has kept, so every
later layout pays for them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from linesim.optimise.layout import evaluate_layout, layout_capex_usd
from linesim.optimise.model import Problem
from linesim.optimise.search import OptimiseResult
from linesim.spec import LineSpec
from linesim.spec.base import MAX_BUFFER_CELLS
from linesim.summary import RunSummary, summarise
from linesim.variants import apply_layout

__all__ = [
    "MIN_WASTED_SHARE",
    "BufferMove",
    "buffer_changes",
    "buffer_moves",
    "buffer_pays",
    "changed_buffers",
    "cheaper_buffer",
    "next_buffer_size",
    "paired_gain",
    "priced",
    "with_buffers",
]

#: a pair whose min(blocked, starved) share is below this wastes too little for a buffer to buy
MIN_WASTED_SHARE = 0.01


@dataclass(frozen=True)
class BufferMove:
    """A buffer after one station changed in size, and what it adds to capex."""

    station: str  #: the buffer after this station
    before: int  #: cells
    after: int  #: cells
    #: the positions added (or, negative, removed) with their floor (building, dry room) [USD]
    capex_usd: float
    wasted_share: float  #: min(blocked share of the station, starved share of the next) [-]

    def text(self) -> str:
        return f"{self.station} {self.before:,} → {self.after:,} ({_usd(self.capex_usd)})"


def _usd(amount: float) -> str:
    """A signed amount of money, readable: ``+60,000 USD``, ``−1.2 M USD``."""
    sign = "−" if amount < 0 else "+"
    x = abs(amount)
    return f"{sign}{x / 1e6:,.2f} M USD" if x >= 1e6 else f"{sign}{x:,.0f} USD"


def next_buffer_size(line: LineSpec, index: int) -> int:
    """The next size of the buffer after station ``index`` [cells]: max(2·B, B₀), B₀ =
    ⌈max_s c · t_s ÷ k_s⌉ over the pair's two stations s, with c the next station's static
    capacity [cells/h], t_s the longest of s's mean repair times and single services [h] and
    k_s its machines: the flow through one stop of either side, of which one machine of k_s
    is out (a repair stops one machine, not the station), at most ``MAX_BUFFER_CELLS``."""
    from linesim.rates import station_capacity_cells_per_h
    from linesim.simulation.draws import group_times

    downstream = station_capacity_cells_per_h(line.stations[index + 1], calendar=line.calendar)
    first = 1
    for station in line.stations[index : index + 2]:
        working = [e for e in station.equipment() if e.count]
        if not working:
            continue
        stop_s = max(max(t.mttr_s, t.mean_s) for t in (group_times(e) for e in working))
        machines = sum(e.count for e in working)
        first = max(first, math.ceil(downstream * stop_s / 3600.0 / machines))
    return min(MAX_BUFFER_CELLS, max(2 * line.stations[index].buffer_after, first))


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


def changed_buffers(spec: LineSpec, line: LineSpec) -> dict[str, int]:
    """The buffers [cells] of ``line`` that differ from those of ``spec``."""
    before = {s.id: s.buffer_after for s in spec.stations}
    return {s.id: s.buffer_after for s in line.stations if before.get(s.id) != s.buffer_after}


def buffer_changes(
    spec: LineSpec,
    layout: Mapping[str, Mapping[str, int]],
    settings: Mapping[str, Mapping[str, float]] | None,
    buffers: Mapping[str, int] | None,
) -> tuple[dict[str, Any], ...]:
    """Each of ``buffers`` [cells] on ``layout`` of ``spec``: station, from, to [cells] and
    what it adds to the layout's capex by the cost model [USD] (positions and their floor)."""
    if not buffers:
        return ()
    plain = apply_layout(spec, layout, settings=settings)
    base = layout_capex_usd(plain)
    return tuple(
        {
            "station": sid,
            "from": plain.stations[plain.station_index(sid)].buffer_after,
            "to": size,
            "capex_usd": layout_capex_usd(with_buffers(plain, {sid: size})) - base,
        }
        for sid, size in buffers.items()
    )


def priced(
    spec: LineSpec,
    line: LineSpec,
    result: OptimiseResult,
    objective: str,
    solved_with: Mapping[str, int],
) -> tuple[float, float | None]:
    """Capex [USD] and the surrogate's objective of ``result``'s layout simulated as
    ``line``, when the solver chose it on ``spec`` with the buffers ``solved_with``
    [cells] (whose capex its objective holds). The capex is the cost model's of ``line``;
    the objective moves by what ``line``'s buffers add against those: their capex
    (min-capex), or the annual cost they add by the cost model (min-cost: depreciation,
    the capital charge and the overheads on it, the dry room's power), at the layout's
    static output – the buffers change no static capacity, so materials and labour cancel."""
    capex = layout_capex_usd(line)
    value = result.objective_value
    solved = apply_layout(spec, result.layout or {}, solved_with, settings=result.settings)
    if value is None or not changed_buffers(solved, line):
        return capex, value
    if objective == "min_cost":
        from linesim.economics.basis import static_basis
        from linesim.economics.cost import annual_cost

        basis = static_basis(solved)
        return capex, value + annual_cost(line, basis).total - annual_cost(solved, basis).total
    return capex, value + capex - layout_capex_usd(solved)


def cheaper_buffer(
    problem: Problem,
    line: LineSpec,
    results: Sequence[Any],
    machine: OptimiseResult,
    buffers: Mapping[str, int],
    capex_usd: float,
) -> tuple[BufferMove, float] | None:
    """The most wasted priced buffer of the simulated ``line`` (capex ``capex_usd`` [USD])
    whose enlargement costs less than the machine step (``machine``'s layout with the
    ``buffers`` in force, less ``capex_usd``; infinite when the surrogate has none) and keeps
    the problem's budget and its floor and dry-room limits (machines and buffer positions,
    as the solver counts them), with the machine step's capex [USD]."""
    spec = problem.spec
    machine_usd = math.inf
    if machine.found and machine.layout is not None:
        with_machines = apply_layout(spec, machine.layout, buffers, settings=machine.settings)
        machine_usd = layout_capex_usd(with_machines) - capex_usd
    for move in buffer_moves(line, summarise(line, list(results))):
        if not move.capex_usd < machine_usd:
            continue
        if problem.budget_usd is not None and capex_usd + move.capex_usd > problem.budget_usd:
            continue
        figures = evaluate_layout(with_buffers(line, {move.station: move.after}))
        if problem.floor_area_m2 is not None and figures.floor_area_m2 > problem.floor_area_m2:
            continue
        dry = problem.dry_room_area_m2
        if dry is not None and figures.dry_room_area_m2 > dry:
            continue
        return move, machine_usd
    return None


def paired_gain(trial: Sequence[float], base: Sequence[float]) -> float:
    """The output a buffer change gained over the layout it changes [GWh/yr], as the 90 %
    lower confidence limit of the mean paired difference over the replications both ran
    (replication k of both draws the same random numbers, so the pairs differ by the buffer
    and little noise); 0 with fewer than two pairs."""
    from scipy import stats

    n = min(len(trial), len(base))
    if n < 2:
        return 0.0
    diff = np.asarray(trial[:n]) - np.asarray(base[:n])
    sd = float(np.std(diff, ddof=1))
    return float(np.mean(diff)) - float(stats.t.ppf(0.9, n - 1)) * sd / math.sqrt(n)


def buffer_pays(
    gain: float,
    move: BufferMove,
    machine: OptimiseResult,
    machine_usd: float,
    base_gwh: float,
    base_static_gwh: float,
    shortfall_gwh: float,
) -> bool:
    """Keep a buffer trial that was not accepted when its output ``gain`` [GWh/yr] (the
    90 % lower limit of the paired difference, :func:`paired_gain`) is positive and, per
    USD, at least the machine step's expected gain – that layout's static output at the
    share r = ``base_gwh`` ÷ ``base_static_gwh`` the base layout delivered, less the base's
    mean ``base_gwh`` – with each gain counted up to ``shortfall_gwh`` only (what the base's
    acceptance statistic lacks of the target: output beyond it buys nothing):
    min(gain, s) ÷ buffer USD ≥ min(expected, s) ÷ machine USD."""
    if gain <= 0:
        return False
    if not machine.found or machine.predicted is None or not math.isfinite(machine_usd):
        return True
    share = base_gwh / base_static_gwh
    expected = share * machine.predicted.output_gwh_per_year - base_gwh
    need = max(shortfall_gwh, 0.0)
    return min(gain, need) * machine_usd >= min(expected, need) * move.capex_usd
