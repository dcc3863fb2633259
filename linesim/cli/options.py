"""What every command shares: exit codes, the argument parser, argument types, the simulation
and store options, and the bridge from flags to library calls.

Exit codes (defined here once): 0 success; 2 bad input (config or arguments), with one message
on stderr naming the file, the field path, the value and what is allowed; 3 an infeasible
optimisation; 130 interrupted (SIGINT, Ctrl-C); 143 terminated (SIGTERM).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from linesim.errors import UsageError
from linesim.spec.base import MAX_NUMBER

__all__ = [
    "EXIT_OK",
    "EXIT_FAILED",
    "EXIT_BAD_INPUT",
    "EXIT_INFEASIBLE",
    "EXIT_INTERRUPTED",
    "EXIT_TERMINATED",
    "TABLE_FORMATS",
    "Parser",
    "add_config",
    "add_simulation",
    "add_cost_options",
    "add_store_arguments",
    "args_doc",
    "build_memory_short",
    "check_output_path",
    "check_workload",
    "duration",
    "fraction",
    "fraction_or_one",
    "non_negative_int",
    "positive_float",
    "positive_int",
    "print_json",
    "progress_bar",
    "seed",
    "simulate_from_args",
    "simulation_window",
    "store_from_args",
    "warn_store_problems",
    "workers",
]

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INFEASIBLE = 0, 1, 2, 3
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143  # 128 + the signal's number, as a shell reports it

#: Output formats of ``--out`` for tables (run, sweep).
TABLE_FORMATS = (".csv", ".json", ".parquet")
MIN_HORIZON_S = 1.0  #: a shorter window measures nothing (the fastest service takes 1 ms)
MAX_WORKERS = 256  #: processes of one command: more on one machine is a mistake, not a speed-up
#: The library's parameter names in the workload refusal → the flags of these commands.
WORKLOAD_FLAGS = {
    "horizon_s": "--horizon",
    "warmup_s": "--warmup",
    "replications": "--replications",
    "workers": "--workers",
    "allow_large": "--allow-large",
}


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line on stderr with exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"linesim: error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


# --- argument types ----------------------------------------------------------------------------
def _shown(text: str) -> str:
    """An argument as an error message quotes it: in quotes, at most 40 characters."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{_shown(text)} is not a number") from None


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # also a number of more than 4,300 digits
        raise argparse.ArgumentTypeError(f"{_shown(text)} is not a whole number") from None


def positive_float(text: str) -> float:
    value = _number(text)
    if not 0 < value <= MAX_NUMBER:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(
            f"{_shown(text)}: allowed: a number > 0 and ≤ {MAX_NUMBER:.0e}"
        )
    return value


def fraction(text: str) -> float:
    value = _number(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"{_shown(text)}: allowed: a number between 0 and 1")
    return value


def fraction_or_one(text: str) -> float:
    value = positive_float(text)
    if value > 1.0:
        raise argparse.ArgumentTypeError(f"{_shown(text)}: allowed: a number in (0, 1]")
    return value


def positive_int(text: str) -> int:
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{_shown(text)}: allowed: a whole number ≥ 1")
    return value


def non_negative_int(text: str) -> int:
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{_shown(text)}: allowed: a whole number ≥ 0")
    return value


def seed(text: str) -> int:
    """A base seed: 0 ≤ S < 2⁶³ (numpy takes any S ≥ 0; the results store keeps it as a
    signed 64-bit integer)."""
    value = _whole(text)
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(
            f"{_shown(text)}: allowed: a whole number from 0 to 2^63 − 1"
        )
    return value


def workers(text: str) -> int:
    """A number of processes: 1 to :data:`MAX_WORKERS`."""
    value = _whole(text)
    if not 1 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(
            f"{_shown(text)}: allowed: a whole number from 1 to {MAX_WORKERS}"
        )
    return value


