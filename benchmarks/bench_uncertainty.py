"""Speed of ``linesim uncertainty`` (issue 16), ratios in one run.

1. 1,024 static samples of the 4 GWh line (validated and evaluated, 1 and 2 workers) against
   one 30-day simulation of its nominal line (fast engine, after its automatic warm-up);
2. simulated samples against plain replications of the nominal line: the same number of
   simulations (samples × replications) of the same window, window cells started per second;
3. two workers against one for simulated samples.

Usage::

    python benchmarks/bench_uncertainty.py [--samples 16] [--replications 2] [--days 7]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path

from linesim.capacity import suggested_warmup_h
from linesim.config import load_raw
from linesim.experiments import replicate
from linesim.kpis import replication_kpis
from linesim.uncertainty import prepare, run_study

ROOT = Path(__file__).resolve().parents[1]
PILOT = ROOT / "configs/pilot_sulfide_200mwh.yaml"
GWH = ROOT / "configs/gwh_sulfide_4gwh.yaml"


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (pool workers): on a shared
    machine the fair measure of work, where wall time also counts other people's."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def static_vs_one_simulation() -> dict:
    prepared = prepare(load_raw(GWH), str(GWH))
    spec = prepared.nominal
    warmup = suggested_warmup_h(spec) * 3600.0
    replicate(spec, 3600.0, 0.0, 1, seed=1, workers=1, engine="fast")  # compile / warm caches
    t0, c0 = time.perf_counter(), _cpu_s()
    replicate(spec, 30 * 86400.0, warmup, 1, seed=1, workers=1, engine="fast")
    out = {
        "inputs": len(prepared.inputs),
        "warmup_days": round(warmup / 86400.0, 2),
        "one_30_day_simulation": {
            "wall_s": round(time.perf_counter() - t0, 2),
            "cpu_s": round(_cpu_s() - c0, 2),
        },
    }
    for workers in (1, 2):
        t0, c0 = time.perf_counter(), _cpu_s()
        run_study(prepared, 1024, seed=1, workers=workers)
        out[f"static_1024_samples_{workers}_workers"] = {
            "wall_s": round(time.perf_counter() - t0, 2),
            "cpu_s": round(_cpu_s() - c0, 2),
        }
    return out


def simulated_throughput(samples: int, replications: int, days: float) -> dict:
    prepared = prepare(load_raw(PILOT), str(PILOT))
    spec = prepared.nominal
    warmup = suggested_warmup_h(spec) * 3600.0
    horizon = days * 86400.0
    replicate(spec, 3600.0, 0.0, 1, seed=1, workers=1, engine="fast")  # compile / warm caches
    runs = samples * replications
    out: dict = {"samples": samples, "replications": replications, "days": days}
    t0, c0 = time.perf_counter(), _cpu_s()
    results = replicate(spec, horizon, warmup, runs, seed=1, workers=1, engine="fast")
    plain, cpu = time.perf_counter() - t0, _cpu_s() - c0
    cells = sum(replication_kpis(r)["started"] for r in results)
    out["plain_replications_1_worker"] = {
        "wall_s": round(plain, 2),
        "cells_per_s": round(cells / plain),
        "cells_per_cpu_s": round(cells / cpu),
    }
    for workers in (1, 2):
        started: list[float] = []
        t0, c0 = time.perf_counter(), _cpu_s()
        run_study(
            prepared,
            samples,
            seed=1,
            static=False,
            replications=replications,
            horizon_s=horizon,
            warmup_s=warmup,
            engine="fast",
            workers=workers,
            on_sample=lambda i, values, kpis, cells=started: cells.extend(kpis["cells_started"]),
        )
        wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
        out[f"uncertainty_{workers}_workers"] = {
            "wall_s": round(wall, 2),
            "cells_per_s": round(sum(started) / wall),
            "cells_per_cpu_s": round(sum(started) / cpu),
        }
    u1 = out["uncertainty_1_workers"]["cells_per_s"]
    plain_rate = out["plain_replications_1_worker"]
    out["uncertainty_vs_plain"] = round(u1 / plain_rate["cells_per_s"], 3)
    out["uncertainty_vs_plain_per_cpu_s"] = round(
        out["uncertainty_1_workers"]["cells_per_cpu_s"] / plain_rate["cells_per_cpu_s"], 3
    )
    out["two_vs_one_worker"] = round(out["uncertainty_2_workers"]["cells_per_s"] / u1, 3)
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--replications", type=int, default=2)
    ap.add_argument("--days", type=float, default=7.0)
    args = ap.parse_args()
    doc = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "static": static_vs_one_simulation(),
        "simulated": simulated_throughput(args.samples, args.replications, args.days),
    }
    print(json.dumps(doc, indent=2))
