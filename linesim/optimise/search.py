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

import copy
import math
import time
from dataclasses import dataclass, field, replace

from linesim.optimise.layout import LayoutFigures, evaluate_layout
from linesim.optimise.model import SCALE, LayoutModel, Problem, Solution, greedy_layout
from linesim.spec.base import MAX_MACHINES

__all__ = [
    "OBJECTIVES",
    "OptimiseResult",
    "optimise_layout",
    "facility_scales",
    "within_budget",
    "pareto_front",
    "diagnose",
]

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
    """Solve ``objective`` (min_capex | max_output | min_cost) on ``problem``; with a budget
    and a facility that scales with capacity, the answer's capex by the cost model keeps the
    budget (:func:`within_budget`)."""
    _check(problem, objective)
    if problem.budget_usd is not None and facility_scales(problem.spec):
        return within_budget(problem, objective)
    return _optimise(problem, objective)


def facility_scales(spec) -> bool:
    """Whether the cost model prices the line's facility by its capacity (a
    ``cost.facility.reference_gwh``, a capex and an exponent > 0), so that a layout's capex
    depends on what it makes, not only on its machines."""
    f = spec.cost.facility if spec.cost is not None else None
    return bool(f and f.reference_gwh is not None and f.capex_usd and f.capex_exponent > 0)


#: the budget loop's most solves (it ends by itself well before: see :func:`within_budget`)
BUDGET_SOLVES = 40
#: the least capacity a facility is priced at [GWh/yr] when nothing bounds it from below
LEAST_FACILITY_GWH = 1e-9


