"""The losses of a real line (calendars, planned maintenance, changeovers, minor stops, rework,
inspection escapes) on both engines, against closed forms.

Tolerances come from the model: deterministic lines are held to the cell (one cycle at each
window edge), their time accounts to float rounding; random ones to a 99.9 % binomial band
(one run, a share of n independent cells) or to the Student-t interval over replications
(``within_theory``). Each theory test is sharp enough to fail on the nearest wrong model,
which some of them assert outright.
"""

import dataclasses
import math

import pytest
from conftest import make_line, within_theory
from scipy import stats

from linesim.simulation import simulate
from linesim.simulation.records import TIME_ACCOUNTS

H = 3600.0
DAY = 24 * H
WEEK = 7 * DAY
Z = stats.norm.ppf(0.9995)  #: two-sided 99.9 % normal quantile (≈ 3.29)
TWO_SHIFTS = {"shifts_per_day": 2, "hours_per_shift": 8, "days_per_week": 7}


@pytest.fixture(params=["simpy", "fast"])
def engine(request):
    """Every test runs on both engines."""
    return request.param


def in_band(count: int, n: int, p: float) -> bool:
    """Whether ``count`` of ``n`` independent cells is in the 99.9 % binomial band of ``p``."""
    return abs(count / n - p) <= Z * math.sqrt(p * (1.0 - p) / n)


def assert_accounts_add_up(r) -> None:
    """Every machine-second of the window is in exactly one time account."""
    for s in r.stations:
        total = sum(getattr(s, name) for name in TIME_ACCOUNTS)
        assert math.isclose(total, s.machines * r.horizon_s, rel_tol=1e-9), (s.id, total)
        assert min(getattr(s, name) for name in TIME_ACCOUNTS) >= -1e-6, s


# --- changeovers -------------------------------------------------------------------------------


@pytest.mark.parametrize("machines", [1, 2])
@pytest.mark.parametrize("scrap", [0, 4])
def test_changeover_every_n_cells(scrap, machines, engine):
    # Per machine, N cells of t, then a change of S: period P = N·t + S with N processed and
    # N − k good (the k first after each change are start-up scrap). A window of whole periods
    # holds exactly m·N completions a machine, give or take one at its edges; the warm-up
    # (1000 s) is past the first change (the first roll has no start-up scrap) and is not
    # aligned with the period.
    n, t, setup = 37, 9.0, 125.0
    period, m = n * t + setup, 60
    line = make_line(
        [
            {
                "kind": "discrete",
                "cycle_time_s": t,
                "machines": machines,
                "changeover": {"every_cells": n, "duration_s": setup, "scrap_cells": scrap},
            }
        ]
    )
    r = simulate(line, m * period, 1000.0, rng=1, engine=engine)
    s = r.stations[0]
    assert abs(s.processed - machines * m * n) <= machines
    assert abs(r.good - machines * m * (n - scrap)) <= machines
    assert abs(s.startup_scrap_cells - machines * m * scrap) <= machines
    assert s.scrapped_here == s.startup_scrap_cells
    assert math.isclose(s.setup_s, machines * m * setup, rel_tol=1e-9)
    assert math.isclose(s.busy_s, machines * m * n * t, rel_tol=1e-9)
    assert_accounts_add_up(r)


def test_changeover_every_metre_converts_to_whole_cells(engine):
    # 0.3 m web, 0.007 m²/cell: 42.857 cells per metre. A 10 m roll holds ⌊428.57⌋ = 428
    # cells, 0.5 m of start-up scrap is ⌈21.43⌉ = 22 cells (rounding would give 429 and 21).
    width, area, speed = 0.3, 0.007, 1.5
    n, scrap, setup = 428, 22, 240.0
    t = area / (width * speed / 60.0)  # s per cell
    period, m = n * t + setup, 40
    line = make_line(
        [
            {
                "kind": "continuous",
                "web_width_m": width,
                "web_speed_m_per_min": speed,
                "area_per_cell_m2": area,
                "changeover": {"every_m": 10.0, "duration_s": setup, "scrap_m": 0.5},
            }
        ]
    )
    r = simulate(line, m * period, 700.0, rng=1, engine=engine)
    s = r.stations[0]
    assert abs(s.processed - m * n) <= 1
    assert abs(r.good - m * (n - scrap)) <= 1
    assert abs(s.startup_scrap_cells - m * scrap) <= 1
    assert math.isclose(s.setup_s, m * setup, rel_tol=1e-9)


