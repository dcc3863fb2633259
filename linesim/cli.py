"""The ``linesim`` command line: presents results, never computes them.

Exit codes: 0 success; 2 bad input (config or arguments) with one message on stderr naming the
file, the field path, the value and what is allowed; 3 an infeasible optimisation.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from typing import Any

from linesim.errors import ConfigError, UsageError

EXIT_OK, EXIT_BAD_INPUT, EXIT_INFEASIBLE = 0, 2, 3


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line on stderr with exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"linesim: error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="line config (YAML)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                   help="override a field, e.g. --set stations.stacking.machines=4 (repeatable)")


def _add_simulation(p: argparse.ArgumentParser) -> None:
    p.add_argument("--horizon", default="30d", help="simulated time after warm-up (e.g. 30d, "
                   "720h); default 30d")
    p.add_argument("--warmup", default="auto", help="warm-up discarded from statistics (e.g. 2d); "
                   "default auto: max(2 d, 1.5 × the line's raw flow time)")
    p.add_argument("--replications", type=_positive_int, default=5, metavar="N",
                   help="independent replications (default 5)")
    p.add_argument("--seed", type=_non_negative_int, default=1, metavar="S", help="base seed")
    p.add_argument("--workers", type=_positive_int, default=None, metavar="K",
                   help="processes for replications (default: all cores)")
    p.add_argument("--engine", choices=("auto", "fast", "simpy"), default="auto",
                   help="simulation engine: fast (compiled), simpy (reference) or auto (fast "
                   "unless a SimPy-only feature is needed); both give identical results")
    p.add_argument("--no-exposure", dest="exposure", action="store_false",
                   help="switch dry-room exposure windows off (time-independent p at every "
                   "station), e.g. to see the exposure loss against a normal run")


def _add_cost_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--simulate", action="store_true", help="divide fixed costs by simulated "
                   "good output and use the simulated yield (default: static capacity)")
    _add_simulation(p)
    p.add_argument("--tornado", type=_fraction, default=0.2, metavar="F",
                   help="sensitivity: move each parameter by ± F (default 0.2)")


def build_parser() -> argparse.ArgumentParser:
    from linesim import __version__
    from linesim.sweep_command import add_runs_arguments, add_store_arguments, \
        add_sweep_arguments

    parser = _Parser(prog="linesim", description="Simulate, cost and optimise solid-state "
                     "battery production lines.")
    parser.add_argument("--version", action="version", version=f"linesim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("validate", help="check a config and say what it describes")
    _add_config(p)

    p = sub.add_parser("capacity", help="static capacity analysis (no simulation)")
    _add_config(p)
    p.add_argument("--target-gwh", type=_positive_float, metavar="X",
                   help="target good output [GWh/yr] for utilisations")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")

    p = sub.add_parser("run", help="simulate the line with replications")
    _add_config(p)
    _add_simulation(p)
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument("--out", metavar="FILE", help="also write results to FILE (.csv, .json or "
                   ".parquet), atomically")

    add_store_arguments(p)

    p = sub.add_parser("cost", help="capex, cost per good kWh, energy, ramp-up and sensitivity")
    _add_config(p)
    _add_cost_options(p)
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")

    p = sub.add_parser("compare", help="lines side by side: output, yield, capex, cost per kWh, "
                       "energy, ramp-up; optional HTML report")
    p.add_argument("configs", nargs="+", metavar="CONFIG", help="two or more line configs")
    _add_cost_options(p)
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report "
                   "with plotly figures to FILE, atomically")

    p = sub.add_parser("optimise", help="choose machine counts per equipment option (CP-SAT) "
                       "and verify by simulation; exit 3 when infeasible")
    _add_config(p)
    from linesim.optimise_command import add_arguments

    add_arguments(p, _positive_float, _positive_int, _fraction_or_one)
    add_store_arguments(p)

    p = sub.add_parser("tune", help="choose process settings (levels of each station's "
                       "process window) together with the layout (CP-SAT); verify by "
                       "simulation; exit 3 when infeasible")
    _add_config(p)
    add_arguments(p, _positive_float, _positive_int, _fraction_or_one)
    p.add_argument("--dew-points", metavar="LIST",
                   help="also choose the dry room's dew point from LIST (°C, e.g. -40,-50,-60; "
                        "its cost class from the config): one layout per dew point, each "
                        "simulated, the lowest simulated cost per kWh wins")
    add_store_arguments(p)
    p.set_defaults(tune=True)

    p = sub.add_parser("sweep", help="variants × replications with common random numbers "
                       "(process pool or Ray), a tidy table out")
    _add_config(p)
    _add_simulation(p)
    add_sweep_arguments(p)

    p = sub.add_parser("runs", help="the results store: list, show and compare records")
    add_runs_arguments(p)

    p = sub.add_parser("ui", help="start the Streamlit what-if app (needs the ui extra)")
    p.add_argument("--port", type=_positive_int, default=8501)
    p.add_argument("--host", default="localhost", help="address to listen on")
    return parser


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text!r}: allowed: a number > 0")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: allowed: a number between 0 and 1")
    return value


def _fraction_or_one(text: str) -> float:
    value = _positive_float(text)
    if value > 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: allowed: a number in (0, 1]")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: allowed: a whole number ≥ 1")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: allowed: a whole number ≥ 0")
    return value


def _print_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, allow_nan=False, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# --- commands ---------------------------------------------------------------------------------
def cmd_validate(args: argparse.Namespace) -> int:
    from linesim.config import load_line
    from linesim.yield_model import line_yield

    spec = load_line(args.config, args.overrides)
    machines = sum(s.machine_count for s in spec.stations)
    print(f"{args.config}: ok — {spec.name}: {len(spec.stations)} stations, {machines} machines, "
          f"{spec.product.energy_kwh} kWh per cell, analytic line yield {line_yield(spec):.4f}")
    return EXIT_OK


def cmd_capacity(args: argparse.Namespace) -> int:
    from linesim.capacity import capacity_report
    from linesim.config import load_line
    from linesim.report import text_table

    spec = load_line(args.config, args.overrides)
    rep = capacity_report(spec, args.target_gwh)
    if args.json:
        _print_json(rep.to_dict())
        return EXIT_OK
    rows = [(s.id, s.machines, s.rate_per_machine_cells_per_h, s.availability,
             s.capacity_cells_per_h, s.starts_per_good_cell, s.max_good_cells_per_h,
             s.utilisation_at_target, "◀" if s.id == rep.bottleneck else "")
            for s in rep.stations]
    print(f"{spec.name}: static capacity (no simulation)\n")
    print(text_table(["station", "machines", "rate/machine [cells/h]", "availability",
                      "capacity [cells/h]", "starts per good", "max good [cells/h]",
                      "utilisation @target", "bottleneck"], rows, "lrrrrrrrl"))
    print(f"\nline yield (analytic, ∏(1 − p)): {rep.line_yield:.4f}")
    print(f"maximum good output: {rep.max_good_cells_per_h:,.1f} cells/h = "
          f"{rep.max_output_gwh_per_year:.3f} GWh/yr (bottleneck: {rep.bottleneck})")
    if args.target_gwh is not None:
        verdict = "reached" if rep.max_output_gwh_per_year >= args.target_gwh else "NOT reached"
        print(f"target {args.target_gwh} GWh/yr = {rep.target_good_cells_per_h:,.1f} good cells/h: "
              f"{verdict}")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from linesim.run_command import run_command

    return run_command(args)


def cmd_cost(args: argparse.Namespace) -> int:
    from linesim.cost_command import cost_command

    return cost_command(args)


def cmd_compare(args: argparse.Namespace) -> int:
    from linesim.cost_command import compare_command

    return compare_command(args)


def cmd_optimise(args: argparse.Namespace) -> int:
    from linesim.optimise_command import optimise_command

    return optimise_command(args)


def cmd_sweep(args: argparse.Namespace) -> int:
    from linesim.sweep_command import sweep_command

    return sweep_command(args)


def cmd_runs(args: argparse.Namespace) -> int:
    from linesim.sweep_command import runs_command

    return runs_command(args)


def cmd_ui(args: argparse.Namespace) -> int:
    """``streamlit run ui/app.py`` (headless, no usage statistics) on the given port."""
    import importlib.util
    import os
    import subprocess
    from pathlib import Path

    app = Path(__file__).resolve().parents[1] / "ui" / "app.py"
    if importlib.util.find_spec("streamlit") is None:
        raise UsageError("ui: Streamlit is not installed; allowed: pip install -e '.[ui]'")
    if not app.is_file():
        raise UsageError(f"ui: the app is not at {app}; allowed: a linesim checkout with ui/")
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
           "--server.port", str(args.port), "--server.address", args.host,
           "--browser.gatherUsageStats", "false"]
    try:
        return subprocess.call(cmd, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    except KeyboardInterrupt:
        return 130


COMMANDS = {"validate": cmd_validate, "capacity": cmd_capacity, "run": cmd_run,
            "cost": cmd_cost, "compare": cmd_compare, "optimise": cmd_optimise,
            "tune": cmd_optimise, "sweep": cmd_sweep, "runs": cmd_runs, "ui": cmd_ui}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``linesim`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        sys.stderr.write(f"linesim: error: {exc}\n")
        return EXIT_BAD_INPUT
    except UsageError as exc:
        sys.stderr.write(f"linesim: error: {exc}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write("linesim: interrupted\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
