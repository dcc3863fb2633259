"""The compiled event loop of the fast engine (numba); the same model as the SimPy engine.

The loop mirrors :mod:`linesim.simulation.engine` step for step, so that fed the same random
streams the two engines give bit-identical results (tested). The SimPy engine's processes
become a phase per machine, its events a binary heap ordered like SimPy's queue — by time, then
by the order in which events were scheduled — and every place where the SimPy model schedules
an event (a timeout, ``event.succeed()``, a condition ``ev | timeout``) pushes one here, in the
same order (``docs/engines.md`` states the contract):

- ``EV_RESUME``: a waiting machine goes on (it was handed a cell, its cell was taken, or it got
  the loading dock); ``EV_END``: a service ends;
- a batch loader waiting on "a cell or its ``max_wait`` deadline" (SimPy's ``ev | timeout``)
  takes two hops, as in SimPy: ``EV_DEADLINE`` (the deadline's timeout) or ``EV_HANDED`` (the
  event that handed it a cell) is processed and triggers the condition, which is processed
  later as ``EV_WAKE`` (at once when no other event shares its time: it would be next);
- ``EV_SAMPLE``: the WIP sampler (machine index −1), a process of its own in the SimPy engine.

Cells are a start time and a detection mark (the station that will scrap the cell, or n for a
good one) — and, on a line with an exposure window, the time the cell became ready to move and
its dry-room wait so far — held in ring buffers and in per-machine slots (a batch machine has
one slot per place in its batch), so nothing allocates while the loop runs.

All state lives in the arrays of one :class:`State` (a ``NamedTuple``, read by field name), built
by :mod:`linesim.simulation.fast`. The columns of every 2-D array — and the entries of the 1-D
counter arrays — are named once, below, by the ``IntEnum`` classes; array widths are ``len()``
of those classes, in the builder as here. The loop can stop and resume: it returns when the
heap nears its capacity (the caller grows it), when the next event's group could run out of
pre-drawn numbers (the caller refills that group's streams), or when the next event lies at or
after ``until``.

numba caches the compiled loop on disk keyed on *this file's* text, so every constant the loop
reads is defined here; the one formula it compiles from elsewhere
(:func:`linesim.spec.process.exposure_probability`, shared with the SimPy engine) enters the
key through :func:`_loop`. With ``NUMBA_BOUNDSCHECK`` set nothing is cached (numba's key does not
include that flag), so a bounds-checked run compiles afresh and leaves the cache alone.
"""

from __future__ import annotations

import hashlib
import inspect
from enum import IntEnum, auto
from typing import NamedTuple

import numpy as np
from llvmlite import binding as llvm
from numba import config, njit, types
from numba.core.dispatcher import Dispatcher
from numba.np import arrayobj as _arrayobj

from linesim.simulation import clock
from linesim.simulation.clock import working_end
from linesim.spec.process import exposure_probability

__all__ = [
    "State",
    "LAYOUT",
    "SI",
    "SF",
    "MI",
    "MF",
    "GI",
    "GF",
    "HI",
    "CI",
    "CF",
    "STREAM",
    "STREAMS",
    "advance",
    "push",
    "check_state",
]

_CACHE = not config.BOUNDSCHECK

# Every function here takes the whole State (27 arrays, passed as ~220 scalars), so a call that
# stays a call costs the loop more than the work it calls: each pushes the whole State on the
# stack (profiled with perf, issue 18: 40 % of the loop's time went to such pushes). So every
# call must be inlined. LLVM inlines most of them, with its threshold raised (the option is
# LLVM's and process-wide, set once in a process; it changes what is inlined, never a result:
# no fast-math anywhere); at 100,000 it left the dispatch and ``_get`` as calls, at 10⁷ it
# still leaves two call sites each of the functions called from many places, so those few
# (``_get``, ``_try_get``, ``_serve``, ``_start_service``) are inlined by numba instead
# (``inline="always"``: it re-types their bodies at each call site, which costs build time;
# numba-inlining every function cost 139 s of CPU against 48 s, BENCHMARKS.md, issue 18).
# The compiled module then holds no function taking the State but the loop itself.
if not getattr(llvm, "_linesim_inline_threshold", False):
    llvm.set_option("linesim", "-inline-threshold=10000000")
    llvm._linesim_inline_threshold = True

# No index here is ever negative (rows, columns, places, all counted from 0), yet numba compiles
# every access with a signed index as ``i < 0 ? i + len : i`` (a shape load, ``sar``, ``and``,
# ``add``): on an event's ~100 array accesses that was most of the loop's index arithmetic
# (issue 18). So this module's functions are compiled without that wrap: numba's
# ``fix_integer_index`` (which makes the wrap) gets a wrapper that, inside a function of this
# module (its mangled name holds ``11fast_kernel``), only casts the index, as numba does for
# an unsigned one. Other modules compile as before. A negative index would now read outside
# the array instead of from its end: with ``NUMBA_BOUNDSCHECK=1`` it raises (the identity
# tests run so, ``tests/test_fast_engine.py``). Results never change: the wrap only ever
# added 0. A numba without that function compiles as before (the same results, with the wrap).
_KERNEL_MANGLED = "11fast_kernel"


def _kernel_index(fix):
    def fix_integer_index(context, builder, idxty, idx, size):
        if idxty.signed and _KERNEL_MANGLED in builder.function.name:
            return context.cast(builder, idx, idxty, types.intp)
        return fix(context, builder, idxty, idx, size)

    fix_integer_index._linesim = True
    return fix_integer_index


if hasattr(_arrayobj, "fix_integer_index") and not getattr(
    _arrayobj.fix_integer_index, "_linesim", False
):
    _arrayobj.fix_integer_index = _kernel_index(_arrayobj.fix_integer_index)


class _Columns(IntEnum):
    """Column numbers of a state array: 0, 1, … in the order written; ``len()`` is the count."""

    @staticmethod
    def _generate_next_value_(name, start, count, last_values):
        return count


# --- column layouts (the only place they are written) ----------------------------------------


class SI(_Columns):
    """``State.station_int``: one row per station."""

    FIRST = auto()  #: row of its first machine (a station's machines are consecutive rows)
    MACHINES = auto()  #: its machine count (the size of its getter, putter and dock rings)
    BATCH = auto()  #: 1 for a batch station
    DETECT = auto()  #: station that scraps the defects made here
    BUF_OFFSET = auto()  #: first place of its buffer (after it) in State.buffered_*
    BUF_CAP = auto()  #: buffer capacity [cells] (0: none; the last station has none)
    BUF_RING = auto()  #: places reserved for the buffer: max(capacity, 1)
    BUF_HEAD = auto()  #: ring position of its first buffered cell
    BUF_LEN = auto()  #: cells in its buffer
    GET_HEAD = auto()  #: ring of its machines waiting for a cell (State.getters)
    GET_LEN = auto()  #: (each ring: position of the first, and length)
    PUT_HEAD = auto()  #: ring of its machines blocked with a finished cell (State.putters)
    PUT_LEN = auto()
    DOCK_HEAD = auto()  #: ring of its batch machines waiting for the loading dock
    DOCK_LEN = auto()
    DOCK_BUSY = auto()  #: 1 while a batch machine holds the loading dock
    PROCESSED = auto()  #: cells whose processing ended here (whole run, as the rest)
    DEFECTS = auto()  #: of those, cells made defective here
    SCRAPPED = auto()  #: cells scrapped here (defects detected here)
    EXPOSURE_DEFECTS = auto()  #: defects due to dry-room exposure (beyond p₀)
    DRY_ROOM = auto()  #: 1 if waiting before this station counts as dry-room exposure
    CAL_DAYS = auto()  #: working days a week of its calendar
    STARTUP_SCRAP = auto()  #: cells scrapped here as start-up scrap after changeovers
    REWORKED = auto()  #: rework attempts here
    REWORK_DEFECTS = auto()  #: reworked cells made defective again here
    ESCAPED = auto()  #: defects detected here that escaped inspection
    REPAIRED = auto()  #: reworked cells that left the station (good, or found later)


