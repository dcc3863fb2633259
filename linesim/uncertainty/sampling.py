"""Quasi-random designs over the uncertain inputs.

A design is a matrix U of points in the unit cube, one row per sample and one column per
input; input k's values are its inverse CDF at column k (:meth:`UncertainInput.ppf`), so the
inputs are independent with the distributions the config gives them. Scrambled Sobol points
(scipy.stats.qmc) when the sample count is a power of two — where they are balanced — and a
Latin hypercube otherwise; both from the seed alone, so the same seed gives the same design.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import qmc

from linesim.errors import UsageError
from linesim.spec.uncertain import UncertainInput

__all__ = ["METHODS", "design", "design_method", "input_values"]

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
