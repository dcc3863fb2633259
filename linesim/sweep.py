"""Experiments at scale: variants of a line × replications, on a process pool or on Ray.

A sweep takes factors (``stations.stacking.machines=2..6``, ``...cycle_time_s=600,900,1200``),
builds the full factorial of their levels — or reads a design, one variant per row — validates
every variant before anything runs, and simulates each with N replications.

**Common random numbers**: replication r of every variant draws from the same generator
(:func:`linesim.experiments.replication_rng`), and the engines key their streams by station,
option and purpose, so variants differ by their settings, not by their luck: differences between
variants have much smaller variance than the KPIs themselves.

Backends run the same task function: ``local`` on a process pool (all cores by default),
``ray`` on a Ray cluster (``RAY_ADDRESS``, or a local Ray started for the sweep). Rows come
back in any order and are returned sorted, so results do not depend on the backend or the
worker count.
"""

from __future__ import annotations

import csv
import itertools
import math
import os
import signal
import stat
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from linesim.config import parse_override
from linesim.errors import UsageError
from linesim.experiments import engine_before_fork, run_tasks, simulate_replication
from linesim.progress import Interrupted
from linesim.summary import VariantSummary, estimate

__all__ = [
    "Factor",
    "parse_vary",
    "factorial",
    "read_design",
    "build_variants",
    "variant_specs",
    "run_sweep",
    "summarise_variants",
    "sweep_frame",
    "BACKENDS",
    "run_ray_tasks",
]

BACKENDS = ("local", "ray")


@dataclass(frozen=True)
class Factor:
    """One varied field: a dotted config path and its levels (as written, for ``--set``)."""

    path: str
    levels: tuple[str, ...]


_MAX_LEVELS = 10_000  #: levels of one factor
_MAX_VARIANTS = 10_000  #: variants of a full factorial or a design
_MAX_DESIGN_BYTES = 10 * 2**20  #: a design of 10,000 variants in 1 KiB rows
_MAX_MAGNITUDE = Decimal("1e15")  #: largest magnitude of a range's ends and step
_MAX_DECIMALS = 15  #: most decimal places of a range's ends and step
_SHOWN = 60  #: characters of a factor shown in a message


def _shown(text: str) -> str:
    """``text`` quoted for a message, cut to :data:`_SHOWN` characters."""
    return repr(text) if len(text) <= _SHOWN else repr(text[:_SHOWN]) + "…"


