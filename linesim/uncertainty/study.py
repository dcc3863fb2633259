"""An uncertainty study: sample the uncertain inputs, evaluate every sample, summarise.

For each KPI the study reports P10/P50/P90, mean and standard deviation over the samples (of
each sample's mean over its replications: the KPI of the line those inputs describe), the
probability of meeting each target with a 95 % Wilson interval (binomial, so conservative for
a Sobol design, whose estimates vary less than independent draws), and — simulated with R ≥ 2
replications — the split of a replication's variance by the law of total variance,

    Var Y = E[Var(Y | X)] + Var(E[Y | X])   (simulation noise + input uncertainty),

estimated without bias: noise = mean of the within-sample variances s²ᵢ; input = the variance
of the sample means less noise ÷ R (each mean carries noise ÷ R of its own), at least 0.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from linesim.config import line_from_dict, line_with_values, uncertain_inputs
from linesim.errors import ConfigError, UsageError
from linesim.experiments import engine_before_fork, run_tasks
from linesim.progress import Interrupted
from linesim.simulation import engine_for
from linesim.spec import LineSpec
from linesim.spec.uncertain import UncertainInput
from linesim.uncertainty.evaluate import KPI_UNITS, KPIS, simulate_task, static_kpis
from linesim.uncertainty.sampling import (
    design,
    design_method,
    iman_conover,
    input_values,
    pearson_of_spearman,
)

__all__ = [
    "Targets",
    "Probability",
    "KpiSummary",
    "UncertaintyReport",
    "prepare",
    "Prepared",
    "correlation_matrix",
    "run_study",
    "evaluate_samples",
    "summarise",
    "wilson",
    "variance_split",
]

Z95 = 1.959963984540054
#: Static samples from which a pool of workers pays for its start (~0.5 s).
MIN_POOLED_STATIC = 256


def static_chunk(task: tuple, on_fraction: Callable[[float], None] | None) -> list:
    """Static KPIs of a chunk of samples (runs in a pool worker): ``task`` = (raw, inputs,
    file, [(sample, values), ...]); a sample that is not a valid line gives its
    :class:`ConfigError` as plain parts (a worker's exceptions must pickle)."""
    raw, inputs, file, rows = task
    out: list = []
    for k, (i, values) in enumerate(rows):
        try:
            spec = line_with_values(raw, inputs, values, f"{file} (sample {i})")
        except ConfigError as exc:
            out.append((i, (exc.file, exc.path, exc.problem, exc.value, exc.allowed)))
            continue
        out.append((i, static_kpis(spec)))
        if on_fraction is not None:
            on_fraction((k + 1) / len(rows))
    return out


@dataclass(frozen=True)
class Targets:
    """What the line must reach: good output ≥ ``gwh`` [GWh/yr], cost ≤ ``cny_per_wh``."""

    gwh: float | None = None
    cny_per_wh: float | None = None


@dataclass(frozen=True)
class Probability:
    """P(a condition holds) over the samples, with its 95 % Wilson interval."""

    condition: str
    hits: int
    samples: int
    probability: float
    ci95: tuple[float, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "condition": self.condition,
            "hits": self.hits,
            "samples": self.samples,
            "probability": self.probability,
            "ci95": list(self.ci95),
        }


def wilson(hits: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``hits`` ÷ ``n``."""
    if n == 0:
        return (0.0, 1.0)
    p = hits / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class KpiSummary:
    """One KPI over the samples."""

    name: str
    label: str
    unit: str
    p10: float
    p50: float
    p90: float
    mean: float
    sd: float
    nominal: float  #: the static model at the nominal inputs
    variance: dict[str, float] | None = None  #: input / noise split (simulated, R ≥ 2)
    missing: int = 0  #: samples without a value (NaN: no good cells); the rest are summarised

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in ("label", "unit", "p10", "p50", "p90", "mean", "sd")}
        out["nominal_static"] = self.nominal
        out["samples_without_value"] = self.missing
        if self.variance is not None:
            out["variance"] = self.variance
        return out


def variance_split(values: np.ndarray) -> dict[str, float]:
    """Law of total variance of ``values`` (samples × replications, R ≥ 2): the variance of
    one replication's KPI split into input uncertainty and simulation noise."""
    n, r = values.shape
    noise = float(np.mean(np.var(values, axis=1, ddof=1)))
    means = values.mean(axis=1)
    between = float(np.var(means, ddof=1)) if n > 1 else 0.0
    inputs = max(0.0, between - noise / r)
    total = inputs + noise
    return {
        "input_variance": inputs,
        "noise_variance": noise,
        "input_share": inputs / total if total > 0 else math.nan,
        "noise_share": noise / total if total > 0 else math.nan,
        "noise_variance_of_sample_means": noise / r,
    }


@dataclass(frozen=True)
class Prepared:
    """A config ready to sample: its raw mapping, uncertain inputs and nominal line."""

    raw: Mapping[str, Any]
    file: str
    inputs: tuple[UncertainInput, ...]
    nominal: LineSpec
    #: target Spearman matrix of the inputs (``None``: independent)
    correlation: np.ndarray | None = None

    def spec_at(self, values: Sequence[float], label: str = "") -> LineSpec:
        """The line with the inputs at ``values``, validated (a ``ConfigError`` names the
        field and, in the file name, ``label``)."""
        where = f"{self.file} ({label})" if label else self.file
        return line_with_values(self.raw, self.inputs, values, where)


def prepare(raw: Mapping[str, Any], file: str | Path = "<config>") -> Prepared:
    """The uncertain inputs of a merged config mapping and its nominal line.

    Raises
    ------
    UsageError
        If no field of the config is a distribution.
    """
    inputs = tuple(uncertain_inputs(raw, file))
    nominal = line_from_dict(raw, file)
    if not inputs:
        raise UsageError(
            f"{file}: no field is given as a distribution, so nothing is uncertain; allowed: a "
            "config with uncertain inputs, e.g. defect_probability: {dist: triangular, low: "
            "0.008, value: 0.015, high: 0.03} (configs/README.md, Uncertain inputs)"
        )
    return Prepared(raw, str(file), inputs, nominal, correlation_matrix(nominal, inputs, file))


def correlation_matrix(
    nominal: LineSpec, inputs: Sequence[UncertainInput], file: str | Path
) -> np.ndarray | None:
    """The target Spearman matrix of ``inputs`` from the line's ``correlations:`` (``None``
    without any); a :class:`ConfigError` names an entry that is not a pair of uncertain
    inputs, or a set of correlations no joint distribution can have."""
    if not nominal.correlations:
        return None
    index = {item.name: k for k, item in enumerate(inputs)}
    c = np.eye(len(inputs))
    for n, entry in enumerate(nominal.correlations):
        for name in entry.inputs:
            if name not in index:
                raise ConfigError(
                    str(file),
                    f"correlations[{n}].inputs",
                    "not an uncertain input of this line",
                    name,
                    "one of: " + ", ".join(index),
                )
        a, b = (index[x] for x in entry.inputs)
        if c[a, b] != 0.0:
            raise ConfigError(
                str(file),
                f"correlations[{n}].inputs",
                "a pair given twice",
                list(entry.inputs),
                "each pair once",
            )
        c[a, b] = c[b, a] = entry.rank
    try:  # the normal scores' matrix Iman–Conover factorises, not only the ranks'
        np.linalg.cholesky(c)
        np.linalg.cholesky(pearson_of_spearman(c))
    except np.linalg.LinAlgError:
        raise ConfigError(
            str(file),
            "correlations",
            "no joint distribution of normal scores has these rank correlations (the matrix, "
            "or its normal scores' 2·sin(π·ρ/6), is not positive definite)",
            [e.rank for e in nominal.correlations],
            "correlations consistent with each other (e.g. weaker ones)",
        ) from None
    return c


@dataclass
class UncertaintyReport:
    """Everything a study found (:meth:`to_dict` is ``linesim uncertainty --json``)."""

    line: str
    file: str
    model: str  #: "static" or "simulation (…)"
    method: str
    samples: int
    replications: int
    seed: int
    inputs: tuple[UncertainInput, ...]
    values: np.ndarray  #: samples × inputs
    kpis: dict[str, np.ndarray]  #: KPI → samples × replications
    summaries: dict[str, KpiSummary]
    probabilities: list[Probability]
    targets: Targets
    sensitivity: dict[str, Any] | None = None
    tornado: list[dict[str, Any]] = field(default_factory=list)
    record_id: str | None = None
    #: KPIs some or all samples have no value for (NaN), said, never silently dropped
    warnings: list[str] = field(default_factory=list)
    correlation: np.ndarray | None = None  #: the target Spearman matrix (None: independent)

    def correlations(self) -> list[dict[str, Any]]:
        """Each correlated pair: its target Spearman ρ and the samples' (Iman–Conover)."""
        if self.correlation is None:
            return []
        from linesim.uncertainty.sampling import spearman

        got = spearman(self.values)
        d = len(self.inputs)
        return [
            {
                "inputs": [self.inputs[a].name, self.inputs[b].name],
                "rank": float(self.correlation[a, b]),
                "sample_rank": float(got[a, b]),
            }
            for a in range(d)
            for b in range(a + 1, d)
            if self.correlation[a, b] != 0.0
        ]

    def sample_means(self, kpi: str) -> np.ndarray:
        return self.kpis[kpi].mean(axis=1)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "line": self.line,
            "config": self.file,
            "model": self.model,
            "design": self.method,
            "samples": self.samples,
            "replications": self.replications,
            "seed": self.seed,
            "inputs": [i.to_dict() for i in self.inputs],
            "correlations": self.correlations(),
            "kpis": {k: s.to_dict() for k, s in self.summaries.items()},
            "targets": {"gwh_per_year": self.targets.gwh, "cny_per_wh": self.targets.cny_per_wh},
            "probabilities": [p.to_dict() for p in self.probabilities],
            "tornado": self.tornado,
            "sensitivity": self.sensitivity,
            "warnings": self.warnings,
            "sample_values": [
                {
                    "sample": i,
                    "inputs": {
                        item.name: float(self.values[i, k]) for k, item in enumerate(self.inputs)
                    },
                    "kpis": {
                        k: _finite_or_none(float(self.kpis[k][i].mean())) for k in self.summaries
                    },
                }
                for i in range(self.samples)
            ],
        }
        if self.record_id:
            out["record_id"] = self.record_id
        return out


def run_study(
    prepared: Prepared,
    samples: int,
    *,
    seed: int = 1,
    targets: Targets = Targets(),
    static: bool = True,
    replications: int = 1,
    horizon_s: float = 30 * 86_400.0,
    warmup_s: float = 0.0,
    engine: str = "auto",
    workers: int | None = None,
    method: str = "auto",
    progress: Callable[[float, int], None] | None = None,
    known: Mapping[int, Mapping[str, Sequence[float]]] | None = None,
    on_sample: Callable[[int, Sequence[float], dict[str, list[float]]], None] | None = None,
    backend: str = "local",
) -> UncertaintyReport:
    """Sample the inputs of ``prepared`` and evaluate each sample.

    Parameters
    ----------
    samples : int
        Points of the design (Sobol at a power of two, else a Latin hypercube: ``method``).
    static : bool
        Evaluate on the static model (seconds); else simulate each sample ``replications``
        times for ``horizon_s`` after ``warmup_s`` [s], replication r of every sample on the
        same random stream (common random numbers).
    known : mapping, optional
        Sample → KPI → one value per replication, of samples finished before (a resumed
        study): they are not evaluated again.
    on_sample : callable, optional
        ``on_sample(i, values, kpis)`` as sample i's replications are all in (to record it).
    backend : str
        Simulated samples on ``local`` processes or on ``ray`` (as sweeps; static samples
        always run locally).

    Raises
    ------
    ConfigError
        If a sample is not a valid line (naming the sample and the field).
    Interrupted
        On Ctrl-C or SIGTERM, saying how many samples finished (those passed to ``on_sample``
        are kept by its caller).
    """
    if static:
        replications = 1
    method = design_method(samples, method)
    points = design(len(prepared.inputs), samples, seed, method)
    values = input_values(prepared.inputs, points)
    if prepared.correlation is not None:
        if samples <= len(prepared.inputs):
            raise UsageError(
                f"samples: {samples} for {len(prepared.inputs)} correlated inputs; allowed: "
                f"more samples than inputs (at least {len(prepared.inputs) + 1})"
            )
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0x1C,)))
        values = iman_conover(values, prepared.correlation, rng)
    results, model = evaluate_samples(
        prepared,
        values,
        static=static,
        seed=seed,
        replications=replications,
        horizon_s=horizon_s,
        warmup_s=warmup_s,
        engine=engine,
        workers=workers,
        progress=progress,
        known=known,
        on_sample=on_sample,
        backend=backend,
    )
    return summarise(prepared, values, results, samples, replications, seed, method, model, targets)


