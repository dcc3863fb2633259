"""The SimPy engine: a serial line of stations with parallel machines and finite buffers.

Model (see DESIGN.md, "The model"):

- **Flow unit: the cell.** Continuous and sheet stations are converted to a time per cell
  (1 ÷ rate), so every station moves cells one by one; no lots are used, so every KPI is
  exact at cell level.
- **Source and sink.** Raw material never runs out at the first station; the last station is
  never blocked.
- **Machines** are SimPy processes, one per machine (not per cell). Mixed equipment options at
  one station are machines with different parameters sharing the station's input buffer.
- **Buffers** hold ``buffer_after`` cells between stations, not counting cells in machines.
  Blocking after service: a machine holding a finished cell waits until there is space (or a
  machine downstream takes the cell directly).
- **Batch stations** load one machine at a time (a loading dock): the loading machine takes cells
  until the batch is full, or until ``max_wait_s`` after its first cell if that is set, then
  processes the batch for one cycle and releases every cell of it.
- **Breakdowns** use operating time: each machine carries an exponential failure clock with
  mean MTBF that runs only while it processes; a failure during a cell adds an exponential
  repair (mean MTTR) and the machine then finishes the cell. Because the clock is memoryless
  this equals the DESIGN.md form (k ~ Poisson(t ÷ MTBF) failures per busy time t).
- **Defects**: each cell processed at a station is defective with the (equipment option's)
  probability, independently. It is scrapped after processing at its detection station, so an
  undetected defect uses the capacity of the stations in between.
- **Dry-room exposure** (a station's ``exposure`` process window): each cell carries the time it
  became ready to move on (end of its last processing) and the time it has waited in dry-room
  queues so far (the queue before a ``dry_room`` station, a loading batch, a blocked machine).
  At a station with the window its defect probability is
  :func:`linesim.spec.process.exposure_probability` of that wait; a defect is counted as an exposure
  defect where the draw would have passed at the station's own p₀.
- **Losses of a real line** (:mod:`linesim.spec.losses`): a service is made of parts laid out
  in time — planned maintenance if it fell due, a changeover if the roll, coil, target or
  magazine is used up, the processing time, the minor stops and repairs of the two
  operating-time clocks that run during it — and, after the defect draw, a rework of the cell
  if inspection found a defect there and chose to rework it (a second timeout). A station's
  working calendar maps a service's working time to calendar time
  (:mod:`linesim.simulation.clock`): a cell in process when a shift ends stays in its machine
  and resumes at the next shift. Start-up scrap after a changeover is scrapped at the station;
  a defect that inspection misses (``detection_efficiency``) leaves the line as a shipped
  defective cell, counted apart from good ones. Every machine-second lands in one of the time
  accounts of :data:`~linesim.simulation.records.TIME_ACCOUNTS`.
- **Warm-up**: all counters run from t = 0; at the end of warm-up a snapshot is taken and the
  reported window figures are end − snapshot.

Speed: get and put take the fast path (no event) whenever a cell or space is there; only
processing times and real waits create events. Random numbers come in blocks from streams
keyed by station, option and purpose (:mod:`linesim.simulation.draws`), the same ones the fast
engine reads.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
import simpy

from linesim.simulation.draws import exposure_parameters, generators, station_clock, stream_root
from linesim.simulation.parts import BLOCKED, IDLE, STARVED, Buffer, Group, Machine
from linesim.simulation.records import SimResult, build_result, wip_sample_every_s
from linesim.spec import LineSpec
from linesim.spec.process import exposure_probability

__all__ = ["simulate_once"]

_INF = float("inf")
#: Progress reports per replication, at equal steps of simulated time
_PROGRESS_STEPS = 100
_TRACE_LIMIT = 200_000


class _Line:
    """Builds and runs the SimPy model of one replication."""

    def __init__(
        self,
        spec: LineSpec,
        rng: np.random.Generator,
        trace: bool,
        machine: Callable[..., Machine] = Machine,
    ):
        self.env = env = simpy.Environment()
        self.spec = spec
        n = len(spec.stations)
        self.n = n
        self.detect = spec.detection_index()
        self.buffers = [Buffer(s.buffer_after) for s in spec.stations[:-1]]
        self.machines: list[list[Machine]] = []
        self.processed = [0] * n
        self.defects = [0] * n
        self.scrapped_at = [0] * n
        self.exposure_defects = [0] * n
        self.startup_scrap = [0] * n
        self.reworked = [0] * n
        self.rework_defects = [0] * n
        self.escaped = [0] * n
        self.repaired = [0] * n
        exposure = exposure_parameters(spec)
        self.track = exposure is not None  # cells carry their dry-room wait
        self.dry_room, self.exposure_rate, self.queue_limit = (
            exposure if exposure is not None else ([False] * n, [0.0] * n, [_INF] * n)
        )
        self.started = self.good = self.scrapped = self.shipped_defective = 0
        self.wip = 0
        self.wip_area = 0.0
        self.wip_since = 0.0
        self.exits = 0
        self.lead_sum = 0.0
        self.trace: list | None = [] if trace else None
        self.docks: list[list[Any]] = [[False, deque()] for _ in range(n)]  # [busy, waiters]
        root = stream_root(rng)
        for i, station in enumerate(spec.stations):
            ms: list[Machine] = []
            clock = station_clock(spec, station)
            count = station.machine_count
            for j, eq in enumerate(station.equipment()):
                group = Group(generators(root, i, j), eq, station)
                loss = group.loss
                for _ in range(eq.count):
                    ttf = group.mtbf_s * group.expo() if group.mtbf_s else _INF
                    ttms = loss.ms_between_s * group.minor_expo() if loss.ms_between_s else _INF
                    # planned maintenance staggered: machine k of the station first at (k+1)/n
                    pm_due = loss.pm_every_s * (len(ms) + 1) / count if loss.pm_every_s else _INF
                    m = machine(ttf, ttms, pm_due, clock)
                    ms.append(m)
                    proc = self._batch_machine if station.kind == "batch" else self._machine
                    env.process(proc(i, m, group))
            self.machines.append(ms)

    # --- flow helpers -------------------------------------------------------------------------
    def _wip_change(self, delta: int) -> None:
        now = self.env.now
        self.wip_area += self.wip * (now - self.wip_since)
        self.wip_since = now
        self.wip += delta

    def _new_cell(self) -> tuple:
        """A cell: (start time, detection mark, ready since, dry-room wait so far) [s]."""
        self.started += 1
        self._wip_change(+1)
        now = self.env.now
        return (now, self.n, now, 0.0)

    def _waited_in_room(self, i: int, cell: tuple) -> tuple:
        """The cell starts processing at station i: add its wait there if i is in the room."""
        if self.dry_room[i]:
            return (cell[0], cell[1], cell[2], cell[3] + (self.env.now - cell[2]))
        return cell

    def _exit(self, cell: tuple[float, int], scrapped: bool, i: int) -> None:
        if scrapped:
            self.scrapped += 1
            self.scrapped_at[i] += 1
        elif cell[1] == self.n:
            self.good += 1
        else:  # an escaped defect: shipped, but not good
            self.shipped_defective += 1
        self.exits += 1
        self.lead_sum += self.env.now - cell[0]
        self._wip_change(-1)
        if self.trace is not None and len(self.trace) < _TRACE_LIMIT:
            kind = "scrap" if scrapped else "good" if cell[1] == self.n else "escaped"
            self.trace.append((self.env.now, kind, i, cell[0]))

    def _try_get(self, i: int, m: Machine):
        """A cell for station i without waiting, or None."""
        if i == 0:
            m.held += 1
            return self._new_cell()
        buf = self.buffers[i - 1]
        if buf.items:
            cell = buf.items.popleft()
            if buf.putters:
                ev, waiting, owner = buf.putters.popleft()
                buf.items.append(waiting)
                owner.held -= 1
                ev.succeed()
        elif buf.putters:
            ev, cell, owner = buf.putters.popleft()
            owner.held -= 1
            ev.succeed()
        else:
            return None
        m.held += 1
        return cell

    def _put(self, i: int, cell, m: Machine):
        """Move a finished cell on from station i; returns an event to wait for, or None."""
        if cell[1] == i:
            m.held -= 1
            self._exit(cell, True, i)
            return None
        if i == self.n - 1:
            m.held -= 1
            self._exit(cell, False, i)
            return None
        buf = self.buffers[i]
        if buf.getters:
            ev, taker = buf.getters.popleft()
            m.held -= 1
            taker.held += 1
            ev.succeed(cell)
            return None
        if len(buf.items) < buf.capacity:
            buf.items.append(cell)
            m.held -= 1
            return None
        ev = self.env.event()
        buf.putters.append((ev, cell, m))
        return ev

    def _process_cell(self, i: int, cell, group: Group, m: Machine):
        """Defect draw and inspection for one processed cell; returns the (possibly marked)
        cell and the machine time its rework takes (0 without)."""
        self.processed[i] += 1
        loss = group.loss
        if loss.co_every:
            m.co_count += 1
        p = group.p
        if self.track:
            rate, limit = self.exposure_rate[i], self.queue_limit[i]
            if rate > 0.0 or limit < _INF:
                p = exposure_probability(group.p, rate, cell[3], limit)
            cell = (cell[0], cell[1], self.env.now, cell[3])
        if m.scrap_left:  # start-up scrap after a changeover
            m.scrap_left -= 1
            self.startup_scrap[i] += 1
            return (cell[0], i) + cell[2:], 0.0
        if p:
            u = group.uniform()
            if u < p:
                self.defects[i] += 1
                if u >= group.p:
                    self.exposure_defects[i] += 1
                d = self.detect[i]
                if d < cell[1]:
                    cell = (cell[0], d) + cell[2:]
        if cell[1] == i and (loss.detection < 1.0 or loss.rework_max):
            return self._inspect(i, cell, group)
        return cell, 0.0

    def _inspect(self, i: int, cell, group: Group):
        """A defect is found here: detected (or it escapes), then reworked up to the allowed
        attempts — each a new draw at the station's p₀ — or scrapped. Returns the cell and the
        rework time. Draws: per round, detection (if < 1), then the rework decision (while
        attempts are left), then the reworked cell's defect draw (if p₀ > 0)."""
        loss, n = group.loss, self.n
        rework, attempts, mark = 0.0, 0, i
        while True:
            if loss.detection < 1.0 and group.inspect() >= loss.detection:
                self.escaped[i] += 1
                mark = n + 1
                break
            if attempts >= loss.rework_max or group.inspect() >= loss.rework_fraction:
                break
            attempts += 1
            self.reworked[i] += 1
            rework += loss.rework_s
            mark = n
            if group.p > 0.0 and group.uniform() < group.p:
                self.rework_defects[i] += 1
                mark = self.detect[i]
            if mark != i:
                self.repaired[i] += 1
                break
        return (cell[0], mark) + cell[2:], rework

    # --- processes ----------------------------------------------------------------------------
    def _machine(self, i: int, m: Machine, group: Group):
        # One iteration per cell; get and put take no event when a cell or a place is there.
        env = self.env
        while True:
            cell = self._try_get(i, m)
            if cell is None:
                m.wait(STARVED, env.now)
                ev = env.event()
                self.buffers[i - 1].getters.append((ev, m))  # the giver moves the cell in
                cell = yield ev
                m.waited(env.now)
            if self.track:
                cell = self._waited_in_room(i, cell)
            yield env.timeout(m.serve(env.now, group.parts(m, env.now)))
            cell, rework = self._process_cell(i, cell, group, m)
            if rework:
                yield env.timeout(m.serve(env.now, (0.0, 0.0, 0.0, 0.0, 0.0, rework)))
            wait = self._put(i, cell, m)
            if wait is not None:
                m.wait(BLOCKED, env.now)
                yield wait
                m.waited(env.now)

    def _batch_machine(self, i: int, m: Machine, group: Group):
        env = self.env
        dock = self.docks[i]
        max_wait = self.spec.stations[i].max_wait_s
        while True:
            m.wait(STARVED, env.now)  # waiting for the dock, then for cells to load
            if dock[0]:
                ev = env.event()
                dock[1].append(ev)
                yield ev  # the dock is handed over to this machine
            else:
                dock[0] = True
            batch: list = []
            deadline = None
            while len(batch) < group.batch_size:
                cell = self._try_get(i, m)
                if cell is None:
                    ev = env.event()
                    getters = self.buffers[i - 1].getters
                    getters.append((ev, m))
                    if deadline is None:
                        cell = yield ev
                    else:
                        left = deadline - env.now
                        if left > 0:
                            yield ev | env.timeout(left)
                        if not ev.triggered:
                            getters.remove((ev, m))
                            break
                        cell = ev.value
                batch.append(cell)
                if deadline is None and max_wait is not None:
                    deadline = env.now + max_wait
            if dock[1]:
                dock[1].popleft().succeed()
            else:
                dock[0] = False
            m.waited(env.now)
            if self.track:
                batch = [self._waited_in_room(i, c) for c in batch]
            yield env.timeout(m.serve(env.now, group.parts(m, env.now)))
            batch = [self._process_cell(i, c, group, m)[0] for c in batch]
            m.state = IDLE
            for cell in batch:
                wait = self._put(i, cell, m)
                if wait is not None:
                    if m.state != BLOCKED:
                        m.wait(BLOCKED, env.now)
                    yield wait
            if m.state == BLOCKED:
                m.waited(env.now)

    def _sampler(self, every_s: float, out: list):
        while True:
            out.append((self.env.now, self.wip))
            yield self.env.timeout(every_s)

    # --- snapshots ----------------------------------------------------------------------------
    def snapshot(self) -> dict:
        now = self.env.now
        self._wip_change(0)
        return {
            "started": self.started,
            "good": self.good,
            "scrapped": self.scrapped,
            "shipped_defective": self.shipped_defective,
            "wip_area": self.wip_area,
            "exits": self.exits,
            "lead_sum": self.lead_sum,
            "processed": list(self.processed),
            "defects": list(self.defects),
            "scrapped_at": list(self.scrapped_at),
            "exposure_defects": list(self.exposure_defects),
            "startup_scrap": list(self.startup_scrap),
            "reworked": list(self.reworked),
            "rework_defects": list(self.rework_defects),
            "escaped": list(self.escaped),
            "repaired": list(self.repaired),
            "acc": [
                [sum(col) for col in zip(*(m.totals(now) for m in ms))] for ms in self.machines
            ],
        }

    def in_process(self) -> int:
        """Cells in buffers and machines, counted one by one."""
        return sum(len(b.items) for b in self.buffers) + sum(
            m.held for ms in self.machines for m in ms
        )


