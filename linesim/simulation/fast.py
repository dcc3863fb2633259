"""The fast engine: the SimPy engine's model on a compiled event loop (numba).

Same inputs, same :class:`~linesim.simulation.records.SimResult`, same random streams
(:mod:`linesim.simulation.draws`): for the same spec and seed the two engines give identical
results, cell for cell (``tests/test_fast_engine.py`` holds them to it). What changes is speed:
the loop in :mod:`linesim.simulation.fast_kernel` keeps all state in arrays and never touches a
Python object per cell.

This module builds those arrays from a spec, refills the streams in blocks whenever the loop
asks, grows the event heap when it must, and reads the snapshots for the observation window.
SimPy-only: the per-cell exit trace.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from functools import cache, partial
from typing import Any, NamedTuple

import numpy as np

from linesim.simulation import draws
from linesim.simulation import fast_kernel as K
from linesim.simulation.draws import (
    draw_service,
    exposure_parameters,
    generator,
    group_times,
    loss_times,
    station_clock,
    stream_root,
)
from linesim.simulation.parts import SERVICE_PARTS, machine_totals
from linesim.simulation.records import (
    TIME_ACCOUNTS,
    WIP_SAMPLES,
    SimResult,
    build_result,
    wip_sample_every_s,
)
from linesim.spec import LineSpec

__all__ = ["StateSize", "build", "is_compiled", "simulate_fast", "state_size"]

if [K.MF(K.MF.ACC_BUSY + k).name for k in range(len(TIME_ACCOUNTS))] != [
    "ACC_BUSY",
    "ACC_DOWN",
    "ACC_BLOCKED",
    "ACC_STARVED",
    "ACC_SETUP",
    "ACC_MINOR",
    "ACC_MAINTENANCE",
    "ACC_REWORK",
    "ACC_OFF",
] or [K.MF(K.MF.SVC_MAINTENANCE + k).name for k in range(len(SERVICE_PARTS))] != [
    "SVC_MAINTENANCE",
    "SVC_SETUP",
    "SVC_BUSY",
    "SVC_MINOR",
    "SVC_DOWN",
    "SVC_REWORK",
]:
    raise ImportError("fast_kernel.MF's time accounts must match records.TIME_ACCOUNTS")
if (K.STREAM.SERVICE, K.STREAM.DEFECT, K.STREAM.FAILURE, K.STREAM.MINOR, K.STREAM.INSPECT) != (
    draws.SERVICE,
    draws.DEFECT,
    draws.FAILURE,
    draws.MINOR,
    draws.INSPECT,
):
    raise ImportError("fast_kernel.STREAM must number the purposes as draws.PURPOSES")

_MIN_BLOCK = 16384  #: numbers pre-drawn per stream and block
#: Numbers drawn into a stream row at its first fill (at least 4 × the most one event takes);
#: each refill of the row doubles it, up to the block
_FIRST_FILL = 1024
_MIN_HEAP = 64  #: initial event-heap capacity (grown by doubling when the loop asks)
#: Progress reports per replication, at equal steps of simulated time: fewer than the SimPy
#: engine's, as each costs the compiled loop a return and a re-entry (20: < 1 % of a run)
_PROGRESS_STEPS = 20
#: Pre-drawn numbers of all stream rows together (64 MiB) before blocks shrink below
#: :data:`_MIN_BLOCK`: a line of hundreds of stations refills more often instead
_DRAW_BUDGET = 2**23


class _Streams:
    """Pre-drawn numbers of every group and purpose, refilled row by row (the kernel's
    ``State.draws``, row ``K.STREAMS * group + K.STREAM.X``).

    A row's first fill is small (:data:`_FIRST_FILL`, or four times the most one event takes)
    and each refill of it draws twice as many, up to the block: a row the run hardly uses (the
    failure and minor-stop clocks, a rack's defects) draws little (issue 18: 29 % of the
    numbers drawn for 3 days of the 4 GWh line were never read, 11 % now). A refill of a group
    tops up the rows the loop must have (fewer left than one event may take) and those that
    have used half of their last fill. The numbers are the same whatever the fills: each row
    is one generator's sequence, read in order."""

    def __init__(self, groups: list[dict], block: int, root: int):
        self.block = block
        rows = K.STREAMS * len(groups)
        self.draws = np.zeros((rows, block))
        self.pos = np.zeros(rows, dtype=np.int64)
        self.end = np.zeros(rows, dtype=np.int64)
        self.fill = np.zeros(rows, dtype=np.int64)  #: numbers the row's next refill draws
        #: per group: (row, its need, how to fill an array) for the rows it draws from
        self.rows: list[list[tuple[int, int, Callable[[np.ndarray], Any]]]] = []
        for g, grp in enumerate(groups):
            self.rows.append([])
            for purpose, need, fill in _fills(grp, root):
                k = K.STREAMS * g + purpose
                self.fill[k] = min(block, max(4 * need, _FIRST_FILL))
                self.rows[g].append((k, need, fill))
            self.refill(g)

    def refill(self, g: int) -> None:
        pos, end, fill = self.pos, self.end, self.fill
        for k, need, draw in self.rows[g]:
            left = int(end[k] - pos[k])
            if left >= need and 4 * left >= fill[k]:  # more than half its last fill left
                continue
            row, n = self.draws[k], int(min(self.block - left, fill[k]))
            row[:left] = row[pos[k] : end[k]]
            draw(row[left : left + n])
            pos[k], end[k] = 0, left + n
            fill[k] = min(self.block, 2 * fill[k])

    def take(self, g: int, purpose: int, n: int) -> np.ndarray:
        """The next ``n`` numbers of group ``g``'s row for ``purpose`` (the builder's draws
        for the machines' first clocks), refilling as it goes."""
        k = K.STREAMS * g + purpose
        parts = []
        while n > 0:
            if self.pos[k] == self.end[k]:  # many machines in the group
                self.refill(g)
            j = int(self.pos[k])
            c = min(n, int(self.end[k]) - j)
            parts.append(self.draws[k, j : j + c].copy())
            self.pos[k] = j + c
            n -= c
        return np.concatenate(parts) if parts else np.zeros(0)