# --- planned maintenance -----------------------------------------------------------------------


def test_planned_maintenance_costs_its_share_of_capacity(engine):
    # D every E: (E − D)/t cells per E. The numbers keep every cell start on a whole second,
    # so maintenance starts exactly when due and the period is exactly E (a late start would
    # stretch it by up to one cycle); the window [E, 5E] holds four whole periods.
    t, every, duration = 12.0, 6 * H, 1.5 * H
    line = make_line(
        [
            {
                "kind": "discrete",
                "cycle_time_s": t,
                "planned_maintenance": {"every_h": every / H, "duration_h": duration / H},
            }
        ]
    )
    r = simulate(line, 4 * every, every, rng=1, engine=engine)
    s = r.stations[0]
    capacity = 4 * every / t
    assert abs(s.processed - capacity * (1 - duration / every)) <= 1
    assert math.isclose(s.maintenance_s, 4 * duration, rel_tol=1e-9)
    assert_accounts_add_up(r)


def test_maintenance_takes_working_time_on_a_shift_calendar(engine):
    # 2 × 8 h, maintenance of 2 h every 24 h, cells of 10 s from midnight. The cell started at
    # 16:00 ends at 0:00:10 the next day, where maintenance (due at 24 h) starts; it is due
    # again 24 h later, at the same time. A day: 16 h working − 2 h maintenance = 14 h of
    # cells, so output is (16 − 2)/16 of the shift's capacity, exactly.
    t = 10.0
    line = make_line(
        [
            {
                "kind": "discrete",
                "cycle_time_s": t,
                "calendar": TWO_SHIFTS,
                "planned_maintenance": {"every_h": 24, "duration_h": 2},
            }
        ]
    )
    days = 3
    r = simulate(line, days * DAY, DAY, rng=1, engine=engine)
    s = r.stations[0]
    assert abs(s.processed - days * 14 * H / t) <= 1
    assert math.isclose(s.maintenance_s, days * 2 * H, rel_tol=1e-9)
    assert math.isclose(s.off_shift_s, days * 8 * H, rel_tol=1e-9)
    assert_accounts_add_up(r)


def _staggered_maintenance_s(horizon_s, machines, every, duration):
    """Machine-seconds of maintenance in [0, horizon] when machine k of n first falls due at
    (k + 1)/n · every and then every ``every`` (starts on time)."""
    total = 0.0
    for k in range(machines):
        start = (k + 1) / machines * every
        while start < horizon_s:
            total += min(start + duration, horizon_s) - start
            start += every
    return total


def test_planned_maintenance_is_staggered_over_machines(engine):
    # 3 machines, maintenance of 0.5 h every 6 h: machine k first at 2, 4, 6 h. Windows from
    # t = 0 that end before, inside and after each maintenance tell the stagger apart from
    # every machine due at once (0 then 3 × 0.5 h).
    machines, t, every, duration = 3, 10.0, 6 * H, 0.5 * H
    line = make_line(
        [
            {
                "kind": "discrete",
                "cycle_time_s": t,
                "machines": machines,
                "planned_maintenance": {"every_h": every / H, "duration_h": duration / H},
            }
        ]
    )
    for hours in (1.9, 2.25, 3.0, 4.1, 5.0, 6.4, 8.2, 12.0):
        r = simulate(line, hours * H, 0.0, rng=1, engine=engine)
        got = r.stations[0].maintenance_s
        want = _staggered_maintenance_s(hours * H, machines, every, duration)
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-6), (hours, got, want)
    # output over whole periods: n × (E − D)/t per E, one cell per machine at the edges
    r = simulate(line, 2 * every, every, rng=1, engine=engine)
    assert abs(r.stations[0].processed - machines * 2 * (every - duration) / t) <= machines


# --- calendars ---------------------------------------------------------------------------------


