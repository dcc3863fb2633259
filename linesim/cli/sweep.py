"""``linesim sweep``: variants × replications with common random numbers, a tidy table out."""

from __future__ import annotations

import argparse
import json
import sys

from linesim.cli.options import (
    EXIT_OK,
    TABLE_FORMATS,
    add_config,
    add_simulation,
    add_store_arguments,
    args_doc,
    check_output_path,
    check_workload,
    progress_bar,
    simulation_window,
    store_from_args,
    warn_store_problems,
)
from linesim.errors import UsageError
from linesim.progress import Interrupted

__all__ = ["add_arguments", "sweep_command"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config(p)
    add_simulation(p)
    p.add_argument(
        "--vary",
        action="append",
        default=[],
        metavar="PATH=LEVELS",
        help="a factor: PATH=a..b, PATH=a..b:step or PATH=v1,v2,... (repeatable; "
        "the full factorial is run)",
    )
    p.add_argument(
        "--design",
        metavar="CSV",
        help="variants from a CSV file instead: a header of config paths, one variant per row",
    )
    p.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="local: a process pool on this machine; ray: a Ray cluster "
        "(RAY_ADDRESS, or a local Ray)",
    )
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument(
        "--out",
        metavar="FILE",
        help="also write the tidy table (one row per "
        "variant × replication) to FILE (.csv, .json or .parquet), whole or not at all",
    )
    add_store_arguments(p)


def sweep_command(args: argparse.Namespace) -> int:
    from linesim.sweep import (
        build_variants,
        factorial,
        parse_vary,
        read_design,
        run_sweep,
        summarise_variants,
        sweep_frame,
    )

    if bool(args.vary) == bool(args.design):
        raise UsageError(
            "sweep: give factors with --vary PATH=LEVELS (repeatable) or a design "
            "with --design FILE.csv, not both and not neither"
        )
    if args.out:
        check_output_path(args.out, TABLE_FORMATS, "--out")
    if args.backend == "ray":
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            raise UsageError(
                "--backend ray: Ray is not installed; allowed: pip install "
                "'linesim[ray]', or --backend local"
            )
    try:  # the library names the factor or the design; the message names the flag too
        variants = (
            read_design(args.design)
            if args.design
            else factorial([parse_vary(v) for v in args.vary])
        )
    except UsageError as exc:
        raise UsageError(f"{'--design' if args.design else '--vary'}: {exc}") from None
    specs = build_variants(args.config, args.overrides, variants)
    if not args.exposure:
        from linesim.variants import without_exposure

        specs = [without_exposure(s) for s in specs]
    horizon_s, first_warmup_s = simulation_window(specs[0], args)
    # with --warmup auto, each variant its own (None)
    warmup_s = None if args.warmup == "auto" else first_warmup_s
    check_workload(specs, args, horizon_s, warmup_s)
    store = store_from_args(args)
    rid = _open_record(store, specs[0], args) if store else None
    progress = progress_bar(len(specs) * args.replications) if sys.stderr.isatty() else None
    try:
        rows = run_sweep(
            specs,
            horizon_s,
            warmup_s,
            args.replications,
            args.seed,
            engine=args.engine,
            backend=args.backend,
            workers=args.workers,
            progress=progress.update if progress else None,
            on_variant=(
                lambda k, rs: store.add_rows(rid, [{**r, "params": variants[k]} for r in rs])
            )
            if store and rid
            else None,
        )
    except KeyboardInterrupt as exc:
        if store:
            if rid:
                store.close_record(rid, "interrupted")
                if isinstance(exc, Interrupted):  # the line linesim prints says so
                    exc.kept = f"the finished variants kept in the store as record {rid}"
            warn_store_problems(store)
        raise
    finally:
        if progress:
            progress.close()
    from linesim.report.sweep import format_sweep, write_frame  # pandas, scipy: once needed

    frame = sweep_frame(variants, rows)
    summary = summarise_variants(variants, frame)
    # results first (--out, stdout), the store's last word after: a store failure never
    # costs them
    if args.out:
        try:  # the library names the path; the message names the flag too
            write_frame(frame, args.out)
        except UsageError as exc:
            raise UsageError(f"--out: {exc}") from None
    if args.json:
        doc = {
            "record_id": rid,
            "line": specs[0].name,
            "engine": rows[0]["engine"],
            "backend": args.backend,
            "replications": args.replications,
            "seed": args.seed,
            "variants": [v.to_dict() for v in summary],
            "rows": json.loads(frame.to_json(orient="records")),
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        sys.stdout.write(
            format_sweep(specs[0].name, summary, args.replications, args.seed, args.backend, rid)
            + "\n"
        )
    if store:
        if rid:
            store.close_record(rid, "complete", [v.to_dict() for v in summary])
        warn_store_problems(store)
    return EXIT_OK


def _open_record(store, spec, args: argparse.Namespace) -> str | None:
    """The sweep's record, opened ``running`` before any variant runs (None: not kept)."""
    from linesim.simulation import engine_for

    return store.open_record(
        "sweep",
        spec,
        config_path=args.config,
        engine=engine_for(args.engine),
        seed=args.seed,
        args=args_doc(args),
    )
