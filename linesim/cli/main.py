"""The ``linesim`` command line: parses, dispatches to one module per command, and turns user
mistakes into one message and exit code 2 (codes in :mod:`linesim.cli.options`)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from linesim.cli.options import EXIT_BAD_INPUT, EXIT_INTERRUPTED, Parser
from linesim.errors import ConfigError, UsageError

__all__ = ["build_parser", "main"]

#: command → (module in linesim.cli, function that adds its arguments, function that runs it,
#: help)
COMMANDS: dict[str, tuple[str, str, str, str]] = {
    "validate": (
        "validate",
        "add_arguments",
        "validate_command",
        "check a config and say what it describes",
    ),
    "capacity": (
        "capacity",
        "add_arguments",
        "capacity_command",
        "static capacity analysis (no simulation)",
    ),
    "run": ("run", "add_arguments", "run_command", "simulate the line with replications"),
    "cost": (
        "cost",
        "add_cost_arguments",
        "cost_command",
        "capex, cost per good kWh, energy, ramp-up and sensitivity",
    ),
    "compare": (
        "cost",
        "add_compare_arguments",
        "compare_command",
        "lines side by side: output, yield, capex, cost per kWh, energy, ramp-up; "
        "optional HTML report",
    ),
    "optimise": (
        "optimise",
        "add_arguments",
        "optimise_command",
        "choose machine counts per equipment option (CP-SAT) and verify by "
        "simulation; exit 3 when infeasible",
    ),
    "tune": (
        "optimise",
        "add_tune_arguments",
        "optimise_command",
        "choose process settings (levels of each station's process window) together with "
        "the layout (CP-SAT); verify by simulation; exit 3 when infeasible",
    ),
    "sweep": (
        "sweep",
        "add_arguments",
        "sweep_command",
        "variants × replications with common random numbers (process pool or Ray), a "
        "tidy table out",
    ),
    "runs": (
        "runs",
        "add_arguments",
        "runs_command",
        "the results store: list, show and compare records",
    ),
    "ui": (
        "ui",
        "add_arguments",
        "ui_command",
        "start the Streamlit what-if app (needs the ui extra)",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    from linesim.version import __version__

    parser = Parser(
        prog="linesim",
        description="Simulate, cost and optimise solid-state battery production lines.",
    )
    parser.add_argument("--version", action="version", version=f"linesim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name, (module, add, _, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        getattr(_module(module), add)(p)
    return parser


def _module(name: str):
    return importlib.import_module(f"linesim.cli.{name}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``linesim`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    module, _, run, _ = COMMANDS[args.command]
    try:
        return getattr(_module(module), run)(args)
    except (ConfigError, UsageError) as exc:
        sys.stderr.write(f"linesim: error: {exc}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write("linesim: interrupted\n")
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