def duration(text: str, flag: str) -> float:
    """A duration flag (``30d``, ``12h``) in seconds, finite and at most 100 years; a bad one
    is a usage error naming ``flag``."""
    from linesim.units import parse_duration_s
    from linesim.workload import MAX_SIMULATED_S

    try:
        value = parse_duration_s(text)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None
    if not value <= MAX_SIMULATED_S:  # 1e400d reads as inf
        raise UsageError(
            f"{flag}: {_shown(text)} is {value:g} s; allowed: a duration up to 100 years "
            "(e.g. 30d, 52w)"
        )
    return value


# --- option groups ---------------------------------------------------------------------------
def add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "config",
        help="line config: a YAML file, or the name of a bundled line (e.g. pilot_sulfide_200mwh)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override a field, e.g. --set stations.stacking.machines=4 (repeatable)",
    )


def add_simulation(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--horizon",
        default="30d",
        help="simulated time after warm-up (e.g. 30d, 720h); default 30d",
    )
    p.add_argument(
        "--warmup",
        default="auto",
        help="warm-up discarded from statistics (e.g. 2d); "
        "default auto: max(2 d, 1.5 × the line's raw flow time)",
    )
    p.add_argument(
        "--replications",
        type=positive_int,
        default=5,
        metavar="N",
        help="independent replications (default 5)",
    )
    p.add_argument("--seed", type=seed, default=1, metavar="S", help="base seed (0 ≤ S < 2^63)")
    p.add_argument(
        "--workers",
        type=workers,
        default=None,
        metavar="K",
        help=f"processes for replications, 1 to {MAX_WORKERS} (default: all cores)",
    )
    p.add_argument(
        "--allow-large",
        action="store_true",
        help="run a simulation even when its estimated time, memory or replications exceed "
        "what linesim starts unasked (the refusal names the estimate and the limits)",
    )
    p.add_argument(
        "--engine",
        choices=("auto", "fast", "simpy"),
        default="auto",
        help="simulation engine: fast (compiled), simpy (reference) or auto (fast "
        "unless a SimPy-only feature is needed); both give identical results",
    )
    p.add_argument(
        "--no-exposure",
        dest="exposure",
        action="store_false",
        help="switch dry-room exposure windows off (time-independent p at every "
        "station), e.g. to see the exposure loss against a normal run",
    )


def add_cost_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--simulate",
        action="store_true",
        help="divide fixed costs by simulated "
        "good output and use the simulated yield (default: static capacity)",
    )
    add_simulation(p)
    p.add_argument(
        "--tornado",
        type=fraction,
        default=0.2,
        metavar="F",
        help="sensitivity: move each parameter by ± F (default 0.2)",
    )


def add_store_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        metavar="PATH",
        help="results store (DuckDB file; default "
        "$LINESIM_STORE or linesim_runs.duckdb in the working directory)",
    )
    p.add_argument("--no-store", action="store_true", help="do not record this in the store")


# --- from flags to library calls --------------------------------------------------------------
def check_output_path(path: str, suffixes: tuple[str, ...], flag: str) -> None:
    """Raise :class:`UsageError` unless ``path`` has one of ``suffixes``, is no folder, and its
    folder exists and takes a new file (checked before any work is done)."""
    p = Path(path)
    if p.suffix.lower() not in suffixes:
        raise UsageError(
            f"{flag}: {_shown(str(path))} has an unknown extension; allowed: " + ", ".join(suffixes)
        )
    try:
        folder = p.resolve().parent
        is_dir = p.is_dir()
    except (OSError, RuntimeError) as exc:  # a symbolic-link loop, a name too long
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(
            f"{flag}: {_shown(str(path))} cannot be resolved ({reason}); allowed: a file path"
        ) from None
    if not folder.is_dir():
        raise UsageError(
            f"{flag}: the folder of {_shown(str(path))} does not exist; allowed: a path "
            "in an existing folder"
        )
    if is_dir:
        raise UsageError(f"{flag}: {_shown(str(path))} is a folder; allowed: a file path")
    try:  # a real file, as the write will make it: permissions, read-only mounts, name length
        with tempfile.NamedTemporaryFile(dir=folder, prefix=p.name + ".", suffix=".probe"):
            pass
    except OSError as exc:
        raise UsageError(
            f"{flag}: the folder of {_shown(str(path))} cannot be written ({exc.strerror}); "
            "allowed: a path in a folder you can write to"
        ) from None


