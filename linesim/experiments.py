"""Replications: independent random streams, a process pool, and 95 % confidence intervals.

Replication r of base seed S draws from ``SeedSequence(S, spawn_key=(r,))`` – exactly the
r-th child of ``SeedSequence(S).spawn(...)`` – so streams are independent and any single
replication can be rerun on its own.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from linesim.simulation import engine_for, simulate
from linesim.simulation.records import SimResult
from linesim.spec import LineSpec

__all__ = ["replicate", "replication_rng"]


def replication_rng(seed: int, replication: int) -> np.random.Generator:
    """The generator of one replication (independent of every other replication)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(replication,)))


def _one(args: tuple) -> SimResult:
    spec, horizon_s, warmup_s, seed, r, engine = args
    return simulate(
        spec, horizon_s, warmup_s, replication_rng(seed, r), replication=r, seed=seed, engine=engine
    )


def replicate(
    spec: LineSpec,
    horizon_s: float,
    warmup_s: float,
    replications: int,
    seed: int = 1,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    engine: str = "auto",
) -> list[SimResult]:
    """Run ``replications`` independent replications, on a process pool when workers > 1.

    Results come back in replication order whatever the worker count, so the same seed gives
    the same results. ``progress(done, total)`` is called as replications finish.
    """
    engine = engine_for(engine)
    tasks = [(spec, horizon_s, warmup_s, seed, r, engine) for r in range(replications)]
    workers = min(workers or os.cpu_count() or 1, replications)
    results: list[SimResult] = []
    if workers <= 1:
        for k, task in enumerate(tasks):
            results.append(_one(task))
            if progress:
                progress(k + 1, replications)
        return results
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for k, res in enumerate(pool.map(_one, tasks)):
            results.append(res)
            if progress:
                progress(k + 1, replications)
    return results
