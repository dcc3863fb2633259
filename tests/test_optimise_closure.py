"""Simulation in the loop (linesim.optimise.closure): on a tiny line whose static optimum
provably misses in simulation (exponential service, no buffers: blocking the surrogate cannot
see), the loop closes the gap and an independent re-simulation agrees; under a budget that
cannot pay for the closing machines it reports a miss, naming the budget (exit 4)."""

from __future__ import annotations

import json
import math

import pytest
from conftest import make_line
from scipy import stats

from linesim.capacity import capacity_report, suggested_warmup_h
from linesim.cli import main
from linesim.config import dump_line
from linesim.experiments import replicate
from linesim.kpis import output_gwh_per_year
from linesim.optimise import Problem, optimise_and_verify, optimise_layout, verify_layout
from linesim.optimise.closure import ACCEPT_Z, MIN_ACCEPT_REPLICATIONS, acceptance, close_gap
from linesim.variants import apply_layout

STATION = {
    "kind": "discrete",
    "process_time_dist": "exponential",
    "options": [{"name": "a", "cycle_time_s": 36.0, "capex_usd": 1e6}],
    "machines": {"a": 1},
    "machines_max": 4,
    "buffer_after": 0,
}
SPEC = make_line([STATION] * 3)
TWO = {f"s{k}": {"a": 2} for k in range(3)}
#: 95 % of what two machines per station make statically: the surrogate's optimum is 2-2-2
TARGET = 0.95 * capacity_report(apply_layout(SPEC, TWO)).max_output_gwh_per_year
SIM = {"horizon_s": 86_400.0, "workers": 1}


def test_acceptance_is_the_lower_bound_less_room_for_an_independent_mean():
    outputs = [1.0, 2.0, 3.0, 4.0, 5.0]
    est, statistic = acceptance(outputs)
    se = math.sqrt(2.5 / 5)
    half = stats.t.ppf(0.975, 4) * se
    assert est.mean == pytest.approx(3.0)
    assert est.ci95_low == pytest.approx(3.0 - half)
    assert statistic == pytest.approx(3.0 - half - ACCEPT_Z * math.sqrt(2) * se)
    assert acceptance([1.0])[1] == -math.inf


def test_a_uniform_capacity_factor_is_the_target_raised_by_it():
    f = 0.8
    plain = optimise_layout(Problem(SPEC, target_gwh_per_year=TARGET / f))
    factored = optimise_layout(
        Problem(
            SPEC,
            target_gwh_per_year=TARGET,
            capacity_factors=tuple((s.id, f) for s in SPEC.stations),
        )
    )
    assert factored.layout == plain.layout
    assert factored.objective_value == plain.objective_value
    with pytest.raises(Exception, match="capacity_factors"):
        Problem(SPEC, target_gwh_per_year=TARGET, capacity_factors=(("nope", 0.5),))


def test_the_loop_closes_a_gap_the_surrogate_cannot_see():
    static = optimise_layout(Problem(SPEC, target_gwh_per_year=TARGET))
    assert static.layout == TWO
    c = close_gap(Problem(SPEC, target_gwh_per_year=TARGET, workers=1), **SIM)
    first = c.steps[0]
    assert first.layout == TWO
    # the static optimum misses in simulation beyond doubt (blocking with no buffers)
    assert first.simulated_gwh_per_year.ci95_high < TARGET
    assert not first.accepted
    assert first.factor is not None and first.factor < 1.0
    assert c.meets and c.answer is not None and c.answer.accepted
    assert c.answer.acceptance_gwh_per_year >= TARGET
    assert c.answer.replications >= MIN_ACCEPT_REPLICATIONS  # an acceptance rests on 20
    # capex only rises along the loop; the gap is the answer over the surrogate bound
    capex = [s.capex_usd for s in c.steps]
    assert capex == sorted(capex)
    assert c.gap == pytest.approx(c.answer.capex_usd / c.bound_value - 1.0)
    assert c.gap > 0
    # an independent re-simulation (other seeds) meets the target at 95 % confidence
    line = apply_layout(SPEC, c.answer.layout)
    again = replicate(
        line, SIM["horizon_s"], suggested_warmup_h(line) * 3600, c.answer.replications, 777, 1
    )
    est, _ = acceptance([output_gwh_per_year(r) for r in again])
    assert est.ci95_low >= TARGET
    # and the static optimum is never said to agree while it misses
    text = verify_layout(SPEC, TWO, replications=3, target_gwh=TARGET, **SIM).explanation
    assert text.startswith("MISSES the target") and "agrees" not in text


def test_a_gap_the_budget_cannot_close_is_a_named_miss(tmp_path, capsys):
    problem = Problem(SPEC, target_gwh_per_year=TARGET, budget_usd=7.5e6, workers=1)
    report = optimise_and_verify(problem, replications=5, **SIM)
    c = report.closure
    assert c is not None and c.status == "miss" and report.meets_target is False
    assert "budget 7.5 MUSD" in (c.reason or "")
    assert report.to_dict()["meets_target"] is False
    config = tmp_path / "tiny.yaml"
    config.write_text(dump_line(SPEC))
    argv = ["optimise", str(config), "--target-gwh", repr(TARGET), "--budget-usd", "7.5e6"]
    argv += ["--verify-horizon", "1d", "--workers", "1", "--no-store"]
    assert main([*argv, "--json"]) == 4
    doc = json.loads(capsys.readouterr().out)
    assert doc["meets_target"] is False and doc["closure"]["status"] == "miss"
    assert main(argv) == 4
    assert "MISSES the target" in capsys.readouterr().out


def test_a_layout_the_acceptance_rejects_is_never_said_to_meet_the_target():
    """Between the lower 95 % bound and the stricter acceptance: the explanation says the
    rule was not met, never "meets" and never "agrees"."""
    from linesim.optimise.verify import verification_of

    line = apply_layout(SPEC, TWO)
    warmup = suggested_warmup_h(line) * 3600.0
    results = replicate(line, 86_400.0, warmup, 5, 3, workers=1)
    outputs = [output_gwh_per_year(r) for r in results]
    est, statistic = acceptance(outputs)
    target = (est.ci95_low + statistic) / 2  # the bound reaches it, the acceptance does not
    plain = verification_of(line, results, 86_400.0, target)
    strict = verification_of(line, results, 86_400.0, target, accepted=False)
    assert plain.explanation.startswith("meets the target")
    assert "NOT by the acceptance rule" in strict.explanation
    assert "meets" not in strict.explanation and "agrees" not in strict.explanation
