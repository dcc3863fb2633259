"""The work and memory of a simulation, estimated from the spec before any engine starts, and
the refusal of a simulation that is legal but absurd (a year of a line at one cell per
millisecond, a million replications, a horizon of a billion days).

Work is counted in events of the fast engine's loop (``docs/engines.md``): a service takes
about :data:`EVENTS_PER_SERVICE` (its end, the wake-up of the machine that takes its cell,
the one that fills its place); each breakdown and minor stop during a service is one more
step of the loop, each planned maintenance one more. Services come from the static capacity
model (:mod:`linesim.capacity`): station j processes at most its capacity and at most the
line's maximum good output × its starts per good cell, in services of its batch size. So, per
replication,

    events ≈ Σ_j flow_j ÷ unit_j × (EVENTS_PER_SERVICE + failures_j + stops_j) × T
             + Σ_j machines_j × T ÷ maintenance interval_j,

with T the simulated time (warm-up + horizon) in hours, flow_j in cells per calendar hour,
failures_j and stops_j the expected breakdowns and minor stops per service. Memory is what the
fast engine allocates (:func:`linesim.simulation.fast.state_size`), once per replication that
runs at the same time; the SimPy engine holds the same cells as Python objects. Time is events
÷ a conservative speed of each engine (:data:`EVENTS_PER_S`, a quarter or less of what
``BENCHMARKS.md`` measures) ÷ the replications running at once.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

from linesim.capacity import capacity_report, suggested_warmup_h
from linesim.errors import UsageError
from linesim.simulation.draws import group_times
from linesim.spec import Equipment, LineSpec, Station

__all__ = [
    "EVENTS_PER_SERVICE",
    "EVENTS_PER_S",
    "MAX_MEMORY_BYTES",
    "MAX_SECONDS",
    "MAX_REPLICATIONS",
    "MAX_SIMULATED_S",
    "Workload",
    "events_per_replication",
    "estimate",
    "check",
]

EVENTS_PER_SERVICE = 3
#: Conservative events per second of one process: events as counted here ran at 9–15 M/s on
#: the fast engine and 0.3 M/s on the SimPy engine (bundled lines, 2026-12-01, a busy machine).
EVENTS_PER_S = {"fast": 3e6, "simpy": 1e5}
MAX_MEMORY_BYTES = 2**30  #: state of the replications running at once, without allow_large
MAX_SECONDS = 600.0  #: expected wall time, without allow_large
MAX_REPLICATIONS = 10_000  #: replications of one run, without allow_large
#: Longest warm-up or horizon [s] (100 years: no question about a line needs more, and a float
#: clock keeps sub-millisecond resolution up to it)
MAX_SIMULATED_S = 100 * 365 * 86_400.0


@dataclass(frozen=True)
class Workload:
    """The estimated size of a simulation (all replications together)."""

    events: float  #: events of all replications
    memory_bytes: int  #: engine state of the replications running at once [bytes]
    seconds: float  #: expected wall time [s]
    runs: int  #: replications of all specs
    concurrent: int  #: replications running at once
    engine: str

    def describe(self) -> str:
        """One line: events, memory, expected time and the speed it assumes."""
        return (
            f"~{self.events:.2g} events ({self.runs} run{'s' if self.runs != 1 else ''}), "
            f"~{_bytes(self.memory_bytes)} of engine state ({self.concurrent} at once), "
            f"~{_duration(self.seconds)} at {EVENTS_PER_S[self.engine]:,.0f} events/s "
            f"({self.engine} engine)"
        )


def events_per_replication(spec: LineSpec, simulated_s: float) -> float:
    """Events of one replication of ``spec`` over ``simulated_s`` seconds (warm-up + horizon),
    by the formula of the module docstring."""
    report = capacity_report(spec)
    hours = simulated_s / 3600.0
    events = 0.0
    for station, row in zip(spec.stations, report.stations):
        flow = row.capacity_cells_per_h  # cells/h processed here: no more than it can, and
        if math.isfinite(row.starts_per_good_cell):  # no more than the line's output asks
            flow = min(flow, report.max_good_cells_per_h * row.starts_per_good_cell)
        running = [eq for eq in station.equipment() if eq.count > 0]
        per_service = EVENTS_PER_SERVICE + max(_stops_per_service(station, eq) for eq in running)
        unit = min(group_times(eq).unit for eq in running)
        events += flow / unit * per_service * hours
        pm = station.planned_maintenance
        if pm is not None:
            events += station.machine_count * hours / pm.every_h
    return events


def _stops_per_service(station: Station, eq: Equipment) -> float:
    """Expected breakdowns and minor stops during one service of a machine of ``eq``."""
    times = group_times(eq)
    stops = times.mean_s / times.mtbf_s if times.mtbf_s else 0.0
    if station.minor_stops is not None:
        stops += times.mean_s / station.minor_stops.mean_between_s
    return stops


def estimate(
    specs: Sequence[LineSpec],
    horizon_s: float,
    warmup_s: float | None,
    replications: int,
    workers: int | None = None,
    engine: str = "fast",
) -> Workload:
    """The work, memory and expected time of ``replications`` replications of each spec.

    Parameters
    ----------
    specs : sequence of LineSpec
        The line, or the variants of a sweep (each runs ``replications`` times).
    horizon_s : float
        Simulated time after the warm-up [s].
    warmup_s : float or None
        Warm-up [s]; None: each spec's own (:func:`linesim.capacity.suggested_warmup_h`).
    replications : int
        Replications of each spec.
    workers : int, optional
        Processes (default: all cores), as :func:`linesim.experiments.replicate` takes them.
    engine : str
        ``fast`` or ``simpy`` (the engine that runs, after ``auto`` is resolved).
    """
    from linesim.simulation.fast import state_size

    cores = os.cpu_count() or 1
    runs = replications * len(specs)
    concurrent = max(1, min(workers or cores, runs))
    events = 0.0
    for spec in specs:
        warm = suggested_warmup_h(spec) * 3600.0 if warmup_s is None else warmup_s
        events += replications * events_per_replication(spec, horizon_s + warm)
    return Workload(
        events=events,
        memory_bytes=concurrent * max(state_size(spec).nbytes for spec in specs),
        seconds=events / (EVENTS_PER_S[engine] * min(concurrent, cores)),
        runs=runs,
        concurrent=concurrent,
        engine=engine,
    )


def check(
    specs: Sequence[LineSpec],
    horizon_s: float,
    warmup_s: float | None,
    replications: int,
    workers: int | None = None,
    engine: str = "fast",
    *,
    allow_large: bool = False,
) -> Workload:
    """:func:`estimate`, refused with a :class:`UsageError` (naming the estimate, the limits and
    ``allow_large``) when it exceeds :data:`MAX_SECONDS`, :data:`MAX_MEMORY_BYTES` or
    :data:`MAX_REPLICATIONS`; a simulated time that is not finite or beyond
    :data:`MAX_SIMULATED_S` is refused even with ``allow_large``."""
    for name, value in (("horizon_s", horizon_s), ("warmup_s", warmup_s or 0.0)):
        if not (math.isfinite(value) and 0.0 <= value <= MAX_SIMULATED_S):
            raise UsageError(
                f"{name}: {value:g} s; allowed: a finite duration up to 100 years "
                f"({MAX_SIMULATED_S:g} s)"
            )
    if replications > MAX_REPLICATIONS and not allow_large:
        raise UsageError(
            f"replications: {replications:,}; allowed: at most {MAX_REPLICATIONS:,}, or allow_large"
        )
    work = estimate(specs, horizon_s, warmup_s, replications, workers, engine)
    if not allow_large and (work.seconds > MAX_SECONDS or work.memory_bytes > MAX_MEMORY_BYTES):
        raise UsageError(
            f"horizon_s, replications: the simulation is too large to start: {work.describe()}; "
            f"allowed: at most ~{_duration(MAX_SECONDS)} and {_bytes(MAX_MEMORY_BYTES)} "
            "(a shorter horizon_s, fewer replications or workers), or allow_large to run it "
            "anyway"
        )
    return work


def _bytes(n: float) -> str:
    """``n`` bytes with a binary unit, 3 significant digits."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} TiB"


def _duration(seconds: float) -> str:
    """``seconds`` in days, hours, minutes or seconds, 3 significant digits."""
    for unit, size in (("days", 86_400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.3g} s"
