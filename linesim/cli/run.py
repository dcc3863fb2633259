"""``linesim run``: simulate with replications and present the result."""

from __future__ import annotations

import argparse
import sys

from linesim.cli.options import (
    EXIT_OK,
    TABLE_FORMATS,
    add_config,
    add_simulation,
    add_store_arguments,
    args_doc,
    check_output_path,
    print_json,
    simulate_from_args,
    store_from_args,
)

__all__ = ["add_arguments", "run_command"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config(p)
    add_simulation(p)
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument(
        "--out",
        metavar="FILE",
        help="also write results to FILE (.csv, .json or .parquet), atomically",
    )
    add_store_arguments(p)


def run_command(args: argparse.Namespace) -> int:
    from linesim.config import load_line
    from linesim.kpis import replication_kpis
    from linesim.report.run import format_run, write_results
    from linesim.summary import summarise

    if args.out:
        check_output_path(args.out, TABLE_FORMATS, "--out")
    spec = load_line(args.config, args.overrides)
    results = simulate_from_args(spec, args)
    report = summarise(spec, results)
    store = store_from_args(args)
    if store:
        report = report.with_record(
            store.record(
                "run",
                spec,
                config_path=args.config,
                engine=report.engine,
                seed=args.seed,
                args=args_doc(args),
                summary=report.to_dict(),
                rows=[{"replication": r.replication, "kpis": replication_kpis(r)} for r in results],
            )
        )
    if args.out:
        write_results(report, args.out)
    if args.json:
        print_json(report.to_dict())
    else:
        sys.stdout.write(format_run(report) + "\n")
    return EXIT_OK
