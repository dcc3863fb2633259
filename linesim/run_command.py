"""``linesim run``: simulate with replications and present the result (CLI face only)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from linesim.errors import UsageError
from linesim.files import check_output_path, json_safe

__all__ = ["run_command", "simulate_from_args", "simulation_window", "write_results"]

_FORMATS = (".csv", ".json", ".parquet")


def _duration(text: str, flag: str) -> float:
    from linesim.units import parse_duration_s

    try:
        return parse_duration_s(text)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None


def simulation_window(spec, args: argparse.Namespace) -> tuple[float, float]:
    """(horizon, warm-up) [s] from ``--horizon`` and ``--warmup`` (``auto``: the line's own)."""
    from linesim.capacity import suggested_warmup_h

    horizon_s = _duration(args.horizon, "--horizon")
    if horizon_s <= 0:
        raise UsageError(f"--horizon: {args.horizon!r}; allowed: a duration > 0")
    if args.warmup == "auto":
        return horizon_s, suggested_warmup_h(spec) * 3600.0
    return horizon_s, _duration(args.warmup, "--warmup")


def simulate_from_args(spec, args: argparse.Namespace) -> list:
    """Replications of ``spec`` as the simulation flags in ``args`` ask (with a progress bar on
    a terminal); shared by ``run``, ``cost --simulate`` and ``compare --simulate``."""
    from linesim.experiments import replicate

    if not getattr(args, "exposure", True):
        from linesim.config import without_exposure

        spec = without_exposure(spec)
    horizon_s, warmup_s = simulation_window(spec, args)
    progress = _progress_bar(args.replications) if sys.stderr.isatty() else None
    try:
        return replicate(spec, horizon_s, warmup_s, args.replications, args.seed, args.workers,
                         progress=progress.update if progress else None,
                         engine=getattr(args, "engine", "auto"))
    finally:
        if progress:
            progress.close()


def run_command(args: argparse.Namespace) -> int:
    from linesim.config import load_line
    from linesim.experiments import summarise

    if args.out:
        check_output_path(args.out, _FORMATS, "--out")
    from linesim.kpis import replication_kpis
    from linesim.sweep_command import args_doc, store_from_args

    spec = load_line(args.config, args.overrides)
    results = simulate_from_args(spec, args)
    report = summarise(spec, results)
    store = store_from_args(args)
    if store:
        report["record_id"] = store.record(
            "run", spec, config_path=args.config, engine=report["engine"], seed=args.seed,
            args=args_doc(args), summary=report,
            rows=[{"replication": r.replication, "kpis": replication_kpis(r)} for r in results])
    if args.out:
        write_results(report, args.out)
    if args.json:
        sys.stdout.write(json.dumps(json_safe(report), indent=2, allow_nan=False) + "\n")
    else:
        sys.stdout.write(format_report(report) + "\n")
    return 0


class _progress_bar:
    """A rich progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, total: int):
        from rich.progress import Progress

        self._progress = Progress(transient=True, console=_stderr_console())
        self._progress.start()
        self._task = self._progress.add_task("simulating", total=total)

    def update(self, done: int, total: int) -> None:
        self._progress.update(self._task, completed=done, total=total)

    def close(self) -> None:
        self._progress.stop()


def _stderr_console():
    from rich.console import Console

    return Console(file=sys.stderr)


def _ci(e: dict, digits: int = 1, scale: float = 1.0) -> str:
    mean = e["mean"] * scale
    if e["ci95_low"] is None:
        return f"{mean:,.{digits}f}"
    half = (e["ci95_high"] - e["ci95_low"]) / 2 * scale
    return f"{mean:,.{digits}f} ± {half:,.{digits}f}"


def format_report(rep: dict) -> str:
    """The readable summary of a run report."""
    from linesim.report import text_table

    n = len(rep["replications"])
    y = rep["line_yield"]
    lines = [
        f"{rep['line']}: {n} replication(s) of {rep['horizon_h'] / 24:g} days after "
        f"{rep['warmup_h'] / 24:.3g} days warm-up ({rep['engine']} engine, seed {rep['seed']}; "
        "± = 95 % CI half-width)",
        "",
        f"  good output       {_ci(rep['throughput_cells_per_h'])} cells/h = "
        f"{_ci(rep['output_gwh_per_year'], 3)} GWh/yr",
        f"  line yield        simulated {_ci(y['simulated'], 4)}   analytic ∏(1 − p) "
        f"{y['analytic']:.4f}",
        "  yield gap         " + ", ".join(
            f"{name.replace('_', ' ')} {_ci(y['attribution'][name], 4)}"
            for name in ("exposure", "detection_delay", "sampling"))
        + " (add up to simulated − analytic; no rework modelled)",
        f"  line OEE          {_ci(rep['line_oee'], 3)}",
        f"  WIP / lead time   {_ci(rep['mean_wip_cells'], 0)} cells / "
        f"{_ci(rep['mean_lead_time_h'], 1)} h",
        f"  bottleneck        {rep['bottleneck']} ("
        + ", ".join(f"{k} {v:.0%}" for k, v in rep["bottleneck_shares"].items())
        + " of replications)",
        "",
    ]
    rows = []
    for s in rep["stations"]:
        rows.append((s["id"], s["machines"], s["utilisation"]["mean"], s["down"]["mean"],
                     s["blocked"]["mean"], s["starved"]["mean"], s["oee"]["mean"],
                     s["defect_rate"]["mean"], s["defect_probability"],
                     "◀" if s["id"] == rep["bottleneck"] else ""))
    lines.append(text_table(["station", "machines", "utilisation", "down", "blocked", "starved",
                             "OEE", "defect rate", "p (config)", "bottleneck"], rows,
                            "lrrrrrrrrl"))
    return "\n".join(lines)


def write_results(report: dict, path: str | os.PathLike) -> None:
    """Write a run report as .json (the whole report), .csv or .parquet (one row per station
    per KPI summary), whole or not at all (:func:`linesim.files.atomic_write`)."""
    from linesim.files import atomic_write

    suffix = Path(path).suffix.lower()

    def write(tmp: str) -> None:
        if suffix == ".json":
            Path(tmp).write_text(json.dumps(json_safe(report), indent=2, allow_nan=False)
                                 + "\n", encoding="utf-8")
        elif suffix == ".csv":
            results_frame(report).to_csv(tmp, index=False)
        else:
            results_frame(report).to_parquet(tmp, index=False)

    atomic_write(path, write)


def results_frame(report: dict):
    """A tidy table: one row per (scope, KPI) with mean and CI; scope is 'line' or a station."""
    import pandas as pd

    rows = []
    for key in ("throughput_cells_per_h", "output_gwh_per_year", "line_oee", "mean_wip_cells",
                "mean_lead_time_h"):
        rows.append({"scope": "line", "kpi": key, **report[key]})
    rows.append({"scope": "line", "kpi": "line_yield_simulated", **report["line_yield"]["simulated"]})
    rows.append({"scope": "line", "kpi": "line_yield_analytic",
                 "mean": report["line_yield"]["analytic"], "ci95_low": None, "ci95_high": None})
    for part, e in report["line_yield"]["attribution"].items():
        rows.append({"scope": "line", "kpi": f"yield_gap_{part}", **e})
    for s in report["stations"]:
        for key in ("utilisation", "blocked", "starved", "down", "oee", "defect_rate",
                    "exposure_defect_rate"):
            rows.append({"scope": s["id"], "kpi": key, **s[key]})
    frame = pd.DataFrame(rows, columns=["scope", "kpi", "mean", "ci95_low", "ci95_high"])
    frame.insert(0, "line", report["line"])
    return frame
