"""Random streams shared by both engines: one generator per station, option and purpose.

Every equipment option of every station owns three independent streams, keyed by position —
``SeedSequence(root, spawn_key=(station index, option index, purpose))`` — so that

- the SimPy and the fast engine draw the *same numbers* for the same cells and can be held to
  each other exactly (DESIGN.md, "Scale");
- variants of a line (another machine count, another cycle time) reuse the streams of every
  station they share with the base line: common random numbers in sweeps;
- the root comes from the injected ``numpy.random.Generator`` (one draw), so the same spec and
  generator state give the same run.

Purposes: processing times (already in seconds, for the option's distribution), defect draws
(uniform on [0, 1)), the failure clock (standard exponential: times to failure and repair
times are MTBF and MTTR multiples of it), the minor-stop clock (standard exponential, the same
way) and inspection draws (uniform: detection and the rework decision). Numbers come in
blocks; numpy's generators give the same sequence whatever the block size.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from linesim.rates import machine_rate_cells_per_h

__all__ = [
    "BLOCK",
    "SERVICE",
    "DEFECT",
    "FAILURE",
    "MINOR",
    "INSPECT",
    "PURPOSES",
    "Stream",
    "stream_root",
    "generators",
    "generator",
    "GroupTimes",
    "group_times",
    "draw_service",
    "exposure_parameters",
    "LossTimes",
    "loss_times",
    "StationClock",
    "station_clock",
]

BLOCK = 4096
SERVICE, DEFECT, FAILURE, MINOR, INSPECT = 0, 1, 2, 3, 4
PURPOSES = (SERVICE, DEFECT, FAILURE, MINOR, INSPECT)


def stream_root(rng: np.random.Generator) -> int:
    """The root entropy of a run's streams (one draw from the injected generator)."""
    return int(rng.integers(0, 2**63))


def generators(root: int, station: int, option: int) -> tuple[np.random.Generator, ...]:
    """The (service, defect, failure, minor-stop, inspection) generators of one equipment
    option (a purpose's generator is the same whatever other purposes exist)."""
    return tuple(generator(root, station, option, k) for k in PURPOSES)


def generator(root: int, station: int, option: int, purpose: int) -> np.random.Generator:
    """The generator of one purpose of one equipment option (as :func:`generators` gives it;
    ~0.1 ms each, so a caller that draws from few purposes makes only those)."""
    return np.random.default_rng(np.random.SeedSequence(root, spawn_key=(station, option, purpose)))


class GroupTimes(NamedTuple):
    """What both engines need of an equipment group's times."""

    unit: int  #: cells per service: the batch size at a batch station, else 1
    mean_s: float  #: mean service time [s]: unit × 3600 ÷ machine rate [cells/h]
    mtbf_s: float  #: mean operating time between failures [s]; 0 without breakdowns
    mttr_s: float  #: mean time to repair [s]; 0 without breakdowns


def group_times(eq) -> GroupTimes:
    """The service unit, mean service time and breakdown means [s] of an
    :class:`~linesim.spec.Equipment` group, converted from the spec's units once."""
    unit = eq.batch_size if eq.kind == "batch" else 1
    return GroupTimes(
        unit,
        unit * 3600.0 / machine_rate_cells_per_h(eq),
        eq.mtbf_h * 3600.0 if eq.mtbf_h else 0.0,
        eq.mttr_h * 3600.0 if eq.mttr_h else 0.0,
    )


def draw_service(
    gen: np.random.Generator, dist: str, mean_s: float, cv: float | None, n: int
) -> np.ndarray:
    """``n`` processing times [s] with the given mean and coefficient of variation.

    - deterministic: the mean (draws nothing);
    - exponential: mean · Exp(1) (cv = 1);
    - lognormal: exp(μ + σZ) with σ² = ln(1 + cv²), μ = ln(mean) − σ²/2;
    - gamma: shape k = 1/cv², scale = mean · cv².
    """
    if dist == "deterministic":
        return np.full(n, mean_s)
    if dist == "exponential":
        return gen.exponential(mean_s, n)
    if cv is None:  # pragma: no cover - the spec requires a cv for the two below
        raise ValueError(f"{dist} process times need a coefficient of variation")
    if dist == "lognormal":
        sigma2 = math.log1p(cv * cv)
        return gen.lognormal(math.log(mean_s) - sigma2 / 2.0, math.sqrt(sigma2), n)
    if dist == "gamma":
        k = 1.0 / (cv * cv)
        return gen.gamma(k, mean_s / k, n)
    raise ValueError(dist)  # pragma: no cover - the spec only admits the four above


