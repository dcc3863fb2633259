"""The optimiser against brute-force enumeration of every layout, evaluated by the static
capacity analysis and the cost model (code the CP-SAT model does not share)."""

from __future__ import annotations

import itertools
import json
import math
import warnings

import numpy as np
import pytest
from conftest import ROOT, make_line
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from linesim.cli import main
from linesim.config import line_from_dict, load_line
from linesim.optimise import (
    Problem,
    evaluate_layout,
    optimise_layout,
    pareto_front,
    size_buffers,
)
from linesim.optimise.model import LayoutModel
from linesim.optimise.search import dominates

REL = 1e-5  # the model's stated resolution, with margin
NOISE = 1e-9  # float noise in the closed forms
PARETO_REL = 3e-5  # what the Pareto front resolves (see the test)


MAX_LAYOUTS = 400_000


@st.composite
def instances(draw):
    """3–5 stations, 2–3 equipment options, counts 0–5 (fewer where the layout count would
    pass MAX_LAYOUTS), sometimes an optional station with an effect downstream."""
    n = draw(st.integers(3, 5))
    stations, size = [], 1
    for j in range(n):
        k = draw(st.integers(2, 3))
        top = 5
        while size * ((top + 1) ** k) > MAX_LAYOUTS ** ((j + 1) / n) and top > 1:
            top -= 1
        size *= (top + 1) ** k
        options = [
            {
                "name": f"o{i}",
                "cycle_time_s": draw(st.floats(5.0, 60.0)),
                "defect_probability": draw(st.floats(0.0, 0.1)),
                "capex_usd": float(draw(st.integers(1, 50)) * 100_000),
                "footprint_m2": float(draw(st.integers(5, 50))),
            }
            for i in range(k)
        ]
        station = {"kind": "discrete", "options": options, "machines": {"o0": 1}}
        station["machines_max"] = top
        # the time losses the surrogate counts (start-up scrap and rework are left to simulation)
        if draw(st.integers(0, 2)) == 0:
            every = draw(st.floats(4.0, 200.0))
            station["planned_maintenance"] = {"every_h": every, "duration_h": every / 10}
        if draw(st.integers(0, 2)) == 0:
            station["minor_stops"] = {
                "mean_between_s": draw(st.floats(60.0, 3600.0)),
                "mean_duration_s": draw(st.floats(5.0, 300.0)),
            }
        if draw(st.integers(0, 2)) == 0:
            station["changeover"] = {
                "every_cells": draw(st.integers(1, 500)),
                "duration_s": draw(st.floats(0.0, 1800.0)),
            }
        if draw(st.integers(0, 3)) == 0:
            station["calendar"] = draw(st.sampled_from(["continuous", TWO_SHIFTS]))
        stations.append(station)
    if draw(st.booleans()):
        j = draw(st.integers(0, n - 2))
        stations[j]["optional"] = True
        stations[j]["omission_effects"] = {f"s{n - 1}": draw(st.floats(0.0, 0.1))}
    calendar = draw(
        st.sampled_from([{"hours_per_year": 8000.0}, {**TWO_SHIFTS, "holidays_per_year": 10}])
    )
    return make_line(stations, energy_kwh=0.3, calendar=calendar)


TWO_SHIFTS = {"shifts_per_day": 2, "hours_per_shift": 8.0, "days_per_week": 5}


def _rates(station, line_calendar) -> np.ndarray:
    """Cells per calendar hour of one machine of each option, by hand: the planned share of the
    hour (working share less maintenance) ÷ the working time per cell (cycle × (1 + stop time
    per operating second) + changeover time per cell)."""
    pattern = station.calendar
    if pattern is None:
        pattern = line_calendar
    if pattern == "continuous":
        share = 1.0
    else:
        share = pattern.shifts_per_day * pattern.hours_per_shift / 24 * pattern.days_per_week / 7
    if station.planned_maintenance:
        share -= station.planned_maintenance.duration_h / station.planned_maintenance.every_h
    stops = 0.0
    if station.minor_stops:
        stops = station.minor_stops.mean_duration_s / station.minor_stops.mean_between_s
    setup = 0.0
    if station.changeover:
        setup = station.changeover.duration_s / station.changeover.every_cells
    t = np.array([o.cycle_time_s for o in station.options])
    return share * 3600.0 / (t * (1.0 + stops) + setup)


