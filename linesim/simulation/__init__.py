"""Discrete-event simulation of a line: two engines for one model, and what they record.

- ``simpy``: the reference engine (:mod:`linesim.simulation.engine`), one SimPy process per
  machine; it alone can keep a per-cell exit trace.
- ``fast``: the same model on a compiled event loop (:mod:`linesim.simulation.fast`), 20–40×
  faster; fed the same random streams it gives identical results.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from linesim.simulation.engine import simulate_once
from linesim.simulation.records import SimResult, StationRecord

__all__ = [
    "ENGINES",
    "SimResult",
    "StationRecord",
    "UnsupportedByFastEngine",
    "engine_for",
    "simulate",
    "simulate_once",
]

ENGINES = ("auto", "fast", "simpy")


class UnsupportedByFastEngine(ValueError):
    """A feature that only the SimPy engine has was asked of the fast engine."""


def engine_for(engine: str, *, trace: bool = False) -> str:
    """The engine that runs: ``auto`` is ``fast`` unless a SimPy-only feature is asked for."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine == "auto":
        return "simpy" if trace else "fast"
    if engine == "fast" and trace:
        raise UnsupportedByFastEngine(
            "the exit trace is kept by the SimPy engine only (use engine='simpy')"
        )
    return engine


def simulate(
    spec,
    horizon_s: float,
    warmup_s: float = 0.0,
    rng: np.random.Generator | int | None = None,
    *,
    engine: str = "auto",
    replication: int = 0,
    seed: int | None = None,
    trace: bool = False,
    progress: Callable[[float], None] | None = None,
) -> SimResult:
    """Simulate one replication of a line.

    Parameters
    ----------
    spec : LineSpec
    horizon_s : float
        Observation window after warm-up [s].
    warmup_s : float
        Warm-up [s]; its statistics are discarded.
    rng : numpy.random.Generator or int, optional
        Source of randomness (a seed makes a ``default_rng``); same spec and rng state → same
        result, on either engine.
    engine : {'auto', 'fast', 'simpy'}
        ``auto`` runs the fast engine unless ``trace`` is asked for.
    trace : bool
        Keep a trace of exits ``(time, 'good'|'scrap', station index, start time)`` (SimPy
        engine only; small runs; capped at 200,000 entries).
    progress : callable, optional
        ``progress(fraction)`` as the simulated clock passes each 1/20 (fast engine) or 1/100
        (SimPy) of warm-up + horizon, fraction in (0, 1] and 1 at the end, for a progress
        bar; it may raise to abandon the run. The result is the same with and without it.
    """
    if engine_for(engine, trace=trace) == "fast":
        from linesim.simulation.fast import simulate_fast  # numba loads only when used

        return simulate_fast(
            spec, horizon_s, warmup_s, rng, replication=replication, seed=seed, progress=progress
        )
    return simulate_once(
        spec,
        horizon_s,
        warmup_s,
        rng,
        replication=replication,
        seed=seed,
        trace=trace,
        progress=progress,
    )
