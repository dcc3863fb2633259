"""The results store: every run, sweep and optimisation in an embedded DuckDB file.

Default file: ``linesim_runs.duckdb`` in the working directory (``$LINESIM_STORE`` or
``--store PATH`` to change; a team can point it at a shared path). Two tables:

- ``records`` — one row per run, sweep or optimisation: id, kind, status, time (UTC), linesim
  version, engine, seed (as decimal text: seeds reach 2^64 − 1, past DuckDB's BIGINT), the
  config's path, its text and a SHA-256 of the *resolved* line (after ``extends:`` and
  ``--set``, as canonical JSON — two configs that describe the same line hash alike), the
  command's arguments and its summary (JSON), and the host and process id that wrote it;
- ``rows`` — the tidy results of a record: one row per variant × replication (a run has one
  variant), with the varied parameters and the KPIs as JSON;
- ``scenario_events`` — the what-if app's named scenarios (a line's YAML): each save or delete
  is an event of its own (written, spooled and merged as a record is), and a name's latest
  event says whether it exists and what it holds (:meth:`Store.scenarios`).

Every write is one transaction: a run is stored whole (record and rows) or not at all; a sweep
opens its record as ``running``, adds each finished variant in its own transaction, and ends
``complete`` — or ``interrupted`` with the variants that finished, never half a variant.

**A store never costs a result.** DuckDB lets one process write a file, or several read it, at
a time. A writer waits for the file up to ``$LINESIM_STORE_LOCK_TIMEOUT`` seconds (default 1);
if another process still holds it (several runs ending together, a notebook's open
connection), the write — a whole record, one variant, a sweep's end — goes as one JSON file
into the spool folder ``<store>.pending/`` instead (written under a temporary name, then
renamed, so a spooled file is always whole). The next writer that gets the file merges the
spool first, one file per transaction, idempotent by id, deleting each file after its commit.
Readers hold the file read-only for one query and see it and the spool together, so a spooled
record is listed at once. Any other failure (read-only folder, a directory, a full disk) is
caught: the write is spooled where it can be, and :attr:`Store.problems` says what happened —
the command prints it as one warning after its results. A DuckDB file that cannot be read (a
full disk's truncated file) is renamed aside to ``<name>.corrupt-<UTC time>`` and a fresh
store begun; a file of something else (a CSV, notes: :func:`foreign_file`) is left as it is
and nothing is written to it (the command's results are kept, with one warning). A
``running`` record whose process is gone (same host) reads as ``interrupted``, and the next
writer marks it so.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import math
import os
import socket
import stat
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_STORE",
    "STORE_ALLOWED",
    "Store",
    "StoreError",
    "default_store_path",
    "foreign_file",
    "new_record_id",
    "spec_hash",
]

DEFAULT_STORE = "linesim_runs.duckdb"
WRITE_WAIT_S = 1.0
MAX_WRITE_WAIT_S = 600.0  #: the longest a command waits for the store before spooling
"""How long a write waits for another process's lock before it spools (env
``LINESIM_STORE_LOCK_TIMEOUT``); a write that once found the file held that long waits only
:data:`HELD_WAIT_S` after (the holder is a long one: a sweep must not stall per variant)."""
HELD_WAIT_S = 0.1
READ_WAIT_S = 10.0
"""How long a read waits for a writer's lock (writers hold it for one transaction)."""
DAMAGED_AFTER_S = 2.0
"""A file DuckDB cannot read is set aside once it is this old [s] (younger: being created)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,            -- run | sweep | optimise | uncertainty | ui_job
    -- complete | running | interrupted; the app's ui_job also cancelled | failed | rerun |
    -- dismissed (ui/kept.py)
    status VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,    -- UTC
    finished_at TIMESTAMP,
    version VARCHAR NOT NULL,
    engine VARCHAR,
    seed VARCHAR,                     -- decimal text: any size of integer
    line VARCHAR,
    config_path VARCHAR,
    config_hash VARCHAR NOT NULL,
    config_text VARCHAR,
    resolved_json VARCHAR NOT NULL,
    args_json VARCHAR,
    summary_json VARCHAR,
    host VARCHAR,                     -- the writer's host and process id
    pid BIGINT
);
CREATE TABLE IF NOT EXISTS rows (
    record_id VARCHAR NOT NULL,
    variant INTEGER NOT NULL,
    replication INTEGER NOT NULL,
    params_json VARCHAR,
    kpis_json VARCHAR NOT NULL,
    PRIMARY KEY (record_id, variant, replication)
);
CREATE TABLE IF NOT EXISTS scenario_events (
    id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    saved_at TIMESTAMP NOT NULL,      -- UTC
    action VARCHAR NOT NULL,          -- save | delete
    line VARCHAR,
    yaml VARCHAR
);
"""
_EVENT_COLUMNS = ("id", "name", "saved_at", "action", "line", "yaml")
_COLUMNS = (
    "id kind status created_at finished_at version engine seed line config_path config_hash "
    "config_text resolved_json args_json summary_json host pid"
).split()
_HOST = socket.gethostname()
#: DuckDB's words for a file that is not (or no longer) a database
_DAMAGED = ("not a valid DuckDB database", "Could not read enough bytes", "orrupt", "checksum")


