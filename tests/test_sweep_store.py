"""Sweeps (factorial, design, common random numbers, local and Ray backends) and the DuckDB
results store (transactional records, ``linesim runs``, an interrupted sweep)."""

import json
import os
import signal
import subprocess
import sys
import time

import duckdb
import pytest
from conftest import ROOT, make_line

from linesim.cli import main
from linesim.config import load_line
from linesim.errors import UsageError
from linesim.store import Store
from linesim.sweep import build_variants, factorial, parse_vary, run_sweep, sweep_frame

H = 3600.0
PILOT = str(ROOT / "configs/pilot_sulfide_200mwh.yaml")


def test_parse_vary_ranges_and_lists():
    assert parse_vary("stations.a.machines=2..5").levels == ("2", "3", "4", "5")
    assert parse_vary("x=0.5..1.5:0.5").levels == ("0.5", "1.0", "1.5")
    assert parse_vary("x=600, 900,1200").levels == ("600", "900", "1200")
    assert len(factorial([parse_vary("a=1..3"), parse_vary("b=x,y")])) == 6
    for bad in ("x", "x=", "x=5..2", "x=a..b", "x=1,,2", "x=1..2:0"):
        with pytest.raises(UsageError):
            parse_vary(bad)


def _deterministic_line(tmp_path):
    # serial deterministic line: output = min over stations of machines × 3600 ÷ cycle
    path = tmp_path / "line.yaml"
    path.write_text(
        "name: det\nproduct: {energy_kwh: 0.3}\nstations:\n"
        "  - {id: a, kind: discrete, cycle_time_s: 10, buffer_after: 5}\n"
        "  - {id: b, kind: discrete, cycle_time_s: 30, machines: 1, buffer_after: 5}\n"
        "  - {id: c, kind: discrete, cycle_time_s: 15}\n"
    )
    return str(path)


def test_sweep_follows_the_bottleneck_closed_form(tmp_path):
    config = _deterministic_line(tmp_path)
    variants = factorial([parse_vary("stations.b.machines=1..4")])
    specs = build_variants(config, [], variants)
    frame = sweep_frame(variants, run_sweep(specs, 50 * H, H, 2, seed=3, workers=1))
    for machines, part in frame.groupby("stations.b.machines"):
        theory = min(360.0, machines * 120.0, 240.0)  # cells/h of a, b, c
        assert part["good_cells_per_h"].between(theory - 0.5, theory + 0.5).all(), (machines,)
    assert list(frame.columns[:3]) == ["variant", "stations.b.machines", "replication"]


def test_common_random_numbers_and_worker_count_do_not_change_rows():
    # capex does not enter the simulation: with common random numbers every variant must
    # reproduce replication r exactly, while replications differ from each other
    variants = factorial([parse_vary("stations.stacking.capex_usd=1e6,2e6,3e6")])
    specs = build_variants(PILOT, [], variants)
    one = run_sweep(specs, 3 * 24 * H, 12 * 24 * H, 2, seed=4, workers=1)
    two = run_sweep(specs, 3 * 24 * H, 12 * 24 * H, 2, seed=4, workers=2)
    assert one == two
    by_rep = {}
    for row in one:
        by_rep.setdefault(row["replication"], []).append(row["kpis"])
    assert all(k == ks[0] for ks in by_rep.values() for k in ks)
    assert by_rep[0][0] != by_rep[1][0]


def test_ray_backend_gives_the_local_rows():
    variants = factorial([parse_vary("stations.s1.machines=1,2")])
    line = make_line(
        [
            {
                "kind": "discrete",
                "cycle_time_s": 20,
                "process_time_dist": "exponential",
                "buffer_after": 3,
                "defect_probability": 0.02,
            },
            {
                "kind": "discrete",
                "cycle_time_s": 30,
                "process_time_dist": "lognormal",
                "process_time_cv": 0.5,
                "mtbf_h": 2,
                "mttr_h": 0.2,
            },
        ]
    )
    specs = [
        line.model_copy(
            update={
                "stations": (
                    line.stations[0],
                    line.stations[1].model_copy(update={"machines": int(v[p])}),
                )
            }
        )
        for v in variants
        for p in v
    ]
    local = run_sweep(specs, 20 * H, H, 2, seed=5, workers=2)
    ray_rows = run_sweep(specs, 20 * H, H, 2, seed=5, workers=2, backend="ray")
    assert ray_rows == local


