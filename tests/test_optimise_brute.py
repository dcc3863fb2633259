"""Every objective against an independent brute force, on small lines that draw every feature
together: several optional stations whose omission effects name other optional stations, late
detection, equipment options, time losses, dry-room stations, process settings tuned from
levels (a press window), budgets and floor and dry-room limits. The brute force evaluates each
layout by closed forms written here (not the model's)."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest
from conftest import make_line
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cost import TOY_COST

from linesim.optimise import Problem, evaluate_layout, optimise_layout, pareto_front

REL = 1e-5  # the model's stated resolution, with margin
MAX_LAYOUTS = 6_000  # keeps each example a few milliseconds of brute force
CHEAP = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def lines(draw, tuned_station=True):
    """3–5 stations, 1–2 options, counts 0–3; each non-final station optional with
    probability ½, each optional station's omission raising the defects of 0–2 later stations
    (optional ones too); sometimes a station detected later; some dry-room stations; with
    ``tuned_station``, sometimes one (not optional) station's press settings chosen from
    levels with the layout (``Problem(tune=True)``)."""
    n = draw(st.integers(3, 5))
    tuned = draw(st.sampled_from([None, *range(n)])) if tuned_station else None
    stations, size = [], 1
    for j in range(n):
        if j == tuned:
            window = draw(press_windows())
            combos = len(window["levels"]["pressure_mpa"]) * len(window["levels"]["hold_s"])
            top = 3
            while size * (top + 1) * combos > MAX_LAYOUTS ** ((j + 1) / n) and top > 1:
                top -= 1
            size *= (top + 1) * combos
            stations.append(
                {
                    "kind": "discrete",
                    "process": window,
                    "capex_usd": float(draw(st.integers(1, 50)) * 100_000),
                    "footprint_m2": float(draw(st.integers(5, 50))),
                    "machines": 1,
                    "machines_max": top,
                    "dry_room": draw(st.booleans()),
                }
            )
            continue
        k = draw(st.integers(1, 2))
        top = 3
        while size * ((top + 1) ** k) > MAX_LAYOUTS ** ((j + 1) / n) and top > 1:
            top -= 1
        size *= (top + 1) ** k
        options = [
            {
                "name": f"o{i}",
                "cycle_time_s": draw(st.floats(5.0, 60.0)),
                "defect_probability": draw(st.sampled_from([0.0, 0.01, 0.05, 0.2])),
                "capex_usd": float(draw(st.integers(1, 50)) * 100_000),
                "footprint_m2": float(draw(st.integers(5, 50))),
            }
            for i in range(k)
        ]
        station = {"kind": "discrete", "options": options, "machines": {"o0": 1}}
        station["machines_max"] = top
        station["dry_room"] = draw(st.booleans())
        if draw(st.integers(0, 2)) == 0:
            every = draw(st.floats(4.0, 200.0))
            station["planned_maintenance"] = {"every_h": every, "duration_h": every / 10}
        if draw(st.integers(0, 2)) == 0:  # start-up scrap after changeovers, and their time
            station["changeover"] = {
                "every_cells": draw(st.integers(10, 400)),
                "duration_s": draw(st.sampled_from([0.0, 30.0, 600.0])),
                "scrap_cells": draw(st.integers(0, 5)),
            }
        stations.append(station)
    # (an optional station's start-up scrap counts only while it is in the line: the model's
    # chain counts it at its least, 0, and CP-SAT exactly)
    optional = [j for j in range(n - 1) if draw(st.booleans()) and j != tuned]
    for j in optional:
        stations[j]["optional"] = True
        later = draw(st.lists(st.integers(j + 1, n - 1), max_size=2, unique=True))
        stations[j]["omission_effects"] = {
            f"s{t}": draw(st.sampled_from([0.02, 0.1, 0.5, 1.0])) for t in later
        }
    if draw(st.booleans()):  # one station's defects found at a later, non-optional one
        i = draw(st.integers(0, n - 2))
        later = [t for t in range(i + 1, n) if t not in optional]
        if later:
            stations[i]["detected_at"] = f"s{draw(st.sampled_from(later))}"
    return make_line(stations, energy_kwh=0.3, calendar={"hours_per_year": 8000.0})


@st.composite
def press_windows(draw):
    """A press window (cycle = handling + hold; p rises below the nominal pressure and hold
    and above the pressure) with 1–3 levels of each setting for the tuner."""
    pressures = draw(
        st.lists(st.sampled_from([150.0, 250.0, 300.0, 400.0]), min_size=1, max_size=3, unique=True)
    )
    holds = draw(
        st.lists(st.sampled_from([5.0, 15.0, 30.0, 60.0]), min_size=1, max_size=3, unique=True)
    )
    return {
        "model": "press",
        "pressure_mpa": pressures[0],
        "hold_s": holds[0],
        "nominal_pressure_mpa": 300.0,
        "nominal_hold_s": 30.0,
        "handling_s": draw(st.sampled_from([2.0, 10.0])),
        "p_nominal": draw(st.sampled_from([0.0, 0.01, 0.05])),
        "levels": {"pressure_mpa": sorted(pressures), "hold_s": sorted(holds)},
    }


def _press(window, pressure: float, hold: float) -> tuple[float, float]:
    """Cycle time [s] and p of a press window at ``pressure`` and ``hold`` (written here:
    quadratic penalties below the nominal pressure and hold and above the pressure, capped)."""
    x, h = pressure / window.nominal_pressure_mpa, hold / window.nominal_hold_s
    p = (
        window.p_nominal
        + window.under_pressure_coeff * max(0.0, 1.0 - x) ** 2
        + window.over_pressure_coeff * max(0.0, x - 1.0) ** 2
        + window.short_hold_coeff * max(0.0, 1.0 - h) ** 2
    )
    return window.handling_s + hold, min(max(window.p_max, window.p_nominal), p)


def _variants(station) -> list[tuple[dict, list[tuple[str, float, float, float, float]]]]:
    """The station's choices of settings, each with its options as (name, cycle time, p,
    capex, footprint): one choice, the config's, without a window with levels."""
    window = station.process
    if window is None or not window.levels:
        return [
            (
                {},
                [
                    (o.name, o.cycle_time_s, o.defect_probability, o.capex_usd, o.footprint_m2)
                    for o in station.equipment()
                ],
            )
        ]
    out = []
    for pressure, hold in itertools.product(window.levels["pressure_mpa"], window.levels["hold_s"]):
        cycle, p = _press(window, pressure, hold)
        if p >= 1.0:
            continue
        option = ("default", cycle, p, station.capex_usd, station.footprint_m2)
        out.append(({"pressure_mpa": pressure, "hold_s": hold}, [option]))
    return out


