"""``linesim sweep`` and ``linesim runs``: experiments and the results store (CLI faces only)."""

from __future__ import annotations

import argparse
import json
import signal
import sys

from linesim.errors import UsageError
from linesim.files import check_output_path

__all__ = ["add_store_arguments", "args_doc", "store_from_args", "sweep_command", "runs_command",
           "add_sweep_arguments", "add_runs_arguments"]

_FORMATS = (".csv", ".json", ".parquet")


def add_store_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", metavar="PATH", help="results store (DuckDB file; default "
                   "$LINESIM_STORE or linesim_runs.duckdb in the working directory)")
    p.add_argument("--no-store", action="store_true", help="do not record this in the store")


def store_from_args(args: argparse.Namespace):
    """The results store the command should record in, or None."""
    from linesim.store import Store

    return None if getattr(args, "no_store", False) else Store(getattr(args, "store", None))


def add_sweep_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--vary", action="append", default=[], metavar="PATH=LEVELS",
                   help="a factor: PATH=a..b, PATH=a..b:step or PATH=v1,v2,... (repeatable; "
                   "the full factorial is run)")
    p.add_argument("--design", metavar="CSV", help="variants from a CSV file instead: a header "
                   "of config paths, one variant per row")
    p.add_argument("--backend", choices=("local", "ray"), default="local",
                   help="local: a process pool on this machine; ray: a Ray cluster "
                   "(RAY_ADDRESS, or a local Ray)")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument("--out", metavar="FILE", help="also write the tidy table (one row per "
                   "variant × replication) to FILE (.csv, .json or .parquet), whole or not at all")
    add_store_arguments(p)


def add_runs_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="runs_command", required=True, metavar="{list,show,compare}")
    q = sub.add_parser("list", help="the latest records")
    q.add_argument("--limit", type=int, default=50)
    q.add_argument("--json", action="store_true")
    q.add_argument("--store", metavar="PATH")
    q = sub.add_parser("show", help="one record: metadata, summary and rows")
    q.add_argument("id", help="record id (or a unique prefix)")
    q.add_argument("--json", action="store_true")
    q.add_argument("--store", metavar="PATH")
    q = sub.add_parser("compare", help="records side by side (KPI means over their rows)")
    q.add_argument("ids", nargs="+", metavar="ID")
    q.add_argument("--json", action="store_true")
    q.add_argument("--store", metavar="PATH")


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: the store keeps what finished and says 'interrupted'."""


def _on_sigterm(signum, frame):  # pragma: no cover - exercised through a subprocess
    raise _Terminated()


def sweep_command(args: argparse.Namespace) -> int:
    from linesim.experiments import estimate
    from linesim.run_command import _progress_bar, simulation_window
    from linesim.sweep import build_variants, factorial, parse_vary, read_design, run_sweep, \
        sweep_frame

    if bool(args.vary) == bool(args.design):
        raise UsageError("sweep: give factors with --vary PATH=LEVELS (repeatable) or a design "
                         "with --design FILE.csv, not both and not neither")
    if args.out:
        check_output_path(args.out, _FORMATS, "--out")
    variants = read_design(args.design) if args.design else \
        factorial([parse_vary(v) for v in args.vary])
    specs = build_variants(args.config, args.overrides, variants)
    if not args.exposure:
        from linesim.config import without_exposure

        specs = [without_exposure(s) for s in specs]
    horizon_s, warmup_s = simulation_window(specs[0], args)
    if args.warmup == "auto":
        warmup_s = None  # each variant its own
    store = store_from_args(args)
    rid = None
    if store:
        from linesim.simulation import engine_for

        rid = store.open_record("sweep", specs[0], config_path=args.config,
                                engine=engine_for(args.engine), seed=args.seed,
                                args=args_doc(args))
    progress = _progress_bar(len(specs) * args.replications) if sys.stderr.isatty() else None
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        rows = run_sweep(
            specs, horizon_s, warmup_s, args.replications, args.seed, engine=args.engine,
            backend=args.backend, workers=args.workers,
            progress=progress.update if progress else None,
            on_variant=(lambda k, rs: store.add_rows(rid, [
                {**r, "params": variants[k]} for r in rs])) if store else None)
    except KeyboardInterrupt:
        if store:
            store.close_record(rid, "interrupted")
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        if progress:
            progress.close()
    frame = sweep_frame(variants, rows)
    summary = []
    for k, variant in enumerate(variants):
        part = frame[frame["variant"] == k]
        summary.append({"variant": k, "params": variant, **{
            key: estimate(part[key].tolist()).to_dict()
            for key in ("output_gwh_per_year", "good_cells_per_h", "simulated_line_yield",
                        "line_oee")}, "bottleneck": part["bottleneck"].mode().iat[0]})
    if store:
        store.close_record(rid, "complete", summary)
    if args.out:
        _write_frame(frame, args.out)
    if args.json:
        doc = {"record_id": rid, "line": specs[0].name, "engine": rows[0]["engine"],
               "backend": args.backend, "replications": args.replications, "seed": args.seed,
               "variants": summary, "rows": json.loads(frame.to_json(orient="records"))}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        sys.stdout.write(_format_sweep(specs[0].name, summary, args, rid) + "\n")
    return 0


def args_doc(args: argparse.Namespace) -> dict:
    """A command's arguments as plain data, for the store."""
    return {k: v for k, v in vars(args).items() if not callable(v)}