def evaluate_samples(
    prepared: Prepared,
    values: np.ndarray,
    *,
    static: bool = True,
    seed: int = 1,
    replications: int = 1,
    horizon_s: float = 30 * 86_400.0,
    warmup_s: float = 0.0,
    engine: str = "auto",
    workers: int | None = None,
    progress: Callable[[float, int], None] | None = None,
    known: Mapping[int, Mapping[str, Sequence[float]]] | None = None,
    on_sample: Callable[[int, Sequence[float], dict[str, list[float]]], None] | None = None,
    backend: str = "local",
) -> tuple[dict[int, dict[str, list[float]]], str]:
    """Each row of ``values`` (samples × inputs) validated and evaluated: sample → KPI → one
    value per replication, and the model's description (see :func:`run_study`)."""
    if backend not in ("local", "ray"):
        raise UsageError(f"backend {backend!r}; allowed: local, ray")
    samples = len(values)
    known = dict(known or {})
    results: dict[int, dict[str, list[float]]] = {
        i: {k: list(v) for k, v in known[i].items()} for i in known if 0 <= i < samples
    }
    todo = [i for i in range(samples) if i not in results]
    workers = min(workers or os.cpu_count() or 1, max(len(todo), 1))
    pooled_static = static and workers > 1 and len(todo) >= MIN_POOLED_STATIC
    specs = {} if pooled_static else {i: prepared.spec_at(values[i], f"sample {i}") for i in todo}

    def finished(i: int, kpis: dict[str, list[float]]) -> None:
        results[i] = kpis
        if on_sample is not None:
            on_sample(i, [float(x) for x in values[i]], kpis)

    try:
        if pooled_static:
            model = "static"
            chunks = [todo[k :: workers * 4] for k in range(workers * 4)]
            tasks = [
                (prepared.raw, prepared.inputs, prepared.file, [(i, values[i]) for i in chunk])
                for chunk in chunks
                if chunk
            ]

            # a sample's config error is raised once every chunk is back, for the first such
            # sample: the same error whichever worker finishes first
            errors: dict[int, tuple] = {}

            def chunk_done(_: int, rows: list) -> None:
                for i, kpis in rows:
                    if isinstance(kpis, tuple):
                        errors[i] = kpis
                    else:
                        finished(i, {k: [v] for k, v in kpis.items()})

            run_tasks(
                static_chunk,
                tasks,
                workers,
                chunk_done,
                (lambda d, t: progress(len(results), samples)) if progress else None,
            )
            if errors:
                raise ConfigError(*errors[min(errors)])
        elif static:
            model = "static"
            for i in todo:
                finished(i, {k: [v] for k, v in static_kpis(specs[i]).items()})
                if progress is not None:
                    progress(len(results), samples)
        else:
            engine = engine_for(engine)
            model = (
                f"simulation ({engine} engine, {replications} replication"
                f"{'s' * (replications > 1)} of {horizon_s / 3600:g} h after "
                f"{warmup_s / 3600:g} h warm-up)"
            )
            sim_tasks = [
                (i, specs[i], horizon_s, warmup_s, seed, r, engine)
                for i in todo
                for r in range(replications)
            ]
            pending: dict[int, dict[int, dict[str, float]]] = {}

            def done(_: int, result: tuple[int, int, dict[str, float]]) -> None:
                i, r, kpis = result
                pending.setdefault(i, {})[r] = kpis
                if len(pending[i]) == replications:
                    reps = pending.pop(i)
                    finished(i, {k: [reps[q][k] for q in range(replications)] for k in reps[0]})

            base = len(results)

            def moved(done_tasks: float, total: int) -> None:
                if progress is not None:
                    progress(base + done_tasks / replications, samples)

            workers = min(workers, max(len(sim_tasks), 1))
            if backend == "ray":
                from linesim.sweep import run_ray_tasks

                run_ray_tasks(
                    simulate_task,
                    sim_tasks,
                    workers,
                    lambda result: done(0, result),
                    moved if progress else None,
                )
            else:
                engine_before_fork(engine, workers)
                run_tasks(simulate_task, sim_tasks, workers, done, moved if progress else None)
    except KeyboardInterrupt:
        raise Interrupted(f"{len(results)} of {samples} samples finished") from None
    return results, model