def _rates(station, cycles) -> np.ndarray:
    """Cells per hour of one machine of each option (cycle times ``cycles``): the share of the
    hour not in planned maintenance ÷ (the cycle time + its share of a changeover, duration ÷
    cells between)."""
    share = 1.0
    if station.planned_maintenance:
        share -= station.planned_maintenance.duration_h / station.planned_maintenance.every_h
    change = 0.0
    if station.changeover:
        change = station.changeover.duration_s / station.changeover.every_cells
    return np.array([share * 3600.0 / (c + change) for c in cycles])


def _scrap_share(station) -> float:
    """Start-up scrap ÷ cells between changeovers (0 without changeovers)."""
    co = station.changeover
    return (co.scrap_cells or 0) / co.every_cells if co else 0.0


class Brute:
    """Every layout, by closed forms: q_i = 1 − p_i (rate-weighted, times 1 − δ for each
    omitted station affecting i, unless i is omitted too), station j processes G ÷ ∏ q_i over
    the stations whose defects are removed at or after j, ÷ ∏ (1 − s_i) over the start-up
    scrap shares of the stations from j on, G = min_j cap_j ∏ q_i ∏ (1 − s_i)."""

    def __init__(self, spec):
        self.spec = spec
        n = len(spec.stations)
        mixes, self._settings, self._names = [], [], []
        for s in spec.stations:
            parts, chosen = [], []
            for setting, options in _variants(s):
                names, cycles, ps, capexes, areas = zip(*options)
                counts = np.array(
                    list(itertools.product(range(s.machines_max + 1), repeat=len(options))),
                    dtype=float,
                )
                rates = _rates(s, cycles)
                cap = counts @ rates
                if not s.optional:
                    counts, cap = counts[cap > 0], cap[cap > 0]
                with np.errstate(invalid="ignore", divide="ignore"):
                    pw = np.where(cap > 0, (counts * rates) @ np.array(ps) / cap, 0.0)
                parts.append(
                    (counts, cap, pw, counts @ np.array(capexes), counts @ np.array(areas))
                )
                chosen += [setting] * len(cap)
            mixes.append(tuple(np.concatenate(column) for column in zip(*parts)))
            self._settings.append(chosen)
            self._names.append(names)
        grids = np.meshgrid(*[np.arange(len(m[1])) for m in mixes], indexing="ij")
        idx = [g.ravel() for g in grids]
        out = [mixes[j][1][idx[j]] == 0 for j in range(n)]
        q = [1.0 - mixes[j][2][idx[j]] for j in range(n)]
        for j, s in enumerate(spec.stations):
            for target, delta in s.omission_effects.items():
                k = spec.station_index(target)
                q[k] = np.where(out[j] & ~out[k], q[k] * (1.0 - delta), q[k])
        detect = [
            j if s.detected_at is None else spec.station_index(s.detected_at)
            for j, s in enumerate(spec.stations)
        ]
        good = np.full(idx[0].shape, np.inf)
        # start-up scrap at station i leaves the flow there: station j processes
        # 1 ÷ ∏_{i ≥ j, i in the line} (1 − s_i) cells per cell that leaves it
        kept = [np.where(out[i], 1.0, 1.0 - _scrap_share(s)) for i, s in enumerate(spec.stations)]
        for j in range(n):
            carried = np.prod([q[i] for i in range(n) if detect[i] >= j], axis=0)
            carried = carried * np.prod([kept[i] for i in range(j, n)], axis=0)
            # (an omitted station is no limit, whatever its q)
            limit = np.where(out[j], np.inf, mixes[j][1][idx[j]] * carried)
            good = np.minimum(good, limit)
        self.output_gwh = good * 8000.0 * 0.3 / 1e6
        self.yield_ = np.prod(q, axis=0)
        self.capex = sum(mixes[j][3][idx[j]] for j in range(n))
        self.floor = sum(mixes[j][4][idx[j]] for j in range(n))
        self.dry = sum(
            (mixes[j][4][idx[j]] for j, s in enumerate(spec.stations) if s.dry_room),
            np.zeros(idx[0].shape),
        )
        self._mixes, self._idx = mixes, idx

    def layout(self, row: int) -> dict:
        out = {}
        for j, s in enumerate(self.spec.stations):
            counts = self._mixes[j][0][self._idx[j][row]]
            out[s.id] = {name: int(c) for name, c in zip(self._names[j], counts)}
        return out

    def settings(self, row: int) -> dict:
        """The process settings of layout ``row`` (stations with a window with levels)."""
        out = {}
        for j, s in enumerate(self.spec.stations):
            chosen = self._settings[j][self._idx[j][row]]
            if chosen:
                out[s.id] = chosen
        return out

    def quantile(self, values: np.ndarray, fraction: float) -> float:
        v = np.sort(values[np.isfinite(values) & (values > 0)])
        return float(v[int(fraction * (len(v) - 1))])


