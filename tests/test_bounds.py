"""Bounds from physics and the machine (linesim.spec.base), the workload refused before any
engine starts (linesim.workload), the simulation flags' bounds, and memory linear in machines."""

from __future__ import annotations

import math
import resource
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest
from conftest import CONFIGS, ROOT, make_line

from linesim.cli import options
from linesim.cli.main import main
from linesim.config import line_from_dict, load_line
from linesim.errors import ConfigError, UsageError
from linesim.simulation import fast
from linesim.simulation.draws import generators
from linesim.workload import MAX_MEMORY_BYTES, check, estimate


def station(**fields) -> dict:
    return {"id": "a", "kind": "discrete", "cycle_time_s": 5.0, **fields}


def refused(stations: list[dict], **extra) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        make_line(stations, **extra)
    return info.value


def at(err: ConfigError, path: str, option: str = "x") -> bool:
    """Whether ``err`` names ``path`` (``stations[0].x``), by index or by the station's id
    (station ``a``, its first option ``option``)."""
    by_name = path.replace("stations[0]", "stations.a").replace("options[0]", f"options.{option}")
    return err.path in (path, by_name)


# --- 1. every bound names its field path, the value and what is allowed ------------------------
CASES = [
    # (station fields, field path, the value as the message shows it, a word of the allowed)
    ({"machines": 10_001}, "stations[0].machines", "10001", "10,000"),
    ({"machines": 10**30}, "stations[0].machines", "1" + "0" * 30, "10,000"),
    ({"machines": 1e100}, "stations[0].machines", "1e+100", "whole number"),
    ({"buffer_after": 10**12}, "stations[0].buffer_after", "1000000000000", "1000000"),
    ({"cycle_time_s": 1e308}, "stations[0].cycle_time_s", "1e+308", "2592000"),
    ({"cycle_time_s": 1e-4}, "stations[0].cycle_time_s", "0.0001", "0.001"),
    ({"capex_usd": 1e308}, "stations[0].capex_usd", "1e+308", "1000000000000"),
    ({"mtbf_h": 1e-6, "mttr_h": 1.0}, "stations[0].mtbf_h", "1e-06", "1 s"),
    ({"mtbf_h": 10.0, "mttr_h": 1e7}, "stations[0].mttr_h", "10000000.0", "10⁶ h"),
    ({"process_time_dist": "gamma", "process_time_cv": 50.0}, "stations[0].process_time_cv",
     "50.0", "10"),
    ({"minor_stops": {"mean_between_s": 0.01, "mean_duration_s": 1}},
     "stations[0].minor_stops.mean_between_s", "0.01", "1"),
    ({"planned_maintenance": {"every_h": 1e-5, "duration_h": 1e-6}},
     "stations[0].planned_maintenance.every_h", "1e-05", "1 s"),
    ({"changeover": {"every_cells": 10, "duration_s": 1e9}},
     "stations[0].changeover.duration_s", "1000000000.0", "2592000"),
    ({"machines_max": 20_000}, "stations[0].machines_max", "20000", "10000"),
    ({"defect_probability": 1.0}, "stations[0].defect_probability", "1.0", "< 1"),
]  # fmt: skip


@pytest.mark.parametrize("fields, path, shown, allowed", CASES, ids=[c[1] for c in CASES])
def test_a_bound_names_the_field_the_value_and_what_is_allowed(fields, path, shown, allowed):
    err = refused([station(**fields)])
    assert at(err, path)
    message = str(err).splitlines()[0]
    assert f"(got {shown})" in message
    assert "; allowed: " in message and allowed in message.split("; allowed: ")[1]


def test_batch_size_and_roll_to_roll_time_per_cell_are_bounded():
    err = refused([{"id": "a", "kind": "batch", "batch_size": 100_001, "cycle_time_s": 60}])
    assert at(err, "stations[0].batch_size") and err.value == 100_001
    fast_web = {"id": "a", "kind": "continuous", "web_width_m": 1.0, "area_per_cell_m2": 1e-4}
    err = refused([{**fast_web, "web_speed_m_per_min": 1000.0}])  # 6 µs per cell
    assert at(err, "stations[0].web_speed_m_per_min")
    assert "6e-06 s per cell" in str(err) and "0.001 s to 2.592e+06 s" in str(err)
    make_line([{**fast_web, "web_speed_m_per_min": 1.0}])  # 6 ms per cell is fine
    err = refused([{"id": "a", "kind": "sheet", "time_per_sheet_s": 0.01, "sheets_per_cell": 0.01}])
    assert at(err, "stations[0].time_per_sheet_s") and "0.0001 s per cell" in str(err)