def within_budget(problem: Problem, objective: str) -> OptimiseResult:
    """``objective`` on ``problem`` whose answer's capex **by the cost model** is within the
    budget, where the cost model prices the facility at the layout's own static capacity G:
    capex(L) = m(L) + F(G(L)), F(G) = F_ref · (G ÷ G_ref)^p non-decreasing, m(L) everything
    else (machines, building and dry room by footprint, constants) – linear in the machine
    choice, as the solver counts it. The solver prices the facility at a capacity g it is
    given (``Problem.facility_gwh``), a constant, so it keeps m(L) + F(g) ≤ B.

    Min-capex, and max-output where the steps below leave it unproven, first run the exact
    search over output intervals (:func:`exact_facility`, on lines of at most
    ``FACILITY_CANDIDATES`` mixes); min-cost uses it to settle feasibility where the steps
    below find no layout. The steps below answer where it does not:

    1. g₀ = the least capacity an answer can have: target ÷ max utilisation (any layout
       reaching the target has G ≥ g₀), else ``LEAST_FACILITY_GWH``. Since F(G(L)) ≥ F(g₀)
       for every such layout, this solve is a relaxation: infeasible here is infeasible
       (proven), and its objective bounds the true one (min-capex: from below; max-output:
       its output φ(g₀) from above, as every layout within the budget has m(L) ≤ B − F(g₀)).
    2. While the answer L_k's capex by the cost model exceeds B: its G(L_k) > g_k (it kept
       m + F(g_k) ≤ B, and F is non-decreasing), so solve again at g_{k+1} = G(L_k). Why it
       stops: each answer L_k has G(L_k) > g_k = G(L_{k−1}), so the answers' capacities rise
       strictly and no layout comes twice; layouts are finitely many (``BUDGET_SOLVES`` caps
       the solves besides). An answer with G(L) ≤ g keeps the budget: m(L) + F(G(L)) ≤
       m(L) + F(g) ≤ B. For max-output it takes one step at most: at g₁ = G(L₀) the most
       output within B − F(g₁) ≤ B − F(g₀) is at most φ(g₀) = g₁.
    3. Max-output then bisects g between the last g whose answer broke the budget (lo) and
       the first whose answer kept it (hi): every answer that keeps the budget is a
       candidate, the best is returned, and g* ≤ max(g, φ(g)) at every g solved (a layout
       within the budget making g* > g has m ≤ B − F(g), so φ(g) ≥ g*) bounds the optimum
       from above: status ``optimal`` when the best meets that bound, else ``feasible`` with
       the gap. (Exact would need F(G) inside the model: the layouts of one machine capex
       but different capacities differ in facility, which a constant cannot tell apart.)

    Max-output (without tuning) first runs its bisection with the facility priced at each
    probe's capacity (:func:`maximise_output` with ``follow``: the same relaxation per
    probe, and the step of 2 on a probe whose layout breaks the budget); steps 1–3 run only
    when that leaves its floor undecided. Min-cost's budget chooses among layouts, so the
    step of 2 can find another; min-capex's cannot (the least machine capex at the target
    does not depend on the budget), so for it the loop either keeps the relaxation's answer
    or ends after one more solve. Answers after a step of 2 are ``feasible``; min-capex
    states its gap against the relaxed bound of 1. A target the loop cannot fit after a step
    (no layout at the raised price) is answered by max-output's layout at the target as a
    floor, when it keeps the budget (``feasible``, the gap against the relaxed bound: a
    layout within the budget, not the least); otherwise reported infeasible, naming the
    budget and saying that a layout of less capacity is not ruled out (exact would need the
    facility inside the model, as above)."""

    start = time.perf_counter()
    budget = problem.budget_usd
    assert budget is not None
    fits = budget * (1 + 1e-9)
    target = problem.target_gwh_per_year
    g = target / problem.max_utilisation if target is not None else LEAST_FACILITY_GWH
    if objective == "min_capex" and not problem.tune:
        exact = exact_facility(problem, objective)
        if exact is not None:
            return replace(exact, wall_time_s=time.perf_counter() - start)
    if objective == "max_output" and not problem.tune:
        followed = _optimise(replace(problem, facility_gwh=g), objective, follow=True)
        if followed.status != "optimal":
            exact = exact_facility(problem, objective)
            if exact is not None and (
                exact.status == "optimal"
                or followed.predicted is None
                or (
                    exact.predicted is not None
                    and exact.predicted.output_gwh_per_year > followed.predicted.output_gwh_per_year
                )
            ):
                return replace(exact, wall_time_s=time.perf_counter() - start)
        if followed.status != UNDECIDED:
            return replace(followed, wall_time_s=time.perf_counter() - start)
    relaxed = _optimise(replace(problem, facility_gwh=g), objective)
    result, steps, lo = relaxed, 1, None
    while result.found and result.predicted is not None and result.predicted.capex_usd > fits:
        made = result.predicted.output_gwh_per_year
        if made <= g or steps >= BUDGET_SOLVES:  # (not the facility: the solver's rounding)
            break
        lo, g, steps = g, made, steps + 1
        result = _optimise(replace(problem, facility_gwh=g), objective)

    def done(r: OptimiseResult, **changes) -> OptimiseResult:
        return replace(r, wall_time_s=time.perf_counter() - start, **changes)

    if not relaxed.found:
        return done(relaxed)
    if result.found and result.predicted is not None and result.predicted.capex_usd <= fits:
        if lo is None:
            if (
                objective == "min_capex"
                and result.objective_value
                and result.predicted.capex_usd > result.objective_value * (1 + 1e-6)
            ):
                # the relaxation's least capex (facility at g₀) bounds the answer; a layout
                # that makes more than g₀ pays more facility, and one of less capacity with
                # more machine capex may cost less in all: feasible, its gap stated
                stated = 1.0 - result.objective_value / result.predicted.capex_usd
                status = "feasible" if result.status == "optimal" else result.status
                return done(result, status=status, gap=stated)
            return done(result)
        if objective == "max_output":
            return _best_within_budget(problem, relaxed, result, lo, g, start)
        gap = None
        if objective == "min_capex" and relaxed.objective_value:
            gap = 1.0 - relaxed.objective_value / result.predicted.capex_usd
        status = "feasible" if result.status == "optimal" else result.status
        return done(result, status=status, gap=gap)
    if objective in ("min_capex", "min_cost") and target is not None:
        # a layout that reaches the target within the budget, where max-output (the target
        # its floor) finds one: feasible, not the least (a constant facility price cannot
        # tell the layouts of one machine capex apart), its gap stated against the relaxation
        top = within_budget(problem, "max_output")
        made = top.predicted.output_gwh_per_year if top.predicted else 0.0
        if top.predicted is not None and top.predicted.capex_usd <= fits:
            if made * problem.max_utilisation >= target * (1 - 1e-9):
                value = top.predicted.capex_usd if objective == "min_capex" else None
                gap = None
                if value is not None and relaxed.objective_value:
                    gap = 1.0 - relaxed.objective_value / value
                return done(
                    top, objective=objective, status="feasible", objective_value=value, gap=gap
                )
    if objective == "min_cost" and target is not None and not problem.tune:
        # min-capex's exact search over the facility's capacity settles whether any layout
        # reaches the target within the budget: its layout (feasible, not the least cost),
        # or a proof that none does
        exact = exact_facility(problem, "min_capex")
        if exact is not None:
            return done(
                exact,
                objective=objective,
                status=exact.status if not exact.found else "feasible",
                objective_value=None,
                gap=None,
            )
    capex = relaxed.predicted.capex_usd if relaxed.predicted else math.nan
    binding = (
        f"budget {_figure(budget / 1e6, ',.1f')} MUSD < {_figure(capex / 1e6, ',.1f')} MUSD, "
        "the capex by the cost model of the layout the solver chose (its facility priced at "
        f"its own capacity, {_gwh(g)}); no layout found within the budget at that price (a "
        "layout of less capacity is not ruled out)"
    )
    return done(replace(relaxed, status="infeasible", layout=None, predicted=None), binding=binding)