@st.composite
def limits(draw, brute: Brute):
    """None or a limit at a quantile of what the layouts need, for budget, floor, dry room."""
    out = {}
    for name, values in (
        ("budget_usd", brute.capex),
        ("floor_area_m2", brute.floor),
        ("dry_room_area_m2", brute.dry),
    ):
        if draw(st.integers(0, 2)) == 0 and (values > 0).any():
            out[name] = brute.quantile(values, draw(st.floats(0.3, 1.0))) * 1.000001
    return out


def _allowed(brute: Brute, lim: dict) -> np.ndarray:
    ok = np.ones(brute.capex.shape, dtype=bool)
    for name, values in (
        ("budget_usd", brute.capex),
        ("floor_area_m2", brute.floor),
        ("dry_room_area_m2", brute.dry),
    ):
        if name in lim:
            ok &= values <= lim[name]
    return ok


@CHEAP
@given(data=st.data(), spec=lines(), fraction=st.floats(0.05, 0.95))
def test_min_capex_with_every_feature_equals_brute_force(data, spec, fraction):
    brute = Brute(spec)
    target = brute.quantile(brute.output_gwh, fraction) * 0.999
    lim = data.draw(limits(brute))
    allowed = _allowed(brute, lim)
    feasible = allowed & (brute.output_gwh >= target * (1 + REL))
    near = allowed & (brute.output_gwh >= target * (1 - REL))
    result = optimise_layout(
        Problem(spec, target_gwh_per_year=target, tune=True, **lim), "min_capex"
    )
    if not near.any():
        assert result.status == "infeasible" and result.binding
        return
    if not feasible.any():
        return  # within the model's resolution of the target: either answer is right
    assert result.status == "optimal", result.binding
    figures = result.predicted
    assert figures.output_gwh_per_year >= target * (1 - REL)
    assert figures.capex_usd <= brute.capex[feasible].min() * (1 + REL)
    assert figures.capex_usd >= brute.capex[near].min() * (1 - REL)
    for name, value in lim.items():
        got = {"budget_usd": figures.capex_usd, "floor_area_m2": figures.floor_area_m2}
        got["dry_room_area_m2"] = figures.dry_room_area_m2
        assert got[name] <= value * (1 + REL)


