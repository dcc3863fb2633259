"""The results store never costs a result: concurrent writers and readers lose no record, a
store that cannot be written is one warning after the whole output, a damaged store is set
aside, seeds of any size are kept, and a record whose process has gone reads ``interrupted``.

Commands run as real processes (several at once, one under a file-size limit that stands in
for a full disk); each test stays well under 20 s."""

import json
import os
import resource
import subprocess
import sys
import time

import duckdb
import pandas as pd
import pytest
from conftest import ROOT
from test_sweep_store import hold_read_lock

from linesim.cli import main
from linesim.config import load_line
from linesim.store import Store

#: a small run: most of its ~2 s of CPU is starting Python and importing
RUN = [
    "run",
    "pilot_sulfide_200mwh",
    "--horizon",
    "2h",
    "--warmup",
    "0d",
    "--replications",
    "1",
    "--no-exposure",
    "--engine",
    "simpy",
    "--json",
]


def _env(**extra: str) -> dict:
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _start(argv: list[str], env: dict | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "linesim.cli", *argv],
        env=env or _env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def _linesim(argv: list[str], env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    proc = _start(argv, env, **kw)
    out, err = proc.communicate(timeout=180)  # generous: two cores shared with others
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _stored_ids(path) -> set[str]:
    """Ids in the DuckDB file itself (not the spool)."""
    with duckdb.connect(str(path), read_only=True) as con:
        return {r[0] for r in con.execute("SELECT id FROM records").fetchall()}


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("linesim: warning: ")]


# --- concurrency: every record kept ---------------------------------------------------------
@pytest.mark.slow
def test_six_runs_at_once_keep_all_six_records(tmp_path):
    store = tmp_path / "s.duckdb"
    # half wait for the file as usual, half spool at once when it is held
    procs = [
        _start([*RUN, "--store", str(store)], env=_env(LINESIM_STORE_LOCK_TIMEOUT=wait))
        for wait in ("1", "0") * 3
    ]
    done = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, [err for _, err in done]
    assert [err for _, err in done] == [""] * 6
    ids = {json.loads(out)["record_id"] for out, _ in done}
    assert len(ids) == 6
    assert set(Store(store).list()["id"]) == ids  # file and spool together
    Store(store).record("run", load_line("pilot_sulfide_200mwh"))  # merges what is spooled
    assert ids < _stored_ids(store) and list(Store(store).pending.glob("*")) == []


def test_a_run_ends_while_a_notebook_holds_the_store(tmp_path, capsys):
    store = tmp_path / "s.duckdb"
    Store(store).record("run", load_line("pilot_sulfide_200mwh"))
    reader = hold_read_lock(store, 30)
    try:
        done = _linesim([*RUN, "--store", str(store)], env=_env(LINESIM_STORE_LOCK_TIMEOUT="0.2"))
        assert done.returncode == 0 and done.stderr == ""
        rid = json.loads(done.stdout)["record_id"]
        assert rid not in _stored_ids(store)  # spooled, and visible to readers at once:
        assert main(["runs", "list", "--json", "--store", str(store)]) == 0
        assert rid in [r["id"] for r in json.loads(capsys.readouterr().out)]
    finally:
        reader.kill()
        reader.wait()
    Store(store).record("run", load_line("pilot_sulfide_200mwh"))
    assert rid in _stored_ids(store) and list(Store(store).pending.glob("*.json")) == []


READER = """
import sys, time
from linesim.store import Store
reads = 0
print("reading", flush=True)
while True:
    Store(sys.argv[1]).list()  # a notebook or `linesim runs list`, again and again
    reads += 1
    print(reads, flush=True)
    time.sleep(0.05)
"""