def test_bottleneck_on_two_shifts_makes_two_thirds_of_its_capacity(engine):
    # Line calendar 2 × 8 h, 7 days; bottleneck s1: 2 machines of 14 s = 514.3 cells/h. A cell
    # in process at a shift's end finishes in the next shift (14 s does not divide 8 h), so
    # output over whole days is 16 h × 514.3 per day, to a cell at each edge per machine.
    line = make_line(
        [
            {"kind": "discrete", "cycle_time_s": 5, "buffer_after": 4},
            {"kind": "discrete", "cycle_time_s": 14, "machines": 2, "buffer_after": 4},
            {"kind": "discrete", "cycle_time_s": 4},
        ],
        calendar={**TWO_SHIFTS, "holidays_per_year": 12},
    )
    days = 3
    r = simulate(line, days * DAY, DAY, rng=1, engine=engine)
    assert abs(r.good - days * 16 * H * 2 / 14.0) <= 3
    for s in r.stations:
        assert math.isclose(s.off_shift_s, s.machines * r.horizon_s * 8 / 24, rel_tol=1e-9)
    assert_accounts_add_up(r)
    # holidays are not simulated: they scale the year (8,760 h × (1 − 12 ÷ 365))
    assert math.isclose(r.hours_per_year, 8760 * (1 - 12 / 365))


def test_five_day_week(engine):
    # 2 × 8 h on 5 days: 5/7 × 16/24 of capacity over any whole week (the window starts on a
    # Wednesday, so it wraps a weekend)
    t = 7.0
    pattern = {**TWO_SHIFTS, "days_per_week": 5}
    line = make_line([{"kind": "discrete", "cycle_time_s": t, "calendar": pattern}])
    r = simulate(line, WEEK, 2 * DAY, rng=1, engine=engine)
    share = 5 / 7 * 16 / 24
    assert abs(r.good - share * WEEK / t) <= 1
    assert math.isclose(r.stations[0].off_shift_s, (1 - share) * WEEK, rel_tol=1e-9)
    assert_accounts_add_up(r)


def test_continuous_station_after_a_shift_station_keeps_running(engine):
    # s0 works 16 h a day (5,760 cells); s1 (calendar: continuous) makes 6,171 a day, so it
    # works through the night on what the buffer holds. s1 is busy 5,760 × 14 s a day —
    # more than the 16 h the shift allows — and never off shift.
    line = make_line(
        [
            {"kind": "discrete", "cycle_time_s": 10, "buffer_after": 2500},
            {"kind": "discrete", "cycle_time_s": 14, "calendar": "continuous"},
        ],
        calendar=TWO_SHIFTS,
    )
    days = 3
    r = simulate(line, days * DAY, DAY, rng=1, engine=engine)
    s0, s1 = r.stations
    assert abs(r.good - days * 16 * H / 10) <= 2
    assert s1.off_shift_s == 0.0
    assert math.isclose(s0.off_shift_s, r.horizon_s / 3, rel_tol=1e-9)
    assert abs(s1.busy_s - r.good * 14.0) <= 14.0
    assert s1.busy_s > r.horizon_s * 16 / 24 + 100 * 14.0
    assert math.isclose(s1.busy_s + s1.starved_s, r.horizon_s, rel_tol=1e-9)
    assert_accounts_add_up(r)


# --- minor stops -------------------------------------------------------------------------------


def test_minor_stops_cost_mttr_over_mtbs_plus_mttr(engine):
    # Exponential stops on operating time: throughput = capacity × MTBS/(MTBS + MTTR) = 2/3 of
    # 360 cells/h. A clock running on calendar time would give 1 − MTTR/MTBS = 1/2.
    t, between, duration = 10.0, 40.0, 20.0
    line = make_line(
        [
            {
                "kind": "discrete",
                "cycle_time_s": t,
                "minor_stops": {"mean_between_s": between, "mean_duration_s": duration},
            }
        ]
    )
    runs = [simulate(line, 20 * H, 0.0, rng=100 + k, engine=engine) for k in range(10)]
    rates = [r.stations[0].processed / (r.horizon_s / H) for r in runs]
    share = between / (between + duration)
    assert within_theory(rates, 3600 / t * share)
    assert not within_theory(rates, 3600 / t * (1 - duration / between))
    stopped = [r.stations[0].minor_stop_s / r.horizon_s for r in runs]
    assert within_theory(stopped, 1 - share)


# --- rework and escapes ------------------------------------------------------------------------