def _mixes(station, line_calendar):
    """Every machine mix of a station: counts, capacity [cells/h], p, capex, footprint."""
    names = [o.name for o in station.options]
    rates = _rates(station, line_calendar)
    p = np.array([o.defect_probability for o in station.options])
    capex = np.array([o.capex_usd for o in station.options])
    area = np.array([o.footprint_m2 for o in station.options])
    counts = np.array(
        list(itertools.product(range(station.machines_max + 1), repeat=len(names))), dtype=float
    )
    cap = counts @ rates
    with np.errstate(invalid="ignore", divide="ignore"):
        pw = np.where(cap > 0, (counts * rates) @ p / cap, 0.0)
    keep = (cap > 0) | station.optional
    return counts[keep], cap[keep], pw[keep], counts[keep] @ capex, counts[keep] @ area


class Brute:
    """Every layout of a small line, evaluated by the closed forms (vectorised, independent of
    the CP-SAT model): G = min_j cap_j ∏_{i ≥ j}(1 − p_i), Y = ∏(1 − p_i), capex = Σ."""

    def __init__(self, spec):
        self.spec = spec
        mixes = [_mixes(s, spec.calendar) for s in spec.stations]
        grids = np.meshgrid(*[np.arange(len(m[1])) for m in mixes], indexing="ij")
        idx = [g.ravel() for g in grids]
        n = len(spec.stations)
        cap = [np.where(mixes[j][1][idx[j]] > 0, mixes[j][1][idx[j]], np.inf) for j in range(n)]
        q = [1.0 - mixes[j][2][idx[j]] for j in range(n)]
        for j, s in enumerate(spec.stations):
            omitted = mixes[j][1][idx[j]] == 0
            for target, delta in s.omission_effects.items():
                k = spec.station_index(target)
                q[k] = np.where(omitted, q[k] * (1.0 - delta), q[k])
        good, surviving = np.full(idx[0].shape, np.inf), np.ones(idx[0].shape)
        for j in reversed(range(n)):
            surviving = surviving * q[j]
            good = np.minimum(good, cap[j] * surviving)
        self.output_gwh = good * spec.calendar.year_hours * 0.3 / 1e6
        self.yield_ = surviving
        self.capex = sum(mixes[j][3][idx[j]] for j in range(n))
        self._mixes, self._idx = mixes, idx

    def layout(self, row: int) -> dict:
        out = {}
        for j, s in enumerate(self.spec.stations):
            counts = self._mixes[j][0][self._idx[j][row]]
            out[s.id] = {o.name: int(c) for o, c in zip(s.options, counts)}
        return out


def _target(brute: Brute, fraction: float) -> float:
    outputs = np.sort(brute.output_gwh[brute.output_gwh > 0])
    return float(outputs[int(fraction * (len(outputs) - 1))]) * 0.999


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=instances(), fraction=st.floats(0.05, 0.95))
def test_min_capex_equals_brute_force(spec, fraction):
    brute = Brute(spec)
    target = _target(brute, fraction)
    feasible = brute.output_gwh >= target * (1 + REL)
    best = brute.capex[feasible].min()
    result = optimise_layout(Problem(spec, target_gwh_per_year=target), "min_capex")
    assert result.status == "optimal"
    assert result.predicted.output_gwh_per_year >= target  # by capacity_report
    assert result.predicted.capex_usd <= best * (1 + REL)
    # and the brute force agrees with capacity_report on the optimum it found
    row = int(np.flatnonzero(feasible & (brute.capex == best))[0])
    assert evaluate_layout(spec, brute.layout(row)).output_gwh_per_year == pytest.approx(
        brute.output_gwh[row], rel=1e-9
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=instances(), fraction=st.floats(0.05, 0.95), late=st.booleans())
def test_chain_bound_never_exceeds_the_optimum_and_is_tight_on_a_chain(spec, fraction, late):
    """The DP bound enumerates omission patterns and late-detected mixes (or, past a limit,
    drops the late terms): it may only be lower than the model's optimum, and equals it when
    everything is enumerated."""
    if late:  # the first station's defects found at the last one
        raw = spec.model_dump(mode="json", exclude_defaults=True)
        raw["stations"][0]["detected_at"] = raw["stations"][-1]["id"]
        spec = line_from_dict(raw)
    top = optimise_layout(Problem(spec, budget_usd=1e15), "max_output")
    target = fraction * top.predicted.output_gwh_per_year  # reachable, late detection or not
    model = LayoutModel(Problem(spec, target_gwh_per_year=target))
    bound = model.chain_bound()
    plain = model.solve("min_capex", use_bound=False)
    assert plain.status == "optimal" and bound is not None
    assert bound.capex <= plain.objective_value
    # a chain once the omission pattern and the late station's mix are fixed: enumerating
    # them all, the bound is the optimum
    exact = model.chain_bound(max_choices=10**6)
    assert exact.capex == plain.objective_value
    with_bound = model.solve("min_capex")
    assert with_bound.objective_value == plain.objective_value


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=instances(), fraction=st.floats(0.05, 0.9))
def test_max_output_equals_brute_force(spec, fraction):
    brute = Brute(spec)
    budget = float(np.sort(brute.capex)[int(fraction * (len(brute.capex) - 1))])
    best = brute.output_gwh[brute.capex <= budget].max()
    result = optimise_layout(Problem(spec, budget_usd=budget), "max_output")
    assert result.status == "optimal"
    assert result.predicted.capex_usd <= budget
    assert result.predicted.output_gwh_per_year == pytest.approx(best, rel=REL)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=instances())
