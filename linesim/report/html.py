"""A self-contained HTML report of line analyses: tables and plotly figures in one file.

plotly.js is embedded once in the page (no network needed to open it); each figure is a
``<div>`` drawn by it. Every number in the tables comes from :mod:`linesim.economics.analysis`
(and, for simulated lines, its run summary, :mod:`linesim.summary`).
"""

from __future__ import annotations

import datetime as dt
import html
import math
import os
from collections.abc import Sequence

from linesim.economics.analysis import LineAnalysis, comparison_rows
from linesim.report.files import atomic_write_text
from linesim.report.tables import LARGE, number
from linesim.summary import RunSummary

__all__ = ["render_html", "write_html", "loss_tree_html"]

_STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2rem auto;
       max-width: 1200px; color: #222; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.92rem; }
th, td { padding: 0.25rem 0.7rem; border-bottom: 1px solid #eee; }
th { text-align: left; background: #f6f6f6; } td.num { text-align: right;
font-variant-numeric: tabular-nums; } .note { color: #555; font-size: 0.9rem; }
td.sub { padding-left: 1.8rem; color: #444; } td.date { white-space: nowrap; }
"""


def _num(value: object) -> str:
    """A table figure: ``–`` when undefined, engineering notation when astronomical."""
    if value is None:
        return "–"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if (isinstance(value, float) and not math.isfinite(value)) or abs(value) >= LARGE:
            return number(value, ",", "–")
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:,.1f}"
        if 0 < abs(value) < 0.01:
            return f"{value:.3g}"
        return f"{value:.3f}"
    return html.escape(str(value))


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: object) -> str:
    if isinstance(value, (int, float)) or value is None:
        return f'<td class="num">{_num(value)}</td>'
    text = str(value)
    if text.startswith("  "):  # a sub-row of the one above
        return f'<td class="sub">{html.escape(text.strip())}</td>'
    if len(text) == 10 and text[4] == "-" and text[7] == "-":  # an ISO date
        return f'<td class="date">{html.escape(text)}</td>'
    return f"<td>{html.escape(text)}</td>"


def _figure_html(figure) -> str:
    return figure.to_html(
        full_html=False,
        include_plotlyjs=False,
        config={"displaylogo": False, "responsive": True},
    )


def loss_tree_html(summary: RunSummary) -> str:
    """A simulated line's OEE loss tree: the line's waterfall (calendar time → losses → good
    output, :func:`linesim.report.figures.loss_waterfall`) and OEE = A × P × Q per station.
    Empty for a summary without a loss tree. The page must load plotly.js."""
    from linesim.report import figures

    tree = summary.losses
    if tree is None:
        return ""

    def factors(t) -> list[object]:
        if t is None:
            return [None] * 4
        return [t.oee.mean, t.availability.mean, t.performance.mean, t.quality.mean]

    title = f"{summary.line}: OEE loss tree (hours of {tree.station}, the nameplate bottleneck)"
    return "\n".join(
        [
            _figure_html(figures.loss_waterfall(tree, title)),
            _table(
                ["", "machines", "OEE", "availability", "performance", "quality"],
                [["line", None] + factors(tree)]
                + [[f"  {s.id}", s.machines] + factors(s.losses) for s in summary.stations],
            ),
            '<p class="note">Means over the replications. Hours of a station are its '
            "machine-hours; the line's are the nameplate bottleneck's. OEE = availability × "
            "performance × quality of planned production time (calendar time less off-shift "
            "time and planned maintenance).</p>",
        ]
    )


def _bands_html(analyses: Sequence[LineAnalysis]) -> list[str]:
    """The published bands of every line (``cost.bands``): a chart and a table, flagged."""
    from linesim.economics.bands import BAND_FIGURES, band_checks
    from linesim.report import figures

    rows = []
    for a in analyses:
        for c in band_checks(a.cost, a.spec.cost.bands if a.spec.cost else None):
            label, unit = BAND_FIGURES[c.name]
            flag = "inside" if c.inside else "OUTSIDE"
            rows.append([a.spec.name, label, unit, c.value, c.low, c.high, flag, c.source])
    if not rows:
        return []
    return [
        "<h2>Against the published bands</h2>",
        _figure_html(figures.band_chart(analyses)),
        _table(["line", "figure", "unit", "value", "low", "high", "", "source"], rows),
    ]


def render_html(analyses: Sequence[LineAnalysis], title: str = "linesim line comparison") -> str:
    """The whole report as one HTML document (plotly.js inline)."""
    import plotly.offline

    from linesim.report import figures
    from linesim.version import __version__

    fig = _figure_html
    simulated = [a.simulation for a in analyses if a.simulation and a.simulation.losses]
    names = [a.spec.name for a in analyses]
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="note">linesim {__version__}, {dt.date.today().isoformat()}. Basis of '
        "output and yield per line: "
        + "; ".join(
            f"<b>{html.escape(a.spec.name)}</b>: {html.escape(a.basis.source)}" for a in analyses
        )
        + ".</p>",
        "<h2>Side by side</h2>",
        _table(
            ["", "unit"] + names,
            [[label, unit] + values for label, unit, values in comparison_rows(analyses)]
            + [["bottleneck", ""] + [a.bottleneck for a in analyses]],
        ),
        "<h2>Cost per good kWh</h2>",
        fig(figures.cost_breakdown(analyses)),
        *_bands_html(analyses),
        "<h2>Yield waterfall</h2>",
        *[fig(figures.yield_waterfall(a)) for a in analyses],
        *(["<h2>OEE loss tree (simulated)</h2>"] if simulated else []),
        *[loss_tree_html(s) for s in simulated],
        "<h2>Ramp-up</h2>",
        fig(figures.ramp_up_curves(analyses)),
        "<h2>Sensitivity</h2>",
        *[fig(figures.tornado_chart(a)) for a in analyses],
        "<h2>Inputs behind the cost</h2>",
    ]
    for a in analyses:
        parts.append(f"<h3>{html.escape(a.spec.name)}: materials (dated prices)</h3>")
        parts.append(
            _table(
                [
                    "material",
                    "per kWh",
                    "unit",
                    "price",
                    "currency",
                    "price date",
                    "utilisation",
                    "enters at",
                    "USD per good kWh",
                    "source",
                ],
                [
                    [
                        m.name,
                        m.quantity_per_kwh,
                        m.unit,
                        m.price_per_unit,
                        m.currency,
                        m.price_date,
                        m.utilisation,
                        m.enters_at,
                        m.usd_per_kwh_good,
                        m.source,
                    ]
                    for m in a.cost.materials
                ],
            )
        )
        parts.append(f"<h3>{html.escape(a.spec.name)}: cost of scrap by step</h3>")
        parts.append(
            _table(
                ["made at", "detected at", "cells/yr", "value per cell [USD]", "USD/yr"],
                [
                    [s.id, s.detected_at, s.cells_per_year, s.value_usd_per_cell, s.usd_per_year]
                    for s in a.cost.scrap_by_step
                ],
            )
        )
    parts.append(
        '<p class="note">Scrap value is the materials and direct conversion cost '
        "(depreciation, operators, machine energy) added up to the detection point; "
        "its conversion part is already inside the fixed-cost categories.</p>"
    )
    body = "\n".join(parts)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>"
        f"<script>{plotly.offline.get_plotlyjs()}</script></head>\n<body>\n{body}\n"
        "</body></html>\n"
    )


def write_html(
    analyses: Sequence[LineAnalysis],
    path: str | os.PathLike,
    title: str = "linesim line comparison",
) -> None:
    """Render and write the report whole or not at all."""
    atomic_write_text(path, render_html(analyses, title))