class StoreError(Exception):
    """The store cannot be read: damaged, not a file, or locked longer than a read waits."""


class _Busy(Exception):
    """Another process holds the file longer than a write waits."""


def default_store_path() -> Path:
    """``$LINESIM_STORE`` if set, else ``linesim_runs.duckdb`` in the working directory."""
    return Path(os.environ.get("LINESIM_STORE") or DEFAULT_STORE)


def new_record_id() -> str:
    """A fresh record id (12 hex digits), for a command that prints it before recording."""
    return uuid.uuid4().hex[:12]


def spec_hash(spec) -> tuple[str, str]:
    """(SHA-256 hex, canonical JSON) of a resolved line spec."""
    text = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest(), text


class Store:
    """A DuckDB results file and its spool (opened per operation, so other processes can use
    it between).

    Writes never raise for a failure of the store itself: they return whether the record is
    kept (in the file or the spool) and add a sentence to :attr:`problems` when something went
    wrong. Reads raise :class:`StoreError`.
    """

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else default_store_path()
        self.pending = self.path.with_name(self.path.name + ".pending")
        self.problems: list[str] = []
        self._wait_s = self._write_wait_s()
        self._lost: set[str] = set()  # records not kept: their later writes are skipped
        self._spooled = 0

    def _write_wait_s(self) -> float:
        """``$LINESIM_STORE_LOCK_TIMEOUT`` [s] (0 to :data:`MAX_WRITE_WAIT_S`), else the default;
        a bad value costs a warning, never a result."""
        text = os.environ.get("LINESIM_STORE_LOCK_TIMEOUT", "").strip()
        if not text:
            return WRITE_WAIT_S
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if 0 <= value <= MAX_WRITE_WAIT_S:
            return value
        self._note(
            f"LINESIM_STORE_LOCK_TIMEOUT: {text[:40]!r} is not a wait in seconds from 0 to "
            f"{MAX_WRITE_WAIT_S:g}; {WRITE_WAIT_S:g} s used"
        )
        return WRITE_WAIT_S

    # --- writing ------------------------------------------------------------------------------
    def open_record(
        self,
        kind: str,
        spec,
        *,
        record_id: str | None = None,
        config_path: str | None = None,
        config_text: str | None = None,
        engine: str | None = None,
        seed: int | None = None,
        args: Mapping[str, Any] | None = None,
        status: str = "running",
        summary: Any = None,
        rows: Iterable[Mapping] = (),
    ) -> str | None:
        """Create a record (with its rows, in the same transaction); its id, or None when the
        store could not keep it (the reason in :attr:`problems`). ``config_text``: the
        config's text when it is no file (the app's working line), else read from
        ``config_path``."""
        from linesim.bundled import resolve_config
        from linesim.version import __version__

        digest, resolved = spec_hash(spec)
        source = resolve_config(config_path) if config_path else None
        text = source.read_text(encoding="utf-8") if source and source.is_file() else config_text
        rid = record_id or new_record_id()
        now = _now()
        record = {
            "id": rid,
            "kind": kind,
            "status": status,
            "created_at": now,
            "finished_at": now if status == "complete" else None,
            "version": __version__,
            "engine": engine,
            "seed": None if seed is None else str(seed),
            "line": spec.name,
            "config_path": str(config_path) if config_path else None,
            "config_hash": digest,
            "config_text": text,
            "resolved_json": resolved,
            "args_json": _json(args),
            "summary_json": _json(summary),
            "host": _HOST,
            "pid": os.getpid(),
        }
        op = {"op": "open", "record_id": rid, "record": record, "rows": _encode_rows(rows)}
        if not self._write(op):
            self._lost.add(rid)
            return None
        return rid

    def add_rows(self, record_id: str, rows: Iterable[Mapping]) -> None:
        """Add finished rows (e.g. one variant of a sweep) in one transaction."""
        if record_id not in self._lost:
            self._write({"op": "rows", "record_id": record_id, "rows": _encode_rows(rows)})

    def close_record(self, record_id: str, status: str, summary: Any = None) -> None:
        """End a record: ``complete`` or ``interrupted``, with its summary."""
        if record_id not in self._lost:
            op = {"op": "close", "record_id": record_id, "status": status, "finished_at": _now()}
            self._write({**op, "summary_json": _json(summary)})

    def record(
        self, kind: str, spec, *, rows: Iterable[Mapping] = (), summary: Any = None, **meta
    ) -> str | None:
        """Store a finished run or optimisation whole, in one transaction (see
        :meth:`open_record`)."""
        return self.open_record(kind, spec, status="complete", summary=summary, rows=rows, **meta)

    def save_scenario(self, name: str, text: str, line: str | None = None) -> bool:
        """Keep the line ``text`` (YAML) as the scenario ``name`` (replacing one of that name);
        whether it is kept (in the file or the spool)."""
        return self._event(name, "save", line, text)

    def delete_scenario(self, name: str) -> bool:
        """Delete the scenario ``name``; whether the deletion is kept."""
        return self._event(name, "delete", None, None)

    def _event(self, name: str, action: str, line: str | None, text: str | None) -> bool:
        event: dict[str, str | None] = {"id": new_record_id(), "name": name, "saved_at": _now()}
        event["action"] = action
        event |= {"line": line, "yaml": text}
        return self._write({"op": "scenario", "record_id": event["id"], "event": event})

    def _write(self, op: dict) -> bool:
        """Apply ``op`` to the file after merging the spool, else spool it; whether it is kept."""
        import duckdb

        kind = foreign_file(self.path)
        if kind:
            self._note(
                f"results store {self.path}: {kind}; record {op['record_id']} not stored "
                f"(allowed: {STORE_ALLOWED})"
            )
            return False
        try:
            con = self._open_writer()
        except _Busy:
            self._wait_s = min(self._wait_s, HELD_WAIT_S)
            return self._spool(op, None)
        except (duckdb.Error, OSError) as exc:
            return self._spool(op, _problem(exc))
        try:
            try:
                self._merge_spool(con)
                _transact(con, op)
            finally:
                con.close()
        except (duckdb.Error, OSError) as exc:  # a write that fails after its commit is
            return self._spool(op, _problem(exc))  # spooled again: merging is idempotent
        return True

    def _open_writer(self):
        """A read-write connection with the current schema; waits while another process holds
        the file (then :class:`_Busy`); sets a damaged file aside and begins a fresh one."""
        import duckdb

        deadline = time.monotonic() + self._wait_s
        pause = 0.01
        while True:
            seen = _identity(self.path)
            try:
                con = duckdb.connect(str(self.path), config=_DUCKDB_CONFIG)
            except duckdb.Error as exc:  # (a checksum's mismatch is a plain duckdb.Error)
                damaged = any(word in str(exc) for word in _DAMAGED)
                if not damaged and not _held(exc):
                    raise
                if damaged and self._set_aside(seen):
                    continue
                if time.monotonic() >= deadline:  # (a damaged file too young to set aside
                    raise _Busy() from exc  # is most likely being created: busy as well)
                time.sleep(pause)
                pause = min(pause * 2, 0.25)
                continue
            try:
                _migrate(con)
            except BaseException:
                con.close()
                raise
            return con

    def _set_aside(self, seen: tuple[int, int, int] | None) -> bool:
        """Rename the damaged file to ``<name>.corrupt-<UTC time>``; whether it was moved.

        Not moved: a file that changed since it failed (another process set it aside or began
        a fresh one) or that is younger than :data:`DAMAGED_AFTER_S` (another process may be
        creating it: DuckDB writes a new file's header just after creating it)."""
        if seen is None or _identity(self.path) != seen:
            return False
        if time.time() - seen[2] / 1e9 < DAMAGED_AFTER_S:
            return False
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        if aside.exists():  # set aside within the same second before
            aside = aside.with_name(f"{aside.name}-{os.getpid()}")
        self.path.rename(aside)
        wal = self.path.with_name(self.path.name + ".wal")
        if wal.exists():
            wal.rename(aside.with_name(aside.name + ".wal"))
        self._note(
            f"results store {self.path}: damaged (not a readable DuckDB database); "
            f"set aside as {aside}, a fresh store begun"
        )
        return True

    def _merge_spool(self, con) -> None:
        """Merge spooled writes (each in its own transaction, then deleted) and mark records
        whose writer is gone ``interrupted``."""
        import duckdb

        for path in self._spool_files():
            try:
                op = json.loads(path.read_text(encoding="utf-8"))
                _transact(con, op)
            except FileNotFoundError:
                continue  # merged by another process meanwhile
            except duckdb.IOException:
                raise  # the file, not the operation: leave it for the next writer
            except (ValueError, KeyError, TypeError, duckdb.Error) as exc:
                bad = path.with_name(path.name + ".bad")
                path.rename(bad)
                self._note(
                    f"results store {self.path}: a spooled write could not be merged "
                    f"({_first_line(exc)}); kept as {bad}"
                )
                continue
            path.unlink(missing_ok=True)
        stale = con.execute(
            "SELECT id, pid, created_at FROM records WHERE status = 'running' AND host = ?",
            [_HOST],
        ).fetchall()
        for rid, pid, created in stale:
            if not _process_alive(pid, created):
                con.execute(
                    "UPDATE records SET status = 'interrupted', finished_at = ? WHERE id = ?",
                    [_now(), rid],
                )

    def _spool(self, op: dict, problem: str | None) -> bool:
        """Write ``op`` whole into the spool folder; whether that worked. ``problem``: why the
        file could not take it (None: only busy)."""
        self._spooled += 1
        name = f"{op['record_id']}-{os.getpid()}-{self._spooled:06d}.json"
        try:
            self.pending.mkdir(exist_ok=True)
            _write_whole(self.pending / name, json.dumps(op))
        except OSError as exc:
            self._note(
                f"results store {self.path}: {problem or 'held by another process'}; "
                f"record {op['record_id']} not stored (spool {self.pending}: "
                f"{exc.strerror or exc})"
            )
            return False
        if problem is not None:
            self._note(
                f"results store {self.path}: {problem}; record {op['record_id']} queued in "
                f"{self.pending} until the store can be written"
            )
        return True

    def _note(self, problem: str) -> None:
        if problem not in self.problems:
            self.problems.append(problem)

    def _spool_files(self) -> list[Path]:
        """Spooled writes in the order they were written (per record: per process, numbered)."""
        return sorted(self.pending.glob("*.json")) if self.pending.is_dir() else []

    # --- reading ------------------------------------------------------------------------------
    def list(self, limit: int = 50, hidden: tuple[str, ...] = ()):
        """The latest records as a DataFrame (newest first), spooled ones included; none of
        the kinds ``hidden`` (``linesim runs list`` hides the app's records of its running
        work, ``ui_job``, unless ``--all``)."""
        import pandas as pd

        where = f"WHERE r.kind NOT IN ({', '.join('?' * len(hidden))}) " if hidden else ""
        with self._reader() as con:
            frame = con.execute(
                "SELECT r.id, r.kind, r.status, r.created_at, r.line, r.engine, r.seed, "
                "r.config_path, substr(r.config_hash, 1, 12) AS config_hash, "
                "count(w.record_id) AS rows, r.host, r.pid FROM records r LEFT JOIN rows w "
                f"ON w.record_id = r.id {where}GROUP BY ALL ORDER BY r.created_at DESC LIMIT ?",
                [*hidden, limit],
            ).df()
        frame["status"] = [
            _shown_status(s, h, p, c)
            for s, h, p, c in zip(frame["status"], frame["host"], frame["pid"], frame["created_at"])
        ]
        frame["seed"] = pd.Series([_seed(s) for s in frame["seed"]], dtype=object)
        return frame.drop(columns=["host", "pid"])

    def get(self, record_id: str) -> dict:
        """One record (by id or unique id prefix) with its rows; KeyError if none."""
        with self._reader() as con:
            cur = con.execute("SELECT * FROM records WHERE starts_with(id, ?)", [record_id])
            found = cur.fetchall()
            if len(found) != 1:
                raise KeyError(
                    f"{'no' if not found else 'more than one'} record with id "
                    f"{record_id[:40]!r}{'…' if len(record_id) > 40 else ''} in {self.path}"
                )
            rec = dict(zip([d[0] for d in cur.description], found[0], strict=True))
            rows = con.execute(
                "SELECT variant, replication, params_json, kpis_json FROM rows "
                "WHERE record_id = ? ORDER BY variant, replication",
                [rec["id"]],
            ).fetchall()
        _decode(rec)
        rec["rows"] = [
            {"variant": v, "replication": r, **(json.loads(p) if p else {}), **json.loads(k)}
            for v, r, p, k in rows
        ]
        return rec

    def records(
        self,
        kind: str,
        limit: int = 50,
        *,
        statuses: tuple[str, ...] | None = None,
        brief: bool = False,
    ) -> builtins.list[dict]:
        """The latest records of ``kind`` (newest first) as :meth:`get` gives them, without
        their rows, read at once (a page that lists them reads the file once, not per
        record). ``statuses``: only records whose status as shown is one of these (a running
        one whose process has gone shows ``interrupted``); ``brief``: without the config's
        text, the resolved line and the summary (``summary`` None) — a listing, which need
        not read a study's megabytes: :meth:`get` reads the one opened."""
        where, params = "kind = ?", [kind]
        if statuses is not None:
            stored = {*statuses, *(("running",) if "interrupted" in statuses else ())}
            where += f" AND status IN ({', '.join('?' * len(stored))})"
            params += sorted(stored)
        columns = "* EXCLUDE (config_text, resolved_json, summary_json)" if brief else "*"
        with self._reader() as con:
            cur = con.execute(
                f"SELECT {columns} FROM records WHERE {where} ORDER BY created_at DESC LIMIT ?",
                [*params, limit],
            )
            names = [d[0] for d in cur.description]
            found = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        for rec in found:
            _decode(rec)
        return [r for r in found if statuses is None or r["status"] in statuses]

    def claim(self, record_id: str, status: str, was: tuple[str, ...] = ("interrupted",)) -> bool:
        """Set the record's status to ``status`` only if it is one of ``was`` now (after the
        spool is merged and records of gone processes are marked ``interrupted``), in the
        file itself: whether this call changed it. False too when the file cannot be written
        now (the reason in :attr:`problems`): two processes, or two pages, that claim the same
        record (a rerun of interrupted work) never both get it."""
        import duckdb

        try:
            con = self._open_writer()
        except _Busy:
            self._note(f"results store {self.path}: held by another process; try again")
            return False
        except (duckdb.Error, OSError) as exc:
            self._note(f"results store {self.path}: {_problem(exc)}")
            return False
        try:
            self._merge_spool(con)
            changed = con.execute(
                f"UPDATE records SET status = ?, finished_at = ? WHERE id = ? "
                f"AND status IN ({', '.join('?' * len(was))}) RETURNING id",
                [status, _now(), record_id, *was],
            ).fetchall()
        except (duckdb.Error, OSError) as exc:
            self._note(f"results store {self.path}: {_problem(exc)}")
            return False
        finally:
            con.close()
        return bool(changed)

    def scenarios(self) -> builtins.list[dict]:
        """The saved scenarios, newest first: dicts of name, saved_at, line and yaml (the
        spooled events included)."""
        with self._reader() as con:
            cur = con.execute(
                "SELECT name, saved_at, line, yaml FROM (SELECT *, row_number() OVER "
                "(PARTITION BY name ORDER BY saved_at DESC, id DESC) AS k FROM scenario_events) "
                "WHERE k = 1 AND action = 'save' ORDER BY saved_at DESC, name"
            )
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    @contextmanager
    def _reader(self) -> Iterator[Any]:
        """An in-memory DuckDB whose views ``records`` and ``rows`` are the file (attached
        read-only for this read only) and the spool together."""
        import duckdb

        con = duckdb.connect(config=_DUCKDB_CONFIG)
        try:
            con.execute("ATTACH ':memory:' AS pending")
            con.execute("USE pending")
            con.execute(_SCHEMA)
            con.execute(
                "CREATE TABLE closes (id VARCHAR PRIMARY KEY, status VARCHAR, "
                "finished_at TIMESTAMP, summary_json VARCHAR)"
            )
            self._load_spool(con)
            self._attach(con)
            _create_views(con)
        except duckdb.Error as exc:
            con.close()
            raise StoreError(
                f"results store {self.path}: not a linesim results store ({_first_line(exc)})"
            ) from None
        try:
            yield con
        finally:
            con.close()

    def _load_spool(self, con) -> None:
        """The spooled writes into the reader's ``pending`` tables (read before the file: a
        write merged meanwhile is then in the file, never in neither)."""
        import duckdb

        opened: set[str] = set()
        for path in self._spool_files():
            try:
                op = json.loads(path.read_text(encoding="utf-8"))
                if op["op"] == "close" and op["record_id"] not in opened:
                    con.execute(
                        "INSERT OR REPLACE INTO closes VALUES (?, ?, ?, ?)",
                        [op["record_id"], op["status"], op["finished_at"], op["summary_json"]],
                    )
                else:
                    _transact(con, op)
            except (OSError, ValueError, KeyError, TypeError, duckdb.Error):
                continue  # merged meanwhile, or damaged: the next writer sets it aside
            if op["op"] == "open":
                opened.add(op["record_id"])

    def _attach(self, con) -> None:
        """Attach the file read-only as ``stored`` (an empty store when there is none yet),
        waiting while a writer holds it."""
        import duckdb

        kind = foreign_file(self.path)
        if kind:
            raise StoreError(f"results store {self.path}: {kind}; allowed: {STORE_ALLOWED}")
        if not self.path.exists():
            con.execute("ATTACH ':memory:' AS stored")
            con.execute("USE stored")
            con.execute(_SCHEMA)
            return
        deadline = time.monotonic() + READ_WAIT_S
        while True:
            try:
                con.execute("ATTACH ? AS stored (READ_ONLY)", [str(self.path)])
                return
            except duckdb.Error as exc:
                if not _held(exc):
                    raise StoreError(f"results store {self.path}: {_first_line(exc)}") from None
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"results store {self.path}: another process has held it for "
                        f"{READ_WAIT_S:g} s; allowed: try again, or --store PATH"
                    ) from None
            time.sleep(0.05)


