"""The app's long or untrusted work, run in a child process by :mod:`jobs`: checking an upload,
simulating, optimising.

Plain functions of plain (picklable) arguments that return picklable values. Nothing here
imports streamlit, so the child process that runs them starts in milliseconds.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# the checkout's package first, as in common.py (the child imports this module by name)
ROOT = Path(__file__).resolve().parents[1]
if (ROOT / "linesim" / "__init__.py").is_file() and str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from linesim.bundled import bundled_lines
from linesim.config import dump_line, line_from_text, load_line
from linesim.errors import ConfigError
from linesim.simulation import SimResult
from linesim.summary import RunSummary
from linesim.yaml_io import parse_mapping

Progress = Callable[[float], None]  #: reports the fraction done, in [0, 1]


@dataclass(frozen=True)
class SimulationRun:
    """Replications of one version of the working line (its YAML text) and their summary."""

    yaml: str
    summary: RunSummary
    results: list[SimResult]
    record_id: str | None = None  #: the results store's record it was reopened from
    wip: tuple[tuple[float, int], ...] = ()  #: a reopened run's WIP trace (its replication 0)
    #: a reopened run's yield flows (:func:`linesim.report.diagrams.simulated_yield_flows`)
    flows: tuple[tuple[str, str, float], ...] = ()

    def wip_samples(self) -> tuple[tuple[float, int], ...]:
        """(time [s], cells in process) of the first replication."""
        return self.results[0].wip_samples if self.results else self.wip

    def yield_flows(self) -> list[tuple[str, str, float]]:
        """Where the simulated cells went, per 1,000 that entered, summed over the
        replications (the Yield page's Sankey): from the replications' records, or as kept
        with a reopened run (which has none)."""
        from linesim.report.diagrams import simulated_yield_flows

        return simulated_yield_flows(self.results) if self.results else list(self.flows)

    @property
    def replications(self) -> int:
        """How many replications the run has (a reopened one: its summary's count)."""
        return len(self.results) if self.results else len(self.summary.replications)


def checked_upload(data: bytes, name: str) -> str:
    """The YAML text of the line an uploaded file holds, once it has validated and its static
    analysis (what every page shows at once) has finished.

    Parameters
    ----------
    data : bytes
        The file's content.
    name : str
        The file's name, for messages.
    """
    from linesim.capacity import capacity_report
    from linesim.economics.analysis import analyse
    from linesim.yield_model import yield_waterfall

    spec = checked_text(data, name)
    capacity_report(spec)
    if spec.cost is not None:
        analyse(spec, tornado_fraction=0.2)
    else:
        yield_waterfall(spec)
    return dump_line(spec)


def checked_text(data: bytes, name: str):
    """The validated line of a config's text (``extends:`` a bundled line allowed): a
    ConfigError names ``name``, the field path with its station id (never ``stations[7]``),
    the value and what is allowed.

    Parameters
    ----------
    data : bytes
        The config's text, UTF-8.
    name : str
        What to call it in messages (the file's name, or "the YAML editor").
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            name, "", f"not UTF-8 text ({exc.reason})", None, "a UTF-8 YAML file"
        ) from None
    raw: dict = {}
    try:
        raw = parse_mapping(text, name)
        spec = _extended(text, name) if "extends" in raw else line_from_text(text, name)
    except ConfigError as exc:
        stations = raw.get("stations")
        stations = stations if isinstance(stations, list) else []
        ids = [s.get("id") if isinstance(s, dict) else None for s in stations]
        raise ConfigError(
            name,
            with_station_ids(exc.path, ids),
            with_station_ids(exc.problem, ids),
            exc.value,
            with_station_ids(exc.allowed, ids),
            tuple(with_station_ids(m, ids) for m in exc.more),
        ) from None
    return spec


def checked_yaml(data: bytes, name: str) -> str:
    """:func:`checked_text`, as the line's YAML text (what a child process hands back)."""
    return dump_line(checked_text(data, name))


def with_station_ids(text: str, ids: list) -> str:
    """``stations[7]`` anywhere in ``text`` → ``stations.<id of station 7>`` (``ids``: the
    stations' ids in order; an index out of range, or an id that is no text, stays)."""

    def named(match: re.Match) -> str:
        k = int(match.group(1))
        ok = k < len(ids) and isinstance(ids[k], str) and ids[k]
        return f"stations.{ids[k]}" if ok else match.group(0)

    return re.sub(r"stations\[(\d+)\]", named, text)


def _extended(text: str, name: str):
    """The line of an uploaded config with ``extends:``: an upload has no folder, so its base
    can only be a bundled line (by name); errors name the upload."""
    with tempfile.TemporaryDirectory(prefix="linesim-upload-") as folder:
        path = Path(folder) / "upload.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            return load_line(path)
        except ConfigError as exc:
            allowed = exc.allowed
            if exc.path == "extends":
                allowed = (
                    "an uploaded config extends a bundled line by name ("
                    + ", ".join(bundled_lines())
                    + "); for a base of your own, upload one config with the base merged in"
                )
            raise ConfigError(name, exc.path, exc.problem, exc.value, allowed, exc.more) from None


def simulation(
    text: str, horizon_days: float, replications: int, seed: int, progress: Progress
) -> SimulationRun:
    """Replications on the fast engine of the line ``text`` (YAML).

    Parameters
    ----------
    horizon_days : float
        Simulated time per replication [days], after the suggested warm-up.
    replications : int
        Independent replications [-].
    seed : int
        Base seed of the replications' random streams.
    """
    from linesim.capacity import suggested_warmup_h
    from linesim.experiments import replicate
    from linesim.summary import summarise
    from linesim.workload import check

    spec = line_from_text(text, "<working line>")
    horizon_s, warmup_s = horizon_days * 86400.0, suggested_warmup_h(spec) * 3600.0
    check([spec], horizon_s, warmup_s, replications, workers=1)  # an absurd request: refused
    results = replicate(
        spec,
        horizon_s,
        warmup_s,
        replications,
        seed,
        workers=1,
        engine="fast",
        progress=lambda done, total: progress(done / total),
    )
    return SimulationRun(text, summarise(spec, results), results)


def timeline(
    text: str, seed: int, replication: int, start_h: float, length_h: float, progress: Progress
):
    """The machine states of the line ``text`` (YAML) from ``start_h`` to ``start_h +
    length_h`` [h] of replication ``replication`` of a run with base seed ``seed``, on the
    SimPy engine (:func:`linesim.simulation.trace.machine_states`): the same replication as the
    Simulate page's, whose engines give identical runs."""
    from linesim.experiments import replication_rng
    from linesim.simulation.trace import machine_states

    spec = line_from_text(text, "<working line>")
    return machine_states(
        spec,
        start_h * 3600.0,
        (start_h + length_h) * 3600.0,
        replication_rng(seed, replication),
        replication=replication,
        seed=seed,
        progress=progress,
    )


#: The optimiser's seed (CP-SAT's, and the dew points' simulations'): the app has no input for it.
OPTIMISE_SEED = 1


def optimisation(
    text: str,
    target_gwh_per_year: float,
    budget_musd: float,
    objective: str,
    pareto: bool,
    tune: bool,
    dew_points_c: tuple[float, ...],
):
    """CP-SAT layouts of the line ``text`` (YAML): (result, the YAML of the line the result
    belongs to, the rows per dew point or None).

    Parameters
    ----------
    target_gwh_per_year : float
        Good output to reach [GWh/yr].
    budget_musd : float
        Capex budget [MUSD]; 0 for none.
    dew_points_c : tuple of float
        Dry-room dew points [°C] to choose from by simulation (3 × 7 days each); empty for none,
        and ignored with ``pareto``.
    """
    from linesim.optimise import Problem, choose_dew_point, optimise_layout, pareto_front

    problem = Problem(
        line_from_text(text, "<working line>"),
        target_gwh_per_year=target_gwh_per_year,
        budget_usd=budget_musd * 1e6 if budget_musd else None,
        time_limit_s=20.0,
        workers=2,
        seed=OPTIMISE_SEED,
        tune=tune,
    )
    if dew_points_c and not pareto:
        choice = choose_dew_point(
            problem,
            objective,
            dew_points_c,
            horizon_s=7 * 86400.0,
            replications=3,
            seed=OPTIMISE_SEED,
            workers=1,
        )
        if choice.result is not None:
            return choice.result, dump_line(choice.spec), choice.rows
    result = pareto_front(problem, 6) if pareto else optimise_layout(problem, objective)
    return result, text, None


def uncertainty(
    text: str,
    samples: int,
    simulate: bool,
    replications: int,
    horizon_days: float,
    seed: int,
    target_gwh_per_year: float,
    target_cny_per_wh: float,
    sobol: int,
    progress: Progress,
):
    """An uncertainty study of the line ``text`` (YAML with its ranges), as ``linesim
    uncertainty`` runs it (:func:`linesim.uncertainty.api.uncertainty_study`), on one worker.

    Parameters
    ----------
    samples : int
        Quasi-random samples of the uncertain inputs [-].
    simulate : bool
        Simulate each sample (fast engine, common random numbers) instead of the static model.
    horizon_days : float
        Simulated time per replication after the warm-up [days] (simulated samples only).
    target_gwh_per_year, target_cny_per_wh : float
        Targets whose probability is reported; 0 for none.
    sobol : int
        Saltelli base samples for Sobol indices (a power of two); 0 for none.
    """
    from linesim.uncertainty import Targets
    from linesim.uncertainty.api import uncertainty_study
    from linesim.yaml_io import parse_mapping

    return uncertainty_study(
        parse_mapping(text, "<working line>"),
        samples=samples,
        static=not simulate,
        replications=replications,
        horizon_s=horizon_days * 86400.0,
        seed=seed,
        targets=Targets(target_gwh_per_year or None, target_cny_per_wh or None),
        sobol=sobol,
        workers=1,
        engine="fast",
        progress=lambda done, total: progress(done / total),
    )


@dataclass(frozen=True)
class SweepRun:
    """A sweep of the working line (its YAML text): the variants (config path → level, as
    given) and one row per variant × replication (:func:`linesim.sweep.run_sweep`'s)."""

    yaml: str
    variants: list[dict[str, str]]
    rows: list[dict]
    horizon_days: float
    replications: int
    seed: int


def sweep(
    text: str,
    factors: tuple[str, ...],
    horizon_days: float,
    replications: int,
    seed: int,
    progress: Progress,
) -> SweepRun:
    """``linesim sweep``'s study of the line ``text`` (YAML) on one worker and the fast engine:
    the full factorial of ``factors`` (``PATH=a..b``, ``PATH=a..b:step`` or ``PATH=v1,v2``),
    every variant validated before any runs, ``replications`` each with common random numbers,
    after each variant's suggested warm-up. Dry-room exposure stays on, as the Simulate page
    simulates the line (as ``linesim sweep`` without ``--no-exposure``).

    Parameters
    ----------
    horizon_days : float
        Simulated time per replication after the warm-up [days].
    replications : int
        Replications per variant [-].
    seed : int
        Base seed: replication r of every variant draws the same streams.
    """
    from linesim.sweep import factorial, parse_vary, run_sweep, variant_specs
    from linesim.workload import check

    variants = factorial([parse_vary(f) for f in factors])
    specs = variant_specs(variants, lambda sets: line_from_text(text, "<working line>", sets))
    horizon_s = horizon_days * 86400.0
    check(specs, horizon_s, None, replications, workers=1)  # an absurd request: refused
    rows = run_sweep(
        specs,
        horizon_s,
        None,
        replications,
        seed,
        engine="fast",
        workers=1,
        progress=lambda done, total: progress(done / total),
    )
    return SweepRun(text, variants, rows, horizon_days, replications, seed)