@CHEAP
@given(data=st.data(), spec=lines(), fraction=st.floats(0.2, 1.0), with_target=st.booleans())
def test_max_output_with_every_feature_equals_brute_force(data, spec, fraction, with_target):
    brute = Brute(spec)
    lim = data.draw(limits(brute))
    lim["budget_usd"] = brute.quantile(brute.capex, fraction) * 1.000001
    allowed = _allowed(brute, lim) & (brute.output_gwh > 0)
    if not allowed.any():
        return
    best = brute.output_gwh[allowed].max()
    # a target below the best is a lower bound only: the answer is still the maximum
    target = {"target_gwh_per_year": best * 0.5} if with_target else {}
    result = optimise_layout(Problem(spec, **target, tune=True, **lim), "max_output")
    assert result.status == "optimal", result.binding
    assert result.predicted.capex_usd <= lim["budget_usd"]
    assert result.predicted.output_gwh_per_year == pytest.approx(best, rel=REL)
    row = int(np.flatnonzero(allowed & (brute.output_gwh == best))[0])
    assert evaluate_layout(
        spec, brute.layout(row), brute.settings(row)
    ).output_gwh_per_year == pytest.approx(best, rel=1e-9)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=lines())
def test_pareto_front_with_every_feature_is_not_dominated(spec):
    brute = Brute(spec)
    low = brute.quantile(brute.output_gwh, 0.2) * 0.999
    result = pareto_front(Problem(spec, target_gwh_per_year=low, tune=True), points=3)
    assert result.pareto
    rel = 3e-5
    for _, point in result.pareto:
        dominated = (
            (brute.output_gwh >= point.output_gwh_per_year * (1 - 1e-9))
            & (brute.yield_ >= point.line_yield * (1 - 1e-9))
            & (brute.capex <= point.capex_usd)
            & (
                (brute.output_gwh > point.output_gwh_per_year * (1 + rel))
                | (brute.yield_ > point.line_yield * (1 + rel))
                | (brute.capex < point.capex_usd * (1 - rel))
            )
        )
        assert not dominated.any(), brute.layout(int(np.flatnonzero(dominated)[0]))


def _brute_front(brute: Brute, rows: np.ndarray) -> np.ndarray:
    """The rows (indices) no other of ``rows`` dominates in (output ↑, yield ↑, capex ↓)."""
    out, y, c = brute.output_gwh[rows], brute.yield_[rows], brute.capex[rows]
    front = []
    for i in range(len(rows)):
        better = (out >= out[i]) & (y >= y[i]) & (c <= c[i])
        strictly = better & ((out > out[i]) | (y > y[i]) | (c < c[i]))
        if not strictly.any():
            front.append(rows[i])
    return np.asarray(front, dtype=int)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), spec=lines(), fraction=st.floats(0.05, 0.9))