@pytest.mark.parametrize("p, fraction, attempts", [(0.3, 1.0, 1), (0.5, 1.0, 3), (0.4, 0.5, 2)])
def test_rework_recovers_defects(p, fraction, attempts, engine):
    # A detected defect is reworked with probability f (time_s = t) and drawn again at p, up
    # to a attempts. Round j (j reworks so far) passes with 1 − p, so yield
    # (1 − p) Σ_{j=0..a} (pf)^j — with f = 1, 1 − p^(a+1). Attempts per cell R:
    # P(R ≥ j) = (pf)^j for j ≤ a, so E[R] = Σ (pf)^j and E[R²] = Σ (2j − 1)(pf)^j; machine
    # load (busy + rework) ÷ (started · t) → 1 + E[R] (1 + p for f = 1, a = 1).
    t = 10.0
    line = make_line(
        [
            {
                "kind": "discrete",
                "cycle_time_s": t,
                "defect_probability": p,
                "rework": {"fraction": fraction, "time_s": t, "max_attempts": attempts},
            }
        ]
    )
    r = simulate(line, 30 * H, 0.0, rng=7, engine=engine)
    s = r.stations[0]
    n = r.exits  # = processed, but for a cell in rework at an edge of the window
    assert abs(s.processed - n) <= 1 and r.shipped_defective == 0
    q = p * fraction
    assert in_band(r.good, n, (1 - p) * sum(q**j for j in range(attempts + 1)))
    assert not in_band(r.good, n, 1 - p)  # rework does recover cells
    mean = sum(q**j for j in range(1, attempts + 1))
    var = sum((2 * j - 1) * q**j for j in range(1, attempts + 1)) - mean**2
    load = (s.busy_s + s.rework_s) / (r.started * t)
    assert abs(load - (1 + mean)) <= Z * math.sqrt(var / n) + 1 / n
    assert math.isclose(s.rework_s, s.reworked_cells * t, rel_tol=1e-9, abs_tol=t)
    assert in_band(s.rework_defect_cells, s.reworked_cells, p)
    assert s.scrapped_here == n - r.good


ESCAPE_LINES = {
    # station p, detection η: defective share p, shipped defective p(1 − η), good 1 − p
    "own station": ([{"kind": "discrete", "cycle_time_s": 10, "defect_probability": 0.2}], 0.2),
    # s0's defects found at s1 with s1's: one inspection for a cell defective at either
    "detected later": (
        [
            {"kind": "discrete", "cycle_time_s": 9, "defect_probability": 0.1, "detected_at": "s1"},
            {"kind": "discrete", "cycle_time_s": 10, "defect_probability": 0.2},
        ],
        1 - 0.9 * 0.8,
    ),
}


@pytest.mark.parametrize("case", ESCAPE_LINES)
def test_detection_efficiency_ships_escaped_defects(case, engine):
    stations, q = ESCAPE_LINES[case]
    eta = 0.7
    stations = [dict(s) for s in stations]
    stations[-1]["detection_efficiency"] = eta
    r = simulate(make_line(stations), 20 * H, H, rng=3, engine=engine)
    n = r.exits
    assert n == r.good + r.shipped_defective + r.scrapped
    assert in_band(r.shipped_defective, n, q * (1 - eta))
    assert in_band(r.good, n, 1 - q)
    assert in_band(r.scrapped, n, q * eta)
    assert not in_band(r.shipped_defective, n, q * eta)  # an escape is a failed detection
    # inspected at the last station, so an escape ships at once
    assert r.stations[-1].escaped_cells == r.shipped_defective


def test_escapes_with_rework(engine):
    # One rework attempt; each inspection detects with η. A defect escapes at the first
    # inspection (p(1 − η)) or after its rework at the second (p·η·p(1 − η)); scrapped when
    # detected twice (p²η²); good otherwise: (1 − p)(1 + pη).
    p, eta = 0.4, 0.6
    line = make_line(
        [
            {
                "kind": "discrete",
                "cycle_time_s": 10,
                "defect_probability": p,
                "detection_efficiency": eta,
                "rework": {"fraction": 1.0, "time_s": 5, "max_attempts": 1},
            }
        ]
    )
    r = simulate(line, 30 * H, 0.0, rng=5, engine=engine)
    n = r.exits
    assert in_band(r.good, n, (1 - p) * (1 + p * eta))
    assert in_band(r.shipped_defective, n, p * (1 - eta) * (1 + p * eta))
    assert in_band(r.scrapped, n, (p * eta) ** 2)
    assert in_band(r.stations[0].reworked_cells, n, p * eta)


# --- a line with every loss: conservation and Little's law -------------------------------------

