"""Records of the results store presented: one record, and records side by side."""

from __future__ import annotations

import pandas as pd

__all__ = ["compare_records", "format_record"]


def compare_records(records: list[dict]):
    """KPI means of records side by side, one column per record (and variant, for sweeps)."""
    columns = {}
    for rec in records:
        frame = pd.DataFrame(rec["rows"])
        if frame.empty:
            continue
        numeric = frame.select_dtypes("number").drop(
            columns=["variant", "replication", "seed"], errors="ignore"
        )
        for k, part in numeric.groupby(frame["variant"]):
            name = rec["id"] if frame["variant"].nunique() == 1 else f"{rec['id']}/v{k}"
            columns[name] = part.mean()
    out = pd.DataFrame(columns)
    out.insert(0, "kpi", out.index)
    return out.reset_index(drop=True)


def format_record(rec: dict) -> str:
    """One store record: metadata, then its rows."""
    head = [
        f"{rec['id']}: {rec['kind']} of {rec['line']} ({rec['status']})",
        f"  created   {rec['created_at']} UTC, linesim {rec['version']}, engine "
        f"{rec['engine']}, seed {rec['seed']}",
        f"  config    {rec['config_path']}  sha256 {rec['config_hash'][:16]}…",
        f"  written   on {rec.get('host') or 'an unknown host'}, process {rec.get('pid') or '?'}",
        f"  rows      {len(rec['rows'])}",
        "",
    ]
    rows = pd.DataFrame(rec["rows"])
    return "\n".join(head) + (rows.to_string(index=False) if len(rows) else "")
