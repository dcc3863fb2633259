"""``linesim validate``: check a config and say what it describes."""

from __future__ import annotations

import argparse

from linesim.cli.options import EXIT_OK, add_config

__all__ = ["add_arguments", "validate_command"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config(p)


def validate_command(args: argparse.Namespace) -> int:
    from linesim.config import load_line
    from linesim.yield_model import line_yield

    spec = load_line(args.config, args.overrides)
    machines = sum(s.machine_count for s in spec.stations)
    print(
        f"{args.config}: ok — {spec.name}: {len(spec.stations)} stations, {machines} machines, "
        f"{spec.product.energy_kwh} kWh per cell, analytic line yield {line_yield(spec):.4f}"
    )
    return EXIT_OK
