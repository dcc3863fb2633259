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
    warn_store_problems,
)
from linesim.errors import UsageError

__all__ = ["add_arguments", "run_command"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config(p)
    add_simulation(p)
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument(
        "--out",
        metavar="FILE",
        help="also write results to FILE (.csv, .json or .parquet), atomically; a .csv or "
        ".parquet FILE gets its replications (one row each) beside it, in FILE.replications.csv "
        "or .parquet",
    )
    add_store_arguments(p)


def run_command(args: argparse.Namespace) -> int:
    from linesim.config import load_line

    if args.out:
        from linesim.report.run import replications_path

        check_output_path(args.out, TABLE_FORMATS, "--out")
        if not args.out.lower().endswith(".json"):  # its replication table goes beside it
            check_output_path(str(replications_path(args.out)), TABLE_FORMATS, "--out")
    spec = load_line(args.config, args.overrides)
    results = simulate_from_args(spec, args)
    # imported once there is something to report: a refused argument or config answers in
    # about a second instead of after pandas and scipy.stats
    from linesim.kpis import replication_kpis
    from linesim.report.run import format_run, write_results
    from linesim.store import new_record_id
    from linesim.summary import summarise

    report = summarise(spec, results)
    store = store_from_args(args)
    # results first (--out, stdout), the store after: a store failure never costs them
    shown = report.with_record(new_record_id()) if store else report
    if args.out:
        try:  # the library names the path; the message names the flag too
            write_results(shown, args.out)
        except UsageError as exc:
            raise UsageError(f"--out: {exc}") from None
    if args.json:
        print_json(shown.to_dict())
    else:
        sys.stdout.write(format_run(shown) + "\n")
    if store:
        store.record(
            "run",
            spec,
            record_id=shown.record_id,
            config_path=args.config,
            engine=report.engine,
            seed=args.seed,
            args=args_doc(args),
            summary=report.to_dict(),
            rows=[{"replication": r.replication, "kpis": replication_kpis(r)} for r in results],
        )
        warn_store_problems(store)
    return EXIT_OK
