"""Plain-text tables and figures for the CLI (the UI draws its own figures from the same
results).

Every figure goes through :func:`number` (or :func:`fmt` in tables): an undefined one (None,
NaN, ±∞) is shown as not available, never as ``nan`` or ``inf``, and one past ``LARGE`` in
magnitude in engineering notation (``4.00e+15``), never as hundreds of digits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from linesim.summary import Estimate

__all__ = ["LARGE", "NA", "ci_text", "eng", "fmt", "number", "text_table"]

#: Figures of this magnitude or more are shown in engineering notation.
LARGE = 1e12
#: What an undefined figure (None, NaN, ±∞) reads as in running text.
NA = "n/a"


def eng(value: float, digits: int = 3) -> str:
    """``value`` in engineering notation: ``digits`` significant digits, a mantissa in
    [1, 1000) and an exponent that is a multiple of 3 (``4.00e+15``, ``12.3e-06``)."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    rounded = float(f"{value:.{digits - 1}e}")  # so that 999.96e3 reads 1.00e+06
    exponent = 3 * math.floor(math.log10(abs(rounded)) / 3)
    mantissa = rounded / 10.0**exponent
    decimals = max(digits - 1 - math.floor(math.log10(abs(mantissa))), 0)
    return f"{mantissa:.{decimals}f}e{exponent:+03d}"


def number(value: float | int | None, spec: str = ",.3f", na: str = NA) -> str:
    """``value`` formatted by ``spec`` (a format spec such as ``,.1f``) when it is an ordinary
    figure; in engineering notation from ``LARGE`` on and where ``spec`` would show a figure
    that is not zero as zero (``0.000`` GWh/yr of a line that makes some); ``na`` when it is
    undefined (None, NaN or ±∞)."""
    if value is None or isinstance(value, bool):
        return na if value is None else str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return na
    if abs(value) >= LARGE:
        try:
            return eng(float(value))
        except OverflowError:  # a whole number past the floats' range
            return ("-" if value < 0 else "") + "> 1e+308"
    text = format(value, spec)
    if value != 0 and not spec.endswith("%") and not any(d in text for d in "123456789"):
        signed = spec.startswith("+") and value > 0  # a signed spec keeps its sign: +222e-09
        return ("+" if signed else "") + eng(float(value))
    return text


def fmt(value: object, digits: int = 3) -> str:
    """Format a value for a table: thousands separators, ``digits`` significant decimals,
    engineering notation from ``LARGE`` on, ``–`` for an undefined number."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return number(value, ",")
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        if abs(value) >= 1000:
            return number(value, ",.0f")
        if abs(value) >= 100:
            return f"{value:.1f}"
        if 0 < abs(value) < 0.01:
            return f"{value:.{digits}g}"
        return f"{value:.{digits}f}"
    return str(value)


def text_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], align: str | None = None
) -> str:
    """A fixed-width table; ``align`` is one character per column, ``l`` or ``r``."""
    cells = [[fmt(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[k]) for r in cells]) for k, h in enumerate(headers)]
    align = align or "l" + "r" * (len(headers) - 1)

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.ljust(w) if a == "l" else v.rjust(w) for v, w, a in zip(values, widths, align)
        ).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    return "\n".join(out)


def ci_text(e: Estimate, digits: int = 1, scale: float = 1.0) -> str:
    """``mean ± half-width`` of an estimate (the mean alone without an interval; ``n/a`` for
    an undefined mean)."""
    spec = f",.{digits}f"
    mean = e.mean * scale
    if e.half_width is None or not math.isfinite(mean):
        return number(mean, spec)
    return f"{number(mean, spec)} ± {number(e.half_width * scale, spec)}"