def _best_within_budget(
    problem: Problem,
    relaxed: OptimiseResult,
    fitting: OptimiseResult,
    lo: float,
    hi: float,
    start: float,
) -> OptimiseResult:
    """Max-output's step 3 of :func:`within_budget`: bisect the facility's price between
    ``lo`` (whose answer broke the budget) and ``hi`` (whose answer, ``fitting``, kept it)."""

    budget = problem.budget_usd
    assert budget is not None and fitting.predicted is not None
    assert relaxed.predicted is not None
    best = fitting
    # the least g* ≤ max(g, φ(g)) over the capacities solved, from the relaxation's
    bound = relaxed.predicted.output_gwh_per_year
    proven = relaxed.status == "optimal"
    for _ in range(BUDGET_SOLVES):
        assert best.predicted is not None
        if hi <= lo * (1 + OUTPUT_RESOLUTION) or best.predicted.output_gwh_per_year >= bound * (
            1 - OUTPUT_RESOLUTION
        ):
            break
        g = math.sqrt(lo * hi)
        r = _optimise(replace(problem, facility_gwh=g), "max_output")
        if not r.found or r.predicted is None:
            lo = g
            continue
        made = r.predicted.output_gwh_per_year
        if r.status == "optimal":
            bound = min(bound, max(g, made))
        if r.predicted.capex_usd <= budget * (1 + 1e-9):
            hi = g
            if made > best.predicted.output_gwh_per_year:
                best = r
        else:
            lo = g
    assert best.predicted is not None
    made = best.predicted.output_gwh_per_year
    optimal = proven and made >= bound * (1 - OUTPUT_RESOLUTION)
    return replace(
        best,
        status="optimal" if optimal else "feasible",
        gap=0.0 if optimal else (bound - made) / made,
        wall_time_s=time.perf_counter() - start,
    )


def _optimise(problem: Problem, objective: str, follow: bool = False) -> OptimiseResult:
    """:func:`optimise_layout` with the facility priced as ``problem`` says (max-output with
    ``follow``: at each probe's capacity, :func:`maximise_output`)."""
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
        sol = maximise_output(problem, model, follow)
    elif opened:
        sol = model.solve(objective, hint=hint, min_output_gwh=problem.target_gwh_per_year)
    else:
        sol = model.solve(objective, hint=hint)
    if sol.layout is not None and problem.tune and sol.status == "optimal":
        # among the optimal layouts, the one that changes fewest settings from the config's
        settled = model.solve(objective, hint=sol.layout, settle_at=sol.raw_objective)
        if settled.layout is not None:
            sol = replace(
                sol,
                layout=settled.layout,
                settings=settled.settings,
                wall_time_s=sol.wall_time_s + settled.wall_time_s,
            )
    relaxed_value = None
    if sol.layout is not None and not opened and problem.target_gwh_per_year is not None:
        sol, relaxed_value = _met_exactly(problem, objective, sol)
    if sol.layout is None:
        binding = diagnose(problem) if sol.status == "infeasible" else None
        if sol.status == UNDECIDED:
            binding = "the budget, once the facility is priced at the layout's capacity"
        return OptimiseResult(
            sol.status, objective, None, None, binding, sol.wall_time_s, limits=model.count_limit
        )
    gap = None
    if sol.status == "optimal":
        gap = 0.0
    elif sol.bound is not None and sol.objective_value:
        gap = abs(sol.objective_value - sol.bound) / abs(sol.objective_value)
    if relaxed_value is not None and sol.objective_value:
        gap = max(gap or 0.0, abs(sol.objective_value - relaxed_value) / abs(sol.objective_value))
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


#: the most solves :func:`_met_exactly` makes at raised targets
EXACT_SOLVES = 8


def made_exactly_gwh(problem: Problem, layout, settings=None) -> float:
    """What ``layout`` makes by the static analysis's exact figures, as the model's target
    constraint counts it [GWh/yr]: min over stations of capacity × the problem's capacity
    factor ÷ starts per good cell, times the max utilisation."""
    from linesim.capacity import capacity_report, gwh_per_year
    from linesim.variants import apply_layout

    spec = problem.spec
    line = apply_layout(spec, layout, settings=settings)
    report = capacity_report(line)
    good = min(
        (r.max_good_cells_per_h * problem.factor(r.id) for r in report.stations), default=0.0
    )
    return gwh_per_year(
        good * problem.max_utilisation, spec.product.energy_kwh, spec.calendar.year_hours
    )


def _met_exactly(problem: Problem, objective: str, sol: Solution) -> tuple[Solution, float | None]:
    """``sol`` (min-capex or min-cost at the target) when its layout reaches the target by the
    exact figures (:func:`made_exactly_gwh`); else the model solved again at a target raised
    by the shortfall until its answer does (at most ``EXACT_SOLVES`` solves). The model is
    a relaxation of the exact figures wherever they differ (a start-up scrap share that
    depends on the mix is counted at its least, omission patterns beyond the enumerated ones
    are relaxed), so the first objective bounds the answer from below: it is returned as the
    second value (None when no solve was needed) and the answer is ``feasible``, its gap
    stated against it. A raised target no layout reaches (or a solve without a layout) gives
    "unknown", without a layout (it proves nothing at the problem's own target): no layout
    short of the target is returned as one that reaches it."""
    assert sol.layout is not None and problem.target_gwh_per_year is not None
    target = problem.target_gwh_per_year
    made = made_exactly_gwh(problem, sol.layout, sol.settings)
    if made >= target * (1 - 1e-9):
        return sol, None
    first = sol.objective_value
    asked = target
    for _ in range(EXACT_SOLVES):
        asked = asked * target / max(made, 1e-12) * (1 + 1e-7)
        model = LayoutModel(replace(problem, target_gwh_per_year=asked))
        # (no layout at a raised target proves nothing at the problem's own: "unknown")
        if any(not cs for cs in model.candidates):
            return Solution("unknown", None, None, sol.wall_time_s), None
        again = model.solve(objective)
        if again.layout is None:
            return Solution("unknown", None, None, sol.wall_time_s + again.wall_time_s), None
        sol = replace(again, status="feasible", wall_time_s=sol.wall_time_s + again.wall_time_s)
        made = made_exactly_gwh(problem, sol.layout, sol.settings)
        if made >= target * (1 - 1e-9):
            return sol, first
    return Solution("unknown", None, None, sol.wall_time_s), None