def test_pareto_points_are_not_dominated_by_any_layout(spec):
    brute = Brute(spec)
    low = _target(brute, 0.2)
    result = pareto_front(Problem(spec, target_gwh_per_year=low), points=4)
    assert result.pareto
    for _, point in result.pareto:
        assert point.output_gwh_per_year >= low
        # dominated: at least the point's output and yield (to float noise), no costlier, and
        # better in one by more than the model's resolution ((n + 2) · 1e-6 of a log unit for
        # the rounding, twice that for the settling slack: 3e-5 covers 5 stations)
        dominated = (
            (brute.output_gwh >= point.output_gwh_per_year * (1 - NOISE))
            & (brute.yield_ >= point.line_yield * (1 - NOISE))
            & (brute.capex <= point.capex_usd)
            & (
                (brute.output_gwh > point.output_gwh_per_year * (1 + PARETO_REL))
                | (brute.yield_ > point.line_yield * (1 + PARETO_REL))
                | (brute.capex < point.capex_usd * (1 - PARETO_REL))
            )
        )
        assert not dominated.any(), brute.layout(int(np.flatnonzero(dominated)[0]))
    for (_, a), (_, b) in itertools.combinations(result.pareto, 2):
        assert not dominates(a, b) and not dominates(b, a)


def _simple_line(**extra):
    return make_line(
        [
            {
                "kind": "discrete",
                "options": [
                    {"name": "a", "cycle_time_s": 36.0, "capex_usd": 1e6, "footprint_m2": 100.0}
                ],
                "machines": {"a": 1},
                "machines_max": 4,
                "dry_room": True,
            }
        ]
        * 1
        + [
            {
                "kind": "discrete",
                "options": [
                    {"name": "b", "cycle_time_s": 72.0, "capex_usd": 2e6, "footprint_m2": 10.0}
                ],
                "machines": {"b": 1},
                "machines_max": 4,
            }
        ],
        energy_kwh=0.5,
        calendar={"hours_per_year": 8000.0},
        **extra,
    )


def test_infeasible_names_the_budget():
    spec = _simple_line()
    # 0.39 GWh/yr = 97.5 cells/h needs 1 × a (100/h) and 2 × b (50/h each): 5 MUSD
    result = optimise_layout(Problem(spec, target_gwh_per_year=0.39, budget_usd=4e6))
    assert result.status == "infeasible"
    assert result.binding == "budget 4.0 MUSD < 5.0 MUSD minimum capex for 0.39 GWh/yr"
    # a budget of thousands of USD is not written "0.0 MUSD"
    small = optimise_layout(Problem(spec, target_gwh_per_year=0.39, budget_usd=1000))
    assert small.binding == "budget 0.001 MUSD < 5.0 MUSD minimum capex for 0.39 GWh/yr"


def test_infeasible_names_machine_limits_floor_and_dry_room():
    spec = _simple_line()
    too_much = optimise_layout(Problem(spec, target_gwh_per_year=2.0))
    assert too_much.status == "infeasible"
    assert too_much.binding.startswith("target 2 GWh/yr > 0.8 GWh/yr")
    floor = optimise_layout(Problem(spec, target_gwh_per_year=0.39, floor_area_m2=100.0))
    assert floor.binding == "floor area 100 m² < 120 m² needed for 0.39 GWh/yr"
    dry = optimise_layout(Problem(spec, target_gwh_per_year=0.5, dry_room_area_m2=150.0))
    assert dry.binding == "dry-room area 150 m² < 200 m² needed for 0.5 GWh/yr"


def test_headroom_forces_more_machines():
    spec = _simple_line()
    loose = optimise_layout(Problem(spec, target_gwh_per_year=0.39))
    tight = optimise_layout(Problem(spec, target_gwh_per_year=0.39, max_utilisation=0.9))
    assert loose.layout["s0"]["a"] == 1 and tight.layout["s0"]["a"] == 2


