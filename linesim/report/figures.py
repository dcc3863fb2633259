"""Plotly figures of line analyses and runs: cost breakdown, yield waterfall, ramp-up, tornado,
station states, work in process and the OEE loss tree.

Each function takes :class:`~linesim.economics.analysis.LineAnalysis` objects or a run's
results (:mod:`linesim.summary`) and returns a ``plotly.graph_objects.Figure``; nothing here
computes a model quantity.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from linesim.economics.analysis import LineAnalysis
from linesim.kpis import LOSS_GROUPS
from linesim.summary import Estimate, LossTree, RunSummary

__all__ = [
    "band_chart",
    "cost_breakdown",
    "yield_waterfall",
    "ramp_up_curves",
    "tornado_chart",
    "station_states",
    "wip_over_time",
    "loss_waterfall",
]

CATEGORIES = ("materials", "scrap", "depreciation", "overheads", "labour", "energy")
_LAYOUT = dict(template="plotly_white", font=dict(size=13), margin=dict(l=60, r=30, t=60, b=60))


def _text(user_text: str) -> str:
    """A user's text (a line's name) as plotly shows it literally: plotly renders a subset of
    HTML in titles, trace names and categories (links, ``<b>``, ``<br>``), so ``<``, ``>`` and
    ``&`` become entities."""
    return html.escape(user_text, quote=False)


def _distinct(labels: Sequence[str]) -> list[str]:
    """``labels`` with a repeated one numbered (``line``, ``line (2)``): plotly stacks the
    bars of equal categories into one, so lines that share a name need labels of their own."""
    out: list[str] = []
    for label in labels:
        unique, k = label, 1
        while unique in out:
            k += 1
            unique = f"{label} ({k})"
        out.append(unique)
    return out


def cost_breakdown(
    analyses: Sequence[LineAnalysis], labels: Sequence[str] | None = None
) -> go.Figure:
    """Stacked bars of cost per good kWh by category, one bar per line [USD/kWh], labelled by
    ``labels`` (the lines' names by default; repeated ones numbered, see :func:`_distinct`)."""
    names = _distinct([_text(x) for x in labels or [a.spec.name for a in analyses]])
    fig = go.Figure()
    for category in CATEGORIES:
        fig.add_bar(
            name=category,
            x=names,
            y=[a.cost.usd_per_kwh[category] for a in analyses],
            hovertemplate="%{x}<br>" + category + ": %{y:.1f} USD/kWh<extra></extra>",
        )
    for a, name in zip(analyses, names):
        fig.add_annotation(
            x=name,
            y=a.cost.total_usd_per_kwh,
            yshift=12,
            showarrow=False,
            text=f"{a.cost.total_usd_per_kwh:.0f} USD/kWh = {a.cost.cny_per_wh:.2f} CNY/Wh",
        )
    fig.update_layout(
        barmode="stack",
        title="Cost per good kWh by category",
        yaxis_title="USD per good kWh",
        **_LAYOUT,
    )
    return fig


def band_chart(analyses: Sequence[LineAnalysis]) -> go.Figure:
    """Each banded figure of each line as a bar, its published band drawn beside it as a range
    (``cost.bands`` of the line's config); a bar outside its band is red."""
    from linesim.economics.bands import BAND_FIGURES, band_checks

    checks = [
        {c.name: c for c in band_checks(a.cost, a.spec.cost.bands if a.spec.cost else None)}
        for a in analyses
    ]
    shown = [n for n in BAND_FIGURES if any(n in c for c in checks)]
    fig = make_subplots(
        rows=1,
        cols=max(len(shown), 1),
        subplot_titles=[
            f"{BAND_FIGURES[n][0]} [{BAND_FIGURES[n][1]}]"
            if BAND_FIGURES[n][1]
            else BAND_FIGURES[n][0]
            for n in shown
        ],
    )
    names = [_text(a.spec.name) for a in analyses]
    for col, n in enumerate(shown, start=1):
        values, colors, mids, halves, text = [], [], [], [], []
        for line in checks:
            c = line.get(n)
            values.append(c.value if c else None)
            colors.append("#2a9d8f" if c is None or c.inside else "#d62828")
            mids.append((c.low + c.high) / 2 if c else None)
            halves.append((c.high - c.low) / 2 if c else None)
            text.append(_text(c.source) if c else "")
        fig.add_bar(
            x=names,
            y=values,
            marker_color=colors,
            showlegend=False,
            row=1,
            col=col,
            hovertemplate="%{x}: %{y:.3g}<extra></extra>",
        )
        fig.add_scatter(
            x=names,
            y=mids,
            mode="markers",
            marker=dict(size=1, color="#333"),
            error_y=dict(type="data", array=halves, visible=True, width=14, color="#333"),
            text=text,
            hovertemplate="published band %{x}<br>%{text}<extra></extra>",
            showlegend=False,
            row=1,
            col=col,
        )
    fig.update_layout(title="Against the published bands (black: band; red: outside)", **_LAYOUT)
    return fig


def yield_waterfall(analysis: LineAnalysis) -> go.Figure:
    """Waterfall from 1,000 cells started to good cells, one step per station."""
    steps = analysis.waterfall
    good = 1000.0 * steps[-1].cumulative_yield if steps else 1000.0
    fig = go.Figure(
        go.Waterfall(
            x=["started"] + [s.id for s in steps] + ["good"],
            y=[1000.0] + [-s.lost_per_1000 for s in steps] + [good],
            measure=["absolute"] + ["relative"] * len(steps) + ["total"],
            text=[""] + [f"−{s.lost_per_1000:.1f}" for s in steps] + [f"{good:.0f}"],
            customdata=[""]
            + [
                f"detected at {s.detected_at}; value lost "
                f"{s.value_added_usd_per_cell or 0:.1f} USD/cell"
                for s in steps
            ]
            + [""],
            hovertemplate="%{x}: %{y:.1f} cells<br>%{customdata}<extra></extra>",
        )
    )
    lowest = max(0.0, good - 0.2 * (1000.0 - good) - 20.0)
    fig.update_layout(
        title=f"{_text(analysis.spec.name)}: yield waterfall per 1,000 cells started "
        f"(Y = {steps[-1].cumulative_yield:.3f})"
        if steps
        else "",
        yaxis=dict(title="cells", range=[lowest, 1005.0]),
        **_LAYOUT,
    )
    return fig


def ramp_up_curves(analyses: Sequence[LineAnalysis]) -> go.Figure:
    """Yield and OEE by month, and cost per good Wh by quarter, for each line with a ramp."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("yield (solid) and OEE (dotted) by month", "cost per good Wh by quarter"),
    )
    for k, (a, ramp) in enumerate((a, a.ramp) for a in analyses if a.ramp is not None):
        color = _color(k)
        months = [m.month for m in ramp.months]
        fig.add_scatter(
            x=months,
            y=[m.line_yield for m in ramp.months],
            name=f"{_text(a.spec.name)} yield",
            line=dict(color=color),
            row=1,
            col=1,
        )
        fig.add_scatter(
            x=months,
            y=[m.oee for m in ramp.months],
            name=f"{_text(a.spec.name)} OEE",
            line=dict(color=color, dash="dot"),
            row=1,
            col=1,
        )
        quarters = [q.quarter for q in ramp.quarters]
        fig.add_scatter(
            x=quarters,
            y=[q.cny_per_wh for q in ramp.quarters],
            name=f"{_text(a.spec.name)} ramp-up",
            line=dict(color=color),
            mode="lines+markers",
            row=1,
            col=2,
        )
        fig.add_scatter(
            x=quarters,
            y=[q.cny_per_wh_with_learning for q in ramp.quarters],
            name=f"{_text(a.spec.name)} with learning",
            line=dict(color=color, dash="dash"),
            mode="lines+markers",
            row=1,
            col=2,
        )
    fig.update_xaxes(title_text="month of production", row=1, col=1)
    fig.update_xaxes(title_text="quarter of production", row=1, col=2)
    fig.update_yaxes(title_text="fraction", range=[0, 1], row=1, col=1)
    fig.update_yaxes(title_text="CNY per good Wh", rangemode="tozero", row=1, col=2)
    fig.update_layout(title="Ramp-up", **_LAYOUT)
    return fig


def tornado_chart(analysis: LineAnalysis, bars: int = 12) -> go.Figure:
    """Change of cost per good kWh with each parameter at −f and +f, widest first."""
    base = analysis.cost.total_usd_per_kwh
    top = list(analysis.tornado[:bars])[::-1]
    if not top:
        return go.Figure()
    f = top[0].fraction
    labels = [b.parameter for b in top]
    fig = go.Figure()
    fig.add_bar(
        y=labels,
        x=[b.usd_per_kwh_low - base for b in top],
        orientation="h",
        name=f"parameter −{f:.0%}",
        marker_color="#4c78a8",
        customdata=[b.output_gwh_low for b in top],
        hovertemplate="%{y}: %{x:+.1f} USD/kWh, output %{customdata:.3f} GWh/yr<extra></extra>",
    )
    fig.add_bar(
        y=labels,
        x=[b.usd_per_kwh_high - base for b in top],
        orientation="h",
        name=f"parameter +{f:.0%}",
        marker_color="#e45756",
        customdata=[b.output_gwh_high for b in top],
        hovertemplate="%{y}: %{x:+.1f} USD/kWh, output %{customdata:.3f} GWh/yr<extra></extra>",
    )
    fig.update_layout(
        barmode="overlay",
        title=f"{_text(analysis.spec.name)}: sensitivity of cost per good kWh "
        f"(base {base:.1f} USD/kWh)",
        xaxis_title="change in USD per good kWh",
        height=120 + 28 * len(top),
        **_LAYOUT,
    )
    return fig


STATE_COLOURS = {"busy": "#2a9d8f", "down": "#e76f51", "blocked": "#f4a261", "starved": "#8d99ae"}


def station_states(report: RunSummary) -> go.Figure:
    """Stacked shares of machine time per station (busy, down, blocked, starved) from a run
    summary (:func:`linesim.summary.summarise`), the simulated bottleneck marked."""
    fig = go.Figure()
    ids = [s.id for s in report.stations]
    for state, colour in STATE_COLOURS.items():
        key = "utilisation" if state == "busy" else state
        fig.add_bar(
            x=ids,
            y=[getattr(s, key).mean for s in report.stations],
            name=state,
            marker_color=colour,
        )
    fig.update_layout(
        barmode="stack",
        yaxis_title="share of machine time [-]",
        xaxis_title="station",
        title="Station states (bottleneck marked ▼)",
        height=420,
    )
    fig.add_annotation(x=report.bottleneck, y=1.04, text="▼ bottleneck", showarrow=False)
    return fig


def wip_over_time(samples: Sequence[tuple[float, int]]) -> go.Figure:
    """Cells in process against time [h] (one replication's samples)."""
    fig = go.Figure(
        go.Scatter(x=[t / 3600.0 for t, _ in samples], y=[w for _, w in samples], mode="lines")
    )
    fig.update_layout(
        title="Cells in process over time (replication 0, warm-up included)",
        xaxis_title="time [h]",
        yaxis_title="WIP [cells]",
        height=320,
    )
    return fig


#: The loss tree's groups (:data:`linesim.kpis.LOSS_GROUPS`): label under the bars, colour.
#: Planned downtime lies outside OEE; the others are its factors.
LOSS_GROUP_STYLE = {
    "planned": ("planned downtime", "#8d99ae"),
    "availability": ("availability", "#e76f51"),
    "performance": ("performance", "#f4a261"),
    "quality": ("quality", "#b279a2"),
}
_TOTAL_COLOUR = "#2a9d8f"


def loss_waterfall(tree: LossTree, title: str) -> go.Figure:
    """Waterfall of a loss tree (:class:`linesim.summary.LossTree`) in hours: calendar time,
    each non-zero loss (means over the replications) coloured and labelled by the OEE factor
    it lowers, good output. Calendar time − Σ losses = good output; hovering a bar shows it in
    cells at the ideal rate and as a share of calendar time; the title gives OEE = A × P × Q.

    One waterfall trace per group (so each has its colour and legend entry), each starting
    where the one before it ended; ``_`` in a loss's name breaks its label in two.
    """
    total = tree.calendar_h
    good = tree.good_h.mean

    def bars(
        group: str, labels: list[str], hours: list[float], colour: str, base: float | None = None
    ) -> go.Waterfall:
        """Absolute bars (the totals) without a base, relative bars (losses) from ``base``."""
        loss = base is not None
        hover = [
            f"{n.replace('<br>', ' ')}{f' ({group})' if loss else ''}: "
            + f"{h:,.2f} h = {h * tree.ideal_cells_per_h:,.0f} cells".replace("-", "−")
            + " at the ideal rate<br>"
            + (f"{abs(h) / total:.1%} of calendar time" if total > 0 else "")
            for n, h in zip(labels, hours)
        ]
        return go.Waterfall(
            name=group,
            showlegend=loss,  # the two totals need no legend entry
            x=[[group] * len(labels), labels],
            y=hours,
            base=base or 0.0,
            measure=["relative" if loss else "absolute"] * len(labels),
            text=[f"{h:+,.2f} h".replace("-", "−") if loss else f"{h:,.1f} h" for h in hours],
            hovertext=hover,
            hovertemplate="%{hovertext}<extra></extra>",
            increasing=dict(marker=dict(color=colour)),
            decreasing=dict(marker=dict(color=colour)),
            totals=dict(marker=dict(color=colour)),
        )

    fig = go.Figure(bars("calendar", ["calendar<br>time"], [total], _TOTAL_COLOUR))
    levels = [total]
    for group, (label, colour) in LOSS_GROUP_STYLE.items():
        losses = {
            k: e.mean for k, e in tree.hours.items() if LOSS_GROUPS[k] == group and e.mean != 0.0
        }
        if losses:
            names = [k.replace("_", "<br>") for k in losses]
            fig.add_trace(bars(label, names, [-h for h in losses.values()], colour, levels[-1]))
            for h in losses.values():
                levels.append(levels[-1] - h)
    fig.add_trace(bars("OEE", ["good<br>output"], [good], _TOTAL_COLOUR))
    lowest, top = min(levels + [good]), max(levels + [good])
    fig.update_layout(
        title=dict(
            text=f"{_text(title)}<br><sup>OEE {_fmt(tree.oee)} = availability "
            f"{_fmt(tree.availability)} × performance {_fmt(tree.performance)} × quality "
            f"{_fmt(tree.quality)} (means over replications); planned production "
            f"{tree.planned_production_h.mean:,.1f} h of {total:,.1f} h</sup>"
        ),
        yaxis=dict(
            title="hours",
            range=[max(0.0, lowest - 0.25 * (top - lowest) - 0.02 * top), 1.02 * top],
        ),
        xaxis=dict(tickangle=0),
        legend=dict(title="losses of", orientation="h", x=0.0, y=-0.22, yanchor="top"),
        waterfallmode="overlay",
        **_LAYOUT,
    )
    fig.update_layout(margin_t=90, margin_b=110)  # the OEE line under the title, the legend
    return fig


def _fmt(e: Estimate) -> str:
    return "–" if math.isnan(e.mean) else f"{e.mean:.3f}"


def _color(k: int) -> str:
    palette = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2")
    return palette[k % len(palette)]
