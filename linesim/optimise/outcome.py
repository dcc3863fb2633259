"""One optimisation from problem to checked answer, as one typed result.

:func:`optimise_and_verify` solves a :class:`~linesim.optimise.model.Problem` (one objective or
the Pareto front; optionally choosing the dry room's dew point by simulation), measures the
config's own layout the same way, and simulates what it chose (sizing buffers if asked). The
:class:`OptimisationReport` it returns is read by attribute; its
:meth:`~OptimisationReport.to_dict` is the JSON document of ``linesim optimise --json`` and
what the results store keeps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from linesim.errors import UsageError
from linesim.optimise.closure import (
    Closure,
    close_gap,
    default_horizon_s,
    loop_replications,
    loop_work_text,
)
from linesim.optimise.layout import LayoutFigures, current_layout, evaluate_layout
from linesim.optimise.model import Problem
from linesim.optimise.search import OptimiseResult, optimise_layout, pareto_front
from linesim.optimise.verify import (
    DewPointRow,
    SimulationSettings,
    Verification,
    choose_dew_point,
    size_buffers,
    verify_layout,
)
from linesim.spec import LineSpec
from linesim.variants import apply_layout

__all__ = ["MAX_PARETO_POINTS", "ParetoPoint", "OptimisationReport", "optimise_and_verify"]

#: ε levels per axis of a Pareto sweep: each of the levels² points takes three solves.
MAX_PARETO_POINTS = 20

Layout = dict[str, dict[str, int]]  #: station id → equipment option → machine count
Settings = dict[str, dict[str, float]]  #: station id → process setting → value


@dataclass(frozen=True)
class ParetoPoint:
    """One layout of the Pareto front: its static figures and, when verified, its simulation."""

    layout: Layout
    predicted: LayoutFigures
    settings: Settings | None  #: its process settings (when tuning)
    verified: Verification | None = None

    def to_dict(self) -> dict:
        out = {
            "layout": self.layout,
            "predicted": self.predicted.to_dict(),
            "settings": self.settings,
        }
        if self.verified is not None:
            out["verified"] = self.verified.to_dict()
        return out


@dataclass(frozen=True)
class OptimisationReport:
    """An optimisation with what it is compared against and how it was checked."""

    spec: LineSpec  #: the line the result belongs to (at the chosen dew point, if one was)
    result: OptimiseResult  #: status, objective, layout, settings, static figures, binding
    config: LayoutFigures  #: the config's own layout by the same static analysis
    config_layout: Layout  #: the config's own layout
    chosen: LineSpec | None = None  #: the line with the chosen layout, settings and buffers
    verified: Verification | None = None  #: the chosen layout simulated (buffers sized if asked)
    pareto: tuple[ParetoPoint, ...] = ()  #: the front, by output (empty for one objective)
    config_settings: Settings | None = None  #: tuning: the config's settings it may change
    untuned: OptimiseResult | None = None  #: tuning one objective: the layout at those settings
    dew_points: tuple[DewPointRow, ...] | None = None  #: choosing the dew point: every one tried
    #: simulation in the loop (one objective at a target): bound, answer, gap, iterations
    closure: Closure | None = None

    @property
    def meets_target(self) -> bool | None:
        """Whether the answer's simulated output meets the target by the loop's rule (None
        when the loop did not run)."""
        return None if self.closure is None else self.closure.meets

    @property
    def found(self) -> bool:
        return self.result.found

    @property
    def tuned(self) -> bool:
        """Whether process settings were chosen with the layout."""
        return self.config_settings is not None

    @property
    def buffers(self) -> dict[str, int] | None:
        """Buffer after each station of the chosen line [cells] (None without a layout)."""
        return None if self.chosen is None else {s.id: s.buffer_after for s in self.chosen.stations}

    @property
    def dew_point_c(self) -> float | None:
        """The dry room's dew point chosen [°C] (None unless one was chosen)."""
        if self.dew_points is None:
            return None
        cost = self.spec.cost
        if cost is None or cost.dry_room is None:  # choose_dew_point refuses such a line
            raise ValueError(
                f"line {self.spec.name!r} has no cost.dry_room to take a dew point from"
            )
        return cost.dry_room.dew_point_c

    def to_dict(self) -> dict:
        """Plain data, key for key the JSON document of ``linesim optimise --json`` (without
        the ``record_id`` the CLI adds when it stores the run)."""
        r = self.result
        doc: dict[str, Any] = {
            "status": r.status,
            "objective": r.objective,
            "line": self.spec.name,
            "binding": r.binding,
            "machine_count_limits": r.limits,
            "solve_time_s": r.wall_time_s,
            "layout": r.layout,
            "buffers": self.buffers,
            "predicted": r.predicted.to_dict() if r.predicted is not None else None,
            "verified": self.verified.to_dict() if self.verified is not None else None,
            "config": self.config.to_dict(),
            "config_layout": self.config_layout,
        }
        if self.dew_points is not None:
            doc["dew_points"] = [row.to_dict() for row in self.dew_points]
            doc["dew_point_c"] = self.dew_point_c
        if self.tuned:
            doc["settings"] = r.settings
            doc["config_settings"] = self.config_settings
            if self.untuned is not None:
                u = self.untuned
                doc["untuned"] = {
                    "status": u.status,
                    "layout": u.layout,
                    "predicted": (u.predicted.to_dict() if u.predicted is not None else None),
                }
        if self.pareto:
            doc["pareto"] = [point.to_dict() for point in self.pareto]
        if self.closure is not None:
            doc["meets_target"] = self.closure.meets
            doc["closure"] = self.closure.to_dict()
        return doc


