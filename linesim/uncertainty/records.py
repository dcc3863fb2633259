"""An uncertainty study in the results store: one row per sample and replication (its inputs
as ``params``, its KPIs), so that an interrupted study keeps its finished samples and
``--resume`` continues it."""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

from linesim.errors import UsageError
from linesim.uncertainty.study import Prepared

__all__ = ["sample_rows", "known_samples", "RESUME_ARGS", "Recorder"]

#: Longest a finished sample waits [s] before it is written to the store (rows are written in
#: batches: one transaction per static sample would cost more than the sample).
FLUSH_S = 2.0

#: Arguments a resumed study must share with the record it continues.
RESUME_ARGS: tuple[str, ...] = (
    "samples",
    "seed",
    "static",
    "replications",
    "horizon",
    "warmup",
    "overrides",
)


def sample_rows(
    prepared: Prepared, i: int, values: Sequence[float], kpis: Mapping[str, Sequence[float]]
) -> list[dict[str, Any]]:
    """Store rows of sample ``i``: one per replication."""
    params = {item.name: float(x) for item, x in zip(prepared.inputs, values)}
    reps = len(next(iter(kpis.values())))
    return [
        {
            "variant": i,
            "replication": r,
            "params": params,
            "kpis": {k: (None if math.isnan(v[r]) else float(v[r])) for k, v in kpis.items()},
        }
        for r in range(reps)
    ]


def known_samples(
    store, record_id: str, prepared: Prepared, args: argparse.Namespace
) -> dict[int, dict[str, list[float]]]:
    """The finished samples of the study recorded as ``record_id`` (a :class:`UsageError`
    unless it is an uncertainty study of the same line with the same arguments)."""
    try:
        rec = store.get(record_id)
    except KeyError as exc:
        raise UsageError(f"--resume: {exc.args[0]}; allowed: an id from `linesim runs`") from None
    if rec.get("kind") != "uncertainty":
        raise UsageError(
            f"--resume: record {record_id} is a {rec.get('kind')}, not an uncertainty study; "
            "allowed: the id of an interrupted `linesim uncertainty`"
        )
    from linesim.store import spec_hash

    old = rec.get("args") or {}
    differ = [k for k in RESUME_ARGS if old.get(k) != getattr(args, k, None)]
    if rec.get("config_hash") != spec_hash(prepared.nominal)[0]:
        differ.append("config")
    if old.get("inputs") != inputs_doc(prepared):  # same nominal line, other distributions
        differ.append("input distributions")
    if differ:
        raise UsageError(
            f"--resume: record {record_id} was made with other {', '.join(differ)}; allowed: "
            "the same config and " + ", ".join(f"--{k}" for k in RESUME_ARGS if k != "overrides")
        )
    by_sample: dict[int, dict[int, dict[str, Any]]] = {}
    for row in rec["rows"]:
        by_sample.setdefault(int(row["variant"]), {})[int(row["replication"])] = row
    reps = 1 if args.static else args.replications
    out = {}
    for i, rows in by_sample.items():
        if len(rows) != reps:
            continue
        out[i] = {
            k: [math.nan if rows[r].get(k) is None else float(rows[r][k]) for r in range(reps)]
            for k in _kpi_names()
        }
    return out


def _kpi_names() -> tuple[str, ...]:
    from linesim.uncertainty.evaluate import KPIS

    return KPIS


class Recorder:
    """Finished samples into a store record, in batches at most :data:`FLUSH_S` apart
    (:meth:`flush` writes what is waiting: call it before the record is closed)."""

    def __init__(self, store, record_id: str, prepared: Prepared, flush_s: float = FLUSH_S):
        self.store, self.record_id, self.prepared, self.flush_s = (
            store,
            record_id,
            prepared,
            flush_s,
        )
        self._rows: list[dict[str, Any]] = []
        self._last = time.monotonic()

    def add(self, i: int, values: Sequence[float], kpis: Mapping[str, Sequence[float]]) -> None:
        self._rows += sample_rows(self.prepared, i, values, kpis)
        if time.monotonic() - self._last >= self.flush_s:
            self.flush()

    def flush(self) -> None:
        if self._rows:
            self.store.add_rows(self.record_id, self._rows)
            self._rows = []
        self._last = time.monotonic()


def inputs_doc(prepared: Any) -> list[dict[str, Any]]:
    """The study's uncertain inputs as plain data (name and distribution, not its source), so
    that a resumed study is known to draw from the same distributions."""
    out = []
    c = getattr(prepared, "correlation", None)
    for a, i in enumerate(prepared.inputs):
        d = {k: v for k, v in i.dist.to_dict().items() if k != "source"}
        if c is not None and any(c[a, b] for b in range(len(c)) if b != a):
            d["rank_correlations"] = {
                prepared.inputs[b].name: float(c[a, b]) for b in range(len(c)) if b != a and c[a, b]
            }
        out.append({"name": i.name, **d})
    return out
