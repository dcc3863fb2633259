import json
import math

import pandas as pd
from conftest import ROOT

from linesim.cli import main
from linesim.config import load_line
from linesim.experiments import replication_rng
from linesim.simulation import simulate

PILOT = str(ROOT / "configs/pilot_sulfide_200mwh.yaml")


def test_run_json_document(capsys, tmp_path):
    out = tmp_path / "r.parquet"
    code = main(
        [
            "run",
            PILOT,
            "--horizon",
            "10d",
            "--replications",
            "3",
            "--seed",
            "4",
            "--json",
            "--out",
            str(out),
            "--workers",
            "2",
        ]
    )
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    for key in ("throughput_cells_per_h", "output_gwh_per_year"):
        assert set(doc[key]) == {"mean", "ci95_low", "ci95_high"}
    assert doc["line_yield"]["analytic"] > 0.8
    assert doc["line_yield"]["simulated"]["ci95_low"] <= doc["line_yield"]["simulated"]["mean"]
    assert doc["bottleneck"] in {s["id"] for s in doc["stations"]}
    for s in doc["stations"]:
        assert {
            "id",
            "machines",
            "utilisation",
            "blocked",
            "starved",
            "down",
            "defect_rate",
        } <= set(s)
    assert len(doc["replications"]) == 3
    assert doc["warmup_h"] > 0  # the window figures differ from whole-run ones
    for r, rep in enumerate(doc["replications"]):
        # conservation over the window: cells in = cells out + the change of the cells inside
        assert rep["started"] == (
            rep["good"]
            + rep["shipped_defective"]
            + rep["scrapped"]
            + rep["in_process_at_end"]
            - rep["in_process_at_start"]
        )
        assert rep["in_process_at_start"] > 0
        assert (rep["replication"], rep["seed"]) == (r, 4)
        assert rep["stream"] == {"entropy": 4, "spawn_key": [r]}
    # the window's good output is what the throughput estimate is made of
    per_h = [rep["good"] / doc["horizon_h"] for rep in doc["replications"]]
    assert math.isclose(sum(per_h) / 3, doc["throughput_cells_per_h"]["mean"], rel_tol=1e-9)
    frame = pd.read_parquet(out)
    assert set(frame["scope"]) >= {"line", "stacking"}
    reps = pd.read_parquet(tmp_path / "r.replications.parquet")
    assert reps.to_dict("records") == [
        {
            "line": doc["line"],
            "engine": doc["engine"],
            **{k: v for k, v in rep.items() if k != "stream"},
            "stream_entropy": 4,
            "stream_spawn_key": rep["replication"],
        }
        for rep in doc["replications"]
    ]
    # a sweep's rows use the same names for the same window figures
    assert {"started", "good", "scrapped"} <= set(replication_kpis_names()) & set(reps.columns)


def replication_kpis_names():
    from linesim.kpis import replication_kpis
    from linesim.simulation import simulate

    spec = load_line(PILOT)
    return replication_kpis(simulate(spec, 600.0, 0.0, rng=0, engine="simpy")).keys()


