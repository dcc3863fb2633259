"""What an exact one-event-per-visit engine could reach: a lean engine and a bound, per line.

Issue 18 asks the fast engine for ≥ 2 M cells per CPU-second on the bundled 4 GWh line, and for
a cost per station visit flat within 20 % from 1 to 300 machines a station. An engine that is
exact about per-cell service times (bit-identical to the SimPy engine, which is) handles at
least one timed event per service: its end, taken from a priority queue in time order. This
benchmark measures, per line, in one run:

- **a lean engine** (:class:`Floor`), written for speed and sharing no code with linesim's
  engines: the plain SimPy model's semantics (:mod:`plain_simpy`) compiled by numba —

  - one event per service and one per batch loader's ``max_wait`` deadline, nothing else, in
    two binary heaps (single-cell stations' machines; batch stations', whose events lie hours to
    days ahead) ordered as SimPy's queue: by time, then scheduling order; a pop and the push
    that follows it done as one pass (Floyd), the child chosen without a branch;
  - machines in flow order; a cell handed straight to a machine waiting for one, else into the
    buffer after its station, else the machine blocks (blocking after service) and its cells
    move into the buffer as places free; the first station never starves; batch machines load
    one at a time at a loading dock until full or ``max_wait_s`` after their first cell;
  - each service's time from its group's stream (the engines' four distributions, NumPy
    blocks), breakdowns on a per-machine operating-time clock (Exp MTBF apart, Exp MTTR
    repairs) folded into the service they fall in, a defect (one uniform a cell) scrapping the
    cell where it was made; no statistics but cells started, good, scrapped and in the line —

  so it does less per visit than linesim's engines must (no calendars, maintenance,
  changeovers, minor stops, rework, inspection escapes, exposure, time accounts, WIP integral,
  lead times or trace);
- **a bound** on any such engine: the lean engine's own NumPy draws (the numbers the model
  needs at the least: service times, defect uniforms, failure clocks) plus one heap turn (the
  top taken, an event pushed in its place: :func:`heap_cost`, timed apart at the run's mean
  heap length) per timed event of the run, and no other work at all. It counts the lean
  engine's events (fewer than linesim's, which also times losses) and prices every event at
  the smaller heap's turn, so it is generous;
- **the fast engine** on the same line and seeds, each run in a process of its own
  (:mod:`fast_child`), as ``bench_baselines.py`` times it.

``tests/test_baselines.py`` holds the lean engine to the model: on a deterministic line with
parallel machines, a hand-over, a batch with a loading wait and a blocking bottleneck it starts
and ships the engine's cells; on the 4 GWh line every cell it started is shipped, scrapped or
in the line, and it starts the plain SimPy model's cells per hour.

Usage (~4 min)::

    python benchmarks/event_floor.py --repeat 5
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numba
import numpy as np
from numba import njit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from linesim.rates import machine_rate_cells_per_h

BLOCK = 32_768  #: numbers per stream block
END, DEADLINE = 0, 1
FREE, STARVED, BUSY, BLOCKED, DOCK, LOADING = 0, 1, 2, 3, 4, 5
# machine_int columns
M_STATION, M_GROUP, M_STATE, M_HELD, M_VER = 0, 1, 2, 3, 4
# station_int columns
S_FIRST, S_COUNT, S_BATCH, S_CAP, S_BUF = 0, 1, 2, 3, 4
S_GHEAD, S_GLEN, S_PHEAD, S_PLEN, S_DHEAD, S_DLEN, S_LOADER = 5, 6, 7, 8, 9, 10, 11
S_W = 12
# counters
C_STARTED, C_GOOD, C_SCRAPPED, C_SEQ, C_HEAP, C_HEAP_B, C_LOW, C_VISITS, C_EVENTS, C_LOWAT = range(
    10
)
C_DONE = 10  #: the heap (C_HEAP or C_HEAP_B) whose top is the event being processed, or 0
C_HEAP_SUM = 11  #: the length of the heap each event came from, summed over events
# streams: row = group * 3 + purpose
P_SERVICE, P_DEFECT, P_FAILURE = 0, 1, 2


@njit(cache=True, _nrt=False)
def _hole_to_leaf(ht, hs, hm, hk, hv, n):
    """Move the free place at the root of a heap of ``n`` places down to a leaf, the earlier
    child moving up at each level (chosen without a branch: which child is earlier is a coin
    toss, and a mispredicted branch a level is most of a heap's cost). Returns the leaf."""
    j = 0
    while True:
        a = 2 * j + 1
        if a >= n:
            return j
        b = a + 1
        if b < n:
            a += np.int64((ht[b] < ht[a]) | ((ht[b] == ht[a]) & (hs[b] < hs[a])))
        ht[j], hs[j], hm[j], hk[j], hv[j] = ht[a], hs[a], hm[a], hk[a], hv[a]
        j = a


@njit(cache=True, _nrt=False)
def _sift_up(ht, hs, hm, hk, hv, j, t, seq, m, kind, ver):
    """Place the event at the free place ``j`` and move it up to where it belongs."""
    while j > 0:
        p = (j - 1) >> 1
        if ht[p] < t or (ht[p] == t and hs[p] < seq):
            break
        ht[j], hs[j], hm[j], hk[j], hv[j] = ht[p], hs[p], hm[p], hk[p], hv[p]
        j = p
    ht[j], hs[j], hm[j], hk[j], hv[j] = t, seq, m, kind, ver


@njit(cache=True, _nrt=False)
def _push(ht, hs, hm, hk, hv, cnt, h, t, m, kind, ver):
    """Insert an event (t, seq, m, kind, ver) into heap ``h`` (C_HEAP: single-cell stations'
    machines; C_HEAP_B: batch stations', whose events lie hours to days ahead); each heap is
    ordered by (time, seq), seq counted across both. While the heap's top is the event being
    processed (``C_DONE``), the new event takes its place: a pop and a push in one pass
    (Floyd: the root's hole down to a leaf, then the event up, usually a level or two)."""
    seq = cnt[C_SEQ]
    cnt[C_SEQ] = seq + 1
    if cnt[C_DONE] == h:
        cnt[C_DONE] = 0
        j = _hole_to_leaf(ht, hs, hm, hk, hv, cnt[h])
    else:
        j = cnt[h]
        cnt[h] = j + 1
    _sift_up(ht, hs, hm, hk, hv, j, t, seq, m, kind, ver)


@njit(cache=True, _nrt=False)
def _pop(ht, hs, hm, hk, hv, cnt, h):
    """Remove the top event of heap ``h`` (Floyd: the hole down to a leaf, the last event up)."""
    n = cnt[h] - 1
    cnt[h] = n
    if n > 0:
        j = _hole_to_leaf(ht, hs, hm, hk, hv, n)
        _sift_up(ht, hs, hm, hk, hv, j, ht[n], hs[n], hm[n], hk[n], hv[n])


@njit(cache=True, _nrt=False)
def _draw(draws, pos, cnt, row):
    j = pos[row]
    pos[row] = j + 1
    if j + 1 >= cnt[C_LOWAT]:  # low water: the caller tops the streams up before the next event
        cnt[C_LOW] = 1
    return draws[row, j]


@njit(cache=True, _nrt=False)
def _q_push(q, si, i, head, length, m):
    j = si[i, head] + si[i, length]  # no ``%``: a 64-bit division costs ~40 cycles
    if j >= si[i, S_COUNT]:
        j -= si[i, S_COUNT]
    si[i, length] += 1
    q[si[i, S_FIRST] + j] = m


@njit(cache=True, _nrt=False)
def _q_pop(q, si, i, head, length):
    m = q[si[i, S_FIRST] + si[i, head]]
    j = si[i, head] + 1
    si[i, head] = 0 if j == si[i, S_COUNT] else j
    si[i, length] -= 1
    return m


@njit(cache=True, _nrt=False)
def _start(world, m, now):
    """Machine m (holding its cells) starts a service: its end goes to its heap. ``world`` is
    the state a service needs: (si, mi, gf, draws, pos, ttf, heap, batch heap, counters)."""
    si, mi, gf, draws, pos, ttf, heap, batch_heap, cnt = world
    g = mi[m, M_GROUP]
    t = _draw(draws, pos, cnt, 3 * g + P_SERVICE) if gf[g, 0] < 0.0 else gf[g, 0]
    if gf[g, 1] > 0.0:  # breakdowns on operating time, repaired within the service
        left = t
        while ttf[m] <= left:
            left -= ttf[m]
            t += gf[g, 2] * _draw(draws, pos, cnt, 3 * g + P_FAILURE)
            ttf[m] = gf[g, 1] * _draw(draws, pos, cnt, 3 * g + P_FAILURE)
        ttf[m] -= left
    mi[m, M_STATE] = BUSY
    cnt[C_VISITS] += mi[m, M_HELD]
    if si[mi[m, M_STATION], S_BATCH] > 1:
        _push(*batch_heap, cnt, C_HEAP_B, now + t, m, END, 0)
    else:
        _push(*heap, cnt, C_HEAP, now + t, m, END, 0)


@njit(cache=True, _nrt=False)
def _let_go(si, mi, putters, stack, top, b):
    """The first machine blocked at station b passes one cell on; emptied, it is free and goes
    on the stack (returned: its new top)."""
    pm = putters[si[b, S_FIRST] + si[b, S_PHEAD]]
    mi[pm, M_HELD] -= 1
    if mi[pm, M_HELD] == 0:
        _q_pop(putters, si, b, S_PHEAD, S_PLEN)
        mi[pm, M_STATE] = FREE
        stack[top] = pm
        top += 1
    return top


@njit(cache=True, _nrt=False)
def _launch(world, dock, stack, top, i, m, now):
    """Station i's loader m starts its batch and lets go of the dock: the next machine waiting
    for it goes on the stack (returned: its new top)."""
    si = world[0]
    si[i, S_LOADER] = -1
    _start(world, m, now)
    if si[i, S_DLEN] > 0:
        stack[top] = _q_pop(dock, si, i, S_DHEAD, S_DLEN)
        top += 1
    return top


@njit(cache=True, _nrt=False)
def _run(
    si, mi, gf, sf, getters, putters, dock, stack, draws, pos, ttf, heap, batch_heap, cnt, until
):
    """Process events until the next one lies at or after ``until`` (returns 0) or a stream
    runs low (returns 1: top the streams up and call again). ``heap`` and ``batch_heap``: each
    (times, seqs, machines, kinds, versions)."""
    n = si.shape[0]
    ht, hs, hm, hk, hv = heap
    bt, bs, bm, bk, bv = batch_heap
    world = (si, mi, gf, draws, pos, ttf, heap, batch_heap, cnt)
    while cnt[C_HEAP] + cnt[C_HEAP_B] > 0:
        if cnt[C_LOW]:
            return 1
        if cnt[C_DONE]:  # the last event's top, not replaced by a push: remove it
            h = cnt[C_DONE]
            cnt[C_DONE] = 0
            if h == C_HEAP:
                _pop(*heap, cnt, C_HEAP)
            else:
                _pop(*batch_heap, cnt, C_HEAP_B)
            if cnt[C_HEAP] + cnt[C_HEAP_B] == 0:
                break
        # the earlier of the two heaps' tops (time, then scheduling order)
        if cnt[C_HEAP_B] > 0 and (
            cnt[C_HEAP] == 0 or bt[0] < ht[0] or (bt[0] == ht[0] and bs[0] < hs[0])
        ):
            now, m, kind, ver = bt[0], bm[0], bk[0], bv[0]
            cnt[C_DONE] = C_HEAP_B
        else:
            now, m, kind, ver = ht[0], hm[0], hk[0], hv[0]
            cnt[C_DONE] = C_HEAP
        if now >= until:
            cnt[C_DONE] = 0
            return 0
        cnt[C_EVENTS] += 1
        cnt[C_HEAP_SUM] += cnt[cnt[C_DONE]]
        i = mi[m, M_STATION]
        top = 0
        if kind == DEADLINE:
            if mi[m, M_STATE] != LOADING or mi[m, M_VER] != ver or mi[m, M_HELD] == 0:
                continue
            top = _launch(world, dock, stack, top, i, m, now)
        else:
            # the service ends: defects, then the cells move on
            g = mi[m, M_GROUP]
            held = mi[m, M_HELD]
            p = gf[g, 3]
            if p > 0.0:
                bad = 0
                for _ in range(held):
                    if _draw(draws, pos, cnt, 3 * g + P_DEFECT) < p:
                        bad += 1
                cnt[C_SCRAPPED] += bad
                held -= bad
            if i == n - 1:
                cnt[C_GOOD] += held
                held = 0
            mi[m, M_HELD] = held
            mi[m, M_STATE] = BLOCKED
            stack[top] = m
            top += 1
        # settle: every machine on the stack moves its cells on, then takes new ones
        while top > 0:
            top -= 1
            m = stack[top]
            i = mi[m, M_STATION]
            if mi[m, M_STATE] == BLOCKED:
                # hand cells to the next station: a waiting machine, the loader, the buffer
                j = i + 1
                while mi[m, M_HELD] > 0:
                    if j < n and si[j, S_BATCH] == 1 and si[j, S_GLEN] > 0:
                        w = _q_pop(getters, si, j, S_GHEAD, S_GLEN)
                        mi[w, M_HELD] = 1
                        _start(world, w, now)
                    elif j < n and si[j, S_LOADER] >= 0:
                        w = si[j, S_LOADER]
                        mi[w, M_HELD] += 1
                        if mi[w, M_HELD] == 1 and sf[j] >= 0.0:
                            mi[w, M_VER] += 1
                            _push(
                                *batch_heap,
                                cnt,
                                C_HEAP_B,
                                now + sf[j],
                                w,
                                DEADLINE,
                                mi[w, M_VER],
                            )
                        if mi[w, M_HELD] == si[j, S_BATCH]:
                            top = _launch(world, dock, stack, top, j, w, now)
                    elif si[i, S_BUF] < si[i, S_CAP]:
                        si[i, S_BUF] += 1
                    else:
                        break
                    mi[m, M_HELD] -= 1
                if mi[m, M_HELD] > 0:
                    if si[i, S_PLEN] == 0 or putters[si[i, S_FIRST] + si[i, S_PHEAD]] != m:
                        # not already queued (a queued putter that moved a cell stays first)
                        _q_push(putters, si, i, S_PHEAD, S_PLEN, m)
                    continue
                if si[i, S_PLEN] > 0 and putters[si[i, S_FIRST] + si[i, S_PHEAD]] == m:
                    _q_pop(putters, si, i, S_PHEAD, S_PLEN)
                mi[m, M_STATE] = FREE
            # free: take cells (a batch machine: it holds the dock and loads, or waits for it)
            batch = si[i, S_BATCH]
            if batch > 1 and si[i, S_LOADER] >= 0:
                mi[m, M_STATE] = DOCK
                _q_push(dock, si, i, S_DHEAD, S_DLEN, m)
                continue
            if i == 0:
                cnt[C_STARTED] += batch
                mi[m, M_HELD] = batch
                _start(world, m, now)
                continue
            b = i - 1
            if batch > 1:
                si[i, S_LOADER] = m
                mi[m, M_STATE] = LOADING
            got = 0
            while mi[m, M_HELD] < batch:
                if si[b, S_BUF] > 0:
                    si[b, S_BUF] -= 1
                elif si[b, S_PLEN] > 0:  # no buffer: straight from a blocked machine
                    top = _let_go(si, mi, putters, stack, top, b)
                else:
                    break
                mi[m, M_HELD] += 1
                got += 1
                # a place freed in the buffer: the first blocked machine upstream moves a cell
                if si[b, S_PLEN] > 0 and si[b, S_BUF] < si[b, S_CAP]:
                    si[b, S_BUF] += 1
                    top = _let_go(si, mi, putters, stack, top, b)
            if batch == 1:
                if mi[m, M_HELD] == 1:
                    _start(world, m, now)
                else:
                    mi[m, M_STATE] = STARVED
                    _q_push(getters, si, i, S_GHEAD, S_GLEN, m)
            elif mi[m, M_HELD] == batch:
                top = _launch(world, dock, stack, top, i, m, now)
            elif got > 0 and mi[m, M_HELD] == got and sf[i] >= 0.0:
                mi[m, M_VER] += 1
                _push(*batch_heap, cnt, C_HEAP_B, now + sf[i], m, DEADLINE, mi[m, M_VER])
    return 0


class Floor:
    """The minimal engine's state for one line and seed; :meth:`run` simulates a horizon."""

    def __init__(self, spec, seed: int):
        stations = spec.stations
        n = len(stations)
        groups = []  # (station index, equipment)
        machines = []
        si = np.zeros((n, S_W), dtype=np.int64)
        sf = np.full(n, -1.0)
        for i, s in enumerate(stations):
            si[i, S_FIRST] = len(machines)
            si[i, S_BATCH] = s.batch_size if s.kind == "batch" else 1
            si[i, S_CAP] = s.buffer_after if i < n - 1 else 0
            si[i, S_LOADER] = -1
            if s.kind == "batch" and s.max_wait_s is not None:
                sf[i] = float(s.max_wait_s)
            for eq in s.equipment():
                groups.append((i, s, eq))
                machines += [(i, len(groups) - 1)] * eq.count
            si[i, S_COUNT] = len(machines) - si[i, S_FIRST]
        self.si, self.sf = si, sf
        self.mi = np.zeros((len(machines), 5), dtype=np.int64)
        for m, (i, g) in enumerate(machines):
            self.mi[m, M_STATION], self.mi[m, M_GROUP] = i, g
        # group columns: mean service (−1: drawn), MTBF, MTTR [s], defect probability
        self.gf = np.zeros((len(groups), 4))
        self._gens = []
        root = np.random.SeedSequence(seed)
        self._spec = []
        for g, (i, s, eq) in enumerate(groups):
            unit = si[i, S_BATCH]
            mean_s = unit * 3600.0 / machine_rate_cells_per_h(eq)
            dist = s.process_time_dist
            self.gf[g] = (
                mean_s if dist == "deterministic" else -1.0,
                eq.mtbf_h * 3600.0 if eq.mtbf_h else 0.0,
                eq.mttr_h * 3600.0 if eq.mttr_h else 0.0,
                eq.defect_probability,
            )
            self._spec.append((dist, mean_s, s.process_time_cv))
            self._gens += [np.random.default_rng(c) for c in root.spawn(3)]
        # low water: an event draws at most a batch's defect uniforms (and a few more) a stream
        self.cnt = np.zeros(12, dtype=np.int64)
        self.cnt[C_LOWAT] = BLOCK - (2 * int(si[:, S_BATCH].max()) + 256)
        self.draws = np.empty((3 * len(groups), BLOCK))
        self.pos = np.full(3 * len(groups), BLOCK, dtype=np.int64)
        self.refill_s = 0.0
        # per stream: numbers drawn and CPU seconds drawing them (the bound prices the numbers
        # a run used, not the unused rest of its last blocks)
        self.drawn = np.zeros(len(self.pos), dtype=np.int64)
        self.draw_s = np.zeros(len(self.pos))
        self._top_up()
        self.ttf = np.array(
            [
                self.gf[g, 1] * self._gens[3 * g + P_FAILURE].standard_exponential()
                for g in self.mi[:, M_GROUP]
            ]
        )
        total = len(machines)
        self.getters = np.zeros(total, dtype=np.int64)
        self.putters = np.zeros(total, dtype=np.int64)
        self.dock = np.zeros(total, dtype=np.int64)
        self.stack = np.zeros(4 * total + 16, dtype=np.int64)  # machines that became free
        cap = 4 * total + 16
        # two heaps: single-cell stations' machines, batch stations' (events hours ahead)
        self.heap = tuple(
            np.zeros(cap, dtype=dt) for _ in range(2) for dt in (float, *[np.int64] * 4)
        )
        # every machine starts free at time 0: a zero-length "end" with nothing held
        for m in range(total):
            batch = si[self.mi[m, M_STATION], S_BATCH] > 1
            heap = self.heap[5:] if batch else self.heap[:5]
            _push(*heap, self.cnt, C_HEAP_B if batch else C_HEAP, 0.0, m, END, 0)

    def _top_up(self) -> None:
        """Move each low stream's unused numbers to the front and draw the rest (NumPy)."""
        t0 = time.process_time()
        for row in range(len(self.pos)):
            j = self.pos[row]
            if j < self.cnt[C_LOWAT]:
                continue
            left = BLOCK - j
            self.draws[row, :left] = self.draws[row, j:]
            g, purpose = divmod(row, 3)
            gen, need = self._gens[row], BLOCK - left
            t1 = time.process_time()
            if purpose == P_SERVICE:
                dist, mean_s, cv = self._spec[g]
                if dist == "exponential":
                    fresh = gen.exponential(mean_s, need)
                elif dist == "lognormal":
                    s2 = math.log1p(cv * cv)
                    fresh = gen.lognormal(math.log(mean_s) - s2 / 2.0, math.sqrt(s2), need)
                elif dist == "gamma":
                    k = 1.0 / (cv * cv)
                    fresh = gen.gamma(k, mean_s / k, need)
                else:
                    fresh = np.full(need, mean_s)
            elif purpose == P_DEFECT:
                fresh = gen.random(need)
            else:
                fresh = gen.standard_exponential(need)
            self.draw_s[row] += time.process_time() - t1
            self.drawn[row] += need
            self.draws[row, left:] = fresh
            self.pos[row] = 0
        self.cnt[C_LOW] = 0
        self.refill_s += time.process_time() - t0

    def used_draws_s(self) -> float:
        """CPU seconds of the NumPy draws of the numbers used so far (each stream's share of
        its drawing time)."""
        used = self.drawn - (BLOCK - self.pos)
        return float(np.sum(self.draw_s * used / np.maximum(self.drawn, 1)))

    def in_line(self) -> int:
        """Cells in machines and buffers now."""
        return int(self.mi[:, M_HELD].sum() + self.si[:, S_BUF].sum())

    def run(self, until_s: float) -> dict:
        while _run(
            self.si, self.mi, self.gf, self.sf, self.getters, self.putters, self.dock, self.stack,
            self.draws, self.pos, self.ttf, self.heap[:5], self.heap[5:], self.cnt, until_s,
        ):  # fmt: skip
            self._top_up()
        c = self.cnt
        return {
            "started": int(c[C_STARTED]),
            "good": int(c[C_GOOD]),
            "scrapped": int(c[C_SCRAPPED]),
            "visits": int(c[C_VISITS]),
            "events": int(c[C_EVENTS]),
            "heap_sum": int(c[C_HEAP_SUM]),
        }


def floor_run(spec, horizon_s: float, seed: int) -> dict:
    """One run from empty: counters, cells in the line at the end, CPU seconds in all and in
    the NumPy top-ups."""
    t0 = time.process_time()
    f = Floor(spec, seed)
    out = f.run(horizon_s)
    out["cpu_s"] = time.process_time() - t0
    out["refill_cpu_s"] = f.refill_s
    out["used_draws_cpu_s"] = f.used_draws_s()
    out["in_line"] = f.in_line()
    return out


def rolls(spec):
    """``spec`` with its continuous stations moving rolls instead of cells: each a batch station
    whose batch is the cells of a roll (a changeover's length of web), processed in the roll's
    time, with the buffer after it holding at least a roll. A what-if (not linesim's model) for
    the number of timed events a cell that lot-level moves would leave. The stations keep their
    losses: a changeover (and its start-up scrap) before every roll but the first, minor stops,
    maintenance, breakdowns, and the defect probability their process settings give."""
    from linesim.config import line_from_dict

    raw = spec.model_dump(exclude_unset=True)
    for station, st in zip(spec.stations, raw["stations"]):
        if station.kind != "continuous":
            continue
        eq = station.equipment()[0]
        roll, scrap = station.changeover.cells(eq.web_width_m / eq.area_per_cell_m2)
        for key in ("web_width_m", "web_speed_m_per_min", "area_per_cell_m2", "process"):
            st.pop(key, None)
        st.update(
            kind="batch",
            batch_size=roll,
            cycle_time_s=roll * 3600.0 / machine_rate_cells_per_h(eq),
            buffer_after=max(st.get("buffer_after", 0), roll),
            defect_probability=eq.defect_probability,
            changeover={
                "every_cells": roll,
                "duration_s": station.changeover.duration_s,
                "scrap_cells": scrap,
            },
        )
    return line_from_dict(raw)


#: the lines and simulated horizons [s]: the 4 GWh line's 3 days (bench_baselines' row), the
#: same with rolls moving at its continuous stations (:func:`rolls`), the benchmark line's
#: 100,000 cells, bench_visits' lines of 1 and 300 machines a station (~250,000 visits each),
#: and its lines of 20 and 60 stations at its horizons (fewer visits: long lines fill slowly)
LINES = {
    "gwh": 3 * 86400.0,
    "gwh_rolls": 3 * 86400.0,
    "bench": 100_000 / 310.0 * 3600.0,
    "visits:6:1": 514_286.0,
    "visits:6:300": 514_286.0,
    "visits:20:1": 300_000 / (330.0 * 20) * 3600.0,  # bench_visits' horizons
    "visits:60:1": 300_000 / (330.0 * 60) * 3600.0,
}


def measure(line: str, horizon_s: float, repeat: int, engine: bool) -> dict:
    """The floor and (``engine``) the fast engine on one line, interleaved, seed k in repeat k:
    medians of cells per CPU-second and CPU nanoseconds per visit, and the paired ratio."""
    from fast_child import _spec, child_run

    spec = _spec(line)
    floor_run(spec, min(horizon_s, 3600.0), 0)  # compiled (or loaded) before timing
    rows: dict[str, list] = {"floor": [], "fast": []}
    parts = []
    for k in range(repeat):
        r = floor_run(spec, horizon_s, k)
        rows["floor"].append((r["started"], r["cpu_s"], r["visits"], r["refill_cpu_s"]))
        parts.append((r["started"], r["used_draws_cpu_s"], r["events"], r["heap_sum"]))
        if engine:  # in a process of its own, as bench_baselines times it
            cells, cpu_s, visits = child_run("fast", line, horizon_s, k)
            rows["fast"].append((cells, cpu_s, visits, 0.0))
    out: dict = {"line": line, "horizon_h": round(horizon_s / 3600.0, 1)}
    for key, runs in rows.items():
        if not runs:
            continue
        out[key] = {
            "cells_per_cpu_s": round(float(np.median([c / t for c, t, _, _ in runs]))),
            "ns_per_visit": round(float(np.median([1e9 * t / v for _, t, v, _ in runs])), 1),
            "started_per_h": round(float(np.mean([c for c, *_ in runs])) / (horizon_s / 3600), 1),
            "visits_per_cell": round(sum(v for _, _, v, _ in runs) / sum(c for c, *_ in runs), 2),
        }
    out["floor"]["cells_per_cpu_s_without_draws"] = round(
        float(np.median([c / (t - d) for c, t, _, d in rows["floor"]]))
    )
    # the bound: the floor's own NumPy draws and one heap turn per timed event, nothing else
    heap = sum(h for *_, h in parts) / sum(e for *_, e, _ in parts)
    turn_ns = heap_cost((max(1, round(heap)),))[max(1, round(heap))]
    bound = [c / (d + e * turn_ns * 1e-9) for c, d, e, _ in parts]
    out["bound"] = {
        "draws_ns_per_cell": round(1e9 * sum(d for _, d, *_ in parts) / sum(c for c, *_ in parts)),
        "timed_events_per_cell": round(sum(e for *_, e, _ in parts) / sum(c for c, *_ in parts), 2),
        "mean_heap": round(heap, 1),
        "heap_turn_ns": turn_ns,
        "cells_per_cpu_s": round(float(np.median(bound))),
    }
    if engine:
        out["fast_share_of_floor"] = round(
            float(
                np.median(
                    [a[0] / a[1] / (b[0] / b[1]) for a, b in zip(rows["fast"], rows["floor"])]
                )
            ),
            3,
        )
    return out


def heap_cost(sizes=(6, 40, 300, 1800), ops: int = 2_000_000) -> dict:
    """CPU nanoseconds of one heap turn (the top taken and an event pushed in its place: the
    loop's usual pair) at each heap size: lognormal time steps, the skeleton's own heap."""
    out = {}
    for n0 in sizes:
        cap = n0 + 16
        heap = (np.zeros(cap), *[np.zeros(cap, dtype=np.int64) for _ in range(4)])
        cnt = np.zeros(12, dtype=np.int64)
        steps = np.random.default_rng(0).lognormal(3.0, 0.5, ops)
        _churn(*heap, cnt, steps[:1000], n0)
        best = math.inf
        for _ in range(3):
            cnt[:] = 0
            t0 = time.process_time()
            _churn(*heap, cnt, steps, n0)
            best = min(best, time.process_time() - t0)
        out[n0] = round(best / ops * 1e9, 1)
    return out


@njit(cache=True, _nrt=False)
def _churn(ht, hs, hm, hk, hv, cnt, steps, n0):
    for j in range(n0):
        _push(ht, hs, hm, hk, hv, cnt, C_HEAP, steps[j], j, END, 0)
    last = 0.0
    for j in range(len(steps)):
        last = ht[0]
        cnt[C_DONE] = C_HEAP
        _push(ht, hs, hm, hk, hv, cnt, C_HEAP, last + steps[j], hm[0], END, 0)
    return last


def rolls_kpis(days: float, warmup_days: float, replications: int, seed: int = 1) -> dict:
    """What moving rolls would change in what linesim reports of the 4 GWh line: the fast
    engine's replications of the line as bundled and with :func:`rolls`, after the same
    warm-up and seeds; per KPI, each replication's value, the mean and 95 % half-width, the
    median, and the median of the paired differences (rolls − bundled, replication by
    replication: one replication's excursion moves a mean of five a lot)."""
    import statistics

    from fast_child import _spec

    from linesim.experiments import replicate
    from linesim.kpis import replication_kpis
    from linesim.summary import summarise

    kpis = {
        "good cells/h": ("throughput_cells_per_h", "good_cells_per_h"),
        "line yield": ("line_yield", "simulated_line_yield"),
        "line OEE": ("line_oee", "line_oee"),
        "mean WIP [cells]": ("mean_wip_cells", "mean_wip_cells"),
        "mean lead time [h]": ("mean_lead_time_h", "mean_lead_time_h"),
    }
    out: dict = {"days": days, "warmup_days": warmup_days, "replications": replications}
    for line in ("gwh", "gwh_rolls"):
        spec = _spec(line)
        runs = replicate(
            spec, days * 86400.0, warmup_days * 86400.0, replications, seed=seed, workers=1,
            engine="fast",
        )  # fmt: skip
        d = summarise(spec, runs).to_dict()
        rows = [replication_kpis(r) for r in runs]
        out[line] = {}
        for name, (summary_key, row_key) in kpis.items():
            est = d[summary_key]["simulated"] if summary_key == "line_yield" else d[summary_key]
            values = [row[row_key] for row in rows]
            out[line][name] = {
                "replications": values,
                "mean": est["mean"],
                "half_width": (est["ci95_high"] - est["ci95_low"]) / 2.0,
                "median": statistics.median(values),
            }
    out["rolls_minus_bundled_median_paired"] = {
        name: statistics.median(
            b - a
            for a, b in zip(
                out["gwh"][name]["replications"], out["gwh_rolls"][name]["replications"]
            )
        )
        for name in kpis
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default = [n for n in LINES if n != "gwh_rolls" and n not in ("visits:20:1", "visits:60:1")]
    ap.add_argument("--lines", nargs="+", default=default, choices=list(LINES))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-engine", action="store_true", help="the floor only")
    ap.add_argument("--json", type=Path)
    ap.add_argument(
        "--rolls-kpis",
        type=int,
        metavar="DAYS",
        help="instead: the 4 GWh line's KPIs as bundled and with rolls, 5 replications of DAYS "
        "after 10 days' warm-up",
    )
    args = ap.parse_args()
    if args.rolls_kpis:
        print(json.dumps(rolls_kpis(args.rolls_kpis, 10.0, 5), indent=1))
        return
    if not args.no_engine:  # build (or find cached) the fast engine in a process of its own
        code = "from linesim.simulation import fast; fast.build()"
        subprocess.run([sys.executable, "-c", code], check=True)
    out = {
        "rows": [measure(n, LINES[n], args.repeat, not args.no_engine) for n in args.lines],
        "heap_turn_ns": heap_cost(),
        "machine": {
            "python": platform.python_version(),
            "numba": numba.__version__,
            "numpy": np.__version__,
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
        },
    }
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
