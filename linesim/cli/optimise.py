"""``linesim optimise``: present a layout optimisation (CLI face only)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from linesim.cli.options import (
    EXIT_FAILED,
    EXIT_INFEASIBLE,
    EXIT_OK,
    add_config,
    add_store_arguments,
    args_doc,
    check_output_path,
    duration,
    positive_float,
    positive_int,
    print_json,
    store_from_args,
)
from linesim.cli.options import fraction_or_one as fraction
from linesim.errors import UsageError

__all__ = ["add_arguments", "add_tune_arguments", "optimise_command"]


def add_tune_arguments(p: argparse.ArgumentParser) -> None:
    add_arguments(p)
    p.add_argument("--dew-points", metavar="LIST",
                   help="also choose the dry room's dew point from LIST (°C, e.g. -40,-50,-60; "
                        "its cost class from the config): one layout per dew point, each "
                        "simulated, the lowest simulated cost per kWh wins")
    p.set_defaults(tune=True)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config(p)
    p.add_argument("--target-gwh", type=positive_float, metavar="X",
                   help="good output to reach [GWh/yr] (min-capex, min-cost, Pareto floor)")
    p.add_argument("--budget-usd", type=positive_float, metavar="B", help="capex limit [USD]")
    p.add_argument("--objective", default=None,
                   choices=["min-capex", "max-output", "min-cost"],
                   help="default: min-capex; tune: min-cost when the line has a cost block")
    p.add_argument("--pareto", action="store_true",
                   help="the Pareto front of output × yield × capex instead of one objective")
    p.add_argument("--pareto-points", type=positive_int, default=6, metavar="N",
                   help="ε levels per axis of the Pareto sweep (default 6)")
    p.add_argument("--floor-area-m2", type=positive_float, metavar="A",
                   help="limit on the machines' total footprint [m²]")
    p.add_argument("--dry-room-area-m2", type=positive_float, metavar="A",
                   help="limit on the footprint of dry-room stations [m²]")
    p.add_argument("--max-utilisation", type=fraction, default=1.0, metavar="U",
                   help="headroom: each station at most U busy at the target (default 1)")
    p.add_argument("--max-machines", type=positive_int, metavar="N",
                   help="per-option machine cap where a station sets no machines_max")
    p.add_argument("--time-limit", type=positive_float, default=30.0, metavar="S",
                   help="CP-SAT time limit per solve [s] (default 30)")
    p.add_argument("--seed", type=int, default=1, help="solver and simulation seed")
    p.add_argument("--workers", type=positive_int, default=2, metavar="K",
                   help="CP-SAT workers and simulation processes (default 2)")
    p.add_argument("--no-verify", dest="verify", action="store_false",
                   help="skip simulating the chosen layout")
    p.add_argument("--verify-replications", type=positive_int, default=3, metavar="N")
    p.add_argument("--verify-horizon", default="7d", metavar="T",
                   help="simulated time after the automatic warm-up (default 7d)")
    p.add_argument("--buffer-sizes", metavar="LIST",
                   help="size buffers by simulation from LIST (e.g. 0,50,100,200,500): the "
                        "smallest common size keeping output within 1 %% of the surrogate, "
                        "then each buffer lowered while it stays within (same seeds)")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument("--write-config", metavar="FILE",
                   help="write the chosen layout as a loadable config (YAML), atomically")
    add_store_arguments(p)


def optimise_command(args: argparse.Namespace) -> int:
    from linesim.config import dump_line, load_line
    from linesim.report.files import atomic_write_text
    from linesim.optimise import (
        Problem,
        apply_layout,
        current_layout,
        evaluate_layout,
        optimise_layout,
        pareto_front,
        size_buffers,
        verify_layout,
    )

    if args.write_config:
        check_output_path(args.write_config, (".yaml", ".yml"), "--write-config")
    sizes = _sizes(args.buffer_sizes) if args.buffer_sizes else None
    horizon_s = duration(args.verify_horizon, "--verify-horizon")
    spec = load_line(args.config, args.overrides)
    tune = getattr(args, "tune", False)
    default = "min-cost" if tune and spec.cost is not None else "min-capex"
    objective = (args.objective or default).replace("-", "_")
    if tune and not any(s.process is not None and s.process.levels for s in spec.stations):
        raise UsageError(f"tune: {args.config} has no station with process-window levels to "
                         "choose from; allowed: a config with process: {..., levels: {...}}")
    problem = Problem(spec, target_gwh_per_year=args.target_gwh, budget_usd=args.budget_usd,
                      floor_area_m2=args.floor_area_m2, dry_room_area_m2=args.dry_room_area_m2,
                      max_utilisation=args.max_utilisation, max_machines=args.max_machines,
                      time_limit_s=args.time_limit, workers=args.workers, seed=args.seed,
                      tune=tune)
    dew = _dew_points(args, spec)
    if args.pareto:
        if args.budget_usd is None and args.target_gwh is None:
            raise UsageError("--pareto needs --target-gwh (the lowest output) or --budget-usd")
        if dew:
            raise UsageError("--dew-points chooses one layout per dew point; allowed: without "
                             "--pareto")
        result = pareto_front(problem, args.pareto_points)
    else:
        result = optimise_layout(problem, objective)
    verified = None
    dew_rows = None
    if dew:
        from linesim.optimise import choose_dew_point

        choice = choose_dew_point(problem, objective, dew, horizon_s=horizon_s,
                                  replications=args.verify_replications, seed=args.seed,
                                  workers=args.workers)
        if choice.result is not None:
            spec, result, verified = choice.spec, choice.result, choice.verified
            problem = replace(problem, spec=spec)
        dew_rows = [row.to_dict() for row in choice.rows]
    doc = {"status": result.status, "objective": result.objective, "line": spec.name,
           "binding": result.binding, "solve_time_s": result.wall_time_s,
           "layout": result.layout, "buffers": None, "predicted": None, "verified": None,
           "config": evaluate_layout(spec).to_dict(), "config_layout": current_layout(spec)}
    if dew_rows is not None:
        doc["dew_points"] = dew_rows
        doc["dew_point_c"] = spec.cost.dry_room.dew_point_c
    if tune:
        doc["settings"] = result.settings
        doc["config_settings"] = {s.id: s.process.settings() for s in spec.stations
                                  if s.process is not None and s.process.levels}
        if not args.pareto:
            fixed = optimise_layout(replace(problem, tune=False), objective)
            doc["untuned"] = {"status": fixed.status, "layout": fixed.layout,
                              "predicted": fixed.predicted.to_dict() if fixed.found else None}
    if result.pareto:
        doc["pareto"] = [{"layout": lay, "predicted": fig.to_dict(), "settings": st}
                         for (lay, fig), st in zip(result.pareto, result.pareto_settings
                                                   or [None] * len(result.pareto))]
    if not result.found:
        _emit(args, doc, spec)
        return EXIT_INFEASIBLE if result.status == "infeasible" else EXIT_FAILED
    doc["predicted"] = result.predicted.to_dict()
    if sizes:
        verified = size_buffers(spec, result.layout, sizes, horizon_s=horizon_s,
                                replications=args.verify_replications, seed=args.seed,
                                workers=args.workers, settings=result.settings)
    elif args.verify and verified is None:
        verified = verify_layout(spec, result.layout, horizon_s=horizon_s,
                                 replications=args.verify_replications, seed=args.seed,
                                 workers=args.workers, settings=result.settings)
    if args.verify and doc.get("pareto"):
        # every point of the front, simulated as the chosen layout is (same seeds)
        for k, point in enumerate(doc["pareto"]):
            check = verified if (k == 0 and verified is not None and not sizes) else \
                verify_layout(spec, point["layout"], horizon_s=horizon_s,
                              replications=args.verify_replications, seed=args.seed,
                              workers=args.workers, settings=point["settings"])
            point["verified"] = check.to_dict()
    chosen = apply_layout(spec, result.layout, verified.buffers if verified else None,
                          result.settings)
    doc["buffers"] = {s.id: s.buffer_after for s in chosen.stations}
    doc["verified"] = verified.to_dict() if verified else None
    if args.write_config:
        atomic_write_text(args.write_config, f"# linesim optimise {result.objective} of "
                          f"{args.config}: status {result.status}\n" + dump_line(chosen))
    _emit(args, doc, spec)
    return EXIT_OK


def _dew_points(args: argparse.Namespace, spec) -> list[float]:
    text = getattr(args, "dew_points", None)
    if not text:
        return []
    if spec.cost is None or spec.cost.dry_room is None:
        raise UsageError(f"--dew-points: line {spec.name!r} has no cost.dry_room; allowed: a "
                         "line with a dry room and its dry_room_classes")
    try:
        points = sorted({float(x) for x in text.split(",") if x.strip()}, reverse=True)
    except ValueError:
        points = []
    classes = sorted(c.dew_point_c for c in spec.cost.dry_room_classes)
    if not points or any(not -90.0 <= d <= 0.0 for d in points):
        raise UsageError(f"--dew-points: {text!r}; allowed: dew points in °C separated by "
                         "commas, e.g. " + ",".join(f"{c:g}" for c in classes))
    if min(points) < min(classes):
        raise UsageError(f"--dew-points: {min(points):g} °C is drier than every dry-room class; "
                         "allowed: ≥ " + f"{min(classes):g} °C (the config's dry_room_classes)")
    return points


def _sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise UsageError(f"--buffer-sizes: {text!r}; allowed: whole numbers ≥ 0 separated by "
                         "commas, e.g. 50,100,200") from None
    if not sizes or sizes[0] < 0:
        raise UsageError(f"--buffer-sizes: {text!r}; allowed: whole numbers ≥ 0")
    return sizes


def _emit(args: argparse.Namespace, doc: dict, spec) -> None:
    from linesim.report.optimise import format_optimisation

    store = store_from_args(args)
    if store:
        verified = (doc.get("verified") or {})
        kpis = {"predicted_" + k: v for k, v in (doc.get("predicted") or {}).items()
                if isinstance(v, (int, float))}
        if verified.get("simulated_gwh_per_year"):
            kpis["output_gwh_per_year"] = verified["simulated_gwh_per_year"]["mean"]
        doc["record_id"] = store.record(
            "optimise", spec, config_path=args.config, seed=args.seed, summary=doc,
            args=args_doc(args),
            rows=[{"kpis": kpis}] if kpis else [])
    if args.json:
        print_json(doc)
        return
    sys.stdout.write(format_optimisation(doc) + "\n")
    if args.write_config and doc["layout"] is not None:
        sys.stdout.write(f"\nconfig written to {args.write_config}\n")
