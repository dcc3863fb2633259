"""Hostile inputs to the optimiser and to every printed figure: an answer or a clean refusal,
never a traceback, and never nonsense printed as a result (``nan``, ``inf``, a 300-digit cost,
a yield of 1 where nothing was made)."""

from __future__ import annotations

import copy
import json
import math
import re

import pytest
from conftest import make_line
from test_cost import TOY_COST, toy_line

import linesim.variants
from linesim.cli.main import main
from linesim.errors import UsageError
from linesim.optimise import Problem, optimise_layout
from linesim.optimise.candidates import check_tuning_size, station_candidates
from linesim.optimise.model import LayoutModel, clipped_log, resolution
from linesim.report.tables import ci_text, eng, fmt, number
from linesim.summary import Estimate

PILOT = "pilot_oxide"
TUNABLE = "pilot_sulfide_200mwh"


def _clean(text: str) -> None:
    """No undefined figure spelled out and no number of more than 15 digits in ``text``."""
    assert not re.search(r"\b(nan|inf|infinity)\b", text, re.IGNORECASE), text
    longest = max((len(re.sub(r"\D", "", m)) for m in re.findall(r"\d[\d,]*", text)), default=0)
    assert longest <= 15, text


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    if "--json" not in argv:  # (JSON keeps every float at full precision, and null)
        _clean(out)
    return code, out, err


# --- the optimiser on valid but hostile specs ------------------------------------------------
def _window_line(levels: list[float]):
    """s0: a roll-to-roll station whose defect probability reaches 1 above 10 m/min (p_max 1,
    exponent 20), tuned over ``levels`` [m/min]; s1 a discrete station."""
    return make_line(
        [
            {
                "kind": "continuous",
                "web_width_m": 0.5,
                "area_per_cell_m2": 0.5,
                "machines": 1,
                "process": {
                    "model": "speed",
                    "speed_m_per_min": 1.0,
                    "nominal_speed_m_per_min": 1.0,
                    "p_nominal": 0.01,
                    "exponent": 20,
                    "p_max": 1.0,
                    "levels": {"speed_m_per_min": levels},
                },
            },
            {"kind": "discrete", "cycle_time_s": 10.0, "machines": 1},
        ]
    )


def test_tuning_levels_that_scrap_every_cell_are_infeasible_naming_the_station():
    result = optimise_layout(Problem(_window_line([100.0]), target_gwh_per_year=0.001, tune=True))
    assert result.status == "infeasible"
    assert result.binding.startswith("station s0 has no machine mix that makes good cells")


def test_a_level_that_scraps_every_cell_is_no_choice_but_the_others_are():
    result = optimise_layout(
        Problem(_window_line([1.0, 100.0]), target_gwh_per_year=0.001, tune=True)
    )
    assert result.status == "optimal"
    assert result.settings == {"s0": {"speed_m_per_min": 1.0}}


def test_no_candidate_scraps_every_cell():
    """Option b scraps every cell (p = 1): a mix of b alone is never a candidate; mixed with a,
    its rate-weighted p stays below 1."""
    spec = make_line(
        [
            {
                "kind": "discrete",
                "options": [
                    {"name": "a", "cycle_time_s": 36.0, "defect_probability": 0.01},
                    {"name": "b", "cycle_time_s": 10.0, "defect_probability": 1.0},
                ],
                "machines": {"a": 1, "b": 0},
                "machines_max": 4,
            }
        ]
    )
    candidates = station_candidates(spec, 0)
    assert all(dict(c.counts)["a"] >= 1 for c in candidates)
    assert max(c.defect_probability for c in candidates) < 1.0
    result = optimise_layout(Problem(spec, target_gwh_per_year=0.5))
    assert result.layout == {"s0": {"a": 3, "b": 0}}  # 0.5 GWh/yr = 190 good cells/h


