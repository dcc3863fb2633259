"""A max-plus recursion for serial lines of single-machine stations: the practical speed limit.

Written from the queueing recursion, not from linesim's engines (it shares no code with them).
Cells are numbered in the order they start at the first station; a cell keeps its place in the
order at every station (one machine each: first in, first out). With ``k`` the cell's number
at station j (cells scrapped upstream are not counted there), ``p`` its processing time there
and ``b_j`` the buffer after j (cells waiting, not counting cells in machines):

    S_j(k) = max(D_{j-1}(cell), D_j(k − 1))          start: arrived, and the machine free
    D_j(k) = max(S_j(k) + p, D_{j+1}(k' − b_j − 1))  departure: done, and space downstream

where k' is the cell's number at station j+1: cell k' − b_j − 1 must have left j+1 so that
the buffer, holding cells k' − b_j … k' − 1, has room (blocking after service). The first
station never starves (D_{-1} = 0); the last and a cell scrapped at j are never blocked
(D_j = S_j + p). Each station keeps the departures of its last ``b_j + 2`` cells in a ring,
so memory does not grow with the cells simulated.

:func:`departures` is compiled by numba for the benchmark; its ``py_func`` runs the same code in
plain Python (the tests use it, so they need no compile).
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["departures", "new_state", "maxplus_cells"]


@numba.njit(cache=False)
def departures(p, scrap_at, buffers, ring, count, out, horizon_s):
    """Run cells through the line until one would start at or after ``horizon_s``.

    Parameters
    ----------
    p : float64[cells, stations]
        Processing time of each cell at each station [s] (repairs included).
    scrap_at : int64[cells]
        The station where each cell is scrapped (leaves the line), ``stations`` for none.
    buffers : int64[stations]
        Buffer after each station [cells] (the last one is not used).
    ring, count : float64[stations, R], int64[stations]
        The state carried from block to block (:func:`new_state`): each station's last
        departures [s] and the cells it has taken so far.
    out : float64[cells]
        Filled with each cell's exit time [s] (from the station where it left the line).
    horizon_s : float
        Cells that would start at or after it are not run [s].

    Returns
    -------
    int
        The number of cells of this block that started (before ``horizon_s``).
    """
    cells, n = p.shape
    size = ring.shape[1]
    for c in range(cells):
        arrival = 0.0
        k0 = count[0]
        start0 = ring[0, (k0 - 1) % size] if k0 > 0 else 0.0
        if start0 >= horizon_s:
            return c
        for j in range(n):
            k = count[j]
            free = ring[j, (k - 1) % size] if k > 0 else 0.0
            start = arrival if arrival > free else free
            done = start + p[c, j]
            if scrap_at[c] == j or j == n - 1:
                leave = done
            else:
                m = count[j + 1] - buffers[j] - 1
                space = ring[j + 1, m % size] if m >= 0 else 0.0
                leave = done if done > space else space
            ring[j, k % size] = leave
            count[j] = k + 1
            arrival = leave
            if scrap_at[c] == j:
                break
        out[c] = arrival
    return cells


def new_state(buffers) -> tuple[np.ndarray, np.ndarray]:
    """The empty line's state for :func:`departures`: (ring, count)."""
    n = len(buffers)
    return np.zeros((n, int(max(buffers)) + 2)), np.zeros(n, dtype=np.int64)


@numba.njit(cache=False)
def _fold_block(p, u, scrap_at, mtbf_s, mttr_s, defect_p, ttf):
    """Complete a block of cells' drawn processing times ``p`` and uniforms ``u``: add the
    repairs of the failures of each station's operating-time clock ``ttf`` that fall in a
    service (Exp(MTBF) apart, Exp(MTTR) each, drawn by numba's own generator), and set each
    cell's scrap station from its first defect; a scrapped cell runs its clocks no further."""
    cells, n = p.shape
    for c in range(cells):
        scrap_at[c] = n
        for j in range(n):
            left = p[c, j]
            while ttf[j] <= left:  # a failure during this service: repair, new clock
                left -= ttf[j]
                p[c, j] += np.random.exponential(mttr_s[j])
                ttf[j] = np.random.exponential(mtbf_s[j])
            ttf[j] -= left
            if u[c, j] < defect_p[j]:
                scrap_at[c] = j
                break


@numba.njit(cache=False)
def _seed(seed):
    np.random.seed(seed)


def maxplus_cells(
    means_s, cv, mtbf_s, mttr_s, defect_p, buffers, horizon_s: float, seed: int, block=16_384
) -> int:
    """Cells started in ``horizon_s`` on a single-machine line with lognormal processing times
    (cv ``cv``), operating-time breakdowns (exponential clocks with mean MTBF that run while a
    machine processes, each failure an Exp(MTTR) repair) and defects scrapped at the station
    that made them; times and defect draws come in NumPy blocks of ``block`` cells. All
    per-station arguments are sequences with one entry per station (times in seconds)."""
    _seed(seed)
    n = len(means_s)
    buf = np.asarray(buffers, dtype=np.int64)
    sigma2 = math.log1p(cv * cv)
    mu = np.log(np.asarray(means_s, dtype=float)) - sigma2 / 2.0
    sigma = math.sqrt(sigma2)
    mtbf = np.asarray(mtbf_s, dtype=float)
    mttr = np.asarray(mttr_s, dtype=float)
    pdef = np.asarray(defect_p, dtype=float)
    ttf = np.array([np.random.default_rng(seed + j).exponential(m) for j, m in enumerate(mtbf)])
    ring, count = new_state(buf)
    scrap = np.empty(block, dtype=np.int64)
    out = np.empty(block)
    started = 0
    rng = np.random.default_rng(seed)
    while True:
        p = rng.lognormal(mu, sigma, (block, n))
        u = rng.random((block, n))
        _fold_block(p, u, scrap, mtbf, mttr, pdef, ttf)
        ran = departures(p, scrap, buf, ring, count, out, horizon_s)
        started += ran
        if ran < block:
            return started