@pytest.mark.slow
def test_a_sweep_with_a_reader_beside_it_keeps_every_variant(tmp_path):
    store = tmp_path / "s.duckdb"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(store)],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout.readline() == "reading\n"
    sweep = _linesim(
        [
            "sweep",
            "pilot_sulfide_200mwh",
            "--vary",
            "stations.stacking.capex_usd=1..6",
            *RUN[2:-1],  # the window, engine and replications of a run
            "--workers",
            "1",
            "--json",
            "--store",
            str(store),
        ]
    )
    reader.kill()
    reads, errors = reader.communicate()
    assert sweep.returncode == 0 and sweep.stderr == "", sweep.stderr
    assert errors == "" and len(reads.split()) > 2  # the reader read throughout, unharmed
    rec = Store(store).get(json.loads(sweep.stdout)["record_id"])
    assert rec["status"] == "complete" and len(rec["rows"]) == 6


def test_a_spooled_write_merged_twice_is_stored_once(tmp_path):
    """A writer killed after its commit but before deleting the spooled file: merging again
    changes nothing."""
    store = Store(tmp_path / "s.duckdb")
    spec = load_line("pilot_sulfide_200mwh")
    store.record("run", spec)
    store._spool({"op": "rows", "record_id": "r1", "rows": [[0, 0, "{}", '{"a": 1}']]}, None)
    kept = next(store.pending.glob("*.json")).read_text()
    store.record("run", spec)
    (store.pending / "r1-0-000009.json").write_text(kept)
    store.record("run", spec)
    with duckdb.connect(str(store.path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM rows WHERE record_id = 'r1'").fetchone() == (1,)


# --- a store that cannot take the record: one warning, the whole output ---------------------
def _run_in_process(tmp_path, capsys, store, *extra: str):
    out = tmp_path / "out.csv"
    code = main([*RUN, "--store", str(store), "--out", str(out), *extra])
    captured = capsys.readouterr()
    assert code == 0
    doc = json.loads(captured.out)  # the whole document
    assert len(pd.read_csv(out)) > 0  # --out written whole
    return doc, _warnings(captured.err), captured.err


ALLOWED = "--store a new file or a linesim results store (DuckDB), e.g. runs.duckdb"


@pytest.mark.parametrize("given", ["flag", "environment"])
@pytest.mark.parametrize("kind", ["folder", "csv", "notes"])
def test_a_store_that_is_no_store_is_one_warning_and_left_as_it_is(
    tmp_path, capsys, monkeypatch, kind, given
):
    """A folder, a CSV or a text file as the store (``--store`` or ``$LINESIM_STORE``): the
    run's output whole, one warning naming it, and the folder or file exactly as it was —
    nothing written into it, nothing set aside, nothing spooled (DuckDB opens a CSV as an
    in-memory database and would keep nothing; a user's file is not a damaged store)."""
    path = tmp_path / {"folder": "s.duckdb", "csv": "mydata.csv", "notes": "notes.duckdb"}[kind]
    if kind == "folder":
        path.mkdir()
    else:
        path.write_text("a,b\n1,2\n" if kind == "csv" else "my notes\n" * 100)
    before = None if kind == "folder" else path.read_bytes()
    out = tmp_path / "out.csv"
    if given == "flag":
        code = main([*RUN, "--store", str(path), "--out", str(out)])
    else:
        monkeypatch.setenv("LINESIM_STORE", str(path))
        code = main([*RUN, "--out", str(out)])
    captured = capsys.readouterr()
    doc = json.loads(captured.out)  # the whole document
    assert code == 0 and len(pd.read_csv(out)) > 0  # --out written whole
    what = (
        "a folder, not a DuckDB file"
        if kind == "folder"
        else "a file that is not a DuckDB database (left as it is)"
    )
    assert captured.err == (
        f"linesim: warning: results store {path}: {what}; record {doc['record_id']} not "
        f"stored (allowed: {ALLOWED}); the results above are kept\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("out.")) == [
        path.name
    ]
    if before is not None:
        assert path.read_bytes() == before
    else:
        assert list(path.iterdir()) == []


def test_an_unwritable_place_is_one_warning(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    doc, warnings, _ = _run_in_process(tmp_path, capsys, blocker / "s.duckdb")
    assert len(warnings) == 1
    assert f"record {doc['record_id']} not stored" in warnings[0]
    assert warnings[0].endswith("; the results above are kept")


def test_a_damaged_store_being_created_is_not_set_aside(tmp_path, monkeypatch):
    """An empty file one second old: another process may be writing its header."""
    path = tmp_path / "s.duckdb"
    path.touch()
    monkeypatch.setenv("LINESIM_STORE_LOCK_TIMEOUT", "0.3")
    store = Store(path)
    rid = store.record("run", load_line("pilot_sulfide_200mwh"))
    assert list(tmp_path.glob("*.corrupt-*")) == [] and path.read_bytes() == b""
    assert rid is not None and [p.name.split("-")[0] for p in store.pending.iterdir()] == [rid]
    assert store.problems == []  # as when another process holds the file: spooled


@pytest.mark.parametrize("damage", ["truncated", "garbled"])
def test_a_damaged_store_is_set_aside_and_the_record_kept(tmp_path, capsys, damage):
    store = tmp_path / "s.duckdb"
    Store(tmp_path / "real.duckdb").record("run", load_line("pilot_sulfide_200mwh"))
    real = (tmp_path / "real.duckdb").read_bytes()
    if damage == "truncated":  # the first 8 KB of a real store: what a full disk leaves
        store.write_bytes(real[:8192])
    else:  # a DuckDB header, then rubbish
        store.write_bytes(real[:12] + b"this is not a database\n" * 500)
    os.utime(store, (time.time() - 3600,) * 2)  # found an hour later
    before = store.read_bytes()
    doc, warnings, _ = _run_in_process(tmp_path, capsys, store)
    [aside] = tmp_path.glob("s.duckdb.corrupt-*")
    assert aside.read_bytes() == before
    assert warnings == [
        f"linesim: warning: results store {store}: damaged (not a readable DuckDB "
        f"database); set aside as {aside}, a fresh store begun; the results above are kept"
    ]
    assert _stored_ids(store) == {doc["record_id"]}


def test_a_full_disk_costs_no_result_and_leaves_no_broken_store(tmp_path, capsys):
    store = tmp_path / "s.duckdb"
    out = tmp_path / "out.csv"

    def small_disk():  # files stop growing at 10 kB, as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (10_000, 10_000))

    full = _linesim([*RUN, "--store", str(store), "--out", str(out)], preexec_fn=small_disk)
    assert full.returncode == 0 and "Traceback" not in full.stderr
    rid = json.loads(full.stdout)["record_id"]
    assert len(pd.read_csv(out)) > 0
    [warning] = _warnings(full.stderr)
    assert "File too large" in warning and f"record {rid} not stored" in warning
    os.utime(store, (time.time() - 3600,) * 2)  # the next run, an hour later
    later, warnings, _ = _run_in_process(tmp_path, capsys, store)
    assert warnings[0].startswith(f"linesim: warning: results store {store}: damaged")
    assert _stored_ids(store) == {later["record_id"]}


def test_seeds_past_bigint_are_stored(tmp_path, capsys):
    store = tmp_path / "s.duckdb"
    doc, warnings, _ = _run_in_process(tmp_path, capsys, store, "--seed", str(2**63 - 1))
    assert warnings == []
    rid = Store(store).record("run", load_line("pilot_sulfide_200mwh"), seed=2**64 - 1)
    assert Store(store).get(doc["record_id"])["seed"] == 2**63 - 1
    assert main(["runs", "list", "--json", "--store", str(store)]) == 0
    seeds = {r["id"]: r["seed"] for r in json.loads(capsys.readouterr().out)}
    assert seeds == {doc["record_id"]: 2**63 - 1, rid: 2**64 - 1}


def test_a_store_of_an_older_linesim_is_brought_up_to_date(tmp_path):
    path = tmp_path / "s.duckdb"
    with duckdb.connect(str(path)) as con:  # the schema before host, pid and text seeds
        con.execute(
            "CREATE TABLE records (id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, status "
            "VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, finished_at TIMESTAMP, version "
            "VARCHAR NOT NULL, engine VARCHAR, seed BIGINT, line VARCHAR, config_path VARCHAR, "
            "config_hash VARCHAR NOT NULL, config_text VARCHAR, resolved_json VARCHAR NOT "
            "NULL, args_json VARCHAR, summary_json VARCHAR)"
        )
        con.execute(
            "INSERT INTO records VALUES ('old', 'run', 'complete', '2025-01-01', NULL, '0.1', "
            "'fast', 7, 'l', NULL, 'h', NULL, '{}', NULL, NULL)"
        )
        con.execute(
            "CREATE TABLE rows (record_id VARCHAR NOT NULL, variant INTEGER NOT NULL, "
            "replication INTEGER NOT NULL, params_json VARCHAR, kpis_json VARCHAR NOT NULL, "
            "PRIMARY KEY (record_id, variant, replication))"
        )
    store = Store(path)
    assert store.list()["seed"].tolist() == [7]  # a reader reads it as it is
    rid = store.record("run", load_line("pilot_sulfide_200mwh"), seed=2**64 - 1)
    assert store.problems == []
    assert dict(zip(store.list()["id"], store.list()["seed"], strict=True)) == {
        "old": 7,
        rid: 2**64 - 1,
    }


# --- stale records ----------------------------------------------------------------------------
def test_a_running_record_whose_process_is_gone_reads_interrupted(tmp_path):
    path = tmp_path / "s.duckdb"
    opened = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys; from linesim.config import load_line; "
            "from linesim.store import Store; "
            "print(Store(sys.argv[1]).open_record('sweep', load_line('pilot_sulfide_200mwh'))); "
            "sys.stdout.flush(); os._exit(0)",  # killed mid-sweep: the record stays running
            str(path),
        ],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    gone = opened.stdout.strip()
    store = Store(path)
    alive = store.open_record("sweep", load_line("pilot_sulfide_200mwh"))
    status = dict(zip(store.list()["id"], store.list()["status"], strict=True))
    assert status == {gone: "interrupted", alive: "running"}
    assert store.get(gone)["status"] == "interrupted"
    with duckdb.connect(str(path), read_only=True) as con:  # and the writer marked it so
        assert con.execute("SELECT status FROM records WHERE id = ?", [gone]).fetchone() == (
            "interrupted",
        )


# --- runs: bad arguments ----------------------------------------------------------------------
@pytest.mark.parametrize("limit", ["0", "-1", "x"])
def test_runs_list_refuses_a_limit_below_one(limit, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["runs", "list", "--limit", limit])
    err = capsys.readouterr().err.splitlines()[-1]
    assert exit_.value.code == 2
    assert err.startswith("linesim: error: argument --limit: ") and repr(limit) in err


def test_runs_show_names_an_unknown_id(tmp_path, capsys):
    Store(tmp_path / "s.duckdb").record("run", load_line("pilot_sulfide_200mwh"))
    assert main(["runs", "show", "feedbeef", "--store", str(tmp_path / "s.duckdb")]) == 2
    assert capsys.readouterr().err == (
        f"linesim: error: no record with id 'feedbeef' in {tmp_path / 's.duckdb'}\n"
    )


def test_runs_on_a_damaged_store_is_one_message(tmp_path, capsys):
    path = tmp_path / "s.duckdb"
    path.write_text("garbage")
    assert main(["runs", "list", "--store", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"linesim: error: results store {path}: ") and err.count("\n") == 1
    assert "Traceback" not in err and path.read_text() == "garbage"  # readers change nothing


def test_a_spooled_file_that_is_not_whole_json_is_skipped_then_set_aside(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    store.pending.mkdir()
    (store.pending / "x-1-000001.json").write_text("{not json")
    assert store.list().empty  # readers skip it
    rid = store.record("run", load_line("pilot_sulfide_200mwh"))
    assert store.list()["id"].tolist() == [rid]
    assert [p.name for p in store.pending.iterdir()] == ["x-1-000001.json.bad"]
    assert store.problems == [
        f"results store {store.path}: a spooled write could not be merged (Expecting "
        f"property name enclosed in double quotes: line 1 column 2 (char 1)); kept as "
        f"{store.pending / 'x-1-000001.json.bad'}"
    ]


def test_runs_on_a_file_of_another_program_is_one_message(tmp_path, capsys):
    path = tmp_path / "other.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE t (x INTEGER)")
    assert main(["runs", "list", "--store", str(path)]) == 2
    assert capsys.readouterr().err.startswith(
        f"linesim: error: results store {path}: not a linesim results store (Catalog Error: "
    )


# --- the results file beside the store ------------------------------------------------------
@pytest.mark.parametrize("where", ["folder", "under a file"])
def test_an_unwritable_out_file_is_one_message_naming_it(tmp_path, where):
    from linesim.errors import UsageError
    from linesim.report.files import atomic_write_text

    if where == "folder":
        target = tmp_path / "out.json"
        target.mkdir()
        reason = "Is a directory"
    else:
        (tmp_path / "file").write_text("")
        target = tmp_path / "file" / "out.json"
        reason = "Not a directory"
    with pytest.raises(UsageError) as error:
        atomic_write_text(target, "{}")
    assert str(error.value) == (
        f"{str(target)!r}: cannot be written ({reason}); allowed: a file in an existing, "
        "writable folder, not a folder"
    )
    assert list(tmp_path.rglob(".*")) == []  # no temporary file left behind


def test_a_connection_of_this_process_is_waited_for_as_a_lock(tmp_path):
    """The app's server writes a finished job's record while a page of the same process reads
    the store: DuckDB refuses a second connection to the file ("Unique file handle conflict")
    until the first closes; a read and a write wait for it as for a lock (the write kept in
    the file, not spooled)."""
    import threading

    path = tmp_path / "runs.duckdb"
    assert Store(path).save_scenario("a", "stations: {}\n")
    writer = duckdb.connect(str(path))  # the server's, writing a record
    threading.Timer(0.3, writer.close).start()
    assert list(Store(path).list()["id"]) == []
    reader = duckdb.connect()  # a page's, reading
    reader.execute("ATTACH ? AS stored (READ_ONLY)", [str(path)])
    threading.Timer(0.3, reader.close).start()
    store = Store(path)
    assert store.save_scenario("b", "stations: {}\n")
    assert not store.problems and not list(store.pending.glob("*")), store.problems
    assert sorted(s["name"] for s in Store(path).scenarios()) == ["a", "b"]


def test_a_record_keeps_the_order_of_its_documents_keys(tmp_path):
    """A summary's keys read back in the order written (stations in flow order, a loss tree
    in waterfall order), and a sweep row's too: readers show them as the run did."""
    spec = load_line("pilot_sulfide_200mwh")
    flow = [s.id for s in reversed(spec.stations)]  # not alphabetical, nor its reverse
    summary = {"stations": {sid: {"oee": 0.5, "availability": 0.9} for sid in flow}, "a": 1}
    store = Store(tmp_path / "runs.duckdb")
    rid = store.record("run", spec, summary=summary, args={"z": 1, "b": 2})
    got = Store(tmp_path / "runs.duckdb").get(rid)
    assert list(got["summary"]) == ["stations", "a"]
    assert list(got["summary"]["stations"]) == flow
    assert list(got["summary"]["stations"][flow[0]]) == ["oee", "availability"]
    assert list(got["args"]) == ["z", "b"]


def test_a_record_without_engine_or_seed_lists_as_strict_json(tmp_path, capsys):
    """An optimisation's record has no engine and a record may have no seed: ``runs list
    --json`` gives null for them (strict JSON: NaN is not), the table and ``runs show`` a
    dash, not "NaN" or "None"."""
    store = tmp_path / "s.duckdb"
    rid = Store(store).record("optimise", load_line("pilot_sulfide_200mwh"))
    assert main(["runs", "list", "--json", "--store", str(store)]) == 0

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    [row] = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert (row["id"], row["engine"], row["seed"]) == (rid, None, None)
    assert main(["runs", "list", "--store", str(store)]) == 0
    table = capsys.readouterr().out
    assert "NaN" not in table and "None" not in table and "—" in table
    assert main(["runs", "show", rid, "--store", str(store)]) == 0
    assert ", engine —, seed —" in capsys.readouterr().out
