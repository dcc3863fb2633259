"""The fast engine held to the SimPy engine exactly: same spec, same seed → the same record.

Both engines read the same random streams (one per station, option and purpose) and schedule
their events in the same order, so every counter, every time sum and every WIP sample must be
equal — not just close. Statistical agreement follows; the closed-form tests in
``test_engine_theory.py`` run on both engines as well.

The identity tests carry the ``identity`` marker. Run them with numba's bounds checking (the
kernel then compiles afresh and bypasses its on-disk cache)::

    NUMBA_BOUNDSCHECK=1 python -m pytest tests/test_fast_engine.py -q -p no:cacheprovider
"""

import contextlib
import dataclasses
import json

import numba
import numpy as np
import pytest
from conftest import ROOT, make_line
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from test_invariants import check_invariants

from linesim.config import load_line
from linesim.experiments import replicate
from linesim.simulation import UnsupportedByFastEngine, fast, simulate
from linesim.simulation import fast_kernel as K
from linesim.summary import summarise

H = 3600.0
identity = pytest.mark.identity


def both(spec, horizon_s, warmup_s, seed):
    a = simulate(spec, horizon_s, warmup_s, rng=seed, engine="fast")
    b = simulate(spec, horizon_s, warmup_s, rng=seed, engine="simpy")
    return a, b


def assert_identical(a, b):
    da, db = dataclasses.asdict(a), dataclasses.asdict(b)
    assert (da.pop("engine"), db.pop("engine")) == ("fast", "simpy")
    diff = {k: (da[k], db[k]) for k in da if da[k] != db[k]}
    assert not diff, str(diff)[:2000]


# --- a generator of small lines with every feature both engines model --------------------------
# Station kinds with their capacity fields; equipment options with counts (zero counts too);
# breakdowns; defects detected where made or later; buffers (zero too); batch loading with and
# without max_wait_s; the four process-time distributions; process windows: speed, press, and
# dry-room exposure (rate 0 too, a queue-time limit, the line's dew point or the station's own)
# with dry_room stations. Half the lines are "tied": deterministic times and round numbers, so
# that many events fall at equal times and the order of ties is tested. Runs stay at a few
# thousand cells so that SimPy's side stays fast.

ROUND = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)


def number(lo, hi, tied):
    """A number in [lo, hi]: often a round one, always on a tied line."""
    rounds = st.sampled_from([x for x in ROUND if lo <= x <= hi])
    return rounds if tied else rounds | st.floats(lo, hi)


@st.composite
def capacity(draw, kind, tied):
    """The capacity fields of one machine of ``kind`` (about 2–60 s per cell)."""
    if kind == "continuous":
        return {
            "web_width_m": draw(number(0.2, 1.0, tied)),
            "web_speed_m_per_min": draw(number(1.0, 10.0, tied)),
            "area_per_cell_m2": draw(number(0.5, 2.0, tied)),
        }
    if kind == "sheet":
        return {
            "time_per_sheet_s": draw(number(0.2, 2.0, tied)),
            "sheets_per_cell": draw(number(2.0, 30.0, tied)),
        }
    if kind == "discrete":
        return {"cycle_time_s": draw(number(5.0, 60.0, tied))}
    unit = draw(st.integers(1, 5))
    return {"batch_size": unit, "cycle_time_s": unit * draw(number(5.0, 60.0, tied))}


@st.composite
def machine_fields(draw, kind, tied):
    """What an equipment option (or a station without options) sets per machine."""
    out = draw(capacity(kind, tied))
    out["defect_probability"] = draw(st.sampled_from([0.0, 0.01, 0.2]) | st.floats(0.0, 0.4))
    if draw(st.integers(0, 2)) == 0:
        out["mtbf_h"], out["mttr_h"] = draw(st.floats(0.2, 5.0)), draw(st.floats(0.01, 0.5))
    return out


