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

__all__ = ["ChainBound", "chain_bound", "enumerated_bound"]


@dataclass(frozen=True)
class ChainBound:
    capex: int  #: the least Σ candidate capex [USD] of the relaxed model (no constant part)
    choice: tuple[int, ...]  #: the candidate index per station that attains it
    labels: int  #: the most Pareto labels kept at one station (the work the bound took)


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
    n = len(loss)
    needs = need if isinstance(need, list) else [need] * n
    d = np.zeros(1, dtype=np.int64)  # labels of the stations after j: loss so far, capex so far
    c = np.zeros(1, dtype=np.int64)
    back: list[tuple[np.ndarray, np.ndarray]] = [None] * n  # type: ignore[list-item]
    widest = 1
    for j in reversed(range(n)):
        parts_d, parts_c, parts_k, parts_p = [], [], [], []
        for k in range(len(loss[j])):
            room = log_cap[j][k] + headroom - needs[j] - loss[j][k]
            m = int(np.searchsorted(d, room, side="right"))  # labels with D ≤ room
            if m == 0:
                continue
            parts_d.append(d[:m] + loss[j][k])
            parts_c.append(c[:m] + capex[j][k])
            parts_k.append(np.full(m, k, dtype=np.int64))
            parts_p.append(np.arange(m, dtype=np.int64))
        if not parts_d:
            return None
        nd, nc = np.concatenate(parts_d), np.concatenate(parts_c)
        nk, np_ = np.concatenate(parts_k), np.concatenate(parts_p)
        order = np.lexsort((nc, nd))  # by D, then capex
        nd, nc, nk, np_ = nd[order], nc[order], nk[order], np_[order]
        best_before = np.minimum.accumulate(nc)
        keep = np.ones(len(nc), dtype=bool)
        keep[1:] = nc[1:] < best_before[:-1]  # strictly cheaper than every label with less D
        d, c = nd[keep], nc[keep]
        back[j] = (nk[keep], np_[keep])
        widest = max(widest, len(d))
    label = int(np.argmin(c))
    capex_min = int(c[label])
    choice = []
    for j in range(n):
        k, parent = back[j][0][label], back[j][1][label]
        choice.append(int(k))
        label = int(parent)
    return ChainBound(capex_min, tuple(choice), widest)


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
) -> ChainBound | None:
    """The least :func:`chain_bound` over the choices that make the model a chain: whether each
    optional station in ``effects`` (station → [(affected station, scaled extra loss)]) is left
    out, and the mix of each station detected downstream of itself (``detect[i] > i``), whose
    loss then adds to the need of the stations up to its detection point. Up to
    ``max_choices`` combinations; beyond, those terms are dropped (a relaxation)."""
    n = len(loss)
    optional = list(effects)
    late = [i for i in range(n) if detect[i] > i]
    if 2 ** len(optional) > max_choices:
        optional = []  # the effects dropped: a relaxation
    if 2 ** len(optional) * math.prod(len(loss[i]) for i in late) > max_choices:
        late = []  # the late terms dropped: a relaxation
    best = None
    for pattern in itertools.product((False, True), repeat=len(optional)):
        keep = [list(range(len(cj))) for cj in loss]
        extra = [0] * n
        for j, out in zip(optional, pattern):
            keep[j] = [k for k in keep[j] if omitted[j][k] == out]
            if out:
                for target, added in effects[j]:
                    extra[target] += added
        for mixes in itertools.product(*(keep[i] for i in late)):
            fixed = [list(k) for k in keep]
            needs = [need] * n
            for i, k in zip(late, mixes):
                fixed[i] = [k]
                for j in range(i + 1, detect[i] + 1):
                    # carried until it is detected
                    needs[j] += loss[i][k] + (0 if omitted[i][k] else extra[i])
            # (an omitted station processes nothing: an effect on it costs nothing)
            found = chain_bound(
                [
                    [loss[j][k] + (0 if omitted[j][k] else extra[j]) for k in fixed[j]]
                    for j in range(n)
                ],
                [[log_cap[j][k] for k in fixed[j]] for j in range(n)],
                [[capex[j][k] for k in fixed[j]] for j in range(n)],
                needs,
                headroom,
            )
            if found is not None and (best is None or found.capex < best.capex):
                best = ChainBound(
                    found.capex,
                    tuple(fixed[j][k] for j, k in enumerate(found.choice)),
                    max(found.labels, best.labels if best else 0),
                )
    return best