def test_unreachable_target_is_infeasible_naming_the_station_and_the_need():
    """No machines_max: the counts follow the target up to the spec's 10,000 machines, which
    make 1.0e6 cells/h at s0 (100 cells/h each); 1e300 GWh/yr = 1e306 kWh/yr needs
    1e306 ÷ (0.3 kWh × 7,920 h) = 4.21e302 cells/h."""
    spec = make_line([{"kind": "discrete", "cycle_time_s": 36.0, "machines": 1}])
    result = optimise_layout(Problem(spec, target_gwh_per_year=1e300))
    assert result.status == "infeasible"
    assert result.binding == (
        "target 1e+300 GWh/yr needs 4.21e+302 cells/h at station s0, more than any allowed "
        "count of its machines makes; raise machines_max or max_machines (each at most "
        "10,000) or lower target_gwh_per_year"
    )


def _costly_line():
    """One station of 100 cells/h machines at the spec's ceiling of 1e12 USD each, up to the
    spec's 10,000 machines: 1e16 USD of capex, past the model's 1e15 integer units."""
    return make_line(
        [
            {
                "kind": "discrete",
                "options": [{"name": "a", "cycle_time_s": 36.0, "capex_usd": 1e12}],
                "machines": {"a": 1},
                "machines_max": 10_000,
            }
        ],
        calendar={"hours_per_year": 8000.0},
    )


def test_astronomical_capex_is_counted_in_coarser_units_exactly():
    """The most output a budget of 3.5e12 USD buys: 3 machines. Every count is a candidate
    without a target: their capex coefficients add up to Σ_{n ≤ 10,000} n × 1e12 ≈ 5e19 USD,
    so the model counts money in units of 100,000 USD (5e14 units)."""
    problem = Problem(_costly_line(), budget_usd=3.5e12)
    assert LayoutModel(problem).usd_units == 1e-5
    result = optimise_layout(problem, "max_output")
    assert result.status == "optimal"
    assert result.layout == {"s0": {"a": 3}}
    assert result.predicted.capex_usd == 3e12


def test_limits_above_every_layout_change_nothing():
    spec = _costly_line()
    plain = optimise_layout(Problem(spec, target_gwh_per_year=0.62))
    loose = optimise_layout(
        Problem(spec, target_gwh_per_year=0.62, budget_usd=1e300, floor_area_m2=1e300)
    )
    assert loose.layout == plain.layout


def test_min_cost_with_an_astronomical_wage_still_finds_the_cheapest_layout():
    cost = copy.deepcopy(TOY_COST)
    cost["labour"]["wage_usd_per_h"] = 1e12
    result = optimise_layout(Problem(toy_line(cost), target_gwh_per_year=0.2), "min_cost")
    assert result.status == "optimal"
    assert result.predicted.output_gwh_per_year >= 0.2


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("workers", 0, "workers: 0; allowed: 1 to 256"),
        ("workers", 10**9, "workers: 1000000000; allowed: 1 to 256"),
        ("seed", -1, "seed: -1; allowed: a whole number 0 to 2^63 − 1"),
        pytest.param(
            "seed",
            10**5000,
            "seed: a number of about 5,001 digits; allowed: a whole number",
            id="seed-5001-digits",
        ),
        ("max_machines", 10**9, "max_machines: 1000000000; allowed: 1 to 10,000"),
        ("target_gwh_per_year", math.nan, "target_gwh_per_year: nan; allowed: a finite number"),
        ("budget_usd", math.inf, "budget_usd: inf; allowed: a finite number > 0"),
        ("time_limit_s", math.inf, "time_limit_s: inf; allowed: a number > 0 [s]"),
        ("max_utilisation", 0.0, "max_utilisation: 0.0; allowed: a number in (0, 1]"),
    ],
)
def test_a_problem_refuses_what_no_solver_can_take(field, value, message):
    with pytest.raises(UsageError) as err:
        Problem(_costly_line(), **{field: value})
    assert str(err.value).startswith(message)


def test_a_huge_settings_grid_is_refused_before_any_line_is_built(monkeypatch):
    """100 levels × 10,001 machine mixes (machines_max 10,000) = 1,000,100 candidates."""

    def never(*_, **__):
        raise AssertionError("a line was built at a setting before the size was checked")

    spec = _window_line([1.0 + k / 100 for k in range(100)])
    monkeypatch.setattr(linesim.variants, "with_settings", never)
    with pytest.raises(UsageError) as err:
        optimise_layout(Problem(spec, target_gwh_per_year=0.001, tune=True, max_machines=10_000))
    assert str(err.value) == (
        "tune: 100 process-setting combinations and 1,000,100 candidates to consider "
        "(s0: 100 settings × 10,001 mixes); allowed: at most 10,000 combinations and 200,000 "
        "candidates – fewer levels in the stations' process.levels, machines_max on the "
        "stations, or a lower max_machines"
    )
    check_tuning_size(spec, 10)  # 100 × 11 mixes: allowed