@st.composite
def exposure_window(draw):
    window = {
        "model": "exposure",
        "rate_per_h": draw(st.sampled_from([0.0]) | st.floats(0.0, 20.0)),
    }
    if draw(st.booleans()):
        window["reference_dew_point_c"] = draw(st.floats(-60.0, -30.0))
    if draw(st.booleans()):
        window["dew_point_c"] = draw(st.floats(-70.0, -20.0))  # else the line's dry room's
    if draw(st.booleans()):
        window["queue_time_limit_h"] = draw(st.floats(0.002, 0.5))
    return window


@st.composite
def station(draw, tied):
    kind = draw(st.sampled_from(["continuous", "sheet", "discrete", "batch"]))
    s = {"kind": kind, "buffer_after": draw(st.integers(0, 4)), "dry_room": draw(st.booleans())}
    dist = (
        "deterministic"
        if tied
        else draw(st.sampled_from(["deterministic", "exponential", "lognormal", "gamma"]))
    )
    s["process_time_dist"] = dist
    if dist in ("lognormal", "gamma"):
        s["process_time_cv"] = draw(st.floats(0.1, 1.5))
    if kind == "batch" and draw(st.integers(0, 2)):
        s["max_wait_s"] = draw(number(5.0, 300.0, tied))
    if draw(st.integers(0, 2)) == 0:  # equipment options with counts (then no process window)
        n = draw(st.integers(2, 3))
        counts = [draw(st.integers(0, 2)) for _ in range(n)]
        if sum(counts) == 0:
            counts[draw(st.integers(0, n - 1))] = 1
        s["options"] = [{"name": f"o{k}", **draw(machine_fields(kind, tied))} for k in range(n)]
        s["machines"] = {f"o{k}": c for k, c in enumerate(counts)}
        return s
    s.update(draw(machine_fields(kind, tied)))
    s["machines"] = draw(st.integers(1, 3))
    s.update(draw(losses(s, tied)))
    window = draw(st.sampled_from(["none", "exposure", "exposure", "other"]))
    if window == "exposure":
        s["process"] = draw(exposure_window())
    elif window == "other" and kind == "continuous":  # web speed and p from the speed
        s["process"] = {
            "model": "speed",
            "speed_m_per_min": s.pop("web_speed_m_per_min"),
            "nominal_speed_m_per_min": draw(number(1.0, 10.0, tied)),
            "p_nominal": s.pop("defect_probability") / 2,
        }
    elif window == "other" and kind in ("batch", "discrete"):  # cycle time and p from the press
        hold = s.pop("cycle_time_s") / 2
        s["process"] = {
            "model": "press",
            "pressure_mpa": draw(st.floats(100.0, 500.0)),
            "hold_s": hold,
            "nominal_pressure_mpa": 300.0,
            "nominal_hold_s": hold,
            "handling_s": hold,
            "p_nominal": s.pop("defect_probability") / 2,
            "added_defect_probability": draw(st.sampled_from([0.0, 0.02])),
        }
    return s


DRY_ROOM_COST = {
    "currency": {"cny_per_usd": 7.2, "rate_date": "2025-12-01"},
    "building": {"usd_per_m2": 1500},
    "labour": {"wage_usd_per_h": 9.0},
    "electricity": {"usd_per_kwh": 0.09},
    "dry_room_classes": [{"dew_point_c": -70, "usd_per_m2": 6000, "power_w_per_m2": 200}],
}


@st.composite
def any_lines(draw, max_stations=5):
    """A valid small line drawing every feature of the model (see the comment above)."""
    tied = draw(st.booleans())
    stations = [draw(station(tied)) for _ in range(draw(st.integers(1, max_stations)))]
    n = len(stations)
    for k, s in enumerate(stations):
        if draw(st.integers(0, 2)) == 0:
            s["detected_at"] = f"s{draw(st.integers(k, n - 1))}"
    cost = {
        **DRY_ROOM_COST,  # the line's dry room: the dew point of windows without their own
        "dry_room": {
            "area_m2": draw(st.sampled_from([0.0, 500.0])),
            "dew_point_c": draw(st.floats(-65.0, -20.0)),
        },
    }
    detecting = {
        k if "detected_at" not in s else int(s["detected_at"][1:]) for k, s in enumerate(stations)
    }
    for k in sorted(detecting):
        s = stations[k]
        if draw(st.integers(0, 2)) == 0:
            s["detection_efficiency"] = draw(st.sampled_from([0.0, 0.5]) | st.floats(0.0, 1.0))
        if s["kind"] != "batch" and draw(st.integers(0, 1)) == 0:
            s["rework"] = {
                "fraction": draw(st.sampled_from([1.0]) | st.floats(0.0, 1.0)),
                "time_s": draw(number(1.0, 60.0, tied)),
                "max_attempts": draw(st.integers(1, 3)),
            }
    extra = {}
    if draw(st.booleans()):
        extra["calendar"] = draw(shift_pattern())
    return make_line(stations, cost=cost, **extra)