#: max-output stops when the bracket [found, refuted] is this narrow (relative): the scaled
#: model's own resolution (about n · 1e-6 of a log unit, see model.py) is of the same order
OUTPUT_RESOLUTION = 1e-6


#: max-output probes just above its floor once the bracket is narrower than this ratio
CHECK_BRACKET = 1.01


#: max-output's status when its least probe found a layout the cost model prices above the
#: budget (the facility priced at the probe's capacity, not the layout's): nothing proven
UNDECIDED = "undecided"


def maximise_output(
    problem: Problem, model: LayoutModel | None = None, follow: bool = False
) -> Solution:
    """The most output within the budget and area limits, by bisection on the target of the
    min-capex model (whose chain bound answers most targets without a search): a target is
    reachable within the limits iff min-capex at it is feasible, which is monotone in the
    target. Each feasible answer raises the floor to its own output (by the static analysis);
    each infeasible one lowers the ceiling. Status ``optimal`` once the ceiling is within
    ``OUTPUT_RESOLUTION`` of the floor with every refutation proven; ``feasible`` if a solve
    hit the time limit (a timed-out target ends the bisection there but bounds nothing: the
    bound is the least refuted target, else the first ceiling). The first ceiling is
    :attr:`LayoutModel.most_output_gwh` (each station's most affordable capacity). The
    objective value is what the returned layout makes within the headroom.

    With ``follow`` (a budget, and a facility the cost model prices at the layout's
    capacity: :func:`within_budget`), a probe at target T prices the facility at T ÷ u, the
    least capacity a layout reaching T has: a relaxation, so a refuted probe is refuted for
    the cost model too. A layout found that the cost model prices above the budget (it makes
    more than T ÷ u, so its facility costs more) decides nothing: the probe lowers the
    ceiling the bisection narrows but not the proven one, so the answer, whose capex by the
    cost model keeps the budget, is ``optimal`` only when refuted probes close the bracket.
    When that happens at the floor itself, the status is ``UNDECIDED``."""

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
    probe, check = floor, False
    while True:
        if follow:
            at = model.at_target(probe, facility_gwh=probe / problem.max_utilisation)
        else:
            at = model.at_target(probe)
        sol, made = _reachable(at, follow)
        if sol.layout is not None and follow and not _keeps_budget(problem, sol):
            sol, made = _tightened(model, probe, sol)
        if sol.layout is not None and follow and not _keeps_budget(problem, sol):
            if best is None:
                return Solution(UNDECIDED, None, None, time.perf_counter() - start)
            ceiling, check = probe, False  # (undecided: the proven ceiling stays)
        elif sol.layout is not None:
            # (what it makes within the headroom, each station at most u busy: as the model
            # counts it when the labels decided, else by the static analysis)
            if made is None:
                made = evaluate_layout(problem.spec, sol.layout).output_gwh_per_year
                made *= problem.max_utilisation
            if best is None or made > best_made:
                best, best_made = sol, made
            floor = max(made, probe, floor)
            # once the bracket is narrow, a probe just above the floor next (after a bisection
            # step that found a layout): infeasible there proves the floor optimal without
            # narrowing the bracket further (measured: 20 probes → 12 at 30 × 4)
            check = not check and ceiling <= floor * CHECK_BRACKET
        elif best is None:  # the floor itself (target, or the least output) is out of reach
            return Solution(sol.status, None, None, time.perf_counter() - start)
        else:
            if sol.status == "infeasible":
                proven_ceiling = min(proven_ceiling, probe)
            ceiling, check = probe, False
        if ceiling <= floor * (1 + OUTPUT_RESOLUTION):
            break
        probe = floor * (1 + OUTPUT_RESOLUTION / 2) if check else math.sqrt(floor * ceiling)
        probe = min(max(probe, floor * (1 + OUTPUT_RESOLUTION / 2)), ceiling)
    assert best is not None and best.layout is not None
    # (the value reported: what the layout makes by the static analysis)
    best_made = evaluate_layout(problem.spec, best.layout).output_gwh_per_year
    best_made *= problem.max_utilisation
    proven = proven_ceiling <= floor * (1 + OUTPUT_RESOLUTION)
    return Solution(
        "optimal" if proven else "feasible",
        best.layout,
        best_made,  # what the returned layout makes, not the probe it answered
        time.perf_counter() - start,
        settings=best.settings,
        bound=best_made if proven else proven_ceiling,
    )


