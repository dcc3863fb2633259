"""What the app's long work leaves in the results store (``$LINESIM_STORE``), and reading it
back whole: finished optimisations and sweeps are recorded by the server when they end (no page
need be open), listed by the line they belong to, and reopened as their page shows a fresh one.

Nothing here imports streamlit: plain functions of the store, called by the pages and by the
server thread that watches a job (:mod:`background`).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import tasks
from tasks import SimulationRun, SweepRun

from linesim.config import line_from_text
from linesim.store import Store, spec_hash
from linesim.summary import as_plain, from_plain, json_safe

FROM_UI = "linesim ui"  #: a record's ``args["from"]``: made by this app


def keep_simulation(run: SimulationRun, context: Any = None) -> dict:
    """Record a finished simulation in the results store (``$LINESIM_STORE``), as ``linesim
    run`` does, with the WIP trace of its first replication: it outlives the session and
    reopens whole (the Simulate page lists it, :func:`reopened_simulation`). Runs in the
    server when the simulation ends (no page needed): ``{"record_id", "problems"}``."""
    from linesim.kpis import replication_kpis

    rep = run.summary
    store = Store()
    rid = store.record(
        "run",
        line_from_text(run.yaml, "<working line>"),
        config_text=run.yaml,
        engine=rep.engine,
        seed=rep.seed,
        args={
            "horizon_days": rep.horizon_h / 24.0,
            "replications": len(run.results),
            "from": "linesim ui",
            "wip_samples": [list(s) for s in run.wip_samples()],
            # the Yield page's simulated Sankey (a reopened run has no replications' records)
            "yield_flows": [list(f) for f in run.yield_flows()],
        },
        summary=rep.to_dict(),
        rows=[{"replication": r.replication, "kpis": replication_kpis(r)} for r in run.results],
    )
    return {"record_id": rid, "problems": list(store.problems)}


def reopened_simulation(record_id: str, text: str) -> SimulationRun:
    """A simulation of the line ``text`` (YAML) kept in the results store, as a finished one
    shows it: its summary read back whole (:func:`linesim.summary.from_plain`) and the WIP
    trace of its first replication and the yield flows of its replications (an older record
    without them: no Sankey); no replications' raw records."""
    from linesim.kpis import LOSSES
    from linesim.summary import RunSummary

    rec = Store().get(record_id)
    args = rec.get("args") or {}
    wip = tuple((float(t), int(n)) for t, n in args.get("wip_samples") or ())
    flows = tuple((str(a), str(b), float(v)) for a, b, v in args.get("yield_flows") or ())
    # records written before the store kept a document's key order have them sorted: the
    # losses back in waterfall order, the stations' shares in flow order (the loss
    # waterfall's bars as a fresh run draws them)
    stations = [s.id for s in line_from_text(text, "<stored line>").stations]
    plain = _in_flow_order(_in_flow_order(rec["summary"], list(LOSSES)), stations)
    summary = from_plain(RunSummary, plain)
    return SimulationRun(text, summary, [], rec["id"], wip, flows)


def keep_optimisation(value: tuple, context: dict) -> dict:
    """Record a finished optimisation (:func:`tasks.optimisation`'s value) of the line
    ``context["yaml"]`` with its settings (``context["inputs"]``): ``{"record_id",
    "problems"}``. The result is kept whole (layouts, predicted figures, process settings,
    status), and the YAML of the line it belongs to (its chosen dew point)."""
    result, line_yaml, _ = value
    store = Store()
    rid = store.record(
        "optimise",
        line_from_text(context["yaml"], "<working line>"),
        config_text=context["yaml"],
        seed=tasks.OPTIMISE_SEED,
        args={**context.get("inputs", {}), "from": FROM_UI},
        summary={"optimise_result": as_plain(result), "line_yaml": line_yaml},
    )
    return {"record_id": rid, "problems": list(store.problems)}


