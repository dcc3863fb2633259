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

import numpy as np

from linesim.rates import machine_rate_cells_per_h
from linesim.simulation import fast_kernel as K
from linesim.simulation.draws import draw_service, exposure_parameters, generators, stream_root
from linesim.simulation.records import SimResult, build_result
from linesim.spec import LineSpec

__all__ = ["simulate_fast"]

_WIP_SAMPLES = 200
_MIN_BLOCK = 16384  #: numbers pre-drawn per stream and block
_MIN_HEAP = 64  #: initial event-heap capacity (grown by doubling when the loop asks)


class _Streams:
    """Pre-drawn numbers of every group and purpose, refilled block by block."""

    def __init__(self, groups: list[dict], block: int):
        self.block = block
        self.groups = groups
        self.draws = np.zeros((3 * len(groups), block))
        self.pos = np.zeros(3 * len(groups), dtype=np.int64)
        self.avail = np.zeros(3 * len(groups), dtype=np.int64)
        for g in range(len(groups)):
            self.refill(g)

    def refill(self, g: int) -> None:
        grp = self.groups[g]
        service, defect, failure = grp["gens"]
        fills = (
            None if grp["dist"] == "deterministic" else
            (lambda n: draw_service(service, grp["dist"], grp["mean_s"], grp["cv"], n)),
            defect.random if grp["p"] > 0 or grp["exposed"] else None,
            failure.standard_exponential if grp["mtbf_s"] else None,
        )
        for purpose, fill in enumerate(fills):
            if fill is None:
                continue
            k = 3 * g + purpose
            row, left = self.draws[k], self.avail[k] - self.pos[k]
            row[:left] = row[self.pos[k]:self.avail[k]]
            row[left:] = fill(self.block - left)
            self.pos[k], self.avail[k] = 0, self.block


def _build(spec: LineSpec, rng: np.random.Generator, horizon_s: float, warmup_s: float):
    """The kernel's state tuple for a fresh line (see fast_kernel for the columns)."""
    n = len(spec.stations)
    root = stream_root(rng)
    exposure = exposure_parameters(spec)
    groups, machines = [], []  # machines: (station, group, slots)
    for i, station in enumerate(spec.stations):
        for j, eq in enumerate(station.equipment()):
            unit = eq.batch_size if eq.kind == "batch" else 1
            mean_s = unit * 3600.0 / machine_rate_cells_per_h(eq)
            mtbf_s = eq.mtbf_h * 3600.0 if eq.mtbf_h else 0.0
            failures = mean_s / mtbf_s if mtbf_s else 0.0  # expected per service
            groups.append({
                "gens": generators(root, i, j), "dist": station.process_time_dist,
                "cv": station.process_time_cv, "mean_s": mean_s, "p": eq.defect_probability,
                "mtbf_s": mtbf_s, "mttr_s": eq.mttr_h * 3600.0 if eq.mttr_h else 0.0,
                "unit": unit, "fneed": 64 + math.ceil(20 * failures) if mtbf_s else 0,
                "exposed": exposure is not None and (exposure[1][i] > 0.0
                                                     or exposure[2][i] < math.inf),
            })
            machines += [(i, len(groups) - 1, unit)] * eq.count
    n_m = len(machines)
    block = max(_MIN_BLOCK, 4 * max(max(g["unit"], g["fneed"]) for g in groups), 4 * n_m)
    streams = _Streams(groups, block)

    gf = np.array([[g["mean_s"], g["p"], g["mtbf_s"], g["mttr_s"]] for g in groups])
    gi = np.array([[g["unit"], g["dist"] == "deterministic",
                    g["unit"] if g["p"] > 0 or g["exposed"] else 0,
                    g["fneed"]] for g in groups], dtype=np.int64)
    si = np.zeros((n, 21), dtype=np.int64)
    sf = np.full((n, 4), np.inf)
    if exposure is not None:
        si[:, K.S_DRY] = exposure[0]
        sf[:, K.X_XRATE] = exposure[1]
        sf[:, K.X_XLIMIT] = exposure[2]
    detect = spec.detection_index()
    first = boff = 0
    for i, station in enumerate(spec.stations):
        count = sum(1 for m in machines if m[0] == i)
        cap = station.buffer_after if i < n - 1 else 0
        si[i, [K.S_FIRST, K.S_COUNT, K.S_BATCH, K.S_DETECT, K.S_BOFF, K.S_BCAP, K.S_BRING]] = (
            first, max(count, 1), station.kind == "batch", detect[i], boff, cap, max(cap, 1))
        sf[i, K.X_MAXWAIT] = station.max_wait_s if station.max_wait_s is not None else -1.0
        first += count
        boff += max(cap, 1)
    mi = np.zeros((n_m, 10), dtype=np.int64)
    mf = np.zeros((n_m, 8))
    slot = 0
    for m, (i, g, unit) in enumerate(machines):
        mi[m, [K.M_ST, K.M_GRP, K.M_SLOT, K.M_STATE]] = i, g, slot, K.IDLE
        slot += unit
        grp = groups[g]
        if grp["mtbf_s"]:  # the first time to failure, drawn as the SimPy engine draws it
            k = 3 * g + 2
            mf[m, K.F_TTF] = grp["mtbf_s"] * streams.draws[k, streams.pos[k]]
            streams.pos[k] += 1
        else:
            mf[m, K.F_TTF] = np.inf
    heap = max(_MIN_HEAP, n_m + 1)  # the first events; the loop asks for more
    ci = np.zeros(11, dtype=np.int64)
    ci[K.C_TRACK] = exposure is not None
    cf = np.zeros(4)
    cf[K.D_SEVERY] = (warmup_s + horizon_s) / _WIP_SAMPLES
    st = [si, sf, mi, mf, gf, gi,
          np.zeros(slot), np.zeros(slot, dtype=np.int64),  # held cells: start time, mark
          np.zeros(boff), np.zeros(boff, dtype=np.int64),  # buffered cells
          np.zeros(n_m, dtype=np.int64), np.zeros(n_m, dtype=np.int64),  # getter, putter queues
          np.zeros(n_m, dtype=np.int64),  # dock queue
          np.zeros(heap), np.zeros((heap, 4), dtype=np.int64), ci, cf,
          streams.draws, streams.pos, streams.avail,
          np.zeros(_WIP_SAMPLES + 2), np.zeros(_WIP_SAMPLES + 2, dtype=np.int64),
          # exposure (empty without it): held cells' ready time and wait, buffered cells' too
          np.zeros(slot if exposure else 0), np.zeros(slot if exposure else 0),
          np.zeros(boff if exposure else 0), np.zeros(boff if exposure else 0)]
    st = tuple(st)
    for m in range(n_m):  # every machine starts at t = 0, in creation order (as SimPy's)
        K._push(st, 0.0, m, K.EV_RESUME, 0)
    K._push(st, 0.0, -1, K.EV_SAMPLE, 0)  # then the WIP sampler, as in the SimPy engine
    return st, streams


