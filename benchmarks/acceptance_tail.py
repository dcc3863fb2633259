"""Are a line's replications iid, and does the loop's acceptance rule keep its guarantee on
the line's own output distribution? (issue 19: the oxide pilot at 50 % of its maximum.)

1. The layout the loop returns (``optimise_and_verify``, min-capex, seed 1, the automatic
   window) is simulated ``--seeds`` base seeds × ``--replications`` replications (fast
   engine): one-way ANOVA of the seed means against the within-seed variance (F-test: iid
   replications give F(K − 1, K(R − 1))), and the outputs' skewness and excess kurtosis.
2. Resampling those outputs (their shape, shifted to a true mean T + δ·σ): how often the
   one-sided Student-t bound covers the mean, and how often each rule accepts a layout at
   n replications, beside how often an independent check (n new draws, its own lower 95 %
   bound) passes.

Usage::

    python benchmarks/acceptance_tail.py                      # pilot_oxide at 50 %
    python benchmarks/acceptance_tail.py --config pilot_oxide --fraction 1.0
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy import stats

from linesim.capacity import capacity_report, suggested_warmup_h
from linesim.config import load_line
from linesim.experiments import replicate
from linesim.kpis import output_gwh_per_year
from linesim.optimise import Problem, optimise_and_verify
from linesim.optimise.closure import penalty


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", default="pilot_oxide")
    ap.add_argument("--fraction", type=float, default=0.5)
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--replications", type=int, default=10)
    ap.add_argument("--draws", type=int, default=100_000, help="resampled checks per δ")
    args = ap.parse_args()
    spec = load_line(args.config)
    target = args.fraction * capacity_report(spec).max_output_gwh_per_year
    report = optimise_and_verify(Problem(spec, target_gwh_per_year=target, workers=2, seed=1))
    c = report.closure
    assert c is not None and report.chosen is not None and c.answer is not None
    line = report.chosen
    print(f"# {args.config} at {args.fraction:.0%}: target {target:.5g} GWh/yr, answer "
          f"{c.answer.capex_usd / 1e6:.2f} MUSD, window {c.horizon_h / 24:.0f} days")  # fmt: skip
    start = time.perf_counter()
    a = np.array(
        [
            [
                output_gwh_per_year(r)
                for r in replicate(
                    line,
                    c.horizon_h * 3600.0,
                    suggested_warmup_h(line) * 3600.0,
                    args.replications,
                    1000 + k,
                    2,
                    engine="fast",
                )
            ]
            for k in range(args.seeds)
        ]
    )
    k, r = a.shape
    f = r * a.mean(axis=1).var(ddof=1) / a.var(axis=1, ddof=1).mean()
    flat = a.ravel()
    mean, sd = flat.mean(), flat.std(ddof=1)
    print(
        f"{k} seeds × {r} replications ({time.perf_counter() - start:.0f} s): mean "
        f"{mean:.5g}, sd {sd:.3g} ({sd / mean:.2%}), F = {f:.3f}, p(F ≥) = "
        f"{stats.f.sf(f, k - 1, k * (r - 1)):.3f}; skew {stats.skew(flat):.2f}, excess "
        f"kurtosis {stats.kurtosis(flat):.2f}; true margin (mean − T) ÷ sd = "
        f"{(mean - target) / sd:.2f}"
    )
    z = (flat - mean) / sd
    rng = np.random.default_rng(7)
    print("\n| n | δ | check passes | former rule accepts | accepts, check misses | "
          "this rule accepts | accepts, check misses | t bound covers |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for n in (20, 40):
        t = float(stats.t.ppf(0.975, n - 1))
        for delta in (0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.2):
            x = rng.choice(z, (args.draws, n)) + delta
            y = rng.choice(z, (args.draws, n)) + delta
            m, s = x.mean(axis=1), x.std(axis=1, ddof=1)
            check = y.mean(axis=1) - t * y.std(axis=1, ddof=1) / math.sqrt(n) >= 0.0
            former = m - (t + 1.96 * math.sqrt(2)) * s / math.sqrt(n) >= 0.0
            rule = m - penalty(n) * s >= 0.0
            covers = m - t * s / math.sqrt(n) <= delta
            print(
                f"| {n} | {delta} | {check.mean():.1%} | {former.mean():.1%} | "
                f"{(former & ~check).mean():.2%} | {rule.mean():.1%} | "
                f"{(rule & ~check).mean():.2%} | {covers.mean():.1%} |"
            )


if __name__ == "__main__":
    main()
