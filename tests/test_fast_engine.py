"""The fast engine held to the SimPy engine exactly: same spec, same seed → the same record.

Both engines read the same random streams (one per station, option and purpose) and schedule
their events in the same order, so every counter, every time sum and every WIP sample must be
equal — not just close. Statistical agreement follows; the closed-form tests in
``test_engine_theory.py`` run on both engines as well.
"""

import dataclasses
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_invariants import check_invariants, lines
from linesim.config import load_line
from linesim.experiments import replicate
from linesim.summary import summarise
from linesim.simulation import UnsupportedByFastEngine, fast, simulate

H = 3600.0


def both(spec, horizon_s, warmup_s, seed):
    a = simulate(spec, horizon_s, warmup_s, rng=seed, engine="fast")
    b = simulate(spec, horizon_s, warmup_s, rng=seed, engine="simpy")
    return a, b


def assert_identical(a, b):
    da, db = dataclasses.asdict(a), dataclasses.asdict(b)
    assert (da.pop("engine"), db.pop("engine")) == ("fast", "simpy")
    diff = {k: (da[k], db[k]) for k in da if da[k] != db[k]}
    assert not diff, str(diff)[:2000]


@pytest.mark.parametrize("name, days", [
    ("pilot_sulfide_200mwh", 14), ("pilot_oxide", 14), ("gwh_polymer", 3),
    ("gwh_sulfide_4gwh", 2),
])
def test_bundled_lines_identical(name, days):
    spec = load_line(f"configs/{name}.yaml")
    a, b = both(spec, days * 24 * H, 24 * H, seed=5)
    assert a.started > 1000 and a.stations[-1].processed > 0 or days < 7
    assert_identical(a, b)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines(), st.integers(0, 2**32 - 1))
def test_random_lines_identical(spec, seed):
    a, b = both(spec, 30 * H, 2 * H, seed)
    check_invariants(spec, a)
    assert_identical(a, b)


def test_block_size_and_heap_growth_do_not_change_results(monkeypatch):
    # tiny blocks and heap: refills and heap growth happen many times during the run
    spec = load_line("configs/pilot_oxide.yaml")
    ref = simulate(spec, 2 * 24 * H, 0.0, rng=3, engine="fast")
    monkeypatch.setattr(fast, "_MIN_BLOCK", 257)
    monkeypatch.setattr(fast, "_MIN_HEAP", 1)
    st_, streams = fast._build(spec, __import__("numpy").random.default_rng(3), 1.0, 0.0)
    n_machines = len(st_[2])
    assert streams.block < 1000 and len(st_[13]) < 2 * n_machines + 8
    assert simulate(spec, 2 * 24 * H, 0.0, rng=3, engine="fast") == ref


def test_replications_identical_summaries():
    spec = load_line("configs/pilot_sulfide_200mwh.yaml")
    reports = [summarise(spec, replicate(spec, 3 * 24 * H, 12 * 24 * H, 3, seed=2, workers=1,
                                         engine=e)).to_dict() for e in ("fast", "simpy")]
    assert reports[0].pop("engine") == "fast" and reports[1].pop("engine") == "simpy"
    assert json.dumps(reports[0], sort_keys=True) == json.dumps(reports[1], sort_keys=True)


def test_trace_is_simpy_only():
    spec = load_line("configs/pilot_oxide.yaml")
    with pytest.raises(UnsupportedByFastEngine, match="SimPy engine only"):
        simulate(spec, H, 0.0, rng=1, engine="fast", trace=True)
    assert simulate(spec, H, 0.0, rng=1, trace=True).engine == "simpy"  # auto falls back
