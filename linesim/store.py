"""The results store: every run, sweep and optimisation in an embedded DuckDB file.

Default file: ``linesim_runs.duckdb`` in the working directory (``$LINESIM_STORE`` or
``--store PATH`` to change; a team can point it at a shared path). Two tables:

- ``records`` — one row per run, sweep or optimisation: id, kind, status, time (UTC), linesim
  version, engine, seed, the config's path, its text and a SHA-256 of the *resolved* line
  (after ``extends:`` and ``--set``, as canonical JSON — two configs that describe the same line
  hash alike), the command's arguments and its summary (JSON);
- ``rows`` — the tidy results of a record: one row per variant × replication (a run has one
  variant), with the varied parameters and the KPIs as JSON.

Every write is one transaction: a run is stored whole (record and rows) or not at all; a sweep
opens its record as ``running``, adds each finished variant in its own transaction, and ends
``complete`` — or ``interrupted`` with the variants that finished, never half a variant.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_STORE", "Store", "default_store_path", "spec_hash"]

DEFAULT_STORE = "linesim_runs.duckdb"
LOCK_TIMEOUT_S = 60.0
"""How long an operation waits for another process's lock on the file before it gives up."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,            -- run | sweep | optimise
    status VARCHAR NOT NULL,          -- complete | running | interrupted
    created_at TIMESTAMP NOT NULL,    -- UTC
    finished_at TIMESTAMP,
    version VARCHAR NOT NULL,
    engine VARCHAR,
    seed BIGINT,
    line VARCHAR,
    config_path VARCHAR,
    config_hash VARCHAR NOT NULL,
    config_text VARCHAR,
    resolved_json VARCHAR NOT NULL,
    args_json VARCHAR,
    summary_json VARCHAR
);
CREATE TABLE IF NOT EXISTS rows (
    record_id VARCHAR NOT NULL,
    variant INTEGER NOT NULL,
    replication INTEGER NOT NULL,
    params_json VARCHAR,
    kpis_json VARCHAR NOT NULL,
    PRIMARY KEY (record_id, variant, replication)
);
"""


def default_store_path() -> Path:
    """``$LINESIM_STORE`` if set, else ``linesim_runs.duckdb`` in the working directory."""
    return Path(os.environ.get("LINESIM_STORE") or DEFAULT_STORE)


def spec_hash(spec) -> tuple[str, str]:
    """(SHA-256 hex, canonical JSON) of a resolved line spec."""
    text = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest(), text


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _connect_waiting(duckdb, path: str, read_only: bool):
    """Open ``path``, waiting (with backoff, up to ``$LINESIM_STORE_LOCK_TIMEOUT`` seconds) while
    another process holds the file.

    DuckDB lets one process write a file, or several read it, at a time; each store operation
    holds its connection only for one transaction, so a lock is normally gone in milliseconds —
    a sweep writing a variant while ``linesim runs`` (or the UI) reads must wait, not fail.
    """
    timeout = float(os.environ.get("LINESIM_STORE_LOCK_TIMEOUT") or LOCK_TIMEOUT_S)
    deadline = time.monotonic() + timeout
    pause = 0.01
    while True:
        try:
            return duckdb.connect(path, read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                from linesim.errors import UsageError

                raise UsageError(
                    f"results store {path}: another process has held it for {timeout:g} s "
                    "(set LINESIM_STORE_LOCK_TIMEOUT to wait longer, or use --store PATH)"
                ) from exc
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


class Store:
    """A DuckDB results file (opened per operation, so other processes can use it between)."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else default_store_path()

    @contextmanager
    def _connect(self, read_only: bool = False):
        import duckdb

        if read_only and not self.path.exists():
            raise FileNotFoundError(f"no results store at {self.path}")
        con = _connect_waiting(duckdb, str(self.path), read_only)
        try:
            if not read_only:
                con.execute(_SCHEMA)
            yield con
        finally:
            con.close()

    @contextmanager
    def _transaction(self):
        with self._connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    # --- writing ------------------------------------------------------------------------------
    def open_record(
        self,
        kind: str,
        spec,
        *,
        config_path: str | None = None,
        engine: str | None = None,
        seed: int | None = None,
        args: Mapping[str, Any] | None = None,
        status: str = "running",
        summary: Any = None,
        rows: Iterable[Mapping] = (),
    ) -> str:
        """Create a record (with its rows, in the same transaction); returns its id."""
        from linesim.bundled import resolve_config
        from linesim.version import __version__

        digest, resolved = spec_hash(spec)
        text = None
        source = resolve_config(config_path) if config_path else None
        if source is not None and source.is_file():
            text = source.read_text(encoding="utf-8")
        rid = uuid.uuid4().hex[:12]
        with self._transaction() as con:
            con.execute(
                "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    rid,
                    kind,
                    status,
                    _now(),
                    _now() if status == "complete" else None,
                    __version__,
                    engine,
                    seed,
                    spec.name,
                    str(config_path) if config_path else None,
                    digest,
                    text,
                    resolved,
                    _json(args),
                    _json(summary),
                ],
            )
            _insert_rows(con, rid, rows)
        return rid

    def add_rows(self, record_id: str, rows: Iterable[Mapping]) -> None:
        """Add finished rows (e.g. one variant of a sweep) in one transaction."""
        with self._transaction() as con:
            _insert_rows(con, record_id, rows)

    def close_record(self, record_id: str, status: str, summary: Any = None) -> None:
        with self._transaction() as con:
            con.execute(
                "UPDATE records SET status = ?, finished_at = ?, "
                "summary_json = coalesce(?, summary_json) WHERE id = ?",
                [status, _now(), _json(summary), record_id],
            )

    def record(
        self, kind: str, spec, *, rows: Iterable[Mapping] = (), summary: Any = None, **meta
    ) -> str:
        """Store a finished run or optimisation whole, in one transaction."""
        return self.open_record(kind, spec, status="complete", summary=summary, rows=rows, **meta)

    # --- reading ------------------------------------------------------------------------------
    def list(self, limit: int = 50):
        """The latest records as a DataFrame (newest first)."""
        with self._connect(read_only=True) as con:
            return con.execute(
                "SELECT r.id, r.kind, r.status, r.created_at, r.line, r.engine, r.seed, "
                "r.config_path, substr(r.config_hash, 1, 12) AS config_hash, "
                "count(w.record_id) AS rows FROM records r LEFT JOIN rows w "
                "ON w.record_id = r.id GROUP BY ALL ORDER BY r.created_at DESC LIMIT ?",
                [limit],
            ).df()

    def get(self, record_id: str) -> dict:
        """One record (by id or unique id prefix) with its rows; KeyError if none."""
        with self._connect(read_only=True) as con:
            found = con.execute("SELECT * FROM records WHERE id LIKE ? || '%'", [record_id]).df()
            if len(found) != 1:
                raise KeyError(
                    f"{'no' if found.empty else 'more than one'} record with id "
                    f"{record_id!r} in {self.path}"
                )
            rec = found.iloc[0].to_dict()
            rows = con.execute(
                "SELECT variant, replication, params_json, kpis_json FROM rows "
                "WHERE record_id = ? ORDER BY variant, replication",
                [rec["id"]],
            ).fetchall()
        for key in ("args_json", "summary_json"):
            rec[key[:-5]] = json.loads(rec.pop(key)) if rec.get(key) else None
        rec["rows"] = [
            {"variant": v, "replication": r, **(json.loads(p) if p else {}), **json.loads(k)}
            for v, r, p, k in rows
        ]
        return rec


def _insert_rows(con, record_id: str, rows: Iterable[Mapping]) -> None:
    data = [
        [
            record_id,
            int(r.get("variant", 0)),
            int(r.get("replication", 0)),
            _json(r.get("params") or {}),
            _json(r["kpis"]),
        ]
        for r in rows
    ]
    if data:
        con.executemany("INSERT INTO rows VALUES (?, ?, ?, ?, ?)", data)


def _json(value: Any) -> str | None:
    from linesim.summary import json_safe

    if value is None:
        return None
    return json.dumps(json_safe(value), sort_keys=True, allow_nan=False, default=str)