@st.composite
def shift_pattern(draw):
    """A working pattern whose shifts end within the test's few simulated hours."""
    shifts = draw(st.integers(1, 3))
    return {
        "shifts_per_day": shifts,
        "hours_per_shift": draw(st.sampled_from([1.0, 2.0]) | st.floats(0.5, 24.0 / shifts)),
        "days_per_week": draw(st.integers(1, 7)),
    }


@st.composite
def losses(draw, s, tied):
    """The losses of a station beyond breakdowns, each on a third of the time."""
    out = {}
    if draw(st.integers(0, 2)) == 0:
        out["calendar"] = draw(st.just("continuous") | shift_pattern())
    if draw(st.integers(0, 2)) == 0:
        every = draw(number(0.2, 3.0, tied))
        out["planned_maintenance"] = {
            "every_h": every,
            "duration_h": every * draw(st.floats(0.01, 0.5)),
        }
    if draw(st.integers(0, 2)) == 0:
        if s["kind"] == "continuous" and draw(st.booleans()):
            co = {"every_m": draw(st.floats(0.5, 200.0)), "scrap_m": draw(st.floats(0.0, 5.0))}
        else:
            every = draw(st.integers(1, 40))
            co = {"every_cells": every, "scrap_cells": draw(st.integers(0, every - 1))}
        co["duration_s"] = draw(st.sampled_from([0.0]) | number(1.0, 600.0, tied))
        out["changeover"] = co
    if draw(st.integers(0, 2)) == 0:
        out["minor_stops"] = {
            "mean_between_s": draw(number(5.0, 600.0, tied)),
            "mean_duration_s": draw(number(1.0, 60.0, tied)),
        }
    return out


# --- identity ----------------------------------------------------------------------------------


@identity
@pytest.mark.parametrize(
    "name, days",
    [
        ("pilot_sulfide_200mwh", 14),
        ("pilot_oxide", 14),
        ("gwh_polymer", 3),
        ("gwh_sulfide_4gwh", 2),
    ],
)
def test_bundled_lines_identical(name, days):
    spec = load_line(name)
    a, b = both(spec, days * 24 * H, 24 * H, seed=5)
    assert a.started > 1000 and a.stations[-1].processed > 0 or days < 7
    assert_identical(a, b)


@identity
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_lines(), st.integers(0, 2**32 - 1))
def test_random_lines_identical(spec, seed):
    a, b = both(spec, 10 * H, 1 * H, seed)
    check_invariants(spec, a)
    assert_identical(a, b)