class Stream:
    """Hands out one number at a time from blocks drawn by ``draw(n)``."""

    __slots__ = ("_draw", "_buf", "_i")

    def __init__(self, draw):
        self._draw = draw
        self._buf: list[float] = []
        self._i = 0

    def next(self) -> float:
        i = self._i
        if i >= len(self._buf):
            self._buf = self._draw(BLOCK).tolist()
            i = 0
        self._i = i + 1
        return self._buf[i]


def exposure_parameters(spec) -> tuple[list[bool], list[float], list[float]] | None:
    """What both engines need for dry-room exposure, per station: whether waiting before it
    counts (a ``dry_room`` station), the exposure rate [1/s] and the queue-time limit [s] of
    its ``exposure`` window (0 and inf without one). ``None`` when no station has the window,
    so the engines need not track waits at all."""
    from linesim.spec.process import ExposureWindow

    windows = [s.process if isinstance(s.process, ExposureWindow) else None for s in spec.stations]
    if not any(windows):
        return None
    rate = [w.rate_per_s(spec.dew_point_c(s)) if w else 0.0 for w, s in zip(windows, spec.stations)]
    limit = [w.limit_s() if w else math.inf for w in windows]
    return [s.dry_room for s in spec.stations], rate, limit


class StationClock(NamedTuple):
    """A station's working pattern as the engines read it (:mod:`linesim.simulation.clock`)."""

    work_s: float  #: working seconds a working day; 0 for round the clock
    days: int  #: working days a week


def station_clock(spec, station) -> StationClock:
    """The working pattern ``station`` of ``spec`` works to."""
    pattern = station.working_pattern(spec.calendar)
    if pattern.round_the_clock:
        return StationClock(0.0, 7)
    return StationClock(pattern.working_s_per_day, pattern.days_per_week)


class LossTimes(NamedTuple):
    """What both engines need of a group's losses beyond breakdowns, in seconds and cells
    (zeros where a loss is off)."""

    pm_every_s: float  #: calendar time between planned-maintenance starts
    pm_duration_s: float
    co_every: int  #: cells between changeovers
    co_scrap: int  #: start-up scrap cells after a changeover
    co_duration_s: float
    ms_between_s: float  #: mean operating time between minor stops
    ms_duration_s: float
    detection: float  #: detection efficiency at this station (1: every defect found)
    rework_fraction: float
    rework_s: float  #: machine time per rework
    rework_max: int  #: attempts before the cell is scrapped (0: no rework)


def loss_times(station, eq) -> LossTimes:
    """The losses of an :class:`~linesim.spec.Equipment` group of ``station``, converted once
    (metres of web to cells with the group's own web width and cell area)."""
    pm, co, ms, rw = station.planned_maintenance, station.changeover, station.minor_stops, None
    rw = station.rework
    every = scrap = 0
    if co is not None:
        per_m = (
            eq.web_width_m / eq.area_per_cell_m2
            if eq.web_width_m is not None and eq.area_per_cell_m2
            else None
        )
        every, scrap = co.cells(per_m)
    return LossTimes(
        pm.every_h * 3600.0 if pm else 0.0,
        pm.duration_h * 3600.0 if pm else 0.0,
        every,
        scrap,
        co.duration_s if co else 0.0,
        ms.mean_between_s if ms else 0.0,
        ms.mean_duration_s if ms else 0.0,
        station.detection_efficiency,
        rw.fraction if rw else 0.0,
        rw.time_s if rw else 0.0,
        rw.max_attempts if rw else 0,
    )