def _run_until(st: tuple, streams: _Streams, until: float) -> tuple:
    while True:
        code = K.advance(st, until)
        ci = st[15]
        if ci[K.C_ERR]:
            raise RuntimeError(
                "fast engine: a random stream ran dry inside one event (stream "
                f"{ci[K.C_ERR] - 1}); an MTBF far shorter than one service can cause this")
        if code == K.DONE:
            return st
        if code == K.REFILL:
            streams.refill(int(ci[K.C_NEED]))
        else:  # GROW the heap
            hf, hi = st[13], st[14]
            n = len(hf)
            hf2, hi2 = np.zeros(2 * n), np.zeros((2 * n, 4), dtype=np.int64)
            hf2[:n], hi2[:n] = hf, hi
            st = st[:13] + (hf2, hi2) + st[15:]


def _snapshot(st: tuple, now: float) -> dict:
    """The counters at ``now``, with running services and waits cut at ``now`` (as SimPy's)."""
    si, mi, mf, ci, cf = st[0], st[2], st[3], st[15], st[16]
    cf[K.D_WIPAREA] += ci[K.C_WIP] * (now - cf[K.D_WIPSINCE])  # as SimPy's _wip_change(0)
    cf[K.D_WIPSINCE] = now
    counts = np.bincount(mi[:, K.M_ST], minlength=len(si))
    acc_by_station = []
    for i in range(len(si)):
        first = si[i, K.S_FIRST]
        rows = []
        for m in range(first, first + counts[i]):
            acc = [float(x) for x in mf[m, K.F_ACC:K.F_ACC + 4]]
            state = mi[m, K.M_STATE]
            if state == K.BUSY:
                future = float(mf[m, K.F_END]) - now
                if future > 0:
                    future_down = min(future, float(mf[m, K.F_DOWN]))
                    acc[K.DOWN] -= future_down
                    acc[K.BUSY] -= future - future_down
            elif state != K.IDLE:
                acc[state] += now - float(mf[m, K.F_SINCE])
            rows.append(acc)
        acc_by_station.append([sum(col) for col in zip(*rows)][:4] if rows else [0.0] * 4)
    return {
        "started": int(ci[K.C_STARTED]), "good": int(ci[K.C_GOOD]),
        "scrapped": int(ci[K.C_SCRAP]), "exits": int(ci[K.C_EXITS]),
        "wip_area": float(cf[K.D_WIPAREA]), "lead_sum": float(cf[K.D_LEAD]),
        "processed": [int(x) for x in si[:, K.S_PROC]],
        "defects": [int(x) for x in si[:, K.S_DEF]],
        "scrapped_at": [int(x) for x in si[:, K.S_SCRAP]],
        "exposure_defects": [int(x) for x in si[:, K.S_XDEF]],
        "acc": acc_by_station,
    }


def simulate_fast(spec: LineSpec, horizon_s: float, warmup_s: float = 0.0,
                  rng: np.random.Generator | int | None = None, *, replication: int = 0,
                  seed: int | None = None) -> SimResult:
    """Simulate one replication on the fast engine (arguments as :func:`simulate_once`; no
    exit trace — :func:`linesim.simulation.engine_for` sends that to the SimPy engine)."""
    if horizon_s <= 0 or warmup_s < 0:
        raise ValueError("horizon_s must be > 0 and warmup_s ≥ 0")
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    st, streams = _build(spec, rng, horizon_s, warmup_s)
    start = _snapshot(st, 0.0)
    if warmup_s > 0:
        st = _run_until(st, streams, warmup_s)
        start = _snapshot(st, warmup_s)
    st = _run_until(st, streams, warmup_s + horizon_s)
    end = _snapshot(st, warmup_s + horizon_s)
    si, mi, ci = st[0], st[2], st[15]
    in_process = int(si[:, K.S_BLEN].sum() + (mi[:, K.M_NLOAD] - mi[:, K.M_OUT]).sum())
    samp_t, samp_w = st[20], st[21]
    samples = [(float(samp_t[k]), int(samp_w[k])) for k in range(int(ci[K.C_NSAMP]))]
    return build_result(spec, start, end, seed=seed, replication=replication,
                        warmup_s=warmup_s, horizon_s=horizon_s, in_process=in_process,
                        samples=samples, engine="fast")
