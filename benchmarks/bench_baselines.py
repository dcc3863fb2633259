"""Honest baselines: linesim's engines against a plain SimPy model and a max-plus recursion.

In one process, one after the other (cells per CPU-second of this process, medians of
``--repeat`` runs, the variants interleaved in each repeat):

- **the benchmark line** of ``bench_engine.py`` (6 stations of 1–4 machines): the fast engine,
  the SimPy engine and the plain SimPy model (:mod:`plain_simpy`: one process per machine,
  ``simpy.Store`` buffers — the 1× reference);
- **its single-machine twin** (each station one machine with the station's cycle ÷ its
  machines, everything else the same): the same three and the max-plus recursion
  (:mod:`maxplus`), the practical limit for this model class;
- **the bundled 4 GWh line** (``configs/gwh_sulfide_4gwh.yaml``) with its losses as bundled on
  the two engines, and its structure (stations, options, batches, buffers, breakdowns, defects;
  not its losses or dry-room exposure) on the plain SimPy model.

Every row also runs ``fast_baseline``: the fast engine as it was before issue 18's kernel work
(:mod:`baseline_fast` and :mod:`baseline_kernel`, kept copies), so ``fast_vs_baseline`` is the
speed-up measured in the same run. The two fast engines each run in a fresh process of their
own (:mod:`fast_child`: a kernel loaded second in a process ran up to 1.4× slower than loaded
first, which favoured the current engine before), interleaved with the other variants; their
CPU seconds are the child's, from after its kernel is loaded. Repeat ``k`` runs seed ``k`` on
every variant; the ratios (``fast_vs_baseline``, ``fast_share_of_maxplus``) are medians of the
per-seed ratios, not ratios of the medians.

Usage::

    python benchmarks/bench_baselines.py --cells 100000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numba
import numpy as np
import simpy

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_engine import CYCLE_S, MACHINES, benchmark_line
from fast_child import child_run
from maxplus import maxplus_cells
from plain_simpy import plain_simpy

from linesim import load_line
from linesim.config import line_from_dict
from linesim.simulation import (
    fast_kernel,  # noqa: F401  (first: its LLVM option, below)
    simulate,
)

BUFFER = 10
CV = 0.3
MTBF_H, MTTR_H, DEFECT_P = 8.0, 0.25, 0.01


def single_machine_line():
    """The benchmark line with one machine per station, each as fast as the station was."""
    stations = [
        {
            "id": f"st{k}",
            "kind": "discrete",
            "cycle_time_s": c / n,
            "machines": 1,
            "process_time_dist": "lognormal",
            "process_time_cv": CV,
            "defect_probability": DEFECT_P,
            "mtbf_h": MTBF_H,
            "mttr_h": MTTR_H,
            "buffer_after": BUFFER,
        }
        for k, (n, c) in enumerate(zip(MACHINES, CYCLE_S))
    ]
    return line_from_dict(
        {"name": "bench6x1", "product": {"energy_kwh": 0.3}, "stations": stations}
    )


def _maxplus(horizon_s: float, seed: int) -> int:
    n = len(CYCLE_S)
    return maxplus_cells(
        [c / m for c, m in zip(CYCLE_S, MACHINES)],
        CV,
        [MTBF_H * 3600.0] * n,
        [MTTR_H * 3600.0] * n,
        [DEFECT_P] * n,
        [BUFFER] * n,
        horizon_s,
        seed,
    )


def measure(name: str, runners: dict, repeat: int) -> dict:
    """Medians of ``repeat`` interleaved runs of each runner ``key: (fn(seed) → cells started,
    horizon [s])``: cells per CPU-second, its ratio to the plain SimPy model's, and cells
    started per simulated hour (the models' agreement)."""
    rates: dict[str, list[float]] = {k: [] for k in runners}
    per_h: dict[str, list[float]] = {k: [] for k in runners}
    for k in range(repeat):
        for key, (fn, horizon_s) in runners.items():
            t0 = time.process_time()
            cells = fn(k)
            if isinstance(cells, tuple):  # (cells, CPU seconds) timed in a child process
                cells, cpu_s = cells
            else:
                cpu_s = time.process_time() - t0
            rates[key].append(cells / cpu_s)
            per_h[key].append(cells / (horizon_s / 3600.0))
    med = {k: float(np.median(v)) for k, v in rates.items()}
    row: dict = {"line": name, "cells_per_cpu_s": {k: round(v) for k, v in med.items()}}
    row["started_per_h"] = {k: round(float(np.mean(v)), 1) for k, v in per_h.items()}
    row["vs_plain_simpy"] = {k: round(v / med["plain_simpy"], 2) for k, v in med.items()}
    # ratios paired by seed, then their median: the seeds' runs differ in work (a 3-day run
    # of the 4 GWh line costs up to 2x another seed's), which a ratio of medians mixes in
    if "fast_baseline" in med:
        row["fast_vs_baseline"] = round(_paired(rates["fast"], rates["fast_baseline"]), 2)
    if "maxplus" in med:
        row["fast_share_of_maxplus"] = round(_paired(rates["fast"], rates["maxplus"]), 3)
    return row


def _paired(rates: list[float], reference: list[float]) -> float:
    """Median over the repeats (each its own seed) of ``rates[k] / reference[k]``."""
    return float(np.median([a / b for a, b in zip(rates, reference, strict=True)]))


def _baseline(load: bool = True):
    """The kept baseline engine (:mod:`baseline_fast`), its kernel compiled as today's was.

    Each kernel sets LLVM's inline threshold (a process-wide option, set once, by whichever
    kernel is imported first): the current kernel is imported first (above), so the baseline
    is compiled (or found cached) in a child process where only its own option is set, and
    loaded here from numba's cache."""
    code = "import baseline_fast; baseline_fast.build()"
    subprocess.run([sys.executable, "-c", code], cwd=HERE, check=True)
    if not load:
        return None
    import baseline_fast

    return baseline_fast


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, default=100_000, help="cells per fast/max-plus run")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--python-share",
        type=int,
        default=10,
        help="the SimPy engine and the plain model run 1/N of the cells",
    )
    ap.add_argument("--gwh-days", type=float, default=3.0, help="simulated days of the 4 GWh line")
    args = ap.parse_args()
    small = args.cells // args.python_share
    bench, single = benchmark_line(), single_machine_line()
    gwh = load_line(HERE.parent / "configs" / "gwh_sulfide_4gwh.yaml")
    # build (or find cached) both fast kernels, each in a process of its own; this process
    # loads neither (the fast engines are timed in children: fast_child.py)
    code = "from linesim.simulation import fast; fast.build()"
    subprocess.run([sys.executable, "-c", code], check=True)
    _baseline(load=False)
    _maxplus(600.0, 0)  # compile the recursion

    def hours(cells: int, per_h: float) -> float:
        return cells / per_h * 3600.0

    def engine_run(spec, horizon_s, engine):
        return (
            lambda k: simulate(spec, horizon_s, 0.0, rng=k, engine=engine).started_total,
            horizon_s,
        )

    def child(engine, line, horizon_s):  # a fast engine, timed in a process of its own
        return (lambda k: child_run(engine, line, horizon_s, k)[:2], horizon_s)

    def plain_run(spec, horizon_s):
        return (lambda k: plain_simpy(spec, horizon_s, k)["started"], horizon_s)

    rows = []
    # the benchmark line starts ~310 cells/h, its single-machine twin ~330
    rows.append(
        measure(
            "benchmark line (6 stations, 1-4 machines)",
            {
                "fast": child("fast", "bench", hours(args.cells, 310.0)),
                "fast_baseline": child("fast_baseline", "bench", hours(args.cells, 310.0)),
                "simpy_engine": engine_run(bench, hours(small, 310.0), "simpy"),
                "plain_simpy": plain_run(bench, hours(small, 310.0)),
            },
            args.repeat,
        )
    )
    rows.append(
        measure(
            "single-machine benchmark line (6 stations x 1 machine)",
            {
                "fast": child("fast", "single", hours(args.cells, 330.0)),
                "fast_baseline": child("fast_baseline", "single", hours(args.cells, 330.0)),
                "simpy_engine": engine_run(single, hours(small, 330.0), "simpy"),
                "plain_simpy": plain_run(single, hours(small, 330.0)),
                "maxplus": (
                    lambda k: _maxplus(hours(args.cells, 330.0), k),
                    hours(args.cells, 330.0),
                ),
            },
            args.repeat,
        )
    )
    gwh_s = args.gwh_days * 86400.0
    rows.append(
        measure(
            f"gwh_sulfide_4gwh, {args.gwh_days:g} days from empty (engines: losses as bundled; "
            "plain SimPy: structure only)",
            {
                "fast": child("fast", "gwh", gwh_s),
                "fast_baseline": child("fast_baseline", "gwh", gwh_s),
                "simpy_engine": engine_run(gwh, gwh_s, "simpy"),
                "plain_simpy": plain_run(gwh, gwh_s),
            },
            args.repeat,
        )
    )
    print(
        json.dumps(
            {
                "machine": f"{platform.processor() or platform.machine()}, "
                f"Python {platform.python_version()}, simpy {simpy.__version__}, "
                f"numba {numba.__version__}",
                "command": "python benchmarks/bench_baselines.py " + " ".join(sys.argv[1:]),
                "cells_per_run": {"fast_and_maxplus": args.cells, "python": small},
                "rows": rows,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