def warn_store_problems(store) -> None:
    """What went wrong with the results store, as warnings on stderr after a command's results
    (which are out already: a store failure never costs them)."""
    for problem in store.problems:
        sys.stderr.write(f"linesim: warning: {problem}; the results above are kept\n")


def store_from_args(args: argparse.Namespace):
    """The results store the command should record in, or None."""
    from linesim.store import Store

    return None if getattr(args, "no_store", False) else Store(getattr(args, "store", None))


def args_doc(args: argparse.Namespace) -> dict:
    """A command's arguments as plain data, for the store."""
    return {k: v for k, v in vars(args).items() if not callable(v)}


def simulation_window(spec, args: argparse.Namespace) -> tuple[float, float]:
    """(horizon, warm-up) [s] from ``--horizon`` and ``--warmup`` (``auto``: the line's own)."""
    from linesim.capacity import suggested_warmup_h
    from linesim.workload import MAX_SIMULATED_S

    horizon_s = duration(args.horizon, "--horizon")
    if horizon_s < MIN_HORIZON_S:
        raise UsageError(
            f"--horizon: {_shown(args.horizon)}; allowed: a duration from 1 s to 100 years"
        )
    if args.warmup != "auto":
        return horizon_s, duration(args.warmup, "--warmup")
    warmup_s = suggested_warmup_h(spec) * 3600.0
    if not warmup_s <= MAX_SIMULATED_S:
        raise UsageError(
            f"--warmup: auto gives {warmup_s / 86_400:.3g} days (the line's raw flow time; a "
            "station with no capacity in the static model gives no end); allowed: an explicit "
            "--warmup, e.g. 2d"
        )
    return horizon_s, warmup_s


def check_workload(specs, args: argparse.Namespace, horizon_s: float, warmup_s: float | None):
    """Refuse, before any engine starts, a simulation of ``specs`` (a line, or a sweep's
    variants; ``warmup_s`` None: each its own) too large to run unasked
    (:func:`linesim.workload.check`, its message in flags); returns the estimate."""
    from linesim.simulation import engine_for
    from linesim.workload import check

    try:
        return check(
            specs,
            horizon_s,
            warmup_s,
            args.replications,
            args.workers,
            engine_for(getattr(args, "engine", "auto")),
            allow_large=args.allow_large,
        )
    except UsageError as exc:
        raise UsageError(_as_flags(str(exc))) from None


def _as_flags(text: str) -> str:
    """``text`` with the library's parameter names replaced by :data:`WORKLOAD_FLAGS`."""
    pattern = r"\b(" + "|".join(WORKLOAD_FLAGS) + r")\b"
    return re.sub(pattern, lambda m: WORKLOAD_FLAGS[m.group(1)], text)


#: Time a first build of the compiled engine takes [s]: 60.5 s of CPU measured on the standard
#: 2-core machine with the kernel's calls inlined, each function typed once (load average
#: 8–14, 2026-12-02; numba 0.68; ``benchmarks/bench_build.py``; 64.9 s by ``linesim build``).
#: ``--engine auto`` takes the SimPy engine (identical results) for a run it expects to end
#: sooner than that build alone.
BUILD_S = 60.0


#: Address space allowed to build the compiled engine: the build peaks at 0.35 GB resident and
#: completes under an address-space limit of 1.5 GiB (measured); twice that, for LLVM's growth.
BUILD_MEMORY_BYTES = 3 * 2**30


def build_memory_short() -> bool:
    """Whether this process's address-space limit is too small to build the compiled engine."""
    return _address_space_bytes() < BUILD_MEMORY_BYTES