def _fills(grp: dict, root: int) -> list[tuple[int, int, Callable[[np.ndarray], Any]]]:
    """The stream rows equipment group ``grp`` draws from: (purpose, the most one event takes,
    how to fill an array with its next numbers), each from its own generator (made only for
    the rows drawn from; uniforms and exponentials are drawn in place)."""
    loss, dist, mean_s, cv = grp["loss"], grp["dist"], grp["mean_s"], grp["cv"]
    needs = {
        K.STREAM.SERVICE: 1 if dist != "deterministic" else 0,
        K.STREAM.DEFECT: grp["dneed"] if grp["p"] > 0 or grp["exposed"] else 0,
        K.STREAM.FAILURE: grp["fneed"] if grp["mtbf_s"] else 0,
        K.STREAM.MINOR: grp["mneed"] if loss.ms_between_s else 0,
        K.STREAM.INSPECT: grp["ineed"],
    }
    rows: list[tuple[int, int, Callable[[np.ndarray], Any]]] = []
    for purpose, need in needs.items():
        if not need:
            continue
        gen = generator(root, grp["station"], grp["option"], int(purpose))
        if purpose == K.STREAM.SERVICE:
            fill = partial(_fill_service, gen, dist, mean_s, cv)
        elif purpose in (K.STREAM.FAILURE, K.STREAM.MINOR):
            fill = partial(_fill_in_place, gen.standard_exponential)
        else:  # defects, inspections: uniforms
            fill = partial(_fill_in_place, gen.random)
        rows.append((purpose, need, fill))
    return rows


def _fill_service(gen: np.random.Generator, dist: str, mean_s: float, cv, out: np.ndarray):
    """Fill ``out`` with the next service times [s] of ``gen``."""
    out[:] = draw_service(gen, dist, mean_s, cv, len(out))


def _fill_in_place(draw, out: np.ndarray):
    """Fill ``out`` with the numbers ``draw(len(out))`` would give, without a new array."""
    draw(out=out)


@cache
def _names(layout) -> tuple[str, ...]:
    """The column names of ``layout``, in order (an enum's names are slow to read)."""
    return tuple(c.name for c in layout)


def _row(layout, **values) -> list:
    """One row of a table named by ``layout``, every column given by name."""
    names = _names(layout)
    if values.keys() != set(names):
        raise ValueError(f"{layout.__name__}: {sorted(set(values) ^ set(names))}")
    return [values[name] for name in names]


