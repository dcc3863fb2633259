"""The Pareto front of output ↑ × line yield ↑ × capex ↓: complete by enumeration on small
lines, by an ε-sweep over output with the chain's labels on large ones.

Both work on the model's own integers (capex, total scaled loss −ln Y, scaled log good output
within the headroom: :meth:`~linesim.optimise.model.LayoutModel.integer_figures`), so
"dominates" means what the CP-SAT model says, and ties (equal integers) are one point.

**Enumeration** (:func:`enumerated_front`): find a layout that no point found so far weakly
dominates (for each found point f: output > f's, or loss < f's, or capex < f's), with the least
capex, then at that capex the least loss, then the most output. That layout is itself
non-dominated: a layout z dominating it would also escape every found point (whatever
dominated z would dominate it too), and would have won one of the three steps. Each round adds
one point of the front; the round that finds nothing proves the front complete. Two CP-SAT
solves per point.

**Sweep** (:func:`swept_front`): at an output floor t, the chain's dynamic programme
(:meth:`~linesim.optimise.model.LayoutModel.chain_front`) returns every Pareto (loss, capex)
label among the layouts that make at least t — a whole yield × capex front at once. A point of
the 3-D front with output in [t, o_min) (o_min: the least output among those labels) is
matched by a label with no more loss and capex and more output, so it would be dominated: no
front point lies there, and t' = o_min (+1 unit) loses nothing. Jumping further, to t·r, a
point with output in [t, t·r) is matched by a label with at least its yield, at most its capex
and at least 1/r of its output. That is the stated coverage, when the chain is exact (omission
patterns and late mixes enumerated) and no area limit applies; otherwise the labels are only
filtered by the limits afterwards and the coverage is measured, not guaranteed (BENCHMARKS.md).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from linesim.capacity import cells_per_h_for_gwh
from linesim.optimise.model import SCALE, LayoutModel, clipped_log, scaled

__all__ = [
    "FrontPoint",
    "enumerated_front",
    "swept_front",
    "log_output_of",
    "merged",
    "non_dominated",
]

#: the most points the enumeration collects before it reports the front as partial
MAX_FRONT_POINTS = 400


@dataclass(frozen=True)
class FrontPoint:
    """A layout on the front with its figures in the model's integers."""

    layout: dict[str, dict[str, int]]
    settings: dict[str, dict[str, float]] | None
    capex: int  #: Σ candidate capex [model USD units], without the constant part
    loss: int  #: −ln(line yield) [SCALE units]
    log_output: int  #: ln(good cells/h) within the headroom [SCALE units]


def _need(model: LayoutModel, gwh: float) -> int:
    spec = model.problem.spec
    cells = cells_per_h_for_gwh(gwh, spec.product.energy_kwh, spec.calendar.year_hours)
    return scaled(clipped_log(cells), SCALE, True)