def test_pareto_front_is_complete_against_brute_force(data, spec, fraction):
    """Every non-dominated layout of the brute force (output ≥ the target, within the drawn
    budget and area limits) is matched by a point of the front with at least its output and
    yield and at most its capex (to the model's resolution): the whole front, extremes
    included (the most output, the best yield, the least capex are front points too)."""
    brute = Brute(spec)
    low = brute.quantile(brute.output_gwh, fraction) * 0.999
    lim = data.draw(limits(brute))
    allowed = _allowed(brute, lim)
    inside = np.flatnonzero(allowed & (brute.output_gwh >= low * (1 + REL)))
    result = pareto_front(Problem(spec, target_gwh_per_year=low, tune=True, **lim), method="exact")
    if not inside.size:
        return  # nothing clearly inside the limits: no claim either way
    assert result.status == "optimal" and result.coverage.startswith("complete"), result.binding
    got = np.array([(f.output_gwh_per_year, f.line_yield, f.capex_usd) for _, f in result.pareto])
    rel = 3e-5  # the model's rounding: (n + 2) · 1e-6 of a log unit, with margin
    for row in _brute_front(brute, inside):
        matched = (
            (got[:, 0] >= brute.output_gwh[row] * (1 - rel))
            & (got[:, 1] >= brute.yield_[row] * (1 - rel))
            & (got[:, 2] <= brute.capex[row] * (1 + rel))
        )
        assert matched.any(), (brute.layout(int(row)), got)
    for _, f in result.pareto:  # and every point keeps within the limits and the target
        assert f.output_gwh_per_year >= low * (1 - rel)
        assert f.capex_usd <= lim.get("budget_usd", np.inf) * (1 + REL)
        assert f.floor_area_m2 <= lim.get("floor_area_m2", np.inf) * (1 + REL)
        assert f.dry_room_area_m2 <= lim.get("dry_room_area_m2", np.inf) * (1 + REL)


def _uncapped_line():
    """Two stations without machines_max, one machine each in the config."""
    return make_line(
        [
            {"kind": "discrete", "cycle_time_s": 36.0, "capex_usd": 1e6, "footprint_m2": 10.0},
            {"kind": "discrete", "cycle_time_s": 72.0, "capex_usd": 2e6, "footprint_m2": 10.0},
        ],
        energy_kwh=0.5,
        calendar={"hours_per_year": 8000.0},
    )


def test_max_output_counts_come_from_the_budget_not_twice_the_config():
    """100 cells/h per a (1 MUSD), 50 per b (2 MUSD): 1 a + 2 b make 100 cells/h for 5 MUSD,
    so 50 MUSD buys 10 a + 20 b = 1,000 cells/h = 4 GWh/yr (the old rule allowed 2 a + 5 b)."""
    result = optimise_layout(Problem(_uncapped_line(), budget_usd=50e6), "max_output")
    assert result.status == "optimal"
    assert result.layout == {"s0": {"default": 10}, "s1": {"default": 20}}
    assert result.predicted.output_gwh_per_year == pytest.approx(4.0)
    assert "budget" in result.limits
    capped = optimise_layout(
        Problem(_uncapped_line(), budget_usd=50e6, max_machines=4), "max_output"
    )
    assert "max_machines = 4" in capped.limits


def test_cli_binding_budget_and_unreachable_target_exit_3(capsys):
    from conftest import ROOT

    from linesim.cli import main

    config = str(ROOT / "configs/pilot_sulfide_200mwh.yaml")
    assert main(["optimise", config, "--target-gwh", "1e4", "--no-verify", "--no-store"]) == 3
    assert "more than any allowed count" in capsys.readouterr().out
    # 2 GWh/yr is reachable with more machines; the budget is what binds, and is named
    args = ["--target-gwh", "2", "--budget-usd", "5e7", "--no-verify", "--no-store"]
    assert main(["optimise", config, *args]) == 3
    assert "infeasible: budget 50.0 MUSD <" in capsys.readouterr().out


