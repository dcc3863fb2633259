"""Sweep throughput with 1 and 2 workers (local process pool), and a year of the 4 GWh line.

Usage::

    python benchmarks/bench_sweep.py            # sweep: 6 variants × 4 replications × 7 days
    python benchmarks/bench_sweep.py --year     # + one simulated year of gwh_sulfide_4gwh
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from linesim.config import load_line
from linesim.simulation import simulate
from linesim.sweep import build_variants, factorial, parse_vary, run_sweep

ROOT = Path(__file__).resolve().parents[1]
PILOT = ROOT / "configs/pilot_sulfide_200mwh.yaml"
GWH = ROOT / "configs/gwh_sulfide_4gwh.yaml"


def sweep_rate(workers: int, backend: str = "local") -> dict:
    variants = factorial(
        [
            parse_vary("stations.stacking.machines=2..4"),
            parse_vary("stations.wip_press.process.handling_s=540,840"),
        ]
    )
    specs = build_variants(PILOT, [], variants)
    t0 = time.perf_counter()
    rows = run_sweep(specs, 7 * 86400.0, 13 * 86400.0, 4, seed=1, workers=workers, backend=backend)
    dt = time.perf_counter() - t0
    cells = sum(r["kpis"]["started"] for r in rows)  # in the observation window
    return {
        "workers": workers,
        "backend": backend,
        "tasks": len(rows),
        "wall_s": round(dt, 2),
        "tasks_per_s": round(len(rows) / dt, 2),
        "window_cells_per_s": round(cells / dt),
    }


def year_of_gwh_line(engine: str, days: float) -> dict:
    spec = load_line(GWH)
    simulate(spec, 3600.0, 0.0, rng=0, engine=engine)  # compile / warm caches
    t0 = time.perf_counter()
    r = simulate(spec, days * 86400.0, 0.0, rng=1, engine=engine)
    dt = time.perf_counter() - t0
    return {
        "engine": engine,
        "days": days,
        "cells": r.started_total,
        "wall_s": round(dt, 2),
        "cells_per_s": round(r.started_total / dt),
        "extrapolated_year_s": round(dt * 365 / days, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--year", action="store_true", help="also time a year of the 4 GWh line")
    ap.add_argument("--ray", action="store_true", help="also run the sweep on a local Ray")
    args = ap.parse_args()
    run_sweep(build_variants(PILOT, [], [{}]), 86400.0, 0.0, 1, workers=1)  # compile first
    out = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "sweep": [sweep_rate(1), sweep_rate(2)],
    }
    out["sweep_speedup_2_over_1"] = round(
        out["sweep"][1]["tasks_per_s"] / out["sweep"][0]["tasks_per_s"], 2
    )
    if args.ray:
        out["sweep"].append(sweep_rate(2, "ray"))
    if args.year:
        out["gwh_year"] = [year_of_gwh_line("fast", 365), year_of_gwh_line("simpy", 7)]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