def _held(exc: Exception) -> bool:
    """Whether DuckDB's error says the file is held by another connection: another process's
    lock, or this process's own connection to it (DuckDB's "Unique file handle conflict": the
    app's server keeps a finished job while a page reads), let go as soon as its transaction
    ends; waited for, as a lock."""
    text = str(exc).lower()
    return "lock" in text or "unique file handle conflict" in text


def _decode(rec: dict) -> None:
    """A record's row as read made readable: its args and summary from JSON, its seed an
    integer, its status as shown (a running record whose process has gone: interrupted)."""
    for key in ("args_json", "summary_json"):
        rec[key[:-5]] = json.loads(rec.pop(key)) if rec.get(key) else None
    rec["seed"] = _seed(rec["seed"])
    rec["status"] = _shown_status(rec["status"], rec["host"], rec["pid"], rec["created_at"])


def _create_views(con) -> None:
    """The views ``records`` and ``rows`` of a reader: the file's records with the spool's
    ends applied, and the spool's records and rows the file does not have yet."""
    con.execute("USE memory")
    con.execute(
        "CREATE TEMP VIEW records AS SELECT s.* EXCLUDE (status, finished_at, "
        "summary_json), coalesce(c.status, s.status) AS status, "
        "coalesce(c.finished_at, s.finished_at) AS finished_at, "
        "coalesce(c.summary_json, s.summary_json) AS summary_json "
        "FROM stored.records s LEFT JOIN pending.closes c ON c.id = s.id "
        "UNION ALL BY NAME SELECT * FROM pending.records "
        "WHERE id NOT IN (SELECT id FROM stored.records)"
    )
    con.execute(
        "CREATE TEMP VIEW rows AS SELECT * FROM stored.rows UNION ALL BY NAME "
        "SELECT * FROM pending.rows p WHERE NOT EXISTS (SELECT 1 FROM stored.rows s "
        "WHERE s.record_id = p.record_id AND s.variant = p.variant "
        "AND s.replication = p.replication)"
    )
    stored_events = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'stored' "
        "AND table_name = 'scenario_events'"
    ).fetchone()[0]
    con.execute(  # a file written before scenarios were kept has no such table
        "CREATE TEMP VIEW scenario_events AS SELECT * FROM pending.scenario_events"
        + (" UNION SELECT * FROM stored.scenario_events" if stored_events else "")
    )