FULL_LINE = dict(
    stations=[
        {
            "kind": "continuous",
            "web_width_m": 0.3,
            "web_speed_m_per_min": 0.2,
            "area_per_cell_m2": 0.01,  # 360 cells/h
            "defect_probability": 0.02,
            "detected_at": "s2",
            "changeover": {"every_m": 20.0, "duration_s": 600, "scrap_m": 0.1},
            "minor_stops": {"mean_between_s": 1200, "mean_duration_s": 60},
            "buffer_after": 10,
        },
        {
            "kind": "discrete",
            "cycle_time_s": 24,
            "machines": 2,
            "process_time_dist": "gamma",
            "process_time_cv": 0.5,
            "mtbf_h": 8,
            "mttr_h": 0.5,
            "planned_maintenance": {"every_h": 24, "duration_h": 2},
            "buffer_after": 5,
        },
        {
            "kind": "discrete",
            "cycle_time_s": 9,
            "defect_probability": 0.05,
            "rework": {"fraction": 0.8, "time_s": 15, "max_attempts": 2},
            "detection_efficiency": 0.9,
            "minor_stops": {"mean_between_s": 900, "mean_duration_s": 45},
            "buffer_after": 20,
        },
        {
            "kind": "batch",
            "batch_size": 12,
            "cycle_time_s": 200,
            "machines": 2,
            "max_wait_s": 1800,
            "calendar": "continuous",
            "defect_probability": 0.01,
            "detection_efficiency": 0.95,
        },
    ],
    calendar={**TWO_SHIFTS, "days_per_week": 5},
)


def test_full_line_conserves_cells_and_time(engine):
    line = make_line(**FULL_LINE)
    r = simulate(line, 2 * WEEK, DAY, rng=11, engine=engine)
    # every cell started is good, shipped defective, scrapped or still in the line
    assert r.started_total == (
        r.good_total + r.shipped_defective_total + r.scrapped_total + r.in_process_at_end
    )
    assert r.exits == r.good + r.shipped_defective + r.scrapped
    assert_accounts_add_up(r)
    # every loss is at work, so the identities above are tested with it
    s0, s1, s2, s3 = r.stations
    assert s0.setup_s > 0 and s0.startup_scrap_cells > 0 and s0.minor_stop_s > 0
    assert s1.maintenance_s > 0 and s1.down_s > 0 and s1.off_shift_s > 0
    assert s2.rework_s > 0 and s2.escaped_cells > 0 and s2.rework_defect_cells > 0
    assert s3.off_shift_s == 0.0 and s3.escaped_cells > 0 and r.shipped_defective > 0


def test_full_line_obeys_littles_law(engine):
    # ∫ WIP dt over the window = Σ lead times of the cells that left in it, but for the cells
    # in the line at its edges. Here only s0 keeps the shift calendar: the rest of the line
    # (continuous) drains every night, so at 23:00 the line holds at most s0's cell that
    # straddles the shift's end — in since before 16:00, so younger than 23 h. Each edge
    # then moves the balance by less than one cell-day, out of ~6,500 cell-hours (0.4 %).
    stations = [dict(s) for s in FULL_LINE["stations"]]
    for s in stations[1:]:
        s["calendar"] = "continuous"
    line = make_line(stations, calendar=FULL_LINE["calendar"])
    r = simulate(line, 2 * WEEK, DAY + 23 * H, rng=11, engine=engine)
    assert r.in_process_at_end <= 1
    assert abs(r.wip_cell_s - r.lead_time_sum_s) < DAY
    wip, throughput = r.wip_cell_s / r.horizon_s, r.exits / r.horizon_s
    lead = r.lead_time_sum_s / r.exits
    assert math.isclose(wip, throughput * lead, rel_tol=DAY / r.wip_cell_s)
    assert r.stations[1].maintenance_s > 0 and r.stations[2].escaped_cells > 0


# --- no deadlock -------------------------------------------------------------------------------

