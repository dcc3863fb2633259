"""Where a sweep's time goes on 1 and 2 workers: the variants built in the parent, the pool's
start, each task's CPU inside the task (measured in the worker), the workers' CPU outside their
tasks (the pool's own: pickling, queues, start and exit), and how long each worker sat idle at
the end (imbalance).

Usage::

    python benchmarks/sweep_pool_costs.py                  # bench_scaling's sweep, 1,2,1,2
    python benchmarks/sweep_pool_costs.py --days 14 --replications 2 --workers 1,2,1,2,1,2

CPU inside the tasks that grows from 1 to 2 workers is the simulation itself running slower
(two busy cores, or other processes on them), not the pool; CPU outside them is the pool's.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import linesim.sweep as sweep_module
from linesim.simulation.fast import build
from linesim.sweep import build_variants, factorial, parse_vary, run_sweep

PILOT = Path(__file__).resolve().parents[1] / "configs/pilot_sulfide_200mwh.yaml"
DAY_S = 86400.0
_LOG = Path(tempfile.gettempdir()) / f"sweep_pool_costs.{os.getpid()}.log"
_task = sweep_module._task


def _timed_task(args: tuple, on_fraction):
    """The sweep's task, with its wall span and CPU appended to the log (runs in a worker)."""
    start, cpu = time.time(), time.process_time()
    out = _task(args, on_fraction)
    with open(_LOG, "a") as log:
        log.write(f"{os.getpid()} {start} {time.time()} {time.process_time() - cpu}\n")
    return out


def _cpu_s() -> tuple[float, float]:
    me, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--replications", type=int, default=4)
    parser.add_argument("--workers", default="1,2,1,2")
    args = parser.parse_args()
    build()
    sweep_module._task = _timed_task  # forked workers inherit the wrapper
    variants = factorial(
        [
            parse_vary("stations.stacking.machines=2..4"),
            parse_vary("stations.wip_press.process.handling_s=540,840"),
        ]
    )
    print(
        "workers  wall s  specs s  to 1st task s  CPU parent  CPU workers  in tasks  "
        "outside  idle at end s  load"
    )
    for workers in map(int, args.workers.split(",")):
        _LOG.write_text("")
        (me0, kids0), t0 = _cpu_s(), time.time()
        specs = build_variants(PILOT, [], variants)
        t1 = time.time()
        run_sweep(
            specs,
            args.days * DAY_S,
            13 * DAY_S,
            args.replications,
            seed=1,
            workers=workers,
            engine="fast",
        )
        (me1, kids1), t2 = _cpu_s(), time.time()
        rows = [line.split() for line in _LOG.read_text().splitlines()]
        ends: dict[str, float] = {}
        for pid, _, end, _ in rows:
            ends[pid] = max(ends.get(pid, 0.0), float(end))
        in_tasks = sum(float(r[3]) for r in rows)
        # one worker: the tasks run in this process, so its CPU is the tasks' and the specs'
        workers_cpu = kids1 - kids0 if workers > 1 else in_tasks
        outside = workers_cpu - in_tasks
        print(
            f"{workers:>7} {t2 - t0:>7.2f} {t1 - t0:>8.3f} "
            f"{min(float(r[1]) for r in rows) - t1:>14.3f} {me1 - me0:>11.2f} "
            f"{workers_cpu:>12.2f} {in_tasks:>9.2f} {outside:>8.3f} "
            f"{' '.join(f'{t2 - e:.3f}' for e in ends.values()):>14} "
            f"{os.getloadavg()[0]:>5.1f}"
        )
    _LOG.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
