"""Machine-state timeline: what every machine did, interval by interval, in a window of one
replication on the SimPy engine (the data of a Gantt chart).

The engine keeps time accounts, not a log (:mod:`linesim.simulation.records`); this module
passes :func:`~linesim.simulation.engine.simulate_once` a machine type that also writes down
each service and wait as it happens, so a run without it costs nothing extra. The laying out
follows the accounts exactly: a service's parts in the order of
:data:`~linesim.simulation.parts.SERVICE_PARTS` (maintenance, changeover, processing, minor
stops, repairs, rework), the off-shift time of the station's calendar between them, and a wait
(starved, blocked) from its start to its end. So in the window every machine's intervals tile
it without gap or overlap, and their lengths summed per state are the run's accounts for the
window (the run's warm-up is the window's start).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from linesim.errors import UsageError
from linesim.simulation.clock import DAY_S, WEEK_S
from linesim.simulation.engine import simulate_once
from linesim.simulation.parts import BUSY, IDLE, OFF, SERVICE_PARTS, Machine
from linesim.simulation.records import TIME_ACCOUNTS, SimResult
from linesim.spec import LineSpec

__all__ = ["STATES", "MachineStates", "StateTrace", "machine_states", "MAX_INTERVALS"]

#: State names, in the order of the time accounts (``busy_s`` → ``busy``, …)
STATES = tuple(name.removesuffix("_s") for name in TIME_ACCOUNTS)
MAX_INTERVALS = 400_000  #: intervals a trace may hold (a longer window is refused) [-]


@dataclass(frozen=True)
class MachineStates:
    """One machine's intervals in the window: ``(start_s, end_s, state)``, in time order,
    times from the start of the replication [s], state one of :data:`STATES`."""

    station: str
    machine: int  #: 0-based, in the station's equipment order
    intervals: tuple[tuple[float, float, str], ...]


@dataclass(frozen=True)
class StateTrace:
    """The machine states of every machine in ``[start_s, end_s]`` of one replication, and the
    run's records of that window (``result``: warm-up = ``start_s``)."""

    start_s: float
    end_s: float
    machines: tuple[MachineStates, ...]
    result: SimResult

    def seconds(self, station: str) -> dict[str, float]:
        """Machine-seconds per state of a station's machines in the window [s]."""
        out = dict.fromkeys(STATES, 0.0)
        for m in self.machines:
            if m.station == station:
                for a, b, state in m.intervals:
                    out[state] += b - a
        return out


def working_pieces(a: float, b: float, work_s: float, days: int) -> list[tuple[float, float, bool]]:
    """``[a, b]`` [s] cut at the shift boundaries of a calendar (``work_s`` working seconds
    from midnight on the first ``days`` days of each week; 0: round the clock) into
    ``(start, end, working)`` pieces."""
    if not work_s:
        return [(a, b, True)]
    out = []
    t = a
    while t < b:
        k = math.floor(t / WEEK_S)
        d = min(math.floor((t - k * WEEK_S) / DAY_S), 6)
        day0 = k * WEEK_S + d * DAY_S
        working = d < days and t < day0 + work_s
        end = day0 + work_s if working else (day0 + DAY_S if d + 1 < days else (k + 1) * WEEK_S)
        end = min(b, end) if end > t else b  # rounding at a boundary: the rest in one piece
        out.append((t, end, working))
        t = end
    return out


class _Recorder:
    """Called as :class:`Machine` by the engine: builds traced machines, in station and
    equipment order, and holds their intervals clipped to the window."""

    def __init__(self, spec: LineSpec, start_s: float, end_s: float, limit: int):
        self.window = (start_s, end_s)
        self.names = [(s.id, k) for s in spec.stations for k in range(s.machine_count)]
        self.machines: list[_TracedMachine] = []
        self.count = 0
        self.limit = limit

    def __call__(self, ttf: float, ttms: float, pm_due: float, clock) -> Machine:
        m = _TracedMachine(ttf, ttms, pm_due, clock)
        m.recorder = self
        m.log = []
        self.machines.append(m)
        return m

    def add(self, log: list, a: float, b: float, account: int) -> None:
        lo, hi = self.window
        a, b = max(a, lo), min(b, hi)
        if b > a:
            if self.count >= self.limit:
                raise UsageError(
                    f"the window holds more than {self.limit:,} machine-state intervals: "
                    "choose a shorter window (start_s, end_s)"
                )
            self.count += 1
            log.append((a, b, STATES[account]))


class _TracedMachine(Machine):
    """A :class:`Machine` that writes down its services and waits (see the module's text)."""

    __slots__ = ("recorder", "log")
    recorder: _Recorder
    log: list

    def serve(self, now: float, parts: tuple[float, ...]) -> float:
        delay = super().serve(now, parts)
        accounts = [account for account, s in zip(SERVICE_PARTS, parts) if s > 0.0]
        left = [s for s in parts if s > 0.0]  # seconds of each still to lay out
        # the engine's timeout ends at now + delay: so does the last part
        for a, b, working in working_pieces(now, now + delay, *self.clock):
            if not working:
                self.recorder.add(self.log, a, b, OFF)
                continue
            t = a
            while t < b and left:
                end = b if len(left) == 1 else min(b, t + left[0])
                self.recorder.add(self.log, t, end, accounts[0])
                left[0] -= end - t
                if end < b or (len(left) > 1 and left[0] <= 0.0):
                    accounts.pop(0)
                    left.pop(0)
                t = end
        return delay

    def waited(self, now: float) -> None:
        self._wrote_wait(now)
        super().waited(now)

    def _wrote_wait(self, now: float) -> None:
        for a, b, working in working_pieces(self.since, now, *self.clock):
            self.recorder.add(self.log, a, b, self.state if working else OFF)


def machine_states(
    spec: LineSpec,
    start_s: float,
    end_s: float,
    rng: np.random.Generator | int | None = None,
    *,
    replication: int = 0,
    seed: int | None = None,
    limit: int = MAX_INTERVALS,
    progress: Callable[[float], None] | None = None,
) -> StateTrace:
    """Every machine's states in ``[start_s, end_s]`` of one replication on the SimPy engine.

    Parameters
    ----------
    spec : LineSpec
    start_s, end_s : float
        The window, from the start of the replication [s]; ``0 ≤ start_s < end_s``.
    rng : numpy.random.Generator or int, optional
        As :func:`linesim.simulation.simulate` (replication r of a run with base seed S:
        :func:`linesim.experiments.replication_rng`); the run is that replication's.
    limit : int
        Most intervals kept [-]; a window holding more is refused (UsageError).
    progress : callable, optional
        As :func:`linesim.simulation.simulate`.
    """
    if not 0.0 <= start_s < end_s or not math.isfinite(end_s):
        raise UsageError(f"the window needs 0 ≤ start_s < end_s, got [{start_s}, {end_s}]")
    recorder = _Recorder(spec, start_s, end_s, limit)
    result = simulate_once(
        spec,
        end_s - start_s,
        start_s,
        rng,
        replication=replication,
        seed=seed,
        machine=recorder,
        progress=progress,
    )
    out = []
    for (station, k), m in zip(recorder.names, recorder.machines):
        if m.state not in (BUSY, IDLE):  # a wait still running at the end
            m._wrote_wait(end_s)
        out.append(MachineStates(station, k, tuple(m.log)))
    return StateTrace(start_s, end_s, tuple(out), result)