CROWDED_LINE = dict(
    stations=[
        {
            "kind": "discrete",
            "cycle_time_s": 8,
            "defect_probability": 0.02,
            "detected_at": "s2",
            "buffer_after": 1,
        },
        {
            "kind": "discrete",
            "cycle_time_s": 9,
            "defect_probability": 0.1,
            "rework": {"fraction": 1.0, "time_s": 5, "max_attempts": 3},
            "buffer_after": 0,
        },
        {
            "kind": "discrete",
            "cycle_time_s": 16,
            "machines": 2,
            "process_time_dist": "exponential",
            "defect_probability": 0.05,
            "rework": {"fraction": 0.9, "time_s": 10, "max_attempts": 3},
            "detection_efficiency": 0.95,
            "minor_stops": {"mean_between_s": 600, "mean_duration_s": 30},
            "buffer_after": 2,
        },
        {
            "kind": "batch",
            "batch_size": 6,
            "cycle_time_s": 50,
            "machines": 2,
            "calendar": "continuous",
            "changeover": {"every_cells": 60, "duration_s": 120, "scrap_cells": 1},
            "buffer_after": 1,
        },
        {
            "kind": "discrete",
            "cycle_time_s": 10,
            "calendar": {"shifts_per_day": 3, "hours_per_shift": 7, "days_per_week": 7},
            "planned_maintenance": {"every_h": 10, "duration_h": 1},
            "buffer_after": 0,
        },
        {"kind": "discrete", "cycle_time_s": 7, "mtbf_h": 4, "mttr_h": 0.2},
    ],
    calendar=TWO_SHIFTS,
)


def test_crowded_line_never_deadlocks(engine):
    # Small buffers, rework holding machines, a batch station, three calendars: a day with no
    # good cell would mean the line locked up. Day d is the window [d, d + 1) of the same
    # history (same seed), as the whole run's total confirms.
    line = make_line(**CROWDED_LINE)
    days = 5
    good = []
    for d in range(days):
        r = simulate(line, DAY, d * DAY, rng=2, engine=engine)
        good.append(r.good)
        assert r.started_total == (
            r.good_total + r.shipped_defective_total + r.scrapped_total + r.in_process_at_end
        )
    assert min(good) > 1000, good
    assert sum(good) == simulate(line, days * DAY, 0.0, rng=2, engine=engine).good
    assert r.stations[1].reworked_cells > 0 and r.stations[2].reworked_cells > 0


# --- the engines agree -------------------------------------------------------------------------

IDENTITY_CASES = {
    "full line": (FULL_LINE, WEEK, DAY),
    "crowded line": (CROWDED_LINE, 2 * DAY, 0.5 * DAY),
    "continuous after shifts": (
        dict(
            stations=[
                {"kind": "discrete", "cycle_time_s": 10, "buffer_after": 2500},
                {"kind": "discrete", "cycle_time_s": 14, "calendar": "continuous"},
            ],
            calendar=TWO_SHIFTS,
        ),
        2 * DAY,
        0.3 * DAY,
    ),
}


@pytest.mark.identity
@pytest.mark.parametrize("case", IDENTITY_CASES)
def test_engines_identical_with_losses(case):
    fields, horizon_s, warmup_s = IDENTITY_CASES[case]
    line = make_line(**fields)
    a, b = (simulate(line, horizon_s, warmup_s, rng=9, engine=e) for e in ("fast", "simpy"))
    assert (a.engine, b.engine) == ("fast", "simpy")
    da, db = dataclasses.asdict(a), dataclasses.asdict(b)
    for d in (da, db):
        del d["engine"], d["trace"]
    diff = {k: (da[k], db[k]) for k in da if da[k] != db[k]}
    assert not diff, str(diff)[:2000]


# --- energy and the one OEE the cost model uses ---------------------------------------------------

#: Accounts at full power (processing), at the idle fraction (waiting, stopped, changed over,
#: repaired, maintained) and at none (off shift).
FULL_POWER = {"busy_s", "rework_s"}
NO_POWER = {"off_shift_s"}