def _write_frame(frame, path) -> None:
    from pathlib import Path

    from linesim.files import atomic_write

    suffix = Path(path).suffix.lower()
    writers = {".csv": lambda t: frame.to_csv(t, index=False),
               ".json": lambda t: frame.to_json(t, orient="records", indent=2),
               ".parquet": lambda t: frame.to_parquet(t, index=False)}
    atomic_write(path, writers[suffix])


def _format_sweep(line: str, summary: list[dict], args, rid) -> str:
    from linesim.report import text_table
    from linesim.run_command import _ci

    paths = list(summary[0]["params"])
    rows = [(s["variant"], *s["params"].values(), _ci(s["output_gwh_per_year"], 3),
             _ci(s["good_cells_per_h"], 1), _ci(s["simulated_line_yield"], 4), s["bottleneck"])
            for s in summary]
    head = (f"{line}: {len(summary)} variant(s) × {args.replications} replication(s), common "
            f"random numbers, seed {args.seed}, {args.backend} backend (± = 95 % CI half-width)")
    table = text_table(["variant", *paths, "output GWh/yr", "good cells/h", "yield",
                        "bottleneck"], rows, "r" + "r" * len(paths) + "rrrl")
    tail = f"\nrecorded as {rid} in the results store" if rid else ""
    return f"{head}\n\n{table}{tail}"


def runs_command(args: argparse.Namespace) -> int:
    from linesim.store import Store

    store = Store(args.store)
    try:
        if args.runs_command == "list":
            frame = store.list(args.limit)
            if args.json:
                sys.stdout.write(frame.to_json(orient="records", date_format="iso", indent=2) + "\n")
            else:
                sys.stdout.write((frame.to_string(index=False) if len(frame) else
                                  f"no records in {store.path}") + "\n")
        elif args.runs_command == "show":
            rec = store.get(args.id)
            if args.json:
                sys.stdout.write(json.dumps(rec, indent=2, default=str) + "\n")
            else:
                sys.stdout.write(_format_record(rec) + "\n")
        else:
            table = compare_records([store.get(i) for i in args.ids])
            if args.json:
                sys.stdout.write(table.to_json(orient="records", indent=2) + "\n")
            else:
                sys.stdout.write(table.to_string(index=False) + "\n")
    except (FileNotFoundError, KeyError) as exc:
        raise UsageError(str(exc).strip("'\"")) from None
    return 0


def compare_records(records: list[dict]):
    """KPI means of records side by side, one column per record (and variant, for sweeps)."""
    import pandas as pd

    columns = {}
    for rec in records:
        frame = pd.DataFrame(rec["rows"])
        if frame.empty:
            continue
        numeric = frame.select_dtypes("number").drop(columns=["variant", "replication", "seed"],
                                                     errors="ignore")
        for k, part in numeric.groupby(frame["variant"]):
            name = rec["id"] if frame["variant"].nunique() == 1 else f"{rec['id']}/v{k}"
            columns[name] = part.mean()
    out = pd.DataFrame(columns)
    out.insert(0, "kpi", out.index)
    return out.reset_index(drop=True)


def _format_record(rec: dict) -> str:
    import pandas as pd

    head = [f"{rec['id']}: {rec['kind']} of {rec['line']} ({rec['status']})",
            f"  created   {rec['created_at']} UTC, linesim {rec['version']}, engine "
            f"{rec['engine']}, seed {rec['seed']}",
            f"  config    {rec['config_path']}  sha256 {rec['config_hash'][:16]}…",
            f"  rows      {len(rec['rows'])}", ""]
    rows = pd.DataFrame(rec["rows"])
    return "\n".join(head) + (rows.to_string(index=False) if len(rows) else "")
