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

from dataclasses import dataclass

import numpy as np

__all__ = ["ChainBound", "chain_bound"]


@dataclass(frozen=True)
class ChainBound:
    capex: int  #: the least Σ candidate capex [USD] of the relaxed model (no constant part)
    choice: tuple[int, ...]  #: the candidate index per station that attains it
    labels: int  #: the most Pareto labels kept at one station (the work the bound took)


def chain_bound(loss: list[list[int]], log_cap: list[list[int]], capex: list[list[int]],
                need: int | list[int], headroom: int) -> ChainBound | None:
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
