"""``linesim optimise``: present a layout optimisation (CLI face only)."""

from __future__ import annotations

import argparse
import math
import sys
from typing import TYPE_CHECKING

from linesim.cli.options import (
    EXIT_FAILED,
    EXIT_INFEASIBLE,
    EXIT_OK,
    add_config,
    add_store_arguments,
    args_doc,
    check_output_path,
    duration,
    non_negative_int,
    positive_float,
    positive_int,
    print_json,
    store_from_args,
    warn_store_problems,
)
from linesim.cli.options import fraction_or_one as fraction
from linesim.errors import UsageError
from linesim.spec.base import MAX_BUFFER_CELLS

if TYPE_CHECKING:
    from linesim.optimise import OptimisationReport

__all__ = ["EXIT_MISSED", "FLAGS", "add_arguments", "add_tune_arguments", "optimise_command"]

#: The simulation loop's answer misses the target and cannot be closed (budget, limits or the
#: iteration cap); the JSON's ``meets_target`` is false and ``closure.reason`` says why.
EXIT_MISSED = 4


def add_tune_arguments(p: argparse.ArgumentParser) -> None:
    add_arguments(p)
    p.add_argument(
        "--dew-points",
        metavar="LIST",
        help="also choose the dry room's dew point from LIST (°C, e.g. -40,-50,-60; "
        "its cost class from the config): one layout per dew point, each "
        "simulated, the lowest simulated cost per kWh wins",
    )
    p.set_defaults(tune=True)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config(p)
    p.add_argument(
        "--target-gwh",
        type=positive_float,
        metavar="X",
        help="good output to reach [GWh/yr] (min-capex, min-cost, Pareto floor)",
    )
    p.add_argument("--budget-usd", type=positive_float, metavar="B", help="capex limit [USD]")
    p.add_argument(
        "--objective",
        default=None,
        choices=["min-capex", "max-output", "min-cost"],
        help="default: min-capex; tune: min-cost when the line has a cost block",
    )
    p.add_argument(
        "--pareto",
        action="store_true",
        help="the Pareto front of output × yield × capex instead of one objective",
    )
    p.add_argument(
        "--pareto-points",
        type=positive_int,
        default=6,
        metavar="N",
        help="points of the Pareto front simulated, spread by output, both ends included "
        "(default 6; the front itself is complete on small lines, an ε-sweep of at least "
        "max(N, 24) output floors on large ones)",
    )
    p.add_argument(
        "--floor-area-m2",
        type=positive_float,
        metavar="A",
        help="limit on the floor the machines and the priced buffer positions take [m²]",
    )
    p.add_argument(
        "--dry-room-area-m2",
        type=positive_float,
        metavar="A",
        help="limit on the floor of dry-room stations: their machines and the priced buffer "
        "positions after them [m²]",
    )
    p.add_argument(
        "--max-utilisation",
        type=fraction,
        default=1.0,
        metavar="U",
        help="headroom: each station at most U busy at the target (default 1)",
    )
    p.add_argument(
        "--max-machines",
        type=positive_int,
        metavar="N",
        help="per-option machine cap where a station sets no machines_max",
    )
    p.add_argument(
        "--time-limit",
        type=positive_float,
        default=30.0,
        metavar="S",
        help="CP-SAT time limit per solve [s] (default 30)",
    )
    p.add_argument(
        "--relative-gap",
        type=float,
        default=0.0,
        metavar="G",
        help="stop at a layout proven within G (e.g. 0.01) of the best possible; the gap "
        "reached is reported (default 0: prove it optimal or stop at the time limit)",
    )
    p.add_argument(
        "--seed", type=non_negative_int, default=1, help="solver and simulation seed (≥ 0)"
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        default=2,
        metavar="K",
        help="CP-SAT workers and simulation processes (default 2)",
    )
    p.add_argument(
        "--no-verify", dest="verify", action="store_false", help="skip simulating the chosen layout"
    )
    p.add_argument(
        "--verify-replications",
        type=positive_int,
        default=5,
        metavar="N",
        help="replications per simulated layout (default 5; while its decision is open the "
        "loop runs as many more as the measured variance says it needs, up to "
        "--max-replications)",
    )
    p.add_argument(
        "--max-replications",
        type=positive_int,
        default=40,
        metavar="N",
        help="most replications per layout in the simulation loop (default 40; an "
        "acceptance rests on at least 20)",
    )
    p.add_argument(
        "--max-iterations",
        type=positive_int,
        default=12,
        metavar="N",
        help="most machine layouts the simulation loop simulates (default 12); buffer "
        "trials (at most 3) and, after an acceptance, one check per buffer it kept come on "
        "top (at most N + 6 simulated layouts)",
    )
    p.add_argument(
        "--refine",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="after the simulation loop accepts a layout, simulate up to N more in search of "
        "a cheaper accepted one (default 0)",
    )
    p.add_argument(
        "--surrogate-only",
        dest="close",
        action="store_false",
        help="no simulation in the loop: the static optimum, simulated once and judged "
        "against the target (default: min-capex and min-cost at a target return the least "
        f"layout whose simulated output meets it at 95 %% confidence, or exit {EXIT_MISSED} "
        "with the reason it cannot)",
    )
    p.add_argument(
        "--allow-large",
        action="store_true",
        help="run a verification the work estimate finds too large (refused without it)",
    )
    p.add_argument(
        "--verify-horizon",
        default="auto",
        metavar="T",
        help="simulated time after the automatic warm-up (default auto: at least 14 days "
        "and three of the line's longest services)",
    )
    p.add_argument(
        "--buffer-sizes",
        metavar="LIST",
        help="size buffers by simulation from LIST (e.g. 0,50,100,200,500): the "
        "smallest common size keeping output within 1 %% of the surrogate, "
        "then each buffer lowered while it stays within (same seeds)",
    )
    p.add_argument(
        "--robust",
        type=positive_float,
        metavar="Q",
        help="the layout of least capex (or cost) that reaches --target-gwh with probability "
        "≥ Q over the config's input distributions (scenarios on the static model, then an "
        "independent Monte Carlo check: linesim/optimise/robust.py); exit 4 when the "
        "scenarios or the check fall short of Q",
    )
    p.add_argument(
        "--scenarios", type=positive_int, default=64, metavar="K", help="--robust: scenarios"
    )
    p.add_argument(
        "--robust-check",
        type=positive_int,
        default=256,
        metavar="N",
        help="--robust: fresh samples of the independent check (default 256)",
    )
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument(
        "--write-config",
        metavar="FILE",
        help="write the chosen layout as a loadable config (YAML), atomically",
    )
    add_store_arguments(p)