def keep_sweep(run: SweepRun, context: Any = None) -> dict:
    """Record a finished sweep, as ``linesim sweep`` does (a row per variant × replication
    with its levels), with what it needs to reopen: ``{"record_id", "problems"}``."""
    from linesim.sweep import summarise_variants, sweep_frame

    summary = summarise_variants(run.variants, sweep_frame(run.variants, run.rows))
    store = Store()
    rid = store.record(
        "sweep",
        line_from_text(run.yaml, "<working line>"),
        config_text=run.yaml,
        engine=run.rows[0]["engine"],
        seed=run.seed,
        args={
            "variants": run.variants,
            # the factors' order as given (older records' keys were stored sorted)
            "factors": list(run.variants[0]),
            "horizon_days": run.horizon_days,
            "replications": run.replications,
            "from": FROM_UI,
        },
        summary=[v.to_dict() for v in summary],
        rows=[{**r, "params": run.variants[r["variant"]]} for r in run.rows],
    )
    return {"record_id": rid, "problems": list(store.problems)}


def keep_uncertainty(report, context: dict) -> dict:
    """Record a finished uncertainty study (:func:`tasks.uncertainty`'s report) of the line
    ``context["yaml"]`` with the page's settings (``context["inputs"]``), whole: every sample's
    inputs and KPIs, the percentiles, probabilities, tornado and Sobol indices, so that it
    reopens as it was shown (:func:`reopened_uncertainty`): ``{"record_id", "problems"}``."""
    import numpy as np

    doc = as_plain(report)
    doc["values"] = np.asarray(report.values).tolist()
    doc["kpis"] = {k: np.asarray(v).tolist() for k, v in report.kpis.items()}
    if report.correlation is not None:
        doc["correlation"] = np.asarray(report.correlation).tolist()
    # as JSON text: the store sorts a document's keys, and the KPIs', tornado's and Sobol
    # indices' order is the report's
    text = json.dumps(json_safe(doc), allow_nan=False)
    store = Store()
    rid = store.record(
        "uncertainty",
        line_from_text(context["yaml"], "<working line>"),
        config_text=context["yaml"],
        engine="static" if report.model == "static" else "fast",
        seed=report.seed,
        args={**context.get("inputs", {}), "from": FROM_UI},
        summary={"report_json": text, "model": report.model, "samples": report.samples},
    )
    return {"record_id": rid, "problems": list(store.problems)}


def reopened_uncertainty(record: dict):
    """A stored uncertainty study as :func:`tasks.uncertainty` returned it (its arrays as
    numpy arrays again; a KPI without a value, stored as null, is NaN again)."""
    import numpy as np

    from linesim.uncertainty.study import UncertaintyReport

    doc = json.loads(record["summary"]["report_json"])
    report = from_plain(UncertaintyReport, doc)
    report.values = np.array(doc["values"], dtype=float)
    report.kpis = {k: np.array(v, dtype=float) for k, v in doc["kpis"].items()}
    if doc.get("correlation") is not None:
        report.correlation = np.array(doc["correlation"], dtype=float)
    return report


def stored(kind: str, limit: int = 10, brief: bool = False) -> list[dict]:
    """The app's records of ``kind`` (``optimise``, ``sweep``), of any line, newest first,
    without their rows (:meth:`Store.records`; the line's YAML as ``config_text``); none
    without a store file. ``brief``: without the line's YAML and the summary (a listing of
    uncertainty studies, megabytes each: :meth:`Store.get` reads the one reopened).
    A reload or a restart starts from the default line, so the records of the line the user
    worked on must be found without it. Raises :class:`linesim.store.StoreError` when the
    file cannot be read."""
    store = Store()
    if not store.path.exists():
        return []
    ours = [  # not the CLI's
        r
        for r in store.records(kind, limit=500, brief=brief)
        if (r.get("args") or {}).get("from") == FROM_UI and (brief or r.get("config_text"))
    ]
    return ours[:limit]


def of_line(record: dict, spec) -> bool:
    """Whether ``record`` is of exactly the line ``spec`` (its resolved spec's hash)."""
    return record["config_hash"] == spec_hash(spec)[0]