def _address_space_bytes() -> float:
    """This process's address-space limit (``ulimit -v``) in bytes; infinite without one."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return math.inf if soft == resource.RLIM_INFINITY else float(soft)


def _build_in_background() -> bool:
    """Start building the compiled engine in a detached process at the lowest CPU priority:
    it takes only CPU nothing else wants, outlives this command and leaves the engine in
    numba's cache for the next run (a build already under way makes it exit at once).
    False if it could not be started."""
    import subprocess

    code = "import os; os.nice(19); from linesim.simulation.fast import build; build(wait=False)"
    try:
        subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # not stopped by this terminal's Ctrl-C
        )
    except OSError:
        return False
    return True


def _engine_now(spec, args: argparse.Namespace, horizon_s: float, warmup_s: float) -> str:
    """The engine ``--engine`` means for this run, saying so in one line on stderr when the
    compiled engine is not built yet: ``auto`` then takes the SimPy engine (identical results)
    for a run expected to end before a build would, and builds the compiled one in the
    background for the next run; a larger run builds it first (:func:`_build_fast`)."""
    engine = getattr(args, "engine", "auto")
    if engine != "auto":
        return engine
    from linesim.simulation.fast import is_compiled
    from linesim.workload import estimate

    if is_compiled():
        return engine
    work = estimate([spec], horizon_s, warmup_s, args.replications, args.workers, "simpy")
    if build_memory_short():
        sys.stderr.write(
            "linesim: the compiled engine is not built yet and this process's memory limit is "
            "too small to build it (about 1.5 GB of address space, once); this run takes the "
            "SimPy engine (identical results, slower)\n"
        )
        return "simpy"
    if work.seconds <= BUILD_S:
        later = (
            "; the compiled engine builds in the background for the next run"
            if _build_in_background()
            else ""
        )
        sys.stderr.write(
            "linesim: the compiled engine is not built yet (about a minute, once); this run "
            f"takes the SimPy engine (identical results, ~{work.seconds:.0f} s){later}\n"
        )
        return "simpy"
    return engine


def _build_fast(engine: str) -> None:
    """Build the compiled engine here, once, before the replications' workers are forked (they
    start with it instead of each building or loading it), saying so when it is not in numba's
    cache yet."""
    if engine != "fast":
        return
    from linesim.simulation import fast

    if not fast.is_compiled():
        sys.stderr.write(
            "linesim: building the compiled engine (once: about a minute of CPU and 0.5 GB of "
            "memory; `linesim build` after installing does it ahead) ...\n"
        )
    fast.build()


def simulate_from_args(spec, args: argparse.Namespace) -> list:
    """Replications of ``spec`` as the simulation flags in ``args`` ask (with a progress bar on
    a terminal); shared by ``run``, ``cost --simulate`` and ``compare --simulate``."""
    from linesim.experiments import replicate
    from linesim.simulation import engine_for

    if not getattr(args, "exposure", True):
        from linesim.variants import without_exposure

        spec = without_exposure(spec)
    horizon_s, warmup_s = simulation_window(spec, args)
    args.engine = _engine_now(spec, args, horizon_s, warmup_s)
    check_workload([spec], args, horizon_s, warmup_s)
    _build_fast(engine_for(args.engine))
    progress = progress_bar(args.replications) if sys.stderr.isatty() else None
    try:
        return replicate(
            spec,
            horizon_s,
            warmup_s,
            args.replications,
            args.seed,
            args.workers,
            progress=progress.update if progress else None,
            engine=getattr(args, "engine", "auto"),
        )
    finally:
        if progress:
            progress.close()


class progress_bar:
    """A rich progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, total: int):
        from rich.console import Console
        from rich.progress import Progress

        self._progress = Progress(transient=True, console=Console(file=sys.stderr))
        self._progress.start()
        self._task = self._progress.add_task("simulating", total=total)

    def update(self, done: float, total: int) -> None:
        """``done`` of ``total`` replications, counting the simulated share of running ones."""
        self._progress.update(self._task, completed=done, total=total)

    def close(self) -> None:
        self._progress.stop()


def print_json(doc: Any) -> None:
    """One JSON document on stdout (NaN and ±inf as null, numpy scalars as numbers)."""
    from linesim.summary import json_safe

    sys.stdout.write(json.dumps(json_safe(doc), indent=2, allow_nan=False, default=_plain) + "\n")


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):  # dates in a cost report
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
