"""Cost per station visit: lines of 6 to 60 stations, and 1 to 300 machines per station.

A station visit is one cell processed at one station (``StationRecord.processed``, summed over
the stations). Each line runs about the same number of visits per run; the cost is CPU
nanoseconds per visit (``time.process_time`` of the run's process), median of ``--repeat`` runs,
the current fast engine and the kept baseline (:mod:`baseline_fast`, before issue 18's kernel
work) interleaved, each run in a fresh process of its own that loads one kernel only
(:mod:`fast_child`: a kernel loaded second in a process ran up to 1.4× slower). Flat means:
the same cost per visit whatever the stations or the machines per station (issue 18 asks for
within 20 %).

The lines: single-cell stations, lognormal service (cv 0.3), 1 % defects, breakdowns (MTBF
8 h, MTTR 0.25 h), buffers of 10; ``k`` machines per station each ``k`` times as slow, so every
line runs at ~350 cells/h whatever ``k``.

Usage::

    python benchmarks/bench_visits.py --visits 300000 --repeat 3

``--split`` also runs every line at 4 × the visits and splits each run's cost into a fixed part
(a run's set-up: streams, tables, snapshots — more for more stations and machines) and a
marginal cost per visit (the loop's), each the median over seeds of the pair of runs
(``--engines fast`` leaves the kept baseline out).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_baselines import _baseline
from fast_child import ENGINES, child_run

from linesim.config import line_from_dict

CYCLE_S = 10.0  #: per machine of a one-machine station [s] (~360 cells/h)


def line(stations: int, machines: int):
    """``stations`` single-cell stations of ``machines`` machines, each ``machines`` × slower."""
    return line_from_dict(
        {
            "name": f"visits_{stations}x{machines}",
            "product": {"energy_kwh": 0.3},
            "stations": [
                {
                    "id": f"s{i}",
                    "kind": "discrete",
                    # slightly slower downstream: blocking and starving both happen
                    "cycle_time_s": CYCLE_S * machines * (1.0 + 0.002 * i),
                    "machines": machines,
                    "process_time_dist": "lognormal",
                    "process_time_cv": 0.3,
                    "defect_probability": 0.01,
                    "mtbf_h": 8.0,
                    "mttr_h": 0.25,
                    "buffer_after": 10,
                }
                for i in range(stations)
            ],
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--visits", type=int, default=300_000, help="station visits per run")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--split", action="store_true", help="fixed and marginal cost per visit")
    ap.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    args = ap.parse_args()
    subprocess.run(  # build (or find cached) both kernels, each in a process of its own
        [sys.executable, "-c", "from linesim.simulation import fast; fast.build()"], check=True
    )
    _baseline(load=False)
    shapes = [(6, 1), (20, 1), (60, 1), (6, 10), (6, 100), (6, 300)]
    rows = []
    load = os.getloadavg()[0]
    for stations, machines in shapes:
        # ~330 cells/h start, minus the 1 % scrapped per station on the way
        horizon_s = args.visits / (330.0 * stations) * 3600.0
        name = f"visits:{stations}:{machines}"
        ns: dict[str, list[float]] = {key: [] for key in args.engines}
        marginal: dict[str, list[float]] = {key: [] for key in args.engines}
        fixed: dict[str, list[float]] = {key: [] for key in args.engines}
        for k in range(args.repeat):  # from empty, no warm-up: every visit is in the window
            for key in args.engines:
                _, cpu, visits = child_run(key, name, horizon_s, k)
                ns[key].append(cpu / visits * 1e9)
                if args.split:  # the same seed 4 × as long: the difference is the loop's
                    _, cpu4, visits4 = child_run(key, name, 4 * horizon_s, k)
                    per_visit = (cpu4 - cpu) / (visits4 - visits)
                    marginal[key].append(per_visit * 1e9)
                    fixed[key].append((cpu - per_visit * visits) * 1e3)
        med = {key: float(np.median(v)) for key, v in ns.items()}
        row = {
            "stations": stations,
            "machines_per_station": machines,
            "ns_per_visit": {key: round(v, 1) for key, v in med.items()},
        }
        if len(med) == len(ENGINES):
            row["fast_vs_baseline"] = round(med["fast_baseline"] / med["fast"], 2)
        if args.split:
            row["marginal_ns_per_visit"] = {
                key: round(float(np.median(v)), 1) for key, v in marginal.items()
            }
            row["fixed_ms_per_run"] = {
                key: round(float(np.median(v)), 1) for key, v in fixed.items()
            }
        rows.append(row)
        print(json.dumps(rows[-1]), flush=True)
    for field, name in (("ns_per_visit", "vs_6x1"), ("marginal_ns_per_visit", "marginal_vs_6x1")):
        if field not in rows[0]:
            continue
        base = rows[0][field]
        for row in rows:
            row[name] = {k: round(v / base[k], 2) for k, v in row[field].items()}
    print(
        json.dumps(
            {
                "command": "python benchmarks/bench_visits.py " + " ".join(sys.argv[1:]),
                "load_before": load,
                "load_after": os.getloadavg()[0],
                "rows": rows,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
