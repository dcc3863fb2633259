"""Quasi-random designs over the uncertain inputs.

A design is a matrix U of points in the unit cube, one row per sample and one column per
input; input k's values are its inverse CDF at column k (:meth:`UncertainInput.ppf`), so the
inputs are independent with the distributions the config gives them. Scrambled Sobol points
(scipy.stats.qmc) when the sample count is a power of two — where they are balanced — and a
Latin hypercube otherwise; both from the seed alone, so the same seed gives the same design.

Rank correlations between inputs (a config's ``correlations:``) are imposed afterwards by
Iman and Conover's method (Commun. Statist. B 11 (1982) 311–334): each input's sampled values
are kept and only reordered across the samples, so every marginal distribution is exactly the
one sampled, and the ranks follow a matrix of normal scores given the target correlation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import qmc

from linesim.errors import UsageError
from linesim.spec.uncertain import UncertainInput

__all__ = [
    "METHODS",
    "design",
    "design_method",
    "input_values",
    "iman_conover",
    "pearson_of_spearman",
    "spearman",
]

METHODS: tuple[str, ...] = ("auto", "sobol", "lhs")


def design_method(samples: int, method: str = "auto") -> str:
    """The design ``method`` means for ``samples`` points (``auto``: Sobol at a power of two,
    else Latin hypercube)."""
    if method not in METHODS:
        raise UsageError(f"method {method!r}; allowed: {', '.join(METHODS)}")
    if method == "auto":
        return "sobol" if samples & (samples - 1) == 0 else "lhs"
    if method == "sobol" and samples & (samples - 1):
        raise UsageError(
            f"samples: {samples} with a Sobol design; allowed: a power of two (balanced "
            "Sobol points), or the Latin hypercube design"
        )
    return method


def design(dimensions: int, samples: int, seed: int, method: str = "auto") -> np.ndarray:
    """``samples`` × ``dimensions`` points in the unit cube (open: no coordinate is 0 or 1
    in the Sobol points' scrambling, and the inverse CDFs cut the tails anyway)."""
    if samples < 1:
        raise UsageError(f"samples: {samples}; allowed: at least 1")
    method = design_method(samples, method)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0x5EED,)))
    if method == "sobol":
        engine = qmc.Sobol(dimensions, scramble=True, seed=rng)
        return engine.random_base2(int(samples).bit_length() - 1)
    return qmc.LatinHypercube(dimensions, seed=rng).random(samples)


def input_values(inputs: Sequence[UncertainInput], points: np.ndarray) -> np.ndarray:
    """The inputs' values at design ``points`` (rows: samples, columns: inputs)."""
    out = np.empty_like(points, dtype=float)
    for k, item in enumerate(inputs):
        out[:, k] = item.ppf(points[:, k])
    return out


def pearson_of_spearman(rho: Any) -> Any:
    """The Pearson correlation r of a bivariate normal whose Spearman rank correlation is ρ:
    r = 2 sin(π ρ / 6) (Pearson, 1907), so normal scores correlated at r give ranks at ρ
    (elementwise on an array)."""
    return 2.0 * np.sin(np.pi * rho / 6.0)


def spearman(values: np.ndarray) -> np.ndarray:
    """Spearman rank correlation matrix of the columns of ``values`` (no ties expected)."""
    ranks = np.argsort(np.argsort(values, axis=0), axis=0).astype(float)
    return np.atleast_2d(np.corrcoef(ranks, rowvar=False))


def iman_conover(values: np.ndarray, target: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``values`` (samples × inputs) reordered within each column so that the columns' rank
    correlations approach ``target`` (a symmetric positive-definite Spearman matrix).

    Scores: van der Waerden's Φ⁻¹(i / (n + 1)), i = 1 … n, randomly permuted per column (M);
    T = M (Fᵀ)⁻¹ Pᵀ with E = F Fᵀ the Cholesky factors of M's own correlation matrix and
    P Pᵀ the target converted to Pearson (:func:`pearson_of_spearman`), so T's correlation is
    the target exactly; each column of ``values`` is then sorted into the rank order of T's.
    The values (hence the marginals) are unchanged.
    """
    from scipy.stats import norm

    n, d = values.shape
    if n < 3 or d < 2:
        return values.copy()
    scores = norm.ppf(np.arange(1, n + 1) / (n + 1))
    m = np.column_stack([rng.permutation(scores) for _ in range(d)])
    e = np.linalg.cholesky(np.corrcoef(m, rowvar=False))
    p = np.linalg.cholesky(pearson_of_spearman(target))
    t = m @ np.linalg.inv(e).T @ p.T
    out = np.empty_like(values)
    for k in range(d):
        out[np.argsort(t[:, k]), k] = np.sort(values[:, k])
    return out
