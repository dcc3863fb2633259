"""Replications and sweep variants on 1 and 2 worker processes: wall time, CPU time (this
process and its pool workers, ``getrusage``) and cells per wall- and CPU-second, with the load
average before and after (on a shared machine the wall-time ratio says how many cores were
free as much as how well the pool scales; CPU per cell says what the pool itself costs).

Usage::

    python benchmarks/bench_scaling.py            # both, the fast engine
    python benchmarks/bench_scaling.py --json

The compiled engine is built (or loaded from numba's cache) before the first measurement, so
no row pays for it; the pool forks its workers from a process that holds it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path

from linesim.config import load_line
from linesim.experiments import replicate
from linesim.simulation.fast import build
from linesim.sweep import build_variants, factorial, parse_vary, run_sweep

ROOT = Path(__file__).resolve().parents[1]
PILOT = ROOT / "configs/pilot_sulfide_200mwh.yaml"
DAY_S = 86400.0


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process and its reaped children so far."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _measure(what: str, workers: int, run) -> dict:
    load = os.getloadavg()[0]
    cpu, wall = _cpu_s(), time.perf_counter()
    cells = run(workers)
    wall, cpu = time.perf_counter() - wall, _cpu_s() - cpu
    return {
        "what": what,
        "workers": workers,
        "wall_s": wall,
        "cpu_s": cpu,
        "cells": cells,
        "cells_per_wall_s": cells / wall,
        "cells_per_cpu_s": cells / cpu,
        "load_before": load,
        "load_after": os.getloadavg()[0],
    }


def replications(workers: int) -> int:
    """8 replications of the bundled pilot, 30 days after 13 days of warm-up."""
    results = replicate(load_line(PILOT), 30 * DAY_S, 13 * DAY_S, 8, 1, workers, engine="fast")
    return sum(r.started for r in results)


def sweep(workers: int) -> int:
    """6 variants of the bundled pilot × 4 replications, 30 days after 13 days of warm-up.

    Until 2026-12-02 it was 6 × 2 replications of 14 days: ~1.5 CPU-s in 12 tasks of ~0.1 s,
    where building the variants in the parent (0.085 CPU-s, serial), starting the pool
    (0.03–0.1 s) and the last task's tail were 10–15 % of the 2-worker wall time; 24 tasks of
    30 days (the replications' horizon) make those ~3 %, as a real sweep has them.
    """
    variants = factorial(
        [
            parse_vary("stations.stacking.machines=2..4"),
            parse_vary("stations.wip_press.process.handling_s=540,840"),
        ]
    )
    specs = build_variants(PILOT, [], variants)
    rows = run_sweep(specs, 30 * DAY_S, 13 * DAY_S, 4, seed=1, workers=workers, engine="fast")
    return sum(r["kpis"]["started"] for r in rows)


def _half(first: int, out) -> None:  # a plain forked process: 4 of the 8 replications
    results = replicate(
        load_line(PILOT), 30 * DAY_S, 13 * DAY_S, 4, 1, 1, engine="fast", first=first
    )
    out.put(sum(r.started for r in results))


def two_processes(workers: int) -> int:
    """The 8 replications as two plain processes at once, 4 each, no pool (``workers`` is 2):
    the control for CPU per cell, since two busy cores may each run slower than one alone
    (shared cache and memory bandwidth, clock) whatever runs on them."""
    import multiprocessing

    out = multiprocessing.get_context("fork").SimpleQueue()
    procs = [
        multiprocessing.get_context("fork").Process(target=_half, args=(first, out))
        for first in (0, 4)
    ]
    for p in procs:
        p.start()
    cells = out.get() + out.get()
    for p in procs:
        p.join()
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    build()
    rows = []
    for what, run in (("replications", replications), ("sweep variants", sweep)):
        one, two = _measure(what, 1, run), _measure(what, 2, run)
        two["wall_speedup"] = one["wall_s"] / two["wall_s"]
        two["cpu_per_cell_ratio"] = (two["cpu_s"] / two["cells"]) / (one["cpu_s"] / one["cells"])
        rows += [one, two]
        if what == "replications":  # the control: the same 8, two processes, no pool
            plain = _measure("2 plain procs", 2, two_processes)
            plain["wall_speedup"] = one["wall_s"] / plain["wall_s"]
            plain["cpu_per_cell_ratio"] = (plain["cpu_s"] / plain["cells"]) / (
                one["cpu_s"] / one["cells"]
            )
            rows.append(plain)
    if args.json:
        print(json.dumps({"machine": platform.machine(), "cores": os.cpu_count(), "rows": rows}))
        return
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        "what            workers  wall s   CPU s  cells/wall-s  cells/CPU-s  load  speed-up"
        "  CPU/cell"
    )
    for r in rows:
        speedup = f"{r['wall_speedup']:.2f}×" if "wall_speedup" in r else ""
        ratio = f"{r['cpu_per_cell_ratio']:.3f}" if "cpu_per_cell_ratio" in r else ""
        print(
            f"{r['what']:<15} {r['workers']:>7} {r['wall_s']:>7.2f} {r['cpu_s']:>7.2f} "
            f"{r['cells_per_wall_s']:>13,.0f} {r['cells_per_cpu_s']:>12,.0f} "
            f"{r['load_before']:>5.1f} {speedup:>9} {ratio:>9}"
        )


if __name__ == "__main__":
    main()
