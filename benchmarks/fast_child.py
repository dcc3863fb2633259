"""One timed run of a fast engine in a process of its own (the current engine or the kept
baseline), for ``bench_baselines.py`` and ``bench_visits.py``.

Why a process of its own: a compiled kernel's speed depends on where its machine code lands in
memory, and a kernel loaded first in a process ran 1.2–1.4× faster than the same kernel loaded
after another one (issue 18: three kernels timed in one process, interleaved, 9 repeats; with
the load order reversed the ranking reversed, each time the first loaded was the fastest). So
timing the current engine and the kept baseline in one process favoured whichever was loaded
first — the current one, in these benchmarks before. Here each run is a fresh process that
loads one kernel only, as a user's run does; its CPU time is measured inside the child, after
a short warm-up run that loads the kernel.

Usage::

    from fast_child import child_run
    cells, cpu_s, visits = child_run("fast", "gwh", 3 * 86400.0, seed)

or, by hand: ``python benchmarks/fast_child.py fast_baseline bench 1161290 0``.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENGINES = ("fast", "fast_baseline")


def _spec(name: str):
    """A benchmark line by name: ``bench``, ``single``, ``gwh``, ``gwh_rolls``
    (:func:`event_floor.rolls`) or ``visits:<stations>:<k>``."""
    if name == "bench":
        from bench_engine import benchmark_line

        return benchmark_line()
    if name == "single":
        from bench_baselines import single_machine_line

        return single_machine_line()
    if name in ("gwh", "gwh_rolls"):
        from linesim import load_line

        spec = load_line(HERE.parent / "configs" / "gwh_sulfide_4gwh.yaml")
        if name == "gwh_rolls":
            from event_floor import rolls

            return rolls(spec)
        return spec
    if name.startswith("visits:"):
        from bench_visits import line

        _, stations, machines = name.split(":")
        return line(int(stations), int(machines))
    raise ValueError(f"unknown line {name!r}: bench, single, gwh or visits:<stations>:<k>")


def child_run(engine: str, line: str, horizon_s: float, seed: int) -> tuple[int, float, int]:
    """Cells started, CPU seconds and station visits of one run of ``engine`` on ``line`` from
    empty (no warm-up window), timed in a fresh process."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run(  # the child imports what this process imports (its sys.path)
        [sys.executable, str(HERE / "fast_child.py"), engine, line, repr(horizon_s), str(seed)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    r = json.loads(out.splitlines()[-1])
    return r["cells"], r["cpu_s"], r["visits"]


def main() -> None:
    engine, line, horizon_s, seed = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    sys.path.insert(0, str(HERE))
    if engine == "fast":
        from linesim.simulation import simulate

        def run(spec, h, k):
            return simulate(spec, h, 0.0, rng=k, engine="fast")
    elif engine == "fast_baseline":
        import baseline_fast

        def run(spec, h, k):
            return baseline_fast.simulate_fast(spec, h, 0.0, rng=k)
    else:
        raise SystemExit(f"unknown engine {engine!r}: {', '.join(ENGINES)}")
    spec = _spec(line)
    run(spec, 60.0, seed)  # load the kernel (and touch the line's code paths)
    gc.collect()
    t0 = time.process_time()
    r = run(spec, horizon_s, seed)
    cpu = time.process_time() - t0
    visits = sum(s.processed for s in r.stations)
    print(json.dumps({"cells": r.started_total, "cpu_s": cpu, "visits": visits}))


if __name__ == "__main__":
    main()