#: The library's names in its messages (Problem fields, keywords of optimise_and_verify,
#: objectives) → what this command calls them.
FLAGS = {
    "target_gwh_per_year": "--target-gwh",
    "budget_usd": "--budget-usd",
    "floor_area_m2": "--floor-area-m2",
    "dry_room_area_m2": "--dry-room-area-m2",
    "max_utilisation": "--max-utilisation",
    "max_machines": "--max-machines",
    "time_limit_s": "--time-limit",
    "relative_gap": "--relative-gap",
    "seed": "--seed",
    "workers": "--workers",
    "pareto_points": "--pareto",
    "dew_points": "--dew-points",
    "buffer_sizes": "--buffer-sizes",
    "horizon_s": "--verify-horizon",
    "replications": "--verify-replications",
    "max_replications": "--max-replications",
    "max_iterations": "--max-iterations",
    "refine": "--refine",
    "allow_large": "--allow-large",
    "scenarios": "--scenarios",
    "robust_check": "--robust-check",
    "min_capex": "min-capex",
    "max_output": "max-output",
    "min_cost": "min-cost",
}


def optimise_command(args: argparse.Namespace) -> int:
    from linesim.config import dump_line, load_line
    from linesim.optimise import Problem, optimise_and_verify
    from linesim.report.files import atomic_write_text
    from linesim.report.optimise import renamed

    if args.write_config:
        check_output_path(args.write_config, (".yaml", ".yml"), "--write-config")
    sizes = _sizes(args.buffer_sizes) if args.buffer_sizes else None
    horizon_s = (
        None if args.verify_horizon == "auto" else duration(args.verify_horizon, "--verify-horizon")
    )
    spec = load_line(args.config, args.overrides)
    dew = _dew_points(getattr(args, "dew_points", None), spec)
    tune = getattr(args, "tune", False)
    default = "min-cost" if tune and spec.cost is not None else "min-capex"
    objective = (args.objective or default).replace("-", "_")
    if tune and not any(s.process is not None and s.process.levels for s in spec.stations):
        raise UsageError(
            f"tune: {args.config} has no station with process-window levels to "
            "choose from; allowed: a config with process: {..., levels: {...}}"
        )
    try:  # the library names its parameters (Problem's fields too): say the flags instead
        problem = Problem(
            spec,
            target_gwh_per_year=args.target_gwh,
            budget_usd=args.budget_usd,
            floor_area_m2=args.floor_area_m2,
            dry_room_area_m2=args.dry_room_area_m2,
            max_utilisation=args.max_utilisation,
            max_machines=args.max_machines,
            time_limit_s=args.time_limit,
            workers=args.workers,
            seed=args.seed,
            tune=tune,
            relative_gap=args.relative_gap,
        )
        # --robust: solved at the nominal target that reaches the target with probability Q
        robust = _robust(args, problem, objective) if args.robust is not None else None
        if robust is not None:
            problem = robust[0]
        report = optimise_and_verify(
            problem,
            objective,
            pareto_points=args.pareto_points if args.pareto else None,
            dew_points=dew,
            buffer_sizes=sizes,
            verify=args.verify,
            horizon_s=horizon_s,
            replications=args.verify_replications,
            seed=args.seed,
            workers=args.workers,
            allow_large=args.allow_large,
            close=args.close,
            max_replications=args.max_replications,
            max_iterations=args.max_iterations,
            refine=args.refine,
        )
        if robust is not None:
            robust = (problem, _robust_check(args, robust[1], report))
    except UsageError as exc:
        raise UsageError(renamed(str(exc), FLAGS)) from None
    if report.chosen is not None and args.write_config:  # found
        atomic_write_text(
            args.write_config,
            f"# linesim optimise {report.result.objective} of "
            f"{args.config}: status {report.result.status}\n" + dump_line(report.chosen),
        )
    _emit(args, report, robust[1] if robust else None)
    if not report.found:
        if report.result.status == "infeasible":
            return EXIT_INFEASIBLE
        sys.stderr.write(
            f"linesim: error: --time-limit: no layout found within {args.time_limit:g} s per "
            f"solve (status {report.result.status}); allowed: a longer --time-limit\n"
        )
        return EXIT_FAILED
    if report.meets_target is False or (robust and not robust[1]["meets_probability"]):
        return EXIT_MISSED
    return EXIT_OK


