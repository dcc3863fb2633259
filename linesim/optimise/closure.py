"""Simulation in the loop: the least-capex (or least-cost) layout whose simulated output meets
the target, by correcting the static surrogate where the simulation shows it is optimistic.

The surrogate counts each station at its full static capacity; in the line, blocking,
starving, batch burstiness and breakdown clustering take a share of it. The loop measures that
share – the line's simulated output over its static maximum – and feeds it back into the
CP-SAT model as a capacity factor f ≤ 1 on every station's capacity constraint
(:attr:`~linesim.optimise.model.Problem.capacity_factors`): a station whose static capacity
has room to spare is not touched, one that binds gets machines (or a faster option) until it
carries the target at f × its capacity. (Learning one factor per station from its own
blocked/starved/down shares was tried first: at a min-capex layout nearly every station
binds, so correcting the most active one at a time took more than 12 simulations on the oxide
pilot where the line factor takes two – measured, see BENCHMARKS.md.)

1. solve the surrogate at the target T with the factor learned so far (1 at first: that
   solve's objective is the **surrogate lower bound**, as long as the surrogate is optimistic
   – no layout simulates above its static capacity over a long enough window);
2. simulate the layout with the same seeds for every candidate layout (common random
   numbers: replication k draws stream k of the seed, whatever the batch it runs in),
   ``replications`` replications of ``horizon_s`` after the line's warm-up, then stop as soon
   as the outputs decide (:func:`next_replications`): a mean below T, or a layout so short
   that even ``max_replications`` replications would not be accepted, is rejected at once;
   otherwise the count is sized from the measured variance (the fewest n ≥
   ``MIN_ACCEPT_REPLICATIONS`` = 20 whose acceptance would reach T at this mean), and a
   second look, if needed, is at ``max_replications``;
3. **accept** iff ``A = mean − h − (t + z) · se_high ≥ T`` (h = t · se: the 95 % Student-t
   half-width, t = t₀.₉₇₅,ₙ₋₁, se the standard error; z = z₀.₉₅ = 1.645; se_high = se ·
   √((n − 1) ÷ χ²₀.₁,ₙ₋₁), the standard error at the 90 % upper confidence limit of the
   standard deviation). Why: with 97.5 % confidence the true mean μ is above mean − h, and a
   layout with μ ≥ T + (t + z) · σ ÷ √n passes an independent check of the answer (new
   seeds, the same replications and horizon, judged by its own lower 95 % bound) with
   probability ≥ 95 %; so a layout whose check would fail more often than 5 % is accepted
   with probability ≈ 2.5 % at most (normal outputs), whatever the layouts the loop tried
   before it. σ enters
   at its upper limit, not as s, because the outputs are not normal: on the oxide pilot
   (negative skew −1.0, excess kurtosis 1.5: whole aging batches and rare long stops) a
   sample that misses the low tail reads both a high mean and a low s (correlation −0.54
   between the two in samples of 20 drawn from 300 iid replications), so the t bound alone
   covered 95.2 % at 20 replications and
   96.0 % at 40 instead of 97.5 %, and the former rule (mean − h − 1.96·√2·se) accepted a
   layout whose check passes 84 % of the time in 15 % of its looks at 40 replications (2.7 %
   with this rule; one whose check passes 93 % in 5.9 %; BENCHMARKS.md). The replications
   are iid – tested, seeds against replications, in tests/test_engine_theory.py. Stopping
   as soon as the loop's own lower bound touches T would pass such a check only about half
   the time. The rule is looked at twice at most per layout (at the sized count and at the
   maximum), as the former doubling schedule (20 and 40) did;
4. otherwise, with G the layout's static output, f ← min(f, max(f ÷ 4, a),
   (1 − 10⁻⁶) · T ÷ (u · G)), a = r · (1 − k · cv) with r = mean ÷ G the share of its static
   output the line delivered and k · cv the acceptance's margin at 20 replications plus one
   standard error, at the 90 % upper confidence limit of the variance pooled over every
   layout simulated so far (:func:`aimed_factor`) – lowered by further 0.5 % steps while the
   surrogate still returns the rejected layout, and go to 1;
5. after an acceptance, bisect f between the accepted layout's and the lowest rejected one's
   (at most ``refine`` more simulations): a cheaper surrogate layout there that is accepted
   too becomes the answer (machine counts are whole, so one correction can overshoot).

**Buffers as decisions** (where the config prices a buffer position, ``buffer_slot``): after
a rejection, before the machine step of 4 is taken, the simulation's per-station shares name
the pair that wastes most – station i blocked by a full buffer while station i + 1 starves,
:func:`~linesim.optimise.buffers.buffer_moves` – and that buffer's next size (doubling, from
the flow of one machine's stop) is priced by the cost model (positions and their floor). When
it costs less than the machine step (the surrogate's next layout, less this one's capex) and
keeps the budget and the floor and dry-room limits (machines and buffer positions), the same
layout with the larger buffer is simulated next, on the same common random numbers. Accepted:
it is the answer. Rejected: it is **kept** for every later layout when its measured output
gain g (the 90 % lower limit of the paired differences of the replications both ran: the same
random numbers, so the pairs differ by the buffer) is positive and min(g, s) per USD is at
least min(e, s) per USD of the machine step, with e the machine step's expected gain (that
layout's static output at the delivered share r, less this mean) and s the shortfall (the
target less this layout's acceptance statistic: output beyond it buys nothing); it then
corrects f as in 4 like any rejected layout. Otherwise the buffer goes back and the machine
step is taken. Kept buffers are part of the spec every later solve sees: the solver counts
their positions in capex and their floor against the limits, so a later layout pays for them;
when no layout is left with them, the machines are solved without them (they are dropped).
After an acceptance, each buffer the loop kept is put back to the config's size in turn and
the answer simulated again on the same random numbers: when still accepted, that cheaper line
is the answer (machines added after a buffer was kept can make it useless).

Why it stops (proof sketch). For a rejected machine layout L with static output G(L) (a
buffer changes no static output) let c(L) = (1 − 10⁻⁶) · T ÷ (u · G(L)) be its exclusion
ceiling: at a factor f < c(L) the surrogate counts L short of the target, so it cannot choose
L, whatever the buffers. Every correction sets f ≤ min(f_before, c(L_k)), and f_before was
already below the ceilings of the layouts rejected earlier, so every solve the loop takes is
at f < min c(L) over all machine layouts rejected so far. (f itself is not monotone: a buffer
trial simulates at the factor its layout was chosen at, and the factor learned from a kept
trial can lie above the one the discarded machine step was solved at – but never above a
ceiling; nor is the answer's capex, which kept, dropped and reverted buffers move.) So each
machine layout the loop takes is one not rejected before; machine counts are bounded
(machines_max, max_machines, the budget, or the target's own enumeration bound), there are
finitely many layouts, and the loop ends – with an accepted layout, with an infeasible
surrogate (the budget or a limit binds: a **miss**, reported with the binding constraint and
the best layout simulated), or at ``max_iterations`` machine layouts (a miss too, named as
such). On top of those the loop simulates at most ``MAX_BUFFER_TRIALS`` buffer trials and,
after an acceptance, one revert per buffer it kept (at most ``MAX_BUFFER_TRIALS``): at most
max_iterations + 2 · MAX_BUFFER_TRIALS layouts in all (the refinement of step 5 counts within
max_iterations and only replaces the answer by a cheaper accepted one).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from linesim.capacity import capacity_report, suggested_warmup_h
from linesim.errors import UsageError
from linesim.experiments import replicate
from linesim.optimise.buffers import (
    BufferMove,
    buffer_changes,
    buffer_pays,
    changed_buffers,
    cheaper_buffer,
    paired_gain,
    priced,
    with_buffers,
)
from linesim.optimise.model import Problem
from linesim.optimise.search import OptimiseResult, optimise_layout
from linesim.optimise.verify import Verification, verification_of
from linesim.spec import LineSpec
from linesim.summary import Estimate, as_plain, estimate
from linesim.variants import apply_layout

__all__ = [
    "ACCEPT_Z",
    "MIN_HORIZON_S",
    "ClosureStep",
    "Closure",
    "close_gap",
    "default_horizon_s",
    "acceptance",
    "aimed_factor",
    "loop_replications",
    "loop_work_text",
    "next_replications",
    "penalty",
    "upper_sd",
    "pooled_cv",
]

#: one-sided normal quantile: the independent check of an accepted layout passes with at
#: least this probability (95 %) when its true mean is where the rule puts it
ACCEPT_Z = 1.645
#: the standard deviation enters the check's margin at this upper confidence limit (90 %)
SD_UPPER = 0.9
#: the shortest default window after the warm-up [s] (14 days)
MIN_HORIZON_S = 14 * 86_400.0
#: a default window spans this many of the line's longest services (batch burstiness)
HORIZON_SERVICES = 3
#: the fewest replications an acceptance rests on. Measured on the oxide pilot at 50 %: a
#: window's output takes levels 1.7 % apart (whole aging batches) with a long low tail (rare
#: long stops), so ten replications often show no tail and a standard deviation of half the
#: true one; the means of six seeds' ten replications spread 1.6 × what their own standard
#: errors say, and acceptances on ten failed independent checks on ten (BENCHMARKS.md)
MIN_ACCEPT_REPLICATIONS = 20
#: the most a factor falls in one correction (a noisy simulation moves it at most 4×)
MAX_FACTOR_STEP = 4.0
#: buffer trials per loop at most (on top of ``max_iterations`` machine layouts: measured on
#: the sulfide pilot at 100 %, trials counted against the 12 layouts left none to close with)
MAX_BUFFER_TRIALS = 3


def default_horizon_s(spec: LineSpec) -> float:
    """The window each check simulates after the warm-up [s]: at least 14 days and at least
    three of the line's longest services (an aging or formation batch), so that edge effects
    of long batches stay small against the window."""
    from linesim.simulation.draws import group_times

    longest = max(
        (group_times(e).mean_s for s in spec.stations for e in s.equipment() if e.count),
        default=0.0,
    )
    return max(MIN_HORIZON_S, HORIZON_SERVICES * longest)


def acceptance(outputs: list[float]) -> tuple[Estimate, float]:
    """The mean and 95 % CI of per-replication outputs [GWh/yr] and the acceptance statistic
    ``mean − h − (t + z) · se_high`` = mean − penalty(n) · s (see the module's rule 3); −inf
    with fewer than two replications."""
    est = estimate(outputs)
    n = len(outputs)
    if n < 2 or est.half_width is None:
        return est, -math.inf
    sd = float(np.std(outputs, ddof=1))
    return est, est.mean - penalty(n) * sd


def loop_replications(replications: int, max_replications: int) -> int:
    """The replications a work estimate counts for the loop: the first layout's, and an
    accepted one's at the fewest the rule accepts on (the loop's usual least: on the bundled
    lines it simulates 2 to 5 layouts, BENCHMARKS.md; each rejected one costs ``replications``
    or more, an acceptance looked at twice costs ``max_replications``)."""
    return replications + max(replications, min(MIN_ACCEPT_REPLICATIONS, max_replications))


def penalty(n: int) -> float:
    """(t + (t + z) · u) ÷ √n with t = t₀.₉₇₅,ₙ₋₁, z = ``ACCEPT_Z`` and u = √((n − 1) ÷
    χ²₀.₁,ₙ₋₁) (:func:`upper_sd`): the acceptance statistic of n replications is
    mean − penalty(n) · s, with s their standard deviation (:func:`acceptance`)."""
    from scipy import stats

    t = float(stats.t.ppf(0.975, n - 1))
    return (t + (t + ACCEPT_Z) * upper_sd(n)) / math.sqrt(n)


def upper_sd(n: int) -> float:
    """s_high ÷ s: the ``SD_UPPER`` (90 %) upper confidence limit of a standard deviation
    measured on n replications, as a share of it (normal outputs: (n − 1) s² ÷ σ² is χ² with
    n − 1 degrees of freedom)."""
    from scipy import stats

    return math.sqrt((n - 1) / float(stats.chi2.ppf(1.0 - SD_UPPER, n - 1)))


def next_replications(outputs: list[float], target: float, max_replications: int) -> int | None:
    """How many replications a check should have in all before it is judged again, or None
    when its outputs [GWh/yr] already decide it (sequential stopping).

    Decided: **accepted** when there are at least ``MIN_ACCEPT_REPLICATIONS`` (at most
    ``max_replications``) and the acceptance statistic meets ``target``; **rejected** when the
    mean is below the target, or when even ``max_replications`` replications with this mean
    and a standard deviation at the 90 % lower confidence limit of the one measured,
    s_low = s · √((n − 1) ÷ χ²₀.₉,ₙ₋₁), would not be accepted (mean − penalty(max) · s_low <
    target: the layout is clearly short of the rule, so its remaining replications are not
    run); or at ``max_replications``. Otherwise the count is sized from the variance measured
    so far: the fewest n ≥ ``MIN_ACCEPT_REPLICATIONS`` with penalty(n) · s ≤ mean − target,
    and after one look at that size or more, ``max_replications``: an acceptance is looked at
    twice at most (the doubling schedule 5, 10, 20, 40 it replaces also looked at 20 and 40).
    Rejections come earlier than they did: they cost a further layout (capex), not the
    guarantee: on normal outputs (2,000 checks per true mean T + δ·σ, δ = 0 to 2) the share
    of checks accepted whose independent re-simulation then misses is at most 1.6 % (the
    doubling schedule: 1.4 %), with 14–50 % fewer replications for δ ≤ 1 and as many above
    (tests/test_optimise_closure.py holds a smaller version of that run)."""
    n = len(outputs)
    least = min(MIN_ACCEPT_REPLICATIONS, max_replications)
    est, accept = acceptance(outputs)
    if n >= max_replications or est.mean < target:
        return None
    if n >= least and accept >= target:
        return None
    sd = 0.0 if n < 2 else float(np.std(outputs, ddof=1))
    if n >= 2 and est.mean - penalty(max_replications) * sd * _optimistic(n) < target:
        return None
    if n >= least:
        return max_replications
    wanted = least
    while wanted < max_replications and est.mean - penalty(wanted) * sd < target:
        wanted += 1
    return wanted


def _optimistic(n: int) -> float:
    """s_low ÷ s: the 90 % lower confidence limit of a standard deviation measured on n
    replications, as a share of it (normal outputs: (n − 1) s² ÷ σ² is χ² with n − 1 degrees
    of freedom)."""
    from scipy import stats

    return math.sqrt((n - 1) / float(stats.chi2.ppf(0.9, n - 1)))


def aimed_factor(
    est: Estimate,
    replications: int,
    static_gwh: float,
    others: Sequence[tuple[Estimate, int]] = (),
) -> float:
    """The capacity factor a rejected layout teaches [-]: the share r = mean ÷ G of its static
    output G it delivered, lowered so that the next layout's acceptance statistic reaches
    the target when it runs ``MIN_ACCEPT_REPLICATIONS`` = m replications, plus one standard
    error for the noise of r: r · (1 − k · cv_high), k = penalty(m) + 1 ÷ √m, with cv_high
    the 90 % upper confidence limit of the coefficient of variation (:func:`pooled_cv`: this
    layout's, pooled with the ``others`` simulated before it, each an estimate and its
    replications). Five replications can show a standard deviation far below the true one –
    batch outputs take a few levels, with a rare low tail – and aiming at the measured one
    chose layouts that 40 replications then could not accept (BENCHMARKS.md); the upper limit
    of five replications alone, 1.94 × s, then overshot (the README's tune example: 376 M USD
    where 349 M USD was accepted before), so the variance is pooled over every layout the loop
    simulated on the line – their outputs vary alike, relative to their means."""
    cv_high, _ = pooled_cv([(est, replications), *others])
    k = penalty(MIN_ACCEPT_REPLICATIONS) + 1.0 / math.sqrt(MIN_ACCEPT_REPLICATIONS)
    return est.mean / static_gwh * max(0.0, 1.0 - k * cv_high)


def pooled_cv(samples: Sequence[tuple[Estimate, int]]) -> tuple[float, int]:
    """The 90 % upper confidence limit of the coefficient of variation of a layout's outputs
    [-], pooled over ``samples`` (estimate, replications) by degrees of freedom:
    cv² = Σ (n_i − 1) cv_i² ÷ ν, ν = Σ (n_i − 1), limit cv · √(ν ÷ χ²₀.₁,ν); and ν (0, with a
    limit of 0, when no sample has two replications). The layouts share their random numbers
    (common random numbers), so their variances are not independent and ν overstates the
    information: the limit aims the next layout; the acceptance of every layout still rests
    on its own replications alone (:func:`acceptance`)."""
    from scipy import stats

    total, dof = 0.0, 0
    for est, n in samples:
        if n < 2 or est.half_width is None or est.mean <= 0:
            continue
        sd = est.half_width / float(stats.t.ppf(0.975, n - 1)) * math.sqrt(n)
        total += (n - 1) * (sd / est.mean) ** 2
        dof += n - 1
    if dof == 0:
        return 0.0, 0
    return math.sqrt(total / dof) * math.sqrt(dof / float(stats.chi2.ppf(0.1, dof))), dof


@dataclass(frozen=True)
class ClosureStep:
    """One layout of the loop, simulated and judged."""

    iteration: int  #: 1, 2, …
    layout: dict[str, dict[str, int]]
    settings: dict[str, dict[str, float]] | None
    capex_usd: float
    objective_value: float | None  #: the surrogate's objective of this layout (USD or USD/yr)
    surrogate_gwh_per_year: float  #: its static output
    simulated_gwh_per_year: Estimate  #: mean and 95 % CI over the replications
    acceptance_gwh_per_year: float  #: mean − penalty(n)·s, accepted iff ≥ target
    replications: int
    accepted: bool
    bottleneck: str  #: the simulated bottleneck
    corrected: str | None = None  #: stations the next layout changes (after a rejection)
    factor: float | None = None  #: the capacity factor learned from this step
    wall_time_s: float = 0.0  #: simulation of this step
    factor_used: float = 1.0  #: the capacity factor the surrogate chose this layout at
    refining: bool = False  #: tried after an acceptance, for a cheaper accepted layout
    #: the buffers [cells] this layout was simulated with where they differ from the config's
    buffers: dict[str, int] | None = None
    #: the buffer changed for this step, as ``station from → to (±capex)``: a buffer trial
    #: (the layout before it, one buffer larger) or, after an acceptance, a kept buffer put
    #: back to the config's size
    buffer_move: str | None = None
    #: a trial kept for the layouts after it; a revert: accepted, so the answer without it
    buffer_kept: bool | None = None

    def to_dict(self) -> dict:
        return as_plain(self)


@dataclass(frozen=True)
class Closure:
    """The loop's answer: a layout that meets the target in simulation, or a named miss."""

    status: str  #: ``meets`` | ``miss`` | ``infeasible`` (the surrogate alone has no layout)
    reason: str | None  #: for a miss or infeasible: why (the binding constraint, or the cap)
    objective: str
    target_gwh_per_year: float
    bound: OptimiseResult  #: the surrogate optimum at the target: the lower bound
    result: OptimiseResult | None  #: the answer's surrogate solve (with the factors)
    verified: Verification | None  #: the answer simulated (its accepted replications)
    steps: tuple[ClosureStep, ...]
    factors: dict[str, float]  #: the capacity factor per station at the answer
    horizon_h: float
    seed: int
    rule: str  #: the acceptance rule, in words
    wall_time_s: float
    #: the answer's buffers that differ from the config's: station, from, to [cells], and
    #: the capex they add [USD] (positions and their floor, by the cost model)
    buffer_changes: tuple[dict[str, Any], ...] = ()

    @property
    def meets(self) -> bool:
        return self.status == "meets"

    @property
    def answer(self) -> ClosureStep | None:
        """The step whose layout is the answer: the accepted one, else (a miss) the one with
        the highest acceptance statistic."""
        if not self.steps:
            return None
        accepted = [s for s in self.steps if s.accepted]
        if accepted:
            return accepted[-1]
        return max(self.steps, key=lambda s: s.acceptance_gwh_per_year)

    @property
    def bound_value(self) -> float | None:
        """The surrogate lower bound of the objective: capex by the cost model [USD] of the
        surrogate's min-capex layout, or its annual cost at the target [USD/yr] for min-cost.
        (The solver holds the facility at the config's scale, a constant; the cost model
        scales it with the layout, so the capex here is the cost model's, for bound and
        answer alike.)"""
        if self.objective == "min_capex":
            return self.bound.predicted.capex_usd if self.bound.predicted else None
        return self.bound.objective_value

    @property
    def answer_value(self) -> float | None:
        """The answer's objective, as :attr:`bound_value` counts it."""
        a = self.answer
        if a is None:
            return None
        return a.capex_usd if self.objective == "min_capex" else a.objective_value

    @property
    def gap(self) -> float | None:
        """Answer ÷ surrogate bound − 1, in the objective (≥ 0: the bound is a lower one)."""
        a, b = self.answer_value, self.bound_value
        if a is None or not b:
            return None
        return a / b - 1.0

    def to_dict(self) -> dict:
        a = self.answer
        return {
            "status": self.status,
            "meets_target": self.meets,
            "reason": self.reason,
            "objective": self.objective,
            "target_gwh_per_year": self.target_gwh_per_year,
            "surrogate_bound": self.bound_value,
            "surrogate_bound_capex_usd": (
                self.bound.predicted.capex_usd if self.bound.predicted else None
            ),
            "answer_objective": self.answer_value,
            "answer_capex_usd": a.capex_usd if a else None,
            "gap": self.gap,
            "simulated_gwh_per_year": a.simulated_gwh_per_year.to_dict() if a else None,
            "acceptance_gwh_per_year": a.acceptance_gwh_per_year if a else None,
            "replications": a.replications if a else None,
            "horizon_h": self.horizon_h,
            "seed": self.seed,
            "iterations": len(self.steps),
            "corrected": sorted(
                {sid for s in self.steps if s.corrected for sid in s.corrected.split(", ")}
            ),
            "factors": self.factors,
            "buffers_changed": list(self.buffer_changes),
            "rule": self.rule,
            "wall_time_s": self.wall_time_s,
            "steps": [s.to_dict() for s in self.steps],
        }


