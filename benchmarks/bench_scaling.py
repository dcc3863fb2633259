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
    """6 variants of the bundled pilot × 2 replications, 14 days after 13 days of warm-up."""
    variants = factorial(
        [
            parse_vary("stations.stacking.machines=2..4"),
            parse_vary("stations.wip_press.process.handling_s=540,840"),
        ]
    )
    specs = build_variants(PILOT, [], variants)
    rows = run_sweep(specs, 14 * DAY_S, 13 * DAY_S, 2, seed=1, workers=workers, engine="fast")
    return sum(r["kpis"]["started"] for r in rows)


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
    if args.json:
        print(json.dumps({"machine": platform.machine(), "cores": os.cpu_count(), "rows": rows}))
        return
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("what            workers  wall s   CPU s  cells/wall-s  cells/CPU-s  load  speed-up")
    for r in rows:
        speedup = f"{r['wall_speedup']:.2f}×" if "wall_speedup" in r else ""
        print(
            f"{r['what']:<15} {r['workers']:>7} {r['wall_s']:>7.2f} {r['cpu_s']:>7.2f} "
            f"{r['cells_per_wall_s']:>13,.0f} {r['cells_per_cpu_s']:>12,.0f} "
            f"{r['load_before']:>5.1f} {speedup:>9}"
        )


if __name__ == "__main__":
    main()