def _tightened(model: LayoutModel, target: float, sol: Solution) -> tuple[Solution, float | None]:
    """A probe's layout the cost model prices above the budget, replaced by one that keeps
    it where the loop of :func:`within_budget` finds one: the facility priced at the
    layout's own capacity g, the probe solved again (a layout it returns keeps the budget
    when it makes at most g, else g rises to what it makes: strictly, so no layout comes
    twice); the last layout found when none does."""
    problem = model.problem
    assert sol.layout is not None
    made = None
    for _ in range(BUDGET_SOLVES):
        g = evaluate_layout(problem.spec, sol.layout, sol.settings).output_gwh_per_year
        again, again_made = _reachable(model.at_target(target, facility_gwh=g), True)
        if again.layout is None:
            break
        sol, made = again, again_made
        figures = evaluate_layout(problem.spec, sol.layout, sol.settings)
        if _keeps_budget(problem, sol) or figures.output_gwh_per_year <= g:
            break
    return sol, made


def _keeps_budget(problem: Problem, sol: Solution) -> bool:
    """Whether the cost model prices ``sol``'s layout within the problem's budget."""
    assert sol.layout is not None and problem.budget_usd is not None
    capex = evaluate_layout(problem.spec, sol.layout, sol.settings).capex_usd
    return capex <= problem.budget_usd * (1 + 1e-9)


def _reachable(model: LayoutModel, follow: bool = False) -> tuple[Solution, float | None]:
    """Whether ``model``'s target is reachable within its limits, with a layout that reaches
    it: by the chain's labels alone when they decide (none within the budget: no, proven, as
    the chain is a relaxation; exact labels and no area limit: yes, the label that makes the
    most), else by min-capex on the full model. With it, when the labels decided and found a
    layout, what it makes as the model counts it (its scaled log output, rounded to the safe
    side) [GWh/yr]; else None. With ``follow`` (:func:`maximise_output`), the labels' layout
    is the one that makes the most among those the budget pays for with the facility priced
    at each one's own capacity, where there is one."""
    import numpy as np

    p = model.problem
    limited = any(
        a is not None and a < model.most_area_m2 for a in (p.floor_area_m2, p.dry_room_area_m2)
    )
    target = p.target_gwh_per_year or 0.0
    found = model.chain_front(target)
    if not found:
        return Solution("infeasible", None, None, 0.0), None  # not even the relaxation can
    if limited or not all(f.exact for f in found):
        return model.solve("min_capex"), None
    choices = np.concatenate([f.choices for f in found])
    capex, _, log_g = model.integer_figures(choices)
    best = int(np.argmax(log_g))
    if follow and p.budget_usd is not None and p.spec.cost is not None:
        # the facility priced at each label's own capacity (the model priced it at
        # p.facility_gwh): the label that makes the most among those that keep the budget
        from linesim.economics.cost import facility_capex_at_usd

        spec, cost = p.spec, p.spec.cost
        made_gwh = np.exp(log_g / SCALE) * spec.calendar.year_hours * spec.product.energy_kwh
        made_gwh = made_gwh / 1e6 / p.max_utilisation
        f = cost.facility
        assert f.reference_gwh is not None
        own = f.capex_usd * (made_gwh / f.reference_gwh) ** f.capex_exponent
        usd = (capex + model._usd(model.capex_constant_usd())) / model.usd_units
        usd = usd - facility_capex_at_usd(cost, p.facility_gwh or 0.0) + own
        keeps = usd <= p.budget_usd * (1 + 1e-9)
        if keeps.any():
            best = int(np.flatnonzero(keeps)[np.argmax(log_g[keeps])])
    layout, settings = model.layout_of(choices[best])
    value = (int(capex[best]) + model._usd(model.capex_constant_usd())) / model.usd_units
    spec = p.spec
    made = math.exp(int(log_g[best]) / SCALE) * spec.calendar.year_hours
    made *= spec.product.energy_kwh / 1e6
    return Solution("optimal", layout, value, 0.0, settings=settings), made


def _gwh(x: float) -> str:
    return f"{x:.3g} GWh/yr"


def diagnose(problem: Problem) -> str:
    """The constraint that makes ``problem`` infeasible, in words, with the numbers."""

    target = problem.target_gwh_per_year
    bare = replace(
        problem,
        budget_usd=None,
        floor_area_m2=None,
        dry_room_area_m2=None,
        max_utilisation=1.0,
        target_gwh_per_year=None,
    )
    known: dict = {}  # models by what chooses their candidates (_model_at)
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
        short = _short_station(replace(bare, target_gwh_per_year=target), known)
        if short:
            return short
    if target is not None and not _feasible(replace(bare, target_gwh_per_year=target), known):
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
        if _feasible(trial, known):
            continue
        return _explain(
            replace(
                bare, target_gwh_per_year=target, **{k: v for k, v in active.items() if k != attr}
            ),
            attr,
            value,
            name,
            known,
        )
    return "the limits together (" + ", ".join(active) + ") leave no layout"