def test_a_station_with_every_option_scrapping_everything_names_the_option():
    options = [
        {"name": "x", "cycle_time_s": 5, "defect_probability": 1.0},
        {"name": "y", "cycle_time_s": 5, "defect_probability": 1.0},
    ]
    base = {"id": "a", "kind": "discrete", "options": options}
    err = refused([{**base, "machines": {"x": 1, "y": 2}}])
    assert at(err, "stations[0].options[0].defect_probability")
    assert "the line makes no good cells" in str(err)
    # an option with p = 1 that no machine uses leaves the line making good cells
    options[1]["defect_probability"] = 0.1
    make_line([{**base, "machines": {"x": 0, "y": 2}}])


def test_a_yield_below_the_smallest_float_is_no_good_cells():
    err = refused([station(id=f"s{k}", defect_probability=0.9999) for k in range(400)])
    assert err.path == "stations" and "the line makes no good cells" in str(err)
    make_line([station(id=f"s{k}", defect_probability=0.9999) for k in range(30)])  # 1e-120


def test_a_cell_of_more_than_1000_kwh_is_refused():
    err = refused([station()], energy_kwh=1e308)
    assert err.path == "product.energy_kwh" and "1000" in str(err).split("; allowed: ")[1]


def test_too_many_stations_options_and_levels():
    err = refused([station(id=f"s{k}") for k in range(1001)])
    assert err.path == "stations" and "1000" in str(err)
    options = [{"name": f"o{k}", "cycle_time_s": 5} for k in range(101)]
    err = refused([{"id": "a", "kind": "discrete", "options": options, "machines": {"o0": 1}}])
    assert at(err, "stations[0].options") and "100" in str(err)
    window = {
        "model": "press",
        "pressure_mpa": 300.0,
        "hold_s": 60.0,
        "nominal_pressure_mpa": 300.0,
        "nominal_hold_s": 60.0,
        "handling_s": 30.0,
        "p_nominal": 0.01,
        "levels": {"hold_s": [float(k) for k in range(1, 102)]},  # as a 1000 × 1000 grid does
    }
    press = {"id": "a", "kind": "batch", "batch_size": 10, "process": window}
    err = refused([press])
    assert at(err, "stations[0].process.levels.hold_s") and "100" in str(err)


@pytest.mark.parametrize("config", CONFIGS, ids=[p.name for p in CONFIGS])
def test_bundled_configs_keep_validating_with_a_default_run_accepted(config, capsys):
    assert main(["validate", str(config)]) == 0
    out = capsys.readouterr().out
    assert ": ok — " in out and "a default run (30d, 5 replications): ~" in out


# --- 2. the workload, estimated before any engine starts ---------------------------------------
def test_the_estimate_follows_the_simulated_time_and_replications():
    spec = load_line("pilot_oxide")
    one = estimate([spec], 86_400.0, 0.0, 1, workers=1)
    ten = estimate([spec], 10 * 86_400.0, 0.0, 1, workers=1)
    three = estimate([spec], 86_400.0, 0.0, 3, workers=1)
    assert math.isclose(ten.events, 10 * one.events, rel_tol=1e-9)
    assert math.isclose(three.events, 3 * one.events, rel_tol=1e-9)
    assert one.memory_bytes == three.memory_bytes == fast.state_size(spec).nbytes  # one at once
    assert estimate([spec], 86_400.0, 0.0, 3, workers=2).concurrent == 2


def test_the_estimated_memory_is_what_the_builder_allocates():
    for name in ("pilot_oxide", "gwh_sulfide_4gwh"):  # the second tracks exposure
        spec = load_line(name)
        state, _ = fast._build(spec, np.random.default_rng(1), 3600.0, 0.0)
        allocated = sum(array.nbytes for array in state)
        estimated = fast.state_size(spec).nbytes
        assert allocated <= estimated <= 1.05 * allocated  # the heap counted at 4 × its start


def test_a_huge_simulation_is_refused_naming_the_estimate_and_allow_large_runs_it():
    spec = load_line("gwh_sulfide_4gwh")
    year = 365 * 86_400.0
    with pytest.raises(UsageError) as info:
        check([spec], 5 * year, 0.0, 5)
    text = str(info.value)
    assert text.startswith("horizon_s, replications: the simulation is too large to start: ~")
    assert "events (5 runs)" in text and "events/s (fast engine)" in text
    assert "allowed: at most ~10 min and 1 GiB" in text and "allow_large" in text
    assert check([spec], 5 * year, 0.0, 5, allow_large=True).seconds > 600  # estimated only
    for horizon in (math.inf, math.nan, 101 * year):  # never, even with allow_large
        with pytest.raises(UsageError, match="horizon_s: .*100 years"):
            check([spec], horizon, 0.0, 1, allow_large=True)
    with pytest.raises(UsageError, match=r"^replications: 10,001; allowed: at most 10,000"):
        check([spec], 3600.0, 0.0, 10_001)


