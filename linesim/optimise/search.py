"""Layout optimisation: objectives, the Pareto front, and why a problem is infeasible.

:func:`optimise_layout` solves one objective on a :class:`~linesim.optimise.model.Problem`;
:func:`pareto_front` sweeps ε-constraints on output and yield and minimises capex at each, then
(lexicographically) maximises yield and output at that capex, so every point is non-dominated;
:func:`diagnose` names the binding constraint of an infeasible problem by relaxing the limits
one at a time. All figures reported for a layout come from :func:`evaluate_layout`, not from the
scaled CP-SAT model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from linesim.optimise.layout import LayoutFigures, evaluate_layout
from linesim.optimise.model import SCALE, LayoutModel, Problem, Solution, greedy_layout
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
    hit the time limit (the gap is then ceiling ÷ floor − 1, unproven). The first ceiling is
    :attr:`LayoutModel.most_output_gwh` (each station's most affordable capacity)."""
    import time

    start = time.perf_counter()
    model = model or LayoutModel(problem, open=True)
    ceiling = model.most_output_gwh
    if not math.isfinite(ceiling) or ceiling <= 0:  # nothing bounds it: the model decides
        return model.solve("max_output", min_output_gwh=problem.target_gwh_per_year)
    floor = problem.target_gwh_per_year or ceiling * 1e-9
    best: Solution | None = None
    proven = True
    probe = floor
    while True:
        sol = model.at_target(probe).solve("min_capex")
        if sol.layout is not None:
            # (what it makes within the headroom: each station at most u busy)
            made = evaluate_layout(problem.spec, sol.layout).output_gwh_per_year
            made *= problem.max_utilisation
            best, floor = sol, max(made, probe)
        elif best is None:  # the floor itself (target, or the least output) is out of reach
            return Solution(sol.status, None, None, time.perf_counter() - start)
        else:
            proven &= sol.status == "infeasible"
            ceiling = probe
        if ceiling <= floor * (1 + OUTPUT_RESOLUTION):
            break
        probe = math.sqrt(floor * ceiling)
        probe = min(max(probe, floor * (1 + OUTPUT_RESOLUTION / 2)), ceiling)
    assert best is not None and best.layout is not None
    return Solution(
        "optimal" if proven else "feasible",
        best.layout,
        floor,
        time.perf_counter() - start,
    )


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