#: What the identity test must reach, as predicates on a generated line.
FEATURES = {
    "options with counts": lambda spec: any(
        len(s.options) > 1 and sorted(s.machines.values())[-2:] == [1, 2] for s in spec.stations
    ),
    "a zero-count option": lambda spec: any(
        s.options and 0 in s.machines.values() for s in spec.stations
    ),
    "exposure at the line's dew point, with a queue-time limit": lambda spec: any(
        s.process
        and s.process.model == "exposure"
        and s.process.dew_point_c is None
        and s.process.rate_per_h > 0
        and s.process.queue_time_limit_h
        for s in spec.stations
    ),
    "a dry-room station before an exposed one": lambda spec: any(
        a.dry_room and b.process and b.process.model == "exposure"
        for a, b in zip(spec.stations, spec.stations[1:])
    ),
    "speed window": lambda spec: any(
        s.process and s.process.model == "speed" for s in spec.stations
    ),
    "press window": lambda spec: any(
        s.process and s.process.model == "press" for s in spec.stations
    ),
    **{
        f"{kind}, several machines": lambda spec, k=kind: any(
            s.kind == k and s.machine_count > 1 for s in spec.stations
        )
        for kind in ("continuous", "sheet", "discrete", "batch")
    },
    "batch with max_wait_s": lambda spec: any(
        s.max_wait_s and s.machine_count > 1 and (s.batch_size or 0) > 1 for s in spec.stations
    ),
    "late detection": lambda spec: any(
        s.detected_at and spec.station_index(s.detected_at) > i for i, s in enumerate(spec.stations)
    ),
    "breakdowns": lambda spec: any(e.mtbf_h for s in spec.stations for e in s.equipment()),
    "a line calendar of shifts": lambda spec: not spec.calendar.round_the_clock,
    "a station on its own shifts": lambda spec: any(
        s.calendar not in (None, "continuous") for s in spec.stations
    ),
    "a continuous station on a shift line": lambda spec: (
        not spec.calendar.round_the_clock and any(s.calendar == "continuous" for s in spec.stations)
    ),
    "planned maintenance, several machines": lambda spec: any(
        s.planned_maintenance and s.machine_count > 1 for s in spec.stations
    ),
    "changeover by metres with scrap": lambda spec: any(
        s.changeover and s.changeover.every_m and s.changeover.scrap_m for s in spec.stations
    ),
    "changeover by cells with scrap, batch": lambda spec: any(
        s.changeover and s.changeover.scrap_cells and s.kind == "batch" for s in spec.stations
    ),
    "minor stops": lambda spec: any(s.minor_stops for s in spec.stations),
    "rework, several attempts, late detection": lambda spec: any(
        s.rework and s.rework.max_attempts > 1 and any(t.detected_at == s.id for t in spec.stations)
        for s in spec.stations
    ),
    "escapes with rework": lambda spec: any(
        s.rework and 0 < s.detection_efficiency < 1 for s in spec.stations
    ),
    "escapes at a batch station": lambda spec: any(
        s.kind == "batch" and s.detection_efficiency < 1 for s in spec.stations
    ),
    "a buffer": lambda spec: any(s.buffer_after > 1 for s in spec.stations[:-1]),
    **{
        dist: lambda spec, d=dist: any(s.process_time_dist == d for s in spec.stations)
        for dist in ("deterministic", "exponential", "lognormal", "gamma")
    },
}


class _EverySeen(Exception):
    """Every feature has been drawn: the rest of the examples cannot change the answer."""


def test_the_generator_draws_every_feature():
    # within 300 examples; it stops at the first that completes the set (the 37th on
    # 2026-12-02: 0.8 of the 4.3 CPU-s that drawing all 300 took)
    seen = set()

    @settings(
        max_examples=300, phases=[Phase.generate], database=None, deadline=None, derandomize=True
    )
    @given(any_lines())
    def draw(spec):
        seen.update(name for name, has in FEATURES.items() if has(spec))
        if seen == set(FEATURES):
            raise _EverySeen

    with contextlib.suppress(_EverySeen):
        draw()
    assert seen == set(FEATURES), set(FEATURES) - seen


@identity
def test_a_loader_handed_a_cell_waits_its_turn():
    # Regression: a batch loader waiting on "a cell or its max_wait deadline" resumes two
    # events after it is handed a cell (the cell's event, then the condition's), as in SimPy;
    # the kernel once resumed it after one, before other events scheduled at the same time.
    spec = make_line(
        [
            {
                "kind": "discrete",
                "cycle_time_s": 5,
                "machines": 2,
                "defect_probability": 0.2,
                "detected_at": "s1",
                "buffer_after": 2,
            },
            {"kind": "batch", "batch_size": 2, "cycle_time_s": 20, "machines": 2},
            {"kind": "batch", "batch_size": 3, "cycle_time_s": 40, "machines": 3, "max_wait_s": 5},
            {"kind": "batch", "batch_size": 3, "cycle_time_s": 40, "machines": 2, "max_wait_s": 10},
            {"kind": "discrete", "cycle_time_s": 5, "machines": 3},
            {"kind": "discrete", "cycle_time_s": 5},
        ]
    )
    a, b = both(spec, 3 * H, 0.5 * H, seed=0)
    assert_identical(a, b)