def _reporter(env: simpy.Environment, total_s: float, progress: Callable[[float], None]):
    """A process that reports the fraction of ``total_s`` [s] simulated, every
    1/:data:`_PROGRESS_STEPS` of it (it touches no part of the line, so results do not change)."""
    for k in range(1, _PROGRESS_STEPS):  # the last report follows the run
        yield env.timeout(total_s * k / _PROGRESS_STEPS - env.now)
        progress(k / _PROGRESS_STEPS)


def simulate_once(
    spec: LineSpec,
    horizon_s: float,
    warmup_s: float = 0.0,
    rng: np.random.Generator | int | None = None,
    *,
    replication: int = 0,
    seed: int | None = None,
    trace: bool = False,
    progress: Callable[[float], None] | None = None,
    machine: Callable[..., Machine] = Machine,
) -> SimResult:
    """Simulate one replication of a line on the SimPy engine (the reference, and the one with
    the per-cell exit trace). Arguments as :func:`linesim.simulation.simulate`, which chooses
    the engine; ``machine`` builds each machine's state (called as :class:`~.parts.Machine`,
    in station and equipment order: :mod:`linesim.simulation.trace` passes one that records
    its states)."""
    if horizon_s <= 0 or warmup_s < 0:
        raise ValueError("horizon_s must be > 0 and warmup_s ≥ 0")
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    line = _Line(spec, rng, trace, machine)
    env = line.env
    samples: list = []
    env.process(line._sampler(wip_sample_every_s(horizon_s, warmup_s), samples))
    if progress is not None:
        env.process(_reporter(env, warmup_s + horizon_s, progress))
    start = line.snapshot()
    at_start = 0
    if warmup_s > 0:
        env.run(until=warmup_s)
        start = line.snapshot()
        at_start = line.in_process()
    env.run(until=warmup_s + horizon_s)
    end = line.snapshot()
    if progress is not None:
        progress(1.0)
    return build_result(
        spec,
        start,
        end,
        seed=seed,
        replication=replication,
        warmup_s=warmup_s,
        horizon_s=horizon_s,
        in_process=line.in_process(),
        samples=samples,
        in_process_at_start=at_start,
        trace=tuple(line.trace) if line.trace is not None else None,
    )