def summarise(
    prepared: Prepared,
    values: np.ndarray,
    results: Mapping[int, Mapping[str, Sequence[float]]],
    samples: int,
    replications: int,
    seed: int,
    method: str,
    model: str,
    targets: Targets,
) -> UncertaintyReport:
    """Quantiles, target probabilities and the variance split of evaluated samples."""
    kpis = {k: np.array([list(results[i][k]) for i in range(samples)], dtype=float) for k in KPIS}
    nominal = static_kpis(prepared.nominal)
    summaries = {}
    warnings = []
    static = model.startswith("static")
    for k in KPIS:
        label, unit = KPI_UNITS[k]
        all_means = kpis[k].mean(axis=1)
        finite = np.isfinite(all_means)
        missing = int(samples - finite.sum())
        if missing == samples:
            why = (
                "the line has no cost: block"
                if prepared.nominal.cost is None
                else "the line makes no good cells in any sample"
            )
            warnings.append(f"{label}: no sample has a value ({why}); not summarised")
            continue
        if missing:
            why = "makes no good cells" + ("" if static else " in a replication's window")
            warnings.append(
                f"{label}: {missing} of {samples} samples have no value (NaN: the line {why}); "
                f"quantiles over the other {samples - missing}; a target on it counts them as "
                "missed"
            )
        means = all_means[finite]
        p10, p50, p90 = np.quantile(means, [0.1, 0.5, 0.9])
        split = (
            variance_split(kpis[k][finite])
            if replications >= 2 and not model.startswith("static")
            else None
        )
        summaries[k] = KpiSummary(
            k,
            label,
            unit,
            float(p10),
            float(p50),
            float(p90),
            float(means.mean()),
            float(means.std(ddof=1)) if means.size > 1 else 0.0,
            nominal[k],
            split,
            missing,
        )
    probabilities = []
    meets = []
    if targets.gwh is not None:
        hit = kpis["output_gwh_per_year"].mean(axis=1) >= targets.gwh
        meets.append(hit)
        probabilities.append(_probability(f"good output ≥ {targets.gwh:g} GWh/yr", hit))
    if targets.cny_per_wh is not None:
        if "cost_cny_per_wh" not in summaries:
            raise UsageError(
                f"--cost-target-cny-per-wh: line {prepared.nominal.name!r} has no cost (no "
                "cost: block, or a sample without good cells); allowed: a config with a cost: "
                "block"
            )
        hit = kpis["cost_cny_per_wh"].mean(axis=1) <= targets.cny_per_wh
        meets.append(hit)
        probabilities.append(_probability(f"cost ≤ {targets.cny_per_wh:g} CNY/Wh", hit))
    if len(meets) == 2:
        probabilities.append(_probability("both targets", meets[0] & meets[1]))
    return UncertaintyReport(
        line=prepared.nominal.name,
        file=prepared.file,
        model=model,
        method=method,
        samples=samples,
        replications=replications,
        seed=seed,
        inputs=prepared.inputs,
        values=values,
        kpis=kpis,
        summaries=summaries,
        probabilities=probabilities,
        targets=targets,
        warnings=warnings,
        correlation=prepared.correlation,
    )


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _probability(condition: str, hit: np.ndarray) -> Probability:
    k, n = int(hit.sum()), int(hit.size)
    return Probability(condition, k, n, k / n, wilson(k, n))
