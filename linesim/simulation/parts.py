"""The state an engine run keeps per buffer, machine and equipment group."""

from __future__ import annotations

from collections import deque

from linesim.simulation.draws import Stream, draw_service, group_times
from linesim.simulation.records import TIME_ACCOUNTS

__all__ = ["BUSY", "DOWN", "BLOCKED", "STARVED", "IDLE", "Buffer", "Machine", "Group"]

BUSY, DOWN, BLOCKED, STARVED, IDLE = 0, 1, 2, 3, 4


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

    A service adds its busy and repair time when it starts; a wait adds its length when it
    ends. :meth:`totals` corrects for the part of a service or wait that is still running, so a
    snapshot at any time is exact (busy first, then repair, within one service).
    """

    __slots__ = ("state", "since", "acc", "held", "ttf", "svc_end", "svc_down")

    def __init__(self, ttf: float):
        self.state = IDLE
        self.since = 0.0
        self.acc = [0.0] * len(TIME_ACCOUNTS)  # by state, BUSY … STARVED
        self.held = 0  # cells inside the machine (loading, in process or blocked)
        self.ttf = ttf  # operating time left until the next failure [s]
        self.svc_end = 0.0
        self.svc_down = 0.0

    def serve(self, now: float, busy_s: float, down_s: float) -> None:
        """Start a service of ``busy_s`` processing and ``down_s`` repair seconds."""
        self.acc[BUSY] += busy_s
        self.acc[DOWN] += down_s
        self.state = BUSY
        self.svc_end = now + busy_s + down_s
        self.svc_down = down_s

    def wait(self, state: int, now: float) -> None:
        self.state = state
        self.since = now

    def waited(self, now: float) -> None:
        self.acc[self.state] += now - self.since
        self.state = IDLE

    def totals(self, now: float) -> list[float]:
        acc = list(self.acc)
        if self.state == BUSY:
            future = self.svc_end - now
            if future > 0:
                future_down = future if future < self.svc_down else self.svc_down
                acc[DOWN] -= future_down
                acc[BUSY] -= future - future_down
        elif self.state != IDLE:
            acc[self.state] += now - self.since
        return acc


class Group:
    """One equipment option at a station: its random streams and parameters."""

    __slots__ = ("service", "p", "uniform", "mtbf_s", "mttr_s", "expo", "batch_size")

    def __init__(self, gens, eq, dist: str, cv: float | None):
        """``gens``: the option's (service, defect, failure) generators (:mod:`draws`)."""
        unit, mean_s, mtbf_s, mttr_s = group_times(eq)
        service, defect, failure = gens
        if dist == "deterministic":
            self.service = lambda: mean_s
        else:
            self.service = Stream(lambda n: draw_service(service, dist, mean_s, cv, n)).next
        self.p = eq.defect_probability
        self.uniform = Stream(defect.random).next
        self.expo = Stream(failure.standard_exponential).next
        self.mtbf_s = mtbf_s  # 0: no breakdowns
        self.mttr_s = mttr_s
        self.batch_size = unit

    def repair_time(self, m: Machine, busy_s: float) -> float:
        """Repair time added to a service of ``busy_s`` operating seconds (advances the clock)."""
        if not self.mtbf_s:
            return 0.0
        down, left = 0.0, busy_s
        while m.ttf <= left:
            left -= m.ttf
            down += self.mttr_s * self.expo()
            m.ttf = self.mtbf_s * self.expo()
        m.ttf -= left
        return down
