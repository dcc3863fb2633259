import json
import math

import pandas as pd
from conftest import ROOT

from linesim.cli import main

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
    for rep in doc["replications"]:
        assert rep["started"] == (
            rep["good"] + rep["shipped_defective"] + rep["scrapped"] + rep["in_process_at_end"]
        )
    frame = pd.read_parquet(out)
    assert set(frame["scope"]) >= {"line", "stacking"}


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
