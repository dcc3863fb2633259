"""Engine benchmark: linesim's fast and SimPy engines against an idiomatic SimPy model.

The benchmark line has 6 stations (1–4 machines each), buffers of 10, lognormal processing
times, breakdowns and defects. The idiomatic model is what a SimPy tutorial would write: one
process per cell, a ``simpy.Resource`` per station, ``simpy.Store`` buffers, one random draw
at a time. All run in the same process, one after the other, so the ratio is what counts;
speeds are cells per CPU-second of this process (``time.process_time``: the machine is shared).

``--losses`` times the engines on the same line with each loss of a real plant switched on
alone, then all together (:data:`LOSSES`), against the line without them. The idiomatic model
is not part of that table: it models the line without losses (the headline comparison).

Usage::

    python benchmarks/bench_engine.py                 # ratios at ~100,000 cells
    python benchmarks/bench_engine.py --cells 1000000 --memory   # + peak memory, 10⁶ and 10⁷
    python benchmarks/bench_engine.py --losses        # + the cost of each loss
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import subprocess
import sys
import time

import numba
import numpy as np
import simpy

from linesim.config import line_from_dict
from linesim.rates import machine_rate_cells_per_h
from linesim.simulation import simulate

MACHINES = [1, 2, 3, 4, 2, 1]
CYCLE_S = [10.0, 19.0, 29.0, 41.0, 21.0, 10.5]  # ≈ 360, 379, 372, 351, 343, 343 cells/h

#: The losses of ``--losses``, each switched on alone at every station (the calendar: the
#: line's), sized for the line's 10–41 s cycles so that each triggers often: per machine a
#: changeover every 400 cells (67–273 min), a minor stop every 5 min of operation, maintenance
#: every 12 h; every station detects its own 1 % defects, so rework and escapes happen there.
LOSSES: dict[str, tuple[str, dict, dict]] = {
    "calendar": (
        "calendar 2 × 8 h, 5 days a week",
        {},
        {"calendar": {"shifts_per_day": 2, "hours_per_shift": 8, "days_per_week": 5}},
    ),
    "maintenance": (
        "planned maintenance 0.5 h every 12 h",
        {"planned_maintenance": {"every_h": 12.0, "duration_h": 0.5}},
        {},
    ),
    "changeover": (
        "changeover 300 s every 400 cells, 2 start-up scrap",
        {"changeover": {"every_cells": 400, "duration_s": 300.0, "scrap_cells": 2}},
        {},
    ),
    "minor_stops": (
        "minor stops 30 s every 300 s of operation",
        {"minor_stops": {"mean_between_s": 300.0, "mean_duration_s": 30.0}},
        {},
    ),
    "rework": (
        "rework 80 %, 60 s, ≤ 2 attempts; detection 95 %",
        {
            "rework": {"fraction": 0.8, "time_s": 60.0, "max_attempts": 2},
            "detection_efficiency": 0.95,
        },
        {},
    ),
}
LOSSES["all"] = (
    "all of the above",
    {k: v for _, st, _ in LOSSES.values() for k, v in st.items()},
    {k: v for _, _, ln in LOSSES.values() for k, v in ln.items()},
)


def benchmark_line(station_losses: dict | None = None, line_losses: dict | None = None):
    """The benchmark line; ``station_losses`` are added to every station, ``line_losses`` to
    the line (its ``calendar``)."""
    stations = []
    for k, (n, c) in enumerate(zip(MACHINES, CYCLE_S)):
        stations.append(
            {
                "id": f"st{k}",
                "kind": "discrete",
                "cycle_time_s": c,
                "machines": n,
                "process_time_dist": "lognormal",
                "process_time_cv": 0.3,
                "defect_probability": 0.01,
                "mtbf_h": 8.0,
                "mttr_h": 0.25,
                "buffer_after": 10,
                **(station_losses or {}),
            }
        )
    return line_from_dict(
        {
            "name": "bench6",
            "product": {"energy_kwh": 0.3},
            "stations": stations,
            **(line_losses or {}),
        }
    )


def idiomatic(spec, horizon_s: float, seed: int) -> int:
    """The same line written the usual SimPy way; returns cells started."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    st = spec.stations
    machines = [simpy.Resource(env, capacity=s.machine_count) for s in st]
    buffers = [simpy.Store(env, capacity=s.buffer_after) for s in st[:-1]]
    params = []
    for s in st:
        eq = s.equipment()[0]
        mean = 3600.0 / machine_rate_cells_per_h(eq)
        sigma2 = math.log1p(s.process_time_cv**2)
        params.append(
            (
                math.log(mean) - sigma2 / 2,
                math.sqrt(sigma2),
                eq.mtbf_h * 3600.0,
                eq.mttr_h * 3600.0,
                eq.defect_probability,
            )
        )
    counts = {"started": 0, "good": 0, "scrapped": 0}

    def cell(env):
        for i in range(len(st)):
            req = machines[i].request()
            yield req
            if i == 0:
                counts["started"] += 1
                env.process(cell(env))  # the next cell waits at the first station
            else:
                yield buffers[i - 1].get()
            mu, sigma, mtbf, mttr, p = params[i]
            t = rng.lognormal(mu, sigma)
            k = rng.poisson(t / mtbf)
            yield env.timeout(t + (rng.gamma(k, mttr) if k else 0.0))
            if rng.random() < p:
                machines[i].release(req)
                counts["scrapped"] += 1
                return
            if i < len(st) - 1:
                yield buffers[i].put(i)
            machines[i].release(req)
        counts["good"] += 1

    for _ in range(st[0].machine_count):
        env.process(cell(env))
    env.run(until=horizon_s)
    return counts["started"]


