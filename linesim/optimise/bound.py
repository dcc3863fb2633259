"""A lower bound on the minimum capex at a target, by dynamic programming over the stations.

Fix two kinds of choices — which optional stations with omission effects are left out (their
extra loss on later stations becomes a constant), and the machine mix of each station whose
defects are detected downstream of it (its loss becomes a constant on the stations up to its
detection point) — and what remains is a chain: station j must carry the target through the
stations after it,

    need + Σ_{i ≥ j} L_i ≤ ln cap_j + ln u          (all in the model's scaled integers).

Going backwards from the last station, a *label* is (D, capex): the scaled loss Σ_{i > j} L_i of
a choice for the stations after j, and what that choice costs. Station j's candidate k extends
every label whose D leaves room for it (need + D + L_k ≤ ln cap_k + ln u: a prefix of the
labels sorted by D) to (D + L_k, capex + capex_k); of the new labels only the Pareto-optimal ones
are kept (lower D, lower capex). The cheapest label after the first station is the optimum
for those fixed choices; the caller takes the least over all of them (or, when there are too
many to enumerate, drops the late-detection terms instead: a relaxation, so still a lower
bound). Without budget or area limits that is the full model's optimum, and its layout fits.

Everything is in the model's own integers (the same ``scaled`` helper, the same rounding), so
the bound holds for the CP-SAT model exactly, not only approximately.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ChainBound",
    "Labels",
    "Materials",
    "chain_bound",
    "chain_labels",
    "enumerated_bound",
    "enumerated_labels",
]


@dataclass(frozen=True)
class ChainBound:
    capex: int  #: the least Σ candidate capex [USD] of the relaxed model (no constant part)
    choice: tuple[int, ...]  #: the candidate index per station that attains it
    labels: int  #: the most Pareto labels kept at one station (the work the bound took)
    #: True when nothing was dropped (every omission pattern and late mix enumerated): then
    #: the chain is the model itself (without its area limits) and the bound is its optimum
    exact: bool = True


@dataclass(frozen=True)
class Materials:
    """What the materials bought at an entry station cost, as a function of the scaled loss
    ``D`` the layout carries from that station on (the model's own table, read at
    ⌈D ÷ ``coarse``⌉; a loss above ``top`` is outside the table: the layout is left out)."""

    top: int
    coarse: int
    table: tuple[int, ...]
    #: the part bought even when the entry station is left out (an optional first station: a
    #: material without ``enters_at`` enters at the first station present, whose loss from
    #: there on equals the loss from the line's start, the stations before it being out);
    #: read at the same steps as ``table`` (empty: none)
    always: tuple[int, ...] = ()


@dataclass(frozen=True)
class Labels:
    """The Pareto labels after the first station: every (total scaled loss, Σ capex) that no
    other layout of the chain beats in both, with the candidate index per station of each."""

    loss: np.ndarray
    capex: np.ndarray
    choices: np.ndarray  #: shape (labels, stations)
    widest: int  #: the most labels kept at one station
    exact: bool = True  #: see :attr:`ChainBound.exact`


def chain_labels(
    loss: list[list[int]],
    log_cap: list[list[int]],
    capex: list[list[int]],
    need: int | list[int],
    headroom: int,
    capex_limit: int | None = None,
    materials: dict[int, tuple[Materials, int]] | None = None,
    omitted: list[list[bool]] | None = None,
) -> Labels | None:
    """Every Pareto label (loss, capex) of the chain, by the backward dynamic programme of the
    module docstring; ``None`` if no layout of the chain reaches the need.

    ``capex_limit`` drops labels above it (capex only grows going upstream, so that is exact);
    ``materials`` maps an entry station to its table and the constant scaled loss added to
    ``D`` there (a late-detected station upstream of it, fixed by the caller): a candidate
    that is not ``omitted`` adds the table's value at its label's loss — increasing in the
    loss, so a label with less loss and capex still beats one with more after it."""
    n = len(loss)
    if not all(len(row) for row in loss):
        return None  # a station with no candidate: no layout
    needs = need if isinstance(need, list) else [need] * n
    materials = materials or {}
    upstream = _Upstream(loss, log_cap, capex, needs, headroom)
    d = np.zeros(1, dtype=np.int64)  # labels of the stations after j: loss so far, capex so far
    c = np.zeros(1, dtype=np.int64)
    back: list[tuple[np.ndarray, np.ndarray]] = [None] * n  # type: ignore[list-item]
    widest = 1
    for j in reversed(range(n)):
        # every candidate k extends the labels whose D leaves room for it (a prefix of d):
        # all extensions at once, candidate by candidate (nk) and label by label (parent)
        lj = np.asarray(loss[j], dtype=np.int64)
        cj = np.asarray(capex[j], dtype=np.int64)
        room = np.asarray(log_cap[j], dtype=np.int64) + headroom - needs[j] - lj
        # per candidate: the labels with D ≤ room, less those a candidate with no more loss
        # and capex (that buys no more materials) extends too – its extensions beat these
        buys = None
        if j in materials and omitted:
            buys = ~np.asarray(omitted[j], dtype=bool)
        first = np.searchsorted(d, _covered(lj, cj, room, buys), side="right")
        m = np.maximum(np.searchsorted(d, room, side="right") - first, 0)
        total = int(m.sum())
        if total == 0:
            return None
        nk = np.repeat(np.arange(len(lj), dtype=np.int64), m)
        np_ = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(m) - m, m)
        np_ += np.repeat(first, m)
        nd = d[np_] + lj[nk]
        nc = c[np_] + cj[nk]
        if j in materials:
            table, offset = materials[j]
            buys = np.ones(total, dtype=bool)
            if omitted:
                buys = ~np.asarray(omitted[j], dtype=bool)[nk]
            within = (nd + offset <= table.top) | (~buys if not table.always else False)
            nd, nc, nk, np_, buys = nd[within], nc[within], nk[within], np_[within], buys[within]
            read = buys | bool(table.always)
            steps = np.where(read, -((-(nd + offset)) // table.coarse), 0)  # ⌈D ÷ coarse⌉
            nc = nc + np.where(buys, np.asarray(table.table, dtype=np.int64)[steps], 0)
            if table.always:
                nc = nc + np.asarray(table.always, dtype=np.int64)[steps]
        if capex_limit is not None:
            within = nc <= capex_limit
            nd, nc, nk, np_ = nd[within], nc[within], nk[within], np_[within]
        if not len(nd):
            return None
        order = np.lexsort((nc, nd))  # by D, then capex
        nd, nc, nk, np_ = nd[order], nc[order], nk[order], np_[order]
        best_before = np.minimum.accumulate(nc)
        keep = np.ones(len(nc), dtype=bool)
        keep[1:] = nc[1:] < best_before[:-1]  # strictly cheaper than every label with less D
        # a label no layout of the stations before j completes (one of them cannot carry the
        # loss it must), or completes within the capex limit, is dropped (it dominates no
        # label that survives: one with more loss and capex is dropped with it)
        alive = keep.copy()
        alive[keep] = upstream.completes(j, nd[keep], nc[keep], capex_limit)
        keep = alive
        if not keep.any():
            return None
        d, c = nd[keep], nc[keep]
        back[j] = (nk[keep], np_[keep])
        widest = max(widest, len(d))
    choices = np.empty((len(d), n), dtype=np.int64)
    label = np.arange(len(d), dtype=np.int64)
    for j in range(n):
        choices[:, j] = back[j][0][label]
        label = back[j][1][label]
    return Labels(d, c, choices, widest)


#: stations with more candidates than this compare each only with those of its own loss in
#: :func:`_covered` (all pairs would take K² time and memory: 5,206 candidates at one station of
#: the 4 GWh line at a 1 bn USD budget)
ALL_PAIRS = 600


def _covered(loss: np.ndarray, capex: np.ndarray, room: np.ndarray, buys) -> np.ndarray:
    """Per candidate, the most room of another candidate with no more loss and capex (and
    that buys materials only where it does; ties go to the lower index), or −1 – below any
    label's D – if none: a label with D up to that is extended at least as well by it. Past
    ``ALL_PAIRS`` candidates, only those with its own loss (and purchase) are looked at: a
    smaller value, still safe."""
    if buys is None:
        buys = np.ones(len(loss), dtype=bool)
    index = np.arange(len(loss))
    if len(loss) <= ALL_PAIRS:
        le_l = loss[:, None] <= loss[None, :]  # [i, k]: i has no more loss than k
        le_c = capex[:, None] <= capex[None, :]
        strict = (loss[:, None] < loss[None, :]) | (capex[:, None] < capex[None, :])
        beats = le_l & le_c & (strict | (index[:, None] < index[None, :]))
        beats &= ~buys[:, None] | buys[None, :]
        return np.where(beats, room[:, None], -1).max(axis=0, initial=-1)
    # same loss and purchase: in order of capex (then index), the most room of those before
    order = np.lexsort((index, capex, buys, loss))
    key_l, key_b, r = loss[order], buys[order], room[order]
    start = np.ones(len(order), dtype=bool)
    start[1:] = (key_l[1:] != key_l[:-1]) | (key_b[1:] != key_b[:-1])
    group = np.cumsum(start) - 1
    # a running maximum that restarts at each group: each group lifted above the one before
    span = int(r.max() - r.min()) + 1
    lifted = (r - r.min()) + group * span
    running = np.maximum.accumulate(lifted) - group * span + r.min()
    before = np.full(len(order), -1, dtype=np.int64)
    before[1:] = np.where(start[1:], -1, running[:-1])
    out = np.empty(len(order), dtype=np.int64)
    out[order] = np.maximum(before, -1)
    return out


class _Upstream:
    """What the stations before j cost at least, for a label of loss D at j.

    Station i < j carries at least D plus the least loss of each station between i and j, so
    it needs a candidate with ``log_cap + headroom − needs[i] − loss`` at least that; the
    least capex of those, summed over i < j, is a lower bound on any completion of the label
    (each station chosen on its own, the losses between them at their least)."""

    def __init__(self, loss, log_cap, capex, needs, headroom) -> None:
        self.rooms, self.least = [], []
        for i, (lo, cap, cx) in enumerate(zip(loss, log_cap, capex)):
            room = np.asarray(cap, dtype=np.int64) + headroom - needs[i]
            room -= np.asarray(lo, dtype=np.int64)
            order = np.argsort(room)
            self.rooms.append(room[order])
            # the least capex among the candidates with at least each room (a suffix minimum)
            least = np.asarray(cx, dtype=np.int64)[order]
            self.least.append(np.minimum.accumulate(least[::-1])[::-1])
        self.min_loss = [min(lo) for lo in loss]

    def completes(
        self, j: int, d: np.ndarray, c: np.ndarray, capex_limit: int | None
    ) -> np.ndarray:
        """Mask of the labels (loss ``d``, capex ``c``) at station j that some layout of the
        stations before it may complete (within ``capex_limit``)."""
        ok = np.ones(len(d), dtype=bool)
        total = c.copy()
        shift = 0  # the least loss of the stations between i and j
        for i in reversed(range(j)):
            at = np.searchsorted(self.rooms[i], d + shift, side="left")
            ok &= at < len(self.rooms[i])
            total += self.least[i][np.minimum(at, len(self.rooms[i]) - 1)]
            shift += self.min_loss[i]
        if capex_limit is not None:
            ok &= total <= capex_limit
        return ok


def chain_bound(
    loss: list[list[int]],
    log_cap: list[list[int]],
    capex: list[list[int]],
    need: int | list[int],
    headroom: int,
) -> ChainBound | None:
    """The relaxed model's minimum of Σ capex, per station lists of each candidate's scaled
    loss, scaled log capacity and capex; ``None`` if even the relaxed model is infeasible.
    ``need`` may be given per station (the target plus any fixed loss of an upstream station
    detected at or after it)."""
    found = chain_labels(loss, log_cap, capex, need, headroom)
    if found is None:
        return None
    best = int(np.argmin(found.capex))
    return ChainBound(
        int(found.capex[best]), tuple(int(k) for k in found.choices[best]), found.widest
    )


def enumerated_labels(
    loss: list[list[int]],
    log_cap: list[list[int]],
    capex: list[list[int]],
    omitted: list[list[bool]],
    need: int,
    headroom: int,
    detect: tuple[int, ...],
    effects: dict[int, list[tuple[int, int]]],
    max_choices: int = 128,
    capex_limit: int | None = None,
    materials: dict[int, Materials] | None = None,
) -> list[Labels]:
    """The :func:`chain_labels` of each choice that makes the model a chain: whether each
    optional station in ``effects`` (station → [(affected station, scaled extra loss)]) is left
    out, and the mix of each station detected downstream of itself (``detect[i] > i``), whose
    loss then adds to the need of the stations up to its detection point. Up to
    ``max_choices`` combinations; beyond, those terms are dropped (a relaxation: the labels'
    ``exact`` is then False). Choices are indices into the full candidate lists."""
    n = len(loss)
    optional = list(effects)
    late = [i for i in range(n) if detect[i] > i]
    exact = True
    if 2 ** len(optional) > max_choices:
        optional, exact = [], not effects  # the effects dropped: a relaxation
    if 2 ** len(optional) * math.prod(len(loss[i]) for i in late) > max_choices:
        late, exact = [], exact and not late  # the late terms dropped: a relaxation
    out = []
    for pattern in itertools.product((False, True), repeat=len(optional)):
        keep = [list(range(len(cj))) for cj in loss]
        extra = [0] * n
        for j, out_ in zip(optional, pattern):
            keep[j] = [k for k in keep[j] if omitted[j][k] == out_]
            if out_:
                for target, added in effects[j]:
                    extra[target] += added
        for mixes in itertools.product(*(keep[i] for i in late)):
            fixed = [list(k) for k in keep]
            needs = [need] * n
            offsets = [0] * n
            for i, k in zip(late, mixes):
                fixed[i] = [k]
                carried = loss[i][k] + (0 if omitted[i][k] else extra[i])
                for j in range(i + 1, detect[i] + 1):
                    needs[j] += carried  # carried until it is detected
                    offsets[j] += carried
            # (an omitted station processes nothing: an effect on it costs nothing)
            found = chain_labels(
                [
                    [loss[j][k] + (0 if omitted[j][k] else extra[j]) for k in fixed[j]]
                    for j in range(n)
                ],
                [[log_cap[j][k] for k in fixed[j]] for j in range(n)],
                [[capex[j][k] for k in fixed[j]] for j in range(n)],
                needs,
                headroom,
                capex_limit,
                {e: (t, offsets[e]) for e, t in (materials or {}).items()},
                [[omitted[j][k] for k in fixed[j]] for j in range(n)],
            )
            if found is None:
                continue
            index = [np.asarray(f, dtype=np.int64) for f in fixed]
            choices = np.stack([index[j][found.choices[:, j]] for j in range(n)], axis=1)
            out.append(Labels(found.loss, found.capex, choices, found.widest, exact))
    return out


def enumerated_bound(
    loss: list[list[int]],
    log_cap: list[list[int]],
    capex: list[list[int]],
    omitted: list[list[bool]],
    need: int,
    headroom: int,
    detect: tuple[int, ...],
    effects: dict[int, list[tuple[int, int]]],
    max_choices: int = 128,
    materials: dict[int, Materials] | None = None,
) -> ChainBound | None:
    """The least Σ capex (or, with ``materials``, annual cost) over :func:`enumerated_labels`:
    a lower bound on the model's optimum, and the optimum itself when ``exact``."""
    best = None
    widest, exact = 0, True
    for found in enumerated_labels(
        loss,
        log_cap,
        capex,
        omitted,
        need,
        headroom,
        detect,
        effects,
        max_choices,
        materials=materials,
    ):
        widest, exact = max(widest, found.widest), found.exact
        k = int(np.argmin(found.capex))
        if best is None or found.capex[k] < best.capex:
            best = ChainBound(int(found.capex[k]), tuple(int(i) for i in found.choices[k]), 0)
    if best is None:
        return None
    return ChainBound(best.capex, best.choice, widest, exact)
