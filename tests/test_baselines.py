"""The benchmark's baselines model the engines' line: a max-plus recursion (written apart from
the engines) gives the SimPy engine's exit times cell by cell and the fast engine's counts, and
the plain SimPy model counts what the engines count on deterministic lines."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from linesim.config import line_from_dict
from linesim.simulation import simulate

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


CYCLES_S = [12.0, 7.0, 30.0, 9.0, 25.0]  # a bottleneck mid-line and one at the end
BUFFERS = [2, 0, 3, 1]


def _line(defects: bool):
    stations = []
    for k, c in enumerate(CYCLES_S):
        st = {"id": f"s{k}", "kind": "discrete", "cycle_time_s": c, "machines": 1}
        if k < len(BUFFERS):
            st["buffer_after"] = BUFFERS[k]
        if defects:
            st["defect_probability"] = 0.1
        stations.append(st)
    if defects:
        stations[1]["detected_at"] = "s3"  # carried through two stations before it is found
    return line_from_dict({"name": "maxplus", "product": {"energy_kwh": 0.1}, "stations": stations})


@pytest.mark.parametrize("defects", [False, True])
def test_maxplus_gives_the_engines_exit_times(defects):
    """Deterministic times: every exit of the SimPy engine's trace is the recursion's exit time
    of the same cell (found by its start time), with the engine's own scrap decisions fed in;
    and the fast engine's good and scrapped counts are the recursion's."""
    maxplus = _load("maxplus")
    spec = _line(defects)
    horizon_s = 20_000.0
    ref = simulate(spec, horizon_s, 0.0, rng=3, engine="simpy", trace=True)
    fast = simulate(spec, horizon_s, 0.0, rng=3, engine="fast")
    n = len(CYCLES_S)
    exits = {s: (t, kind, i) for t, kind, i, s in ref.trace}  # a cell is named by its start
    buffers = np.array(BUFFERS + [0], dtype=np.int64)
    ring, count = maxplus.new_state(buffers)
    p = np.array([[3600.0 / (3600.0 / c) for c in CYCLES_S]])  # the engines' 1 ÷ rate
    out = np.empty(1)
    kinds = {"good": 0, "scrap": 0}
    scrapped_at: list[int] = []
    finished = 0  # cells the recursion has leave by the horizon
    while True:  # cell by cell: the engine's scrap decision of a cell is known by its start
        start = ring[0, (count[0] - 1) % ring.shape[1]] if count[0] else 0.0
        if start >= horizon_s:
            break
        t, kind, i = exits.get(start, (None, "good", n))  # not in the trace: still in the line
        scrap_at = np.array([i if kind == "scrap" else n], dtype=np.int64)
        assert maxplus.departures.py_func(p, scrap_at, buffers, ring, count, out, horizon_s) == 1
        if out[0] <= horizon_s:
            finished += 1
            assert t is not None, (start, out[0])  # the engine has it leave too
            assert out[0] == pytest.approx(t, rel=1e-12, abs=1e-9), (start, kind)
            kinds[kind] += 1
            if kind == "scrap":
                scrapped_at.append(i)
    # no cell the recursion finishes in the window is missing from the trace
    assert finished == len(exits) > 300
    assert kinds["good"] == ref.good_total == fast.good_total
    assert kinds["scrap"] == ref.scrapped_total == fast.scrapped_total
    assert fast.started_total == ref.started_total == count[0]
    if defects:
        assert kinds["scrap"] > 20
        assert scrapped_at.count(3) > scrapped_at.count(1) == 0  # s1's defects found at s3
    # the bottleneck ran all the time (1 cell per 30 s) and blocked the stations before it
    assert fast.stations[2].processed == pytest.approx(horizon_s / 30.0, abs=2)
    assert fast.stations[0].blocked_s > 0.1 * horizon_s


def _plain_line():
    """A deterministic line with parallel machines, a hand-over (buffer 0), a batch station with
    a loading wait and a bottleneck at the end that blocks the line back to the start."""
    return line_from_dict(
        {
            "name": "plain",
            "product": {"energy_kwh": 0.1},
            "stations": [
                {"id": "a", "kind": "discrete", "cycle_time_s": 10.3, "machines": 1},
                {"id": "b", "kind": "discrete", "cycle_time_s": 35.7, "machines": 4},
                {
                    "id": "c",
                    "kind": "batch",
                    "batch_size": 6,
                    "cycle_time_s": 50.9,
                    "machines": 2,
                    "max_wait_s": 40.0,
                    "buffer_after": 3,
                },
                {"id": "d", "kind": "discrete", "cycle_time_s": 12.1, "machines": 1},
            ],
        }
    )


def test_plain_simpy_counts_what_the_engine_counts():
    """On :func:`_plain_line` the plain SimPy model starts and ships the engine's cells."""
    plain = _load("plain_simpy")
    spec = _plain_line()
    horizon_s = 7_200.0
    eng = simulate(spec, horizon_s, 0.0, rng=1, engine="simpy")
    got = plain.plain_simpy(spec, horizon_s, seed=1)
    assert got == {"started": eng.started_total, "good": eng.good_total, "scrapped": 0}
    assert got["good"] > 400


