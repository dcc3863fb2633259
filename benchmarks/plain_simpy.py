"""The 1× reference of BENCHMARKS.md: a line as a competent SimPy user would write it.

One process per machine, a ``simpy.Store`` per buffer, one NumPy draw at a time; it reads the
stations of a :class:`~linesim.spec.LineSpec` (kind, equipment options and their counts, rates,
time distribution, breakdowns, defects and where they are detected, batch sizes, a batch's
``max_wait_s`` and buffers) and models them the way the engines do:

- a machine takes a cell from its input store (the first station makes new cells: raw material
  never runs out), processes it, and puts it into its output store, waiting while the store is
  full (blocking after service); the last station is never blocked;
- breakdowns on operating time folded into the service: k ~ Poisson(t ÷ MTBF) failures during
  a processing time t, each repaired in Exp(MTTR) (their sum drawn as Gamma(k, MTTR));
- a cell is defective at a station with the option's probability and is scrapped at the station
  that detects that station's defects;
- a batch machine loads at a loading dock (a ``simpy.Resource`` of one: one machine loads at a
  time), until the batch is full or ``max_wait_s`` after its first cell, processes it for one
  cycle, then puts its cells on one by one.

What it leaves out — the losses of a real line (calendar, planned maintenance, changeovers,
minor stops, rework, inspection escapes) and dry-room exposure — is what the engines model and it
does not; so on a line with those, the plain model does less work per cell than the engines.
"""

from __future__ import annotations

import math

import numpy as np
import simpy

from linesim.rates import machine_rate_cells_per_h

__all__ = ["plain_simpy"]


def _service_draw(rng: np.random.Generator, dist: str, mean_s: float, cv: float | None):
    """A function drawing one processing time [s] (the engines' four distributions)."""
    if dist == "deterministic":
        return lambda: mean_s
    if dist == "exponential":
        return lambda: rng.exponential(mean_s)
    assert cv is not None
    if dist == "lognormal":
        sigma2 = math.log1p(cv * cv)
        mu, sigma = math.log(mean_s) - sigma2 / 2.0, math.sqrt(sigma2)
        return lambda: rng.lognormal(mu, sigma)
    k = 1.0 / (cv * cv)
    return lambda: rng.gamma(k, mean_s / k)


def plain_simpy(spec, horizon_s: float, seed: int) -> dict:
    """Simulate ``spec`` for ``horizon_s`` seconds from empty; returns the counters
    ``started``, ``good`` and ``scrapped`` (cells)."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    st = spec.stations
    n = len(st)
    detect = spec.detection_index()
    # a buffer of 0 is a store of 1 whose putter waits until the cell is taken (a hand-over)
    handover = [s.buffer_after == 0 for s in st[:-1]]
    stores = [simpy.Store(env, capacity=max(s.buffer_after, 1)) for s in st[:-1]]
    counts = {"started": 0, "good": 0, "scrapped": 0}

    def finish(i: int, cell: list):
        """Move a processed cell on from station i (a generator: it may wait for space)."""
        if cell[0] == i:
            counts["scrapped"] += 1
        elif i == n - 1:
            counts["good"] += 1
        elif handover[i]:
            taken = env.event()
            yield stores[i].put((cell, taken))
            yield taken
        else:
            yield stores[i].put(cell)

    def unpack(i: int, item) -> list:
        """The cell of an item got from the store before station i (a hand-over: let go)."""
        if handover[i - 1]:
            cell, taken = item
            taken.succeed()
            return cell
        return item

    def service(i: int, eq, draw):
        mtbf = eq.mtbf_h * 3600.0 if eq.mtbf_h else None
        mttr = eq.mttr_h * 3600.0 if eq.mttr_h else 0.0

        def total() -> float:
            t = draw()
            if mtbf is not None:
                k = rng.poisson(t / mtbf)
                if k:
                    t += rng.gamma(k, mttr)
            return t

        return total

    def new_cell() -> list:
        counts["started"] += 1
        return [n]  # [index of the station that will scrap it; n: none]

    def defect(i: int, cell: list, p: float) -> None:
        if p and rng.random() < p:
            cell[0] = min(cell[0], detect[i])

    def machine(i: int, eq, svc):
        p = eq.defect_probability
        while True:
            cell = new_cell() if i == 0 else unpack(i, (yield stores[i - 1].get()))
            yield env.timeout(svc())
            defect(i, cell, p)
            yield from finish(i, cell)

    def batch_machine(i: int, eq, svc, dock: simpy.Resource, max_wait_s: float | None):
        p = eq.defect_probability
        size = eq.batch_size
        while True:
            batch: list = []
            with dock.request() as req:
                yield req
                if i == 0:
                    batch = [new_cell() for _ in range(size)]
                else:
                    batch.append(unpack(i, (yield stores[i - 1].get())))
                    deadline = None if max_wait_s is None else env.now + max_wait_s
                    while len(batch) < size:
                        get = stores[i - 1].get()
                        if deadline is None:
                            batch.append(unpack(i, (yield get)))
                            continue
                        timer = env.timeout(max(deadline - env.now, 0.0))
                        got = yield get | timer
                        if get in got:
                            batch.append(unpack(i, got[get]))
                        else:
                            get.cancel()
                            break
            yield env.timeout(svc())
            for cell in batch:
                defect(i, cell, p)
            for cell in batch:
                yield from finish(i, cell)

    for i, s in enumerate(st):
        dock = simpy.Resource(env, capacity=1)
        for eq in s.equipment():
            mean_s = 3600.0 / machine_rate_cells_per_h(eq)
            if s.kind == "batch":
                mean_s *= eq.batch_size  # one cycle per batch
            svc = service(i, eq, _service_draw(rng, s.process_time_dist, mean_s, s.process_time_cv))
            for _ in range(eq.count):
                if s.kind == "batch":
                    env.process(batch_machine(i, eq, svc, dock, s.max_wait_s))
                else:
                    env.process(machine(i, eq, svc))
    env.run(until=horizon_s)
    return counts
