"""Robust layouts: the least-capex (or least-cost) layout that reaches the target output with
probability ≥ Q over the config's input distributions (``linesim optimise --robust Q``).

Scenario approach on the static surrogate, through the optimiser's public API only:

1. K scenarios of the uncertain inputs (a Latin hypercube from the seed; the config's rank
   correlations imposed) each give a line; a layout's output in a scenario is the static
   capacity of that line with the layout's machine counts (:func:`evaluate_layout`).
2. Round k solves the nominal line for a nominal target T_k (T_0 = T, the target asked) with
   :func:`optimise_layout`; if fewer than ⌈Q·K⌉ scenarios reach T, then
   T_{k+1} = T_k × T ÷ q_k, with q_k the (1 − Q) quantile of the scenario outputs: the nominal
   target is raised by the shortfall at the probability asked, until ⌈Q·K⌉ scenarios reach T
   (at most ``max_rounds``; by 0.5 % at least a round).
3. The chosen layout is checked by an independent Monte Carlo: N fresh samples of the inputs
   (another seed, static model) give P(output ≥ T) with its 95 % Wilson interval — the
   probability reported, not the scenarios' share the search was fitted to.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from linesim.errors import UsageError
from linesim.optimise.layout import evaluate_layout
from linesim.optimise.model import Problem
from linesim.optimise.search import OptimiseResult, optimise_layout
from linesim.spec import LineSpec
from linesim.uncertainty.sampling import design, iman_conover, input_values
from linesim.uncertainty.study import Prepared, Probability, wilson

__all__ = ["RobustResult", "robust_layout", "scenario_lines", "layout_outputs", "check_layout"]

#: Seed offsets: the check's samples never reuse the scenarios'.
SCENARIO_STREAM, CHECK_STREAM = 0x5CE, 0xC4EC


@dataclass(frozen=True)
class RobustResult:
    """A robust layout search (see the module)."""

    probability_asked: float  #: Q
    target_gwh_per_year: float  #: T
    nominal_target_gwh_per_year: float  #: the tightened target the layout was solved for
    rounds: int
    scenarios: int
    scenario_share: float  #: share of the K scenarios reaching T (what the search fitted)
    result: OptimiseResult  #: the last round's optimisation

    def to_dict(self) -> dict:
        return {
            "probability_asked": self.probability_asked,
            "target_gwh_per_year": self.target_gwh_per_year,
            "nominal_target_gwh_per_year": self.nominal_target_gwh_per_year,
            "rounds": self.rounds,
            "scenarios": self.scenarios,
            "scenario_share": self.scenario_share,
        }


def scenario_lines(
    prepared: Prepared, count: int, seed: int, stream: int, name: str = "scenarios"
) -> list[LineSpec]:
    """``count`` lines drawn from the inputs' distributions (Latin hypercube of ``seed`` and
    ``stream``; correlations imposed), each validated; ``name`` is the parameter ``count``
    came from, for the message refusing it."""
    d = len(prepared.inputs)
    if count < 2:
        raise UsageError(f"{name}: {count}; allowed: at least 2")
    if prepared.correlation is not None and count <= d:  # Iman–Conover needs more draws
        raise UsageError(
            f"{name}: {count} for {d} correlated inputs; allowed: more draws than inputs "
            f"(at least {d + 1})"
        )
    points = design(d, count, seed * 65_537 + stream, "lhs")
    values = input_values(prepared.inputs, points)
    if prepared.correlation is not None:
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream,)))
        values = iman_conover(values, prepared.correlation, rng)
    return [prepared.spec_at(v, f"scenario {i}") for i, v in enumerate(values)]


def layout_outputs(lines: Sequence[LineSpec], layout: dict[str, dict[str, int]]) -> np.ndarray:
    """Static good output [GWh/yr] of ``layout`` on each line."""
    return np.array([evaluate_layout(s, layout).output_gwh_per_year for s in lines])


def check_layout(
    prepared: Prepared, layout: dict[str, dict[str, int]], target: float, samples: int, seed: int
) -> Probability:
    """P(static output ≥ ``target``) of ``layout`` over ``samples`` fresh draws of the inputs,
    with its 95 % Wilson interval (an independent Monte Carlo)."""
    lines = scenario_lines(prepared, samples, seed, CHECK_STREAM, "robust_check")
    outputs = layout_outputs(lines, layout)
    hits = int((outputs >= target).sum())
    return Probability(
        f"good output ≥ {target:g} GWh/yr", hits, samples, hits / samples, wilson(hits, samples)
    )


def robust_layout(
    prepared: Prepared,
    problem: Problem,
    probability: float,
    objective: str = "min_capex",
    scenarios: int = 64,
    max_rounds: int = 8,
) -> RobustResult:
    """The layout of least ``objective`` whose output reaches ``problem.target_gwh_per_year`` in
    at least ⌈Q·K⌉ of K scenarios (see the module); ``problem.spec`` is the nominal line.

    Raises
    ------
    UsageError
        Without a target, for Q outside (0, 1), or for an objective other than min-capex or
        min-cost.
    """
    target = problem.target_gwh_per_year
    if target is None:
        raise UsageError("robust: needs a target: set target_gwh_per_year [GWh/yr]")
    if not 0.0 < probability < 1.0:
        raise UsageError(f"robust: {probability}; allowed: a probability between 0 and 1")
    if objective not in ("min_capex", "min_cost"):
        raise UsageError(f"robust: objective {objective!r}; allowed: min_capex, min_cost")
    lines = scenario_lines(prepared, scenarios, problem.seed, SCENARIO_STREAM)
    needed = math.ceil(probability * scenarios)
    nominal = target
    for round_ in range(1, max_rounds + 1):
        result = optimise_layout(replace(problem, target_gwh_per_year=nominal), objective)
        if result.layout is None:
            return RobustResult(probability, target, nominal, round_, scenarios, 0.0, result)
        outputs = layout_outputs(lines, result.layout)
        met = int((outputs >= target).sum())
        if met >= needed or round_ == max_rounds:
            return RobustResult(
                probability, target, nominal, round_, scenarios, met / scenarios, result
            )
        shortfall = float(np.quantile(outputs, 1.0 - probability))
        # raise by the shortfall at the (1 − Q) quantile, by 0.5 % at least (progress even
        # where the interpolated quantile already reaches T)
        nominal *= max(target / shortfall, 1.005) if shortfall > 0 else 2.0
    raise AssertionError("unreachable: the last round returns")
