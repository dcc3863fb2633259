"""The ``linesim`` command line: parses, dispatches to one module per command, and turns user
mistakes into one message and exit code 2 (codes in :mod:`linesim.cli.options`); SIGINT and
SIGTERM into one line saying what was kept and exit code 130 or 143."""

from __future__ import annotations

import argparse
import importlib
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Sequence
from contextlib import suppress

from linesim.cli.options import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_TERMINATED, Parser
from linesim.errors import ConfigError, UsageError
from linesim.progress import Interrupted

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
        "choose machine counts per equipment option (CP-SAT), with simulation in the loop "
        "until the simulated output meets the target; exit 3 when infeasible, 4 when the "
        "simulated output misses and the limits cannot close it",
    ),
    "tune": (
        "optimise",
        "add_tune_arguments",
        "optimise_command",
        "choose process settings (levels of each station's process window) together with "
        "the layout (CP-SAT), with simulation in the loop; exit 3 when infeasible, 4 when "
        "the simulated output misses and the limits cannot close it",
    ),
    "sweep": (
        "sweep",
        "add_arguments",
        "sweep_command",
        "variants × replications with common random numbers (process pool or Ray), a "
        "tidy table out",
    ),
    "uncertainty": (
        "uncertainty",
        "add_arguments",
        "uncertainty_command",
        "P10/P50/P90 of output, yield, OEE, cost and capex over the config's uncertain "
        "inputs, the chance of meeting targets, and Sobol indices",
    ),
    "runs": (
        "runs",
        "add_arguments",
        "runs_command",
        "the results store: list, show and compare records",
    ),
    "build": (
        "build",
        "add_arguments",
        "build_command",
        "build the compiled engine now, once (the last step of installing: the first run then "
        "starts with it)",
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


class _Stop:
    """The handler of SIGINT and SIGTERM while a command runs.

    The first signal raises ``KeyboardInterrupt`` in the command: a long run kills its workers
    and passes on :class:`~linesim.progress.Interrupted` saying what was kept, which
    :func:`main` prints before it ends the process. A second signal, if that clean-up is still
    under way, ends the process at once; its pool workers go with it (killed here, and by the
    kernel: they die with their parent).
    """

    def __init__(self) -> None:
        self.signum: int | None = None

    def __call__(self, signum: int, frame: object) -> None:
        if self.signum is not None:
            for child in multiprocessing.active_children():
                child.kill()
            # os.write: the interrupted code may be inside a write to sys.stderr
            os.write(2, f"linesim: {_said(signum)} again: stopped at once\n".encode())
            os._exit(_exit_code(signum))
        self.signum = signum
        raise KeyboardInterrupt


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _said(signum: int) -> str:
    return "terminated" if signum == signal.SIGTERM else "interrupted"


def _exit_code(signum: int) -> int:
    """130 for SIGINT, 143 for SIGTERM, as a shell reports a process that a signal ended."""
    return EXIT_INTERRUPTED if signum == signal.SIGINT else EXIT_TERMINATED


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``linesim`` console script."""
    stop = _Stop()
    # signal handlers can only be set in the main thread (elsewhere Python's defaults stay)
    handles = threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, stop) for s in _SIGNALS} if handles else {}
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        module, _, run, _ = COMMANDS[args.command]
        return getattr(_module(module), run)(args)
    except (ConfigError, UsageError) as exc:
        sys.stderr.write(f"linesim: error: {exc}\n")
        return EXIT_BAD_INPUT
    except MemoryError:
        sys.stderr.write(
            "linesim: error: out of memory; allowed: a smaller run (--horizon, --replications, "
            "--workers) or more memory (building the compiled engine takes about 0.4 GB, once: "
            "--engine simpy runs without it)\n"
        )
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as exc:
        signum = stop.signum or signal.SIGINT
        detail = f": {exc}" if isinstance(exc, Interrupted) and str(exc) else ""
        sys.stderr.write(f"linesim: {_said(signum)}{detail}\n")
        if stop.signum is not None:
            _exit_now(_exit_code(signum))
        return _exit_code(signum)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _exit_now(code: int) -> None:
    """End the process after a signal: its workers are stopped and all is said, and the
    interpreter's teardown of scipy, pandas and numba would take a second or more."""
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):  # a closed pipe or file
            stream.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
