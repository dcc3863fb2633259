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
        f"{rec['engine'] or '—'}, seed {'—' if rec['seed'] is None else rec['seed']}",
        f"  config    {rec['config_path']}  sha256 {rec['config_hash'][:16]}…",
        f"  written   on {rec.get('host') or 'an unknown host'}, process {rec.get('pid') or '?'}",
        f"  rows      {len(rec['rows'])}",
        "",
    ]
    rows = pd.DataFrame(rec["rows"])
    if not len(rows) and rec["kind"] == "uncertainty":
        return "\n".join(head) + _uncertainty(rec.get("summary") or {})
    return "\n".join(head) + (rows.to_string(index=False) if len(rows) else "")


def _uncertainty(summary: dict) -> str:
    """An uncertainty study's percentiles and probabilities (the what-if app keeps the study's
    report as JSON text, ``summary["report_json"]``; no rows)."""
    import json

    try:
        report = json.loads(summary["report_json"])
        table = pd.DataFrame(
            [
                {k: s.get(k) for k in ("label", "unit", "p10", "p50", "p90", "mean", "nominal")}
                for s in report["summaries"].values()
            ]
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return "(no study report in this record)"
    lines = [
        f"{report.get('samples')} samples, {report.get('model')}",
        table.to_string(index=False),
    ]
    for p in report.get("probabilities") or []:
        low, high = p["ci95"]
        lines.append(
            f"P({p['condition']}) = {p['probability']:.1%} (95 % CI {low:.1%} – {high:.1%}, "
            f"{p['hits']} of {p['samples']})"
        )
    return "\n".join(lines)