def reopened_optimisation(record: dict) -> tuple:
    """A stored optimisation as :func:`tasks.optimisation` returned it: (result, the YAML
    of the line it belongs to, None — the dew points' simulations are not kept)."""
    from linesim.optimise.search import OptimiseResult

    doc = record["summary"]
    stations = [s.id for s in line_from_text(doc["line_yaml"], "<stored line>").stations]
    result = _in_flow_order(doc["optimise_result"], stations)
    return from_plain(OptimiseResult, result), doc["line_yaml"], None


def _in_flow_order(value: Any, stations: list[str]) -> Any:
    """``value`` (a stored JSON document) with every mapping keyed by station ids in the
    line's flow order ``stations``, as the optimiser made it (records written before the
    store kept key order have them sorted); any
    other order of keys given as ``stations`` likewise (the losses' waterfall order)."""
    if isinstance(value, dict):
        inner = {k: _in_flow_order(v, stations) for k, v in value.items()}
        if inner and set(inner) <= set(stations):
            return {s: inner[s] for s in stations if s in inner}
        return inner
    if isinstance(value, list):
        return [_in_flow_order(v, stations) for v in value]
    return value


def reopened_sweep(record_id: str, text: str) -> SweepRun:
    """The stored sweep ``record_id`` of the line ``text`` (YAML) as :func:`tasks.sweep`
    returned it."""
    record = Store().get(record_id)
    args = record["args"]
    order = args.get("factors") or list(args["variants"][0])  # (older records: sorted)
    variants = [{p: v[p] for p in order} for v in args["variants"]]
    paths = set(order)
    rows = [
        {
            "variant": r["variant"],
            "replication": r["replication"],
            "seed": record["seed"],
            "engine": record["engine"],
            "kpis": {  # a NaN KPI is stored as null
                k: math.nan if v is None else v
                for k, v in r.items()
                if k not in ("variant", "replication", *paths)
            },
        }
        for r in record["rows"]
    ]
    return SweepRun(
        text, variants, rows, args["horizon_days"], args["replications"], record["seed"]
    )


def record_label(record: dict, spec) -> str:
    """``"<id> — 2026-12-02 01:50:13, the working line"`` (or the record's line's name): a
    stored record in a choice (``spec``: the working line)."""
    when = str(record.get("finished_at") or record.get("created_at"))[:19]
    line = "the working line" if of_line(record, spec) else f"line {record['line']}"
    return f"{record['id']} — {when}, {line}"


def sweep_table(run: SweepRun) -> pd.DataFrame:
    """One row per variant: its levels, and each KPI's mean and 95 % CI half-width over the
    replications (common random numbers)."""
    from linesim.sweep import summarise_variants, sweep_frame

    rows = []
    for v in summarise_variants(run.variants, sweep_frame(run.variants, run.rows)):
        row: dict[str, Any] = {"variant": v.variant, **v.params}
        for key, label, unit in (
            ("output_gwh_per_year", "output", "GWh/yr"),
            ("good_cells_per_h", "good cells/h", "cells/h"),
            ("simulated_line_yield", "line yield", "-"),
            ("line_oee", "line OEE", "-"),
        ):
            est = getattr(v, key)
            row[f"{label} [{unit}]"] = est.mean
            row[f"{label} ± 95 % CI [{unit}]"] = est.half_width
        row["bottleneck"] = v.bottleneck
        rows.append(row)
    return pd.DataFrame(rows)


JOB_KIND = "ui_job"  #: the results store's kind of a record of the app's long work while it runs
LINE_ARG = "<the record's config_text>"  #: stands for the line's YAML in a job's arguments
#: An interrupted job is offered to the browser tab that started it (its new session after the
#: restart keeps the tab's address); to other tabs only once it started this long ago [s] (the
#: longest job's limit is 600 s: its tab had 20 min or more since the work stopped).
OTHER_TABS_AFTER_S = 1800.0


