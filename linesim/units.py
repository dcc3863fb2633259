"""Human units converted once: durations like ``30d`` or ``12h`` to seconds."""

from __future__ import annotations

import math
import re

__all__ = ["parse_duration_s", "SECONDS_PER"]

SECONDS_PER = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(s|min|m|h|d|w)?\s*$")


def parse_duration_s(text: str | float, default_unit: str = "h") -> float:
    """Parse ``'30d'``, ``'12h'``, ``'90min'``, ``'3600s'`` or a bare number (``default_unit``).

    Returns seconds. Raises ``ValueError`` naming what is allowed, also for a duration too long
    to be a number of seconds (``1e400d``, read as infinity) or that is not a number (NaN).
    Whether a finite duration is too long for the work asked is the caller's question.
    """
    if isinstance(text, (int, float)):
        try:
            number = float(text)
        except OverflowError:  # an integer beyond any float
            number = math.inf
        seconds = number * SECONDS_PER[default_unit]
    else:
        match = _DURATION.match(text)
        if not match:
            raise ValueError(
                f"{text[:40]!r} is not a duration; allowed: a number with a unit s, min, h, d "
                f"or w (e.g. 30d, 12h, 90min)"
            )
        seconds = float(match.group(1)) * SECONDS_PER[match.group(2) or default_unit]
    if not math.isfinite(seconds):
        shown = repr(text[:40]) if isinstance(text, str) else "the number"
        raise ValueError(
            f"{shown} is not a finite duration; allowed: a number with a unit s, "
            "min, h, d or w (e.g. 30d, 12h, 90min)"
        )
    return seconds
