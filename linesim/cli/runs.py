"""``linesim runs``: the results store — list, show and compare records; and how every command
reports a store that could not take its record."""

from __future__ import annotations

import argparse
import json
import sys

from linesim.cli.options import EXIT_OK, positive_int
from linesim.errors import UsageError

__all__ = ["add_arguments", "runs_command"]


MAX_LIMIT = 1_000_000  #: records one listing shows: more is no listing a person reads
#: Kinds ``runs list`` leaves out unless ``--all``: the app's records of its long work while it
#: runs (ui/kept.py), which say what ran, not what it found (that is its run, sweep, …)
HIDDEN = ("ui_job",)


def _limit(text: str) -> int:
    value = positive_int(text)
    if value > MAX_LIMIT:
        raise argparse.ArgumentTypeError(
            f"{text[:40]!r}: allowed: a whole number from 1 to {MAX_LIMIT:,}"
        )
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="runs_command", required=True, metavar="{list,show,compare}")
    q = sub.add_parser("list", help="the latest records")
    q.add_argument(
        "--limit",
        type=_limit,
        default=50,
        metavar="N",
        help="at most N records, newest first (default 50)",
    )
    q.add_argument("--json", action="store_true")
    q.add_argument("--store", metavar="PATH")
    q.add_argument(
        "--all",
        action="store_true",
        help=f"also the what-if app's records of its long work ({', '.join(HIDDEN)}: "
        "running, complete, cancelled, failed, interrupted, rerun, dismissed), hidden by default",
    )
    q = sub.add_parser("show", help="one record: metadata, summary and rows")
    q.add_argument("id", help="record id (or a unique prefix)")
    q.add_argument("--json", action="store_true")
    q.add_argument("--store", metavar="PATH")
    q = sub.add_parser("compare", help="records side by side (KPI means over their rows)")
    q.add_argument("ids", nargs="+", metavar="ID")
    q.add_argument("--json", action="store_true")
    q.add_argument("--store", metavar="PATH")


def runs_command(args: argparse.Namespace) -> int:
    from linesim.report.runs import compare_records, format_record
    from linesim.store import Store, StoreError

    store = Store(args.store)
    try:
        if args.runs_command == "list":
            frame = store.list(args.limit, () if args.all else HIDDEN)
            if args.json:
                _write_json(frame.to_dict(orient="records"))
            else:
                shown = frame.astype(object).where(frame.notna(), "—")  # not "NaN" or "None"
                sys.stdout.write(
                    (shown.to_string(index=False) if len(frame) else f"no records in {store.path}")
                    + "\n"
                )
        elif args.runs_command == "show":
            rec = store.get(args.id)
            if args.json:
                _write_json(rec)
            else:
                sys.stdout.write(format_record(rec) + "\n")
        else:
            table = compare_records([store.get(i) for i in args.ids])
            if args.json:
                sys.stdout.write(table.to_json(orient="records", indent=2) + "\n")
            else:
                sys.stdout.write(table.to_string(index=False) + "\n")
    except KeyError as exc:
        raise UsageError(str(exc).strip("'\"")) from None
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    return EXIT_OK


def _write_json(doc) -> None:
    """``doc`` as JSON on stdout: times in ISO 8601, seeds as whole numbers of any size, a
    missing value (NaN in a listing's column) as null — strict JSON, which NaN is not."""
    from linesim.summary import json_safe

    sys.stdout.write(json.dumps(json_safe(doc), indent=2, allow_nan=False, default=_plain) + "\n")


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
