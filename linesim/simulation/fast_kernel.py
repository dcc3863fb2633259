"""The compiled event loop of the fast engine (numba); the same model as the SimPy engine.

The loop mirrors :mod:`linesim.simulation.engine` step for step, so that fed the same random
streams the two engines give bit-identical results (tested). The SimPy engine's processes
become a phase per machine, its events a binary heap ordered like SimPy's queue — by time, then
by the order in which events were scheduled — and every place where the SimPy model schedules
an event (a timeout, ``event.succeed()``, a condition ``ev | timeout``) pushes one here, in the
same order:

- ``RESUME``: a waiting machine goes on (it was handed a cell, its cell was taken, or it got
  the loading dock); ``END``: a service ends; ``TIMEOUT`` and ``COND``: a batch loader's
  ``max_wait`` deadline and the condition event that wakes it (SimPy needs two hops there);
  ``SAMPLE``: the WIP sampler (machine index −1), a process of its own in the SimPy engine.
- Cells are a start time and a detection mark (the station that will scrap the cell, or n for
  a good one) — and, on a line with an exposure window, the time the cell became ready to move
  and its dry-room wait so far — held in ring buffers and in per-machine slots (a batch machine
  has one slot per place in its batch), so nothing allocates while the loop runs.

All state lives in the arrays of the tuple ``st`` (built in :mod:`linesim.simulation.fast`), so
the loop can stop and resume: it returns when the heap nears its capacity (the caller grows
it), when the next event's group could run out of pre-drawn numbers (the caller refills that
group's streams), or when the next event lies at or after ``until``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# machine int columns
M_ST, M_GRP, M_SLOT, M_STATE, M_PHASE, M_NLOAD, M_OUT, M_VER, M_COND, M_GOT = range(10)
# machine float columns: since, accumulators by state (1 + state), failure clock, service end
F_SINCE, F_ACC, F_TTF, F_END, F_DOWN = 0, 1, 5, 6, 7
# station int columns
(S_FIRST, S_COUNT, S_BATCH, S_DETECT, S_BOFF, S_BCAP, S_BRING, S_BHEAD, S_BLEN, S_GHEAD, S_GLEN,
 S_PHEAD, S_PLEN, S_DHEAD, S_DLEN, S_DOCK, S_PROC, S_DEF, S_SCRAP, S_DRY, S_XDEF) = range(21)
# station float columns: batch max wait and deadline; exposure rate [1/s] and queue-time limit
X_MAXWAIT, X_DEADLINE, X_XRATE, X_XLIMIT = 0, 1, 2, 3
# group columns: floats (mean service, p, MTBF, MTTR); ints (batch size, deterministic, and the
# numbers one event may need from the defect and failure streams)
G_MEAN, G_P, G_MTBF, G_MTTR = range(4)
GI_UNIT, GI_DET, GI_DNEED, GI_FNEED = range(4)
# counters (ints) and sums (floats)
C_STARTED, C_GOOD, C_SCRAP, C_EXITS, C_WIP, C_SEQ, C_HN, C_NSAMP, C_NEED, C_ERR, C_TRACK = range(11)
D_WIPAREA, D_WIPSINCE, D_LEAD, D_SEVERY = range(4)
# machine states (as in parts.py), phases, event kinds
BUSY, DOWN, BLOCKED, STARVED, IDLE = 0, 1, 2, 3, 4
PH_START, PH_GET, PH_BUSY, PH_PUT, PH_DOCK, PH_LOAD = range(6)
EV_RESUME, EV_END, EV_TIMEOUT, EV_COND, EV_SAMPLE = range(5)
# kernel return codes
DONE, REFILL, GROW = 0, 1, 2

_INF = np.inf


@njit(cache=True, _nrt=False, inline="always")
def _before(hf, hi, a, b):
    return hf[a] < hf[b] or (hf[a] == hf[b] and hi[a, 0] < hi[b, 0])


@njit(cache=True, _nrt=False)
def _push(st, t, m, kind, ver):
    hf, hi, ci = st[13], st[14], st[15]
    j = ci[C_HN]
    seq = ci[C_SEQ]
    ci[C_SEQ] = seq + 1
    ci[C_HN] = j + 1
    while j > 0:
        p = (j - 1) >> 1
        if hf[p] < t or (hf[p] == t and hi[p, 0] < seq):
            break
        hf[j] = hf[p]
        for c in range(4):
            hi[j, c] = hi[p, c]
        j = p
    hf[j] = t
    hi[j, 0] = seq
    hi[j, 1] = m
    hi[j, 2] = kind
    hi[j, 3] = ver


@njit(cache=True, _nrt=False, inline="always")
def _pop(st):
    """Remove the earliest event (the caller has read it at index 0)."""
    hf, hi, ci = st[13], st[14], st[15]
    n = ci[C_HN] - 1
    ci[C_HN] = n
    if n == 0:
        return
    hf[0] = hf[n]
    for c in range(4):
        hi[0, c] = hi[n, c]
    j = 0
    while True:
        a = 2 * j + 1
        if a >= n:
            break
        b = a + 1
        if b < n and _before(hf, hi, b, a):
            a = b
        if not _before(hf, hi, a, j):
            break
        hf[j], hf[a] = hf[a], hf[j]
        for c in range(4):
            hi[j, c], hi[a, c] = hi[a, c], hi[j, c]
        j = a


@njit(cache=True, _nrt=False, inline="always")
def _qpush(q, si, i, head, length, m):
    q[si[i, S_FIRST] + (si[i, head] + si[i, length]) % si[i, S_COUNT]] = m
    si[i, length] += 1


@njit(cache=True, _nrt=False, inline="always")
def _qpop(q, si, i, head, length):
    m = q[si[i, S_FIRST] + si[i, head]]
    si[i, head] = (si[i, head] + 1) % si[i, S_COUNT]
    si[i, length] -= 1
    return m


@njit(cache=True, _nrt=False, inline="always")
def _wip(st, delta, now):
    ci, cf = st[15], st[16]
    cf[D_WIPAREA] += ci[C_WIP] * (now - cf[D_WIPSINCE])
    cf[D_WIPSINCE] = now
    ci[C_WIP] += delta


@njit(cache=True, _nrt=False, inline="always")
def _carry(st, to_ready, to_wait, dst, from_ready, from_wait, src):
    """Move a cell's exposure record (ready time, dry-room wait) with the cell, on a line that
    tracks exposure (the arrays: st[22], st[23] held cells; st[24], st[25] buffered cells)."""
    if st[15][C_TRACK]:
        to_ready[dst] = from_ready[src]
        to_wait[dst] = from_wait[src]


@njit(cache=True, _nrt=False, inline="always")
def _wait(mi, mf, m, state, now):
    mi[m, M_STATE] = state
    mf[m, F_SINCE] = now


@njit(cache=True, _nrt=False, inline="always")
def _waited(mi, mf, m, now):
    s = mi[m, M_STATE]
    mf[m, F_ACC + s] += now - mf[m, F_SINCE]
    mi[m, M_STATE] = IDLE


@njit(cache=True, _nrt=False, inline="always")
def _draw(st, k):
    draws, pos, avail, ci = st[17], st[18], st[19], st[15]
    j = pos[k]
    if j >= avail[k]:
        ci[C_ERR] = k + 1  # ran dry inside one event: the caller raises
        return 1.0
    pos[k] = j + 1
    return draws[k, j]


@njit(cache=True, _nrt=False, inline="always")
def _serve(st, m, g, now):
    mi, mf, gf, gi = st[2], st[3], st[4], st[5]
    if st[15][C_TRACK] and st[0][mi[m, M_ST], S_DRY]:
        hr, hx = st[22], st[23]
        for k in range(mi[m, M_SLOT], mi[m, M_SLOT] + mi[m, M_NLOAD]):
            hx[k] += now - hr[k]  # the cell waited in the room until its processing starts
    t = gf[g, G_MEAN] if gi[g, GI_DET] else _draw(st, 3 * g)
    d = 0.0
    mtbf = gf[g, G_MTBF]
    if mtbf > 0.0:
        left = t
        while mf[m, F_TTF] <= left:
            left -= mf[m, F_TTF]
            d += gf[g, G_MTTR] * _draw(st, 3 * g + 2)
            mf[m, F_TTF] = mtbf * _draw(st, 3 * g + 2)
        mf[m, F_TTF] -= left
    mf[m, F_ACC + BUSY] += t
    mf[m, F_ACC + DOWN] += d
    mi[m, M_STATE] = BUSY
    mf[m, F_END] = now + t + d
    mf[m, F_DOWN] = d
    mi[m, M_PHASE] = PH_BUSY
    _push(st, now + (t + d), m, EV_END, 0)


@njit(cache=True, _nrt=False, inline="always")
def _process(st, i, g, slot, now):
    """Count a processed cell and draw its defect (marks the station that will scrap it)."""
    si, sf, gf, hm = st[0], st[1], st[4], st[7]
    si[i, S_PROC] += 1
    p0 = gf[g, G_P]
    p = p0
    if st[15][C_TRACK]:
        rate, limit = sf[i, X_XRATE], sf[i, X_XLIMIT]
        if rate > 0.0 or limit < _INF:  # linesim.spec.process.exposure_probability
            w = st[23][slot]
            p = 1.0 if w > limit else p0 - (1.0 - p0) * math.expm1(-rate * w)
        st[22][slot] = now
    if p > 0.0:
        u = _draw(st, 3 * g + 1)
        if u < p:
            si[i, S_DEF] += 1
            if u >= p0:
                si[i, S_XDEF] += 1
            d = si[i, S_DETECT]
            if d < hm[slot]:
                hm[slot] = d


@njit(cache=True, _nrt=False, inline="always")
def _exit(st, start, scrapped, i, now):
    si, ci, cf = st[0], st[15], st[16]
    if scrapped:
        ci[C_SCRAP] += 1
        si[i, S_SCRAP] += 1
    else:
        ci[C_GOOD] += 1
    ci[C_EXITS] += 1
    cf[D_LEAD] += now - start
    _wip(st, -1, now)


@njit(cache=True, _nrt=False, inline="always")
def _try_get(st, m, i, now):
    """Move a cell into machine m of station i without waiting; False when there is none."""
    si, mi, hs, hm, bs, bm, pq = st[0], st[2], st[6], st[7], st[8], st[9], st[11]
    slot = mi[m, M_SLOT] + mi[m, M_NLOAD]
    if i == 0:
        st[15][C_STARTED] += 1
        _wip(st, 1, now)
        hs[slot] = now
        hm[slot] = len(si)
        if st[15][C_TRACK]:
            st[22][slot] = now
            st[23][slot] = 0.0
        mi[m, M_NLOAD] += 1
        return True
    b = i - 1
    if si[b, S_BLEN] > 0:
        k = si[b, S_BOFF] + si[b, S_BHEAD]
        hs[slot] = bs[k]
        hm[slot] = bm[k]
        _carry(st, st[22], st[23], slot, st[24], st[25], k)
        si[b, S_BHEAD] = (si[b, S_BHEAD] + 1) % si[b, S_BRING]
        si[b, S_BLEN] -= 1
        if si[b, S_PLEN] > 0:
            pm = _qpop(pq, si, b, S_PHEAD, S_PLEN)
            ps = mi[pm, M_SLOT] + mi[pm, M_OUT]
            k = si[b, S_BOFF] + (si[b, S_BHEAD] + si[b, S_BLEN]) % si[b, S_BRING]
            bs[k] = hs[ps]
            bm[k] = hm[ps]
            _carry(st, st[24], st[25], k, st[22], st[23], ps)
            si[b, S_BLEN] += 1
            mi[pm, M_OUT] += 1
            _push(st, now, pm, EV_RESUME, 0)
    elif si[b, S_PLEN] > 0:
        pm = _qpop(pq, si, b, S_PHEAD, S_PLEN)
        ps = mi[pm, M_SLOT] + mi[pm, M_OUT]
        hs[slot] = hs[ps]
        hm[slot] = hm[ps]
        _carry(st, st[22], st[23], slot, st[22], st[23], ps)
        mi[pm, M_OUT] += 1
        _push(st, now, pm, EV_RESUME, 0)
    else:
        return False
    mi[m, M_NLOAD] += 1
    return True


@njit(cache=True, _nrt=False, inline="always")
def _put_one(st, i, slot, now):
    """Move a finished cell on from station i; False when the machine must block."""
    si, mi, hs, hm, bs, bm, gq = st[0], st[2], st[6], st[7], st[8], st[9], st[10]
    mark = hm[slot]
    if mark == i:
        _exit(st, hs[slot], True, i, now)
        return True
    if i == len(si) - 1:
        _exit(st, hs[slot], False, i, now)
        return True
    j = i + 1
    if si[j, S_GLEN] > 0:
        g = _qpop(gq, si, j, S_GHEAD, S_GLEN)
        gs = mi[g, M_SLOT] + mi[g, M_NLOAD]
        hs[gs] = hs[slot]
        hm[gs] = mark
        _carry(st, st[22], st[23], gs, st[22], st[23], slot)
        mi[g, M_NLOAD] += 1
        if mi[g, M_COND] == 1:  # a loader waiting on "cell or deadline": the condition fires
            mi[g, M_COND] = 2
            mi[g, M_GOT] = 1
            _push(st, now, g, EV_COND, mi[g, M_VER])
        elif mi[g, M_COND] == 2:  # the deadline fired first; the loader will find the cell
            mi[g, M_GOT] = 1
        else:
            _push(st, now, g, EV_RESUME, 0)
        return True
    if si[i, S_BLEN] < si[i, S_BCAP]:
        k = si[i, S_BOFF] + (si[i, S_BHEAD] + si[i, S_BLEN]) % si[i, S_BRING]
        bs[k] = hs[slot]
        bm[k] = mark
        _carry(st, st[24], st[25], k, st[22], st[23], slot)
        si[i, S_BLEN] += 1
        return True
    return False


@njit(cache=True, _nrt=False, inline="always")
def _get(st, m, i, g, now):
    """A single-cell machine takes its next cell, or waits for one."""
    si, mi, mf, gq = st[0], st[2], st[3], st[10]
    if _try_get(st, m, i, now):
        _serve(st, m, g, now)
        return
    _wait(mi, mf, m, STARVED, now)
    _qpush(gq, si, i, S_GHEAD, S_GLEN, m)
    mi[m, M_PHASE] = PH_GET


@njit(cache=True, _nrt=False, inline="always")
def _end(st, m, i, g, now):
    """A single-cell service ends: defect draw, then pass the cell on or block."""
    si, mi, mf, pq = st[0], st[2], st[3], st[11]
    slot = mi[m, M_SLOT]
    _process(st, i, g, slot, now)
    if _put_one(st, i, slot, now):
        mi[m, M_NLOAD] = 0
        _get(st, m, i, g, now)
    else:
        _wait(mi, mf, m, BLOCKED, now)
        _qpush(pq, si, i, S_PHEAD, S_PLEN, m)
        mi[m, M_PHASE] = PH_PUT


@njit(cache=True, _nrt=False)
def _dock(st, m, i, g, now):
    """A batch machine waits for the loading dock, or takes it and loads."""
    si, mi, mf, dq = st[0], st[2], st[3], st[12]
    _wait(mi, mf, m, STARVED, now)
    if si[i, S_DOCK]:
        _qpush(dq, si, i, S_DHEAD, S_DLEN, m)
        mi[m, M_PHASE] = PH_DOCK
        return
    si[i, S_DOCK] = 1
    _load(st, m, i, g, now)


@njit(cache=True, _nrt=False, inline="always")
def _set_deadline(st, m, i, now):
    sf, mi = st[1], st[2]
    if sf[i, X_DEADLINE] == _INF and sf[i, X_MAXWAIT] >= 0.0 and mi[m, M_NLOAD] > 0:
        sf[i, X_DEADLINE] = now + sf[i, X_MAXWAIT]


@njit(cache=True, _nrt=False)
def _load(st, m, i, g, now):
    """The dock holder loads cells until its batch is full or its deadline has passed."""
    si, sf, mi, gi, gq = st[0], st[1], st[2], st[5], st[10]
    unit = gi[g, GI_UNIT]
    while mi[m, M_NLOAD] < unit:
        if _try_get(st, m, i, now):
            _set_deadline(st, m, i, now)
            continue
        _qpush(gq, si, i, S_GHEAD, S_GLEN, m)
        deadline = sf[i, X_DEADLINE]
        mi[m, M_PHASE] = PH_LOAD
        if deadline == _INF:
            mi[m, M_COND] = 0
            return
        left = deadline - now
        if left > 0:
            mi[m, M_VER] += 1
            mi[m, M_COND] = 1
            _push(st, now + left, m, EV_TIMEOUT, mi[m, M_VER])
            return
        si[i, S_GLEN] -= 1  # it is the only getter of a batch station: leave at once
        break
    _start_batch(st, m, i, g, now)


@njit(cache=True, _nrt=False)
def _start_batch(st, m, i, g, now):
    si, sf, mi, mf, dq = st[0], st[1], st[2], st[3], st[12]
    sf[i, X_DEADLINE] = _INF
    if si[i, S_DLEN] > 0:
        _push(st, now, _qpop(dq, si, i, S_DHEAD, S_DLEN), EV_RESUME, 0)
    else:
        si[i, S_DOCK] = 0
    _waited(mi, mf, m, now)
    _serve(st, m, g, now)


@njit(cache=True, _nrt=False)
def _release(st, m, i, g, now):
    """A batch machine passes its cells on one by one, blocking when there is no place."""
    si, mi, mf, pq = st[0], st[2], st[3], st[11]
    while mi[m, M_OUT] < mi[m, M_NLOAD]:
        if _put_one(st, i, mi[m, M_SLOT] + mi[m, M_OUT], now):
            mi[m, M_OUT] += 1
        else:
            if mi[m, M_STATE] != BLOCKED:
                _wait(mi, mf, m, BLOCKED, now)
            _qpush(pq, si, i, S_PHEAD, S_PLEN, m)
            mi[m, M_PHASE] = PH_PUT
            return
    if mi[m, M_STATE] == BLOCKED:
        _waited(mi, mf, m, now)
    mi[m, M_NLOAD] = 0
    mi[m, M_OUT] = 0
    _dock(st, m, i, g, now)


@njit(cache=True, _nrt=False, inline="always")
def _dispatch(st, m, kind, ver, now):
    si, mi, mf = st[0], st[2], st[3]
    i = mi[m, M_ST]
    g = mi[m, M_GRP]
    batch = si[i, S_BATCH]
    if kind == EV_END:
        if batch:
            for k in range(mi[m, M_NLOAD]):
                _process(st, i, g, mi[m, M_SLOT] + k, now)
            mi[m, M_STATE] = IDLE
            _release(st, m, i, g, now)
        else:
            _end(st, m, i, g, now)
    elif kind == EV_TIMEOUT:
        if ver == mi[m, M_VER] and mi[m, M_COND] == 1:
            mi[m, M_COND] = 2
            _push(st, now, m, EV_COND, ver)
    elif kind == EV_COND:
        mi[m, M_COND] = 0
        if mi[m, M_GOT]:
            mi[m, M_GOT] = 0
            _set_deadline(st, m, i, now)
            _load(st, m, i, g, now)
        else:
            si[i, S_GLEN] -= 1  # leave the getter queue with a partial batch
            _start_batch(st, m, i, g, now)
    else:
        phase = mi[m, M_PHASE]
        if phase == PH_START:
            if batch:
                _dock(st, m, i, g, now)
            else:
                _get(st, m, i, g, now)
        elif phase == PH_GET:
            _waited(mi, mf, m, now)
            _serve(st, m, g, now)
        elif phase == PH_PUT:
            if batch:
                _release(st, m, i, g, now)
            else:
                _waited(mi, mf, m, now)
                mi[m, M_NLOAD] = 0
                mi[m, M_OUT] = 0
                _get(st, m, i, g, now)
        elif phase == PH_DOCK:
            _load(st, m, i, g, now)
        else:  # PH_LOAD: handed a cell while waiting without a deadline
            _set_deadline(st, m, i, now)
            _load(st, m, i, g, now)


@njit(cache=True, _nrt=False, inline="always")
def _sample(st, now):
    """Record the WIP now and schedule the next sample (the SimPy engine's sampler process)."""
    ci, cf, samp_t, samp_w = st[15], st[16], st[20], st[21]
    if ci[C_NSAMP] < len(samp_t):
        samp_t[ci[C_NSAMP]] = now
        samp_w[ci[C_NSAMP]] = ci[C_WIP]
        ci[C_NSAMP] += 1
    _push(st, now + cf[D_SEVERY], -1, EV_SAMPLE, 0)


@njit(cache=True, _nrt=False)
def advance(st, until):
    """Run events before ``until`` [s]; returns DONE, REFILL (group in ``C_NEED``) or GROW."""
    mi, gi = st[2], st[5]
    hf, hi, ci = st[13], st[14], st[15]
    pos, avail = st[18], st[19]
    n_machines = len(mi)
    while ci[C_HN] > 0 and hf[0] < until:
        if ci[C_HN] + n_machines + 8 > len(hf):
            return GROW
        t = hf[0]
        m = hi[0, 1]
        if hi[0, 2] == EV_SAMPLE:
            _pop(st)
            _sample(st, t)
            continue
        g = mi[m, M_GRP]
        k = 3 * g
        if ((not gi[g, GI_DET] and pos[k] >= avail[k])
                or pos[k + 1] + gi[g, GI_DNEED] > avail[k + 1]
                or pos[k + 2] + gi[g, GI_FNEED] > avail[k + 2]):
            ci[C_NEED] = g
            return REFILL
        kind = hi[0, 2]
        ver = hi[0, 3]
        _pop(st)
        _dispatch(st, m, kind, ver, t)
        if ci[C_ERR]:
            return DONE
    return DONE