@identity
def test_a_loader_waiting_again_keeps_one_deadline_event():
    # A loader waits again after each cell it is handed, with the same deadline; the SimPy
    # model schedules a timeout each time, all but the last stale when they come. The kernel
    # keeps one queued deadline event standing for the latest wait (issue 18), and stays
    # identical (ties: deterministic cycles, the deadline on whole seconds).
    spec = make_line(
        [
            {"kind": "discrete", "cycle_time_s": 1},
            {
                "kind": "batch",
                "batch_size": 50,
                "cycle_time_s": 60,
                "machines": 2,
                "max_wait_s": 40,
            },
            {"kind": "discrete", "cycle_time_s": 1},
        ]
    )
    state, streams = fast._build(spec, np.random.default_rng(0), H, 0.0)
    state = fast._run_until(state, streams, 30.5)
    assert state.counts[K.CI.STARTED] >= 30  # ~30 cells handed to the loader, a wait each
    assert state.counts[K.CI.BATCH_LEN] == 1  # its one deadline; no batch in service yet
    a, b = both(spec, 3 * H, 0.5 * H, seed=0)
    assert_identical(a, b)


@identity
def test_block_size_and_heap_growth_do_not_change_results(monkeypatch):
    # tiny blocks and heap: refills and heap growth happen many times during the run
    spec = load_line("pilot_oxide")
    ref = simulate(spec, 2 * 24 * H, 0.0, rng=3, engine="fast")
    monkeypatch.setattr(fast, "_MIN_BLOCK", 257)
    monkeypatch.setattr(fast, "_MIN_HEAP", 1)
    state, streams = fast._build(spec, np.random.default_rng(3), 1.0, 0.0)
    n_machines = len(state.machine_int)
    assert streams.block < 1000 and len(state.heap_time) < 2 * n_machines + 8
    assert simulate(spec, 2 * 24 * H, 0.0, rng=3, engine="fast") == ref
    # the ring of events due now just holds the first events: it grows before the first one
    monkeypatch.setattr(fast, "_due_places", lambda machines: machines + 1)
    state, _ = fast._build(spec, np.random.default_rng(3), 1.0, 0.0)
    assert len(state.due_int) == n_machines + 1 == state.counts[K.CI.DUE_LEN]
    assert simulate(spec, 2 * 24 * H, 0.0, rng=3, engine="fast") == ref


@identity
def test_a_service_far_longer_than_its_mean_reruns_with_room_and_stays_identical(monkeypatch):
    # lognormal services with cv 1 and a minor stop every 10 s: seed 1 draws one service that
    # takes more minor-stop draws than 64 + 20 × the expected count (it raised "a random stream
    # ran dry inside one event" before); the run is redone with more room, the same numbers
    spec = make_line(
        [
            dict(
                id="s0",
                kind="continuous",
                web_width_m=1.0,
                web_speed_m_per_min=1.0,
                area_per_cell_m2=1.0,
                process_time_dist="lognormal",
                process_time_cv=1.0,
                minor_stops={"mean_between_s": 10.0, "mean_duration_s": 1.0},
            )
        ]
    )
    tries = []
    real = fast._simulate
    monkeypatch.setattr(fast, "_simulate", lambda *a: tries.append(dict(a[4])) or real(*a))
    shown = []
    a = simulate(spec, 10 * H, H, rng=1, engine="fast", progress=shown.append)
    assert tries == [{}, {0: 8}]  # the first try ran dry; the group got 8 × the room
    assert shown == sorted(shown) and shown[-1] == 1.0  # progress never went back
    assert_identical(a, simulate(spec, 10 * H, H, rng=1, engine="simpy"))
    # no rerun left: one message naming the station, the stream and the room it had
    monkeypatch.setattr(fast, "_DRY_TRIES", 1)
    with pytest.raises(RuntimeError, match=r"station 's0' took more than \d+ minor-stop draws"):
        simulate(spec, 10 * H, H, rng=1, engine="fast")


