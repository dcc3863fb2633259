"""The loop's replication schedule on normal outputs of known mean T + δ·σ: how often a layout
is accepted, how often an accepted one then fails an independent re-simulation (the same
count, new draws, judged by its lower 95 % bound), and the replications spent – sequential
stopping (:func:`linesim.optimise.closure.next_replications`) against the doubling schedule
it replaced (5, 10, 20, 40 while undecided). Issue 19, item 1 (BENCHMARKS.md).

Usage::

    python benchmarks/sequential_rule.py            # 2,000 layouts per δ
"""

from __future__ import annotations

import argparse

import numpy as np

from linesim.optimise.closure import MIN_ACCEPT_REPLICATIONS, acceptance, next_replications
from linesim.summary import estimate


def doubling(x: list[float], target: float, most: int) -> int | None:
    est, statistic = acceptance(x)
    if est.mean < target or (statistic >= target and len(x) >= 20) or len(x) >= most:
        return None
    return min(2 * len(x), most)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--layouts", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    target = 10.0
    print("| rule | δ | accepted | accepted, independent check misses | mean replications |")
    print("|---|---|---|---|---|")
    for name, rule in (("sequential", next_replications), ("doubling", doubling)):
        for delta in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.3, 1.5, 2.0):
            accepted = missed = 0
            counts = []
            for _ in range(args.layouts):
                x = list(rng.normal(target + delta, 1.0, 5))
                n = rule(x, target, 40)
                while n is not None:
                    x += list(rng.normal(target + delta, 1.0, n - len(x)))
                    n = rule(x, target, 40)
                counts.append(len(x))
                if acceptance(x)[1] >= target and len(x) >= MIN_ACCEPT_REPLICATIONS:
                    accepted += 1
                    again = estimate(list(rng.normal(target + delta, 1.0, len(x))))
                    missed += again.ci95_low < target
            print(
                f"| {name} | {delta} | {accepted / args.layouts:.1%} | "
                f"{missed / args.layouts:.2%} | {np.mean(counts):.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