RULE = (
    "accept iff mean − h95 − (t + 1.645)·se_high ≥ target (the lower 95 % bound, with room for "
    "an independent re-simulation's lower bound to meet the target 95 % of the time; se_high: "
    "the standard error at the 90 % upper confidence limit of the standard deviation)"
)


def close_gap(
    problem: Problem,
    objective: str = "min_capex",
    *,
    horizon_s: float | None = None,
    replications: int = 5,
    max_replications: int = 40,
    seed: int | None = None,
    workers: int | None = None,
    max_iterations: int = 12,
    refine: int = 0,
    allow_large: bool = True,
) -> Closure:
    """The least-``objective`` layout whose simulated output meets the problem's target at
    95 % confidence (the module's loop; rule and proof of termination there).

    Parameters
    ----------
    problem : Problem
        With ``target_gwh_per_year`` [GWh/yr]; its limits (budget, areas, counts) hold for
        every layout the loop tries.
    objective : str
        ``min_capex`` or ``min_cost``.
    horizon_s : float, optional
        Simulated time after the line's warm-up per replication [s] (default:
        :func:`default_horizon_s`).
    replications, max_replications : int
        Replications of a first check, and the most per layout (:func:`next_replications`).
    seed, workers : int, optional
        Base seed (the same for every layout: common random numbers) and processes.
    max_iterations : int
        Machine layouts simulated at most (a loop that reaches it reports a miss, named so).
        Buffer trials (at most ``MAX_BUFFER_TRIALS``) and, after an acceptance, one check per
        buffer the loop kept come on top: at most max_iterations + 2 · MAX_BUFFER_TRIALS
        simulated layouts in all.
    refine : int
        After an acceptance, at most this many more layouts simulated in search of a cheaper
        one that is accepted too (bisection on the factor between the accepted layout's and
        the highest rejected one's; the answer only ever gets cheaper).
    allow_large : bool
        Without it, a loop whose work estimate (:func:`linesim.workload.check` on the
        surrogate's layout, :func:`loop_replications` replications) is too large is refused
        with a :class:`UsageError` before its first simulation.
    """
    target = problem.target_gwh_per_year
    if target is None:
        raise UsageError(f"{objective} in simulation needs a target: set target_gwh_per_year")
    if objective not in ("min_capex", "min_cost"):
        raise UsageError(
            f"objective {objective!r} with simulation in the loop; allowed: min_capex, min_cost"
        )
    if not 2 <= replications <= max_replications:
        raise UsageError(
            f"replications: {replications}; allowed: 2 to max_replications ({max_replications})"
        )
    start = time.perf_counter()
    spec = problem.spec
    seed = problem.seed if seed is None else seed
    workers = problem.workers if workers is None else workers
    horizon = default_horizon_s(spec) if horizon_s is None else horizon_s
    bound = optimise_layout(problem, objective)

    def done(status: str, reason: str | None, result, verified, steps, factors) -> Closure:
        closure = Closure(
            status,
            reason,
            objective,
            target,
            bound,
            result,
            verified,
            tuple(steps),
            dict(factors),
            horizon / 3600.0,
            seed,
            RULE,
            time.perf_counter() - start,
        )
        answer = closure.answer
        changes = (
            ()
            if answer is None
            else buffer_changes(spec, answer.layout, answer.settings, answer.buffers)
        )
        return replace(closure, buffer_changes=changes)

    if not bound.found:
        return done(bound.status, bound.binding, None, None, [], {})
    if not allow_large:
        _check_loop_work(
            apply_layout(spec, bound.layout or {}, settings=bound.settings),
            horizon,
            loop_replications(replications, max_replications),
            workers,
            replications,
        )
    factors: dict[str, float] = {}
    factor = 1.0
    steps: list[ClosureStep] = []
    checks: list[tuple[OptimiseResult, Verification]] = []
    result = bound
    priced_line = any(spec.buffer_slot_of(s) is not None for s in spec.stations)
    buffers: dict[str, int] = {}  # the loop's buffers, for every later layout (simulated, solved)
    solved: dict[str, int] = {}  # the buffers ``result`` was solved with (its capex holds them)
    last: dict[str, Any] = {}  # the line and results of the latest check

    def solving() -> Problem:
        """The problem on the spec with the buffers in force: the solver counts their
        positions as fixed capex and their floor against the limits, so every layout it
        returns pays for them."""
        return replace(problem, spec=with_buffers(spec, buffers)) if buffers else problem

    def check(
        result: OptimiseResult, k: int, used: float, solved_with: dict[str, int] | None = None
    ) -> tuple[ClosureStep, Verification]:
        """Simulate ``result``'s layout with the buffers in force (common random numbers)
        and judge it; ``solved_with``: the buffers the solver chose it with (default: those
        in force), which its capex and objective are corrected from."""
        assert result.layout is not None
        t0 = time.perf_counter()
        line = apply_layout(spec, result.layout, buffers, settings=result.settings)
        warmup = suggested_warmup_h(line) * 3600.0
        results: list[Any] = []
        n: int | None = replications
        while n is not None:
            # replication k draws stream k of ``seed`` for every layout (common random
            # numbers), whatever the batches it was run in
            more = n - len(results)
            results += replicate(line, horizon, warmup, more, seed, workers, first=len(results))
            n = next_replications([_output(r) for r in results], target, max_replications)
        sim, accept = acceptance([_output(r) for r in results])
        accepted = accept >= target and len(results) >= min(
            MIN_ACCEPT_REPLICATIONS, max_replications
        )
        verified = verification_of(line, results, horizon, target, accepted)
        basis = buffers if solved_with is None else solved_with
        capex, value = priced(spec, line, result, objective, basis)
        step = ClosureStep(
            k,
            result.layout,
            result.settings,
            capex,
            value,
            capacity_report(line).max_output_gwh_per_year,
            sim,
            accept,
            len(results),
            accepted,
            verified.bottleneck,
            wall_time_s=time.perf_counter() - t0,
            factor_used=used,
            buffers=changed_buffers(spec, line) or None,
        )
        last.update(line=line, results=results, outputs=[_output(r) for r in results])
        return step, verified

    def without_spare_buffers(
        result: OptimiseResult, verified: Verification
    ) -> tuple[OptimiseResult, Verification]:
        """After an acceptance: the answer with each buffer the loop kept put back to the
        config's size, simulated on the same random numbers (the largest first); one
        still accepted is cheaper and becomes the answer (machines added after a buffer was
        kept can make it useless). Layouts already simulated are not run again."""
        nonlocal buffers
        answer = [s for s in steps if s.accepted][-1]
        config = {s.id: s.buffer_after for s in spec.stations}
        for sid in sorted(buffers, key=lambda b: -buffers[b]):
            fewer = {b: size for b, size in buffers.items() if b != sid}
            seen = any(
                s.layout == answer.layout
                and s.settings == answer.settings
                and (s.buffers or {}) == fewer
                for s in steps
            )
            if seen:
                continue
            kept = buffers
            buffers = fewer
            step, check_ = check(result, len(steps) + 1, answer.factor_used, solved)
            move = BufferMove(sid, kept[sid], config[sid], step.capex_usd - answer.capex_usd, 0.0)
            steps.append(replace(step, buffer_move=move.text(), buffer_kept=step.accepted))
            checks.append((result, check_))
            if step.accepted:
                answer, verified = steps[-1], check_
            else:
                buffers = kept
        return result, verified

    # a buffer trial in progress: the step it enlarges a buffer of, the machine step the
    # loop would take instead (its surrogate solve and factor) and the move
    trial: tuple[ClosureStep, OptimiseResult, float, BufferMove, float, list[float]] | None
    trial = None
    blocked: OptimiseResult | None = None  # the surrogate had no layout left (limits bind)
    trials = 0  # buffer trials run
    k = 0
    while k - trials < max_iterations:
        k += 1
        step, verified = check(result, k, factor, solved)
        checks.append((result, verified))
        if step.simulated_gwh_per_year.mean <= 0:  # nothing to learn a capacity from
            return done(
                "miss",
                f"no good cell left the line in {horizon / 3600:g} h of simulation after the "
                "warm-up: the window is too short to judge a layout; allowed: a longer "
                "horizon_s",
                result,
                verified,
                [*steps, step],
                factors,
            )
        if trial is not None:
            base, machine, machine_factor, move, machine_usd, base_outputs = trial
            trial = None
            kept = step.accepted or buffer_pays(
                paired_gain(last["outputs"], base_outputs),
                move,
                machine,
                machine_usd,
                base.simulated_gwh_per_year.mean,
                base.surrogate_gwh_per_year,
                target - base.acceptance_gwh_per_year,
            )
            step = replace(step, buffer_move=move.text(), buffer_kept=kept)
            if kept:  # the machine step waiting on the trial is not taken
                steps[-1] = replace(steps[-1], factor=None)
            if not kept:
                # back to the buffers before it, and to the machines the loop would add
                buffers = dict(base.buffers or {})
                steps.append(replace(step, factor=machine_factor))
                factor = machine_factor
                factors = {st.id: factor for st in spec.stations}
                if not machine.found:
                    blocked = machine
                if blocked is not None or k - trials == max_iterations:
                    break
                steps[-1] = replace(steps[-1], corrected=_changed(machine, base, result))
                result, solved = machine, dict(buffers)
                continue
        if step.accepted:
            steps.append(step)
            rejected = [s.factor_used for s in steps if not s.accepted]
            if refine and rejected and k - trials < max_iterations:
                before = result
                result, verified, factor = _refine(
                    solving(),
                    objective,
                    (factor, min(rejected)),
                    steps,
                    checks,
                    check,
                    min(refine, max_iterations - (k - trials)),
                )
                if result is not before:  # solved with the buffers in force
                    solved = dict(buffers)
                factors = {st.id: factor for st in spec.stations} if factor < 1 else {}
            if buffers:
                result, verified = without_spare_buffers(result, verified)
            return done("meets", None, result, verified, steps, factors)
        old = factor
        # the line delivered A of its static G: every station is counted at that share
        # (strictly below what this layout satisfies: it is never chosen again)
        static = step.surrogate_gwh_per_year
        earlier = [(s.simulated_gwh_per_year, s.replications) for s in steps]
        aimed = aimed_factor(step.simulated_gwh_per_year, step.replications, static, earlier)
        new = max(old / MAX_FACTOR_STEP, aimed)
        ceiling = (1 - 1e-6) * target / (problem.max_utilisation * static)
        new = min(old, new, ceiling)
        factor = new
        steps.append(replace(step, factor=new))
        if k - trials == max_iterations:
            break
        nxt, factor = _next_layout(solving(), objective, factor, step.layout)
        dropped = False
        if not nxt.found and buffers:
            # the kept buffers' capex or floor leave no layout within the limits: the
            # machines without them (bought output the machines now make anyway)
            bare, bare_factor = _next_layout(problem, objective, factor, step.layout)
            if bare.found:
                nxt, factor, buffers, dropped = bare, bare_factor, {}, True
        steps[-1] = replace(steps[-1], factor=factor)
        cheaper = (
            cheaper_buffer(problem, last["line"], last["results"], nxt, buffers, step.capex_usd)
            if priced_line and trials < MAX_BUFFER_TRIALS and not dropped
            else None
        )
        if cheaper is not None:
            # the same layout with one buffer larger is simulated next, at the factor it was
            # chosen at; the machine step waits in case the buffer does not pay
            move, machine_usd = cheaper
            trial = (steps[-1], nxt, factor, move, machine_usd, last["outputs"])
            trials += 1
            buffers = {**buffers, move.station: move.after}
            factor = old
            continue
        factors = {st.id: factor for st in spec.stations}
        if not nxt.found:
            blocked = nxt
            break
        steps[-1] = replace(steps[-1], corrected=_changed(nxt, step, result))
        result, solved = nxt, dict(buffers)
    best = _best(checks, steps)
    if blocked is not None:
        why = blocked.binding or f"the solver ended with status {blocked.status}"
        return done(
            "miss",
            f"the target cannot be met in simulation within the limits: with the "
            f"capacities the simulation shows ({_factor_text(factors)}), {why}",
            best[0],
            best[1],
            steps,
            factors,
        )
    return done(
        "miss",
        f"not closed within max_iterations = {max_iterations} machine layouts simulated "
        f"({len(steps)} simulations in all, {trials} of them buffer trials)",
        best[0],
        best[1],
        steps,
        factors,
    )