def test_integer_units_and_logarithms_stay_in_range():
    assert resolution(5e14, 1.0, "capex") == 1.0
    assert resolution(1e16, 1.0, "capex") == 0.1
    assert resolution(5e14, 100.0, "area") == 1.0
    with pytest.raises(UsageError, match="capex of the allowed layouts is not a finite number"):
        resolution(math.inf, 1.0, "capex")
    assert (clipped_log(0.0), clipped_log(math.inf), clipped_log(math.e)) == (-60.0, 60.0, 1.0)


# --- figures as text ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "spec", "text"),
    [
        (4e15, ",.1f", "4.00e+15"),
        (999.96e9, ",.0f", "999,960,000,000"),
        (999.996e12, ",.0f", "1.00e+15"),
        (-3.7e300, ",.1f", "-3.70e+300"),
        pytest.param(10**5000, ",", "> 1e+308", id="5001-digits"),
        (3.5e-7, ",.3f", "350e-09"),
        (2.22e-7, "+.4f", "+222e-09"),  # a signed figure keeps its sign
        (-2.22e-7, "+.4f", "-222e-09"),
        (0.0, ",.3f", "0.000"),
        (-1e-9, "+.1%", "-0.0%"),
        (math.nan, ",.1f", "n/a"),
        (math.inf, ",.1f", "n/a"),
        (None, ",.1f", "n/a"),
        (1234.5, ",.1f", "1,234.5"),
    ],
)
def test_number_is_never_nonsense(value, spec, text):
    assert number(value, spec) == text


def test_tables_and_intervals_show_undefined_and_astronomical_figures():
    assert [fmt(math.inf), fmt(math.nan), fmt(2.5e13), fmt(10**20)] == [
        "–",
        "–",
        "25.0e+12",
        "100e+18",
    ]
    assert eng(12.3e-6) == "12.3e-06"
    assert ci_text(Estimate(math.nan, None, None), 4) == "n/a"
    assert ci_text(Estimate(2e13, 1e13, 3e13)) == "20.0e+12 ± 10.0e+12"


# --- through the command line -----------------------------------------------------------------
def test_run_that_processes_nothing_shows_yield_as_not_available(capsys):
    code, out, _ = _cli(
        capsys, "run", PILOT, "--horizon", "1s", "--warmup", "0s", "--replications", "1",
        "--no-store",
    )  # fmt: skip
    assert code == 0
    assert "line yield        simulated n/a   analytic ∏(1 − p) 0.8683" in out
    assert "warning: no cell was processed in the window (0.000277778 h" in out
    main(["run", PILOT, "--horizon", "1s", "--warmup", "0s", "--replications", "1",
          "--no-store", "--json"])  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert doc["line_yield"]["simulated"]["mean"] is None
    assert doc["line_yield"]["attribution"]["sampling"]["mean"] is None


def test_run_that_makes_no_good_cell_says_so(capsys):
    code, out, _ = _cli(
        capsys, "run", PILOT, "--horizon", "1h", "--warmup", "0s", "--replications", "1",
        "--no-store",
    )  # fmt: skip
    assert code == 0
    assert "good output       0.0 cells/h = 0.000 GWh/yr" in out
    assert "warning: no good cell left the line in the window (" in out


def test_cost_with_an_astronomical_wage_prints_engineering_notation(capsys):
    code, out, _ = _cli(capsys, "cost", PILOT, "--set", "cost.labour.wage_usd_per_h=1e12")
    assert code == 0
    assert re.search(
        r"cost per good kWh 1\.80e\+12 USD/kWh = 12,962,\d{3},\d{3}\.\d{3} CNY/Wh", out
    )
    assert re.search(r"\ntotal +1\.80e\+12  100\.0%", out)