def enumerated_front(
    model: LayoutModel, low_gwh: float, deadline_s: float
) -> tuple[list[FrontPoint], bool]:
    """Every non-dominated layout with output ≥ ``low_gwh`` [GWh/yr] within the problem's
    limits, and whether the enumeration finished (False: stopped at ``deadline_s`` of wall
    time or ``MAX_FRONT_POINTS``)."""
    from ortools.sat.python import cp_model

    start = time.perf_counter()
    points: list[FrontPoint] = []
    p = model.problem
    while len(points) < MAX_FRONT_POINTS:
        left = deadline_s - (time.perf_counter() - start)
        if left <= 0:
            return points, False
        chosen = None
        for phase in (1, 2):
            m, v = model.build("max_output", min_output_gwh=low_gwh)
            for f in points:
                # escape f: more output, or less loss, or less capex
                better = [m.new_bool_var("") for _ in range(3)]
                m.add(v["log_g"] >= f.log_output + 1).only_enforce_if(better[0])
                m.add(v["loss"] <= f.loss - 1).only_enforce_if(better[1])
                m.add(v["capex"] <= f.capex - 1).only_enforce_if(better[2])
                m.add_bool_or(better)
            if phase == 1:
                m.minimize(v["capex"])
            else:
                assert chosen is not None
                m.add(v["capex"] == chosen)
                # least loss, then most output (the output's range is below one loss unit's
                # weight: lexicographic in one solve)
                width = 2 * scaled(2 * 60.0, SCALE, True)
                m.minimize(v["loss"] * width - v["log_g"])
            solver = cp_model.CpSolver()
            solver.parameters.max_time_in_seconds = max(left, 0.01)
            solver.parameters.num_workers = p.workers
            solver.parameters.random_seed = p.seed % 2**31
            code = solver.solve(m)
            if code == cp_model.INFEASIBLE and phase == 1:
                return points, True  # nothing escapes the points found: complete
            if code != cp_model.OPTIMAL:
                return points, False
            if phase == 1:
                chosen = round(solver.value(v["capex"]))
                continue
            choice = [
                next(k for k, var in enumerate(xj) if solver.boolean_value(var)) for xj in v["x"]
            ]
            layout, settings = model.layout_of(choice)
            points.append(
                FrontPoint(
                    layout,
                    settings,
                    round(solver.value(v["capex"])),
                    round(solver.value(v["loss"])),
                    round(solver.value(v["log_g"])),
                )
            )
    return points, False


def swept_front(
    model: LayoutModel,
    low_gwh: float,
    top: int | None,
    ratio: float,
    deadline_s: float,
    max_probes: int | None = None,
    most: int = MAX_FRONT_POINTS,
) -> tuple[list[FrontPoint], bool, bool, int, float]:
    """The ε-sweep of the module docstring from ``low_gwh`` [GWh/yr] up to the scaled log
    output ``top`` (the most any layout makes, :func:`log_output_of`; None: until no layout
    reaches the floor), each floor at least
    ``ratio`` × the one before (1: the next output level exactly, which makes the sweep
    complete on an exact chain). Returns the non-dominated points found, whether the coverage
    guarantee holds (every label exact, no area limit), whether the sweep reached ``top``
    within ``max_probes`` floors (the same answer on any machine) and ``deadline_s`` of wall
    time (a safety limit), the number of floors probed, and the δ the points were thinned
    by to at most ``most`` (:func:`thinned`; 0 if not)."""
    start = time.perf_counter()
    p = model.problem
    limited = any(
        a is not None and a < model.most_area_m2 for a in (p.floor_area_m2, p.dry_room_area_m2)
    )
    guaranteed = not limited
    spec = model.problem.spec
    per_gwh = spec.calendar.year_hours * spec.product.energy_kwh / 1e6
    rows: list[np.ndarray] = []
    need = _need(model, low_gwh)
    step = math.ceil(math.log(ratio) * SCALE) if ratio > 1 else 1
    probes, finished = 0, False
    while time.perf_counter() - start < deadline_s and probes < (max_probes or math.inf):
        probes += 1
        # (candidates filtered at an output just below the need: a superset of those needed)
        sub = model.at_target(math.exp((need - 2) / SCALE) * per_gwh)
        found = sub.chain_front(0.0, need=need)
        if not found:
            finished = True  # nothing reaches this floor: the sweep is past the front
            break
        choices = np.concatenate([_full_choices(model, sub, f.choices) for f in found])
        guaranteed &= all(f.exact for f in found)
        _, _, log_g = model.integer_figures(choices)
        if limited:
            fits = np.array([model.area_excess(tuple(c)) == (0, 0) for c in choices], bool)
            rows.append(choices[fits])
        else:
            rows.append(choices)
        if top is not None and need >= top:
            finished = True
            break
        need = max(int(np.min(log_g)) + 1, need + step)
        if top is not None:
            need = min(need, top)
    if not rows:
        return [], guaranteed, finished, probes, 0.0
    every = np.unique(np.concatenate(rows), axis=0)
    capex, loss, log_g = model.integer_figures(every)
    keep = non_dominated(capex, loss, log_g)
    every, capex, loss, log_g = every[keep], capex[keep], loss[keep], log_g[keep]
    keep, delta = thinned(capex, loss, log_g, most)
    points = []
    for row in np.flatnonzero(keep):
        layout, settings = model.layout_of(every[row])
        points.append(
            FrontPoint(layout, settings, int(capex[row]), int(loss[row]), int(log_g[row]))
        )
    return points, guaranteed, finished, probes, delta


