"""A calendar queue against the binary heap: the cost of one turn of an event queue, by length.

A turn is the event loop's usual pair: take the earliest event, push the next one in its
place at its time plus a step (lognormal(3.0, 0.5) steps from ``default_rng(0)``, the same for
both; the queue's length stays fixed). The heap is :mod:`event_floor`'s (the fast engine's
structure: a pop and the push that follows it in one pass, the child chosen without a branch).
The calendar queue is Brown's (1988): ``2^k`` buckets, each a "day" of width ``w``; an event of
time ``t`` lies on day ``⌊t / w⌋`` in bucket ``day mod 2^k``, each bucket a list sorted by
(time, scheduling order) in a preallocated node pool, with a pointer to its last event so that
a new latest event (with equal times, the usual case) is appended at once. Taking the earliest
event scans buckets from the current day; a year of empty buckets falls back to a direct
search. ``w`` is the mean gap between events (the mean step ÷ the length) and there are 4× as
many buckets as events: fixed here, as the churn's length is; an engine would resize both.

Exactness: a day is a non-decreasing function of time (a correctly rounded product with a
positive constant, then a floor), no event is pushed before the current day, and each bucket is
sorted by (time, seq): so the head of the current day's bucket, when it lies on that day, is the
earliest event by (time, seq) — the heap's order. :func:`same_order` checks it bit for bit.

Usage (~30 s)::

    python benchmarks/queue_churn.py
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import event_floor as ef

MEAN_STEP = math.exp(3.0 + 0.5**2 / 2)  #: the mean of lognormal(3.0, 0.5)
CUR, SEQ, FREE = 0, 1, 2  #: columns of the queue's counters: current day, next seq, free nodes


@njit(cache=True, _nrt=False)
def cq_push(head, tail, nt, ns, nm, nd, nx, free, c, inv_w, mask, t, m):
    """Insert an event (t, next seq, m): after every event of its bucket with time ≤ t."""
    seq = c[SEQ]
    c[SEQ] = seq + 1
    c[FREE] -= 1
    e = free[c[FREE]]
    d = np.int64(t * inv_w)
    nt[e], ns[e], nm[e], nd[e] = t, seq, m, d
    b = d & mask
    p = head[b]
    if p < 0:  # an empty bucket
        nx[e] = -1
        head[b] = e
        tail[b] = e
    elif nt[tail[b]] <= t:  # the bucket's latest: appended
        nx[e] = -1
        nx[tail[b]] = e
        tail[b] = e
    elif nt[p] > t:  # its earliest
        nx[e] = p
        head[b] = e
    else:
        q = nx[p]
        while nt[q] <= t:  # stops before the tail at the latest (nt[tail] > t)
            p = q
            q = nx[q]
        nx[e] = q
        nx[p] = e


@njit(cache=True, _nrt=False)
def cq_pop(head, nt, nd, nx, free, c, mask):
    """Remove the earliest event; returns its node (valid until the next push)."""
    cur = c[CUR]
    scanned = 0
    while True:
        h = head[cur & mask]
        if h >= 0 and nd[h] == cur:
            break
        cur += 1
        scanned += 1
        if scanned > mask:  # a year of empty buckets: the earliest bucket head's day
            best = -1
            for b in range(mask + 1):
                x = head[b]
                if x >= 0 and (best < 0 or nd[x] < best):
                    best = nd[x]
            cur = best
            scanned = 0
    head[cur & mask] = nx[h]  # an emptied bucket's tail goes stale: head < 0 says so
    c[CUR] = cur
    free[c[FREE]] = h
    c[FREE] += 1
    return h


@njit(cache=True, _nrt=False)
def _cq_churn(head, tail, nt, ns, nm, nd, nx, free, c, inv_w, mask, steps, n0, out):
    for j in range(n0):
        cq_push(head, tail, nt, ns, nm, nd, nx, free, c, inv_w, mask, steps[j], j)
    record = len(out) > 1
    last = 0.0
    for j in range(len(steps)):
        h = cq_pop(head, nt, nd, nx, free, c, mask)
        last = nt[h]
        if record:
            out[j, 0], out[j, 1], out[j, 2] = last, ns[h], nm[h]
        cq_push(head, tail, nt, ns, nm, nd, nx, free, c, inv_w, mask, last + steps[j], nm[h])
    return last


@njit(cache=True, _nrt=False)
def _heap_churn(ht, hs, hm, hk, hv, cnt, steps, n0, out):
    """:func:`event_floor._churn`, recording each event taken (time, seq, machine)."""
    for j in range(n0):
        ef._push(ht, hs, hm, hk, hv, cnt, ef.C_HEAP, steps[j], j, ef.END, 0)
    for j in range(len(steps)):
        out[j, 0], out[j, 1], out[j, 2] = ht[0], hs[0], hm[0]
        cnt[ef.C_DONE] = ef.C_HEAP
        ef._push(ht, hs, hm, hk, hv, cnt, ef.C_HEAP, ht[0] + steps[j], hm[0], ef.END, 0)


def calendar(n0: int, width: float = 1.0):
    """An empty calendar queue for ``n0`` events, days of ``width`` mean gaps between events:
    the churn's arguments before the steps."""
    nb = 1 << max(1, math.ceil(math.log2(4 * n0)))
    cap = n0 + 16
    return (
        np.full(nb, -1, dtype=np.int64),  # head
        np.full(nb, -1, dtype=np.int64),  # tail
        np.zeros(cap),  # time
        *[np.zeros(cap, dtype=np.int64) for _ in range(4)],  # seq, machine, day, next
        np.arange(cap, dtype=np.int64),  # free nodes
        np.array([0, 0, cap], dtype=np.int64),  # CUR, SEQ, FREE
        n0 / (width * MEAN_STEP),  # 1 / a day's length
        nb - 1,
    )