class SF(_Columns):
    """``State.station_float``: one row per station."""

    MAX_WAIT = auto()  #: batch max_wait_s [s]; −1 for none
    DEADLINE = auto()  #: the loading batch's deadline [s]; inf for none
    EXPOSURE_RATE = auto()  #: exposure window's rate [1/s]; 0 without one
    QUEUE_LIMIT = auto()  #: exposure window's queue-time limit [s]; inf without one
    CAL_WORK_S = auto()  #: working seconds a working day; 0: round the clock


class MI(_Columns):
    """``State.machine_int``: one row per machine, stations in flow order, options in order."""

    STATION = auto()  #: its station's index
    GROUP = auto()  #: its equipment group (station × option): row of State.group_*
    SLOT = auto()  #: first of its cell slots in State.held_* (a batch machine has batch_size)
    STATE = auto()  #: BUSY, BLOCKED, STARVED or IDLE (−1), as parts.py
    PHASE = auto()  #: where its process goes on when resumed (PH_*)
    LOADED = auto()  #: cells in its slots
    RELEASED = auto()  #: of those, cells a batch machine has passed on
    VERSION = auto()  #: the current "cell or deadline" wait; older wake-ups are stale
    COND = auto()  #: that wait: 0 none, 1 pending, 2 triggered (EV_WAKE scheduled)
    GOT = auto()  #: 1 when a cell was handed to it during that wait
    CO_COUNT = auto()  #: cells processed since its last changeover
    SCRAP_LEFT = auto()  #: start-up scrap cells still to come after a changeover
    DL_SEQ = auto()  #: SEQ of its EV_DEADLINE event queued at MF.DL_TIME (:func:`_deadline`)
    DL_LIVE = auto()  #: SEQ that event stands for: its latest wait's (> DL_SEQ: re-queue it)
    DL_VER = auto()  #: MI.VERSION of that wait


class MF(_Columns):
    """``State.machine_float``: one row per machine [s]."""

    SINCE = auto()  #: start of its current wait (blocked or starved)
    ACC_BUSY = auto()  #: machine-seconds by account, in records.TIME_ACCOUNTS order
    ACC_DOWN = auto()
    ACC_BLOCKED = auto()
    ACC_STARVED = auto()
    ACC_SETUP = auto()
    ACC_MINOR = auto()
    ACC_MAINTENANCE = auto()
    ACC_REWORK = auto()
    ACC_OFF = auto()
    TTF = auto()  #: operating time left to its next failure (inf without breakdowns)
    TTMS = auto()  #: operating time left to its next minor stop (inf without them)
    PM_DUE = auto()  #: time its next planned maintenance falls due (inf without)
    SERVICE_END = auto()  #: end of its current service
    SVC_MAINTENANCE = auto()  #: its current service's parts [working s], in time order
    SVC_SETUP = auto()
    SVC_BUSY = auto()
    SVC_MINOR = auto()
    SVC_DOWN = auto()
    SVC_REWORK = auto()
    DL_TIME = auto()  #: time of its queued EV_DEADLINE event that MI.DL_* follow; 0: none


class GF(_Columns):
    """``State.group_float``: one row per equipment group."""

    MEAN_S = auto()  #: mean service time [s] (of a whole batch at a batch station)
    P = auto()  #: defect probability
    MTBF_S = auto()  #: mean operating time between failures [s]; 0 without breakdowns
    MTTR_S = auto()  #: 0 without breakdowns
    PM_EVERY_S = auto()  #: planned maintenance: calendar time between starts; 0: none
    PM_DURATION_S = auto()
    CO_DURATION_S = auto()  #: changeover time [s]
    MS_BETWEEN_S = auto()  #: minor stops: mean operating time between; 0: none
    MS_DURATION_S = auto()
    DETECTION = auto()  #: detection efficiency (1: every defect found here)
    RW_FRACTION = auto()  #: share of found defects reworked
    RW_S = auto()  #: machine time per rework [s]


class GI(_Columns):
    """``State.group_int``: one row per equipment group."""

    UNIT = auto()  #: cells per service (batch size, else 1)
    DETERMINISTIC = auto()  #: 1: service time is MEAN_S and draws nothing
    DEFECT_NEED = auto()  #: defect draws one event may take (0: never draws)
    FAILURE_NEED = auto()  #: failure-clock draws one event may take (0: no breakdowns)
    MINOR_NEED = auto()  #: minor-stop draws one event may take (0: none)
    INSPECT_NEED = auto()  #: inspection draws one event may take (0: none)
    CO_EVERY = auto()  #: cells between changeovers (CO_NEVER: none)
    CO_SCRAP = auto()  #: start-up scrap cells after a changeover
    RW_MAX = auto()  #: rework attempts allowed (0: no rework)
    EXPOSED = auto()  #: 1: its station's exposure window (a rate or a queue-time limit) sets
    #: its defect probability
    SAFE = auto()  #: events of the group the loop may run before it checks the group's
    #: streams again: each takes at most its ``*_NEED`` of each row (0: check before the next)


class HI(_Columns):
    """``State.heap_int``: one row per scheduled event (``State.heap_time`` holds its time)."""

    SEQ = auto()  #: scheduling order: ties in time go to the earlier-scheduled event
    MACHINE = auto()  #: −1 for the WIP sampler
    KIND = auto()  #: EV_*
    VERSION = auto()  #: MI.VERSION of the wait an EV_DEADLINE/EV_HANDED/EV_WAKE belongs to


class CI(_Columns):
    """``State.counts``: the line's integer counters and loop registers."""

    STARTED = auto()  #: cells started (whole run, as the next three)
    GOOD = auto()  #: good cells out of the last station
    SCRAPPED = auto()
    SHIPPED_DEFECTIVE = auto()  #: defective cells out of the last station (escaped)
    EXITS = auto()  #: good + scrapped + shipped defective
    WIP = auto()  #: cells in the line now
    SEQ = auto()  #: events scheduled so far
    HEAP_LEN = auto()  #: events in the heap
    BATCH_LEN = auto()  #: events in the batch heap
    SAMPLES = auto()  #: WIP samples taken
    NEED = auto()  #: the group whose streams the caller must refill (on REFILL)
    ERROR = auto()  #: 1 + the stream that ran dry inside one event; 0: none
    TRACK = auto()  #: 1 on a line with an exposure window (cells carry their dry-room wait)
    DUE_HEAD = auto()  #: ring position of the first event in State.due_int
    DUE_LEN = auto()  #: events in it
    TOP_DONE = auto()  #: TOP_HEAP (TOP_BATCH) while the heap's (the batch heap's) top is the
    #: event being processed (the next push to that heap replaces it, else it is removed after
    #: the event); 0 otherwise
    STAGED = auto()  #: 1 + the machine of the staged event (the next one, at the current time:
    #: :func:`_resume`); 0: none
    STAGED_KIND = auto()  #: its kind (EV_RESUME or EV_HANDED)
    STAGED_VER = auto()  #: its wait's MI.VERSION (EV_HANDED)


class CF(_Columns):
    """``State.sums``: the line's time sums [s, cell·s]."""

    WIP_AREA = auto()  #: ∫ WIP dt up to WIP_SINCE [cell·s]
    WIP_SINCE = auto()  #: time of the last WIP change [s]
    LEAD = auto()  #: Σ (exit − start) over exits [s]
    SAMPLE_EVERY = auto()  #: time between WIP samples [s]
    NOW = auto()  #: time of the event being processed (the current time) [s]


class STREAM(_Columns):
    """A group's rows of ``State.draws``: ``STREAMS * group + STREAM.X``."""

    SERVICE = auto()  #: service times [s]
    DEFECT = auto()  #: uniforms on [0, 1)
    FAILURE = auto()  #: standard exponentials (× MTBF: time to failure, × MTTR: repair)
    MINOR = auto()  #: standard exponentials of the minor-stop clock
    INSPECT = auto()  #: uniforms: detection and rework decisions


STREAMS = len(STREAM)
H_COLUMNS = len(HI)
#: the tables' widths, constants in the compiled loop
W_SI = len(SI)
W_SF = len(SF)
W_MI = len(MI)
W_MF = len(MF)
W_GI = len(GI)
W_GF = len(GF)
W_HI = len(HI)