def log_output_of(
    model: LayoutModel, layout: dict[str, dict[str, int]], settings=None
) -> int | None:
    """The scaled log good output the model counts for ``layout`` (None if one of its mixes
    is not among the model's candidates)."""
    choice = []
    for j, station in enumerate(model.problem.spec.stations):
        want = (layout[station.id], (settings or {}).get(station.id))
        for k, c in enumerate(model.candidates[j]):
            if dict(c.counts) == want[0] and (want[1] is None or dict(c.settings) == want[1]):
                choice.append(k)
                break
        else:
            return None
    _, _, log_g = model.integer_figures(np.asarray([choice], dtype=np.int64))
    return int(log_g[0])


def _full_choices(model: LayoutModel, sub: LayoutModel, choices: np.ndarray) -> np.ndarray:
    """Candidate indices of ``sub`` (a model at a target, whose candidates are a filtered
    copy of ``model``'s) as indices into ``model``'s candidate lists."""
    out = np.empty_like(choices)
    for j, (full, part) in enumerate(zip(model.candidates, sub.candidates)):
        where = {id(c): k for k, c in enumerate(full)}
        index = np.array([where[id(c)] for c in part], dtype=np.int64)
        out[:, j] = index[choices[:, j]]
    return out


def merged(a: list[FrontPoint], b: list[FrontPoint]) -> list[FrontPoint]:
    """The non-dominated points of two lists found on the same model."""
    both = a + b
    if not both:
        return []
    keep = non_dominated(
        np.array([f.capex for f in both], dtype=np.int64),
        np.array([f.loss for f in both], dtype=np.int64),
        np.array([f.log_output for f in both], dtype=np.int64),
    )
    return [f for f, k in zip(both, keep) if k]


def non_dominated(capex: np.ndarray, loss: np.ndarray, log_g: np.ndarray) -> np.ndarray:
    """Mask of the rows no other row dominates (no more capex, loss, and no less output, and
    better in one); of rows with equal figures, the first is kept."""
    order = np.lexsort((-log_g, loss, capex))  # by capex, then loss, then output (best first)
    keep = np.zeros(len(capex), dtype=bool)
    kept_l = np.empty(len(capex), dtype=np.int64)
    kept_o = np.empty(len(capex), dtype=np.int64)
    count = 0
    for row in order:
        # every kept row has no more capex (sorted): it dominates unless worse in loss or output
        if count and np.any((kept_l[:count] <= loss[row]) & (kept_o[:count] >= log_g[row])):
            continue
        keep[row] = True
        kept_l[count], kept_o[count] = loss[row], log_g[row]
        count += 1
    return keep


def thinned(
    capex: np.ndarray, loss: np.ndarray, log_g: np.ndarray, most: int
) -> tuple[np.ndarray, float]:
    """At most ``most`` of the rows (a mask), one per box of relative width δ in capex, yield
    and output (the cheapest in each), with the least δ (doubling from 1e-4) that gets there;
    and δ (0 when nothing was thinned). A front point thinned away is matched by the kept one
    of its box to within δ in each figure."""
    if len(capex) <= most:
        return np.ones(len(capex), dtype=bool), 0.0
    delta = 1e-4
    while True:
        step = delta * SCALE
        boxes = np.stack(
            [
                np.floor(np.log(np.maximum(capex, 1)) / math.log1p(delta)),
                np.floor(loss / step),
                np.floor(log_g / step),
            ],
            axis=1,
        )
        order = np.lexsort((-log_g, loss, capex))
        _, first = np.unique(boxes[order], axis=0, return_index=True)
        if len(first) <= most:
            keep = np.zeros(len(capex), dtype=bool)
            keep[order[first]] = True
            return keep, delta
        delta *= 2