def test_min_cost_beats_every_layout_at_the_target():
    """Cost per kWh at the target output = annual cost at target ÷ target kWh; the min-cost
    layout's annual cost is the least of all layouts that reach the target."""
    import copy

    from test_cost import TOY_COST

    from linesim.economics.cost import cost_report, static_basis
    from linesim.optimise import apply_layout

    cost = copy.deepcopy(TOY_COST)
    cost["materials"][1]["enters_at"] = "s1"
    spec = make_line(
        [
            {
                "kind": "discrete",
                "options": [
                    {
                        "name": "fast",
                        "cycle_time_s": 30.0,
                        "defect_probability": 0.08,
                        "capex_usd": 1.5e6,
                        "footprint_m2": 50.0,
                        "power_kw": 10.0,
                    },
                    {
                        "name": "clean",
                        "cycle_time_s": 45.0,
                        "defect_probability": 0.01,
                        "capex_usd": 1.2e6,
                        "footprint_m2": 50.0,
                        "power_kw": 10.0,
                    },
                ],
                "machines": {"fast": 1},
                "machines_max": 3,
            },
            {
                "kind": "discrete",
                "options": [
                    {
                        "name": "b",
                        "cycle_time_s": 20.0,
                        "defect_probability": 0.02,
                        "capex_usd": 1e6,
                        "footprint_m2": 20.0,
                        "power_kw": 5.0,
                    }
                ],
                "machines": {"b": 1},
                "machines_max": 3,
            },
        ],
        energy_kwh=0.5,
        calendar={"hours_per_year": 8000.0},
        cost=cost,
    )
    target = 0.4

    def annual_at_target(lay):
        line = apply_layout(spec, lay)
        basis = static_basis(line)
        if basis.good_cells_per_h * 8000 * 0.5 / 1e6 < target:
            return None
        scale = target * 1e6 / 0.5 / 8000 / basis.good_cells_per_h
        from dataclasses import replace

        return cost_report(
            line, replace(basis, good_cells_per_h=basis.good_cells_per_h * scale)
        ).annual.total

    layouts = [
        {"s0": {"fast": a, "clean": b}, "s1": {"b": c}}
        for a, b, c in itertools.product(range(4), range(4), range(1, 4))
        if a + b
    ]
    values = [(lay, annual_at_target(lay)) for lay in layouts]
    best = min(v for _, v in values if v is not None)
    result = optimise_layout(Problem(spec, target_gwh_per_year=target, max_machines=3), "min_cost")
    assert result.status == "optimal"
    assert annual_at_target(result.layout) == pytest.approx(best, rel=2e-4)