class State(NamedTuple):
    """All the state of one run: arrays the loop reads and writes by field name (see
    :data:`LAYOUT` for each one's dtype and the columns of the tables)."""

    station_int: np.ndarray  #: [station, SI]
    station_float: np.ndarray  #: [station, SF]
    machine_int: np.ndarray  #: [machine, MI]
    machine_float: np.ndarray  #: [machine, MF]
    group_int: np.ndarray  #: [group, GI]
    group_float: np.ndarray  #: [group, GF]
    held_start: np.ndarray  #: cells in machines' slots: start time [s]
    held_mark: np.ndarray  #: detection mark: the station that will scrap it, n if good
    held_ready: np.ndarray  #: with an exposure window (else empty): ready-to-move time [s]
    held_wait: np.ndarray  #: and dry-room wait so far [s]
    buffered_start: np.ndarray  #: cells in buffers, the same four
    buffered_mark: np.ndarray
    buffered_ready: np.ndarray
    buffered_wait: np.ndarray
    getters: np.ndarray  #: rings of machine indices, each station's ring at its SI.FIRST
    putters: np.ndarray
    dock_queue: np.ndarray
    heap_time: np.ndarray  #: the event heap: times [s], and the rest of each event
    heap_int: np.ndarray  #: [event, HI]
    batch_time: np.ndarray  #: the batch heap: the events of batch stations' machines, the same
    batch_int: np.ndarray  #: [event, HI]
    due_int: np.ndarray  #: [event, HI]: events at the current time, a ring in scheduling order
    counts: np.ndarray  #: [CI]
    sums: np.ndarray  #: [CF]
    draws: np.ndarray  #: pre-drawn numbers, row STREAMS * group + STREAM.X
    draw_pos: np.ndarray  #: per row: next number to read
    draw_end: np.ndarray  #: per row: end of the numbers drawn
    sample_time: np.ndarray  #: WIP samples: time [s] and cells in process
    sample_wip: np.ndarray


#: Each array of :class:`State`: dtype, dimensions, and the layout naming its last axis (None:
#: indexed by cell place, machine, event, stream row or sample). The builder allocates
#: ``len(layout)`` columns; :func:`check_state` checks what it built.
LAYOUT: dict[str, tuple[type, int, type[_Columns] | None]] = {
    "station_int": (np.int64, 2, SI),
    "station_float": (np.float64, 2, SF),
    "machine_int": (np.int64, 2, MI),
    "machine_float": (np.float64, 2, MF),
    "group_int": (np.int64, 2, GI),
    "group_float": (np.float64, 2, GF),
    "held_start": (np.float64, 1, None),
    "held_mark": (np.int64, 1, None),
    "held_ready": (np.float64, 1, None),
    "held_wait": (np.float64, 1, None),
    "buffered_start": (np.float64, 1, None),
    "buffered_mark": (np.int64, 1, None),
    "buffered_ready": (np.float64, 1, None),
    "buffered_wait": (np.float64, 1, None),
    "getters": (np.int64, 1, None),
    "putters": (np.int64, 1, None),
    "dock_queue": (np.int64, 1, None),
    "heap_time": (np.float64, 1, None),
    "heap_int": (np.int64, 2, HI),
    "batch_time": (np.float64, 1, None),
    "batch_int": (np.int64, 2, HI),
    "due_int": (np.int64, 2, HI),
    "counts": (np.int64, 1, CI),
    "sums": (np.float64, 1, CF),
    "draws": (np.float64, 2, None),
    "draw_pos": (np.int64, 1, None),
    "draw_end": (np.int64, 1, None),
    "sample_time": (np.float64, 1, None),
    "sample_wip": (np.int64, 1, None),
}
if tuple(LAYOUT) != State._fields:
    raise ImportError("fast_kernel.LAYOUT must list State's fields, in order")

# machine states (as in parts.py), phases, event kinds
BUSY, DOWN, BLOCKED, STARVED, IDLE = 0, 1, 2, 3, -1
PH_START, PH_GET, PH_BUSY, PH_PUT, PH_DOCK, PH_LOAD, PH_REWORK = range(7)
EV_RESUME, EV_END, EV_DEADLINE, EV_HANDED, EV_WAKE, EV_SAMPLE = range(6)
# kernel return codes
DONE, REFILL, GROW = 0, 1, 2
# CI.TOP_DONE: which heap's top is the event being processed
TOP_HEAP, TOP_BATCH = 1, 2
#: GI.CO_EVERY of a group without changeovers: more cells than a run processes, so that the
#: changeover check is one comparison
CO_NEVER = 1 << 62

if [MF.ACC_BUSY + s for s in (BUSY, DOWN, BLOCKED, STARVED)] != [
    MF.ACC_BUSY,
    MF.ACC_DOWN,
    MF.ACC_BLOCKED,
    MF.ACC_STARVED,
]:
    raise ImportError("MF.ACC_* must follow the machine states' order")

_INF = np.inf


def check_state(st: State) -> None:
    """Raise if an array of ``st`` has another dtype, shape or width than :data:`LAYOUT` and
    the line's sizes say (a wrong dtype would compile another kernel; a wrong width or length
    would let the loop read and write past an array)."""
    for (name, (dtype, ndim, layout)), array in zip(LAYOUT.items(), st):
        if array.dtype != dtype or array.ndim != ndim or not array.flags.c_contiguous:
            raise TypeError(
                f"state.{name}: {array.dtype}, {array.ndim}-D; expected "
                f"{np.dtype(dtype)}, {ndim}-D, C-contiguous"
            )
        if layout is not None and array.shape[-1] != len(layout):
            raise ValueError(
                f"state.{name}: {array.shape[-1]} columns; expected {len(layout)} "
                f"({', '.join(c.name for c in layout)})"
            )
    n_streams = STREAMS * len(st.group_int)
    held, buffered = len(st.held_start), len(st.buffered_start)
    track = len(st.held_ready) > 0
    rows = {  # arrays that must have as many rows as the first of their group
        "station_int": len(st.station_int),
        "station_float": len(st.station_int),
        "machine_float": len(st.machine_int),
        "getters": len(st.machine_int),
        "putters": len(st.machine_int),
        "dock_queue": len(st.machine_int),
        "group_float": len(st.group_int),
        "draws": n_streams,
        "draw_pos": n_streams,
        "draw_end": n_streams,
        "held_mark": held,
        "held_ready": held if track else 0,
        "held_wait": held if track else 0,
        "buffered_mark": buffered,
        "buffered_ready": buffered if track else 0,
        "buffered_wait": buffered if track else 0,
        "heap_int": len(st.heap_time),
        "batch_int": len(st.batch_time),
        "sample_wip": len(st.sample_time),
    }
    for name, expected in rows.items():
        if len(getattr(st, name)) != expected:
            raise ValueError(f"state.{name}: {len(getattr(st, name))} rows; expected {expected}")
    if bool(st.counts[CI.TRACK]) != track:
        raise ValueError("state.counts[CI.TRACK] disagrees with the exposure arrays")


# --- the event heap ---------------------------------------------------------------------------


@njit(cache=_CACHE, _nrt=False)
def _earlier_child(hf, hi, a, b):
    """The earlier of children ``a`` and ``b`` (time, then scheduling order), computed without
    a branch: which child is earlier is a coin toss, and a mispredicted branch at every level
    was the heap's main cost (perf, issue 18). ``&``/``|`` on booleans evaluate both sides."""
    ta, tb = hf[a], hf[b]
    earlier = (tb < ta) | ((tb == ta) & (hi[b, HI.SEQ] < hi[a, HI.SEQ]))
    return a + np.int64(earlier)


@njit(cache=_CACHE, _nrt=False)
def _hole_to_leaf(hf, hi, n):
    """Move the free place at the root of the heap of ``n`` events down to a leaf: the earlier
    child moves up into it at each level. Returns the leaf's place."""
    j = 0
    while True:
        a = 2 * j + 1
        if a >= n:
            return j
        b = a + 1
        if b < n:
            a = _earlier_child(hf, hi, a, b)
        hf[j] = hf[a]
        for c in range(H_COLUMNS):
            hi[j, c] = hi[a, c]
        j = a


