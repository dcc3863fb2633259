"""Optimiser scaling benchmark: time for CP-SAT to prove a min-capex layout optimal.

Random lines of S discrete stations with K equipment options each (counts 0–3 per option,
rates 20–200 cells/h, p 0–5 %, capex 0.1–5 MUSD), target = 60 % of what the largest counts
make. For each (S, K): candidate generation, the dynamic-programming bound, the CP-SAT solve
with the bound (what ``optimise_layout`` does) and its status. A baseline in the same run: the
same model without the bound (greedy hint), so the ratio shows what the bound buys.

Usage::

    python benchmarks/bench_optimise.py                       # the grid in BENCHMARKS.md
    python benchmarks/bench_optimise.py --stations 30 --options 4
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from linesim.config import line_from_dict
from linesim.optimise import Problem
from linesim.optimise.model import LayoutModel, greedy_layout
from linesim.optimise.search import optimise_layout

#: a cost block for the min-cost rows: building and dry room that grow with the machines,
#: two materials (one bought at the first station, one half way)
COST = {
    "currency": {"cny_per_usd": 7.0, "rate_date": "2025-12-01"},
    "depreciation": {"equipment_years": 10.0, "building_years": 20.0},
    "building": {"usd_per_m2": 1000.0, "area_factor": 2.0},
    "dry_room": {"dew_point_c": -40.0},
    "dry_room_classes": [{"dew_point_c": -40.0, "usd_per_m2": 2000.0, "power_w_per_m2": 100.0}],
    "facility": {"capex_usd": 500_000.0, "power_kw": 5.0},
    "labour": {"wage_usd_per_h": 20.0, "indirect_operators": 0.5},
    "electricity": {"usd_per_kwh": 0.1},
    "materials": [
        {
            "name": "A",
            "quantity_per_kwh": 2.0,
            "unit": "kg",
            "price_per_unit": 10.0,
            "currency": "USD",
            "price_date": "2025-06-01",
        },
        {
            "name": "B",
            "quantity_per_kwh": 4.0,
            "unit": "piece",
            "price_per_unit": 7.0,
            "currency": "CNY",
            "price_date": "2025-06-01",
        },
    ],
}


def instance(stations: int, options: int, seed: int, late: bool = False, cost: bool = False):
    """A random line and its target; ``late``: the first station's defects are found only at
    the last one (the chain bound then drops terms and its layout may not fit); ``cost``:
    every other station in the dry room and the cost block :data:`COST` (the min-cost and
    dry-room rows)."""
    rng = np.random.default_rng(seed)
    line = []
    for j in range(stations):
        opts = [
            {
                "name": f"o{k}",
                "cycle_time_s": float(3600.0 / rng.uniform(20, 200)),
                "defect_probability": float(rng.uniform(0, 0.05)),
                "capex_usd": float(round(rng.uniform(0.1, 5.0), 2) * 1e6),
                "footprint_m2": float(rng.integers(5, 100)),
            }
            for k in range(options)
        ]
        line.append(
            {
                "id": f"s{j}",
                "kind": "discrete",
                "options": opts,
                "machines": {"o0": 1},
                "machines_max": 3,
            }
        )
    if late:
        line[0]["detected_at"] = f"s{stations - 1}"
    extra = {}
    if cost:
        for station in line[::2]:
            station["dry_room"] = True
        extra["cost"] = dict(COST, materials=[dict(m) for m in COST["materials"]])
        extra["cost"]["materials"][1]["enters_at"] = f"s{stations // 2}"
    spec = line_from_dict(
        {
            "name": f"bench_{stations}x{options}",
            "product": {"energy_kwh": 0.3},
            "stations": line,
            **extra,
        }
    )
    top = optimise_layout(Problem(spec, budget_usd=1e15, time_limit_s=60), "max_output")
    return spec, 0.6 * top.predicted.output_gwh_per_year


def run(stations: int, options: int, seed: int, time_limit: float, late: bool = False) -> dict:
    spec, target = instance(stations, options, seed, late)
    problem = Problem(
        spec, target_gwh_per_year=target, time_limit_s=time_limit, workers=2, seed=seed
    )
    t0 = time.perf_counter()
    model = LayoutModel(problem)
    t1 = time.perf_counter()
    bound = model.chain_bound()
    t2 = time.perf_counter()
    best = model.solve("min_capex")  # what optimise_layout does: bound + its layout as hint
    t3 = time.perf_counter()
    # baseline in the same run: the model without the bound, greedy layout as the hint
    plain = model.solve("min_capex", hint=greedy_layout(model, target), use_bound=False)
    t4 = time.perf_counter()
    return {
        "stations": stations,
        "options": options,
        "candidates": sum(len(c) for c in model.candidates),
        "build_s": t1 - t0,
        "bound_s": t2 - t1,
        "labels": bound.labels if bound else 0,
        "solve_s": t3 - t2,
        "status": best.status,
        "total_s": t3 - t0,
        "plain_s": t4 - t3,
        "plain_status": plain.status,
        "same_optimum": best.objective_value == plain.objective_value,
    }


def run_max_output(stations: int, options: int, seed: int, time_limit: float) -> dict:
    """Max-output at a budget of 60 % of the capex of the largest-output layout: the
    bisection on the min-capex bound (what ``optimise_layout`` does) against CP-SAT's own
    max-output search on the same model, in the same run."""
    spec, _ = instance(stations, options, seed)
    top = optimise_layout(Problem(spec, budget_usd=1e15, time_limit_s=time_limit), "max_output")
    budget = 0.6 * top.predicted.capex_usd
    problem = Problem(spec, budget_usd=budget, time_limit_s=time_limit, workers=2, seed=seed)
    t0 = time.perf_counter()
    fast = optimise_layout(problem, "max_output")
    t1 = time.perf_counter()
    plain = LayoutModel(problem, open=True).solve("max_output")
    t2 = time.perf_counter()
    ratio = (plain.objective_value or 0.0) / fast.predicted.output_gwh_per_year - 1.0
    return {
        "bisection_s": t1 - t0,
        "status": fast.status,
        "output": fast.predicted.output_gwh_per_year,
        "plain_s": t2 - t1,
        "plain_status": plain.status,
        "plain_vs_bisection": ratio,
    }


def run_objectives(stations: int, options: int, seed: int, time_limit: float, gap: float = 0.0):
    """Every objective and constraint kind on one random line (with :data:`COST` and dry-room
    stations), each as ``optimise_layout`` / ``pareto_front`` answer it: wall time, status and
    the proven gap (|objective − bound| ÷ objective), one row at a time."""
    from dataclasses import replace

    from linesim.optimise.search import pareto_front

    spec, target = instance(stations, options, seed, cost=True)
    base = Problem(
        spec,
        target_gwh_per_year=target,
        time_limit_s=time_limit,
        workers=2,
        seed=seed,
        relative_gap=gap,
    )
    free = optimise_layout(base, "min_capex")
    figures = free.predicted
    cases = [
        ("min-capex", base, "min_capex"),
        (
            "min-capex, budget 1 % above the optimum",
            replace(base, budget_usd=figures.capex_usd * 1.01),
            "min_capex",
        ),
        (
            "min-capex, budget 1 % below the optimum",
            replace(base, budget_usd=figures.capex_usd * 0.99),
            "min_capex",
        ),
        (
            "min-capex, floor area 3 % below the unconstrained layout's",
            replace(base, floor_area_m2=figures.floor_area_m2 * 0.97),
            "min_capex",
        ),
        (
            "min-capex, dry-room area 5 % below the unconstrained layout's",
            replace(base, dry_room_area_m2=figures.dry_room_area_m2 * 0.95),
            "min_capex",
        ),
        ("min-cost", base, "min_cost"),
        ("max-output, budget 60 % of the largest layout's", None, "max_output"),
        ("Pareto front (output ≥ target)", base, "pareto"),
    ]
    for name, problem, objective in cases:
        if problem is None:
            top = optimise_layout(
                replace(base, target_gwh_per_year=None, budget_usd=1e15), "max_output"
            )
            problem = replace(
                base, target_gwh_per_year=None, budget_usd=0.6 * top.predicted.capex_usd
            )
        t0, c0 = time.perf_counter(), time.process_time()
        if objective == "pareto":
            result = pareto_front(problem)
        else:
            result = optimise_layout(problem, objective)
        wall = time.perf_counter() - t0
        yield {
            "case": name,
            "wall_s": wall,
            # (every thread of this process, CP-SAT's two workers included: less sensitive
            # to other sessions on a shared machine than the wall time)
            "cpu_s": time.process_time() - c0,
            "status": result.status,
            "gap": result.gap,
            "points": len(result.pareto),
            "coverage": result.coverage,
            "binding": result.binding,
        }


def run_front_coverage(stations: int, options: int, seed: int, time_limit: float) -> dict:
    """The ε-sweep's front against the complete one (every output level swept) on one random
    line at output ≥ its target: points of each, the share of the complete front's points the
    sweep matches (a point with at least its output and yield and at most its capex, to 1e-6),
    and the least output share at which every point is matched (yield and capex kept)."""
    from linesim.optimise.search import pareto_front

    spec, target = instance(stations, options, seed)
    problem = Problem(spec, target_gwh_per_year=target, time_limit_s=time_limit, seed=seed)
    t0 = time.perf_counter()
    full = pareto_front(problem, method="exact")
    t1 = time.perf_counter()
    sweep = pareto_front(problem, method="sweep")
    t2 = time.perf_counter()
    got = np.array([(f.output_gwh_per_year, f.line_yield, f.capex_usd) for _, f in sweep.pareto])
    matched, worst = 0, 1.0
    for _, f in full.pareto:
        kept = (got[:, 1] >= f.line_yield * (1 - 1e-6)) & (got[:, 2] <= f.capex_usd * (1 + 1e-6))
        share = got[kept, 0].max() / f.output_gwh_per_year if kept.any() else 0.0
        matched += share >= 1 - 1e-6
        worst = min(worst, share)
    return {
        "full_points": len(full.pareto),
        "full_s": t1 - t0,
        "full_coverage": full.coverage,
        "sweep_points": len(sweep.pareto),
        "sweep_s": t2 - t1,
        "matched": matched / max(len(full.pareto), 1),
        "worst_output_share": worst,
        "sweep_coverage": sweep.coverage,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, nargs="*", default=[8, 16, 30, 64])
    parser.add_argument("--options", type=int, nargs="*", default=[2, 4, 6])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument(
        "--late-detection",
        action="store_true",
        help="the first station's defects found at the last station",
    )
    parser.add_argument(
        "--max-output", action="store_true", help="time max-output under a budget instead"
    )
    parser.add_argument(
        "--objectives",
        action="store_true",
        help="every objective and constraint kind on each (stations, options) line",
    )
    parser.add_argument(
        "--relative-gap",
        type=float,
        default=0.0,
        help="--objectives: stop a search at a layout proven within this gap",
    )
    parser.add_argument(
        "--front-coverage",
        action="store_true",
        help="the ε-sweep's Pareto front against the complete one",
    )
    args = parser.parse_args()
    if args.front_coverage:
        print(
            "| stations × options | seed | complete front: points [s] | sweep: points [s] "
            "| complete points matched exactly | least output share matched |"
        )
        print("|---|---|---|---|---|---|")
        for s in args.stations:
            for k in args.options:
                r = run_front_coverage(s, k, args.seed, args.time_limit)
                print(
                    f"| {s} × {k} | {args.seed} | {r['full_points']} ({r['full_s']:.2f}) "
                    f"| {r['sweep_points']} ({r['sweep_s']:.2f}) | {r['matched']:.0%} "
                    f"| {r['worst_output_share']:.2%} |",
                    flush=True,
                )
                print(f"<!-- {r['full_coverage']} / {r['sweep_coverage']} -->", flush=True)
        return
    if args.objectives:
        print("| stations × options | case | wall [s] | CPU [s] | status | proven gap | note |")
        print("|---|---|---|---|---|---|---|")
        for s in args.stations:
            for k in args.options:
                for r in run_objectives(s, k, args.seed, args.time_limit, args.relative_gap):
                    gap = "–" if r["gap"] is None else f"{r['gap']:.2%}"
                    note = r["binding"] or (
                        f"{r['points']} points; {r['coverage']}" if r["points"] else ""
                    )
                    print(
                        f"| {s} × {k} | {r['case']} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} "
                        f"| {r['status']} "
                        f"| {gap} | {note} |",
                        flush=True,
                    )
        return
    if args.max_output:
        print(
            "| stations | options | bisection [s] | status | output [GWh/yr] "
            "| CP-SAT max-output [s] | status | CP-SAT output ÷ bisection − 1 |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for s in args.stations:
            for k in args.options:
                r = run_max_output(s, k, args.seed, args.time_limit)
                print(
                    f"| {s} | {k} | {r['bisection_s']:.2f} | {r['status']} | {r['output']:.4f} "
                    f"| {r['plain_s']:.2f} | {r['plain_status']} "
                    f"| {r['plain_vs_bisection']:+.1e} |",
                    flush=True,
                )
        return
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, 2 CP-SAT workers"
    )
    print(
        "| stations | options | candidates | enumerate [s] | DP bound [s] (labels) "
        "| CP-SAT with bound [s] | status | total [s] | CP-SAT without bound [s] | status "
        "| speed-up | same optimum |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for s in args.stations:
        for k in args.options:
            r = run(s, k, args.seed, args.time_limit, args.late_detection)
            ratio = r["plain_s"] / r["solve_s"] if r["solve_s"] > 0 else float("inf")
            print(
                f"| {s} | {k} | {r['candidates']:,} | {r['build_s']:.2f} | {r['bound_s']:.2f} "
                f"({r['labels']:,}) | {r['solve_s']:.2f} | {r['status']} | {r['total_s']:.2f} "
                f"| {r['plain_s']:.2f} | {r['plain_status']} | {ratio:.0f}× | "
                f"{'yes' if r['same_optimum'] else 'no'} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
