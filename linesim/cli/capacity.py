"""``linesim capacity``: the static capacity analysis (no simulation)."""

from __future__ import annotations

import argparse

from linesim.cli.options import EXIT_OK, add_config, positive_float, print_json

__all__ = ["add_arguments", "capacity_command"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config(p)
    p.add_argument(
        "--target-gwh",
        type=positive_float,
        metavar="X",
        help="target good output [GWh/yr] for utilisations",
    )
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")


def capacity_command(args: argparse.Namespace) -> int:
    from linesim.capacity import capacity_report
    from linesim.config import load_line
    from linesim.report.tables import number, text_table

    spec = load_line(args.config, args.overrides)
    rep = capacity_report(spec, args.target_gwh)
    if args.json:
        print_json(rep.to_dict())
        return EXIT_OK
    rows = [
        (
            s.id,
            s.machines,
            s.rate_per_machine_cells_per_h,
            s.availability,
            s.capacity_cells_per_h,
            s.starts_per_good_cell,
            s.max_good_cells_per_h,
            s.utilisation_at_target,
            "◀" if s.id == rep.bottleneck else "",
        )
        for s in rep.stations
    ]
    print(f"{spec.name}: static capacity (no simulation)\n")
    print(
        text_table(
            [
                "station",
                "machines",
                "rate/machine [cells/h]",
                "availability",
                "capacity [cells/h]",
                "starts per good",
                "max good [cells/h]",
                "utilisation @target",
                "bottleneck",
            ],
            rows,
            "lrrrrrrrl",
        )
    )
    print(f"\nline yield (analytic, ∏(1 − p)): {rep.line_yield:.4f}")
    print(
        f"maximum good output: {rep.max_good_cells_per_h:,.1f} cells/h = "
        f"{number(rep.max_output_gwh_per_year)} GWh/yr (bottleneck: {rep.bottleneck})"
    )
    print(
        f"static line OEE: {number(rep.static_oee)} of {rep.nameplate_bottleneck}'s nameplate "
        "rate in its planned time (no station ever waiting for another; simulate for idling)"
    )
    if args.target_gwh is not None:
        verdict = "reached" if rep.max_output_gwh_per_year >= args.target_gwh else "NOT reached"
        print(
            f"target {args.target_gwh} GWh/yr = "
            f"{number(rep.target_good_cells_per_h, ',.1f')} good cells/h: {verdict}"
        )
    return EXIT_OK
