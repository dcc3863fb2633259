"""``linesim uncertainty``: P10/P50/P90, the chance of meeting targets, and what drives them."""

from __future__ import annotations

import argparse
import sys

from linesim.cli.options import (
    EXIT_OK,
    add_config,
    add_store_arguments,
    args_doc,
    check_output_path,
    check_workload,
    non_negative_int,
    positive_float,
    positive_int,
    seed,
    simulation_window,
    store_from_args,
    warn_store_problems,
    workers,
)
from linesim.errors import UsageError
from linesim.progress import Interrupted

__all__ = ["add_arguments", "uncertainty_command"]

#: Sobol (Saltelli) base samples on the static model unless --sobol says otherwise.
STATIC_SOBOL = 64


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config(p)
    p.add_argument(
        "--samples",
        type=positive_int,
        default=256,
        metavar="N",
        help="samples of the uncertain inputs (default 256; a power of two takes Sobol "
        "points, another count a Latin hypercube)",
    )
    p.add_argument(
        "--replications",
        type=positive_int,
        default=2,
        metavar="R",
        help="replications per simulated sample, on common random numbers (default 2; "
        "R ≥ 2 splits the variance into inputs and simulation noise)",
    )
    p.add_argument(
        "--static",
        action="store_true",
        help="evaluate each sample on the static model (seconds) instead of simulating it",
    )
    p.add_argument(
        "--target-gwh",
        type=positive_float,
        metavar="X",
        help="report P(good output ≥ X GWh/yr)",
    )
    p.add_argument(
        "--cost-target-cny-per-wh",
        type=positive_float,
        metavar="C",
        help="report P(cost per good Wh ≤ C CNY/Wh) (needs a cost: block)",
    )
    p.add_argument(
        "--sobol",
        type=non_negative_int,
        default=None,
        metavar="N",
        help="Sobol indices from a Saltelli design of N base samples (a power of two; "
        f"N × (inputs + 2) evaluations); default {STATIC_SOBOL} with --static, else 0 (off)",
    )
    p.add_argument("--seed", type=seed, default=1, metavar="S", help="seed (0 ≤ S < 2^63)")
    p.add_argument(
        "--workers",
        type=workers,
        default=None,
        metavar="K",
        help="processes for simulated samples (default: all cores)",
    )
    p.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="simulated samples on a local process pool or on Ray (RAY_ADDRESS, or a local "
        "Ray), as sweeps",
    )
    p.add_argument("--horizon", default="30d", help="simulated time per replication (30d)")
    p.add_argument("--warmup", default="auto", help="warm-up (default auto, as linesim run)")
    p.add_argument(
        "--engine",
        choices=("auto", "fast", "simpy"),
        default="auto",
        help="simulation engine (identical results)",
    )
    p.add_argument(
        "--allow-large",
        action="store_true",
        help="run even when the estimated simulation time or memory exceeds what linesim "
        "starts unasked",
    )
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument("--html", metavar="FILE", help="also write an HTML report with figures")
    p.add_argument(
        "--resume",
        metavar="RECORD",
        help="continue an interrupted study recorded in the results store (same config, "
        "samples, seed and model): its finished samples are not evaluated again",
    )
    add_store_arguments(p)


