"""What drives the answer: Sobol indices (SALib) and a tornado of P10–P90 swings.

Sobol indices are estimated on the unit cube of the inputs' quantiles: SALib's Saltelli design
(scrambled Sobol points, N × (d + 2) rows for d inputs without second-order terms) is mapped
through each input's inverse CDF, every row evaluated (static model, or simulated with common
random numbers: the mean over its replications), and ``SALib.analyze.sobol`` gives the
first-order index S1 (the share of the KPI's variance explained by one input alone) and the
total index ST (including its interactions) with bootstrap 95 % confidence intervals. Indices
describe independent inputs, which is what the config gives.

The tornado moves one input at a time to its P10 and P90 (others nominal) on the static model:
2 d evaluations, a quick first answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from linesim.errors import UsageError
from linesim.uncertainty.evaluate import KPIS, static_kpis
from linesim.uncertainty.sampling import input_values
from linesim.uncertainty.study import Prepared, evaluate_samples

__all__ = ["tornado", "sobol_indices"]

#: KPIs of the tornado and the Sobol indices (where defined).
SENSITIVITY_KPIS: tuple[str, ...] = ("output_gwh_per_year", "line_yield", "cost_cny_per_wh")


def tornado(prepared: Prepared, kpis: Sequence[str] = SENSITIVITY_KPIS) -> list[dict[str, Any]]:
    """Per KPI, each input at its P10 and its P90 with the others nominal (static model),
    sorted by the size of the swing (P90 value − P10 value of the KPI)."""
    nominal = [i.dist.nominal for i in prepared.inputs]
    rows: list[dict[str, Any]] = []
    ends = []
    for k, item in enumerate(prepared.inputs):
        at = []
        for q in (0.1, 0.9):
            values = list(nominal)
            values[k] = float(item.ppf(np.array([q]))[0])
            at.append(static_kpis(prepared.spec_at(values, f"{item.name} at P{round(q * 100)}")))
        ends.append(at)
    for kpi in kpis:
        bars = []
        for item, (low, high) in zip(prepared.inputs, ends):
            if not (math.isfinite(low[kpi]) and math.isfinite(high[kpi])):
                continue
            bars.append(
                {
                    "input": item.name,
                    "kpi": kpi,
                    "at_p10": low[kpi],
                    "at_p90": high[kpi],
                    "swing": high[kpi] - low[kpi],
                }
            )
        rows += sorted(bars, key=lambda b: -abs(b["swing"]))
    return rows


def sobol_indices(
    prepared: Prepared,
    base_samples: int,
    *,
    seed: int = 1,
    static: bool = True,
    replications: int = 1,
    horizon_s: float = 30 * 86_400.0,
    warmup_s: float = 0.0,
    engine: str = "auto",
    workers: int | None = None,
    progress: Callable[[float, int], None] | None = None,
    kpis: Sequence[str] = SENSITIVITY_KPIS,
    backend: str = "local",
) -> dict[str, Any]:
    """First- and total-order Sobol indices of each KPI with 95 % CIs (see the module).

    ``base_samples`` N must be a power of two (SALib's balanced Sobol points); the study
    evaluates N × (d + 2) lines. A KPI that does not vary, or is undefined for some row, has no
    indices.
    """
    from SALib.analyze import sobol as analyze
    from SALib.sample import sobol as sample

    if base_samples < 2 or base_samples & (base_samples - 1):
        raise UsageError(
            f"sensitivity samples: {base_samples}; allowed: a power of two of at least 2 "
            "(Saltelli's design on Sobol points)"
        )
    if prepared.correlation is not None:
        raise UsageError(
            "sensitivity: Sobol indices assume independent inputs, and the config correlates "
            "some (correlations:); allowed: --sobol 0 (the tornado and the correlated samples "
            "remain), or a config without correlations"
        )
    d = len(prepared.inputs)
    names = [i.name for i in prepared.inputs]
    problem: dict[str, Any] = {
        "num_vars": d,
        "names": names,
        "bounds": [[0.0, 1.0]] * d,
    }
    points = sample.sample(problem, base_samples, calc_second_order=False, scramble=True, seed=seed)
    values = input_values(prepared.inputs, points)
    results, model = evaluate_samples(
        prepared,
        values,
        static=static,
        seed=seed,
        replications=1 if static else replications,
        horizon_s=horizon_s,
        warmup_s=warmup_s,
        engine=engine,
        workers=workers,
        progress=progress,
        backend=backend,
    )
    out: dict[str, Any] = {
        "model": model,
        "base_samples": base_samples,
        "evaluations": len(values),
        "seed": seed,
        "indices": {},
    }
    for kpi in kpis:
        if kpi not in KPIS:
            continue
        y = np.array([np.mean(results[i][kpi]) for i in range(len(values))])
        if not np.all(np.isfinite(y)) or float(np.ptp(y)) == 0.0:
            continue
        si = analyze.analyze(
            problem, y, calc_second_order=False, conf_level=0.95, num_resamples=200, seed=seed
        )
        out["indices"][kpi] = sorted(
            (
                {
                    "input": name,
                    "S1": float(si["S1"][k]),
                    "S1_conf": float(si["S1_conf"][k]),
                    "ST": float(si["ST"][k]),
                    "ST_conf": float(si["ST_conf"][k]),
                }
                for k, name in enumerate(names)
            ),
            key=lambda r: -float(r["ST"]),  # type: ignore[arg-type]
        )
    return out
