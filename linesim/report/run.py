"""A run summary presented: the readable report, a tidy frame, and files written whole."""

from __future__ import annotations

import json
import os
from functools import partial
from pathlib import Path

import pandas as pd

from linesim.kpis import LOSS_GROUPS
from linesim.report.files import atomic_write
from linesim.report.tables import ci_text, number, text_table
from linesim.summary import Estimate, LossTree, RunSummary, json_safe

__all__ = [
    "format_run",
    "format_losses",
    "replications_frame",
    "replications_path",
    "results_frame",
    "write_results",
]

#: Line KPIs of the tidy frame, in order.
_LINE_KPIS = (
    "throughput_cells_per_h",
    "output_gwh_per_year",
    "line_oee",
    "mean_wip_cells",
    "mean_lead_time_h",
)
#: Station KPIs of the tidy frame, in order.
_STATION_KPIS = (
    "utilisation",
    "blocked",
    "starved",
    "down",
    "oee",
    "defect_rate",
    "exposure_defect_rate",
)


def format_run(rep: RunSummary) -> str:
    """The readable summary of a run."""
    y = rep.line_yield
    shares = ", ".join(f"{k} {v:.0%}" for k, v in rep.bottleneck_shares.items())
    lines = [
        f"{rep.line}: {len(rep.replications)} replication(s) of {rep.horizon_h / 24:g} days after "
        f"{rep.warmup_h / 24:.3g} days warm-up ({rep.engine} engine, seed {rep.seed}; "
        "± = 95 % CI half-width)",
        "",
        f"  good output       {ci_text(rep.throughput_cells_per_h)} cells/h = "
        f"{ci_text(rep.output_gwh_per_year, 3)} GWh/yr",
        f"  line yield        simulated {ci_text(y.simulated, 4)}   analytic ∏(1 − p) "
        f"{number(y.analytic, '.4f')}",
        "  yield gap         "
        + ", ".join(
            f"{name.replace('_', ' ')} {ci_text(getattr(y.attribution, name), 4)}"
            for name in ("exposure", "detection_delay", "startup_scrap", "inspection", "sampling")
        )
        + " (add up to simulated − analytic)",
        f"  line OEE          {ci_text(rep.line_oee, 3)}"
        + (
            f" = availability {number(rep.losses.availability.mean)} × performance "
            f"{number(rep.losses.performance.mean)} × quality {number(rep.losses.quality.mean)}"
            if rep.losses
            else ""
        ),
        f"  WIP / lead time   {ci_text(rep.mean_wip_cells, 0)} cells / "
        f"{ci_text(rep.mean_lead_time_h, 1)} h",
        f"  bottleneck        {rep.bottleneck} ({shares} of replications)",
        *(f"  warning: {w}" for w in rep.warnings),
        "",
    ]
    rows = [
        (
            s.id,
            s.machines,
            s.utilisation.mean,
            s.down.mean,
            s.blocked.mean,
            s.starved.mean,
            s.oee.mean,
            s.defect_rate.mean,
            s.defect_probability,
            "◀" if s.id == rep.bottleneck else "",
        )
        for s in rep.stations
    ]
    lines.append(
        text_table(
            [
                "station",
                "machines",
                "utilisation",
                "down",
                "blocked",
                "starved",
                "OEE",
                "defect rate",
                "p (config)",
                "bottleneck",
            ],
            rows,
            "lrrrrrrrrl",
        )
    )
    if rep.losses is not None:
        scope = f"line (hours of {rep.losses.station}, the nameplate bottleneck)"
        lines += ["", format_losses(rep.losses, scope)]
    return "\n".join(lines)


