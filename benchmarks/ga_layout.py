"""What a planner would use instead of linesim's loop: a plain genetic algorithm over the same
decision space (machines per station and equipment option, optional stations left out at zero)
with simulation as its fitness, run beside ``close_gap`` on the same line and target, each
answer then re-simulated independently (new seeds) and judged by its lower 95 % bound.

The GA (issue 19, item 5): a population of layouts – the config's own and random ones around
it (each count × U(0.5, 1.5)) – evolved by binary tournaments, uniform crossover and a
mutation of one gene in four by ±max(1, 10 % of it), the best two kept each generation. A
layout whose static capacity misses the target is penalised without a simulation (no line
simulates above its static capacity over a long window); every other one is simulated
(``--ga-replications`` replications of the loop's window after the line's warm-up, common
random numbers). Fitness: capex, plus 10 × the config's capex × the relative shortfall of the
simulated mean below the target. The GA's answer is the least-capex layout whose simulated
mean met the target. Budget: ``--budget`` simulations (layouts simulated), so that the run is
affordable; each simulation is ``--ga-replications`` replications.

Usage::

    python benchmarks/ga_layout.py                       # the table in BENCHMARKS.md
    python benchmarks/ga_layout.py --budget 20 --ga-replications 3
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from linesim.capacity import capacity_report, suggested_warmup_h
from linesim.config import load_line
from linesim.experiments import replicate
from linesim.kpis import output_gwh_per_year
from linesim.optimise import Problem, close_gap, evaluate_layout
from linesim.optimise.candidates import count_bounds
from linesim.optimise.closure import default_horizon_s
from linesim.summary import estimate
from linesim.variants import apply_layout

ROOT = Path(__file__).resolve().parent.parent
Layout = dict[str, dict[str, int]]


def genes(spec) -> list[tuple[str, str, int]]:
    """(station, option, highest count) of every decision: the optimiser's own count bounds
    (``machines_max``, else max(2 × the config's count, the count + 4))."""
    return [(s.id, name, hi) for s in spec.stations for name, _, hi in count_bounds(s, None, 0.0)]


def as_layout(spec, space, x: np.ndarray) -> Layout:
    """Counts → a layout; a station that is not optional keeps at least one machine."""
    out: Layout = {}
    for (sid, name, _), n in zip(space, x):
        out.setdefault(sid, {})[name] = int(n)
    for s in spec.stations:
        if not s.optional and sum(out[s.id].values()) == 0:
            first = next(iter(out[s.id]))
            out[s.id][first] = 1
    return out


def simulated_mean(line, horizon_s: float, replications: int, seed: int, workers: int) -> float:
    results = replicate(
        line, horizon_s, suggested_warmup_h(line) * 3600.0, replications, seed, workers
    )
    return float(np.mean([output_gwh_per_year(r) for r in results]))


def genetic_algorithm(spec, target: float, args) -> dict:
    """The GA's run: its answer, capex, simulations and replications used, wall time."""
    rng = np.random.default_rng(args.seed)
    space = genes(spec)
    hi = np.array([h for _, _, h in space])
    config = np.array([e.count for s in spec.stations for e in s.equipment()])
    penalty = 10.0 * evaluate_layout(spec).capex_usd
    horizon = default_horizon_s(spec)
    cache: dict[tuple, tuple[float, float | None, float]] = {}
    used = {"simulations": 0}
    start = time.perf_counter()

    def fitness(x: np.ndarray) -> float:
        key = tuple(int(v) for v in x)
        if key not in cache:
            layout = as_layout(spec, space, x)
            line = apply_layout(spec, layout)
            capex = evaluate_layout(spec, layout).capex_usd
            static = capacity_report(line).max_output_gwh_per_year
            if static < target:  # cannot reach it in simulation: no simulation spent
                cache[key] = (capex + penalty * (1 - static / target), None, capex)
            elif used["simulations"] >= args.budget:
                cache[key] = (np.inf, None, capex)
            else:
                used["simulations"] += 1
                mean = simulated_mean(line, horizon, args.ga_replications, 1, args.workers)
                short = max(0.0, 1 - mean / target)
                cache[key] = (capex + penalty * short, mean, capex)
        return cache[key][0]

    population = [config.copy()] + [
        np.clip(np.rint(config * rng.uniform(0.5, 1.5, len(config))), 0, hi).astype(int)
        for _ in range(args.population - 1)
    ]
    while used["simulations"] < args.budget:
        scores = [fitness(x) for x in population]
        if used["simulations"] >= args.budget:
            break
        order = np.argsort(scores)
        nxt = [population[order[0]], population[order[1]]]  # elitism
        while len(nxt) < args.population:
            a, b = (
                min(rng.choice(len(population), 2, replace=False), key=lambda i: scores[i])
                for _ in range(2)
            )
            child = np.where(rng.random(len(hi)) < 0.5, population[a], population[b])
            mutate = rng.random(len(hi)) < 0.25
            step = np.maximum(1, np.rint(0.1 * child)).astype(int)
            child = child + mutate * step * rng.choice([-1, 1], len(hi))
            nxt.append(np.clip(child, 0, hi).astype(int))
        population = nxt
    met = [(capex, key) for key, (_, mean, capex) in cache.items() if mean and mean >= target]
    best = min(met) if met else None
    return {
        "layout": as_layout(spec, space, np.array(best[1])) if best else None,
        "capex_usd": best[0] if best else None,
        "simulations": used["simulations"],
        "replications": used["simulations"] * args.ga_replications,
        "wall_s": time.perf_counter() - start,
    }


def independent(spec, layout: Layout, target: float, replications: int, args) -> tuple:
    """The layout re-simulated with seeds neither method used: mean, lower 95 % bound, meets."""
    line = apply_layout(spec, layout)
    results = replicate(
        line,
        default_horizon_s(spec),
        suggested_warmup_h(line) * 3600.0,
        replications,
        args.check_seed,
        args.workers,
    )
    est = estimate([output_gwh_per_year(r) for r in results])
    return est.mean, est.ci95_low, est.ci95_low is not None and est.ci95_low >= target


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", default="pilot_sulfide_200mwh")
    ap.add_argument("--target-gwh", type=float, default=0.2)
    ap.add_argument("--budget", type=int, default=40, help="GA simulations (layouts)")
    ap.add_argument("--ga-replications", type=int, default=3)
    ap.add_argument("--population", type=int, default=10)
    ap.add_argument("--check-replications", type=int, default=20)
    ap.add_argument("--check-seed", type=int, default=20261201)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    spec = load_line(ROOT / "configs" / f"{args.config}.yaml")
    target = args.target_gwh
    print(f"# {args.config} at {target} GWh/yr, {os.cpu_count()} CPUs, load {os.getloadavg()}")

    start = time.perf_counter()
    c = close_gap(Problem(spec, target_gwh_per_year=target, workers=args.workers, seed=1))
    loop_wall = time.perf_counter() - start
    rows = []
    if c.answer is not None:
        rows.append(
            (
                "linesim (surrogate + simulation loop)",
                c.answer.capex_usd,
                c.status,
                len(c.steps),
                sum(s.replications for s in c.steps),
                loop_wall,
                independent(spec, c.answer.layout, target, args.check_replications, args),
            )
        )
    ga = genetic_algorithm(spec, target, args)
    if ga["layout"] is not None:
        check = independent(spec, ga["layout"], target, args.check_replications, args)
    else:
        check = (None, None, False)
    rows.append(
        (
            f"GA (population {args.population}, {args.ga_replications} reps per simulation)",
            ga["capex_usd"],
            "meets (own mean)" if ga["layout"] else "none met the target",
            ga["simulations"],
            ga["replications"],
            ga["wall_s"],
            check,
        )
    )
    print(
        f"# surrogate lower bound on capex: {c.bound_value / 1e6:.2f} MUSD; load {os.getloadavg()}"
    )
    print(
        "| method | capex [MUSD] | own verdict | layouts simulated | replications | wall [s] | "
        "independent mean [CI low] | independent meets |"
    )
    print("|" + "---|" * 8)
    for name, capex, verdict, sims, reps, wall, (mean, low, meets) in rows:
        cap = f"{capex / 1e6:.2f}" if capex is not None else "–"
        ind = f"{mean:.4g} [{low:.4g}]" if mean is not None else "–"
        print(
            f"| {name} | {cap} | {verdict} | {sims} | {reps} | {wall:.0f} | {ind} | "
            f"{'yes' if meets else 'NO'} |"
        )


if __name__ == "__main__":
    main()