def _number(text: str, where: str) -> Decimal:
    """A range's end or step: a finite Decimal of magnitude ≤ :data:`_MAX_MAGNITUDE` with at
    most :data:`_MAX_DECIMALS` decimal places (so that levels print in plain notation)."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise UsageError(
            f"{where}: {_shown(text)} is not a number; allowed: a..b, a..b:step or a "
            "comma-separated list"
        ) from None
    if (
        not value.is_finite()
        or value.copy_abs() > _MAX_MAGNITUDE
        or int(value.as_tuple().exponent) < -_MAX_DECIMALS
    ):
        raise UsageError(
            f"{where}: the range value {_shown(text.strip())} is out of bounds; allowed: "
            f"finite numbers of magnitude at most 1e15 with at most {_MAX_DECIMALS} decimals"
        )
    return value


def _range_levels(spec: str, where: str) -> tuple[str, ...]:
    """The levels of ``a..b`` or ``a..b:step`` (a, a + step, ... up to b)."""
    lo_text, _, rest = spec.partition("..")
    hi_text, _, step_text = rest.partition(":")
    lo, hi = _number(lo_text, where), _number(hi_text, where)
    step = _number(step_text, where) if step_text else Decimal(1)
    if step <= 0 or hi < lo:
        raise UsageError(f"{where}: empty range; allowed: a ≤ b and a step > 0")
    # compared before dividing: a tiny step would overflow the quotient
    if hi - lo > step * (_MAX_LEVELS - 1):
        raise UsageError(
            f"{where}: more than {_MAX_LEVELS:,} levels; allowed: at most {_MAX_LEVELS:,} "
            "(a larger step or a shorter range)"
        )
    return tuple(format(lo + k * step, "f") for k in range(int((hi - lo) / step) + 1))


def parse_vary(text: str) -> Factor:
    """``PATH=a..b`` (integers a to b), ``PATH=a..b:step`` or ``PATH=v1,v2,...``.

    Raises :class:`UsageError` naming the factor and what is allowed for a missing part, a
    value that is not a finite number (NaN, inf) or larger than 1e15 in a range, an empty
    range or level, or more than 10,000 levels.
    """
    where = f"factor {_shown(text)}"  # errors name the factor; the CLI adds its flag
    path, sep, spec = text.partition("=")
    if not sep or not path.strip() or not spec.strip():
        raise UsageError(
            f"{where}; allowed: PATH=a..b, PATH=a..b:step or "
            "PATH=v1,v2,... (e.g. stations.stacking.machines=2..6)"
        )
    if ".." in spec:
        levels = _range_levels(spec, where)
    else:
        levels = tuple(v.strip() for v in spec.split(","))
        if any(not v for v in levels):
            raise UsageError(f"{where}: an empty level; allowed: v1,v2,... with no empty entry")
        if len(levels) > _MAX_LEVELS:
            raise UsageError(f"{where}: {len(levels):,} levels; allowed: at most {_MAX_LEVELS:,}")
    return Factor(path.strip(), levels)


def factorial(factors: Sequence[Factor]) -> list[dict[str, str]]:
    """Every combination of the factors' levels, the last factor varying fastest (at most
    10,000 combinations)."""
    paths = [f.path for f in factors]
    if len(set(paths)) != len(paths):
        raise UsageError(
            "the same path is varied by two factors: "
            + ", ".join(sorted({p for p in paths if paths.count(p) > 1}))
        )
    count = math.prod(len(f.levels) for f in factors)
    if count > _MAX_VARIANTS:
        raise UsageError(
            f"{count:,} variants ("
            + " × ".join(f"{len(f.levels):,}" for f in factors)
            + f" levels); allowed: at most {_MAX_VARIANTS:,} (fewer levels, or a design "
            "of chosen variants)"
        )
    return [dict(zip(paths, combo)) for combo in itertools.product(*(f.levels for f in factors))]


def read_design(path: str | os.PathLike) -> list[dict[str, str]]:
    """A design as a CSV file: a header of config paths, one variant per row."""
    import pandas as pd

    try:
        info = os.stat(path)
    except OSError as exc:
        raise UsageError(f"cannot read the design {str(path)[:60]!r}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(
            f"the design {str(path)[:60]!r} is no regular file (a folder, pipe or device); "
            "allowed: a CSV file"
        )
    if info.st_size > _MAX_DESIGN_BYTES:
        raise UsageError(
            f"the design {str(path)[:60]!r} has {info.st_size:,} bytes; allowed: a CSV file of "
            f"at most {_MAX_DESIGN_BYTES:,} bytes (the sweep takes at most {_MAX_VARIANTS:,} "
            "variants)"
        )
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        with open(path, newline="", encoding="utf-8") as stream:
            header = next(csv.reader(stream), [])
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the design {str(path)[:60]!r}: {exc}") from None
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise UsageError(
            f"the design {str(path)[:60]!r} names {repeated[0][:60]!r} in more than one column; "
            "allowed: each config path in one column"
        )
    if frame.empty or frame.columns.empty:
        raise UsageError(
            f"the design {str(path)!r} has no variants; allowed: a CSV with a "
            "header of config paths and one variant per row"
        )
    if len(frame) > _MAX_VARIANTS:
        raise UsageError(
            f"the design {str(path)[:60]!r} has {len(frame):,} variants; allowed: at most "
            f"{_MAX_VARIANTS:,}"
        )
    return [{str(k): str(v) for k, v in row.items()} for row in frame.to_dict("records")]


def build_variants(
    config: str | os.PathLike, overrides: Sequence[str], variants: Sequence[Mapping[str, str]]
) -> list:
    """The validated spec of every variant (a bad one fails before anything runs).

    The config is read and parsed once, not once per variant: parsing was two thirds of the
    time to build a variant, all of it in the parent before the pool starts (issue 18).
    """
    from linesim.bundled import resolve_config
    from linesim.config import apply_overrides, line_from_dict, load_raw

    path = resolve_config(Path(config))
    raw = load_raw(path)
    return variant_specs(
        variants, lambda sets: line_from_dict(apply_overrides(raw, [*overrides, *sets]), path)
    )


def variant_specs(variants: Sequence[Mapping[str, str]], load: Callable[[list[str]], Any]) -> list:
    """``load(sets)`` of every variant's ``PATH=value`` settings, in order; a bad variant's
    ConfigError names the variant (its index and settings)."""
    from linesim.errors import ConfigError

    specs = []
    for k, variant in enumerate(variants):
        sets = [f"{p}={v}" for p, v in variant.items()]
        try:
            specs.append(load(sets))
        except ConfigError as exc:
            raise ConfigError(
                exc.file,
                exc.path,
                f"{exc.problem} (variant {k}: {', '.join(sets)})",
                exc.value,
                exc.allowed,
                exc.more,
            ) from None
    return specs


def _task(args: tuple, on_fraction: Callable[[float], None] | None) -> tuple[int, int, dict]:
    """One replication of one variant (runs in a worker)."""
    from linesim.kpis import replication_kpis

    variant, spec, horizon_s, warmup_s, seed, r, engine = args
    res = simulate_replication((spec, horizon_s, warmup_s, seed, r, engine), on_fraction)
    return variant, r, replication_kpis(res)


def _python_handlers() -> dict:
    """The Python handlers of SIGINT and SIGTERM (none outside the main thread, where they
    cannot be set)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    return {s: h for s, h in handlers.items() if h is not None}


def run_ray_tasks(
    work: Callable, tasks: list, workers: int | None, done: Callable, progress: Callable | None
) -> None:
    """``work(task, None)`` for every task on Ray (``RAY_ADDRESS``, or a local Ray of
    ``workers`` CPUs), ``done(result)`` as each finishes, as sweeps run theirs."""
    _run_ray(tasks, workers, done, progress, work)