def _table(rows: int, layout, dtype=np.float64, fill=0) -> np.ndarray:
    """A state table of ``rows`` × ``len(layout)`` (its columns named by ``layout``)."""
    return np.full((rows, len(layout)), fill, dtype=dtype)


def _plan(spec: LineSpec, wider: dict[int, int] | None = None) -> list[dict[str, Any]]:
    """Per equipment group, in flow order: its station and option index, machine count, times,
    losses, and the most one event may take of each of its streams (without the generators).

    The failure and minor-stop clocks have no most: a service far longer than its mean (a
    lognormal's tail) takes as many as it lasts. Their room is 64 + 20 × the expected count
    per service, times ``wider[g]`` for a group ``g`` whose clock ran dry in an earlier try
    (:func:`simulate_fast` reruns with more room; the numbers drawn are the same)."""
    exposure = exposure_parameters(spec)
    groups: list[dict[str, Any]] = []
    for i, station in enumerate(spec.stations):
        for j, eq in enumerate(station.equipment()):
            times = (wider or {}).get(len(groups), 1)
            unit, mean_s, mtbf_s, mttr_s = group_times(eq)
            loss = loss_times(station, eq)
            failures = mean_s / mtbf_s if mtbf_s else 0.0  # expected per service
            stops = mean_s / loss.ms_between_s if loss.ms_between_s else 0.0
            inspects = loss.detection < 1.0 or loss.rework_max > 0
            groups.append(
                {
                    "station": i,
                    "option": j,
                    "count": eq.count,
                    "dist": station.process_time_dist,
                    "cv": station.process_time_cv,
                    "mean_s": mean_s,
                    "p": eq.defect_probability,
                    "mtbf_s": mtbf_s,
                    "mttr_s": mttr_s,
                    "unit": unit,
                    # the most one event may take of each stream (the kernel's GI.*_NEED)
                    "dneed": unit + (loss.rework_max if eq.defect_probability > 0 else 0),
                    "fneed": times * (64 + math.ceil(20 * failures)) if mtbf_s else 0,
                    "mneed": times * (64 + math.ceil(20 * stops)) if loss.ms_between_s else 0,
                    # per cell: a detection draw per round (rework_max + 1 rounds at most)
                    # and a rework decision in all but the last
                    "ineed": unit * (2 * loss.rework_max + 1) if inspects else 0,
                    "loss": loss,
                    "exposed": exposure is not None
                    and (exposure[1][i] > 0.0 or exposure[2][i] < math.inf),
                }
            )
    return groups


def _due_places(machines: int) -> int:
    """First size of the ring of events due at the current time: the machines' first events
    at t = 0 and the sampler's, and room for what one event may schedule (the loop asks for
    more when it runs short)."""
    return max(_MIN_HEAP, 2 * machines + 16)


