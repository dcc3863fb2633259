"""Does min-capex's answer reach its target by the static analysis's own figures? Every bundled
line at 0.5, 1, 2 and 3 × its static output (the config's layout), min-capex with the defaults;
the answer's output by ``evaluate_layout`` against the target (issue 19: the model counted no
start-up scrap, so its "optimal" layout could make less than the target).

Usage::

    python benchmarks/min_capex_exact_figures.py
"""

from __future__ import annotations

import time
from pathlib import Path

from linesim.config import load_line
from linesim.optimise import Problem, evaluate_layout, optimise_layout

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    print("| line | × static | target [GWh/yr] | status | output ÷ target − 1 | wall [s] |")
    print("|---|---|---|---|---|---|")
    short = cases = 0
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        spec = load_line(path)
        top = evaluate_layout(spec).output_gwh_per_year
        for factor in (0.5, 1.0, 2.0, 3.0):
            target = top * factor
            start = time.perf_counter()
            r = optimise_layout(Problem(spec, target_gwh_per_year=target))
            wall = time.perf_counter() - start
            made = r.predicted.output_gwh_per_year if r.predicted else float("nan")
            cases += 1
            short += made < target * (1 - 1e-9)
            print(
                f"| {path.stem} | {factor:g} | {target:.4g} | {r.status} | "
                f"{made / target - 1:+.4%} | {wall:.2f} |"
            )
    print(f"\n{short} of {cases} answers below their target by their own figures")


if __name__ == "__main__":
    main()
