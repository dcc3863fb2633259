"""One invariant suite over every bundled config and over random lines (hypothesis)."""

import math

from conftest import make_line
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linesim import kpis
from linesim.capacity import capacity_report
from linesim.config import load_line
from linesim.simulation import simulate
from linesim.simulation.records import TIME_ACCOUNTS

H = 3600.0


def check_invariants(spec, r):
    # conservation, counted cell by cell
    shipped = r.shipped_defective_total
    assert r.started_total == r.good_total + shipped + r.scrapped_total + r.in_process_at_end
    assert r.good + r.shipped_defective + r.scrapped <= r.good_total + shipped + r.scrapped_total
    assert r.exits == r.good + r.shipped_defective + r.scrapped
    for s in r.stations:
        times = [getattr(s, name) for name in TIME_ACCOUNTS]
        assert math.isclose(sum(times), s.machines * r.horizon_s, rel_tol=1e-9, abs_tol=1e-6)
        assert min(times) >= -1e-6
        assert s.defects_made + s.startup_scrap_cells <= s.processed
    y = kpis.simulated_line_yield(r)
    if any(s.processed for s in r.stations):
        assert 0.0 <= y <= 1.0
    else:  # nothing measured in the window
        assert math.isnan(y)


def test_bundled_config_invariants(bundled_config):
    spec = load_line(bundled_config)
    r = simulate(spec, 3 * 24 * H, 9 * 24 * H, rng=1)
    check_invariants(spec, r)
    assert r.good > 0
    # Never faster than the static maximum (which assumes no blocking or starving), give or
    # take what batch machines hold: every batch in process may finish inside the window.
    # (Only for bundled lines: their windows hold many failures and repairs, so the output
    # rate is close to its mean; a 20 h random line with MTBF 1 h is not.)
    rep = capacity_report(spec)
    held = sum(s.machine_count * (s.batch_size or 1) for s in spec.stations if s.kind == "batch")
    slack = (held + 2) / (r.horizon_s / H)
    assert kpis.good_cells_per_h(r) <= rep.max_good_cells_per_h * 1.05 + slack


dist = st.sampled_from(["deterministic", "exponential", "lognormal", "gamma"])


@st.composite
def lines(draw):
    stations = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["discrete", "batch"]))
        s = {
            "kind": kind,
            "cycle_time_s": draw(st.floats(5, 60)),
            "machines": draw(st.integers(1, 3)),
            "defect_probability": draw(st.floats(0, 0.3)),
            "buffer_after": draw(st.integers(0, 5)),
        }
        if kind == "batch":
            s["batch_size"] = draw(st.integers(1, 5))
            if draw(st.booleans()):
                s["max_wait_s"] = draw(st.floats(10, 200))
        d = draw(dist)
        s["process_time_dist"] = d
        if d in ("lognormal", "gamma"):
            s["process_time_cv"] = draw(st.floats(0.1, 1.5))
        if draw(st.booleans()):
            s["mtbf_h"], s["mttr_h"] = draw(st.floats(0.2, 5)), draw(st.floats(0.01, 0.5))
        stations.append(s)
    n = len(stations)
    for k, s in enumerate(stations):
        if draw(st.booleans()):
            s["detected_at"] = f"s{draw(st.integers(k, n - 1))}"
    return make_line(stations)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines(), st.integers(0, 2**32 - 1))
def test_random_line_invariants(spec, seed):
    r = simulate(spec, 20 * H, 2 * H, rng=seed)
    check_invariants(spec, r)
