"""The machine-state timeline (linesim.simulation.trace) against the engine's own accounts and
against theory: states tile the window, a lone machine's busy share is its availability, its
down intervals are its failures (Poisson) and last MTTR on average."""

import math

import pytest
from conftest import make_line

from linesim.errors import UsageError
from linesim.simulation import simulate_once
from linesim.simulation.trace import STATES, machine_states, working_pieces

H = 3600.0
TWO_SHIFTS = {"shifts_per_day": 2, "hours_per_shift": 8, "days_per_week": 6}


def _every_feature_line():
    """Breakdowns, minor stops, maintenance, changeovers, rework, a batch station, blocking,
    a shift calendar beside a continuous station."""
    return make_line(
        [
            {
                "kind": "discrete",
                "cycle_time_s": 30,
                "process_time_dist": "lognormal",
                "process_time_cv": 0.5,
                "buffer_after": 2,
                "mtbf_h": 1,
                "mttr_h": 0.1,
                "minor_stops": {"mean_between_s": 600, "mean_duration_s": 40},
                "planned_maintenance": {"every_h": 10, "duration_h": 0.5},
                "changeover": {"every_cells": 50, "duration_s": 200, "scrap_cells": 1},
                "calendar": TWO_SHIFTS,
            },
            {
                "kind": "batch",
                "batch_size": 4,
                "cycle_time_s": 100,
                "machines": 2,
                "buffer_after": 1,
                "max_wait_s": 300,
                "calendar": "continuous",
            },
            {
                "kind": "discrete",
                "cycle_time_s": 20,
                "defect_probability": 0.1,
                "rework": {"fraction": 0.5, "time_s": 60, "max_attempts": 1},
                "calendar": TWO_SHIFTS,
            },
        ],
        calendar={"hours_per_year": 7920},
    )


def test_states_tile_the_window_and_add_up_to_the_runs_accounts():
    start, end = 20 * H, 60 * H  # across shift ends and a day off (day 6 from 144 h: not here)
    trace = machine_states(_every_feature_line(), start, end, rng=5)
    assert [(m.station, m.machine) for m in trace.machines] == [
        ("s0", 0),
        ("s1", 0),
        ("s1", 1),
        ("s2", 0),
    ]
    for m in trace.machines:
        iv = m.intervals
        assert iv[0][0] == start and iv[-1][1] == end
        assert all(a < b for a, b, _ in iv)
        assert all(b == a2 for (_, b, _), (a2, _, _) in zip(iv, iv[1:])), "a gap or overlap"
    seen = {state for m in trace.machines for _, _, state in m.intervals}
    assert seen == set(STATES), seen  # the line shows every state
    for s in trace.result.stations:
        seconds = trace.seconds(s.id)
        for state in STATES:
            assert math.isclose(
                seconds[state], getattr(s, state + "_s"), rel_tol=1e-9, abs_tol=1e-6
            )
    # the same replication as a run without the recorder
    plain = simulate_once(_every_feature_line(), end - start, start, 5)
    assert plain == trace.result


def test_a_lone_machines_busy_share_and_down_intervals_follow_theory():
    # A = MTBF / (MTBF + MTTR) = 2 / 2.5 = 0.8; failures ~ Poisson(busy time / MTBF), repairs
    # exponential with mean MTTR; a 60 s cycle rarely holds two failures (P ≈ 1e-5)
    mtbf_h, mttr_h, hours = 2.0, 0.5, 600.0
    line = make_line([{"kind": "discrete", "cycle_time_s": 60, "mtbf_h": mtbf_h, "mttr_h": mttr_h}])
    trace = machine_states(line, 0.0, hours * H, rng=11)
    (m,) = trace.machines
    busy = sum(b - a for a, b, s in m.intervals if s == "busy")
    downs = [b - a for a, b, s in m.intervals if s == "down"]
    n = hours * 0.8 / mtbf_h  # expected failures: 240
    assert abs(len(downs) - busy / H / mtbf_h) <= 4 * math.sqrt(n)
    assert abs(sum(downs) / len(downs) / H - mttr_h) <= 4 * mttr_h / math.sqrt(len(downs))
    assert abs(busy / (hours * H) - 0.8) <= 0.05  # 4 σ of 240 repairs' total: 0.05


def test_a_fast_station_after_a_slow_one_is_starved_between_cells():
    # deterministic 20 s then 5 s: station 1 is busy 5 s and starved 15 s of every 20 s
    line = make_line(
        [{"kind": "discrete", "cycle_time_s": 20}, {"kind": "discrete", "cycle_time_s": 5}]
    )
    trace = machine_states(line, 100.0, 100.0 + 2 * H, rng=1)
    fast = trace.machines[1].intervals
    pattern = [(round(b - a, 9), s) for a, b, s in fast[1:-1]]
    assert set(pattern) == {(5.0, "busy"), (15.0, "starved")}
    assert trace.seconds("s1")["busy"] == pytest.approx(2 * H / 4, abs=5.0)


def test_calendar_pieces_and_refusals():
    day = 86400.0
    # 8 h from midnight, 6 days a week: 7:00 to day 1, 9:00 is 1 h working, 16 h off, 8 h, 1 h off
    assert working_pieces(7 * H, day + 9 * H, 8 * H, 6) == [
        (7 * H, 8 * H, True),
        (8 * H, day, False),
        (day, day + 8 * H, True),
        (day + 8 * H, day + 9 * H, False),
    ]
    # day 6 (Sunday) is off until the next week
    assert working_pieces(6 * day + H, 7 * day + H, 8 * H, 6) == [
        (6 * day + H, 7 * day, False),
        (7 * day, 7 * day + H, True),
    ]
    assert working_pieces(3.0, 5.0, 0.0, 7) == [(3.0, 5.0, True)]
    line = make_line([{"kind": "discrete", "cycle_time_s": 1}])
    with pytest.raises(UsageError, match="start_s < end_s"):
        machine_states(line, 5.0, 5.0)
    with pytest.raises(UsageError, match="shorter window"):
        machine_states(line, 0.0, H, limit=100)