def _short_station(problem: Problem, known: dict | None = None) -> str | None:
    """The first station whose every allowed machine mix has less capacity than the target of
    ``problem`` needs there even at the best yields, in words; None if each has one."""
    model = _model_at(problem, known)
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


def _musd(usd: float) -> str:
    """A budget in M USD for a message, with the digits that tell it from zero (1,000 USD is
    0.001 MUSD, not 0.0)."""
    if usd == 0 or abs(usd) >= 1e5:
        return _figure(usd / 1e6, ",.1f")
    return format(usd / 1e6, ".2g")


def _model_at(problem: Problem, known: dict | None) -> LayoutModel:
    """The (closed) model of ``problem``. With a target, its budget and area limits choose no
    candidate (they are constraints of the model only), so a model built before for the same
    target, counts, headroom, settings and capacity factors lends its candidates (``known``:
    those models, by that key)."""
    if known is None or problem.target_gwh_per_year is None:
        return LayoutModel(problem)
    key = (
        problem.target_gwh_per_year,
        problem.max_machines,
        problem.max_utilisation,
        problem.tune,
        problem.capacity_factors,
    )
    if key not in known:
        known[key] = LayoutModel(problem)
        return known[key]
    model = copy.copy(known[key])
    model.problem = problem  # (its chain bound, cached, ignores the limits: shared)
    return model


def _feasible(problem: Problem, known: dict | None = None) -> bool:
    if problem.target_gwh_per_year is not None:
        return _model_at(problem, known).solve("min_capex").layout is not None
    return LayoutModel(problem).solve("max_output").layout is not None