def _check_loop_work(
    line: LineSpec, horizon_s: float, counted: int, workers: int | None, first: int
) -> None:
    """Refuse a loop too large to run unasked (:func:`linesim.workload.check` of ``counted``
    replications of ``line``), saying how the loop was counted."""
    from linesim.workload import check

    try:
        check([line], horizon_s, None, counted, workers)
    except UsageError as e:
        raise UsageError(loop_work_text(str(e), counted, first)) from None


def loop_work_text(refusal: str, counted: int, first: int) -> str:
    """A work refusal of the loop, saying how its replications were counted."""
    return (
        f"{refusal} (simulation in the loop, counted as {counted} replications: a first "
        f"layout of {first} and an accepted one of at least {counted - first})"
    )


def _changed(nxt: OptimiseResult, step: ClosureStep, result: OptimiseResult) -> str | None:
    """The stations whose counts or settings ``nxt`` changes against ``step``'s layout."""
    changed = [
        sid
        for sid in nxt.layout or {}
        if (nxt.layout or {}).get(sid) != step.layout.get(sid)
        or (nxt.settings or {}).get(sid) != (result.settings or {}).get(sid)
    ]
    return ", ".join(changed) or None


def _best(
    checks: list[tuple[OptimiseResult, Verification]], steps: list[ClosureStep]
) -> tuple[OptimiseResult, Verification]:
    """The simulated layout with the highest acceptance statistic (a miss reports it)."""
    k = max(range(len(steps)), key=lambda i: steps[i].acceptance_gwh_per_year)
    return checks[k]