def test_a_fast_engine_timed_in_a_process_of_its_own_runs_the_same_line():
    """``bench_baselines.py`` and ``bench_visits.py`` time each fast engine in a fresh process
    (``fast_child.py``: a kernel loaded second in a process runs slower): the child runs the
    named line from empty as the engine does here, cell for cell and visit for visit."""
    child = _load("fast_child")
    horizon_s, seed = 4 * 3600.0, 3
    lines = {
        "bench": _load("bench_engine").benchmark_line(),
        "visits:3:2": _load("bench_visits").line(3, 2),
    }
    for name, spec in lines.items():
        here = simulate(spec, horizon_s, 0.0, rng=seed, engine="fast")
        cells, cpu_s, visits = child.child_run("fast", name, horizon_s, seed)
        assert (cells, visits) == (here.started_total, sum(s.processed for s in here.stations))
        assert cells > 0 and cpu_s > 0


def test_the_lean_engine_counts_what_the_engine_counts():
    """``event_floor.py``'s lean engine (what a one-event-per-visit engine could reach) is the
    engines' model where it claims to be: on the deterministic line it starts, ships and
    processes the engine's cells; on the 4 GWh line (random, breakdowns, defects, batches of
    48 to 4,500) every cell it started is shipped, scrapped or still in the line, and it
    starts as many cells an hour as the plain SimPy model of the same structure."""
    floor = _load("event_floor")
    spec = _plain_line()
    horizon_s = 7_200.0
    eng = simulate(spec, horizon_s, 0.0, rng=1, engine="fast")
    got = floor.floor_run(spec, horizon_s, seed=1)
    visits = sum(s.processed for s in eng.stations)
    assert (got["started"], got["good"], got["scrapped"]) == (eng.started_total, eng.good_total, 0)
    assert got["visits"] >= visits  # it counts a service when it starts, the engine when it ends
    from linesim import load_line

    gwh = load_line(ROOT / "configs" / "gwh_sulfide_4gwh.yaml")
    got = floor.floor_run(gwh, 86_400.0, seed=2)
    assert got["started"] == got["good"] + got["scrapped"] + got["in_line"]
    assert got["scrapped"] > 0
    plain = _load("plain_simpy").plain_simpy(gwh, 86_400.0, seed=2)
    assert got["started"] == pytest.approx(plain["started"], rel=0.1)
    # the rolls what-if: each continuous station a batch of a changeover's web in cells
    rolled = floor.rolls(gwh)
    for before, after in zip(gwh.stations, rolled.stations, strict=True):
        if before.kind != "continuous":
            assert after == before
            continue
        eq = before.equipment()[0]
        cells = int(before.changeover.every_m * eq.web_width_m / eq.area_per_cell_m2)
        assert (after.kind, after.batch_size, after.machines) == ("batch", cells, eq.count)
        assert after.buffer_after >= cells
    got = floor.floor_run(rolled, 86_400.0, seed=2)
    assert got["started"] == got["good"] + got["scrapped"] + got["in_line"] > 0


@pytest.mark.parametrize("ties", [False, True])
def test_the_calendar_queue_takes_events_in_the_heaps_order(ties):
    """``queue_churn.py``'s calendar queue (Brown's buckets, BENCHMARKS.md's flat-cost
    candidate) takes events in exactly the binary heap's order by (time, scheduling order),
    times bit for bit — with steps that tie on time at most turns too, where order is seq's."""
    churn = _load("queue_churn")
    assert churn.same_order(n0=300, turns=50_000, ties=ties)