def test_one_millisecond_cycles_and_one_second_mtbf_are_refused_not_hung():
    fastest = [station(cycle_time_s=0.001), station(id="b", cycle_time_s=0.001)]
    with pytest.raises(UsageError, match="too large to start"):
        check([make_line(fastest)], 30 * 86_400.0, 0.0, 5)
    # a failure a second: each is counted as work, and a 30-day service would pre-draw
    # millions of numbers per event
    flaky = [station(cycle_time_s=86_400.0, mtbf_h=1 / 3600, mttr_h=1 / 3600)]
    work = estimate([make_line(flaky)], 30 * 86_400.0, 0.0, 1, workers=1)
    assert work.events > 15 * 86_400  # 15 days of operation, a failure per second
    longest = [station(cycle_time_s=30 * 86_400.0, mtbf_h=1 / 3600, mttr_h=1 / 3600)]
    with pytest.raises(UsageError, match="GiB of engine state"):
        check([make_line(longest)], 30 * 86_400.0, 0.0, 1)


def test_memory_over_the_limit_is_refused():
    wide = [station(id=f"s{k}", machines=10_000, buffer_after=1_000_000) for k in range(200)]
    spec = make_line(wide)
    assert estimate([spec], 60.0, 0.0, 1).memory_bytes > MAX_MEMORY_BYTES
    with pytest.raises(UsageError, match="GiB of engine state"):
        check([spec], 60.0, 0.0, 1)


# --- 3. the CLI: flags bounded, one line, exit 2 -----------------------------------------------
@pytest.mark.parametrize(
    "argv, message",
    [
        (["--seed", "-1"], "argument --seed: '-1': allowed: a whole number from 0 to 2^63 − 1"),
        (["--seed", str(2**63)], "argument --seed: '9223372036854775808': allowed: a whole"),
        (["--seed", "9" * 5000], "argument --seed: '" + "9" * 37 + "...' is not a whole number"),
        (["--workers", "0"], "argument --workers: '0': allowed: a whole number from 1 to 256"),
        (["--workers", "100000"], "argument --workers: '100000': allowed: a whole number from 1"),
        (["--replications", "0"], "argument --replications: '0': allowed: a whole number ≥ 1"),
        (["--replications", "1000000"], "--replications: 1,000,000; allowed: at most 10,000, "
         "or --allow-large"),
        (["--horizon", "1e400d"], "--horizon: "),
        (["--horizon", "1e9d"], "--horizon: '1e9d' is 8.64e+13 s; allowed: a duration up to 100"),
        (["--horizon", "0d"], "--horizon: '0d'; allowed: a duration from 1 s to 100 years"),
        (["--horizon", "1e-300s"], "--horizon: '1e-300s'; allowed: a duration from 1 s to"),
        (["--warmup", "200y"], "--warmup: "),
        (["--warmup", "40000d"], "--warmup: '40000d' is 3.456e+09 s; allowed: a duration up to"),
        (["--horizon", "5000w"], None),  # legal, but 96 years × 5 replications is too large
    ],
)  # fmt: skip
def test_a_bad_simulation_flag_is_one_line_and_exit_2(argv, message, capsys):
    try:
        code = main(["run", "pilot_sulfide_200mwh", "--no-store", *argv])
    except SystemExit as exc:  # argparse's own errors leave through the parser
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("linesim: error: ") and "Traceback" not in err
    if message is None:
        assert "too large to start" in last and "--allow-large" in last
    else:
        assert message in last


def test_validate_refuses_a_line_whose_default_run_is_too_large(tmp_path, capsys):
    path = tmp_path / "fastest.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            name: fastest
            product: {energy_kwh: 0.3}
            stations:
              - {id: a, kind: discrete, cycle_time_s: 0.001}
              - {id: b, kind: discrete, cycle_time_s: 0.001}
            """
        ),
        encoding="utf-8",
    )
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(
        f"linesim: error: {path}: a default run (--horizon 30d, --replications 5)"
    )
    assert "too large to start" in err and "--allow-large" in err


def simulation_flags(*argv: str):
    """The simulation flags of ``run`` as parsed from ``argv``."""
    parser = options.Parser()
    options.add_simulation(parser)
    return parser.parse_args(list(argv))


def test_an_endless_auto_warmup_is_refused_naming_the_flag():
    """Maintenance taking all of a station's working time leaves it no static capacity: the
    engines still run it, but the line's flow time (the auto warm-up) has no end."""
    calendar = {"shifts_per_day": 1, "hours_per_shift": 1.0, "days_per_week": 1}
    pm = {"every_h": 1.0, "duration_h": 0.5}
    spec = make_line(
        [station(buffer_after=5), station(id="b", planned_maintenance=pm)], calendar=calendar
    )
    with pytest.raises(UsageError, match=r"^--warmup: auto gives inf days .* allowed: an explicit"):
        options.simulation_window(spec, simulation_flags())
    assert options.simulation_window(spec, simulation_flags("--warmup", "2d"))[1] == 172_800