@njit(cache=_CACHE, _nrt=False)
def _sift_up(hf, hi, j, t, seq, m, kind, ver):
    """Place the event (t, seq, m, kind, ver) at the free place ``j`` of the heap, moving it
    up to where it belongs: parents move down into the hole, one move a level, not a swap."""
    while j > 0:
        p = (j - 1) >> 1
        if hf[p] < t or (hf[p] == t and hi[p, HI.SEQ] < seq):
            break
        hf[j] = hf[p]
        for c in range(H_COLUMNS):
            hi[j, c] = hi[p, c]
        j = p
    hf[j] = t
    hi[j, HI.SEQ] = seq
    hi[j, HI.MACHINE] = m
    hi[j, HI.KIND] = kind
    hi[j, HI.VERSION] = ver


@njit(cache=_CACHE, _nrt=False)
def _heap_push(hf, hi, ci, length, top, t, seq, m, kind, ver):
    """Insert an event into the heap ``hf, hi`` whose length is ``ci[length]`` and whose
    processed top is marked by ``CI.TOP_DONE == top``.

    When the top was processed, the new event takes its place bottom-up (Floyd): the free root
    moves down to a leaf, then the event moves up from there — usually a level or two, as a new
    event is usually a late one; a plain sift-down would compare it at every level, and that
    comparison's branch was mispredicted often (perf, issue 18). Keys (time, ``SEQ``) are
    unique, so the heap's shape never changes which event comes out next."""
    # takes only the arrays it needs (it is called from everywhere): a call that stays a call
    # passes every member of every array argument
    if ci[CI.TOP_DONE] == top:  # the top was processed: the new event takes its place
        ci[CI.TOP_DONE] = 0
        j = _hole_to_leaf(hf, hi, ci[length])
    else:
        j = ci[length]
        ci[length] = j + 1
    _sift_up(hf, hi, j, t, seq, m, kind, ver)


@njit(cache=_CACHE, _nrt=False)
def push(st, t, m, kind, ver):
    """Schedule an event of ``kind`` for machine ``m`` (−1: the sampler) at ``t`` [s].

    An event at the current time goes to the ring ``due_int`` (processed after the heap's
    events at that time, which were all scheduled before it, and before any later time: the
    same order as one queue by time and scheduling order); a later one to the heap, or to the
    batch heap for a batch station's machine. The loop takes the earlier of the two heaps' tops
    (by time, then scheduling order), so the two heaps order events as one does; the batch heap
    keeps racks of formation and aging (hundreds of events, days ahead) out of the heap that
    the fast stations' events go through (issue 18: log₂ 500 levels a heap operation before)."""
    ci = st.counts
    seq = ci[CI.SEQ]
    ci[CI.SEQ] = seq + 1
    if t == st.sums[CF.NOW]:
        q = st.due_int
        j = _ring(ci[CI.DUE_HEAD] + ci[CI.DUE_LEN], len(q))
        q[j, HI.SEQ] = seq
        q[j, HI.MACHINE] = m
        q[j, HI.KIND] = kind
        q[j, HI.VERSION] = ver
        ci[CI.DUE_LEN] += 1
        return
    # one call site of _heap_push (two made LLVM leave push, which takes the State, a call)
    hf, hi, length, top = st.heap_time, st.heap_int, CI.HEAP_LEN, TOP_HEAP
    if m >= 0 and st.station_int[st.machine_int[m, MI.STATION], SI.BATCH]:
        hf, hi, length, top = st.batch_time, st.batch_int, CI.BATCH_LEN, TOP_BATCH
    _heap_push(hf, hi, ci, length, top, t, seq, m, kind, ver)


@njit(cache=_CACHE, _nrt=False)
def _pop(hf, hi, ci, length):
    """Remove the top event of the heap whose length is ``ci[length]`` (the one processed:
    ``CI.TOP_DONE``).

    Bottom-up (Floyd): the hole left at the root moves down to a leaf, each level taking the
    earlier child (one comparison a level), then the heap's last event fills it and moves up
    to its place — usually not at all, as the last event is usually a late one (a rack of
    cells in aging or formation), where a plain sift-down would compare it at every level.
    Takes only the heap's arrays, as :func:`_heap_push`."""
    ci[CI.TOP_DONE] = 0
    n = ci[length] - 1
    ci[length] = n
    if n == 0:
        return
    j = _hole_to_leaf(hf, hi, n)
    _sift_up(hf, hi, j, hf[n], hi[n, HI.SEQ], hi[n, HI.MACHINE], hi[n, HI.KIND], hi[n, HI.VERSION])


@njit(cache=_CACHE, _nrt=False)
def _other_now(st, now):
    """Whether another event is scheduled at ``now`` (the event being processed aside)."""
    ci = st.counts
    _pop_done(st, ci)
    return (
        ci[CI.DUE_LEN] > 0
        or (ci[CI.HEAP_LEN] > 0 and st.heap_time[0] == now)
        or (ci[CI.BATCH_LEN] > 0 and st.batch_time[0] == now)
    )


@njit(cache=_CACHE, _nrt=False)
def _pop_done(st, ci):
    """Remove the processed top (``CI.TOP_DONE``) from its heap, if it is still there."""
    if ci[CI.TOP_DONE] == TOP_HEAP:
        _pop(st.heap_time, st.heap_int, ci, CI.HEAP_LEN)
    elif ci[CI.TOP_DONE] == TOP_BATCH:
        _pop(st.batch_time, st.batch_int, ci, CI.BATCH_LEN)


@njit(cache=_CACHE, _nrt=False)
def _at_now(hf, n, done, now):
    """Whether the heap ``hf`` of ``n`` events holds one at ``now`` besides its processed top
    (``done``: the top is the event being processed; the next is one of its children)."""
    if done:
        return (n > 1 and hf[1] == now) or (n > 2 and hf[2] == now)
    return n > 0 and hf[0] == now


@njit(cache=_CACHE, _nrt=False)
def _resume(st, m, kind, ver, now):
    """Schedule an event of ``kind`` (EV_RESUME, EV_HANDED) for machine ``m`` at the current
    time — staged, without a place in the ring of due events, when it would be the next event.

    It would be the next one when nothing else is queued at ``now``: the ring is empty and
    neither heap holds an event at ``now`` but the one being processed (the rest of this event
    can only add ring events, and those queue behind it). The loop then takes the staged event
    before any other, after its usual checks (room, streams), as it would have taken it from
    the ring: the same events in the same order, the same draws; the seq it does not take
    moves no other event's order. One staged at a time; a second goes to the ring, behind it."""
    ci = st.counts
    if (
        ci[CI.STAGED] == 0
        and ci[CI.DUE_LEN] == 0
        and not _at_now(st.heap_time, ci[CI.HEAP_LEN], ci[CI.TOP_DONE] == TOP_HEAP, now)
        and not _at_now(st.batch_time, ci[CI.BATCH_LEN], ci[CI.TOP_DONE] == TOP_BATCH, now)
    ):
        ci[CI.STAGED] = m + 1
        ci[CI.STAGED_KIND] = kind
        ci[CI.STAGED_VER] = ver
        return
    push(st, now, m, kind, ver)


# --- rings, accounting, draws -----------------------------------------------------------------


@njit(cache=_CACHE, _nrt=False)
def _ring(j, n):
    """``j % n`` for 0 <= j < 2 n (a ring position one lap ahead at most), without a division."""
    return j - n if j >= n else j


@njit(cache=_CACHE, _nrt=False)
def _qpush(q, si, i, head, length, m):
    q[si[i, SI.FIRST] + _ring(si[i, head] + si[i, length], si[i, SI.MACHINES])] = m
    si[i, length] += 1


@njit(cache=_CACHE, _nrt=False)
def _qpop(q, si, i, head, length):
    m = q[si[i, SI.FIRST] + si[i, head]]
    si[i, head] = _ring(si[i, head] + 1, si[i, SI.MACHINES])
    si[i, length] -= 1
    return m