def uncertainty_command(args: argparse.Namespace) -> int:
    from linesim.bundled import resolve_config
    from linesim.config import apply_overrides, load_raw
    from linesim.report.uncertainty import format_uncertainty, write_uncertainty_html
    from linesim.simulation import engine_for
    from linesim.uncertainty import Targets, prepare, run_study
    from linesim.uncertainty.records import Recorder, inputs_doc, known_samples
    from linesim.uncertainty.sensitivity import sobol_indices, tornado

    if args.html:
        check_output_path(args.html, (".html",), "--html")
    if args.backend == "ray":
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            raise UsageError(
                "--backend ray: Ray is not installed; allowed: pip install "
                "'linesim[ray]', or --backend local"
            )
    path = resolve_config(args.config)
    prepared = prepare(apply_overrides(load_raw(path), args.overrides), path)
    horizon_s, warmup_s = (0.0, 0.0) if args.static else simulation_window(prepared.nominal, args)
    sobol = args.sobol if args.sobol is not None else (STATIC_SOBOL if args.static else 0)
    skipped = None
    if sobol and prepared.correlation is not None and args.sobol is None:
        sobol = 0  # the default for --static; asked for explicitly, sobol_indices refuses
        skipped = (
            "Sobol indices not computed: they assume independent inputs, and the config "
            "correlates some (correlations:)"
        )
    if sobol == 1 or (sobol and sobol & (sobol - 1)):
        raise UsageError(f"--sobol: {sobol}; allowed: 0 (off) or a power of two ≥ 2, e.g. 128")
    if not args.static:
        # Saltelli's design adds N × (d + 2) simulated samples to the study's own
        evaluations = args.samples + sobol * (len(prepared.inputs) + 2)
        check_workload([prepared.nominal] * evaluations, args, horizon_s, warmup_s)
    engine = "static" if args.static else engine_for(args.engine)
    store = store_from_args(args)
    known = {}
    rid = None
    if args.resume:
        if store is None:
            raise UsageError(
                "--resume: needs the results store; allowed: --resume without --no-store"
            )
        known = known_samples(store, args.resume, prepared, args)
        rid = args.resume
    elif store:
        rid = store.open_record(
            "uncertainty",
            prepared.nominal,
            config_path=args.config,
            engine=engine,
            seed=args.seed,
            args={**args_doc(args), "inputs": inputs_doc(prepared)},
        )
    recorder = Recorder(store, rid, prepared) if store and rid else None
    progress = _progress(args.samples) if sys.stderr.isatty() else None
    try:
        report = run_study(
            prepared,
            args.samples,
            seed=args.seed,
            targets=Targets(args.target_gwh, args.cost_target_cny_per_wh),
            static=args.static,
            replications=args.replications,
            horizon_s=horizon_s,
            warmup_s=warmup_s,
            engine=args.engine,
            workers=args.workers,
            progress=progress.update if progress else None,
            known=known,
            on_sample=recorder.add if recorder else None,
            backend=args.backend,
        )
        if recorder:
            recorder.flush()
        report.tornado = tornado(prepared)
        if skipped:
            report.warnings.append(skipped)
        if sobol:
            report.sensitivity = sobol_indices(
                prepared,
                sobol,
                seed=args.seed,
                static=args.static,
                replications=args.replications,
                horizon_s=horizon_s,
                warmup_s=warmup_s,
                engine=args.engine,
                workers=args.workers,
                backend=args.backend,
            )
    except KeyboardInterrupt as exc:
        if store:
            if rid and recorder:
                recorder.flush()
                store.close_record(rid, "interrupted")
                if isinstance(exc, Interrupted):
                    exc.kept = (
                        f"the finished samples kept in the store as record {rid} "
                        f"(continue with --resume {rid})"
                    )
            warn_store_problems(store)
        raise
    except Exception as exc:
        # a sample that is no valid line (ConfigError), a cost target without a cost block, a
        # failed worker: the record ends "failed", with its finished samples and the reason,
        # never left "running"
        if store:
            if rid and recorder:
                recorder.flush()
                store.close_record(rid, "failed", {"error": f"{type(exc).__name__}: {exc}"})
            warn_store_problems(store)
        raise
    finally:
        if progress:
            progress.close()
    report.record_id = rid
    doc = report.to_dict()
    # results first (--html, stdout), the store's last word after: a store failure never
    # costs them
    if args.html:
        write_uncertainty_html(report, args.html)
    if args.json:
        from linesim.cli.options import print_json

        print_json(doc)
    else:
        sys.stdout.write(format_uncertainty(report) + "\n")
    if store:
        if rid:
            doc.pop("sample_values")
            store.close_record(rid, "complete", doc)
        warn_store_problems(store)
    return EXIT_OK


class _progress:
    """A rich progress bar with the time remaining, on stderr (a terminal only)."""

    def __init__(self, total: int):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(
            TextColumn("samples"),
            BarColumn(),
            TextColumn("{task.completed:.0f}/{task.total}"),
            TimeRemainingColumn(),
            transient=True,
            console=Console(file=sys.stderr),
        )
        self._bar.start()
        self._task = self._bar.add_task("samples", total=total)

    def update(self, done: float, total: int) -> None:
        self._bar.update(self._task, completed=done, total=total)

    def close(self) -> None:
        self._bar.stop()