def open_job_record(
    name: str,
    task: str,
    args: tuple,
    context: dict,
    on_done: str | None,
    limits: dict,
    tab: str | None = None,
    spec=None,
    line_key: str = "yaml",
) -> tuple[str | None, list[str]]:
    """Record long work as it starts (``running``, by this server's process): the page's name
    for it (``name``), the :mod:`tasks` function and its arguments, the limits it runs under,
    its page's ``context``, the :mod:`kept` function that keeps its result and the browser tab
    that started it — all it takes to start it again. The line's YAML (``context["yaml"]``) is
    kept once, as the record's ``config_text`` (:data:`LINE_ARG` in its place among the
    arguments and out of the context), so a listing of records need not read it
    (:func:`interrupted_jobs`). ``spec``: that line, validated (else read from the YAML).
    Closed by :func:`close_job_record` when it ends; a server that stops first leaves it
    ``running``, which the store then reads as ``interrupted`` (its process gone).
    ``line_key``: the context's key of the line's YAML — ``"yaml"``, the working line's, or
    ``"line"``, a line that is no working line (an optimised layout's simulation: a reload
    must not make it the working line, :func:`common.resume_jobs`).
    ``(record id or None when the store could not keep it, the store's problems)``."""
    text = context[line_key]
    store = Store()
    rid = store.open_record(
        JOB_KIND,
        spec if spec is not None else line_from_text(text, "<working line>"),
        config_text=text,
        args={
            "from": FROM_UI,
            "job": name,
            "task": task,
            "task_args": [LINE_ARG if isinstance(a, str) and a == text else a for a in args],
            "limits": limits,
            "context": {k: v for k, v in context.items() if k != line_key},
            "line_key": line_key,
            "on_done": on_done,
            "tab": tab,
        },
    )
    return rid, list(store.problems)


def rerun_inputs(record_id: str) -> tuple[list, dict, dict]:
    """What an interrupted job ran on, read whole from the store: ``(task arguments, context,
    the record's args)``, the line's YAML put back where it was."""
    record = Store().get(record_id)
    text, args = record["config_text"], record["args"]
    task_args = [text if a == LINE_ARG else a for a in args["task_args"]]
    return task_args, {**args["context"], args.get("line_key", "yaml"): text}, args


def close_job_record(record_id: str, status: str) -> None:
    """End the record of long work: ``complete``, ``cancelled`` or ``failed``."""
    Store().close_record(record_id, status)


def claim_job_record(record_id: str, status: str) -> tuple[bool, list[str]]:
    """Close an interrupted record as ``rerun`` or ``dismissed`` only if it is still
    interrupted (:meth:`Store.claim`): ``(whether this call closed it, the store's
    problems)`` — two tabs that click Rerun on one record start one job, not two."""
    store = Store()
    return store.claim(record_id, status), list(store.problems)


def interrupted_jobs(
    name: str, tab: str | None = None, limit: int = 3, now: datetime | None = None
) -> list[dict]:
    """The app's long work ``name`` (a page's name for it: ``"simulation"``) that was running
    when its server stopped, newest first, brief (no line's YAML: :func:`rerun_inputs` reads
    it); none without a store file. Only those the browser tab ``tab`` started, and other
    tabs' once started :data:`OTHER_TABS_AFTER_S` ago (``now``: UTC). Raises
    :class:`linesim.store.StoreError` when the file cannot be read."""
    store = Store()
    if not store.path.exists():
        return []
    now = now or datetime.now(UTC).replace(tzinfo=None)
    found = [
        r
        for r in store.records(JOB_KIND, limit=200, statuses=("interrupted",), brief=True)
        if (r.get("args") or {}).get("from") == FROM_UI
        and r["args"].get("job") == name
        # only what this app starts (a shared store's record names no other function)
        and r["args"].get("task") in RERUNNABLE
        and r["args"].get("on_done") in KEEPERS
        and (
            r["args"].get("tab") == tab
            or (now - r["created_at"]).total_seconds() > OTHER_TABS_AFTER_S
        )
    ]
    return found[:limit]


#: The :mod:`tasks` functions the app runs as long work, and the functions that keep what they
#: make: an interrupted record naming another is not offered for a rerun.
RERUNNABLE = ("simulation", "optimisation", "sweep", "uncertainty")
KEEPERS = ("keep_simulation", "keep_optimisation", "keep_sweep", "keep_uncertainty", None)
