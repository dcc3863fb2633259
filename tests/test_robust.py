"""``linesim optimise --robust Q`` against the exact distribution of a one-station line.

One discrete station, 10 s a cell: n machines make G = n × 0.85536 (1 − p) GWh/yr (360 cells/h
× 7,920 h × 0.3 kWh), p ~ U(0.02, 0.20). The target 3 GWh/yr is met where p ≤ 1 − 3/(0.85536 n):
with 4 machines P = (0.12318 − 0.02)/0.18 = 0.5732, with 5 machines P = 1. The nominal line
(p = 0.11) needs 4 machines."""

from __future__ import annotations

import json

import pytest
import yaml

from linesim.cli.main import main
from linesim.config import load_line
from linesim.optimise import Problem
from linesim.optimise.robust import check_layout, robust_layout
from linesim.uncertainty import prepare

G1 = 360 * 7920 * 0.3 / 1e6  # GWh/yr per machine at p = 0
RAW = {
    "name": "one",
    "product": {"energy_kwh": 0.3},
    "calendar": {"hours_per_year": 7920.0},
    "stations": [
        {
            "id": "press",
            "kind": "discrete",
            "cycle_time_s": 10.0,
            "machines": 1,
            "capex_usd": 1.0e6,
            "defect_probability": {"dist": "uniform", "low": 0.02, "high": 0.20},
        }
    ],
}


def p_meet(n: int, target: float = 3.0) -> float:
    edge = 1 - target / (G1 * n)
    return min(max((edge - 0.02) / 0.18, 0.0), 1.0)


@pytest.mark.parametrize("q, machines", [(0.5, 4), (0.9, 5)])
def test_the_robust_layout_is_the_fewest_machines_meeting_q_and_its_check_the_exact_p(q, machines):
    assert p_meet(4) == pytest.approx(0.5732, abs=1e-4) and p_meet(5) == 1.0
    prepared = prepare(RAW)
    found = robust_layout(prepared, Problem(prepared.nominal, target_gwh_per_year=3.0), q)
    assert found.result.layout == {"press": {"default": machines}}
    check = check_layout(prepared, found.result.layout, 3.0, 256, seed=1)
    lo, hi = check.ci95
    assert lo <= p_meet(machines) <= hi + 1e-12  # (Wilson at 256 of 256: 1 − 1e-16)


def test_the_cli_reports_the_robust_layout_and_its_independent_check(capsys, tmp_path):
    path = tmp_path / "one.yaml"
    path.write_text(yaml.safe_dump(RAW))
    flags = ["--target-gwh", "3", "--robust", "0.9", "--no-verify", "--no-store", "--json"]
    assert main(["optimise", str(path), *flags]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["robust"]["probability_asked"] == 0.9
    assert doc["robust"]["check"]["probability"] == 1.0
    assert doc["robust"]["nominal_target_gwh_per_year"] > 3.0
    assert doc["robust"]["meets_probability"] is True
    assert main(["optimise", str(path), "--robust", "0.9", "--no-store"]) == 2
    assert "--target-gwh" in capsys.readouterr().err
    assert main(["optimise", str(path), "--target-gwh", "3", "--robust", "1.5"]) == 2
    assert load_line(path).stations[0].machines == 1  # the config is not changed


def test_too_few_draws_for_correlated_inputs_are_refused_by_flag(capsys, tmp_path):
    """Iman–Conover needs more draws than inputs: fewer are refused, never silently drawn
    independent."""
    raw = yaml.safe_load(yaml.safe_dump(RAW))
    press = raw["stations"][0]
    press["mtbf_h"], press["mttr_h"] = {"dist": "uniform", "low": 20, "high": 80}, 1.0
    names = ["stations.press.defect_probability", "stations.press.mtbf_h"]
    raw["correlations"] = [{"inputs": names, "rank": 0.5}]
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(raw))
    flags = ["--target-gwh", "3", "--robust", "0.9", "--no-verify", "--no-store"]
    assert main(["optimise", str(path), *flags, "--scenarios", "2"]) == 2
    assert "--scenarios: 2 for 2 correlated inputs" in capsys.readouterr().err
    assert main(["optimise", str(path), *flags, "--robust-check", "2"]) == 2
    assert "--robust-check: 2 for 2 correlated inputs" in capsys.readouterr().err