@st.composite
def costed_lines(draw):
    """2–3 stations, 1–2 options, at most 2 machines per option; a material bought at a drawn
    station, sometimes an optional station and a late detection; the toy cost block."""
    n = draw(st.integers(2, 3))
    stations = []
    for _ in range(n):
        options = [
            {
                "name": f"o{i}",
                "cycle_time_s": draw(st.floats(20.0, 60.0)),
                "defect_probability": draw(st.sampled_from([0.0, 0.02, 0.1])),
                "capex_usd": float(draw(st.integers(5, 20)) * 100_000),
                "footprint_m2": float(draw(st.integers(5, 50))),
                "power_kw": float(draw(st.integers(0, 20))),
            }
            for i in range(draw(st.integers(1, 2)))
        ]
        stations.append(
            {"kind": "discrete", "options": options, "machines": {"o0": 1}, "machines_max": 2}
        )
    # an optional station, the first one included: left out, the materials without enters_at
    # enter at the next station (the cost model's rule), those naming it are not bought
    optional = draw(st.sampled_from([None, 0, 1] if n == 3 else [None, 0]))
    if optional is not None:
        stations[optional]["optional"] = True
        stations[optional]["omission_effects"] = {
            f"s{optional + 1}": draw(st.sampled_from([0.05, 0.2]))
        }
    elif draw(st.booleans()):
        stations[0]["detected_at"] = f"s{n - 1}"
    cost = copy.deepcopy(TOY_COST)
    cost["materials"][1]["enters_at"] = f"s{n - 1}"
    return make_line(stations, energy_kwh=0.5, calendar={"hours_per_year": 8000.0}, cost=cost)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=costed_lines(), fraction=st.floats(0.1, 0.9))
def test_min_cost_equals_brute_force(spec, fraction):
    """The least annual cost at the target over every layout, by the cost model run on each
    layout (cost_report at the target's flow), equals min-cost's (the chain DP over annual
    cost, or the search when its layout does not fit), to the materials table's 1e-4."""
    from dataclasses import replace

    from linesim.economics.cost import cost_report, static_basis
    from linesim.optimise import apply_layout

    per_option = [list(itertools.product(range(3), repeat=len(s.options))) for s in spec.stations]
    layouts = []
    for combo in itertools.product(*per_option):
        lay = {
            s.id: {o.name: int(c) for o, c in zip(s.options, counts)}
            for s, counts in zip(spec.stations, combo)
        }
        if all(sum(counts) or s.optional for s, counts in zip(spec.stations, combo)):
            layouts.append(lay)
    outputs = sorted(evaluate_layout(spec, lay).output_gwh_per_year for lay in layouts)
    target = outputs[int(fraction * (len(outputs) - 1))] * 0.999

    def annual(lay):
        line = apply_layout(spec, lay)
        basis = static_basis(line)
        made = basis.good_cells_per_h * 8000 * 0.5 / 1e6
        if made < target * (1 + 1e-5):
            return None
        at_target = replace(basis, good_cells_per_h=basis.good_cells_per_h * target / made)
        return cost_report(line, at_target).annual.total

    values = [v for v in map(annual, layouts) if v is not None]
    result = optimise_layout(Problem(spec, target_gwh_per_year=target), "min_cost")
    assert result.status == "optimal"
    assert annual(result.layout) == pytest.approx(min(values), rel=2e-4)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=lines(tuned_station=False), ratio=st.sampled_from([1.05, 1.3]))
def test_the_ratio_sweep_matches_every_front_point_within_its_ratio(spec, ratio):
    """The ε-sweep's stated coverage, against the brute force's front: every non-dominated
    layout has a swept point with at least its yield, at most its capex and at least 1/r of
    its output (when the chain is exact and no area limit applies, as here)."""
    from linesim.optimise.front import swept_front
    from linesim.optimise.model import LayoutModel

    brute = Brute(spec)
    low = brute.quantile(brute.output_gwh, 0.3) * 0.999
    model = LayoutModel(Problem(spec, target_gwh_per_year=low), open=True)
    points, guaranteed, finished, _, delta = swept_front(model, low, None, ratio, 60.0)
    if not guaranteed:
        return  # omission patterns or late mixes beyond the enumeration: no claim
    assert finished and delta == 0
    got = np.array(
        [
            (f.output_gwh_per_year, f.line_yield, f.capex_usd)
            for f in (evaluate_layout(spec, p.layout) for p in points)
        ]
    )
    rel = 3e-5
    for row in _brute_front(brute, np.flatnonzero(brute.output_gwh >= low * (1 + REL))):
        matched = (
            (got[:, 0] >= brute.output_gwh[row] / ratio * (1 - rel))
            & (got[:, 1] >= brute.yield_[row] * (1 - rel))
            & (got[:, 2] <= brute.capex[row] * (1 + rel))
        )
        assert matched.any(), brute.layout(int(row))


