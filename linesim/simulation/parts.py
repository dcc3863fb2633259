"""The state an engine run keeps per buffer, machine and equipment group."""

from __future__ import annotations

from collections import deque

from linesim.simulation.clock import off_time, working_end, working_time
from linesim.simulation.draws import Stream, draw_service, group_times, loss_times
from linesim.simulation.records import TIME_ACCOUNTS

__all__ = [
    "BUSY",
    "DOWN",
    "BLOCKED",
    "STARVED",
    "IDLE",
    "SETUP",
    "MINOR",
    "MAINTENANCE",
    "REWORK",
    "OFF",
    "SERVICE_PARTS",
    "split_wait",
    "machine_totals",
    "Buffer",
    "Machine",
    "Group",
]

# machine states; the first four are also the numbers of their time accounts
BUSY, DOWN, BLOCKED, STARVED, IDLE = 0, 1, 2, 3, -1
# the other time accounts (records.TIME_ACCOUNTS order)
SETUP, MINOR, MAINTENANCE, REWORK, OFF = 4, 5, 6, 7, 8
#: The accounts a service is made of, in the order its time is laid out (a snapshot taken
#: during a service gives the future part back from the last of them).
SERVICE_PARTS = (MAINTENANCE, SETUP, BUSY, MINOR, DOWN, REWORK)


class Buffer:
    """Cells waiting between two stations; ``getters``/``putters`` are the waiting machines."""

    __slots__ = ("items", "capacity", "getters", "putters")

    def __init__(self, capacity: int):
        self.items: deque = deque()
        self.capacity = capacity
        self.getters: deque = deque()  # (event, machine)
        self.putters: deque = deque()  # (event, cell, machine)


class Machine:
    """State and time accounting of one machine (accumulators in machine-seconds).

    A service adds its parts (maintenance, setup, processing, minor stops, repairs, or a
    rework) and the off-shift time inside it when it starts; a wait adds its length — split
    into working and off-shift time — when it ends. :meth:`totals` corrects for the part of a
    service or wait that is still running, so a snapshot at any time is exact.
    """

    __slots__ = (
        "state",
        "since",
        "acc",
        "held",
        "ttf",
        "ttms",
        "svc_end",
        "svc_parts",
        "pm_due",
        "co_count",
        "scrap_left",
        "clock",
    )

    def __init__(self, ttf: float, ttms: float, pm_due: float, clock):
        self.state = IDLE
        self.since = 0.0
        self.acc = [0.0] * len(TIME_ACCOUNTS)
        self.held = 0  # cells inside the machine (loading, in process or blocked)
        self.ttf = ttf  # operating time left until the next failure [s]
        self.ttms = ttms  # operating time left until the next minor stop [s]
        self.svc_end = 0.0
        self.svc_parts = (0.0,) * len(SERVICE_PARTS)
        self.pm_due = pm_due  # calendar time the next planned maintenance falls due [s]
        self.co_count = 0  # cells processed since the last changeover
        self.scrap_left = 0  # start-up scrap cells still to come after a changeover
        self.clock = clock  # the station's (work_s, days)

    def serve(self, now: float, parts: tuple[float, ...]) -> float:
        """Start a service made of ``parts`` (seconds per SERVICE_PARTS account, working
        time); returns its length in calendar time."""
        work = ((((parts[0] + parts[1]) + parts[2]) + parts[3]) + parts[4]) + parts[5]
        work_s, days = self.clock
        for account, seconds in zip(SERVICE_PARTS, parts):
            self.acc[account] += seconds
        if work_s:
            delay = working_end(now, work, work_s, days) - now
            self.acc[OFF] += delay - work
            self.svc_end = now + delay
        else:  # summed part by part, as the engines did before calendars
            delay = work
            self.svc_end = (
                ((((now + parts[0]) + parts[1]) + parts[2]) + parts[3]) + parts[4]
            ) + parts[5]
        self.state = BUSY
        self.svc_parts = parts
        return delay

    def wait(self, state: int, now: float) -> None:
        self.state = state
        self.since = now

    def waited(self, now: float) -> None:
        split_wait(self.acc, self.state, self.since, now, self.clock)
        self.state = IDLE

    def totals(self, now: float) -> list[float]:
        return machine_totals(
            self.acc, self.state, self.since, self.svc_end, self.svc_parts, self.clock, now
        )