@identity
def test_replications_identical_summaries():
    spec = load_line("pilot_sulfide_200mwh")
    reports = [
        summarise(
            spec, replicate(spec, 3 * 24 * H, 12 * 24 * H, 3, seed=2, workers=1, engine=e)
        ).to_dict()
        for e in ("fast", "simpy")
    ]
    assert reports[0].pop("engine") == "fast" and reports[1].pop("engine") == "simpy"
    assert json.dumps(reports[0], sort_keys=True) == json.dumps(reports[1], sort_keys=True)


@settings(max_examples=60, deadline=None)
@given(
    machines=st.lists(
        st.tuples(
            st.sampled_from([K.BUSY, K.BLOCKED, K.STARVED, K.IDLE]),
            st.lists(st.floats(0.0, 1e6), min_size=9, max_size=9),  # accounts
            st.floats(0.0, 1e6),  # since
            st.floats(-1e3, 1e4),  # service end - now
            st.lists(st.floats(0.0, 5e3), min_size=6, max_size=6),  # service parts
        ),
        min_size=1,
        max_size=12,
    ),
    now=st.floats(0.0, 1e6),
)
def test_the_snapshot_of_round_the_clock_machines_is_machine_totals_machine_by_machine(
    machines, now
):
    """The fast engine's column-wise snapshot does what the SimPy engine's ``machine_totals``
    and ``sum()`` do machine by machine: equal to the last bit (a running service giving back
    its future part by part, a running wait adding its past, idle machines as they are), and
    the station's accounts summed by Python's ``sum()`` as the SimPy engine sums them
    (compensated from Python 3.12 on, which no NumPy sum reproduces)."""
    from linesim.simulation.parts import machine_totals

    spec = make_line([{"kind": "discrete", "cycle_time_s": 10, "machines": 12}])
    state, _ = fast._build(spec, np.random.default_rng(1), H, 0.0)
    mi, mf = state.machine_int.copy(), state.machine_float.copy()
    n_acc = K.MF.ACC_OFF - K.MF.ACC_BUSY + 1
    for m, (s, acc, since, ahead, parts) in enumerate(machines):
        mi[m, K.MI.STATE] = s
        mf[m, K.MF.ACC_BUSY : K.MF.ACC_BUSY + n_acc] = acc
        mf[m, K.MF.SINCE] = min(since, now)
        mf[m, K.MF.SERVICE_END] = now + ahead
        mf[m, K.MF.SVC_MAINTENANCE : K.MF.SVC_REWORK + 1] = parts
    state = state._replace(machine_int=mi, machine_float=mf)
    columns = fast._round_the_clock_totals(state, now)
    expected = [
        machine_totals(
            mf[m, K.MF.ACC_BUSY : K.MF.ACC_BUSY + n_acc],
            int(mi[m, K.MI.STATE]),
            float(mf[m, K.MF.SINCE]),
            float(mf[m, K.MF.SERVICE_END]),
            mf[m, K.MF.SVC_MAINTENANCE : K.MF.SVC_REWORK + 1],
            (0.0, 7),
            now,
        )
        for m in range(len(mi))
    ]
    assert [row.tolist() for row in columns] == expected
    assert fast._snapshot(state, now)["acc"] == [[sum(col) for col in zip(*expected)]]


# --- the named state ---------------------------------------------------------------------------


def test_state_arrays_take_their_widths_from_the_layouts():
    spec = load_line("pilot_sulfide_200mwh")  # batch stations, exposure window
    state, _ = fast._build(spec, np.random.default_rng(1), H, 0.0)
    assert state._fields == tuple(K.LAYOUT)
    for name, (dtype, ndim, layout) in K.LAYOUT.items():
        array = getattr(state, name)
        assert (array.dtype, array.ndim) == (np.dtype(dtype), ndim), name
        if layout is not None:
            assert array.shape[-1] == len(layout) == max(layout) + 1, name
    assert len(state.draws) == K.STREAMS * len(state.group_int)
    assert len(state.held_ready) == len(state.held_start) > 0  # tracked: exposure window