def _block(groups: list[dict[str, Any]]) -> int:
    """Numbers pre-drawn per stream row and refill: at least 4 × the most one event may take
    of a row (a refill always leaves room for the next event), else :data:`_MIN_BLOCK`,
    lowered so that the rows of a line of many groups hold :data:`_DRAW_BUDGET` numbers in all.
    Independent of machine counts: the machines' first draws refill as they go (``_build``)."""
    need = max(max(g["unit"], g["fneed"], g["mneed"], g["ineed"]) for g in groups)
    return max(4 * need, min(_MIN_BLOCK, _DRAW_BUDGET // (K.STREAMS * len(groups))))


class StateSize(NamedTuple):
    """The lengths of the fast engine's state arrays for one line (every entry is 8 bytes)."""

    stations: int
    groups: int
    machines: int
    slots: int  #: cell places in machines (Σ machines × batch size)
    buffer_places: int  #: cell places in buffers (Σ max(capacity, 1))
    tracked: bool  #: exposure window: two more numbers per cell place
    block: int  #: numbers per stream row

    @property
    def nbytes(self) -> int:
        """Bytes of all state arrays at the start of a run, with the event heap at four times
        its first size (it doubles as the loop asks; it holds about one event per machine)."""
        per_place = 4 if self.tracked else 2
        heap = 2 * 4 * max(_MIN_HEAP, self.machines + 1) * (1 + len(K.HI))  # and batch heap
        heap += _due_places(self.machines) * len(K.HI)
        entries = (
            self.stations * (len(K.SI) + len(K.SF))
            + self.groups * (len(K.GI) + len(K.GF) + K.STREAMS * (self.block + 2))
            + self.machines * (len(K.MI) + len(K.MF) + 3)
            + (self.slots + self.buffer_places) * per_place
            + heap
            + 2 * (WIP_SAMPLES + 2)
            + len(K.CI)
            + len(K.CF)
        )
        return 8 * entries


def state_size(spec: LineSpec) -> StateSize:
    """What :func:`_build` allocates for ``spec``, without allocating it (for
    :mod:`linesim.workload`)."""
    groups = _plan(spec)
    caps = [
        s.buffer_after if i < len(spec.stations) - 1 else 0 for i, s in enumerate(spec.stations)
    ]
    return StateSize(
        stations=len(spec.stations),
        groups=len(groups),
        machines=sum(g["count"] for g in groups),
        slots=sum(g["count"] * g["unit"] for g in groups),
        buffer_places=sum(max(cap, 1) for cap in caps),
        tracked=exposure_parameters(spec) is not None,
        block=_block(groups),
    )


def _build(
    spec: LineSpec,
    rng: np.random.Generator | int,
    horizon_s: float,
    warmup_s: float,
    wider: dict[int, int] | None = None,
):
    """The kernel's :class:`~linesim.simulation.fast_kernel.State` for a fresh line, and its
    streams (``rng``: the run's generator, or the streams' root drawn from it before;
    ``wider``: as :func:`_plan`)."""
    n = len(spec.stations)
    root = rng if isinstance(rng, int) else stream_root(rng)
    exposure = exposure_parameters(spec)
    groups = _plan(spec, wider)
    machines: list[tuple[int, int, int]] = []  # (station, group, cell slots)
    for g, grp in enumerate(groups):
        machines += [(grp["station"], g, grp["unit"])] * grp["count"]
    n_m = len(machines)
    streams = _Streams(groups, _block(groups), root)

    gf = _table(len(groups), K.GF)
    gi = _table(len(groups), K.GI, np.int64)
    for g, grp in enumerate(groups):
        loss = grp["loss"]
        gf[g] = _row(
            K.GF,
            MEAN_S=grp["mean_s"],
            P=grp["p"],
            MTBF_S=grp["mtbf_s"],
            MTTR_S=grp["mttr_s"],
            PM_EVERY_S=loss.pm_every_s,
            PM_DURATION_S=loss.pm_duration_s,
            CO_DURATION_S=loss.co_duration_s,
            MS_BETWEEN_S=loss.ms_between_s,
            MS_DURATION_S=loss.ms_duration_s,
            DETECTION=loss.detection,
            RW_FRACTION=loss.rework_fraction,
            RW_S=loss.rework_s,
        )
        gi[g] = _row(
            K.GI,
            UNIT=grp["unit"],
            DETERMINISTIC=grp["dist"] == "deterministic",
            DEFECT_NEED=grp["dneed"] if grp["p"] > 0 or grp["exposed"] else 0,
            FAILURE_NEED=grp["fneed"],
            MINOR_NEED=grp["mneed"],
            INSPECT_NEED=grp["ineed"],
            CO_EVERY=loss.co_every or K.CO_NEVER,
            CO_SCRAP=loss.co_scrap,
            RW_MAX=loss.rework_max,
            EXPOSED=grp["exposed"],
            SAFE=0,
        )
    si = _table(n, K.SI, np.int64)
    sf = _table(n, K.SF)
    sf[:, K.SF.DEADLINE] = np.inf
    sf[:, K.SF.QUEUE_LIMIT] = np.inf
    if exposure is not None:
        si[:, K.SI.DRY_ROOM] = exposure[0]
        sf[:, K.SF.EXPOSURE_RATE] = exposure[1]
        sf[:, K.SF.QUEUE_LIMIT] = exposure[2]
    detect = spec.detection_index()
    per_station = np.bincount([g["station"] for g in groups], [g["count"] for g in groups], n)
    first = boff = 0
    for i, station in enumerate(spec.stations):
        count = int(per_station[i])
        cap = station.buffer_after if i < n - 1 else 0
        si[
            i,
            [
                K.SI.FIRST,
                K.SI.MACHINES,
                K.SI.BATCH,
                K.SI.DETECT,
                K.SI.BUF_OFFSET,
                K.SI.BUF_CAP,
                K.SI.BUF_RING,
            ],
        ] = (first, max(count, 1), station.kind == "batch", detect[i], boff, cap, max(cap, 1))
        sf[i, K.SF.MAX_WAIT] = station.max_wait_s if station.max_wait_s is not None else -1.0
        sf[i, K.SF.CAL_WORK_S], si[i, K.SI.CAL_DAYS] = station_clock(spec, station)
        first += count
        boff += max(cap, 1)
    mi = _table(n_m, K.MI, np.int64)
    mf = _table(n_m, K.MF)
    mi[:, K.MI.STATE] = K.IDLE
    m = slot = 0
    for g, grp in enumerate(groups):  # a group's machines are consecutive rows
        i, count, unit, loss = grp["station"], grp["count"], grp["unit"], grp["loss"]
        rows = slice(m, m + count)
        mi[rows, K.MI.STATION] = i
        mi[rows, K.MI.GROUP] = g
        mi[rows, K.MI.SLOT] = slot + unit * np.arange(count)
        # the first times to a failure and a minor stop, drawn as the SimPy engine draws them
        # (machine by machine, each clock from its own stream)
        for column, mean, purpose in (
            (K.MF.TTF, grp["mtbf_s"], K.STREAM.FAILURE),
            (K.MF.TTMS, loss.ms_between_s, K.STREAM.MINOR),
        ):
            mf[rows, column] = mean * streams.take(g, purpose, count) if mean else np.inf
        # planned maintenance staggered: machine k of n at the station first at (k + 1)/n
        k = np.arange(m, m + count) - si[i, K.SI.FIRST]
        every_s = loss.pm_every_s
        mf[rows, K.MF.PM_DUE] = every_s * (k + 1) / si[i, K.SI.MACHINES] if every_s else np.inf
        m += count
        slot += unit * count
    heap = max(_MIN_HEAP, n_m + 1)  # the first events; the loop asks for more
    counts = np.zeros(len(K.CI), dtype=np.int64)
    counts[K.CI.TRACK] = exposure is not None
    sums = np.zeros(len(K.CF))
    sums[K.CF.SAMPLE_EVERY] = wip_sample_every_s(horizon_s, warmup_s)
    track = slot if exposure is not None else 0  # exposure arrays: empty without a window
    btrack = boff if exposure is not None else 0
    st = K.State(
        station_int=si,
        station_float=sf,
        machine_int=mi,
        machine_float=mf,
        group_int=gi,
        group_float=gf,
        held_start=np.zeros(slot),
        held_mark=np.zeros(slot, dtype=np.int64),
        held_ready=np.zeros(track),
        held_wait=np.zeros(track),
        buffered_start=np.zeros(boff),
        buffered_mark=np.zeros(boff, dtype=np.int64),
        buffered_ready=np.zeros(btrack),
        buffered_wait=np.zeros(btrack),
        getters=np.zeros(n_m, dtype=np.int64),
        putters=np.zeros(n_m, dtype=np.int64),
        dock_queue=np.zeros(n_m, dtype=np.int64),
        heap_time=np.zeros(heap),
        heap_int=_table(heap, K.HI, np.int64),
        batch_time=np.zeros(heap),
        batch_int=_table(heap, K.HI, np.int64),
        due_int=_table(_due_places(n_m), K.HI, np.int64),
        counts=counts,
        sums=sums,
        draws=streams.draws,
        draw_pos=streams.pos,
        draw_end=streams.end,
        # room for a sample at the end of the run too (sums of floats may fall short of it)
        sample_time=np.zeros(WIP_SAMPLES + 2),
        sample_wip=np.zeros(WIP_SAMPLES + 2, dtype=np.int64),
    )
    K.check_state(st)
    # every machine starts at t = 0, in creation order (as SimPy's), then the WIP sampler (as
    # in the SimPy engine): events at the current time, so they go to the ring of due events
    # (sized for them and one event's pushes) — written here at once as K.push would, event by
    # event (a call per machine cost ~9 µs: the State passed each time)
    due = st.due_int[: n_m + 1]
    due[:, K.HI.SEQ] = np.arange(n_m + 1)
    due[:, K.HI.MACHINE] = np.append(np.arange(n_m), -1)
    due[:, K.HI.KIND] = K.EV_RESUME
    due[n_m, K.HI.KIND] = K.EV_SAMPLE
    counts[K.CI.SEQ] = counts[K.CI.DUE_LEN] = n_m + 1
    return st, streams


def _stops(warmup_s: float, total_s: float, report: bool) -> list[float]:
    """The simulated times [s] the loop stops at: the end of warm-up (if any), the end, and
    with ``report`` every 1/:data:`_PROGRESS_STEPS` of ``total_s`` in between."""
    stops = {total_s} | ({warmup_s} if warmup_s > 0 else set())
    if report:
        stops |= {total_s * k / _PROGRESS_STEPS for k in range(1, _PROGRESS_STEPS)}
    return sorted(stops)


class _RanDry(Exception):
    """One event took more numbers of a stream row than the row had room for (``row``)."""

    def __init__(self, row: int):
        super().__init__(row)
        self.row = row


#: Tries of a run whose failure or minor-stop clock runs dry, per group: each with 8 × the
#: room of the last for the group that ran dry (:func:`simulate_fast`), while the pre-drawn
#: numbers stay within :data:`_DRY_MEMORY` bytes
_DRY_TRIES = 6
_DRY_MEMORY = 2**30


def _run_until(st: K.State, streams: _Streams, until: float) -> K.State:
    """Run the events before ``until`` [s], refilling streams and growing the heap as asked."""
    until = float(until)  # an int would compile a second machine code (~2 min, 2 GB) for it
    while True:
        code = K.advance(st, until)
        counts = st.counts
        if counts[K.CI.ERROR]:
            raise _RanDry(int(counts[K.CI.ERROR]) - 1)
        if code == K.DONE:
            return st
        if code == K.REFILL:
            streams.refill(int(counts[K.CI.NEED]))
        else:  # GROW a heap or the ring of due events, whichever is short of room
            margin = len(st.machine_int) + 8  # the most one event may schedule
            for name, column in (("heap", K.CI.HEAP_LEN), ("batch", K.CI.BATCH_LEN)):
                times, ints = getattr(st, f"{name}_time"), getattr(st, f"{name}_int")
                n = len(times)
                if counts[column] + margin > n:
                    grown_time, grown_int = np.zeros(2 * n), _table(2 * n, K.HI, np.int64)
                    grown_time[:n], grown_int[:n] = times, ints
                    st = st._replace(**{f"{name}_time": grown_time, f"{name}_int": grown_int})
            n, length = len(st.due_int), int(counts[K.CI.DUE_LEN])
            if length + margin > n:
                due = _table(2 * n, K.HI, np.int64)
                due[:length] = st.due_int[(counts[K.CI.DUE_HEAD] + np.arange(length)) % n]
                counts[K.CI.DUE_HEAD] = 0
                st = st._replace(due_int=due)


def _snapshot(st: K.State, now: float) -> dict:
    """The counters at ``now``, with running services and waits cut at ``now`` (as the SimPy
    engine's ``Machine.totals``)."""
    si, mi, mf, counts, sums = st.station_int, st.machine_int, st.machine_float, st.counts, st.sums
    sums[K.CF.WIP_AREA] += counts[K.CI.WIP] * (now - sums[K.CF.WIP_SINCE])  # as _wip_change(0)
    sums[K.CF.WIP_SINCE] = now
    n_acc = len(TIME_ACCOUNTS)
    machines = np.bincount(mi[:, K.MI.STATION], minlength=len(si))
    round_the_clock = _round_the_clock_totals(st, now)
    acc_by_station = []
    for i in range(len(si)):
        first = si[i, K.SI.FIRST]
        work_s, days = float(st.station_float[i, K.SF.CAL_WORK_S]), int(si[i, K.SI.CAL_DAYS])
        if not work_s:  # summed by Python's sum(), as the SimPy engine's (compensated from
            # Python 3.12 on: no NumPy sum gives the same bits on every Python)
            columns = round_the_clock[first : first + machines[i]].T.tolist()
            acc_by_station.append([sum(c) for c in columns] if machines[i] else [0.0] * n_acc)
            continue
        rows = []
        for m in range(first, first + machines[i]):
            accounts = mf[m, K.MF.ACC_BUSY : K.MF.ACC_BUSY + n_acc]
            state = int(mi[m, K.MI.STATE])
            if state == K.IDLE:  # neither serving nor waiting: its accounts as they are
                rows.append(accounts.tolist())
                continue
            acc = machine_totals(
                accounts,
                state,
                float(mf[m, K.MF.SINCE]),
                float(mf[m, K.MF.SERVICE_END]),
                mf[m, K.MF.SVC_MAINTENANCE : K.MF.SVC_REWORK + 1],
                (work_s, days),
                now,
            )
            rows.append(acc)
        acc_by_station.append([sum(col) for col in zip(*rows)] if rows else [0.0] * n_acc)
    column = {
        "processed": K.SI.PROCESSED,
        "defects": K.SI.DEFECTS,
        "scrapped_at": K.SI.SCRAPPED,
        "exposure_defects": K.SI.EXPOSURE_DEFECTS,
        "startup_scrap": K.SI.STARTUP_SCRAP,
        "reworked": K.SI.REWORKED,
        "rework_defects": K.SI.REWORK_DEFECTS,
        "escaped": K.SI.ESCAPED,
        "repaired": K.SI.REPAIRED,
    }
    return {
        "started": int(counts[K.CI.STARTED]),
        "good": int(counts[K.CI.GOOD]),
        "scrapped": int(counts[K.CI.SCRAPPED]),
        "shipped_defective": int(counts[K.CI.SHIPPED_DEFECTIVE]),
        "exits": int(counts[K.CI.EXITS]),
        "wip_area": float(sums[K.CF.WIP_AREA]),
        "lead_sum": float(sums[K.CF.LEAD]),
        **{key: [int(x) for x in si[:, c]] for key, c in column.items()},
        "acc": acc_by_station,
    }


def _round_the_clock_totals(st: K.State, now: float) -> np.ndarray:
    """Every machine's accounts at ``now`` as :func:`~linesim.simulation.parts.machine_totals`
    gives them for a machine working round the clock — the same operations on the same numbers,
    machine by machine, as whole columns (rows of machines on a calendar are left as they are:
    the caller takes those one by one)."""
    mi, mf = st.machine_int, st.machine_float
    n_acc = len(TIME_ACCOUNTS)
    out = mf[:, K.MF.ACC_BUSY : K.MF.ACC_BUSY + n_acc].copy()
    state = mi[:, K.MI.STATE]
    future = mf[:, K.MF.SERVICE_END] - now
    serving = np.flatnonzero((state == K.BUSY) & (future > 0))
    if len(serving):  # a running service gives back its future, from its last part backwards
        left = future[serving]
        parts = mf[serving, K.MF.SVC_MAINTENANCE : K.MF.SVC_REWORK + 1]
        for k in range(len(SERVICE_PARTS) - 1, 0, -1):
            take = np.where(left < parts[:, k], left, parts[:, k])
            out[serving, SERVICE_PARTS[k]] -= take
            left = left - take
        out[serving, SERVICE_PARTS[0]] -= left
    waiting = np.flatnonzero((state != K.BUSY) & (state != K.IDLE))
    if len(waiting):  # a running wait adds its past
        out[waiting, state[waiting]] += now - mf[waiting, K.MF.SINCE]
    return out


def _in_process(st: K.State) -> int:
    """Cells in the line now, counted in buffers and machines (not from the WIP counter)."""
    mi = st.machine_int
    return int(
        st.station_int[:, K.SI.BUF_LEN].sum() + (mi[:, K.MI.LOADED] - mi[:, K.MI.RELEASED]).sum()
    )


def is_compiled() -> bool:
    """Whether the event loop's machine code is in numba's on-disk cache, up to date with the
    kernel's source (else the first run compiles it: about a minute of CPU and 0.5 GB of
    memory, once). True when that cannot be told (e.g. a bounds-checked build, which never
    caches)."""
    try:
        return bool(K.advance._cache._cache_file._load_index())
    except Exception:  # numba's cache internals: a version without them, or no cache at all
        return True


def build(wait: bool = True) -> None:
    """Compile the event loop now, or load it from numba's on-disk cache, so that the processes
    a replication pool forks from this one start with it (else each worker builds it itself).

    Builds of the same cache take turns (a lock file in numba's cache): a build that waited
    for another loads what that one wrote instead of compiling it again; with ``wait`` False
    it returns at once instead of waiting (a background build when one is under way).
    """
    import fcntl

    from numba import float64, typeof

    empty = K.State(*(np.zeros((0,) * ndim, dtype) for dtype, ndim, _ in K.LAYOUT.values()))
    signature = (typeof(empty), float64)  # what _run_until passes: the State and a float
    try:
        cache_dir = K.advance._cache._cache_path
        os.makedirs(cache_dir, exist_ok=True)
        lock = open(os.path.join(cache_dir, "linesim-build.lock"), "a")
    except (AttributeError, OSError):  # no on-disk cache (a bounds-checked build), or read-only
        K.advance.compile(signature)
        return
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        K.advance.compile(signature)


def simulate_fast(
    spec: LineSpec,
    horizon_s: float,
    warmup_s: float = 0.0,
    rng: np.random.Generator | int | None = None,
    *,
    replication: int = 0,
    seed: int | None = None,
    progress: Callable[[float], None] | None = None,
) -> SimResult:
    """Simulate one replication on the fast engine (arguments as :func:`simulate_once`; no
    exit trace — :func:`linesim.simulation.engine_for` sends that to the SimPy engine).

    The loop stops at the end of warm-up and, with ``progress``, at every
    1/:data:`_PROGRESS_STEPS` of the simulated time to report it; stopping between two events
    changes nothing, so the result is the same with and without ``progress``.
    """
    if horizon_s <= 0 or warmup_s < 0:
        raise ValueError("horizon_s must be > 0 and warmup_s ≥ 0")
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    root = stream_root(rng)
    wider: dict[int, int] = {}
    shown = [0.0]

    def forward(done: float) -> None:  # a rerun does not move the progress back
        if progress is not None and done > shown[0]:
            shown[0] = done
            progress(done)

    report = forward if progress is not None else None
    while True:
        try:
            return _simulate(spec, root, horizon_s, warmup_s, wider, replication, seed, report)
        except _RanDry as dry:
            # a service far longer than its mean took more failure or minor-stop draws than
            # its group's rows had room for: run again from the start with 8 × the room (the
            # same numbers in the same order, so the same result as with room enough)
            g, purpose = divmod(dry.row, K.STREAMS)
            now = _plan(spec, wider)
            station = spec.stations[now[g]["station"]].id
            if purpose not in (K.STREAM.FAILURE, K.STREAM.MINOR):
                raise RuntimeError(
                    f"fast engine: stream {dry.row} (station {station!r}) ran dry inside one "
                    "event, which its room per event should prevent (a defect of the fast "
                    "engine); use --engine simpy for this line"
                ) from None
            times = 8 * wider.get(g, 1)
            groups = _plan(spec, {**wider, g: times})
            if (
                times > 8 ** (_DRY_TRIES - 1)
                or 8 * _block(groups) * K.STREAMS * len(groups) > _DRY_MEMORY
            ):
                room = now[g]["fneed" if purpose == K.STREAM.FAILURE else "mneed"]
                what = "failure" if purpose == K.STREAM.FAILURE else "minor-stop"
                raise RuntimeError(
                    f"fast engine: one service at station {station!r} took more than {room} "
                    f"{what} draws, the most the fast engine holds per event; use --engine "
                    "simpy for this line"
                ) from None
            wider[g] = times


def _simulate(
    spec: LineSpec,
    root: int,
    horizon_s: float,
    warmup_s: float,
    wider: dict[int, int],
    replication: int,
    seed: int | None,
    progress: Callable[[float], None] | None,
) -> SimResult:
    """One replication from the streams' ``root`` (as :func:`simulate_fast`); raises
    :class:`_RanDry` when a stream row runs dry inside one event."""
    st, streams = _build(spec, root, horizon_s, warmup_s, wider)
    start = _snapshot(st, 0.0)
    at_start = 0
    total_s = warmup_s + horizon_s
    for until in _stops(warmup_s, total_s, progress is not None):
        st = _run_until(st, streams, until)
        if until == warmup_s:
            start = _snapshot(st, warmup_s)
            at_start = _in_process(st)
        if progress is not None:
            progress(until / total_s)
    end = _snapshot(st, total_s)
    in_process = _in_process(st)
    samples = [
        (float(st.sample_time[k]), int(st.sample_wip[k]))
        for k in range(int(st.counts[K.CI.SAMPLES]))
    ]
    return build_result(
        spec,
        start,
        end,
        seed=seed,
        replication=replication,
        warmup_s=warmup_s,
        horizon_s=horizon_s,
        in_process=in_process,
        samples=samples,
        in_process_at_start=at_start,
        engine="fast",
    )