def split_wait(acc: list[float], state: int, since: float, now: float, clock) -> None:
    """Add a wait of ``state`` from ``since`` to ``now`` to ``acc``: its working part to the
    state's account, its off-shift part to OFF."""
    work_s, days = clock
    if work_s:
        off = off_time(since, now, work_s, days)
        acc[OFF] += off
        acc[state] += (now - since) - off
    else:
        acc[state] += now - since


def machine_totals(
    acc, state: int, since: float, svc_end: float, svc_parts, clock, now: float
) -> list[float]:
    """A machine's accounts at ``now`` (both engines' snapshots): a running service gives back
    its future — the off-shift part to OFF, the working part from its last part backwards —
    and a running wait adds its past."""
    out = [float(x) for x in acc]
    work_s, days = clock
    if state == BUSY:
        future = svc_end - now
        if future > 0:
            if work_s:
                left = working_time(svc_end, work_s, days) - working_time(now, work_s, days)
                out[OFF] -= future - left
            else:
                left = future
            for k in range(len(SERVICE_PARTS) - 1, 0, -1):
                part = float(svc_parts[k])
                take = left if left < part else part
                out[SERVICE_PARTS[k]] -= take
                left -= take
            out[SERVICE_PARTS[0]] -= left
    elif state != IDLE:
        split_wait(out, state, since, now, clock)
    return out


class Group:
    """One equipment option at a station: its random streams and parameters."""

    __slots__ = (
        "service",
        "p",
        "uniform",
        "mtbf_s",
        "mttr_s",
        "expo",
        "minor_expo",
        "inspect",
        "batch_size",
        "loss",
    )

    def __init__(self, gens, eq, station):
        """``gens``: the option's generators by purpose (:func:`draws.generators`)."""
        unit, mean_s, mtbf_s, mttr_s = group_times(eq)
        service, defect, failure, minor, inspect = gens
        dist, cv = station.process_time_dist, station.process_time_cv
        if dist == "deterministic":
            self.service = lambda: mean_s
        else:
            self.service = Stream(lambda n: draw_service(service, dist, mean_s, cv, n)).next
        self.p = eq.defect_probability
        self.uniform = Stream(defect.random).next
        self.expo = Stream(failure.standard_exponential).next
        self.minor_expo = Stream(minor.standard_exponential).next
        self.inspect = Stream(inspect.random).next
        self.mtbf_s = mtbf_s  # 0: no breakdowns
        self.mttr_s = mttr_s
        self.batch_size = unit
        self.loss = loss_times(station, eq)

    def parts(self, m: Machine, now: float) -> tuple[float, ...]:
        """The parts of the next service of ``m`` starting at ``now`` (SERVICE_PARTS order):
        maintenance if due, a changeover if due, processing, then the minor stops and repairs
        of the clocks that run during the processing (draws: service, minor, failure)."""
        loss = self.loss
        pm = 0.0
        if loss.pm_every_s > 0.0 and now >= m.pm_due:
            pm = loss.pm_duration_s
            m.pm_due = now + loss.pm_every_s
        setup = 0.0
        if loss.co_every > 0 and m.co_count >= loss.co_every:
            setup = loss.co_duration_s
            m.co_count = 0
            m.scrap_left = loss.co_scrap
        t = self.service()
        minor = down = 0.0
        if loss.ms_between_s > 0.0:
            m.ttms, minor = run_clock(
                m.ttms, t, loss.ms_between_s, loss.ms_duration_s, self.minor_expo
            )
        if self.mtbf_s:
            m.ttf, down = run_clock(m.ttf, t, self.mtbf_s, self.mttr_s, self.expo)
        return (pm, setup, t, minor, down, 0.0)


def run_clock(left_s: float, busy_s: float, between_s: float, stop_s: float, expo):
    """An operating-time clock (failures, minor stops) over ``busy_s`` of processing: returns
    the operating time then left to the next stop and the stop time during it. Each stop draws
    its length (× ``stop_s``) and the time to the next one (× ``between_s``) from ``expo``."""
    stopped, left = 0.0, busy_s
    while left_s <= left:
        left -= left_s
        stopped += stop_s * expo()
        left_s = between_s * expo()
    return left_s - left, stopped
