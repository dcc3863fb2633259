"""Random numbers drawn in blocks from an injected ``numpy.random.Generator``.

Drawing one number at a time from numpy costs more than the event it feeds, so each stream
pre-draws a block, converts it to a Python list once, and hands out entries until it is used up.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["BLOCK", "Stream", "service_sampler"]

BLOCK = 4096


class Stream:
    """Blocks of one kind of variate: ``draw(n)`` returns a list of ``n`` fresh numbers."""

    __slots__ = ("_draw", "_buf", "_i")

    def __init__(self, draw):
        self._draw = draw
        self._buf: list[float] = []
        self._i = 0

    def next(self) -> float:
        i = self._i
        if i >= len(self._buf):
            self._buf = self._draw(BLOCK).tolist()
            i = 0
        self._i = i + 1
        return self._buf[i]


def service_sampler(rng: np.random.Generator, dist: str, mean_s: float, cv: float | None):
    """A zero-argument function returning processing times [s] with the given mean and cv.

    - deterministic: the mean;
    - exponential: mean · Exp(1) (cv = 1);
    - lognormal: exp(μ + σZ) with σ² = ln(1 + cv²), μ = ln(mean) − σ²/2;
    - gamma: shape k = 1/cv², scale = mean · cv².
    """
    if dist == "deterministic":
        return lambda: mean_s
    if dist == "exponential":
        stream = Stream(lambda n: rng.exponential(mean_s, n))
    elif dist == "lognormal":
        sigma2 = math.log1p(cv * cv)
        mu = math.log(mean_s) - sigma2 / 2.0
        stream = Stream(lambda n: rng.lognormal(mu, math.sqrt(sigma2), n))
    elif dist == "gamma":
        k = 1.0 / (cv * cv)
        stream = Stream(lambda n: rng.gamma(k, mean_s / k, n))
    else:  # pragma: no cover - the spec only admits the four above
        raise ValueError(dist)
    return stream.next