@njit(cache=_CACHE, _nrt=False)
def _wip(st, delta, now):
    ci, cf = st.counts, st.sums
    cf[CF.WIP_AREA] += ci[CI.WIP] * (now - cf[CF.WIP_SINCE])
    cf[CF.WIP_SINCE] = now
    ci[CI.WIP] += delta


@njit(cache=_CACHE, _nrt=False)
def _carry(st, to_ready, to_wait, dst, from_ready, from_wait, src):
    """Move a cell's exposure record (ready time, dry-room wait) with the cell, on a line that
    tracks exposure (held_* for cells in machines, buffered_* for cells in buffers)."""
    if st.counts[CI.TRACK]:
        to_ready[dst] = from_ready[src]
        to_wait[dst] = from_wait[src]


@njit(cache=_CACHE, _nrt=False)
def _wait(mi, mf, m, state, now):
    mi[m, MI.STATE] = state
    mf[m, MF.SINCE] = now


@njit(cache=_CACHE, _nrt=False)
def _waited(st, m, now):
    """A wait ends: its length goes to the machine's state, its off-shift part to ACC_OFF."""
    mi, mf = st.machine_int, st.machine_float
    s = mi[m, MI.STATE]
    i = mi[m, MI.STATION]
    work_s = st.station_float[i, SF.CAL_WORK_S]
    if work_s != 0.0:
        off = _off_time(mf[m, MF.SINCE], now, work_s, st.station_int[i, SI.CAL_DAYS])
        mf[m, MF.ACC_OFF] += off
        mf[m, MF.ACC_BUSY + s] += (now - mf[m, MF.SINCE]) - off
    else:
        mf[m, MF.ACC_BUSY + s] += now - mf[m, MF.SINCE]
    mi[m, MI.STATE] = IDLE


@njit(cache=_CACHE, _nrt=False)
def _draw(st, k):
    """The next number of stream row ``k``."""
    j = st.draw_pos[k]
    if j >= st.draw_end[k]:
        st.counts[CI.ERROR] = k + 1  # ran dry inside one event: the caller raises
        return 1.0
    st.draw_pos[k] = j + 1
    return st.draws[k, j]


_exposure_probability = njit(_nrt=False)(exposure_probability)
_working_end = working_end  # register_jitable: compiled into the loop
_off_time = clock.off_time


# --- a machine's steps ------------------------------------------------------------------------


@njit(cache=_CACHE, _nrt=False, inline="always")
def _serve(st, m, i, g, now):
    """Start a service of machine ``m`` (station ``i``, group ``g``): its time, then the repairs
    of the failures during it (the failure clock runs on operating time only)."""
    mi, mf, gf, gi = st.machine_int, st.machine_float, st.group_float, st.group_int
    if st.station_int[i, SI.DRY_ROOM]:  # set only on a line that tracks exposure
        hr, hx = st.held_ready, st.held_wait
        for k in range(mi[m, MI.SLOT], mi[m, MI.SLOT] + mi[m, MI.LOADED]):
            hx[k] += now - hr[k]  # the cell waited in the room until its processing starts
    pm = 0.0
    if now >= mf[m, MF.PM_DUE]:  # inf without planned maintenance
        pm = gf[g, GF.PM_DURATION_S]
        mf[m, MF.PM_DUE] = now + gf[g, GF.PM_EVERY_S]
    setup = 0.0
    if mi[m, MI.CO_COUNT] >= gi[g, GI.CO_EVERY]:  # CO_NEVER without changeovers
        setup = gf[g, GF.CO_DURATION_S]
        mi[m, MI.CO_COUNT] = 0
        mi[m, MI.SCRAP_LEFT] = gi[g, GI.CO_SCRAP]
    t = gf[g, GF.MEAN_S] if gi[g, GI.DETERMINISTIC] else _draw(st, STREAMS * g + STREAM.SERVICE)
    minor = d = 0.0
    if gf[g, GF.MS_BETWEEN_S] > 0.0:
        minor = _run_clock(
            st, m, MF.TTMS, t, gf[g, GF.MS_BETWEEN_S], gf[g, GF.MS_DURATION_S], g, STREAM.MINOR
        )
    if gf[g, GF.MTBF_S] > 0.0:
        d = _run_clock(st, m, MF.TTF, t, gf[g, GF.MTBF_S], gf[g, GF.MTTR_S], g, STREAM.FAILURE)
    _start_service(st, m, i, now, pm, setup, t, minor, d, 0.0)
    mi[m, MI.PHASE] = PH_BUSY


@njit(cache=_CACHE, _nrt=False)
def _run_clock(st, m, column, busy, between, stop, g, purpose):
    """An operating-time clock of machine m (failures, minor stops; its time left in
    ``column``) over ``busy`` seconds of processing: the stop time during them
    (parts.run_clock, draw for draw)."""
    mf = st.machine_float
    k = STREAMS * g + purpose
    stopped, left = 0.0, busy
    while mf[m, column] <= left:
        left -= mf[m, column]
        stopped += stop * _draw(st, k)
        mf[m, column] = between * _draw(st, k)
    mf[m, column] -= left
    return stopped


@njit(cache=_CACHE, _nrt=False, inline="always")
def _start_service(st, m, i, now, pm, setup, t, minor, down, rework):
    """Account a service of these parts [working s] and schedule its end (parts.Machine.serve);
    ``i``: the machine's station."""
    mi, mf = st.machine_int, st.machine_float
    work = ((((pm + setup) + t) + minor) + down) + rework
    mf[m, MF.ACC_MAINTENANCE] += pm
    mf[m, MF.ACC_SETUP] += setup
    mf[m, MF.ACC_BUSY] += t
    mf[m, MF.ACC_MINOR] += minor
    mf[m, MF.ACC_DOWN] += down
    mf[m, MF.ACC_REWORK] += rework
    work_s = st.station_float[i, SF.CAL_WORK_S]
    if work_s != 0.0:
        delay = _working_end(now, work, work_s, st.station_int[i, SI.CAL_DAYS]) - now
        mf[m, MF.ACC_OFF] += delay - work
        mf[m, MF.SERVICE_END] = now + delay
    else:
        delay = work
        mf[m, MF.SERVICE_END] = (((((now + pm) + setup) + t) + minor) + down) + rework
    mi[m, MI.STATE] = BUSY
    mf[m, MF.SVC_MAINTENANCE] = pm
    mf[m, MF.SVC_SETUP] = setup
    mf[m, MF.SVC_BUSY] = t
    mf[m, MF.SVC_MINOR] = minor
    mf[m, MF.SVC_DOWN] = down
    mf[m, MF.SVC_REWORK] = rework
    push(st, now + delay, m, EV_END, 0)


@njit(cache=_CACHE, _nrt=False)
def _process(st, i, g, m, slot, now):
    """Count a processed cell, draw its defect (marks the station that will scrap it) and
    inspect it if its defect is found here; returns the machine time of its rework."""
    si, sf, hm = st.station_int, st.station_float, st.held_mark
    mi, gi = st.machine_int, st.group_int
    si[i, SI.PROCESSED] += 1
    mi[m, MI.CO_COUNT] += 1  # counted without changeovers too: cheaper than a check
    p0 = st.group_float[g, GF.P]
    p = p0
    if st.counts[CI.TRACK]:
        if gi[g, GI.EXPOSED]:
            rate, limit = sf[i, SF.EXPOSURE_RATE], sf[i, SF.QUEUE_LIMIT]
            p = _exposure_probability(p0, rate, st.held_wait[slot], limit)
        st.held_ready[slot] = now
    if mi[m, MI.SCRAP_LEFT] > 0:  # start-up scrap after a changeover
        mi[m, MI.SCRAP_LEFT] -= 1
        si[i, SI.STARTUP_SCRAP] += 1
        hm[slot] = i
        return 0.0
    if p > 0.0:
        u = _draw(st, STREAMS * g + STREAM.DEFECT)
        if u < p:
            si[i, SI.DEFECTS] += 1
            if u >= p0:
                si[i, SI.EXPOSURE_DEFECTS] += 1
            d = si[i, SI.DETECT]
            if d < hm[slot]:
                hm[slot] = d
    if hm[slot] == i and (st.group_float[g, GF.DETECTION] < 1.0 or gi[g, GI.RW_MAX] > 0):
        return _inspect(st, i, g, slot)
    return 0.0


