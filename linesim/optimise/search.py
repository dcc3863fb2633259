"""Layout optimisation: objectives, the Pareto front, and why a problem is infeasible.

:func:`optimise_layout` solves one objective on a :class:`~linesim.optimise.model.Problem`
(min-capex and min-cost through the chain bound, with an area Lagrangian when a floor or
dry-room limit binds; max-output by bisection on min-capex probes the chain's labels answer);
:func:`pareto_front` returns the whole front on small lines and an ε-sweep with a stated
coverage on large ones (:mod:`~linesim.optimise.front`);
:func:`diagnose` names the binding constraint of an infeasible problem by relaxing the limits
one at a time. All figures reported for a layout come from :func:`evaluate_layout`, not from the
scaled CP-SAT model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from linesim.optimise.layout import LayoutFigures, evaluate_layout
from linesim.optimise.model import LayoutModel, Problem, Solution, greedy_layout
from linesim.spec.base import MAX_MACHINES

__all__ = ["OBJECTIVES", "OptimiseResult", "optimise_layout", "pareto_front", "diagnose"]

OBJECTIVES = ("min_capex", "max_output", "min_cost")


@dataclass(frozen=True)
class OptimiseResult:
    status: str
    objective: str
    layout: dict[str, dict[str, int]] | None
    predicted: LayoutFigures | None
    binding: str | None  #: for an infeasible problem: the constraint that cannot be met
    wall_time_s: float
    pareto: tuple[tuple[dict[str, dict[str, int]], LayoutFigures], ...] = field(default=())
    settings: dict[str, dict[str, float]] | None = None  #: chosen process settings (tuning)
    pareto_settings: tuple[dict[str, dict[str, float]] | None, ...] = field(default=())
    limits: str | None = None  #: where the machine counts' upper limits came from
    #: the solver's objective (USD capex, GWh/yr, USD/yr of cost at the target)
    objective_value: float | None = None
    #: proven relative gap |objective − bound| ÷ objective (0 when optimal; None if unknown)
    gap: float | None = None
    #: for a Pareto front: how complete it is, in words (complete, or the sweep's coverage)
    coverage: str | None = None

    @property
    def found(self) -> bool:
        return self.layout is not None


def _check(problem: Problem, objective: str) -> None:
    """An objective the problem can be solved for, or a :class:`~linesim.errors.UsageError`
    naming the :class:`Problem` field to set (the CLI maps field names to its flags)."""
    from linesim.errors import UsageError

    if objective not in OBJECTIVES:
        raise UsageError(f"objective {objective!r}; allowed: " + ", ".join(OBJECTIVES))
    if objective in ("min_capex", "min_cost") and problem.target_gwh_per_year is None:
        raise UsageError(f"{objective} needs a target: set target_gwh_per_year [GWh/yr]")
    if objective == "max_output" and problem.budget_usd is None:
        raise UsageError("max_output needs a budget: set budget_usd [USD]")
    if objective == "min_cost" and problem.spec.cost is None:
        raise UsageError(
            f"line {problem.spec.name!r} has no cost block, so min_cost cannot "
            "be used; allowed: min_capex or max_output"
        )


def optimise_layout(problem: Problem, objective: str = "min_capex") -> OptimiseResult:
    """Solve ``objective`` (min_capex | max_output | min_cost) on ``problem``."""
    _check(problem, objective)
    # max-output maximises: a target is only a floor on the output, so the model is open
    # (counts up to what the budget and areas allow, no mix judged by the target)
    opened = objective == "max_output"
    model = LayoutModel(problem, open=opened)
    if any(not cs for cs in model.candidates):
        return OptimiseResult(
            "infeasible", objective, None, None, diagnose(problem), 0.0, limits=model.count_limit
        )
    hint = (
        greedy_layout(model, problem.target_gwh_per_year)
        if problem.target_gwh_per_year is not None
        else None
    )
    if opened and not problem.tune:
        sol = maximise_output(problem, model)
    elif opened:
        sol = model.solve(objective, hint=hint, min_output_gwh=problem.target_gwh_per_year)
    else:
        sol = model.solve(objective, hint=hint)
    if sol.layout is not None and problem.tune and sol.status == "optimal":
        # among the optimal layouts, the one that changes fewest settings from the config's
        settled = model.solve(objective, hint=sol.layout, settle_at=sol.raw_objective)
        if settled.layout is not None:
            from dataclasses import replace

            sol = replace(
                sol,
                layout=settled.layout,
                settings=settled.settings,
                wall_time_s=sol.wall_time_s + settled.wall_time_s,
            )
    if sol.layout is None:
        binding = diagnose(problem) if sol.status == "infeasible" else None
        return OptimiseResult(
            sol.status, objective, None, None, binding, sol.wall_time_s, limits=model.count_limit
        )
    gap = None
    if sol.status == "optimal":
        gap = 0.0
    elif sol.bound is not None and sol.objective_value:
        gap = abs(sol.objective_value - sol.bound) / abs(sol.objective_value)
    return OptimiseResult(
        sol.status,
        objective,
        sol.layout,
        evaluate_layout(problem.spec, sol.layout, sol.settings),
        None,
        sol.wall_time_s,
        settings=sol.settings,
        limits=model.count_limit,
        objective_value=sol.objective_value,
        gap=gap,
    )


#: max-output stops when the bracket [found, refuted] is this narrow (relative): the scaled
#: model's own resolution (about n · 1e-6 of a log unit, see model.py) is of the same order
OUTPUT_RESOLUTION = 1e-6


def maximise_output(problem: Problem, model: LayoutModel | None = None) -> Solution:
    """The most output within the budget and area limits, by bisection on the target of the
    min-capex model (whose chain bound answers most targets without a search): a target is
    reachable within the limits iff min-capex at it is feasible, which is monotone in the
    target. Each feasible answer raises the floor to its own output (by the static analysis);
    each infeasible one lowers the ceiling. Status ``optimal`` once the ceiling is within
    ``OUTPUT_RESOLUTION`` of the floor with every refutation proven; ``feasible`` if a solve
    hit the time limit (a timed-out target ends the bisection there but bounds nothing: the
    bound is the least refuted target, else the first ceiling). The first ceiling is
    :attr:`LayoutModel.most_output_gwh` (each station's most affordable capacity). The
    objective value is what the returned layout makes within the headroom."""
    import time

    start = time.perf_counter()
    model = model or LayoutModel(problem, open=True)
    ceiling = model.most_output_gwh
    if not math.isfinite(ceiling) or ceiling <= 0:  # nothing bounds it: the model decides
        return model.solve("max_output", min_output_gwh=problem.target_gwh_per_year)
    floor = problem.target_gwh_per_year or ceiling * 1e-9
    best: Solution | None = None
    best_made = 0.0
    # the ceiling the bisection narrows (a timed-out probe lowers it too, to end the search)
    # and the proven one (lowered only by a refuted probe): the bound reported is the latter
    proven_ceiling = ceiling
    probe = floor
    while True:
        sol, _ = _reachable(model.at_target(probe))
        if sol.layout is not None:
            # (what it makes within the headroom: each station at most u busy)
            made = evaluate_layout(problem.spec, sol.layout).output_gwh_per_year
            made *= problem.max_utilisation
            best, best_made, floor = sol, made, max(made, probe)
        elif best is None:  # the floor itself (target, or the least output) is out of reach
            return Solution(sol.status, None, None, time.perf_counter() - start)
        else:
            if sol.status == "infeasible":
                proven_ceiling = min(proven_ceiling, probe)
            ceiling = probe
        if ceiling <= floor * (1 + OUTPUT_RESOLUTION):
            break
        probe = math.sqrt(floor * ceiling)
        probe = min(max(probe, floor * (1 + OUTPUT_RESOLUTION / 2)), ceiling)
    assert best is not None and best.layout is not None
    proven = proven_ceiling <= floor * (1 + OUTPUT_RESOLUTION)
    return Solution(
        "optimal" if proven else "feasible",
        best.layout,
        best_made,  # what the returned layout makes, not the probe it answered
        time.perf_counter() - start,
        settings=best.settings,
        bound=best_made if proven else proven_ceiling,
    )


def _reachable(model: LayoutModel) -> tuple[Solution, bool]:
    """Whether ``model``'s target is reachable within its limits, with a layout that reaches
    it: by the chain's labels alone when they decide (none within the budget: no, proven, as
    the chain is a relaxation; exact labels and no area limit: yes, the label that makes the
    most), else by min-capex on the full model. The flag: whether the labels decided."""
    import numpy as np

    p = model.problem
    limited = any(
        a is not None and a < model.most_area_m2 for a in (p.floor_area_m2, p.dry_room_area_m2)
    )
    target = p.target_gwh_per_year or 0.0
    found = model.chain_front(target)
    if not found:
        return Solution("infeasible", None, None, 0.0), True  # not even the relaxation can
    if limited or not all(f.exact for f in found):
        return model.solve("min_capex"), False
    choices = np.concatenate([f.choices for f in found])
    capex, _, log_g = model.integer_figures(choices)
    best = int(np.argmax(log_g))
    layout, settings = model.layout_of(choices[best])
    value = (int(capex[best]) + model._usd(model.capex_constant_usd())) / model.usd_units
    return Solution("optimal", layout, value, 0.0, settings=settings), True


def _gwh(x: float) -> str:
    return f"{x:.3g} GWh/yr"


def diagnose(problem: Problem) -> str:
    """The constraint that makes ``problem`` infeasible, in words, with the numbers."""
    from dataclasses import replace

    target = problem.target_gwh_per_year
    bare = replace(
        problem,
        budget_usd=None,
        floor_area_m2=None,
        dry_room_area_m2=None,
        max_utilisation=1.0,
        target_gwh_per_year=None,
    )
    widest = LayoutModel(bare)
    scrapping = [s.id for s, cs in zip(problem.spec.stations, widest.candidates) if not cs]
    if scrapping:
        return (
            f"station {scrapping[0]} has no machine mix that makes good cells: every allowed "
            "mix scraps every cell it processes (defect probability 1), or the spec refuses "
            "every level of its process window; allowed: an equipment option or "
            "process-window level with a defect probability < 1"
        )
    # where a station's machine count is bounded by what the target needs (no machines_max,
    # no max_machines), the most the counts make depends on the target: name the station
    bounded = problem.max_machines is not None or all(s.machines_max for s in problem.spec.stations)
    if target is not None and not bounded:
        short = _short_station(replace(bare, target_gwh_per_year=target))
        if short:
            return short
    if target is not None and not _feasible(replace(bare, target_gwh_per_year=target)):
        # the most the allowed machine counts make, with no other limit (counts reaching what
        # the target needs, as min-capex allows them)
        top = LayoutModel(replace(bare, target_gwh_per_year=target), open=True).solve("max_output")
        if top.layout is None or _objective(top) < target:
            made = _figures(widest, top) if top.layout else None
            where = f" (bottleneck {made.bottleneck} at its maximum count)" if made else ""
            best = made.output_gwh_per_year if made else 0.0
            return (
                f"target {_gwh(target)} > {_gwh(best)}, the most the allowed machine "
                f"counts make{where}; raise machines_max or max_machines"
            )
    steps = [
        ("max_utilisation", "utilisation"),
        ("floor_area_m2", "floor"),
        ("dry_room_area_m2", "dry_room"),
        ("budget_usd", "budget"),
    ]
    active = {}
    for attr, name in steps:
        value = getattr(problem, attr)
        if value is None or (attr == "max_utilisation" and value >= 1.0):
            continue
        active[attr] = value
        trial = replace(bare, target_gwh_per_year=target, **active)
        if _feasible(trial):
            continue
        return _explain(
            replace(
                bare, target_gwh_per_year=target, **{k: v for k, v in active.items() if k != attr}
            ),
            attr,
            value,
            name,
        )
    return "the limits together (" + ", ".join(active) + ") leave no layout"


def _short_station(problem: Problem) -> str | None:
    """The first station whose every allowed machine mix has less capacity than the target of
    ``problem`` needs there even at the best yields, in words; None if each has one."""
    model = LayoutModel(problem)
    for j, (station, cs) in enumerate(zip(problem.spec.stations, model.candidates)):
        if cs:
            continue
        return (
            f"target {_gwh(problem.target_gwh_per_year or 0.0)} needs "
            f"{_figure(model.least_cells_per_h[j], ',.0f')} cells/h at station {station.id}, more "
            "than any allowed count of its machines makes; raise machines_max or max_machines "
            f"(each at most {MAX_MACHINES:,}) or lower target_gwh_per_year"
        )
    return None


def _figure(x: float, spec: str) -> str:
    """A figure for a message: by the format ``spec`` (e.g. ``,.0f``), or as ``1.23e+30`` past
    twelve digits (a 300-digit budget is no message)."""
    return format(x, spec) if abs(x) < 1e12 else f"{x:.3g}"


def _feasible(problem: Problem) -> bool:
    if problem.target_gwh_per_year is not None:
        return LayoutModel(problem).solve("min_capex").layout is not None
    return LayoutModel(problem).solve("max_output").layout is not None


def _explain(without: Problem, attr: str, value: float, name: str) -> str:
    """Why the limit ``attr`` = ``value`` cannot be met, with the best the others allow."""
    target = without.target_gwh_per_year
    model = LayoutModel(without)
    if name == "budget":
        if target is None:
            return f"budget {_figure(value / 1e6, ',.1f')} MUSD buys no working line"
        sol = model.solve("min_capex")
        return (
            f"budget {_figure(value / 1e6, ',.1f')} MUSD < "
            f"{_figure(_objective(sol) / 1e6, ',.1f')} MUSD "
            f"minimum capex for {_gwh(target)}"
        )
    # (without a target, as for max_output, the least any working line needs)
    goal = _gwh(target) if target is not None else "a working line"
    if name == "floor":
        sol = model.solve("min_floor")
        area = _figures(model, sol).floor_area_m2
        return (
            f"floor area {_figure(value, ',.0f')} m² < {_figure(area, ',.0f')} m² needed for {goal}"
        )
    if name == "dry_room":
        sol = model.solve("min_dry_room")
        area = _figures(model, sol).dry_room_area_m2
        return (
            f"dry-room area {_figure(value, ',.0f')} m² < {_figure(area, ',.0f')} m² "
            f"needed for {goal}"
        )
    top = LayoutModel(without).solve("max_output")
    best = top.objective_value * value if top.objective_value else 0.0
    return f"max utilisation {value:g}: at most {_gwh(best)} within that headroom" + (
        f", target {_gwh(target)}" if target is not None else ""
    )


#: lines with more layouts than this get the ε-sweep (:func:`.front.swept_front`) instead of
#: the complete enumeration (:func:`.front.enumerated_front`, two CP-SAT solves per point)
EXACT_FRONT_LAYOUTS = 10**6
#: the fewest output floors of the sweep
SWEEP_LEVELS = 24
#: the most points the sweep on a large line returns (thinned by boxes beyond: front.thinned)
SWEEP_POINTS = 120


def pareto_front(problem: Problem, points: int = 6, method: str = "auto") -> OptimiseResult:
    """Non-dominated layouts over (output ↑, line yield ↑, capex ↓) with output at least the
    target (or a tenth of the most the limits allow), within the budget and area limits.

    ``method``: ``"exact"`` enumerates the whole front (:func:`.front.enumerated_front`: the
    result's coverage says "complete" once the enumeration proves nothing is left);
    ``"sweep"`` runs the ε-sweep over output with the chain's labels
    (:func:`.front.swept_front`, at least max(``points``, ``SWEEP_LEVELS``) output floors),
    whose coverage is stated with the result; ``"auto"``: exact up to
    ``EXACT_FRONT_LAYOUTS`` layouts, the sweep beyond (or where the enumeration stops at the
    time limit). Points are sorted by output; the figures come from :func:`evaluate_layout`.
    """
    import time

    from linesim.optimise.front import (
        MAX_FRONT_POINTS,
        FrontPoint,
        enumerated_front,
        merged,
        swept_front,
    )

    if method not in ("auto", "exact", "sweep"):
        raise ValueError(f"method {method!r}; allowed: auto, exact, sweep")
    start = time.perf_counter()
    # open: counts up to what the budget and areas allow (or, without a budget, what the
    # target needs and at least the default rule – reported as the result's limits)
    model = LayoutModel(problem, open=True)
    # the output range: up to the most each station's affordable machines make (an upper
    # estimate, exact enough to space the sweep's floors), or the model's maximum
    high: float | None = model.most_output_gwh
    if high is None or not math.isfinite(high) or high <= 0:
        top = model.solve("max_output", min_output_gwh=problem.target_gwh_per_year)
        high = top.objective_value
        if high is None and top.status != "infeasible":
            # the solve stopped (time limit) without a layout: nothing is proven
            return OptimiseResult(
                top.status,
                "pareto",
                None,
                None,
                None,
                time.perf_counter() - start,
                limits=model.count_limit,
            )
    low = problem.target_gwh_per_year or (high / 10 if high else None)
    if high is None or low is None or low > high * (1 + 1e-9):
        return OptimiseResult(
            "infeasible",
            "pareto",
            None,
            None,
            diagnose(problem),
            time.perf_counter() - start,
            limits=model.count_limit,
        )
    layouts = math.prod(len(cs) for cs in model.candidates)
    limited = any(
        a is not None and a < model.most_area_m2
        for a in (problem.floor_area_m2, problem.dry_room_area_m2)
    )
    top_need = None  # the sweeps run until no layout reaches the floor
    complete, coverage = False, ""
    found: list[FrontPoint] = []
    deadline = problem.time_limit_s
    small = method == "exact" or (method == "auto" and layouts <= EXACT_FRONT_LAYOUTS)
    if (small or method == "exact") and not limited:
        # every output level swept: complete on an exact chain without area limits
        found, guaranteed, finished, probes, delta = swept_front(
            model, low, top_need, 1.0, deadline, most=MAX_FRONT_POINTS
        )
        complete = guaranteed and finished and delta == 0
        coverage = f"complete: every output level swept ({probes} floors of an exact chain)"
    if not complete and small:
        found, complete = enumerated_front(model, low, deadline)
        coverage = (
            "complete: every non-dominated layout, by enumeration"
            if complete
            else f"partial: the enumeration stopped after {len(found)} points"
        )
    if not complete and method != "exact":
        ratio = (high / low) ** (1.0 / max(points, SWEEP_LEVELS)) if high > low else 1.0
        more, guaranteed, finished, probes, delta = swept_front(
            model, low, top_need, ratio, deadline, most=SWEEP_POINTS // 2
        )
        found = merged(found, more)
        share = f"{(1 - delta) / ratio:.1%}"
        within = (
            f"at least {1 - delta:.2%} of its yield, at most {1 + delta:.2%} of its capex"
            if delta
            else "at least its yield, at most its capex"
        )
        coverage = (
            f"ε-sweep over {probes} output floors: every non-dominated layout is matched by a "
            f"point with {within} and at least {share} of its output"
            if guaranteed and finished
            else f"ε-sweep over {probes} output floors (approximate: omission patterns or late "
            "mixes relaxed, area limits applied after the sweep, or the time limit reached; "
            "coverage measured in BENCHMARKS.md, not guaranteed)"
        )
    front = _resolved([(f, evaluate_layout(problem.spec, f.layout, f.settings)) for f in found])
    front.sort(key=lambda pf: (pf[1].output_gwh_per_year, -pf[1].capex_usd))
    wall = time.perf_counter() - start
    if not front and not (small and complete):
        # an empty front that is not a finished enumeration proves nothing (the sweep's labels
        # ignore the area limits; the enumeration may have stopped): the least-capex layout
        # reaching the output floor, as a partial front, or the solver's own status
        least = model.solve("min_capex", min_output_gwh=low)
        if least.layout is None:
            binding = diagnose(problem) if least.status == "infeasible" else None
            return OptimiseResult(
                least.status,
                "pareto",
                None,
                None,
                binding,
                time.perf_counter() - start,
                limits=model.count_limit,
            )
        # the integers are unused past this point: only the layout and settings are read
        fallback = FrontPoint(least.layout, least.settings, 0, 0, 0)
        front = [(fallback, evaluate_layout(problem.spec, least.layout, least.settings))]
        complete = False
        coverage = (
            "partial: the search found no front point (time limit, or area limits applied "
            "after the sweep); only the least-capex layout reaching the output floor"
        )
        wall = time.perf_counter() - start
    if not front:
        return OptimiseResult(
            "infeasible", "pareto", None, None, diagnose(problem), wall, limits=model.count_limit
        )
    return OptimiseResult(
        "optimal" if complete else "feasible",
        "pareto",
        front[0][0].layout,
        front[0][1],
        None,
        wall,
        tuple((f.layout, fig) for f, fig in front),
        settings=front[0][0].settings,
        pareto_settings=tuple(f.settings for f, _ in front),
        limits=model.count_limit,
        coverage=coverage,
    )


def _layout(sol: Solution) -> dict[str, dict[str, int]]:
    """The layout of a solution the caller knows was found (an error if it was not)."""
    if sol.layout is None:
        raise ValueError(f"the solver found no layout (status {sol.status}); check .layout first")
    return sol.layout


def _objective(sol: Solution) -> float:
    """The objective value of a solution the caller knows was found (an error if it was not)."""
    if sol.objective_value is None:
        raise ValueError(f"the solver found no layout (status {sol.status}); check .layout first")
    return sol.objective_value


def _figures(model: LayoutModel, sol: Solution) -> LayoutFigures:
    """A solved layout measured by the static analysis (at its process settings)."""
    return evaluate_layout(model.problem.spec, _layout(sol), sol.settings)


def dominates(a: LayoutFigures, b: LayoutFigures, rel: float = 1e-6) -> bool:
    """a dominates b: no worse in output, yield and capex, and better in one (beyond ``rel``)."""
    no_worse = (
        a.output_gwh_per_year >= b.output_gwh_per_year * (1 - rel)
        and a.line_yield >= b.line_yield * (1 - rel)
        and a.capex_usd <= b.capex_usd * (1 + rel)
    )
    better = (
        a.output_gwh_per_year > b.output_gwh_per_year * (1 + rel)
        or a.line_yield > b.line_yield * (1 + rel)
        or a.capex_usd < b.capex_usd * (1 - rel)
    )
    return no_worse and better


def _resolved(points: list, rel: float = 1e-6) -> list:
    """The (point, figures) pairs no other one :func:`dominates` by its figures: points the
    model's integers told apart by less than their resolution (``rel``) are one point."""
    import numpy as np

    if not points:
        return points
    f = np.array(
        [(g.output_gwh_per_year, g.line_yield, g.capex_usd) for _, g in points], dtype=float
    )
    keep = []
    for i in range(len(points)):
        no_worse = (
            (f[:, 0] >= f[i, 0] * (1 - rel))
            & (f[:, 1] >= f[i, 1] * (1 - rel))
            & (f[:, 2] <= f[i, 2] * (1 + rel))
        )
        better = (
            (f[:, 0] > f[i, 0] * (1 + rel))
            | (f[:, 1] > f[i, 1] * (1 + rel))
            | (f[:, 2] < f[i, 2] * (1 - rel))
        )
        keep.append(not (no_worse & better).any())
    return [p for p, k in zip(points, keep) if k]