def test_machine_energy_is_state_time_times_state_power():
    from linesim.economics.basis import simulated_basis
    from linesim.economics.cost import energy_per_year

    cost = {
        "currency": {"cny_per_usd": 7.0, "rate_date": "2025-12-01"},
        "building": {"usd_per_m2": 1000.0},
        "labour": {"wage_usd_per_h": 20.0},
        "electricity": {"usd_per_kwh": 0.1},
    }
    spec = make_line(
        [
            {
                "kind": "discrete",
                "cycle_time_s": 10,
                "power_kw": 40.0,
                "idle_power_fraction": 0.25,
                "minor_stops": {"mean_between_s": 300, "mean_duration_s": 30},
                "buffer_after": 5,
            },
            {
                "kind": "discrete",
                "cycle_time_s": 13,
                "machines": 2,
                "power_kw": 10.0,
                "idle_power_fraction": 0.6,
                "defect_probability": 0.2,
                "rework": {"fraction": 0.5, "time_s": 20},
                "calendar": TWO_SHIFTS,
                "planned_maintenance": {"every_h": 8, "duration_h": 1},
            },
        ],
        cost=cost,
    )
    runs = [simulate(spec, 3 * DAY, DAY, rng=k, engine="fast") for k in range(2)]
    energy = energy_per_year(spec, simulated_basis(spec, runs))
    year_h = spec.calendar.year_hours
    for station, kw, idle in (("s0", 40.0, 0.25), ("s1", 10.0, 0.6)):
        kwh, hours = 0.0, 0.0
        for r in runs:
            s = next(x for x in r.stations if x.id == station)
            for name in TIME_ACCOUNTS:
                level = 1.0 if name in FULL_POWER else 0.0 if name in NO_POWER else idle
                kwh += kw * level * getattr(s, name) / H  # kW × machine-hours
            hours += r.horizon_s / H
        assert energy.machines_by_station[station] == pytest.approx(kwh / hours * year_h)
    # the second station works 16 h of 24: its off-shift third draws nothing
    assert energy.machines_by_station["s1"] < 2 * 10.0 * year_h * (16 / 24)


def test_one_oee_cost_simulate_uses_the_simulated_oee(capsys):
    import json

    from linesim.cli import main

    argv = ["cost", "pilot_sulfide_200mwh", "--json"]
    assert main(argv) == 0
    static = json.loads(capsys.readouterr().out)
    sim_argv = [*argv, "--simulate", "--horizon", "7d"]  # warm-up: the suggested one
    assert main([*sim_argv, "--replications", "2", "--workers", "1"]) == 0
    simulated = json.loads(capsys.readouterr().out)
    assert static["cost"]["oee"] == pytest.approx(static["capacity"]["static_oee"])
    assert simulated["cost"]["oee"] == pytest.approx(simulated["simulation"]["line_oee"]["mean"])
    for doc in (static, simulated):  # the ramp-up approaches the same OEE
        assert doc["ramp_up"]["oee_mature"] == pytest.approx(doc["cost"]["oee"])
    # the static estimate assumes no station waits for another: it bounds the simulated one
    assert simulated["cost"]["oee"] <= static["cost"]["oee"] + 0.02


#: Line OEE bands (domain.md: pilot lines 0.50–0.65, GWh lines 0.75–0.85).
OEE_BANDS = {
    "pilot_sulfide_200mwh": (0.50, 0.65),
    "pilot_oxide": (0.50, 0.65),
    "gwh_sulfide_4gwh": (0.75, 0.85),
    "gwh_polymer": (0.75, 0.85),
}


@pytest.mark.parametrize("name", sorted(OEE_BANDS))
def test_bundled_lines_simulate_inside_their_oee_band(name):
    from linesim.capacity import suggested_warmup_h
    from linesim.config import load_line
    from linesim.experiments import replicate
    from linesim.summary import summarise

    spec = load_line(name)
    runs = replicate(spec, 14 * DAY, suggested_warmup_h(spec) * H, 4, seed=1, workers=1)
    oee = summarise(spec, runs).line_oee
    low, high = OEE_BANDS[name]
    assert low <= oee.ci95_low and oee.ci95_high <= high, (name, oee)


def test_line_oee_reference_works_the_line_calendar(engine):
    # a two-shift station feeding a slower continuous one: per calendar day the shift station
    # can make 360 × 16 = 5,760 cells, the continuous one 300 × 24 = 7,200; the line's ideal
    # output is the shift station's, and its nights are planned downtime, not a loss
    from linesim import kpis

    spec = make_line(
        [
            {"kind": "discrete", "cycle_time_s": 10, "buffer_after": 10_000},
            {"kind": "discrete", "cycle_time_s": 12, "calendar": "continuous"},
        ],
        calendar=TWO_SHIFTS,
    )
    r = simulate(spec, 7 * DAY, DAY, rng=1, engine=engine)
    tree = kpis.line_losses(r)
    assert tree.station == "s0"
    assert tree.hours["off_shift"] == pytest.approx(7 * 8)
    assert kpis.line_oee(r) == pytest.approx(1.0, abs=2 / (7 * 16 * 360))