@njit(cache=_CACHE, _nrt=False)
def _inspect(st, i, g, slot):
    """A defect found here: detected or escaped, then reworked or scrapped (as the SimPy
    engine's ``_inspect``, draw for draw); returns the rework time."""
    si, gf, gi = st.station_int, st.group_float, st.group_int
    n = len(si)
    detection, fraction = gf[g, GF.DETECTION], gf[g, GF.RW_FRACTION]
    k = STREAMS * g + STREAM.INSPECT
    rework = 0.0
    attempts = 0
    mark = i
    while True:
        if detection < 1.0 and _draw(st, k) >= detection:
            si[i, SI.ESCAPED] += 1
            mark = n + 1
            break
        if attempts >= gi[g, GI.RW_MAX] or _draw(st, k) >= fraction:
            break
        attempts += 1
        si[i, SI.REWORKED] += 1
        rework += gf[g, GF.RW_S]
        mark = n
        if gf[g, GF.P] > 0.0 and _draw(st, STREAMS * g + STREAM.DEFECT) < gf[g, GF.P]:
            si[i, SI.REWORK_DEFECTS] += 1
            mark = si[i, SI.DETECT]
        if mark != i:
            si[i, SI.REPAIRED] += 1
            break
    st.held_mark[slot] = mark
    return rework


@njit(cache=_CACHE, _nrt=False)
def _exit(st, start, mark, i, now):
    ci = st.counts
    if mark == i:
        ci[CI.SCRAPPED] += 1
        st.station_int[i, SI.SCRAPPED] += 1
    elif mark == len(st.station_int):
        ci[CI.GOOD] += 1
    else:  # an escaped defect: shipped, but not good
        ci[CI.SHIPPED_DEFECTIVE] += 1
    ci[CI.EXITS] += 1
    st.sums[CF.LEAD] += now - start
    _wip(st, -1, now)


@njit(cache=_CACHE, _nrt=False, inline="always")
def _try_get(st, m, i, slot, now):
    """Move a cell into machine m of station i, at its place ``slot`` (its first place plus
    the cells it holds), without waiting; False when there is none."""
    si, mi = st.station_int, st.machine_int
    hs, hm, bs, bm = st.held_start, st.held_mark, st.buffered_start, st.buffered_mark
    if i == 0:
        st.counts[CI.STARTED] += 1
        _wip(st, 1, now)
        hs[slot] = now
        hm[slot] = len(si)
        if st.counts[CI.TRACK]:
            st.held_ready[slot] = now
            st.held_wait[slot] = 0.0
        mi[m, MI.LOADED] += 1
        return True
    b = i - 1
    if si[b, SI.BUF_LEN] > 0:
        k = si[b, SI.BUF_OFFSET] + si[b, SI.BUF_HEAD]
        hs[slot] = bs[k]
        hm[slot] = bm[k]
        _carry(st, st.held_ready, st.held_wait, slot, st.buffered_ready, st.buffered_wait, k)
        si[b, SI.BUF_HEAD] = _ring(si[b, SI.BUF_HEAD] + 1, si[b, SI.BUF_RING])
        si[b, SI.BUF_LEN] -= 1
        if si[b, SI.PUT_LEN] > 0:  # a blocked machine upstream moves its cell into the place
            pm = _qpop(st.putters, si, b, SI.PUT_HEAD, SI.PUT_LEN)
            ps = mi[pm, MI.SLOT] + mi[pm, MI.RELEASED]
            k = si[b, SI.BUF_OFFSET] + _ring(
                si[b, SI.BUF_HEAD] + si[b, SI.BUF_LEN], si[b, SI.BUF_RING]
            )
            bs[k] = hs[ps]
            bm[k] = hm[ps]
            _carry(st, st.buffered_ready, st.buffered_wait, k, st.held_ready, st.held_wait, ps)
            si[b, SI.BUF_LEN] += 1
            mi[pm, MI.RELEASED] += 1
            _resume(st, pm, EV_RESUME, 0, now)
    elif si[b, SI.PUT_LEN] > 0:  # no buffered cell: take a blocked machine's directly
        pm = _qpop(st.putters, si, b, SI.PUT_HEAD, SI.PUT_LEN)
        ps = mi[pm, MI.SLOT] + mi[pm, MI.RELEASED]
        hs[slot] = hs[ps]
        hm[slot] = hm[ps]
        _carry(st, st.held_ready, st.held_wait, slot, st.held_ready, st.held_wait, ps)
        mi[pm, MI.RELEASED] += 1
        _resume(st, pm, EV_RESUME, 0, now)
    else:
        return False
    mi[m, MI.LOADED] += 1
    return True


@njit(cache=_CACHE, _nrt=False)
def _put_one(st, i, slot, now):
    """Move a finished cell on from station i; False when the machine must block."""
    si, mi = st.station_int, st.machine_int
    hs, hm, bs, bm = st.held_start, st.held_mark, st.buffered_start, st.buffered_mark
    mark = hm[slot]
    if mark == i or i == len(si) - 1:
        _exit(st, hs[slot], mark, i, now)
        return True
    j = i + 1
    if si[j, SI.GET_LEN] > 0:
        g = _qpop(st.getters, si, j, SI.GET_HEAD, SI.GET_LEN)
        gs = mi[g, MI.SLOT] + mi[g, MI.LOADED]
        hs[gs] = hs[slot]
        hm[gs] = mark
        _carry(st, st.held_ready, st.held_wait, gs, st.held_ready, st.held_wait, slot)
        mi[g, MI.LOADED] += 1
        if mi[g, MI.COND] == 0:
            _resume(st, g, EV_RESUME, 0, now)
        else:  # a loader waiting on "cell or deadline": the handing event, then the condition
            mi[g, MI.GOT] = 1
            if mi[g, MI.COND] == 1:
                _resume(st, g, EV_HANDED, mi[g, MI.VERSION], now)
        return True
    if si[i, SI.BUF_LEN] < si[i, SI.BUF_CAP]:
        k = si[i, SI.BUF_OFFSET] + _ring(si[i, SI.BUF_HEAD] + si[i, SI.BUF_LEN], si[i, SI.BUF_RING])
        bs[k] = hs[slot]
        bm[k] = mark
        _carry(st, st.buffered_ready, st.buffered_wait, k, st.held_ready, st.held_wait, slot)
        si[i, SI.BUF_LEN] += 1
        return True
    return False


@njit(cache=_CACHE, _nrt=False, inline="always")
def _get(st, m, i, g, slot, now):
    """A single-cell machine takes its next cell (into its place ``slot``), or waits for one."""
    if _try_get(st, m, i, slot, now):
        _serve(st, m, i, g, now)
        return
    _wait(st.machine_int, st.machine_float, m, STARVED, now)
    _qpush(st.getters, st.station_int, i, SI.GET_HEAD, SI.GET_LEN, m)
    st.machine_int[m, MI.PHASE] = PH_GET


@njit(cache=_CACHE, _nrt=False)
def _end(st, m, i, g, now):
    """A single-cell service ends: defect draw and inspection, then a rework or the cell
    moves on."""
    slot = st.machine_int[m, MI.SLOT]
    rework = _process(st, i, g, m, slot, now)
    if rework > 0.0:
        _start_service(st, m, i, now, 0.0, 0.0, 0.0, 0.0, 0.0, rework)
        st.machine_int[m, MI.PHASE] = PH_REWORK
        return
    _finish(st, m, i, g, slot, now)


@njit(cache=_CACHE, _nrt=False)
def _finish(st, m, i, g, slot, now):
    """Pass the processed cell (in the machine's place ``slot``) on, or block."""
    mi = st.machine_int
    if _put_one(st, i, slot, now):
        mi[m, MI.LOADED] = 0
        _get(st, m, i, g, slot, now)
    else:
        _wait(mi, st.machine_float, m, BLOCKED, now)
        _qpush(st.putters, st.station_int, i, SI.PUT_HEAD, SI.PUT_LEN, m)
        mi[m, MI.PHASE] = PH_PUT