MAX_DEW_POINTS = 10  #: dew points compared by one tune (a dry room has a few classes)


def _dew_points(text: str | None, spec) -> list[float]:
    """``--dew-points`` as numbers, wettest first (the library checks them against the line)."""
    if text is None:
        return []
    try:
        points = sorted({float(x) for x in text.split(",") if x.strip()}, reverse=True)
    except ValueError:
        points = []
    if len(points) > MAX_DEW_POINTS:
        raise UsageError(
            f"--dew-points: {len(points):,} dew points (each one a layout solved and simulated); "
            f"allowed: at most {MAX_DEW_POINTS}"
        )
    if not points or not all(math.isfinite(p) for p in points):
        dry = spec.cost is not None and spec.cost.dry_room is not None
        classes = sorted(c.dew_point_c for c in spec.cost.dry_room_classes) if dry else []
        raise UsageError(
            f"--dew-points: {_shown(text)}; allowed: dew points in °C separated by "
            "commas, e.g. " + ",".join(f"{c:g}" for c in classes or (-40, -60))
        )
    return points


def _shown(text: str, limit: int = 60) -> str:
    """A flag's value for a message: quoted, cut at ``limit`` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise UsageError(
            f"--buffer-sizes: {_shown(text)}; allowed: whole numbers ≥ 0 separated by "
            "commas, e.g. 50,100,200"
        ) from None
    if not sizes or sizes[0] < 0 or sizes[-1] > MAX_BUFFER_CELLS:
        raise UsageError(
            f"--buffer-sizes: {_shown(text)}; allowed: whole numbers 0 to {MAX_BUFFER_CELLS:,}"
        )
    return sizes


def _robust(args: argparse.Namespace, problem, objective: str):
    """``--robust Q``: the nominal target that makes the layout robust (robust.py), as the
    problem to solve and verify, and the search."""
    from dataclasses import replace

    from linesim.bundled import resolve_config
    from linesim.config import apply_overrides, load_raw
    from linesim.optimise.robust import robust_layout
    from linesim.uncertainty import prepare

    if args.target_gwh is None or args.pareto or objective == "max_output":
        raise UsageError(
            "--robust: needs --target-gwh and a min-capex or min-cost objective (no --pareto)"
        )
    if not 0 < args.robust < 1:
        raise UsageError(f"--robust: {args.robust:g}; allowed: a probability between 0 and 1")
    path = resolve_config(args.config)
    prepared = prepare(apply_overrides(load_raw(path), args.overrides), path)
    search = robust_layout(prepared, problem, args.robust, objective, scenarios=args.scenarios)
    return replace(problem, target_gwh_per_year=search.nominal_target_gwh_per_year), (
        prepared,
        search,
    )


def _robust_check(args: argparse.Namespace, found, report) -> dict:
    """The robust search and the independent check of the layout chosen (JSON data)."""
    from linesim.optimise.robust import check_layout

    prepared, search = found
    doc = search.to_dict()
    meets = report.result.layout is not None and search.scenario_share >= args.robust
    if report.result.layout is not None:
        check = check_layout(
            prepared, report.result.layout, args.target_gwh, args.robust_check, args.seed
        )
        doc["check"] = check.to_dict()
        meets = meets and check.probability >= args.robust
    # the scenarios fitted and the independent check both reach Q: else exit 4, as a miss
    doc["meets_probability"] = meets
    return doc


def _emit(args: argparse.Namespace, report: OptimisationReport, robust: dict | None = None) -> None:
    from linesim.report.optimise import format_optimisation
    from linesim.store import new_record_id

    doc = report.to_dict()
    if robust is not None:
        doc["robust"] = robust
    store = store_from_args(args)
    # results first (stdout), the store after: a store failure never costs them
    record_id = new_record_id() if store else None
    if args.json:
        print_json({**doc, "record_id": record_id} if store else doc)
    else:
        sys.stdout.write(format_optimisation(report, FLAGS) + "\n")
        if robust is not None:
            sys.stdout.write(_robust_text(robust) + "\n")
        if args.write_config and report.found:
            sys.stdout.write(f"\nconfig written to {args.write_config}\n")
    if store:
        store.record(
            "optimise",
            report.spec,
            record_id=record_id,
            config_path=args.config,
            seed=args.seed,
            summary=doc,
            args=args_doc(args),
            rows=_record_rows(report),
        )
        warn_store_problems(store)


def _record_rows(report: OptimisationReport) -> list[dict]:
    """The store's row of an optimisation: the predicted figures, and the simulated output
    when verified."""
    figures = report.result.predicted
    predicted = figures.to_dict() if figures is not None else {}
    kpis = {"predicted_" + k: v for k, v in predicted.items() if isinstance(v, (int, float))}
    if report.verified is not None:
        kpis["output_gwh_per_year"] = report.verified.simulated_gwh_per_year.mean
    return [{"kpis": kpis}] if kpis else []


def _robust_text(robust: dict) -> str:
    check = robust.get("check")
    out = (
        f"\nrobust: P(good output ≥ {robust['target_gwh_per_year']:g} GWh/yr) ≥ "
        f"{robust['probability_asked']:g} asked; solved for a nominal "
        f"{robust['nominal_target_gwh_per_year']:.4g} GWh/yr after {robust['rounds']} round(s), "
        f"reached in {robust['scenario_share']:.0%} of {robust['scenarios']} scenarios"
    )
    if check:
        lo, hi = check["ci95"]
        out += (
            f"\n  independent check ({check['samples']} fresh samples, static model): "
            f"P = {check['probability']:.3f} (95 % CI {lo:.3f}–{hi:.3f})"
        )
    verdict = "MEETS" if robust["meets_probability"] else "MISSES"
    return out + f"\n  {verdict} the probability asked (scenarios and independent check)"