def _factor_text(factors: dict[str, float]) -> str:
    values = set(factors.values())
    if len(values) == 1:
        return f"every station at {values.pop():.3f} of its static capacity"
    return ", ".join(f"{sid} at {f:.3f} of its static capacity" for sid, f in factors.items())


def _output(r) -> float:
    from linesim.kpis import output_gwh_per_year

    return output_gwh_per_year(r)


def _next_layout(
    problem: Problem, objective: str, factor: float, rejected: dict[str, dict[str, int]]
) -> tuple[OptimiseResult, float]:
    """The surrogate's answer at capacity ``factor`` on every station, with the factor lowered
    further (by 0.5 % steps) while the answer is still the ``rejected`` layout: the model's
    capacity figures can differ from the static analysis's by the losses each counts apart
    (e.g. start-up scrap), so the exclusion is checked on the model's own answer."""
    spec = problem.spec
    for _ in range(400):
        trial = replace(problem, capacity_factors=tuple((s.id, factor) for s in spec.stations))
        nxt = optimise_layout(trial, objective)
        if nxt.layout != rejected:
            return nxt, factor
        factor *= 0.995
    return nxt, factor


def _refine(
    problem: Problem,
    objective: str,
    bracket: tuple[float, float],
    steps: list[ClosureStep],
    checks: list[tuple[OptimiseResult, Verification]],
    check,
    simulations: int,
    solves: int = 8,
) -> tuple[OptimiseResult, Verification, float]:
    """Bisect the capacity factor between the accepted layout's (``bracket[0]``) and the
    lowest factor whose layout was rejected (``bracket[1]``): a surrogate layout there that is
    cheaper than the accepted one and not yet simulated is checked, and replaces the answer
    when accepted. At most ``simulations`` layouts simulated and ``solves`` solves; returns the
    answer, its verification and its factor. ``steps`` and ``checks`` get every layout tried."""
    accepted, rejected = bracket
    result, verified = checks[-1]
    value = steps[-1].objective_value
    seen = [s.layout for s in steps]
    spec = problem.spec
    for _ in range(solves):
        if simulations <= 0 or rejected / accepted < 1.001 or value is None:
            break
        mid = math.sqrt(accepted * rejected)
        trial = optimise_layout(
            replace(problem, capacity_factors=tuple((s.id, mid) for s in spec.stations)),
            objective,
        )
        if trial.layout is None or trial.objective_value is None:
            rejected = mid
            continue
        if trial.objective_value >= value or trial.layout == result.layout:
            accepted = mid  # the answer is still the surrogate's choice here: look higher
            continue
        if trial.layout in seen:  # a layout already rejected
            rejected = mid
            continue
        step, check_ = check(trial, len(steps) + 1, mid)
        simulations -= 1
        steps.append(replace(step, refining=True))
        checks.append((trial, check_))
        seen.append(trial.layout)
        if step.accepted:
            result, verified, value, accepted = trial, check_, trial.objective_value, mid
        else:
            rejected = mid
    return result, verified, accepted
