"""Plain-text tables for the CLI (the UI draws its own figures from the same results)."""

from __future__ import annotations

from collections.abc import Sequence

from linesim.summary import Estimate

__all__ = ["ci_text", "fmt", "text_table"]


def fmt(value: object, digits: int = 3) -> str:
    """Format a number for a table: thousands separators, ``digits`` significant decimals."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
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
    """``mean ± half-width`` of an estimate (the mean alone without an interval)."""
    mean = e.mean * scale
    if e.half_width is None:
        return f"{mean:,.{digits}f}"
    return f"{mean:,.{digits}f} ± {e.half_width * scale:,.{digits}f}"
