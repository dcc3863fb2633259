"""A cheaper layout within the floor and dry-room area limits, by local moves.

The area Lagrangian (:meth:`~linesim.optimise.model.LayoutModel.area_lagrangian`) proves a
lower bound on min capex under area limits; the layouts it meets on the way that fit are often
a percent or two above it (its multipliers price the area, so a layout that uses the room well
may be optimal for no multiplier). :func:`improved` closes most of that from the best of them:

- **one station**: every other candidate at one station (capex down, still within the areas and
  still carrying the target, by the model's own integers);
- **two stations**: one of the moves that saves the most capex but needs more area, with one of
  those that free area at the least capex per unit freed.

It takes the best improving move while there is one. Every layout it returns is checked the
way the model counts it (:meth:`~linesim.optimise.model.LayoutModel.integer_figures` for the
target, the areas as :meth:`~linesim.optimise.model.LayoutModel.area_weights` count them), and
the caller confirms it with CP-SAT (every count fixed); the gap to the Lagrangian bound is what
is reported, so a move it misses costs time or gap, never correctness.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["improved"]

#: moves of each kind combined in the two-station step (60 × 60 pairs checked per round)
PAIRED = 60
#: the most rounds (each takes the best improving move found)
ROUNDS = 40


def improved(
    choice: tuple[int, ...],
    capex: list[list[int]],
    areas: tuple[list[list[int]], list[list[int]]],
    limits: tuple[int | None, int | None],
    carries: Callable[[np.ndarray], np.ndarray],
) -> tuple[int, ...]:
    """A layout no dearer than ``choice`` (candidate index per station, within the target and
    the area ``limits``), by the moves of the module docstring. Per station and candidate:
    ``capex`` and the floor and dry-room ``areas``; ``limits`` on those areas (None: none),
    all in the model's integers; ``carries`` maps rows of candidate indices to the mask of
    those that make the target."""
    weights = [[np.asarray(row, dtype=np.int64) for row in w] for w in areas]
    n = len(capex)
    current = np.asarray(choice, dtype=np.int64)
    # every one-station move: (station, candidate)
    station = np.concatenate([np.full(len(row), j, dtype=np.int64) for j, row in enumerate(capex)])
    cand = np.concatenate([np.arange(len(row), dtype=np.int64) for row in capex])
    for _ in range(ROUNDS):
        was = current[station]
        moved = cand != was
        s, k = station[moved], cand[moved]
        saves = np.array([capex[j][a] for j, a in zip(s, current[s])]) - np.array(
            [capex[j][b] for j, b in zip(s, k)]
        )
        grows = [
            np.array([w[j][b] - w[j][a] for j, a, b in zip(s, current[s], k)], dtype=np.int64)
            for w in weights
        ]
        used = [sum(int(w[j][current[j]]) for j in range(n)) for w in weights]
        rows = np.repeat(current[None, :], len(s), axis=0)
        rows[np.arange(len(s)), s] = k
        makes = carries(rows)
        fits = makes & (saves > 0)
        for g, u, limit in zip(grows, used, limits):
            if limit is not None:
                fits &= u + g <= limit
        best_one = int(np.max(saves[fits])) if fits.any() else 0
        # two stations: a saving that needs area, with area freed cheaply elsewhere
        over = np.flatnonzero((saves > 0) & makes & ~fits)
        over = over[np.argsort(-saves[over])][:PAIRED]
        freed = sum(
            (-g for g, limit in zip(grows, limits) if limit is not None),
            np.zeros(len(s), dtype=np.int64),
        )
        frees = np.flatnonzero((freed > 0) & makes)
        frees = frees[np.argsort(-saves[frees] / freed[frees])][:PAIRED]
        best_two, pair = 0, None
        if len(over) and len(frees):
            a, b = np.repeat(over, len(frees)), np.tile(frees, len(over))
            a, b = a[s[a] != s[b]], b[s[a] != s[b]]
            total = saves[a] + saves[b]
            ok = total > best_one
            for g, u, limit in zip(grows, used, limits):
                if limit is not None:
                    ok &= u + g[a] + g[b] <= limit
            a, b, total = a[ok], b[ok], total[ok]
            if len(a):
                pairs = np.repeat(current[None, :], len(a), axis=0)
                pairs[np.arange(len(a)), s[a]] = k[a]
                pairs[np.arange(len(a)), s[b]] = k[b]
                ok = carries(pairs)
                if ok.any():
                    i = int(np.argmax(np.where(ok, total, -1)))
                    best_two, pair = int(total[i]), pairs[i]
        if pair is not None and best_two > best_one:
            current = pair
        elif best_one > 0:
            i = int(np.argmax(np.where(fits, saves, -1)))
            current = rows[i]
        else:
            break
    return tuple(int(k) for k in current)