def format_losses(tree: LossTree, scope: str) -> str:
    """A loss tree as a waterfall table: calendar time, each loss, good output."""
    total = tree.calendar_h
    rows: list[tuple] = [("calendar time", "", total, total * tree.ideal_cells_per_h, 1.0)]
    for name, hours in tree.hours.items():
        if hours.mean == 0.0:
            continue
        cells = tree.cells[name].mean
        rows.append(
            (
                f"  − {name.replace('_', ' ')}",
                LOSS_GROUPS[name],
                hours.mean,
                cells,
                hours.mean / total,
            )
        )
    good = tree.good_h.mean
    rows.append(("= good output", "", good, good * tree.ideal_cells_per_h, good / total))
    head = (
        f"OEE loss tree, {scope}: planned production "
        f"{number(tree.planned_production_h.mean, ',.1f')} h of {number(total, ',.1f')} h; "
        f"OEE {ci_text(tree.oee, 3)}"
    )
    return (
        head
        + "\n"
        + text_table(["", "factor", "hours", "cells (ideal rate)", "share"], rows, "llrrr")
    )


def replications_path(path: str | os.PathLike) -> Path:
    """Where a .csv or .parquet ``--out`` puts its replication table: ``r.parquet`` →
    ``r.replications.parquet``."""
    p = Path(path)
    return p.with_name(f"{p.stem}.replications{p.suffix}")


def write_results(report: RunSummary, path: str | os.PathLike) -> None:
    """Write a run summary as .json (the whole document, its ``replications`` included), or as
    .csv or .parquet: the KPI summaries (one row per scope per KPI) to ``path`` and the
    replications (one row each, :func:`replications_frame`) to :func:`replications_path`; each
    file whole or not at all (:func:`linesim.report.files.atomic_write`)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".json":
        atomic_write(
            path,
            lambda tmp: Path(tmp).write_text(
                json.dumps(json_safe(report.to_dict()), indent=2, allow_nan=False) + "\n",
                encoding="utf-8",
            ),
        )
        return
    for target, frame in (
        (replications_path(path), replications_frame(report)),
        (path, results_frame(report)),
    ):
        atomic_write(target, partial(_write_frame, frame, suffix))


def _write_frame(frame: pd.DataFrame, suffix: str, tmp: str) -> None:
    if suffix == ".csv":
        frame.to_csv(tmp, index=False)
    else:
        frame.to_parquet(tmp, index=False)


def replications_frame(report: RunSummary) -> pd.DataFrame:
    """One row per replication: its window's cell counts under a sweep's column names
    (``replication``, ``seed``, ``engine``, ``started``, ``good``, ``scrapped``), the cells in
    the line at the start and end of the window, and its random stream (``stream_entropy``,
    ``stream_spawn_key``: ``SeedSequence(entropy, spawn_key=(key,))``)."""
    rows = []
    for r in report.replications:
        doc = r.to_dict()
        stream = doc.pop("stream") or {}
        key = stream.get("spawn_key")
        rows.append(
            {
                "line": report.line,
                "replication": doc.pop("replication"),
                "seed": doc.pop("seed"),
                "engine": report.engine,
                **doc,
                "stream_entropy": stream.get("entropy"),
                "stream_spawn_key": None if key is None else int(key[0]),
            }
        )
    return pd.DataFrame.from_records(rows)


def results_frame(report: RunSummary) -> pd.DataFrame:
    """A tidy table: one row per (scope, KPI) with mean and CI; scope is 'line' or a station."""

    def row(scope: str, kpi: str, e: Estimate) -> dict:
        return {"scope": scope, "kpi": kpi, **e.to_dict()}

    y = report.line_yield
    rows = [row("line", key, getattr(report, key)) for key in _LINE_KPIS]
    rows.append(row("line", "line_yield_simulated", y.simulated))
    rows.append(row("line", "line_yield_analytic", Estimate(y.analytic, None, None)))
    rows += [
        row("line", f"yield_gap_{part}", getattr(y.attribution, part))
        for part in y.attribution.CAUSES
    ]
    rows += [row(s.id, key, getattr(s, key)) for s in report.stations for key in _STATION_KPIS]
    frame = pd.DataFrame(rows, columns=["scope", "kpi", "mean", "ci95_low", "ci95_high"])
    frame.insert(0, "line", report.line)
    return frame
