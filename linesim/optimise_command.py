"""``linesim optimise``: present a layout optimisation (CLI face only)."""

from __future__ import annotations

import argparse
import json
import sys

from dataclasses import replace

from linesim.errors import UsageError
from linesim.report import text_table

__all__ = ["optimise_command", "add_arguments", "format_settings"]

EXIT_INFEASIBLE = 3


def add_arguments(p: argparse.ArgumentParser, positive_float, positive_int, fraction) -> None:
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


def optimise_command(args: argparse.Namespace) -> int:
    from linesim.config import dump_line, load_line
    from linesim.files import atomic_write_text, check_output_path
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
    from linesim.run_command import _duration

    if args.write_config:
        check_output_path(args.write_config, (".yaml", ".yml"), "--write-config")
    sizes = _sizes(args.buffer_sizes) if args.buffer_sizes else None
    horizon_s = _duration(args.verify_horizon, "--verify-horizon")
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
        dew_rows = choice.rows
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
        return EXIT_INFEASIBLE if result.status == "infeasible" else 1
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
    return 0


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


def format_settings(config: dict, chosen: dict, layout: dict) -> str:
    """Process settings per station: the config's against the chosen ones."""
    rows = []
    for sid, values in config.items():
        for name, was in values.items():
            if sum(layout.get(sid, {1: 1}).values()) == 0:
                rows.append((sid, name, was, "(station left out)", ""))
                continue
            now = chosen.get(sid, {}).get(name, was)
            rows.append((sid, name, was, now, "" if now == was else f"{now - was:+g}"))
    return text_table(["station", "setting", "config", "chosen", "change"], rows, "llrrl")


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
    from linesim.files import json_safe
    from linesim.sweep_command import args_doc, store_from_args

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
        sys.stdout.write(json.dumps(json_safe(doc), indent=2, allow_nan=False) + "\n")
        return
    sys.stdout.write(format_optimisation(doc) + "\n")
    if args.write_config and doc["layout"] is not None:
        sys.stdout.write(f"\nconfig written to {args.write_config}\n")


def format_optimisation(doc: dict) -> str:
    """The chosen layout against the config's, predicted and simulated figures."""
    lines = [f"{doc['line']}: {doc['objective'].replace('_', '-')} — status {doc['status']} "
             f"({doc['solve_time_s']:.2f} s)"]
    if doc["layout"] is None:
        if doc["binding"]:
            lines.append(f"infeasible: {doc['binding']}")
        return "\n".join(lines)
    rows = []
    for sid, counts in doc["layout"].items():
        before = doc["config_layout"].get(sid, {})
        if sum(counts.values()) == 0:
            rows.append((sid, "(station left out)", sum(before.values()), 0, "omitted"))
            continue
        for option, n in counts.items():
            was = before.get(option, 0)
            rows.append((sid, option, was, n, "" if n == was else f"{n - was:+d}"))
    lines += ["", text_table(["station", "option", "config", "chosen", "change"], rows,
                             "llrrl")]
    if doc.get("config_settings"):
        lines += ["", format_settings(doc["config_settings"], doc.get("settings") or {},
                                      doc["layout"])]
    p, c = doc["predicted"], doc["config"]
    figures = [("good output [GWh/yr]", c["output_gwh_per_year"], p["output_gwh_per_year"]),
               ("line yield", c["line_yield"], p["line_yield"]),
               ("capex [M USD]", c["capex_usd"] / 1e6, p["capex_usd"] / 1e6),
               ("floor area [m²]", c["floor_area_m2"], p["floor_area_m2"]),
               ("dry-room machine area [m²]", c["dry_room_area_m2"], p["dry_room_area_m2"]),
               ("cost per good kWh [USD]", c["cost_usd_per_kwh"], p["cost_usd_per_kwh"]),
               ("static bottleneck", c["bottleneck"], p["bottleneck"])]
    untuned = (doc.get("untuned") or {}).get("predicted")
    if untuned:
        keys = ["output_gwh_per_year", "line_yield", "capex_usd", "floor_area_m2",
                "dry_room_area_m2", "cost_usd_per_kwh", "bottleneck"]
        figures = [row[:2] + ((untuned[k] / 1e6 if k == "capex_usd" else untuned[k]),)
                   + row[2:] for row, k in zip(figures, keys)]
        config = ("config" if doc.get("dew_point_c") is None
                  else f"config at {doc['dew_point_c']:g} °C")
        lines += ["", text_table(["static analysis", config, "layout only",
                                  "layout + settings"], figures, "lrrr")]
    else:
        lines += ["", text_table(["static analysis", "config", "chosen"], figures, "lrr")]
    if doc.get("dew_points"):
        lines += ["", f"dry-room dew point, chosen by simulated cost: {doc['dew_point_c']:g} °C",
                  text_table(["dew point [°C]", "capex [M USD]", "simulated [GWh/yr]",
                              "simulated yield", "exposure loss", "cost [USD/kWh, simulated]"],
                             [(r["dew_point_c"], r["predicted"]["capex_usd"] / 1e6,
                               r["verified"]["simulated_gwh_per_year"]["mean"],
                               r["verified"]["simulated_line_yield"]["mean"],
                               r["verified"]["yield_attribution"]["exposure"]["mean"],
                               r["verified"]["cost_usd_per_kwh"])
                              for r in doc["dew_points"] if r["verified"]])]
    v = doc["verified"]
    if v:
        sim = v["simulated_gwh_per_year"]
        half = ((sim["ci95_high"] - sim["ci95_low"]) / 2) if sim["ci95_low"] is not None else 0
        lines += ["", f"simulated ({v['replications']} replications of {v['horizon_h']:g} h): "
                  f"{sim['mean']:.3f} ± {half:.3f} GWh/yr against {v['surrogate_gwh_per_year']:.3f}"
                  f" predicted ({v['relative_gap']:+.1%})", f"  {v['explanation']}",
                  f"  line yield: simulated {v['simulated_line_yield']['mean']:.4f} against "
                  f"analytic {v['analytic_line_yield']:.4f}; dry-room exposure "
                  f"{v['yield_attribution']['exposure']['mean']:+.4f}, detection delay "
                  f"{v['yield_attribution']['detection_delay']['mean']:+.4f}"]
    if doc.get("pareto"):
        simulated = all(q.get("verified") for q in doc["pareto"])
        head = ["#", "output [GWh/yr]", "line yield", "capex [M USD]"]
        rows = [(k + 1, q["predicted"]["output_gwh_per_year"], q["predicted"]["line_yield"],
                 q["predicted"]["capex_usd"] / 1e6) for k, q in enumerate(doc["pareto"])]
        if simulated:
            head += ["simulated [GWh/yr]", "gap", "simulated yield"]
            rows = [r + (q["verified"]["simulated_gwh_per_year"]["mean"],
                         f"{q['verified']['relative_gap']:+.1%}",
                         q["verified"]["simulated_line_yield"]["mean"])
                    for r, q in zip(rows, doc["pareto"])]
        lines += ["", "Pareto front (output ↑, yield ↑, capex ↓)"
                  + (", each point simulated:" if simulated else ":"), text_table(head, rows)]
    return "\n".join(lines)