def test_run_replication_is_its_own_stream(capsys, tmp_path):
    """Each replication's row is the window of a simulation of its own stream alone."""
    out = tmp_path / "r.csv"
    argv = ["run", PILOT, "--horizon", "6h", "--warmup", "6h", "--replications", "2", "--no-store"]
    assert main([*argv, "--seed", "9", "--engine", "simpy", "--out", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    reps = pd.read_csv(tmp_path / "r.replications.csv")
    spec = load_line(PILOT)
    for row in reps.to_dict("records"):
        r = simulate(
            spec,
            6 * 3600.0,
            6 * 3600.0,
            replication_rng(row["stream_entropy"], row["stream_spawn_key"]),
            engine="simpy",
        )
        assert (row["started"], row["good"], row["scrapped"]) == (r.started, r.good, r.scrapped)
        assert (row["in_process_at_start"], row["in_process_at_end"]) == (
            r.in_process_at_start,
            r.in_process_at_end,
        )
        assert r.started_total > r.started  # the warm-up's cells are not in the row
    assert len(reps) == 2 == len(doc["replications"])


def test_run_replication_rows_are_a_sweeps_rows_by_name_and_value(capsys, tmp_path):
    """``run --out``'s replication table and a sweep's table name the same window figures the
    same, with the same values: a sweep of one variant that changes nothing simulated (capex)
    with the same seed is the run, replication by replication; conservation holds in both."""
    common = ["--horizon", "6h", "--warmup", "6h", "--replications", "2", "--seed", "3"]
    common += ["--workers", "1", "--no-store"]
    assert main(["run", PILOT, *common, "--out", str(tmp_path / "r.csv")]) == 0
    sets = ["--vary", "stations.stacking.capex_usd=1e6"]
    assert main(["sweep", PILOT, *common, *sets, "--out", str(tmp_path / "s.csv")]) == 0
    capsys.readouterr()
    run = pd.read_csv(tmp_path / "r.replications.csv")
    sweep = pd.read_csv(tmp_path / "s.csv")
    shared = [c for c in run.columns if c not in ("line", "stream_entropy", "stream_spawn_key")]
    assert set(shared) <= set(sweep.columns), sorted(set(shared) - set(sweep.columns))
    assert run[shared].to_dict("records") == sweep[shared].to_dict("records")
    for table in (run, sweep):
        assert (
            table["started"]
            == table["good"]
            + table["shipped_defective"]
            + table["scrapped"]
            + table["in_process_at_end"]
            - table["in_process_at_start"]
        ).all()
        assert (table["in_process_at_start"] > 0).all()  # a window after warm-up
    assert list(run["replication"]) == list(run["stream_spawn_key"]) == [0, 1]


def test_pilot_simulated_yield_matches_analytic(capsys):
    # without the dry-room exposure window (time-dependent p) the assumptions of ∏(1 − p) hold
    assert (
        main(
            [
                "run",
                PILOT,
                "--horizon",
                "20d",
                "--replications",
                "4",
                "--json",
                "--set",
                "stations.stacking.process=null",
            ]
        )
        == 0
    )
    y = json.loads(capsys.readouterr().out)["line_yield"]
    assert y["attribution"]["exposure"]["mean"] == 0.0
    # start-up scrap, rework and escapes are outside ∏(1 − p) by design: their own gap causes
    beyond = sum(y["attribution"][k]["mean"] for k in ("startup_scrap", "inspection"))
    lo, hi = y["simulated"]["ci95_low"] - beyond, y["simulated"]["ci95_high"] - beyond
    # the 95 % CI, widened by one binomial standard error of the pooled cells (~2e-3)
    assert lo - 2e-3 <= y["analytic"] <= hi + 2e-3


def test_run_text_summary(capsys):
    assert main(["run", PILOT, "--horizon", "5d", "--replications", "2", "--workers", "1"]) == 0
    text = capsys.readouterr().out
    assert "line yield" in text and "bottleneck" in text and "stacking" in text


def test_bad_horizon_is_exit_2(capsys):
    assert main(["run", PILOT, "--horizon", "ten days"]) == 2
    err = capsys.readouterr().err
    assert "--horizon" in err and "allowed" in err


def test_bad_out_extension_writes_nothing(capsys, tmp_path):
    target = tmp_path / "r.xlsx"
    assert main(["run", PILOT, "--horizon", "1d", "--out", str(target)]) == 2
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_out_json_is_the_report(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert (
        main(
            [
                "run",
                PILOT,
                "--horizon",
                "2d",
                "--replications",
                "2",
                "--out",
                str(out),
                "--workers",
                "1",
            ]
        )
        == 0
    )
    doc = json.loads(out.read_text())
    assert math.isclose(doc["line_yield"]["analytic"], 0.8926, abs_tol=1e-3)
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