def test_cost_of_a_tiny_output_never_prints_zero_output(capsys):
    code, out, _ = _cli(capsys, "cost", PILOT, "--set", "product.energy_kwh=1e-6")
    assert code == 0
    assert "good output       354e-09 GWh/yr" in out


def test_cost_tornado_leaves_out_a_side_the_spec_refuses(capsys):
    """capex × 1.2 passes the spec's ceiling of 1e12 USD: that bar has no sides (–)."""
    code, out, _ = _cli(
        capsys, "cost", PILOT, "--set", "stations.tape_casting.capex_usd=1e12", "--json"
    )
    assert code == 0
    bars = {b["parameter"]: b for b in json.loads(out)["tornado"]}
    assert bars["tape_casting.capex_usd"]["usd_per_kwh_high"] is None
    assert bars["tape_casting.rate"]["usd_per_kwh_high"] > 0


def test_optimise_unreachable_target_exits_3_naming_the_station(capsys):
    """1e12 GWh/yr (the flag's ceiling) ÷ 0.3 kWh ÷ 7,920 h = 4.2e14 good cells/h, 4.98e14
    started at tape_casting at the line's best yields and its start-up scrap (the static
    analysis's starts per good cell; 4.85e14 without the scrap)."""
    code, out, _ = _cli(capsys, "optimise", PILOT, "--target-gwh", "1e12", "--no-verify",
                        "--no-store")  # fmt: skip
    assert code == 3
    assert out.splitlines()[1].startswith(
        "infeasible: target 1e+12 GWh/yr needs 4.98e+14 cells/h at station tape_casting"
    )
    assert "raise machines_max or --max-machines" in out


def test_optimise_astronomical_budget_gives_an_answer(capsys):
    code, out, _ = _cli(capsys, "optimise", PILOT, "--objective", "max-output", "--budget-usd",
                        "1e12", "--max-machines", "4", "--no-verify", "--no-store")  # fmt: skip
    assert code == 0
    assert "status optimal" in out.splitlines()[0]


def test_optimise_min_cost_with_astronomical_amounts_gives_an_answer(capsys):
    code, out, _ = _cli(
        capsys, "optimise", PILOT, "--target-gwh", "0.2", "--objective", "min-cost",
        "--set", "stations.tape_casting.capex_usd=1e12",
        "--set", "cost.labour.wage_usd_per_h=1e12", "--no-verify", "--no-store",
    )  # fmt: skip
    assert code == 0
    assert "status optimal" in out.splitlines()[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seed", str(2**64)], "linesim: error: --seed: 18446744073709551616; allowed: a whole"),
        (["--workers", "300"], "linesim: error: --workers: 300; allowed: 1 to 256"),
        (["--max-machines", "100000"], "linesim: error: --max-machines: 100000; allowed: 1 to"),
        (
            ["--pareto", "--pareto-points", "1000"],
            "linesim: error: --pareto: 1,000 ε levels per axis (1,000,000 points of three "
            "solves each); allowed: 1 to 20",
        ),
        (
            ["--buffer-sizes", "0,1000000000000"],
            "linesim: error: --buffer-sizes: '0,1000000000000'; allowed: whole numbers 0 to "
            "1,000,000",
        ),
        (
            ["--verify-replications", "1000000"],
            "linesim: error: --verify-replications: 1,000,000; allowed: at most 10,000, or "
            "--allow-large",
        ),
    ],
)
def test_optimise_refuses_absurd_flags_before_work(capsys, argv, message):
    code, _, err = _cli(capsys, "optimise", PILOT, "--target-gwh", "0.1", "--no-store", *argv)
    assert code == 2
    assert err.startswith(message)


def test_tune_refuses_a_huge_search_with_its_size(capsys):
    code, _, err = _cli(capsys, "tune", TUNABLE, "--target-gwh", "0.2", "--max-machines", "5000",
                        "--no-verify", "--no-store")  # fmt: skip
    assert code == 2
    assert err.startswith("linesim: error: tune: 42 process-setting combinations and 210,042 ")
    assert err.rstrip().endswith("machines_max on the stations, or a lower --max-machines")
