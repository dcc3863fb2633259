"""A sweep presented: the readable table per variant and the tidy frame written whole."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from linesim.report.files import atomic_write
from linesim.report.tables import ci_text, text_table
from linesim.summary import VariantSummary

__all__ = ["format_sweep", "write_frame"]


def format_sweep(
    line: str,
    summary: Sequence[VariantSummary],
    replications: int,
    seed: int,
    backend: str,
    record_id: str | None,
) -> str:
    """The readable table of a sweep: one row per variant, KPIs as mean ± CI half-width."""
    paths = list(summary[0].params)
    rows = [
        (
            s.variant,
            *s.params.values(),
            ci_text(s.output_gwh_per_year, 3),
            ci_text(s.good_cells_per_h, 1),
            ci_text(s.simulated_line_yield, 4),
            s.bottleneck,
        )
        for s in summary
    ]
    head = (
        f"{line}: {len(summary)} variant(s) × {replications} replication(s), common "
        f"random numbers, seed {seed}, {backend} backend (± = 95 % CI half-width)"
    )
    table = text_table(
        ["variant", *paths, "output GWh/yr", "good cells/h", "yield", "bottleneck"],
        rows,
        "r" + "r" * len(paths) + "rrrl",
    )
    tail = f"\nrecorded as {record_id} in the results store" if record_id else ""
    return f"{head}\n\n{table}{tail}"


def write_frame(frame, path: str | os.PathLike) -> None:
    """Write a tidy frame as .csv, .json (records) or .parquet, whole or not at all."""
    suffix = Path(path).suffix.lower()
    writers = {
        ".csv": lambda t: frame.to_csv(t, index=False),
        ".json": lambda t: frame.to_json(t, orient="records", indent=2),
        ".parquet": lambda t: frame.to_parquet(t, index=False),
    }
    atomic_write(path, writers[suffix])
