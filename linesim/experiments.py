"""Replications: independent random streams, a process pool, and 95 % confidence intervals.

Replication r of base seed S draws from ``SeedSequence(S, spawn_key=(r,))`` – exactly the
r-th child of ``SeedSequence(S).spawn(...)`` – so streams are independent and any single
replication can be rerun on its own.

Pool workers die with the process that started them (:func:`linesim.progress.die_with_parent`)
and report how far their replication has simulated through shared memory, so a progress bar
moves within long replications. Ctrl-C or SIGTERM kills the workers at once instead of waiting
for their replications, and comes out as :class:`linesim.progress.Interrupted`.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from functools import partial
from typing import Any

import numpy as np

from linesim.progress import Interrupted, die_with_parent
from linesim.simulation import engine_for, simulate
from linesim.simulation.records import SimResult
from linesim.spec import LineSpec

__all__ = [
    "engine_before_fork",
    "replicate",
    "replication_rng",
    "run_tasks",
    "simulate_replication",
]

_POLL_S = 0.25  #: how often [s] the parent gathers its workers' progress
_JOIN_S = 1.0  #: how long [s] the parent waits for a killed worker to be gone

#: In a pool worker: each task's fraction simulated, in memory shared with the parent
_progress_slots: Any = None


def replication_rng(seed: int, replication: int) -> np.random.Generator:
    """The generator of one replication (independent of every other replication)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(replication,)))


def simulate_replication(
    task: tuple[LineSpec, float, float, int, int, str],
    on_fraction: Callable[[float], None] | None = None,
) -> SimResult:
    """Replication r of base seed S: ``task`` = (spec, horizon_s, warmup_s, S, r, engine).
    The same r draws the same stream whatever the spec (common random numbers), in any
    process: a pool task of replications, sweeps and uncertainty studies."""
    spec, horizon_s, warmup_s, seed, r, engine = task
    return simulate(
        spec,
        horizon_s,
        warmup_s,
        replication_rng(seed, r),
        replication=r,
        seed=seed,
        engine=engine,
        progress=on_fraction,
    )


def _start_worker(parent_pid: int, slots: Any) -> None:
    """A pool worker's initializer: die with the parent, leave signals to it, report into
    ``slots``."""
    global _progress_slots
    die_with_parent(parent_pid)
    # Ctrl-C reaches the terminal's whole process group: stopping is the parent's to decide;
    # SIGTERM (the parent's kill) must end the worker, not raise in it as the parent's handler
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _progress_slots = slots


def _in_worker(work: Callable, k: int, task: Any) -> Any:
    slots = _progress_slots
    return work(task, None if slots is None else partial(slots.__setitem__, k))


def _kill(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: cancel the tasks not started and SIGKILL the workers (their running
    tasks are lost either way; waiting for them is what made one Ctrl-C take many seconds)."""
    workers = list((pool._processes or {}).values())  # the executor offers no public handle
    pool.shutdown(wait=False, cancel_futures=True)
    for p in workers:
        p.kill()
    for p in workers:
        p.join(timeout=_JOIN_S)


def run_tasks(
    work: Callable[[Any, Callable[[float], None] | None], Any],
    tasks: Sequence,
    workers: int,
    done: Callable[[int, Any], None],
    progress: Callable[[float, int], None] | None = None,
) -> None:
    """Run ``work(task, on_fraction)`` for every task, on a pool of processes when workers > 1.

    Parameters
    ----------
    work : callable
        A module-level function (pool workers import it); ``on_fraction`` is None, or takes
        the fraction (0 to 1) of the task done so far (a simulation's ``progress``).
    tasks : sequence
    workers : int
        Processes; 1 runs the tasks here, one after another.
    done : callable
        ``done(k, result)`` as task k finishes (in any order on a pool).
    progress : callable, optional
        ``progress(done, total)``: tasks done, counting the fraction done of running ones
        (``done`` = 2.4 of ``total`` = 5); on a pool about every 0.25 s.

    A ``KeyboardInterrupt`` (Ctrl-C, or SIGTERM turned into one) is passed on after the pool's
    workers are killed; a worker outlives neither the pool nor this process.
    """
    if workers <= 1:
        for k, task in enumerate(tasks):
            on_fraction = None if progress is None else partial(_offset, progress, k, len(tasks))
            done(k, work(task, on_fraction))
            if progress is not None:
                progress(k + 1, len(tasks))
        return
    slots = multiprocessing.RawArray("d", len(tasks)) if progress else None
    pool = ProcessPoolExecutor(workers, initializer=_start_worker, initargs=(os.getpid(), slots))
    try:
        index = {pool.submit(_in_worker, work, k, task): k for k, task in enumerate(tasks)}
        pending = set(index)
        while pending:
            finished, pending = wait(pending, timeout=_POLL_S, return_when=FIRST_COMPLETED)
            for future in finished:
                done(index[future], future.result())
                if slots is not None:
                    slots[index[future]] = 1.0
            if progress is not None and slots is not None:
                progress(sum(slots), len(tasks))
    except BaseException:
        _kill(pool)
        raise
    pool.shutdown()


def _offset(progress: Callable[[float, int], None], k: int, total: int, fraction: float) -> None:
    progress(k + fraction, total)


def engine_before_fork(engine: str, workers: int) -> None:
    """Build the compiled engine here (or load it from numba's cache) before a pool of
    ``workers`` processes is forked from this one, when they will run it: they start with it
    instead of each building it (minutes) or loading it (~1.3 s of CPU each)."""
    if engine == "fast" and workers > 1:
        from linesim.simulation.fast import build

        build()


def replicate(
    spec: LineSpec,
    horizon_s: float,
    warmup_s: float,
    replications: int,
    seed: int = 1,
    workers: int | None = None,
    progress: Callable[[float, int], None] | None = None,
    engine: str = "auto",
    first: int = 0,
) -> list[SimResult]:
    """Run ``replications`` independent replications, on a process pool when workers > 1:
    replications ``first`` to ``first + replications − 1`` of ``seed`` (so that a run of 5 and
    a run of 15 from ``first=5`` are, together, the run of 20).

    Results come back in replication order whatever the worker count, so the same seed gives
    the same results. ``progress(done, total)`` reports replications done, counting the
    simulated fraction of running ones (``done`` = 2.4 of ``total`` = 5).

    Raises
    ------
    Interrupted
        On Ctrl-C or SIGTERM (once the workers are gone), saying how many replications had
        finished; their results are discarded.
    """
    engine = engine_for(engine)
    tasks = [(spec, horizon_s, warmup_s, seed, first + r, engine) for r in range(replications)]
    workers = min(workers or os.cpu_count() or 1, replications)
    engine_before_fork(engine, workers)
    results: dict[int, SimResult] = {}
    try:
        run_tasks(simulate_replication, tasks, workers, results.__setitem__, progress)
    except KeyboardInterrupt:
        raise Interrupted(f"{len(results)} of {replications} replications finished") from None
    return [results[r] for r in range(replications)]