@njit(cache=_CACHE, _nrt=False)
def _dock(st, m, i, g, now):
    """A batch machine waits for the loading dock, or takes it and loads."""
    si, mi = st.station_int, st.machine_int
    _wait(mi, st.machine_float, m, STARVED, now)
    if si[i, SI.DOCK_BUSY]:
        _qpush(st.dock_queue, si, i, SI.DOCK_HEAD, SI.DOCK_LEN, m)
        mi[m, MI.PHASE] = PH_DOCK
        return
    si[i, SI.DOCK_BUSY] = 1
    _load(st, m, i, g, now)


@njit(cache=_CACHE, _nrt=False)
def _set_deadline(st, m, i, now):
    sf = st.station_float
    if (
        sf[i, SF.DEADLINE] == _INF
        and sf[i, SF.MAX_WAIT] >= 0.0
        and st.machine_int[m, MI.LOADED] > 0
    ):
        sf[i, SF.DEADLINE] = now + sf[i, SF.MAX_WAIT]


@njit(cache=_CACHE, _nrt=False)
def _load(st, m, i, g, now):
    """The dock holder loads cells until its batch is full or its deadline has passed."""
    si, mi = st.station_int, st.machine_int
    unit = st.group_int[g, GI.UNIT]
    while mi[m, MI.LOADED] < unit:
        if _try_get(st, m, i, mi[m, MI.SLOT] + mi[m, MI.LOADED], now):
            _set_deadline(st, m, i, now)
            continue
        _qpush(st.getters, si, i, SI.GET_HEAD, SI.GET_LEN, m)
        deadline = st.station_float[i, SF.DEADLINE]
        mi[m, MI.PHASE] = PH_LOAD
        if deadline == _INF:
            mi[m, MI.COND] = 0
            return
        left = deadline - now
        if left > 0:
            mi[m, MI.VERSION] += 1
            mi[m, MI.COND] = 1
            _deadline(st, m, now + left)
            return
        si[i, SI.GET_LEN] -= 1  # it is the only getter of a batch station: leave at once
        break
    _start_batch(st, m, i, g, now)


@njit(cache=_CACHE, _nrt=False)
def _deadline(st, m, t):
    """Schedule the deadline of machine m's new "cell or deadline" wait at ``t`` [s].

    A loader waits again after each cell it is handed, with the same deadline: the SimPy model
    schedules a timeout each time, and all but the last are stale when they come (their wait
    has ended; issue 18: 0.7 stale events a cell on the 4 GWh line, each a push and a pop of
    the batch heap of ~500 racks). Here, while the machine's previous deadline event at the
    same ``t`` is still queued, the new one takes its scheduling order (a seq) and no place:
    when the queued event comes, it is queued again with the seq of the latest wait
    (:func:`advance`), so the live deadline is processed where the SimPy model processes it.
    The stale ones it stands for do nothing when processed (their wait's version is old) —
    except count as "another event now" in :func:`_other_now`, whose answer then only decides
    whether the wake-up runs at once or as the next event: the same result."""
    mi, mf, ci = st.machine_int, st.machine_float, st.counts
    ver = mi[m, MI.VERSION]
    if mf[m, MF.DL_TIME] == t:
        seq = ci[CI.SEQ]
        ci[CI.SEQ] = seq + 1
        mi[m, MI.DL_LIVE] = seq
        mi[m, MI.DL_VER] = ver
        return
    seq = ci[CI.SEQ]
    push(st, t, m, EV_DEADLINE, ver)
    mf[m, MF.DL_TIME] = t
    mi[m, MI.DL_SEQ] = mi[m, MI.DL_LIVE] = seq
    mi[m, MI.DL_VER] = ver


@njit(cache=_CACHE, _nrt=False)
def _start_batch(st, m, i, g, now):
    si = st.station_int
    st.station_float[i, SF.DEADLINE] = _INF
    if si[i, SI.DOCK_LEN] > 0:
        _resume(st, _qpop(st.dock_queue, si, i, SI.DOCK_HEAD, SI.DOCK_LEN), EV_RESUME, 0, now)
    else:
        si[i, SI.DOCK_BUSY] = 0
    _waited(st, m, now)
    _serve(st, m, i, g, now)


@njit(cache=_CACHE, _nrt=False)
def _release(st, m, i, g, now):
    """A batch machine passes its cells on one by one, blocking when there is no place."""
    mi, mf = st.machine_int, st.machine_float
    while mi[m, MI.RELEASED] < mi[m, MI.LOADED]:
        if _put_one(st, i, mi[m, MI.SLOT] + mi[m, MI.RELEASED], now):
            mi[m, MI.RELEASED] += 1
        else:
            if mi[m, MI.STATE] != BLOCKED:
                _wait(mi, mf, m, BLOCKED, now)
            _qpush(st.putters, st.station_int, i, SI.PUT_HEAD, SI.PUT_LEN, m)
            mi[m, MI.PHASE] = PH_PUT
            return
    if mi[m, MI.STATE] == BLOCKED:
        _waited(st, m, now)
    mi[m, MI.LOADED] = 0
    mi[m, MI.RELEASED] = 0
    _dock(st, m, i, g, now)


@njit(cache=_CACHE, _nrt=False)
def _wake(st, m, i, g, now):
    """A batch loader's "cell or deadline" condition is processed: it goes on loading with the
    cell it was handed, or starts its batch as it is."""
    mi = st.machine_int
    mi[m, MI.COND] = 0
    if mi[m, MI.GOT]:
        mi[m, MI.GOT] = 0
        _set_deadline(st, m, i, now)
        _load(st, m, i, g, now)
    else:
        st.station_int[i, SI.GET_LEN] -= 1  # leave the getter queue with a partial batch
        _start_batch(st, m, i, g, now)


# inlined by numba: compiled on its own, with LLVM's raised threshold, it was a second copy of
# the whole inlined loop, optimised once for itself and again inside ``advance`` (≈ 10 s of
# the build's CPU, issue 18)
@njit(cache=_CACHE, _nrt=False, inline="always")
def _dispatch(st, m, g, kind, ver, now):
    """Process an event of machine ``m`` (its group ``g``, read by the loop already)."""
    si, mi = st.station_int, st.machine_int
    i = mi[m, MI.STATION]
    batch = si[i, SI.BATCH]
    if kind == EV_END:
        if batch:
            for k in range(mi[m, MI.LOADED]):
                _process(st, i, g, m, mi[m, MI.SLOT] + k, now)
            mi[m, MI.STATE] = IDLE
            _release(st, m, i, g, now)
        elif mi[m, MI.PHASE] == PH_REWORK:
            _finish(st, m, i, g, mi[m, MI.SLOT], now)
        else:
            _end(st, m, i, g, now)
    elif kind == EV_DEADLINE or kind == EV_HANDED:
        # one of the condition's events is processed: the first triggers the condition
        if ver == mi[m, MI.VERSION] and mi[m, MI.COND] == 1:
            mi[m, MI.COND] = 2
            if _other_now(st, now):
                push(st, now, m, EV_WAKE, ver)
            else:  # no other event now: EV_WAKE would be the next one; run it at once
                _wake(st, m, i, g, now)
    elif kind == EV_WAKE:
        _wake(st, m, i, g, now)
    else:
        phase = mi[m, MI.PHASE]
        if phase == PH_START:
            if batch:
                _dock(st, m, i, g, now)
            else:
                _get(st, m, i, g, mi[m, MI.SLOT], now)
        elif phase == PH_GET:
            _waited(st, m, now)
            _serve(st, m, i, g, now)
        elif phase == PH_PUT:
            if batch:
                _release(st, m, i, g, now)
            else:
                _waited(st, m, now)
                mi[m, MI.LOADED] = 0
                mi[m, MI.RELEASED] = 0
                _get(st, m, i, g, mi[m, MI.SLOT], now)
        elif phase == PH_DOCK:
            _load(st, m, i, g, now)
        else:  # PH_LOAD: handed a cell while waiting without a deadline
            _set_deadline(st, m, i, now)
            _load(st, m, i, g, now)