def timed(fn):
    """(cells, CPU seconds of this process) of one call."""
    t0 = time.process_time()
    cells = fn()
    return cells, time.process_time() - t0


def _vm(key: str) -> float:
    """A /proc/self/status figure in MB (VmRSS, VmHWM)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def memory_child(cells: int, engine: str) -> None:
    """Peak RSS of one run of ``cells`` cells, and of the process before it started.

    The fast engine's compiler is loaded by a one-cell run first; the peak counter is then
    reset (``/proc/self/clear_refs``), so the figure is what the run itself needs.
    """
    spec = benchmark_line()
    simulate(spec, 60.0, 0.0, rng=0, engine=engine)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = _vm("VmRSS")
    horizon_s = cells / 300.0 * 3600.0  # the line makes ~310 cells/h: a little over `cells`
    r = simulate(spec, horizon_s, 0.0, rng=1, engine=engine)
    print(
        json.dumps(
            {
                "engine": engine,
                "cells": r.started_total,
                "rss_before_mb": before,
                "peak_rss_mb": _vm("VmHWM"),
            }
        )
    )


def memory(cells: int, engine: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--_memory-child", str(cells), "--engine", engine],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def loss_evidence(r) -> dict:
    """What each loss did in a run, summed over the stations (that it triggered)."""
    st = r.stations
    return {
        "cells_per_h": round(r.started_total / (r.horizon_s / 3600.0), 1),
        "off_shift_h": round(sum(s.off_shift_s for s in st) / 3600.0),
        "maintenance_h": round(sum(s.maintenance_s for s in st) / 3600.0),
        "setup_h": round(sum(s.setup_s for s in st) / 3600.0),
        "startup_scrap": sum(s.startup_scrap_cells for s in st),
        "minor_stop_h": round(sum(s.minor_stop_s for s in st) / 3600.0),
        "reworked": sum(s.reworked_cells for s in st),
        "escaped": sum(s.escaped_cells for s in st),
    }


def losses(cells: int, simpy_cells: int, repeat: int) -> dict:
    """Cells per CPU-second of both engines with each loss on alone, and all together, and
    the ratio to the line without losses (medians of ``repeat`` runs, variants interleaved)."""
    specs = {"off": benchmark_line()}
    specs.update({name: benchmark_line(st, ln) for name, (_, st, ln) in LOSSES.items()})
    # each variant's horizon gives ~`cells` started: its rate from a pilot run of four whole
    # weeks (the calendar's weekends included) on the fast engine
    pilot_h = 4 * 168.0
    per_h = {
        name: simulate(spec, pilot_h * 3600.0, 0.0, rng=99, engine="fast").started_total / pilot_h
        for name, spec in specs.items()
    }
    engines = ("fast", "simpy")
    rates: dict[str, dict[str, list[float]]] = {e: {n: [] for n in specs} for e in engines}
    evidence = {}
    for k in range(repeat):
        for name, spec in specs.items():
            for engine, n in (("fast", cells), ("simpy", simpy_cells)):
                horizon_s = n / per_h[name] * 3600.0
                out = {}

                def run(spec=spec, horizon_s=horizon_s, k=k, engine=engine, out=out):
                    out["r"] = simulate(spec, horizon_s, 0.0, rng=k, engine=engine)
                    return out["r"].started_total

                started, dt = timed(run)
                rates[engine][name].append(started / dt)
                if engine == "fast" and k == 0:
                    evidence[name] = loss_evidence(out["r"])
    table = {}
    for name in specs:
        row: dict = {"loss": LOSSES[name][0] if name in LOSSES else "none (losses off)"}
        for engine in engines:
            med = float(np.median(rates[engine][name]))
            off = float(np.median(rates[engine]["off"]))
            row[f"{engine}_cells_per_cpu_s"] = round(med)
            row[f"{engine}_vs_off"] = round(med / off, 2)
        row["fast_to_simpy"] = round(row["fast_cells_per_cpu_s"] / row["simpy_cells_per_cpu_s"], 1)
        row["fast_run"] = evidence[name]
        table[name] = row
    return {"cells_per_run": {"fast": cells, "simpy": simpy_cells}, "repeat": repeat, **table}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, default=100_000, help="cells per engine run")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--memory",
        action="store_true",
        help="peak RSS of runs of 10⁶ and 10⁷ cells (fast) and 10⁶ (simpy)",
    )
    ap.add_argument(
        "--losses",
        action="store_true",
        help="also time both engines with each loss switched on (see LOSSES)",
    )
    ap.add_argument(
        "--loss-cells",
        type=int,
        default=1_000_000,
        help="cells per fast-engine run of --losses (the SimPy engine runs a tenth)",
    )
    ap.add_argument("--engine", default="fast", help=argparse.SUPPRESS)
    ap.add_argument("--_memory-child", type=int, dest="child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        memory_child(args.child, args.engine)
        return
    spec = benchmark_line()
    horizon_s = args.cells / 310.0 * 3600.0  # the line starts ~310 cells/h
    simulate(spec, 60.0, 0.0, rng=0, engine="fast")  # compile (or load the cache) first
    rates: dict[str, list[float]] = {"fast": [], "simpy": [], "idiomatic": []}
    for k in range(args.repeat):
        for engine in ("fast", "simpy"):
            n, dt = timed(
                lambda k=k, engine=engine: (
                    simulate(spec, horizon_s, 0.0, rng=k, engine=engine).started_total
                )
            )
            rates[engine].append(n / dt)
        n, dt = timed(lambda k=k: idiomatic(spec, horizon_s, k))
        rates["idiomatic"].append(n / dt)
    med = {k: float(np.median(v)) for k, v in rates.items()}
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {platform.python_version()}, "
        f"simpy {simpy.__version__}, numba {numba.__version__}",
        "cells_per_run": args.cells,
        "cells_per_cpu_s": {k: round(v) for k, v in med.items()},
        "ratio_fast_to_idiomatic": round(med["fast"] / med["idiomatic"], 1),
        "ratio_simpy_to_idiomatic": round(med["simpy"] / med["idiomatic"], 2),
        "ratio_fast_to_simpy": round(med["fast"] / med["simpy"], 1),
    }
    if args.losses:
        result["losses"] = losses(args.loss_cells, args.loss_cells // 10, args.repeat)
    if args.memory:
        result["memory"] = [memory(10**6, "fast"), memory(10**7, "fast"), memory(10**6, "simpy")]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