def pareto_front(problem: Problem, points: int = 6) -> OptimiseResult:
    """Non-dominated layouts over (output ↑, line yield ↑, capex ↓) by an ε-constraint sweep.

    Output floors span from the target (or a tenth of the maximum) to the maximum the allowed
    counts make; yield floors span the yields seen at the extremes. At each (ε_out, ε_yield):
    minimise capex, then maximise yield at that capex, then output at that capex and yield.
    Each layout found is then :func:`_settled` so no layout beats it by more than the model's
    rounding, and the front keeps the layouts no other found one dominates.
    """
    # open: counts up to what the budget and areas allow (or, without a budget, what the
    # target needs and at least the default rule – reported as the result's limits)
    model = LayoutModel(problem, open=True)
    top = model.solve("max_output", min_output_gwh=problem.target_gwh_per_year)
    if top.layout is None:
        return OptimiseResult(
            top.status,
            "pareto",
            None,
            None,
            diagnose(problem) if top.status == "infeasible" else None,
            top.wall_time_s,
            limits=model.count_limit,
        )
    high = _objective(top)
    low = problem.target_gwh_per_year or high / 10
    if low > high:
        return OptimiseResult(
            "infeasible",
            "pareto",
            None,
            None,
            diagnose(problem),
            top.wall_time_s,
            limits=model.count_limit,
        )
    outputs = [low + (high - low) * k / max(points - 1, 1) for k in range(points)]
    yields = _yield_levels(model, low, points)
    found: dict[str, tuple[Solution, LayoutFigures]] = {}
    wall = top.wall_time_s
    for out in outputs:
        for y in yields:
            sol, spent = _lexicographic(model, out * (1 - 1e-9), y)
            wall += spent
            if sol.layout is not None:
                found.setdefault(_key(sol), (sol, _figures(model, sol)))
    settled: dict[str, tuple[Solution, LayoutFigures]] = {}
    for sol, figures in found.values():
        (sol, figures), spent = _settled(model, sol, figures, low)
        wall += spent
        settled.setdefault(_key(sol), (sol, figures))
    front = _non_dominated(list(settled.values()))
    front.sort(key=lambda lf: lf[1].output_gwh_per_year)
    if not front:
        return OptimiseResult(
            "infeasible", "pareto", None, None, diagnose(problem), wall, limits=model.count_limit
        )
    return OptimiseResult(
        "optimal",
        "pareto",
        front[0][0].layout,
        front[0][1],
        None,
        wall,
        tuple((_layout(sol), fig) for sol, fig in front),
        settings=front[0][0].settings,
        pareto_settings=tuple(sol.settings for sol, _ in front),
        limits=model.count_limit,
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


def _key(sol: Solution) -> str:
    return repr(
        (
            sorted((s, sorted(c.items())) for s, c in _layout(sol).items()),
            sorted((s, sorted(c.items())) for s, c in (sol.settings or {}).items()),
        )
    )


def _yield_levels(model: LayoutModel, low: float, points: int) -> list[float | None]:
    cheap = model.solve("min_capex", min_output_gwh=low)
    best = model.solve("max_yield", min_output_gwh=low)
    if cheap.layout is None or best.layout is None:
        return [None]
    y_lo = _figures(model, cheap).line_yield
    y_hi = _figures(model, best).line_yield
    if y_hi - y_lo < 1e-9:
        return [None]
    return [None] + [y_lo + (y_hi - y_lo) * k / (points - 1) for k in range(1, points)]


def _rounding(model: LayoutModel) -> float:
    """The most the scaled model can misjudge a layout's log output or log yield: one unit per
    station (each L rounded up) and one for the capacity (rounded down), with margin."""
    return 2.0 * (len(model.problem.spec.stations) + 2) / SCALE


def _lexicographic(
    model: LayoutModel, min_output: float, min_yield: float | None
) -> tuple[Solution, float]:
    """Min capex at (ε_out, ε_yield); at that capex the best yield; then the most output
    among yields within the model's rounding of that best. Returns the solution and the
    solver time spent."""
    log_y = math.log(min_yield) if min_yield else None
    first = model.solve("min_capex", min_output_gwh=min_output, min_log_yield=log_y)
    if first.layout is None:
        return first, first.wall_time_s
    cap = first.objective_value
    second = model.solve(
        "max_yield", min_output_gwh=min_output, max_capex_usd=cap, hint=first.layout
    )
    y = _figures(model, second).line_yield
    third = model.solve(
        "max_output",
        max_capex_usd=cap,
        min_log_yield=math.log(y) - _rounding(model),
        min_output_gwh=min_output,
        hint=second.layout,
    )
    spent = first.wall_time_s + second.wall_time_s + third.wall_time_s
    return (third if third.layout is not None else second), spent


def _settled(
    model: LayoutModel, sol: Solution, figures: LayoutFigures, low: float, rounds: int = 10
) -> tuple[tuple[Solution, LayoutFigures], float]:
    """Re-solve with the ε-constraints at the layout's own output and yield, loosened by the
    model's rounding, until the layout no longer changes: then no layout with at least its
    output and yield costs less, and none at its capex and output has a better yield, even
    where rounding hid it from the sweep (capex never rises, so this ends)."""
    slack = _rounding(model)
    spent = 0.0
    for _ in range(rounds):
        new, t = _lexicographic(
            model,
            max(figures.output_gwh_per_year * math.exp(-slack), low * (1 - 1e-9)),
            figures.line_yield * math.exp(-slack),
        )
        spent += t
        if new.layout is None or _key(new) == _key(sol):
            break
        sol, figures = new, _figures(model, new)
    return (sol, figures), spent


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


def _non_dominated(
    points: list[tuple[Solution, LayoutFigures]],
) -> list[tuple[Solution, LayoutFigures]]:
    return [p for p in points if not any(dominates(q[1], p[1]) for q in points if q is not p)]
