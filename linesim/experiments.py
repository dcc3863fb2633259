"""Replications: independent random streams, a process pool, and 95 % confidence intervals.

Replication r of base seed S draws from ``SeedSequence(S, spawn_key=(r,))`` – exactly the
r-th child of ``SeedSequence(S).spawn(...)`` – so streams are independent and any single
replication can be rerun on its own.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import stats

from linesim import kpis
from linesim.simulation import engine_for, simulate
from linesim.simulation.records import SimResult
from linesim.spec import LineSpec

__all__ = ["Estimate", "estimate", "replicate", "summarise", "replication_rng"]


@dataclass(frozen=True)
class Estimate:
    """Mean of a KPI over replications with its 95 % Student-t confidence interval."""

    mean: float
    ci95_low: float | None
    ci95_high: float | None

    def to_dict(self) -> dict:
        return {"mean": self.mean, "ci95_low": self.ci95_low, "ci95_high": self.ci95_high}

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the interval (False when there is no interval)."""
        return self.ci95_low is not None and self.ci95_low <= value <= self.ci95_high


def estimate(values: Sequence[float], level: float = 0.95) -> Estimate:
    """Mean and Student-t interval mean ± t_{n−1} · s ÷ √n (no interval for n < 2)."""
    x = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    if x.size == 0:
        return Estimate(math.nan, None, None)
    mean = float(x.mean())
    if x.size < 2:
        return Estimate(mean, None, None)
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return Estimate(mean, mean - half, mean + half)


def replication_rng(seed: int, replication: int) -> np.random.Generator:
    """The generator of one replication (independent of every other replication)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(replication,)))


def _one(args: tuple) -> SimResult:
    spec, horizon_s, warmup_s, seed, r, engine = args
    return simulate(spec, horizon_s, warmup_s, replication_rng(seed, r), replication=r,
                    seed=seed, engine=engine)


def replicate(spec: LineSpec, horizon_s: float, warmup_s: float, replications: int,
              seed: int = 1, workers: int | None = None,
              progress: Callable[[int, int], None] | None = None,
              engine: str = "auto") -> list[SimResult]:
    """Run ``replications`` independent replications, on a process pool when workers > 1.

    Results come back in replication order whatever the worker count, so the same seed gives
    the same results. ``progress(done, total)`` is called as replications finish.
    """
    engine = engine_for(engine)
    tasks = [(spec, horizon_s, warmup_s, seed, r, engine) for r in range(replications)]
    workers = min(workers or os.cpu_count() or 1, replications)
    results: list[SimResult] = []
    if workers <= 1:
        for k, task in enumerate(tasks):
            results.append(_one(task))
            if progress:
                progress(k + 1, replications)
        return results
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for k, res in enumerate(pool.map(_one, tasks)):
            results.append(res)
            if progress:
                progress(k + 1, replications)
    return results


def summarise(spec: LineSpec, results: Sequence[SimResult]) -> dict:
    """The run report: every KPI as mean and 95 % CI over replications (plain data, for JSON)."""
    from linesim.yield_model import line_yield, station_defect_probabilities

    def est(f) -> dict:
        return estimate([f(r) for r in results]).to_dict()

    shares = kpis.bottleneck_shares(results)
    neck = next(iter(shares))
    p = station_defect_probabilities(spec)
    analytic = line_yield(spec)
    gaps = [kpis.yield_attribution(r, analytic) for r in results]
    stations = []
    for i, station in enumerate(spec.stations):
        def at(f, i=i):
            return est(lambda r: f(r, r.stations[i]))
        stations.append({
            "id": station.id,
            "machines": station.machine_count,
            "utilisation": at(kpis.utilisation),
            "blocked": at(kpis.blocked_fraction),
            "starved": at(kpis.starved_fraction),
            "down": at(kpis.down_fraction),
            "active": at(kpis.active_fraction),
            "oee": at(kpis.station_oee),
            "defect_rate": est(lambda r, i=i: kpis.defect_rate(r.stations[i])),
            "exposure_defect_rate": est(lambda r, i=i: r.stations[i].exposure_defects
                                        / r.stations[i].processed if r.stations[i].processed
                                        else 0.0),
            "defect_probability": p[i],
            "processed": sum(r.stations[i].processed for r in results),
            "bottleneck_share": shares.get(station.id, 0.0),
        })
    return {
        "line": spec.name,
        "engine": results[0].engine,
        "warmup_h": results[0].warmup_s / 3600.0,
        "horizon_h": results[0].horizon_s / 3600.0,
        "seed": results[0].seed,
        "throughput_cells_per_h": est(kpis.good_cells_per_h),
        "started_cells_per_h": est(kpis.started_cells_per_h),
        "output_gwh_per_year": est(kpis.output_gwh_per_year),
        "line_yield": {
            "analytic": analytic,
            "simulated": est(kpis.simulated_line_yield),
            "good_per_started": est(kpis.good_per_started),
            "attribution": {k: estimate([part[k] for part in gaps]).to_dict()
                            for k in ("sampling", "exposure", "detection_delay")},
        },
        "line_oee": est(kpis.line_oee),
        "mean_wip_cells": est(kpis.mean_wip_cells),
        "mean_lead_time_h": est(kpis.mean_lead_time_h),
        "bottleneck": neck,
        "bottleneck_shares": shares,
        "stations": stations,
        "replications": [
            {"replication": r.replication, "seed": r.seed, "started": r.started_total,
             "good": r.good_total, "scrapped": r.scrapped_total,
             "in_process_at_end": r.in_process_at_end}
            for r in results
        ],
    }