def _turns(churn, make, n0: int, steps) -> float:
    """CPU nanoseconds a turn, best of 3 (each from a new queue)."""
    churn(*make(n0), steps[:1000], n0, np.zeros((1, 3)))  # compiled (or loaded) first
    best = math.inf
    for _ in range(3):
        args = make(n0)
        t0 = time.process_time()
        churn(*args, steps, n0, np.zeros((1, 3)))
        best = min(best, time.process_time() - t0)
    return round(best / len(steps) * 1e9, 1)


def same_order(n0: int = 300, turns: int = 200_000, ties: bool = False) -> bool:
    """Whether the calendar queue takes events in exactly the heap's order, time bit for bit
    (``ties``: steps rounded to tens and days of 400 mean gaps, so most turns tie on time, seq
    decides, and buckets hold several events: every way into a bucket's list is taken)."""
    steps = np.random.default_rng(0).lognormal(3.0, 0.5, turns)
    width = 1.0
    if ties:
        steps, width = 10.0 * np.round(steps / 10.0), 400.0
    ref, got = np.zeros((turns, 3)), np.zeros((turns, 3))
    _heap_churn(*_heap(n0), steps, n0, ref)
    _cq_churn(*calendar(n0, width), steps, n0, got)
    return bool(np.array_equal(ref.view(np.int64), got.view(np.int64)))


def _heap(n0: int):
    cap = n0 + 16
    heap = (np.zeros(cap), *[np.zeros(cap, dtype=np.int64) for _ in range(4)])
    return (*heap, np.zeros(12, dtype=np.int64))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[6, 32, 300, 1800])
    ap.add_argument("--turns", type=int, default=2_000_000)
    args = ap.parse_args()
    steps = np.random.default_rng(0).lognormal(3.0, 0.5, args.turns)
    out = {
        "same_order": same_order(),
        "same_order_with_ties": same_order(ties=True),
        "heap_ns": ef.heap_cost(tuple(args.sizes), args.turns),
        "calendar_ns": {n: _turns(_cq_churn, calendar, n, steps) for n in args.sizes},
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