def test_sweep_cli_json_out_and_store(tmp_path, capsys):
    out = tmp_path / "sweep.parquet"
    code = main(
        [
            "sweep",
            _deterministic_line(tmp_path),
            "--vary",
            "stations.b.machines=1,2",
            "--vary",
            "stations.c.cycle_time_s=15,20",
            "--replications",
            "2",
            "--horizon",
            "10h",
            "--warmup",
            "1h",
            "--workers",
            "1",
            "--json",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["variants"]) == 4 and len(doc["rows"]) == 8
    import pandas as pd

    assert len(pd.read_parquet(out)) == 8
    rec = Store().get(doc["record_id"])
    assert rec["kind"] == "sweep" and rec["status"] == "complete" and len(rec["rows"]) == 8
    assert rec["rows"][0]["stations.b.machines"] == "1"
    assert rec["config_text"].startswith("name: det")


def test_bad_variant_is_refused_before_anything_runs(tmp_path, capsys):
    code = main(
        [
            "sweep",
            _deterministic_line(tmp_path),
            "--vary",
            "stations.b.machines=1,-1",
            "--horizon",
            "1h",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "variant 1" in err and "machines" in err and "Traceback" not in err
    assert not Store().path.exists() or Store().list().empty


def test_run_is_recorded_and_runs_commands_read_it(capsys):
    assert (
        main(
            [
                "run",
                str(ROOT / "configs/pilot_oxide.yaml"),
                "--horizon",
                "2d",
                "--warmup",
                "1d",
                "--replications",
                "2",
                "--workers",
                "1",
                "--json",
            ]
        )
        == 0
    )
    rid = json.loads(capsys.readouterr().out)["record_id"]
    assert main(["runs", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in listed] == [rid] and listed[0]["rows"] == 2
    assert main(["runs", "show", rid[:6], "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["summary"]["engine"] == "fast" and len(shown["rows"]) == 2
    assert main(["runs", "compare", rid, "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert any(r["kpi"] == "good_cells_per_h" for r in table)
    assert main(["runs", "show", "nope"]) == 2
    assert "no record" in capsys.readouterr().err


def test_a_failed_write_leaves_no_half_record(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    spec = make_line([{"kind": "discrete", "cycle_time_s": 10}])
    store.record("run", spec)

    def rows():
        yield {"replication": 0, "kpis": {"good": 1}}
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        store.record("run", spec, rows=rows())
    assert len(store.list()) == 1
    with duckdb.connect(str(store.path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM rows").fetchone()[0] == 0


def test_interrupted_sweep_keeps_whole_variants(tmp_path):
    store = tmp_path / "s.duckdb"
    env = {**os.environ, "LINESIM_STORE": str(store)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "linesim.cli",
            "sweep",
            PILOT,
            "--vary",
            "stations.stacking.capex_usd=1..60",
            "--replications",
            "2",
            "--horizon",
            "4d",
            "--warmup",
            "1d",
            "--workers",
            "1",
            "--engine",
            "simpy",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    rows = 0
    deadline = time.monotonic() + 120
    while rows < 4 and time.monotonic() < deadline:
        time.sleep(0.5)
        try:
            with duckdb.connect(str(store), read_only=True) as con:
                rows = con.execute("SELECT count(*) FROM rows").fetchone()[0]
        except (duckdb.Error, OSError):
            continue  # the sweep is writing at this moment
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    rec = Store(store).list()
    assert rec["status"].tolist() == ["interrupted"]
    assert rec["rows"][0] % 2 == 0 and 4 <= rec["rows"][0] < 120


def hold_read_lock(path, seconds: float) -> subprocess.Popen:
    """Another process that holds ``path`` open read-only for ``seconds`` (once it says so)."""
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; con = duckdb.connect(sys.argv[1], read_only=True); "
            "print('open', flush=True); time.sleep(float(sys.argv[2]))",
            str(path),
            str(seconds),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout.readline().strip() == "open"
    return reader


def test_a_writer_waits_for_a_reader_then_spools_and_the_next_writer_merges(tmp_path, monkeypatch):
    store = Store(tmp_path / "s.duckdb")
    spec = load_line(PILOT)
    store.record("run", spec)
    monkeypatch.setenv("LINESIM_STORE_LOCK_TIMEOUT", "10")
    reader = hold_read_lock(store.path, 1.5)
    Store(store.path).record("run", spec)  # waits until the other process lets go
    reader.wait(timeout=30)
    assert list(store.pending.glob("*.json")) == [] and len(store.list()) == 2

    monkeypatch.setenv("LINESIM_STORE_LOCK_TIMEOUT", "0.5")
    held = Store(store.path)
    reader = hold_read_lock(store.path, 20)
    try:
        rid = held.record("run", spec)
        assert rid is not None and held.problems == []  # busy is no problem: spooled
        assert [p.name.split("-")[0] for p in held.pending.glob("*.json")] == [rid]
        assert rid in store.list()["id"].tolist()  # readers see the spool at once
    finally:
        reader.kill()
        reader.wait()
    Store(store.path).record("run", spec)  # the next writer merges the spool first
    assert list(store.pending.glob("*.json")) == []
    with duckdb.connect(str(store.path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM records").fetchone()[0] == 4
