"""The compiled engine's build (numba, from an empty cache) and its speed afterwards, for this
checkout and, optionally, others (e.g. an older commit unpacked with ``git archive``), each in
fresh processes with ``PYTHONPATH`` at its tree and its own empty ``NUMBA_CACHE_DIR``; the runs
of the trees are interleaved, so that they share the machine's load.

Usage::

    python benchmarks/bench_build.py
    mkdir /tmp/base && git archive f1bede6 linesim configs | tar -x -C /tmp/base
    python benchmarks/bench_build.py --tree /tmp/base --repeat 3 --days 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[1]

BUILD = """
import json, resource, time
t = time.process_time()
from linesim.simulation.fast import build
build()
print(json.dumps({"build_cpu_s": time.process_time() - t,
                  "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))
"""

RUN = """
import json, sys, time
from linesim.config import load_line
from linesim.simulation.fast import build, simulate_fast
spec = load_line("gwh_sulfide_4gwh")
build()
t = time.process_time()
r = simulate_fast(spec, float(sys.argv[1]) * 86400.0, 0.0, 1)
print(json.dumps({"cpu_s": time.process_time() - t, "cells": r.started}))
"""


def _child(tree: Path, cache: str, code: str, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "NUMBA_CACHE_DIR": cache}
    out = subprocess.run(  # run in the tree: `python -c` puts the working directory first
        [sys.executable, "-c", code, *args],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", default=[], help="another checkout")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tree (median)")
    parser.add_argument("--days", type=float, default=3.0, help="simulated days of the 4 GWh line")
    args = parser.parse_args()
    trees = [ROOT, *map(Path, args.tree)]
    caches = [tempfile.mkdtemp(prefix="linesim-bench-build-") for _ in trees]
    load = [os.getloadavg()[0]]
    builds = [_child(t, c, BUILD) for t, c in zip(trees, caches)]
    runs: list[list[dict]] = [[] for _ in trees]
    for _ in range(args.repeat):
        for k, (t, c) in enumerate(zip(trees, caches)):
            runs[k].append(_child(t, c, RUN, str(args.days)))
    load.append(os.getloadavg()[0])
    for c in caches:
        shutil.rmtree(c, ignore_errors=True)
    print(f"load average {load[0]:.1f} → {load[1]:.1f} on {os.cpu_count()} cores")
    print("tree                          build CPU-s  peak RSS GB  4 GWh cells/CPU-s (median)")
    for t, b, rs in zip(trees, builds, runs):
        rate = median(r["cells"] / r["cpu_s"] for r in rs)
        print(f"{str(t):<29} {b['build_cpu_s']:>11.1f} {b['peak_rss_gb']:>12.2f} {rate:>17,.0f}")


if __name__ == "__main__":
    main()
