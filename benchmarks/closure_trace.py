"""The simulation loop on one line and target, every batch of replications logged as it ends
(wall time, count, the layout's static output), then every layout's verdict: what the loop
spends its time on. Issue 19, item 1 (BENCHMARKS.md).

Usage::

    python benchmarks/closure_trace.py gwh_sulfide_4gwh 10      # target in GWh/yr
    python benchmarks/closure_trace.py pilot_oxide -0.5         # negative: share of the maximum
"""

from __future__ import annotations

import sys
import time

import linesim.optimise.closure as closure
from linesim.capacity import capacity_report
from linesim.config import load_line
from linesim.optimise import Problem


def main() -> None:
    config, target = sys.argv[1], float(sys.argv[2])
    start = time.perf_counter()
    plain = closure.replicate

    def logged(line, horizon_s, warmup_s, n, seed, workers, *args, **kwargs):
        t = time.perf_counter()
        out = plain(line, horizon_s, warmup_s, n, seed, workers, *args, **kwargs)
        print(
            f"  [{time.perf_counter() - start:7.1f} s] {n} replications of "
            f"{horizon_s / 86_400:.1f} d after {warmup_s / 86_400:.1f} d, static "
            f"{capacity_report(line).max_output_gwh_per_year:.3f} GWh/yr: "
            f"{time.perf_counter() - t:.1f} s",
            flush=True,
        )
        return out

    closure.replicate = logged  # type: ignore[assignment]
    spec = load_line(f"configs/{config}.yaml")
    if target < 0:
        target = -target * capacity_report(spec).max_output_gwh_per_year
    c = closure.close_gap(Problem(spec, target_gwh_per_year=target, workers=2, seed=1))
    for s in c.steps:
        print(
            s.iteration,
            f"capex {s.capex_usd / 1e6:.2f} MUSD, static {s.surrogate_gwh_per_year:.4f}, "
            f"mean {s.simulated_gwh_per_year.mean:.4f}, acceptance "
            f"{s.acceptance_gwh_per_year:.4f}, {s.replications} replications, "
            f"{'accepted' if s.accepted else 'rejected'}, factor {s.factor_used:.4f}",
        )
    print(f"{c.status} {c.reason or ''} gap {c.gap} wall {c.wall_time_s:.1f} s")


if __name__ == "__main__":
    main()