@njit(cache=_CACHE, _nrt=False)
def _sample(st, now):
    """Record the WIP now and schedule the next sample (the SimPy engine's sampler process)."""
    ci = st.counts
    n = ci[CI.SAMPLES]
    if n < len(st.sample_time):
        st.sample_time[n] = now
        st.sample_wip[n] = ci[CI.WIP]
        ci[CI.SAMPLES] = n + 1
    push(st, now + st.sums[CF.SAMPLE_EVERY], -1, EV_SAMPLE, 0)


@njit(cache=_CACHE, _nrt=False)
def _safe_events(gi, pos, end, g):
    """How many events of group ``g`` can run on the numbers its stream rows hold: each takes
    at most its ``GI.*_NEED`` of a row (one service time unless deterministic); 0 when the
    next one could run a row dry (the caller must refill). Takes only the arrays it reads."""
    k = STREAMS * g
    safe = np.int64(1) << 62
    if not gi[g, GI.DETERMINISTIC]:
        safe = min(safe, end[k + STREAM.SERVICE] - pos[k + STREAM.SERVICE])
    need = gi[g, GI.DEFECT_NEED]
    if need > 0:
        safe = min(safe, (end[k + STREAM.DEFECT] - pos[k + STREAM.DEFECT]) // need)
    need = gi[g, GI.FAILURE_NEED]
    if need > 0:
        safe = min(safe, (end[k + STREAM.FAILURE] - pos[k + STREAM.FAILURE]) // need)
    need = gi[g, GI.MINOR_NEED]
    if need > 0:
        safe = min(safe, (end[k + STREAM.MINOR] - pos[k + STREAM.MINOR]) // need)
    need = gi[g, GI.INSPECT_NEED]
    if need > 0:
        safe = min(safe, (end[k + STREAM.INSPECT] - pos[k + STREAM.INSPECT]) // need)
    return safe


def _loop(formula_text: str):
    """The event loop, compiled with ``formula_text`` (the source of the shared formulas it
    compiles from other modules) in its closure: numba keys its on-disk cache on this file's
    text and on the closure, so editing such a formula recompiles the loop."""

    @njit(cache=_CACHE, _nrt=False)
    def advance(st, until):
        """Run events before ``until`` [s]; returns DONE, REFILL (group in CI.NEED) or GROW."""
        if len(formula_text) == 0:  # never: it only keys the cache
            return DONE
        # every table's width, checked here, is a constant for LLVM below (it propagates the
        # equality): ``a[row, column]`` multiplies ``row`` by a constant, not by the shape
        # reloaded from the stack (issue 18: callgrind, 5 % of the loop's instructions)
        if (
            st.station_int.shape[1] != W_SI
            or st.station_float.shape[1] != W_SF
            or st.machine_int.shape[1] != W_MI
            or st.machine_float.shape[1] != W_MF
            or st.group_int.shape[1] != W_GI
            or st.group_float.shape[1] != W_GF
            or st.heap_int.shape[1] != W_HI
            or st.batch_int.shape[1] != W_HI
            or st.due_int.shape[1] != W_HI
        ):
            raise ValueError("fast_kernel.advance: a table's width differs from its layout")
        mi, gi = st.machine_int, st.group_int
        hf, hi, ci, q = st.heap_time, st.heap_int, st.counts, st.due_int
        bf, bi = st.batch_time, st.batch_int
        pos, end = st.draw_pos, st.draw_end
        n_machines = len(mi)
        while True:
            margin = n_machines + 8
            if (
                ci[CI.HEAP_LEN] + margin > len(hf)
                or ci[CI.BATCH_LEN] + margin > len(bf)
                or ci[CI.DUE_LEN] + margin > len(q)
            ):
                return GROW
            # the heaps' next event: the earlier of their tops (time, then scheduling order)
            top = 0
            t = 0.0
            if ci[CI.HEAP_LEN] > 0:
                top = TOP_HEAP
                t = hf[0]
            if ci[CI.BATCH_LEN] > 0 and (
                top == 0 or bf[0] < t or (bf[0] == t and bi[0, HI.SEQ] < hi[0, HI.SEQ])
            ):
                top = TOP_BATCH
                t = bf[0]
            # the next event: a staged one, the heaps' at the current time, then the ring's,
            # then the heaps'
            now = st.sums[CF.NOW]
            staged = ci[CI.STAGED]
            due = ci[CI.DUE_LEN] > 0 and now < until
            if due and top != 0 and t <= now:
                due = False
            if staged:
                due = False
                t = now
                m = staged - 1
                kind = ci[CI.STAGED_KIND]
                ver = ci[CI.STAGED_VER]
            elif due:
                j = ci[CI.DUE_HEAD]
                t = now
                m = q[j, HI.MACHINE]
                kind = q[j, HI.KIND]
                ver = q[j, HI.VERSION]
            elif top == TOP_HEAP and t < until:
                m = hi[0, HI.MACHINE]
                kind = hi[0, HI.KIND]
                ver = hi[0, HI.VERSION]
            elif top == TOP_BATCH and t < until:
                m = bi[0, HI.MACHINE]
                kind = bi[0, HI.KIND]
                ver = bi[0, HI.VERSION]
                if kind == EV_DEADLINE and st.machine_float[m, MF.DL_TIME] == t:
                    seq = bi[0, HI.SEQ]
                    if mi[m, MI.DL_SEQ] == seq:  # the deadline event _deadline follows
                        live = mi[m, MI.DL_LIVE]
                        if live != seq:  # it stands for a later wait's: queue it as that one
                            ver = mi[m, MI.DL_VER]
                            mi[m, MI.DL_SEQ] = live
                            ci[CI.TOP_DONE] = TOP_BATCH
                            _heap_push(bf, bi, ci, CI.BATCH_LEN, TOP_BATCH, t, live, m, kind, ver)
                            continue
                        st.machine_float[m, MF.DL_TIME] = 0.0
            else:
                return DONE
            if kind != EV_SAMPLE:
                # the group's streams are checked once per GI.SAFE events, not every event:
                # REFILL is returned before the same event as a check every event would
                g = mi[m, MI.GROUP]
                safe = gi[g, GI.SAFE]
                if safe == 0:
                    safe = _safe_events(gi, pos, end, g)
                    if safe == 0:
                        ci[CI.NEED] = g
                        return REFILL
                gi[g, GI.SAFE] = safe - 1
            if staged:
                ci[CI.STAGED] = 0
            elif due:
                ci[CI.DUE_HEAD] = _ring(j + 1, len(q))
                ci[CI.DUE_LEN] -= 1
            else:
                ci[CI.TOP_DONE] = top  # removed after the event, or replaced by a push
                st.sums[CF.NOW] = t
            if kind == EV_SAMPLE:
                _sample(st, t)
            else:
                _dispatch(st, m, g, kind, ver, t)
            _pop_done(st, ci)
            if ci[CI.ERROR]:
                return DONE
        return DONE

    return advance


advance = _loop(
    hashlib.sha256(
        (inspect.getsource(exposure_probability) + inspect.getsource(clock)).encode()
    ).hexdigest()
)


# --- one machine code per function ---------------------------------------------------------
# numba compiles a called function once per distinct type of its arguments, and a constant
# argument has a type of its own (``Literal[int](5)``): ``push(st, t, m, EV_END, 0)`` and its
# like compiled 6 versions of ``push`` and 7 of ``_sift_up``, each with all it calls, 8–12 s of
# the build's CPU (issue 18: the first run). Their code is the same for every constant, and
# once LLVM has inlined them into the loop the constants propagate anyway; so each function is
# typed for the plain types of its arguments (``int64``), once.
def _typed_once(dispatcher) -> None:
    """Make calls from compiled code resolve ``dispatcher`` with its arguments' literal types
    replaced by their plain types (numba's ``Dispatcher.get_call_template``)."""
    resolve = dispatcher.get_call_template

    def get_call_template(args, kws):
        plain = tuple(types.unliteral(a) for a in args)
        return resolve(plain, {k: types.unliteral(v) for k, v in kws.items()})

    dispatcher.get_call_template = get_call_template


for _function in list(globals().values()):
    # a numba without this resolver compiles as before: more versions, the same results
    if isinstance(_function, Dispatcher) and hasattr(_function, "get_call_template"):
        _typed_once(_function)
del _function
