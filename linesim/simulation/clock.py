"""Working time under a weekly shift pattern: the two formulas both engines share.

A station's pattern is ``work_s`` working seconds from midnight on the first ``days`` days of
each week (t = 0 is the start of the first working day); ``work_s = 0`` stands for round the
clock. Both engines call these same functions (the fast engine compiles them:
``register_jitable`` keeps them plain Python when called from Python and compiles them into
the caller when called from numba), so the times they compute are bit-identical. On a
round-the-clock station they reduce to ``t`` and ``start + work`` exactly, so a line without
calendars runs as it did before calendars.
"""

from __future__ import annotations

import math

from numba.extending import register_jitable

__all__ = ["DAY_S", "WEEK_S", "working_time", "working_end", "off_time"]

DAY_S = 86_400.0
WEEK_S = 604_800.0


@register_jitable
def _position(t: float) -> tuple[int, int, float]:
    """(week, day of the week 0–6, seconds into the day) of time ``t`` [s]."""
    k = math.floor(t / WEEK_S)
    x = t - k * WEEK_S
    if x < 0.0:
        k -= 1
        x += WEEK_S
    d = math.floor(x / DAY_S)
    if d > 6:
        d = 6
    return k, d, x - d * DAY_S


@register_jitable
def working_time(t: float, work_s: float, days: int) -> float:
    """Working seconds from 0 to ``t`` [s]."""
    if work_s == 0.0:
        return t
    k, d, r = _position(t)
    if d < days:
        w = d * work_s + min(r, work_s)
    else:
        w = days * work_s
    return k * (days * work_s) + w


@register_jitable
def working_end(start: float, work: float, work_s: float, days: int) -> float:
    """The earliest time by which ``work`` working seconds have passed after ``start`` [s]."""
    if work_s == 0.0 or work <= 0.0:
        return start + work
    _, d, r = _position(start)
    if d < days and r < work_s and r + work <= work_s:
        return start + work  # within the shift it started in
    target = working_time(start, work_s, days) + work
    per_week = days * work_s
    k = math.floor(target / per_week)
    rem = target - k * per_week
    if rem <= 0.0 and k > 0:
        k -= 1
        rem += per_week
    d = math.floor(rem / work_s)
    r = rem - d * work_s
    if r <= 0.0 and d > 0:
        d -= 1
        r += work_s
    end = k * WEEK_S + d * DAY_S + r
    return end if end > start else start + work


@register_jitable
def off_time(a: float, b: float, work_s: float, days: int) -> float:
    """Seconds of [a, b] outside working time."""
    if work_s == 0.0:
        return 0.0
    off = (b - a) - (working_time(b, work_s, days) - working_time(a, work_s, days))
    return off if off > 0.0 else 0.0