@pytest.mark.parametrize("use_bound", [True, False])
def test_min_cost_buys_the_first_materials_when_the_first_station_is_left_out(use_bound):
    """An optional first station left out: the cost model buys the materials without
    enters_at at the next station; the chain DP (use_bound) and the CP-SAT model must too,
    else leaving it out looks cheaper than it is."""
    from dataclasses import replace

    from linesim.economics.cost import cost_report, static_basis
    from linesim.optimise import apply_layout
    from linesim.optimise.model import LayoutModel

    def station(capex, p, **extra):
        option = {"name": "o0", "cycle_time_s": 30.0, "defect_probability": p}
        option |= {"capex_usd": capex, "footprint_m2": 10.0, "power_kw": 1.0}
        return {"kind": "discrete", "options": [option], "machines": {"o0": 1}} | extra

    cost = copy.deepcopy(TOY_COST)
    cost["materials"][1]["enters_at"] = "s1"
    spec = make_line(
        [
            station(2e5, 0.0, optional=True, omission_effects={"s1": 0.2}),
            station(1e6, 0.02),
        ],
        energy_kwh=0.5,
        calendar={"hours_per_year": 8000.0},
        cost=cost,
    )
    target = 0.05

    def annual(lay):
        line = apply_layout(spec, lay)
        basis = static_basis(line)
        made = basis.good_cells_per_h * 8000 * 0.5 / 1e6
        at_target = replace(basis, good_cells_per_h=basis.good_cells_per_h * target / made)
        return cost_report(line, at_target).annual.total

    layouts = [{"s0": {"o0": a}, "s1": {"o0": b}} for a in range(3) for b in range(1, 3)]
    best = min(annual(lay) for lay in layouts)
    sol = LayoutModel(Problem(spec, target_gwh_per_year=target)).solve(
        "min_cost", use_bound=use_bound
    )
    assert sol.status == "optimal" and sol.layout is not None
    assert annual(sol.layout) == pytest.approx(best, rel=2e-4)


def _scaling_facility_line():
    """Three stations with options and the toy cost block, its facility priced at the line's
    capacity (3 MUSD per 0.1 GWh/yr, exponent 1: a large share of every layout's capex), so
    a layout that makes more costs more than its machines say."""
    cost = copy.deepcopy(TOY_COST)
    cost["facility"] = {
        "capex_usd": 3.0e6,
        "power_kw": 5.0,
        "reference_gwh": 0.1,
        "capex_exponent": 1.0,
    }

    def option(name, cycle_s, capex, p=0.0):
        return {
            "name": name,
            "cycle_time_s": cycle_s,
            "capex_usd": capex,
            "defect_probability": p,
            "footprint_m2": 20.0,
        }

    stations = [
        {"options": [option("a", 30.0, 1.0e6, 0.01)], "machines_max": 3},
        {"options": [option("a", 25.0, 1.2e6), option("b", 12.0, 2.1e6, 0.02)]},
        {"options": [option("a", 40.0, 0.8e6), option("b", 15.0, 2.5e6, 0.01)]},
    ]
    for s in stations:
        s.update(kind="discrete", machines={"a": 1})
        s.setdefault("machines_max", 2)
    return make_line(stations, energy_kwh=0.5, calendar={"hours_per_year": 8000.0}, cost=cost)