def _run_ray(
    tasks: list,
    workers: int | None,
    done: Callable,
    progress: Callable | None,
    work: Callable | None = None,
) -> None:
    try:
        import ray
    except ImportError:
        raise UsageError(
            "backend 'ray': Ray is not installed; allowed: pip install "
            "'linesim[ray]', or backend 'local'"
        ) from None
    started_here = not ray.is_initialized()
    if started_here:
        address = os.environ.get("RAY_ADDRESS")
        kwargs = {"address": address} if address else {"num_cpus": workers or os.cpu_count()}
        ours = _python_handlers()
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False, **kwargs)
        # Ray puts a SIGTERM handler of its own in place (a crash report, then abort); ours
        # stops the sweep and says what was kept
        for signum, handler in ours.items():
            signal.signal(signum, handler)
    pending: list = []
    try:
        remote = ray.remote(work or _task)
        pending = [remote.remote(t, None) for t in tasks]
        while pending:
            finished, pending = ray.wait(pending, num_returns=1)
            done(ray.get(finished[0]))
            if progress:
                progress(len(tasks) - len(pending), len(tasks))
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    finally:
        if started_here:
            ray.shutdown()


def run_sweep(
    specs: Sequence,
    horizon_s: float,
    warmup_s: float | None,
    replications: int,
    seed: int = 1,
    *,
    engine: str = "auto",
    backend: str = "local",
    workers: int | None = None,
    progress: Callable[[float, int], None] | None = None,
    on_variant: Callable[[int, list[dict]], None] | None = None,
) -> list[dict]:
    """Simulate every variant ``replications`` times; rows ``{variant, replication, kpis}``.

    ``warmup_s=None`` takes each variant's suggested warm-up. ``on_variant(k, rows)`` is called
    as soon as all replications of variant k are in (the store records it then).
    ``progress(done, total)`` reports replications done, counting the simulated fraction of
    running ones on the local backend (``done`` = 12.4 of ``total`` = 30).

    Raises
    ------
    Interrupted
        On Ctrl-C or SIGTERM, once the workers are gone, saying how many variants (and
        replications) had finished; its ``kept`` is left for the caller of ``on_variant`` to
        say what it kept.
    """
    from linesim.capacity import suggested_warmup_h
    from linesim.simulation import engine_for

    if backend not in BACKENDS:
        raise UsageError(f"backend {backend!r}; allowed: {', '.join(BACKENDS)}")
    engine = engine_for(engine)
    tasks = [
        (
            k,
            spec,
            horizon_s,
            suggested_warmup_h(spec) * 3600.0 if warmup_s is None else warmup_s,
            seed,
            r,
            engine,
        )
        for k, spec in enumerate(specs)
        for r in range(replications)
    ]
    rows: list[dict] = []
    by_variant: dict[int, list[dict]] = {}

    def done(result: tuple[int, int, dict]) -> None:
        k, r, kpis = result
        row = {"variant": k, "replication": r, "seed": seed, "engine": engine, "kpis": kpis}
        rows.append(row)
        by_variant.setdefault(k, []).append(row)
        if on_variant and len(by_variant[k]) == replications:
            on_variant(k, sorted(by_variant[k], key=lambda x: x["replication"]))

    workers = min(workers or os.cpu_count() or 1, len(tasks))
    try:
        if backend == "ray":
            _run_ray(tasks, workers, done, progress)
        else:
            engine_before_fork(engine, workers)
            run_tasks(_task, tasks, workers, lambda _, result: done(result), progress)
    except KeyboardInterrupt:
        whole = sum(len(rs) == replications for rs in by_variant.values())
        raise Interrupted(
            f"{whole} of {len(specs)} variants finished ({len(rows)} of {len(tasks)} replications)",
            kept="" if on_variant else "nothing recorded",
        ) from None
    return sorted(rows, key=lambda x: (x["variant"], x["replication"]))


def summarise_variants(variants: Sequence[Mapping[str, str]], frame) -> list[VariantSummary]:
    """Each variant's KPIs as mean and 95 % CI over its replications (``frame``: the tidy table
    of :func:`sweep_frame`)."""
    out = []
    for k, variant in enumerate(variants):
        part = frame[frame["variant"] == k]
        out.append(
            VariantSummary(
                variant=k,
                params=dict(variant),
                **{key: estimate(part[key].tolist()) for key in VariantSummary.KPIS},
                bottleneck=part["bottleneck"].mode().iat[0],
            )
        )
    return out


def sweep_frame(variants: Sequence[Mapping[str, str]], rows: Sequence[dict]):
    """The tidy table: one row per variant × replication, varied paths as columns."""
    import pandas as pd

    records = []
    for row in rows:
        params = {p: parse_override(f"{p}={v}")[1] for p, v in variants[row["variant"]].items()}
        records.append(
            {
                "variant": row["variant"],
                **params,
                "replication": row["replication"],
                "seed": row["seed"],
                "engine": row["engine"],
                **row["kpis"],
            }
        )
    return pd.DataFrame.from_records(records)