def _migrate(con) -> None:
    """Create the tables, and bring a store written by an older linesim to this schema."""
    con.execute(_SCHEMA)
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'records' AND table_schema = 'main'"
        ).fetchall()
    )
    if types.get("seed") != "VARCHAR":
        con.execute("ALTER TABLE records ALTER seed TYPE VARCHAR")
    for name, kind in (("host", "VARCHAR"), ("pid", "BIGINT")):
        if name not in types:
            con.execute(f"ALTER TABLE records ADD COLUMN {name} {kind}")


def _transact(con, op: Mapping) -> None:
    """Apply one write in one transaction: all of it or nothing."""
    con.execute("BEGIN TRANSACTION")
    try:
        _apply(con, op)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _apply(con, op: Mapping) -> None:
    """One write (``open``, ``rows``, ``close`` or ``scenario``); applying it again changes
    nothing."""
    if op["op"] == "open":
        record = op["record"]
        con.execute(
            f"INSERT OR IGNORE INTO records ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(_COLUMNS))})",
            [record[c] for c in _COLUMNS],
        )
    if op["op"] in ("open", "rows") and op["rows"]:
        con.executemany(
            "INSERT OR IGNORE INTO rows VALUES (?, ?, ?, ?, ?)",
            [[op["record_id"], *row] for row in op["rows"]],
        )
    if op["op"] == "scenario":
        event = op["event"]
        con.execute(
            "INSERT OR IGNORE INTO scenario_events VALUES (?, ?, ?, ?, ?, ?)",
            [event[c] for c in _EVENT_COLUMNS],
        )
    if op["op"] == "close":
        con.execute(
            "UPDATE records SET status = ?, finished_at = ?, "
            "summary_json = coalesce(?, summary_json) WHERE id = ?",
            [op["status"], op["finished_at"], op["summary_json"], op["record_id"]],
        )