def test_cli_optimise_json_and_write_config(tmp_path, capsys):
    out = tmp_path / "opt.yaml"
    config = str(ROOT / "configs/pilot_sulfide_200mwh.yaml")
    assert (
        main(
            [
                "optimise",
                config,
                "--target-gwh",
                "0.2",
                "--json",
                "--write-config",
                str(out),
                "--verify-horizon",
                "2d",
                "--verify-replications",
                "2",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "optimal" and doc["objective"] == "min_capex"
    assert set(doc["predicted"]) >= {"output_gwh_per_year", "line_yield", "capex_usd"}
    assert doc["predicted"]["output_gwh_per_year"] >= 0.2
    assert doc["verified"]["simulated_gwh_per_year"]["mean"] > 0
    layout = doc["layout"]
    reloaded = load_line(out)
    figures = evaluate_layout(reloaded)
    assert figures.capex_usd == pytest.approx(doc["predicted"]["capex_usd"])
    for station in reloaded.stations:
        assert station.machine_count == sum(layout[station.id].values())


def test_cli_infeasible_is_exit_3(capsys):
    config = str(ROOT / "configs/gwh_sulfide_4gwh.yaml")
    assert (
        main(["optimise", config, "--target-gwh", "4", "--budget-usd", "2e8", "--no-verify"]) == 3
    )
    assert "budget 200.0 MUSD <" in capsys.readouterr().out


def test_buffers_are_sized_per_station():
    """An exponential 10 s feeder, an exponential 12 s bottleneck, a fast deterministic end:
    the buffer before the bottleneck must be large to keep it fed (a two-station line with
    ρ = 10/12 loses several % at small buffers), the one after it protects little."""
    spec = make_line(
        [
            {"kind": "discrete", "cycle_time_s": 10.0, "process_time_dist": "exponential"},
            {"kind": "discrete", "cycle_time_s": 12.0, "process_time_dist": "exponential"},
            {"kind": "discrete", "cycle_time_s": 2.0},
        ]
    )
    kw = dict(horizon_s=4 * 86400.0, replications=3, seed=2, workers=1)
    sized = size_buffers(spec, {}, [0, 2, 10, 30, 60], **kw)
    common = size_buffers(spec, {}, [0, 2, 10, 30, 60], per_station=False, **kw)
    assert sized.relative_gap >= -0.01 and common.relative_gap >= -0.01
    assert common.buffers["s0"] == common.buffers["s1"] >= 30
    assert sized.buffers["s0"] == common.buffers["s0"]  # the bottleneck's feed stays
    assert sized.buffers["s1"] < sized.buffers["s0"]  # the other one shrinks


def test_cli_pareto_points_are_each_simulated(capsys):
    config = str(ROOT / "configs/pilot_sulfide_200mwh.yaml")
    assert (
        main(
            [
                "optimise",
                config,
                "--target-gwh",
                "0.2",
                "--pareto",
                "--pareto-points",
                "2",
                "--json",
                "--verify-horizon",
                "2d",
                "--verify-replications",
                "2",
                "--no-store",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["pareto"]) >= 2
    # --pareto-points 2: the two ends of the front are simulated (the lowest output first)
    checked = [point for point in doc["pareto"] if point.get("verified")]
    assert [doc["pareto"][0], doc["pareto"][-1]] == checked
    for point in checked:
        sim = point["verified"]["simulated_gwh_per_year"]["mean"]
        assert sim == pytest.approx(point["predicted"]["output_gwh_per_year"], rel=0.3)


def test_the_solver_uses_no_deprecated_ortools_api():
    """Every objective, the settling re-solve of tuning, the Pareto sweep and the infeasibility
    diagnosis, with OR-Tools' deprecation warnings turned into errors."""
    spec = load_line(ROOT / "configs/pilot_sulfide_200mwh.yaml")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        assert cp_model.enable_warnings
        for objective in ("min_capex", "min_cost"):
            tuned = optimise_layout(Problem(spec, target_gwh_per_year=0.2, tune=True), objective)
            assert tuned.status == "optimal"
        assert optimise_layout(Problem(spec, budget_usd=6e7), "max_output").found
        assert optimise_layout(Problem(spec, target_gwh_per_year=0.2, budget_usd=1e6)).binding
        assert pareto_front(Problem(spec, target_gwh_per_year=0.2), points=2).pareto


@pytest.mark.parametrize(
    "name", [p.stem for p in sorted((ROOT / "configs").glob("*.yaml")) if "cost:" in p.read_text()]
)
def test_the_capex_the_solver_minimises_is_the_cost_models(name):
    """The model's capex of the layout it chose (machines, the building and a dry room that
    grow with them, the constants: fixed rooms, atmosphere, facility) is the cost model's capex
    of that layout — but for the facility's scaling with capacity, which the model holds at the
    config's layout."""
    from linesim.economics.cost import capex, facility_capex_usd
    from linesim.variants import apply_layout

    spec = load_line(name)
    target = 0.6 * evaluate_layout(spec).output_gwh_per_year
    problem = Problem(spec, target_gwh_per_year=target)
    result = optimise_layout(problem, "min_capex")
    assert result.status == "optimal"
    model = LayoutModel(problem)
    surrogate = model.capex_constant_usd()
    for j, station in enumerate(spec.stations):
        chosen = {o: n for o, n in result.layout[station.id].items() if n}
        (c,) = [c for c in model.candidates[j] if {o: n for o, n in c.counts if n} == chosen]
        surrogate += model.candidate_capex_usd(c)
    line = apply_layout(spec, result.layout)
    actual = capex(line).total - facility_capex_usd(line) + facility_capex_usd(spec)
    assert surrogate == pytest.approx(actual, rel=1e-9)
    assert result.predicted.capex_usd == pytest.approx(capex(line).total, rel=1e-12)


def _two_option_line(footprints: tuple[float, float] = (10.0, 12.0)):
    st = [
        {
            "kind": "discrete",
            "options": [
                {
                    "name": "a",
                    "cycle_time_s": 10.0,
                    "defect_probability": 0.01,
                    "capex_usd": 1e6,
                    "footprint_m2": footprints[0],
                },
                {
                    "name": "b",
                    "cycle_time_s": 10.0,
                    "defect_probability": 0.01,
                    "capex_usd": 1.2e6,
                    "footprint_m2": footprints[1],
                },
            ],
            "machines": {"a": 1},
            "machines_max": 2,
        }
        for _ in range(2)
    ]
    return make_line(st, energy_kwh=0.3, calendar={"hours_per_year": 8000.0})


def test_pareto_time_limit_is_not_reported_infeasible():
    # a feasible problem whose solves get no time: never "infeasible" with a diagnosis
    spec = _two_option_line()
    problem = Problem(spec, target_gwh_per_year=0.1, floor_area_m2=60.0, time_limit_s=1e-9)
    result = pareto_front(problem, method="exact")
    assert result.status != "infeasible" and result.binding is None
    if result.found:
        assert result.status == "feasible" and result.coverage.startswith("partial")


def test_pareto_sweep_with_area_limit_falls_back_to_a_layout():
    # option a is cheaper at the same yield but too large for the floor: the sweep's labels
    # keep only a; the floor admits only b-layouts, which exist
    spec = _two_option_line(footprints=(50.0, 10.0))
    problem = Problem(spec, target_gwh_per_year=0.1, floor_area_m2=40.0)
    assert optimise_layout(problem, "min_capex").status == "optimal"
    result = pareto_front(problem, method="sweep")
    assert result.found and result.status == "feasible"
    assert result.predicted is not None and result.predicted.floor_area_m2 <= 40.0


def test_max_output_timed_out_probe_bounds_nothing(monkeypatch):
    # probes above half the optimum time out: the result may stop short, but its bound must
    # still be ≥ the true optimum, and its value what the layout makes
    from linesim.optimise import search
    from linesim.optimise.model import Solution

    spec = _two_option_line()
    problem = Problem(spec, budget_usd=4.5e6)
    exact = search.maximise_output(problem)
    assert exact.status == "optimal" and exact.objective_value is not None
    real = search._reachable

    def slow(model, follow=False):
        if model.problem.target_gwh_per_year > exact.objective_value / 2:
            return Solution("time_limit", None, None, 0.0), False
        return real(model, follow)

    monkeypatch.setattr(search, "_reachable", slow)
    sol = search.maximise_output(problem)
    assert sol.status == "feasible" and sol.layout is not None
    assert sol.bound is not None and sol.bound >= exact.objective_value * (1 - 1e-9)
    made = evaluate_layout(spec, sol.layout).output_gwh_per_year * problem.max_utilisation
    assert sol.objective_value == pytest.approx(made, rel=1e-12)


def test_tuned_pareto_front_matches_brute_force():
    # the config's setting (the fastest, the worst yield) judged every target at its yield:
    # the complete tuned front missed points only a slower, better setting reaches
    speeds = [10.0, 20.0, 40.0]
    process = {
        "model": "speed",
        "speed_m_per_min": 40.0,
        "nominal_speed_m_per_min": 10.0,
        "p_nominal": 0.02,
        "exponent": 2.0,
        "p_max": 0.5,
        "levels": {"speed_m_per_min": speeds},
    }
    spec = make_line(
        [
            {
                "kind": "continuous",
                "web_width_m": 0.5,
                "area_per_cell_m2": 1.0,
                "machines_max": 4,
                "capex_usd": 2e6,
                "process": process,
            },
            {
                "kind": "discrete",
                "cycle_time_s": 3.0,
                "machines_max": 4,
                "defect_probability": 0.01,
                "capex_usd": 3e6,
            },
        ],
        energy_kwh=0.3,
        calendar={"hours_per_year": 8000.0},
    )
    rows = []
    for speed, a, b in itertools.product(speeds, range(1, 5), range(1, 5)):
        layout = {"s0": {"default": a}, "s1": {"default": b}}
        f = evaluate_layout(spec, layout, {"s0": {"speed_m_per_min": speed}})
        rows.append((f.output_gwh_per_year, f.line_yield, f.capex_usd))
    points = np.array(rows)
    low = float(np.quantile(points[:, 0], 0.5))
    inside = points[points[:, 0] >= low * (1 + 1e-5)]
    brute = [
        r
        for r in inside
        if not (
            (inside[:, 0] >= r[0])
            & (inside[:, 1] >= r[1])
            & (inside[:, 2] <= r[2])
            & ((inside[:, 0] > r[0]) | (inside[:, 1] > r[1]) | (inside[:, 2] < r[2]))
        ).any()
    ]
    result = pareto_front(Problem(spec, target_gwh_per_year=low, tune=True), method="auto")
    assert result.status == "optimal"
    got = np.array([(f.output_gwh_per_year, f.line_yield, f.capex_usd) for _, f in result.pareto])
    rel = 3e-5
    for r in brute:
        assert (
            (got[:, 0] >= r[0] * (1 - rel))
            & (got[:, 1] >= r[1] * (1 - rel))
            & (got[:, 2] <= r[2] * (1 + rel))
        ).any(), r


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**32 - 1),
    limit=st.sampled_from([None, 0.5, 0.8]),
    pairs=st.sampled_from([600, 0]),
)
def test_chain_labels_equal_the_pareto_set_of_every_layout(seed, limit, pairs, monkeypatch):
    # the DP skips extensions a cheaper, leaner candidate makes anyway and drops labels no
    # upstream layout completes within the limit: its labels must still be exactly the Pareto
    # set of (total loss, capex) over every layout of the chain that carries the need
    from linesim.optimise import bound

    monkeypatch.setattr(bound, "ALL_PAIRS", pairs)  # 0: the per-loss comparison only
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    loss = [[int(x) for x in rng.integers(0, 4, k)] for _ in range(n)]
    log_cap = [[int(x) for x in rng.integers(0, 12, k)] for _ in range(n)]
    capex = [[int(x) for x in rng.integers(0, 6, k)] for _ in range(n)]
    need = int(rng.integers(0, 4))
    every = []
    for choice in itertools.product(range(k), repeat=n):
        d = [sum(loss[i][choice[i]] for i in range(j + 1, n)) for j in range(n)]
        if all(need + d[j] + loss[j][choice[j]] <= log_cap[j][choice[j]] for j in range(n)):
            every.append(
                (
                    sum(loss[j][choice[j]] for j in range(n)),
                    sum(capex[j][choice[j]] for j in range(n)),
                )
            )
    cap = None if limit is None or not every else int(limit * max(c for _, c in every))
    every = [(d, c) for d, c in every if cap is None or c <= cap]
    front = sorted(
        {
            (d, c)
            for d, c in every
            if not any(e[0] <= d and e[1] <= c and e != (d, c) for e in every)
        }
    )
    found = bound.chain_labels(loss, log_cap, capex, need, 0, capex_limit=cap)
    if not front:
        assert found is None
        return
    assert found is not None
    assert sorted(zip(found.loss.tolist(), found.capex.tolist())) == front
    for row, d, c in zip(found.choices, found.loss, found.capex):  # each label's own layout
        assert sum(loss[j][row[j]] for j in range(n)) == d
        assert sum(capex[j][row[j]] for j in range(n)) == c


def test_local_moves_keep_the_layout_within_its_limits_and_lower_its_capex():
    # a chain of two stations, two candidates each: (capex, area); the start fits but is
    # dear; the cheapest layout that fits swaps both stations (one move alone breaks the limit)
    from linesim.optimise.local import improved

    capex = [[10, 4], [2, 5]]
    area = [[1, 5], [5, 1]]
    start = (0, 0)  # capex 12, area 6 ≤ 6
    best = improved(
        start,
        capex,
        (area, [[0, 0], [0, 0]]),
        (6, None),
        lambda rows: np.ones(len(rows), dtype=bool),
    )
    assert best == (1, 1)  # capex 9, area 6
    assert (
        improved(
            start,
            capex,
            (area, [[0, 0], [0, 0]]),
            (5, None),
            lambda rows: np.ones(len(rows), dtype=bool),
        )
        == start
    )  # nothing else fits


def test_every_pareto_point_meets_the_target_by_its_exact_figures():
    """The sweep's labels relax omission patterns (an optional station left out counts an
    output a little above what the layout makes): on the 4 GWh line at 8 GWh/yr a point at
    7.979 was listed. Every point the front returns reaches the target by its own figures,
    and a front that lost a point says it may be incomplete."""
    problem = Problem(load_line("gwh_sulfide_4gwh"), target_gwh_per_year=8.0)
    result = pareto_front(problem)
    assert result.found and result.pareto
    assert all(fig.output_gwh_per_year >= 8.0 * (1 - 1e-9) for _, fig in result.pareto)
    if "below the target" in result.coverage:
        assert result.status == "feasible"


@pytest.mark.parametrize(
    ("name", "target"),
    [("gwh_sulfide_4gwh", 4.0), ("gwh_sulfide_4gwh", 8.0), ("pilot_oxide", 0.3182)],
)
def test_min_capex_reaches_the_target_by_the_exact_figures_with_start_up_scrap(name, target):
    """Start-up scrap after changeovers is in the static analysis's flow (starts per good
    cell, ∏_{i ≥ j} 1 ÷ (1 − s_i)): the model counted none, so on the 4 GWh line at 4 GWh/yr
    its "optimal" layout (319.5 MUSD) made 3.989, at 8 GWh/yr 7.979 by the exact figures
    (se_powder_prep carrying 0.3 % of scrap from the stations after it), and the pilot at
    0.3182 made 0.3181. The model's output for the answer now equals the static analysis's
    to its rounding, and reaches the target."""
    from linesim.optimise.front import log_output_of
    from linesim.optimise.model import SCALE

    spec = load_line(name)
    problem = Problem(spec, target_gwh_per_year=target)
    result = optimise_layout(problem)
    assert result.status == "optimal" and result.predicted is not None
    made = result.predicted.output_gwh_per_year
    assert made >= target
    model = LayoutModel(problem)
    log_g = log_output_of(model, result.layout, result.settings)
    assert log_g is not None
    per_gwh = spec.calendar.year_hours * spec.product.energy_kwh / 1e6
    assert math.exp(log_g / SCALE) * per_gwh == pytest.approx(made, rel=3e-5)


def test_the_pareto_front_holds_the_least_capex_layout_at_the_target():
    """The front's low-output extreme is the least-capex layout that reaches the target by
    its exact figures: on the 4 GWh line at 8 GWh/yr the front's cheapest point was 632.1
    MUSD (its 604.9 MUSD point, at 7.979 GWh/yr, removed as below the target) while 628.6
    MUSD reaches 8.002."""
    problem = Problem(load_line("gwh_sulfide_4gwh"), target_gwh_per_year=8.0)
    least = optimise_layout(problem)
    assert least.status == "optimal" and least.predicted is not None
    front = pareto_front(problem)
    assert min(f.capex_usd for _, f in front.pareto) == pytest.approx(
        least.predicted.capex_usd, rel=1e-9
    )
    assert "below the target" not in (front.coverage or "")


def _optional_scrap_line(scrap: int, delta: float):
    """s1 optional with start-up scrap (the model counts an optional station's at its least,
    0: a relaxation when it is kept); leaving it out raises s2's defects by ``delta``."""
    common = {"kind": "discrete", "machines": 1, "machines_max": 4}
    return make_line(
        [
            {**common, "cycle_time_s": 10.0, "capex_usd": 1e6, "defect_probability": 0.01},
            {
                **common,
                "cycle_time_s": 20.0,
                "capex_usd": 3e5,
                "optional": True,
                "omission_effects": {"s2": delta},
                "changeover": {"every_cells": 100, "duration_s": 1.0, "scrap_cells": scrap},
            },
            {**common, "cycle_time_s": 12.0, "capex_usd": 8e5, "defect_probability": 0.02},
        ],
        calendar={"hours_per_year": 8000.0},
    )


@pytest.mark.parametrize(("scrap", "delta", "share"), [(3, 0.02, 0.5), (8, 0.1, 0.7)])
def test_a_front_on_a_relaxed_model_keeps_the_brute_force_front_and_its_cheapest_point(
    scrap, delta, share
):
    """Where the model is a relaxation (an optional station's start-up scrap), points below
    the target by their exact figures are removed and the least-capex layout at the target
    is added: against every layout evaluated by the static analysis, each point of the
    exact front is matched (at least its output and yield, at most its capex), the cheapest
    point is the least capex that reaches the target, and no point falls short."""
    spec = _optional_scrap_line(scrap, delta)
    rows = []
    for counts in itertools.product(range(5), repeat=3):
        if counts[0] and counts[2]:
            layout = {f"s{j}": {"default": n} for j, n in enumerate(counts)}
            f = evaluate_layout(spec, layout)
            rows.append((f.output_gwh_per_year, f.line_yield, f.capex_usd))
    outputs = sorted(r[0] for r in rows)
    low = outputs[int(share * len(outputs))] * 1.0005
    inside = [r for r in rows if r[0] >= low]
    exact = [
        r
        for r in inside
        if not any(o[0] >= r[0] and o[1] >= r[1] and o[2] <= r[2] and o != r for o in inside)
    ]
    result = pareto_front(Problem(spec, target_gwh_per_year=low), method="exact")
    got = [(f.output_gwh_per_year, f.line_yield, f.capex_usd) for _, f in result.pareto]
    rel = 3e-5
    for r in exact:
        assert any(
            g[0] >= r[0] * (1 - rel) and g[1] >= r[1] * (1 - rel) and g[2] <= r[2] * (1 + rel)
            for g in got
        ), r
    assert min(g[2] for g in got) == pytest.approx(min(r[2] for r in inside), rel=1e-9)
    assert all(g[0] >= low * (1 - 1e-9) for g in got)
    # a front that lost points says so first (it said "complete: …; points removed")
    assert (result.status == "optimal") == result.coverage.startswith("complete")