def test_docs_name_every_state_column():
    docs = (ROOT / "docs" / "engines.md").read_text(encoding="utf-8")
    for layout in (K.SI, K.SF, K.MI, K.MF, K.GI, K.GF, K.HI, K.CI, K.CF, K.STREAM):
        assert f"`{layout.__name__}`" in docs
        for column in layout:
            assert f"`{column.name}`" in docs, f"{layout.__name__}.{column.name}"
    for field in K.State._fields:
        assert f"`{field}`" in docs, field


@pytest.mark.parametrize(
    "name, bad",
    [
        ("machine_int", lambda a: a[:, :-1].copy()),  # a column short
        ("station_float", lambda a: np.zeros((len(a), len(K.SF) + 1))),  # a column too many
        ("group_int", lambda a: a.astype(np.float64)),  # another dtype: another kernel
        ("held_mark", lambda a: a[:-1].copy()),  # fewer cell places than slots
        ("draw_end", lambda a: a[:-1].copy()),
    ],
)
def test_check_state_refuses_a_mismatched_array(name, bad):
    spec = load_line("pilot_sulfide_200mwh")
    state, _ = fast._build(spec, np.random.default_rng(1), H, 0.0)
    K.check_state(state)
    with pytest.raises((TypeError, ValueError), match=name):
        K.check_state(state._replace(**{name: bad(getattr(state, name))}))


@identity  # with the identity tests, so that the bounds-checked run proves it checks
@pytest.mark.skipif(
    not numba.config.BOUNDSCHECK,
    reason="needs NUMBA_BOUNDSCHECK=1: unchecked, the loop would write past the array",
)
def test_bounds_checking_catches_a_short_array():
    spec = load_line("pilot_oxide")
    state, streams = fast._build(spec, np.random.default_rng(1), H, 0.0)
    state = state._replace(held_mark=state.held_mark[:1].copy())  # check_state would refuse it
    with pytest.raises(IndexError):
        fast._run_until(state, streams, H)


@identity
@pytest.mark.skipif(
    not numba.config.BOUNDSCHECK,
    reason="needs NUMBA_BOUNDSCHECK=1: unchecked, the loop would write before the array",
)
def test_the_kernel_does_not_wrap_negative_indices():
    # numba reads a[-1] as a[len - 1]; the kernel's own functions are compiled without that
    # wrap (no index there is negative), so a negative place is an error, not the last one
    spec = load_line("pilot_oxide")
    state, streams = fast._build(spec, np.random.default_rng(1), H, 0.0)
    state.machine_int[0, K.MI.SLOT] = -1  # the first machine's cell would go to place −1
    with pytest.raises(IndexError):
        fast._run_until(state, streams, H)


def test_numba_code_elsewhere_still_wraps_negative_indices():
    # the kernel's compile without the wrap is its own: other compiled code keeps numpy's rule
    @numba.njit
    def at(a, i):
        return a[i]

    assert K.advance is not None
    assert at(np.arange(5.0), -1) == 4.0


def test_the_loop_refuses_a_table_of_another_width():
    # the loop checks each table's width (LLVM then multiplies rows by a constant), so a
    # state that bypassed check_state fails there instead of reading past its rows
    spec = load_line("pilot_oxide")
    state, _ = fast._build(spec, np.random.default_rng(1), H, 0.0)
    wide = np.zeros((len(state.machine_int), len(K.MI) + 1), dtype=np.int64)
    wide[:, : len(K.MI)] = state.machine_int
    with pytest.raises(ValueError, match="width"):
        K.advance(state._replace(machine_int=wide), H)


def test_trace_is_simpy_only():
    spec = load_line("pilot_oxide")
    with pytest.raises(UnsupportedByFastEngine, match="SimPy engine only"):
        simulate(spec, H, 0.0, rng=1, engine="fast", trace=True)
    assert simulate(spec, H, 0.0, rng=1, trace=True).engine == "simpy"  # auto falls back