def optimise_and_verify(
    problem: Problem,
    objective: str = "min_capex",
    *,
    pareto_points: int | None = None,
    dew_points: Sequence[float] = (),
    buffer_sizes: Sequence[int] | None = None,
    verify: bool = True,
    horizon_s: float | None = None,
    replications: int = 5,
    seed: int | None = None,
    workers: int | None = None,
    allow_large: bool = False,
    close: bool = True,
    max_replications: int = 40,
    max_iterations: int = 12,
    refine: int = 0,
) -> OptimisationReport:
    """Solve ``problem``, compare with its config and check by simulation.

    Parameters
    ----------
    problem : Problem
        Limits, allowed counts and solver settings; with ``tune`` the process settings too.
    objective : str
        ``min_capex``, ``max_output`` or ``min_cost`` (ignored for a Pareto front).
    pareto_points : int, optional
        Solve the Pareto front of output × yield × capex with this many ε levels per axis
        instead of one objective; needs ``target_gwh_per_year`` (its lowest output) or
        ``budget_usd``.
    dew_points : sequence of float
        Also choose the dry room's dew point from these [°C]
        (:func:`~linesim.optimise.verify.choose_dew_point`: one layout per dew point, each
        simulated); not with a Pareto front.
    buffer_sizes : sequence of int, optional
        Size the buffers by simulation from these sizes [cells]
        (:func:`~linesim.optimise.verify.size_buffers`).
    verify : bool
        Simulate the chosen layout (and every point of a Pareto front).
    horizon_s, replications : float, int
        Each simulation: the time after the line's automatic warm-up [s] (default:
        :func:`~linesim.optimise.closure.default_horizon_s`, at least 14 days), and how many
        replications.
    close : bool
        Simulation in the loop (:func:`~linesim.optimise.closure.close_gap`): for min_capex
        or min_cost at a target with ``verify`` (and no Pareto front or buffer sizing), the
        answer is the least layout whose simulated output meets the target at 95 %
        confidence, or a miss named in ``report.closure.reason``. Without it, the static
        optimum is simulated once and judged against the target.
    max_replications, max_iterations : int
        The loop's most replications per layout and layouts simulated.
    refine : int
        After the loop's acceptance, at most this many more layouts simulated in search of a
        cheaper accepted one (default 0: off).
    seed, workers : int, optional
        Simulation seed and processes (default: the problem's).
    allow_large : bool
        Run a verification the work estimate (:func:`linesim.workload.check`) finds too
        large; without it, it is refused before any simulation starts.

    Returns
    -------
    OptimisationReport
        Also when no layout is found (``report.found`` is False; ``result.binding`` names the
        constraint that cannot be met).

    Raises
    ------
    UsageError
        A request the problem cannot answer, naming the parameter to change (e.g.
        ``target_gwh_per_year`` for min_capex), or a verification too large to run (its
        estimated events, memory and time; checked on the config's line before solving and
        on the chosen one before simulating).
    """
    if pareto_points is not None and not 1 <= pareto_points <= MAX_PARETO_POINTS:
        raise UsageError(
            f"pareto_points: {pareto_points:,} ε levels per axis ({pareto_points**2:,} points "
            f"of three solves each); allowed: 1 to {MAX_PARETO_POINTS}"
        )
    if (
        pareto_points is not None
        and problem.target_gwh_per_year is None
        and problem.budget_usd is None
    ):
        raise UsageError(
            "pareto_points needs target_gwh_per_year (the lowest output) or budget_usd"
        )
    if dew_points and pareto_points is not None:
        raise UsageError(
            "dew_points chooses one layout per dew point; allowed: without pareto_points"
        )
    if horizon_s is None:
        horizon_s = default_horizon_s(problem.spec)
    simulation: SimulationSettings = {
        "horizon_s": horizon_s,
        "replications": replications,
        "seed": problem.seed if seed is None else seed,
        "workers": problem.workers if workers is None else workers,
    }
    simulates = verify or bool(buffer_sizes) or bool(dew_points)
    closing = (
        close
        and verify
        and pareto_points is None
        and not buffer_sizes
        and objective in ("min_capex", "min_cost")
        and problem.target_gwh_per_year is not None
    )
    if simulates:  # before solving: the config's line as the chosen one's proxy
        _check_work(
            problem.spec,
            simulation,
            allow_large,
            loop_replications(replications, max_replications) if closing else None,
        )
    result, verified, rows = None, None, None
    if dew_points:
        choice = choose_dew_point(problem, objective, dew_points, **simulation)
        rows = choice.rows
        if choice.result is not None:
            problem = replace(problem, spec=choice.spec)
            result, verified = choice.result, choice.verified
    closure = None
    if closing:
        closure = close_gap(
            problem,
            objective,
            horizon_s=horizon_s,
            replications=replications,
            max_replications=max(max_replications, replications),
            seed=simulation["seed"],
            workers=simulation["workers"],
            max_iterations=max_iterations,
            refine=refine,
            allow_large=allow_large,
        )
        result = closure.result or closure.bound
        verified = closure.verified
        answer = closure.answer
        if answer is not None and answer.buffers and result.layout is not None:
            # the static figures of the answer as it is built: with the buffers the loop
            # bought (their capex and floor), as the config it writes
            built = apply_layout(problem.spec, result.layout, answer.buffers, result.settings)
            result = replace(result, predicted=evaluate_layout(built))
    if result is None:
        result = (
            pareto_front(problem, pareto_points)
            if pareto_points is not None
            else optimise_layout(problem, objective)
        )
    spec = problem.spec
    config_settings = untuned = None
    if problem.tune:
        config_settings = {
            s.id: s.process.settings()
            for s in spec.stations
            if s.process is not None and s.process.levels
        }
        if pareto_points is None:
            untuned = optimise_layout(replace(problem, tune=False), objective)
    report = OptimisationReport(
        spec,
        result,
        evaluate_layout(spec),
        current_layout(spec),
        config_settings=config_settings,
        untuned=untuned,
        dew_points=rows,
        closure=closure,
    )
    if result.layout is None:  # not found
        return report
    if simulates and closure is None:  # the chosen line, before its simulation starts
        _check_work(
            apply_layout(spec, result.layout, settings=result.settings), simulation, allow_large
        )
    if buffer_sizes:
        verified = size_buffers(
            spec, result.layout, buffer_sizes, settings=result.settings, **simulation
        )
    elif verify and verified is None:
        verified = verify_layout(
            spec,
            result.layout,
            settings=result.settings,
            target_gwh=problem.target_gwh_per_year,
            **simulation,
        )
    points = []
    # the front may hold many points (complete on small lines): at most pareto_points of them
    # are simulated, spread evenly by output with both ends included
    count = len(result.pareto)
    shown = min(pareto_points or count, count)
    simulated = {round(k * (count - 1) / max(shown - 1, 1)) for k in range(shown)}
    for k, ((layout, figures), settings) in enumerate(
        zip(result.pareto, result.pareto_settings or [None] * len(result.pareto))
    ):
        check = None
        if verify and k in simulated:
            # every point of the front, simulated as the chosen layout is (same seeds); the
            # first is the chosen layout, already simulated unless its buffers were sized
            check = (
                verified
                if (k == 0 and verified is not None and not buffer_sizes)
                else verify_layout(spec, layout, settings=settings, **simulation)
            )
        points.append(ParetoPoint(layout, figures, settings, check))
    chosen = apply_layout(
        spec, result.layout, verified.buffers if verified else None, result.settings
    )
    return replace(report, chosen=chosen, verified=verified, pareto=tuple(points))


def _check_work(
    spec: LineSpec,
    simulation: SimulationSettings,
    allow_large: bool,
    replications: int | None = None,
) -> None:
    """Refuse a verification of ``spec`` too large to run unasked
    (:func:`linesim.workload.check`, with the line's own warm-up), counting ``replications``
    (default: the simulation's own; the loop's: :func:`loop_replications`)."""
    from linesim.workload import check

    counted = replications or simulation["replications"]
    if replications is not None:  # the flag's own value first: its refusal names that value
        check(
            [spec],
            simulation["horizon_s"],
            None,
            simulation["replications"],
            simulation["workers"],
            allow_large=allow_large,
        )
    try:
        check(
            [spec],
            simulation["horizon_s"],
            None,
            counted,
            simulation["workers"],
            allow_large=allow_large,
        )
    except UsageError as e:
        if replications is None:
            raise
        raise UsageError(loop_work_text(str(e), counted, simulation["replications"])) from None
