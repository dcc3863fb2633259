"""``linesim validate``: check a config and say what it describes.

Validation is a gate for every other command: the spec's own checks (bounds, references, a
line that makes good cells), the static capacity model, and the workload of a simulation at the
default window (``run``'s defaults), refused as ``run`` would refuse it.
"""

from __future__ import annotations

import argparse

from linesim.cli.options import (
    EXIT_OK,
    Parser,
    add_config,
    add_simulation,
    check_workload,
    simulation_window,
)
from linesim.errors import UsageError

__all__ = ["add_arguments", "validate_command"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config(p)


def _default_simulation() -> argparse.Namespace:
    """The simulation flags as ``run`` takes them when none is given."""
    p = Parser(add_help=False)
    add_simulation(p)
    return p.parse_args([])


def validate_command(args: argparse.Namespace) -> int:
    from linesim.config import load_line
    from linesim.yield_model import line_yield

    spec = load_line(args.config, args.overrides)
    sim = _default_simulation()
    try:
        horizon_s, warmup_s = simulation_window(spec, sim)
        work = check_workload([spec], sim, horizon_s, warmup_s)
    except UsageError as exc:
        raise UsageError(
            f"{args.config}: a default run (--horizon {sim.horizon}, --replications "
            f"{sim.replications}) would be refused: {exc}"
        ) from None
    machines = sum(s.machine_count for s in spec.stations)
    print(
        f"{args.config}: ok — {spec.name}: {len(spec.stations)} stations, {machines} machines, "
        f"{spec.product.energy_kwh} kWh per cell, analytic line yield {line_yield(spec):.4f}\n"
        f"  a default run ({sim.horizon}, {sim.replications} replications): {work.describe()}"
    )
    return EXIT_OK
