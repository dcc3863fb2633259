"""Optimisation under a budget when the cost model prices the facility at each layout's own
capacity (issue 19): random 3-station lines (1–2 options, 0–2 machines each) with the toy
cost block of tests/test_cost.py and a steep facility (0.5–5 MUSD at 0.05–0.5 GWh/yr, exponent
0.6–1.3), every layout priced by the cost model (``evaluate_layout``), three budgets each:
is every answer within the budget, how far is max-output below the brute force's best, is
its stated gap honest, and how often is a target said infeasible under a budget that a layout
keeps?

Usage::

    python benchmarks/budget_facility.py --seed 1 --lines 12
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import itertools

import numpy as np

from linesim.config import line_from_dict
from linesim.optimise import Problem, evaluate_layout, optimise_layout

COST = {
    "currency": {"cny_per_usd": 7.0, "rate_date": dt.date(2025, 12, 1)},
    "depreciation": {"equipment_years": 10.0, "building_years": 20.0},
    "building": {"usd_per_m2": 1000.0, "area_factor": 2.0},
    "dry_room": {"area_m2": 100.0, "dew_point_c": -40.0},
    "dry_room_classes": [{"dew_point_c": -40.0, "usd_per_m2": 2000.0, "power_w_per_m2": 100.0}],
    "labour": {"wage_usd_per_h": 20.0},
    "electricity": {"usd_per_kwh": 0.1},
    "materials": [
        {
            "name": "A",
            "quantity_per_kwh": 2.0,
            "unit": "kg",
            "price_per_unit": 10.0,
            "currency": "USD",
            "price_date": dt.date(2025, 6, 1),
        }
    ],
}


def line(rng: np.random.Generator):
    cost = copy.deepcopy(COST)
    cost["facility"] = {
        "capex_usd": float(rng.uniform(0.5e6, 5e6)),
        "power_kw": 5.0,
        "reference_gwh": float(rng.uniform(0.05, 0.5)),
        "capex_exponent": float(rng.choice([0.6, 0.95, 1.0, 1.3])),
    }
    stations = []
    for j in range(3):
        options = [
            {
                "name": f"o{i}",
                "cycle_time_s": float(rng.uniform(10, 60)),
                "capex_usd": float(rng.integers(5, 30)) * 1e5,
                "defect_probability": float(rng.choice([0.0, 0.01, 0.05])),
                "footprint_m2": float(rng.integers(5, 40)),
            }
            for i in range(int(rng.integers(1, 3)))
        ]
        stations.append(
            {"id": f"s{j}", "kind": "discrete", "options": options, "machines": {"o0": 1}}
        )
        stations[-1]["machines_max"] = 2
    return line_from_dict(
        {
            "name": "random",
            "product": {"energy_kwh": 0.5},
            "calendar": {"hours_per_year": 8000.0},
            "stations": stations,
            "cost": cost,
        }
    )


def every_layout(spec) -> tuple[np.ndarray, np.ndarray]:
    """(output [GWh/yr], capex [USD]) of every layout of ``spec`` with 0–2 machines of each
    option and at least one machine at each station, priced by the cost model."""
    rows = []
    per = [list(itertools.product(range(3), repeat=len(s.options))) for s in spec.stations]
    for combo in itertools.product(*per):
        if all(sum(c) for c in combo):
            layout = {
                s.id: {o.name: int(c) for o, c in zip(s.options, counts)}
                for s, counts in zip(spec.stations, combo)
            }
            f = evaluate_layout(spec, layout)
            rows.append((f.output_gwh_per_year, f.capex_usd))
    return tuple(np.array(rows).T)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lines", type=int, default=12)
    ap.add_argument("--verbose", action="store_true", help="print every case that misses")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    cases = over = exact = wrong_infeasible = 0
    capex_cases = capex_exact = 0
    shortfalls, dishonest = [], 0
    for _ in range(args.lines):
        spec = line(rng)
        output, capex = every_layout(spec)
        target = float(np.quantile(output, 0.5))
        for q in (0.3, 0.6, 0.9):
            budget = float(np.quantile(capex, q)) * 1.000001
            best = output[capex <= budget].max()
            r = optimise_layout(Problem(spec, budget_usd=budget), "max_output")
            if args.verbose:
                print(
                    f"max-output budget {budget:,.0f}: brute {best:.6g}, got {r.status} "
                    f"{r.predicted.output_gwh_per_year if r.predicted else None}, gap {r.gap}"
                )
            cases += 1
            over += r.predicted.capex_usd > budget
            made = r.predicted.output_gwh_per_year
            exact += made >= best * (1 - 1e-5)
            shortfalls.append(1 - made / best)
            dishonest += best > made * (1 + (r.gap or 0.0) + 1e-5)
            fits = (capex <= budget) & (output >= target * 1.00001)
            for objective in ("min_capex", "min_cost"):
                r = optimise_layout(
                    Problem(spec, budget_usd=budget, target_gwh_per_year=target), objective
                )
                cases += 1
                if r.found:
                    over += r.predicted.capex_usd > budget
                else:
                    wrong_infeasible += bool(fits.any())
                if objective == "min_capex" and fits.any():
                    # the least capex by the cost model among the layouts that reach the
                    # target (to the model's resolution) within the budget
                    least = capex[fits].min()
                    capex_cases += 1
                    got = r.predicted.capex_usd if r.found else np.inf
                    capex_exact += got <= least * (1 + 1e-6)
                    if args.verbose and got > least * (1 + 1e-6):
                        print(
                            f"min-capex budget {budget:,.0f}: brute {least:,.0f}, got "
                            f"{r.status} {got:,.0f}"
                        )
    print(
        f"seed {args.seed}: {cases} answers, {over} above the budget by the cost model; "
        f"max-output at the brute force's best in {exact} of {len(shortfalls)} (largest "
        f"shortfall {max(shortfalls):.1%}), stated gap below the true one in {dishonest}; "
        f"min-capex/min-cost said infeasible while a layout keeps the budget: "
        f"{wrong_infeasible}; min-capex at the brute force's least capex in {capex_exact} of "
        f"{capex_cases}"
    )


if __name__ == "__main__":
    main()