def test_a_budget_holds_for_the_cost_models_capex_when_the_facility_scales():
    """Every layout of the line priced by the cost model itself (evaluate_layout: the
    facility at each layout's own capacity): max-output, min-capex, min-cost and the Pareto
    front under a budget return layouts the cost model prices within it (the solver held
    the facility at the config's capacity: max-output answered 1.31–1.40 GWh/yr at 49–54
    MUSD under budgets of 22–42 MUSD); max-output's stated gap holds against the brute
    force's best, which it reaches here."""
    spec = _scaling_facility_line()
    rows = []
    for c0 in range(1, 4):
        for c1 in itertools.product(range(3), repeat=2):
            for c2 in itertools.product(range(3), repeat=2):
                if sum(c1) and sum(c2):
                    layout = {"s0": {"a": c0}, "s1": dict(zip("ab", c1))}
                    layout["s2"] = dict(zip("ab", c2))
                    f = evaluate_layout(spec, layout)
                    rows.append((f.output_gwh_per_year, f.capex_usd))
    output, capex = np.array(rows).T
    ranked = np.sort(capex)
    for q in (0.2, 0.4, 0.6, 0.8):
        budget = float(ranked[int(q * (len(ranked) - 1))]) * 1.000001
        best = output[capex <= budget].max()
        r = optimise_layout(Problem(spec, budget_usd=budget), "max_output")
        assert r.predicted.capex_usd <= budget
        assert r.predicted.output_gwh_per_year <= best * (1 + REL)
        assert best <= r.predicted.output_gwh_per_year * (1 + r.gap + REL)  # the gap holds
        # (not guaranteed in general – the stated gap is – but reached here at every budget:
        # the labels priced at their own capacity)
        assert r.predicted.output_gwh_per_year == pytest.approx(best, rel=REL)
        target = float(np.quantile(output, 0.5))
        fits = (capex <= budget) & (output >= target * (1 + REL))
        for objective in ("min_capex", "min_cost"):
            r = optimise_layout(
                Problem(spec, budget_usd=budget, target_gwh_per_year=target), objective
            )
            if not fits.any():
                assert r.status == "infeasible" and "budget" in r.binding
            elif r.found:
                assert r.predicted.capex_usd <= budget
                if objective == "min_capex" and r.status == "optimal":
                    assert r.predicted.capex_usd == pytest.approx(capex[fits].min(), rel=REL)
        front = pareto_front(Problem(spec, budget_usd=budget, target_gwh_per_year=target))
        assert all(fig.capex_usd <= budget for _, fig in front.pareto)


def _budget_facility():
    """benchmarks/budget_facility.py: its random lines (``line(rng)``: 3 stations, 1–2
    options, 0–2 machines each, a steep facility priced at each layout's own capacity) and
    their brute force (``every_layout(spec)``)."""
    import importlib.util

    from conftest import ROOT

    spec = importlib.util.spec_from_file_location(
        "budget_facility", ROOT / "benchmarks" / "budget_facility.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_min_capex_and_max_output_under_a_budget_equal_the_brute_force_with_a_scaling_facility():
    """Against every layout priced by the cost model (the facility at the layout's own
    capacity): min-capex at the median output and max-output, at three budgets, on the
    first five lines of benchmarks/budget_facility.py --seed 1, are optimal and equal the
    brute force. Before the search over output intervals (search.exact_facility) the solver
    priced the facility at one capacity per solve: on these lines it answered 2 min-capex
    cases "infeasible" while a layout kept the budget, and max-output fell 27 % short of the
    best on line 4 while stating no gap."""
    bench, rng = _budget_facility(), np.random.default_rng(1)
    for spec in [bench.line(rng) for _ in range(5)]:
        output, capex = bench.every_layout(spec)
        target = float(np.quantile(output, 0.5))
        for q in (0.3, 0.6, 0.9):
            budget = float(np.quantile(capex, q)) * 1.000001
            r = optimise_layout(Problem(spec, budget_usd=budget), "max_output")
            assert r.status == "optimal" and r.predicted.capex_usd <= budget
            best = output[capex <= budget].max()
            assert r.predicted.output_gwh_per_year == pytest.approx(best, rel=REL)
            fits = (capex <= budget) & (output >= target * (1 + REL))
            r = optimise_layout(
                Problem(spec, budget_usd=budget, target_gwh_per_year=target), "min_capex"
            )
            near = (capex <= budget) & (output >= target * (1 - REL))
            if not near.any():
                assert r.status == "infeasible" and r.layout is None
                continue
            if not fits.any():
                continue  # (within the model's resolution of the target: no claim)
            assert r.status == "optimal" and r.predicted.capex_usd <= budget
            assert r.predicted.output_gwh_per_year >= target * (1 - REL)  # it reaches it
            assert r.predicted.capex_usd <= capex[fits].min() * (1 + 1e-6)