def _encode_rows(rows: Iterable[Mapping]) -> list[list]:
    """Rows as [variant, replication, params JSON, KPIs JSON] (all encoded before anything is
    written, so a bad row stops the write before it begins)."""
    return [
        [
            int(r.get("variant", 0)),
            int(r.get("replication", 0)),
            _json(r.get("params") or {}),
            _json(r["kpis"]),
        ]
        for r in rows
    ]


def _write_whole(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` under a temporary name, synced, then rename it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _shown_status(status: str, host: str | None, pid, created_at) -> str:
    """``running`` of a process on this host that has gone reads ``interrupted``."""
    if status == "running" and host == _HOST and not _process_alive(pid, created_at):
        return "interrupted"
    return status


def _process_alive(pid, since: datetime) -> bool:
    """Whether process ``pid`` of this host still runs and began before ``since`` (UTC; a later
    start is another process that reuses the id). Unknown (no pid, not POSIX): alive."""
    if pid is None or pid != pid or os.name != "posix":  # pid != pid: NaN from a DataFrame
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: alive
    try:
        ticks = int(Path(f"/proc/{int(pid)}/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime")
        )
    except (OSError, IndexError, ValueError, StopIteration):
        return True
    started = datetime.fromtimestamp(boot + ticks / os.sysconf("SC_CLK_TCK"), UTC)
    # /proc's boot time has whole seconds: allow for them
    return started.replace(tzinfo=None) <= since + timedelta(seconds=2)


def _identity(path: Path) -> tuple[int, int, int] | None:
    """(inode, size, modification time [ns]) of ``path``; None when there is none."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def _problem(exc: BaseException) -> str:
    """A store failure in a few words: the OS's reason, or DuckDB's first line."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    for prefix in ("IO Error: ", "Invalid Input Error: "):
        text = text.removeprefix(prefix)
    return text[:200]


def _seed(text) -> int | None:
    return None if text is None or text != text else int(text)


#: A store's connections: one thread and a bounded memory (a store holds records, not data to
#: crunch), so that a command under a memory limit is not aborted by DuckDB's own allocations.
_DUCKDB_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "threads": 1,
    "memory_limit": "256MB",
}


#: What a results store's path may be (the end of every message refusing one).
STORE_ALLOWED = "--store a new file or a linesim results store (DuckDB), e.g. runs.duckdb"
#: Bytes 8–11 of every DuckDB database file (its header's magic).
_DUCKDB_MAGIC = b"DUCK"


def foreign_file(path: str | os.PathLike) -> str | None:
    """Why the existing ``path`` cannot be a results store — a folder, a special file, or a
    file of something else (a CSV, notes: DuckDB would open a CSV as an in-memory database and
    keep nothing) — else None: no file yet, an empty one, or a DuckDB file (a damaged one is
    set aside by the writer). A foreign file is neither written to nor moved."""
    path = Path(path)
    kind = _not_a_file(path)
    if kind:
        return f"{kind}, not a DuckDB file"
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:  # none yet, or unreadable: the write or the read says what happened
        return None
    if not head or head[8:12] == _DUCKDB_MAGIC:
        return None
    return "a file that is not a DuckDB database (left as it is)"


def _not_a_file(path: Path) -> str | None:
    """What ``path`` is when it exists and is no regular file (opening a FIFO or a device
    would block or read for ever), else None."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    return "a folder" if stat.S_ISDIR(mode) else "a special file (a pipe, socket or device)"


def _now() -> str:
    """The time now, UTC, as ISO text (JSON for the spool; DuckDB casts it to TIMESTAMP)."""
    return datetime.now(UTC).replace(tzinfo=None).isoformat()


def _json(value: Any) -> str | None:
    """``value`` as JSON text, its mappings' keys in the order written (stations in flow
    order, a loss tree in waterfall order: readers show them as the run did)."""
    from linesim.summary import json_safe

    if value is None:
        return None
    return json.dumps(json_safe(value), allow_nan=False, default=str)