def _explain(
    without: Problem, attr: str, value: float, name: str, known: dict | None = None
) -> str:
    """Why the limit ``attr`` = ``value`` cannot be met, with the best the others allow."""
    target = without.target_gwh_per_year
    model = _model_at(without, known)
    if name == "budget":
        if target is None:
            return f"budget {_musd(value)} MUSD buys no working line"
        sol = model.solve("min_capex")
        return (
            f"budget {_musd(value)} MUSD < "
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
#: the fewest output floors of the sweep (its ratio r = (top ÷ target)^(1/12): 1.07 when the
#: most a line makes is twice its target; 24 floors took twice the time at 30 × 4 for a stated
#: output share 2.8 points higher, while thinning to SWEEP_POINTS costs more: BENCHMARKS.md)
SWEEP_LEVELS = 12
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
    # a facility the cost model prices at each layout's capacity: priced at the least an
    # answer makes (a relaxation of the budget), the points the cost model prices above the
    # budget removed after the sweep
    priced = problem.budget_usd is not None and facility_scales(problem.spec)
    solving = problem
    if priced:
        made_least = (problem.target_gwh_per_year or 0.0) / problem.max_utilisation
        solving = replace(problem, facility_gwh=max(made_least, LEAST_FACILITY_GWH))
    # open: counts up to what the budget and areas allow (or, without a budget, what the
    # target needs and at least the default rule – reported as the result's limits)
    model = LayoutModel(solving, open=True)
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
    was_complete, was_coverage = complete, coverage
    # points the exact figures put outside the limits are no answers; a layout such a point
    # dominated may be missing, so the front is then not complete
    misses = []
    if priced and problem.budget_usd is not None:
        fits = problem.budget_usd * (1 + 1e-9)
        misses.append(
            (
                lambda fig: fig.capex_usd > fits,
                "above the budget once the facility is priced at their own capacity",
            )
        )
    if problem.target_gwh_per_year is not None:
        # (the sweep's labels relax omission patterns: an output a little above the layout's)
        floor = problem.target_gwh_per_year * (1 - 1e-9)
        misses.append(
            (lambda fig: fig.output_gwh_per_year < floor, "below the target by their exact figures")
        )
    short: list = []  # the points below the target by their exact figures
    for outside, why in misses:
        dropped = [(f, fig) for f, fig in front if outside(fig)]
        if dropped:
            front = [(f, fig) for f, fig in front if not outside(fig)]
            complete = False
            if coverage.startswith("complete: "):  # (no longer proven: said so first)
                coverage = "possibly incomplete: " + coverage[len("complete: ") :]
            coverage = (
                f"{coverage}; {len(dropped)} point(s) {why} removed (points they dominated may "
                "be missing)"
            )
            if why.startswith("below"):
                short = dropped
    if short:
        front, closed = _least_capex_added(problem, model, front, short)
        if closed:
            complete, coverage = was_complete, was_coverage
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


def _least_capex_added(problem: Problem, model: LayoutModel, front: list, short: list):
    """The front with the least-capex layout that reaches the target by its exact figures
    added (min-capex's answer, :func:`_met_exactly`): the front's low-output extreme, which a
    point dropped for falling short of the target may have hidden. And whether that closes
    the hole: every layout Q a dropped point P stood for (Q reaching the target, matched by
    P with at least Q's yield, at most Q's capex and at least 1/r of its output in the
    model's figures, which are a relaxation of the exact ones) is matched as well by a kept
    point K with exact yield ≥ P's model yield, capex ≤ max(P's capex, the least capex at
    the target) – no layout reaching the target costs less than the latter, so Q costs at
    least that much too – and exact output ≥ P's model output. Then the front's stated
    coverage (complete, or the sweep's) holds as it did before P was dropped."""
    from linesim.optimise.front import FrontPoint
    from linesim.optimise.model import SCALE

    target = problem.target_gwh_per_year
    assert target is not None
    least = optimise_layout(problem, "min_capex")
    if least.layout is None or least.predicted is None:
        return front, False
    fig = least.predicted
    floor = target * (1 - 1e-9)
    if fig.output_gwh_per_year < floor:
        return front, False
    if problem.budget_usd is not None and fig.capex_usd > problem.budget_usd * (1 + 1e-9):
        return front, False
    point = FrontPoint(least.layout, least.settings, 0, 0, 0)
    same = (fig.output_gwh_per_year, fig.line_yield, fig.capex_usd)
    present = any(
        f.layout == least.layout
        or (other.output_gwh_per_year, other.line_yield, other.capex_usd) == same
        for f, other in front
    )
    if not present and not any(dominates(other, fig) for _, other in front):
        front = [(f, other) for f, other in front if not dominates(fig, other)]
        front.append((point, fig))
    if least.status != "optimal":
        return front, False  # the least capex at the target is not proven: no claim
    spec = problem.spec
    per_gwh = spec.calendar.year_hours * spec.product.energy_kwh / 1e6
    tol = 1e-6
    for p, p_fig in short:
        made = math.exp(p.log_output / SCALE) * per_gwh / problem.max_utilisation
        kept_yield = math.exp(-p.loss / SCALE)
        most_capex = max(p_fig.capex_usd, fig.capex_usd)
        if not any(
            k.line_yield >= kept_yield * (1 - tol)
            and k.capex_usd <= most_capex * (1 + tol)
            and k.output_gwh_per_year >= made * (1 - tol)
            for _, k in front
        ):
            return front, False
    return front, True


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


#: the most solves of :func:`exact_facility` (each one CP-SAT solve over an output interval)
FACILITY_SOLVES = 80
#: the most candidates (all stations) :func:`exact_facility` searches over
FACILITY_CANDIDATES = 5_000
#: the output intervals :func:`exact_facility` starts with (geometric, target to the most)
FACILITY_PIECES = 8


def exact_facility(problem: Problem, objective: str) -> OptimiseResult | None:
    """Min-capex or max-output under a budget with the facility priced **at each layout's own
    capacity** G, as the cost model prices it: capex(L) = m(L) + F(G(L)), F non-decreasing.
    A branch and bound over intervals of G. On an interval [a, b] (in the model's scaled log
    output, the layout's own output pinned by a min-equality over its stations, so G ≤ b is
    what the layout makes, not only what is counted), the model with the facility priced at
    F(a) is a relaxation: every layout of the interval has F(G) ≥ F(a). So

    - min-capex: the interval's optimum m(L) + F(a) bounds every layout in it from below;
      its layout L is priced by the cost model (an incumbent if it keeps the budget). The
      interval is closed when its bound reaches the incumbent; else it is split at L's own
      output ℓ: [ℓ, b] priced at F(G(L)) (where L's bound is its true capex) and [a, ℓ − 1]
      (which no longer holds L). Each split leaves out a layout's output level in the lower
      part, and layouts are finitely many, so it ends; the answer is optimal when every
      interval is closed, else its gap is against the least open bound.
    - max-output: intervals from the top; the most output L within the relaxed budget in
      [a, b]: if the cost model prices L within the budget, nothing above it keeps the
      budget (the intervals above were refuted, and within [a, b] nothing makes more within
      even the relaxed budget): optimal. Else nothing in (ℓ, b] keeps it either; the level ℓ
      alone is searched again priced at F(ℓ) (another layout of the same output may keep
      the budget), then [a, ℓ − 1], split in two so its price rises.

    Returns None when the search stopped (``FACILITY_SOLVES`` solves or the time limit)
    without an answer it can state, or the objective is neither."""
    from linesim.optimise.front import _need, log_output_of

    if objective not in ("min_capex", "max_output"):
        return None
    start = time.perf_counter()
    spec, cost, budget = problem.spec, problem.spec.cost, problem.budget_usd
    assert cost is not None and budget is not None
    fits = budget * (1 + 1e-9)
    u = problem.max_utilisation
    target = problem.target_gwh_per_year
    per_gwh = spec.calendar.year_hours * spec.product.energy_kwh / 1e6
    low = max(target / u if target else LEAST_FACILITY_GWH, LEAST_FACILITY_GWH)
    relaxed = replace(problem, facility_gwh=low)
    base = LayoutModel(relaxed, open=True, capacity_matters=False)
    if any(not cs for cs in base.candidates):
        return None
    if sum(len(cs) for cs in base.candidates) > FACILITY_CANDIDATES:
        return None  # too many mixes for a search per interval: the budget loop answers

    def infeasible() -> OptimiseResult:  # proven: the constraint that binds named
        return OptimiseResult(
            "infeasible",
            objective,
            None,
            None,
            diagnose(problem),
            time.perf_counter() - start,
            limits=base.count_limit,
        )

    top = maximise_output(relaxed, LayoutModel(relaxed, open=True))
    if top.layout is None:
        if top.status == "infeasible":  # not even the relaxation keeps the budget
            return infeasible()
        return None
    # (the most any layout within the budget makes, as the model counts it: an upper end)
    ceiling = log_output_of(base, top.layout, top.settings)
    if ceiling is None or top.status != "optimal":
        return None

    def gwh(log_g: int) -> float:  # full-capacity output of a scaled log output
        return math.exp(log_g / SCALE) * per_gwh / u

    def solve(a: float, upper: int):
        model = copy.copy(base)
        left = max(problem.time_limit_s - (time.perf_counter() - start), 0.01)
        model.problem = replace(problem, facility_gwh=a, time_limit_s=left)
        model._bounds = {}
        model._scale()
        sol = model.solve(objective, use_bound=False, min_output_gwh=a * u, max_log_g=upper)
        if sol.layout is None:
            return sol, None, None
        fig = evaluate_layout(spec, sol.layout, sol.settings)
        return sol, fig, log_output_of(base, sol.layout, sol.settings)

    # the first pieces: geometric from the least output to the ceiling
    floor = _need(base, low * u)
    if floor > ceiling:
        return infeasible()
    edges = [floor + (ceiling - floor) * i // FACILITY_PIECES for i in range(FACILITY_PIECES)]
    edges = sorted(set(edges))
    pending = [
        (e, (edges[i + 1] - 1) if i + 1 < len(edges) else ceiling) for i, e in enumerate(edges)
    ]
    best: tuple[float, Solution, LayoutFigures] | None = None  # (value, solution, figures)
    solves, proven = 0, True
    while pending:
        if solves >= FACILITY_SOLVES or time.perf_counter() - start > problem.time_limit_s:
            proven = False
            break
        if objective == "max_output":
            pending.sort(key=lambda iv: iv[1])  # the highest interval last: popped first
        lo_log, hi_log = pending.pop()
        a = gwh(lo_log) * (1 - 1e-9)  # (priced a hair below the interval: a relaxation)
        sol, fig, made = solve(a, hi_log)
        solves += 1
        if sol.layout is None:
            if sol.status != "infeasible":
                proven = False  # stopped: this interval is not refuted
            continue
        assert fig is not None and made is not None
        keeps = fig.capex_usd <= fits
        if objective == "max_output":
            if keeps and sol.status == "optimal":
                best = (fig.output_gwh_per_year, sol, fig)
                break
            if keeps:
                proven = False
                best = (fig.output_gwh_per_year, sol, fig)
                break
            if made > lo_log:
                # other layouts of L's own output level may keep the budget: that level
                # alone, priced at it (exact), before the rest of the interval
                pending.append((made, made))
            if made - 1 >= lo_log:
                mid = (lo_log + made) // 2
                if mid - 1 >= lo_log:
                    pending.append((lo_log, mid - 1))
                pending.append((mid, made - 1))
            continue
        # min-capex
        value = sol.objective_value or 0.0
        if keeps and (best is None or fig.capex_usd < best[0]):
            best = (fig.capex_usd, sol, fig)
        if sol.status != "optimal":
            proven = False
        if best is not None and value >= best[0] * (1 - 1e-7):
            continue  # nothing in this interval beats the incumbent
        if made > lo_log:
            pending.append((made, hi_log))
            pending.append((lo_log, made - 1))
        elif not keeps and made == lo_log:
            # L sits at the interval's foot and is priced right: it breaks the budget; what
            # else the interval holds makes more, so it is searched above ℓ
            if made + 1 <= hi_log:
                pending.append((made + 1, hi_log))
        # (made == lo_log and L keeps the budget: L is the interval's optimum, closed)
    wall = time.perf_counter() - start
    if best is None:
        if proven:
            return OptimiseResult(
                "infeasible",
                objective,
                None,
                None,
                "budget "
                f"{_figure(budget / 1e6, ',.1f')} MUSD: no layout "
                + (f"reaching {_gwh(target)} " if target else "")
                + "keeps it with the facility priced at its own capacity (every output "
                "interval refuted)",
                wall,
                limits=base.count_limit,
            )
        return None
    _, sol, fig = best
    gap = 0.0 if proven else None
    value = fig.capex_usd if objective == "min_capex" else fig.output_gwh_per_year
    return OptimiseResult(
        "optimal" if proven else "feasible",
        objective,
        sol.layout,
        fig,
        None,
        wall,
        settings=sol.settings,
        limits=base.count_limit,
        objective_value=value,
        gap=gap,
    )