def test_allow_large_lets_a_refused_run_start(monkeypatch):
    """The override reaches the engine (a stub here: the run itself would take hours)."""
    import linesim.experiments

    started = []
    monkeypatch.setattr(linesim.experiments, "replicate", lambda *a, **k: started.append(a) or [])
    spec = make_line([station(cycle_time_s=0.001), station(id="b", cycle_time_s=0.001)])
    with pytest.raises(UsageError, match="too large to start"):
        options.simulate_from_args(spec, simulation_flags())
    assert started == []
    options.simulate_from_args(spec, simulation_flags("--allow-large"))
    assert len(started) == 1


# --- 4. memory linear in machines, and a ceiling for the largest lines --------------------------
def _sizes(machines: int, stations: int = 1):
    spec = make_line([station(id=f"s{k}", machines=machines) for k in range(stations)])
    state, streams = fast._build(spec, np.random.default_rng(1), 3600.0, 0.0)
    return sum(a.nbytes for a in state), streams.block


def test_state_memory_is_linear_in_machines():
    (small, b1), (mid, b2), (big, b3) = (_sizes(n) for n in (100, 1000, 1900))
    assert b1 == b2 == b3  # the stream blocks do not grow with machines
    per_machine = (big - mid) / 900
    # linear (above the two event heaps' first sizes, each with a floor of 64)
    assert math.isclose((mid - small) / 900, per_machine, rel_tol=0.1)
    assert per_machine < 1000  # bytes: the machine tables, rings and heap, nothing per pair
    # before: blocks of 4 × machines numbers per stream row, machines × groups in all
    assert _sizes(2000, stations=5)[1] == _sizes(10, stations=5)[1]


def test_first_draws_of_many_machines_are_those_of_one_long_stream(monkeypatch):
    monkeypatch.setattr(fast, "_MIN_BLOCK", 257)
    spec = make_line([station(machines=5000, mtbf_h=10.0, mttr_h=1.0)])
    state, streams = fast._build(spec, np.random.default_rng(4), 3600.0, 0.0)
    assert streams.block < 5000  # so the builder refilled while drawing
    root = fast.stream_root(np.random.default_rng(4))
    clock = generators(root, 0, 0)[fast.K.STREAM.FAILURE]
    expected = 36_000.0 * clock.standard_exponential(5000)
    assert np.array_equal(state.machine_float[:, fast.K.MF.TTF], expected)


def test_ten_thousand_stations_are_refused_and_a_thousand_build_within_a_ceiling():
    """Validation of 10,000 stations fails on the count, and the largest legal line — 1,000
    stations of 10 machines — builds in well under 1 GiB (it asked 16 GB before)."""
    many = [station(id=f"s{k}") for k in range(10_000)]
    tracemalloc.start()
    with pytest.raises(ConfigError, match="stations"):
        line_from_dict({"name": "x", "product": {"energy_kwh": 0.3}, "stations": many})
    spec = make_line([station(id=f"s{k}", machines=10, buffer_after=100) for k in range(1000)])
    state, _ = fast._build(spec, np.random.default_rng(1), 3600.0, 0.0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 400 * 2**20
    assert fast.state_size(spec).nbytes < 200 * 2**20


def test_validate_of_ten_thousand_stations_in_a_process_under_a_memory_limit(tmp_path):
    path = tmp_path / "wide.yaml"
    stations = "\n".join(
        f"  - {{id: s{k}, kind: discrete, cycle_time_s: 5}}" for k in range(10_000)
    )
    path.write_text(f"name: wide\nproduct: {{energy_kwh: 0.3}}\nstations:\n{stations}\n")
    limit = 2 << 30

    def cap():  # pragma: no cover - runs in the child
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    proc = subprocess.run(
        [sys.executable, "-m", "linesim", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=cap,
        cwd=ROOT,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"linesim: error: {path}: stations: ")
