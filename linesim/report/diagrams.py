"""Pictures of a line rather than charts of numbers: the line diagram, the machine-state
timeline (a Gantt chart of one replication) and the yield Sankey (cells started to good cells,
scrap by station and cause, analytic and simulated).

Each function takes a spec, a model's output or a run's records and returns a
``plotly.graph_objects.Figure``; the flows a Sankey draws are plain functions of the records
(:func:`analytic_yield_flows`, :func:`simulated_yield_flows`) so that they can be checked for
conservation; nothing here computes a model quantity.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from linesim.report.figures import _LAYOUT, _text
from linesim.simulation.records import SimResult
from linesim.simulation.trace import STATES, StateTrace
from linesim.spec import LineSpec
from linesim.yield_model import WaterfallStep

__all__ = [
    "STATE_COLOURS",
    "line_diagram",
    "machine_timeline",
    "analytic_yield_flows",
    "simulated_yield_flows",
    "yield_sankey",
]

#: Colours of the machine states (:data:`linesim.simulation.trace.STATES`) in the timeline.
STATE_COLOURS = {
    "busy": "#2a9d8f",
    "down": "#e76f51",
    "blocked": "#f4a261",
    "starved": "#8d99ae",
    "setup": "#9b5de5",
    "minor_stop": "#e9c46a",
    "maintenance": "#577590",
    "rework": "#b279a2",
    "off_shift": "#d9d9d9",
}
#: Utilisation colour scale: idle (green) to saturated (red).
UTILISATION_SCALE: list[tuple[float, str]] = [
    (0.0, "#2a9d8f"),
    (0.6, "#e9c46a"),
    (0.85, "#f4a261"),
    (1.0, "#e63946"),
]
_BOX_W, _GAP = 1.0, 0.7  #: station box width and the buffer gap after it [axis units]


def _utilisation_colour(u: float) -> str:
    """The colour of utilisation ``u`` [-] on :data:`UTILISATION_SCALE` (clipped to [0, 1])."""
    u = min(max(u, 0.0), 1.0)
    for (a, ca), (b, cb) in zip(UTILISATION_SCALE, UTILISATION_SCALE[1:]):
        if u <= b:
            f = (u - a) / (b - a) if b > a else 0.0
            rgb = [
                round(int(ca[k : k + 2], 16) * (1 - f) + int(cb[k : k + 2], 16) * f)
                for k in (1, 3, 5)
            ]
            return "#" + "".join(f"{c:02x}" for c in rgb)
    return UTILISATION_SCALE[-1][1]


def line_diagram(
    spec: LineSpec,
    utilisation: Mapping[str, float],
    bottleneck: str,
    basis: str,
) -> go.Figure:
    """The line as boxes in flow order: each station with its machine count, coloured by its
    utilisation, the bottleneck marked (▼ and a thick frame), the buffer after it (cells),
    dry-room stations framed by a dashed outline, and hovering a box gives its figures.

    Parameters
    ----------
    spec : LineSpec
    utilisation : mapping
        Station id → utilisation [-] (busy share of its machine time) on ``basis``.
    bottleneck : str
        The station to mark.
    basis : str
        What the utilisation is (shown in the title), e.g. "static, at the target output".
    """
    fig = go.Figure()
    step = _BOX_W + _GAP
    xs, hover, colours = [], [], []
    for k, s in enumerate(spec.stations):
        x0 = k * step
        u = utilisation.get(s.id, float("nan"))
        colour = _utilisation_colour(u) if u == u else "#cccccc"
        neck = s.id == bottleneck
        fig.add_shape(
            type="rect",
            x0=x0,
            x1=x0 + _BOX_W,
            y0=0.0,
            y1=1.0,
            fillcolor=colour,
            line=dict(color="#111111" if neck else "#555555", width=4 if neck else 1),
            layer="below",
        )
        fig.add_annotation(
            x=x0 + _BOX_W / 2,
            y=0.5,
            text=f"<b>×{s.machine_count}</b><br>{u:.0%}"
            if u == u
            else f"<b>×{s.machine_count}</b>",
            showarrow=False,
            font=dict(size=13, color="#111111"),
        )
        fig.add_annotation(
            x=x0 + _BOX_W / 2,
            y=-0.08,
            text=_text(s.id),
            showarrow=False,
            textangle=-35,
            xanchor="right",
            yanchor="top",
            font=dict(size=11),
        )
        if neck:
            fig.add_annotation(
                x=x0 + _BOX_W / 2, y=1.08, text="▼ bottleneck", showarrow=False, yanchor="bottom"
            )
        xs.append(x0 + _BOX_W / 2)
        colours.append(colour)
        hover.append(
            f"<b>{_text(s.id)}</b> ({s.kind}{', dry room' if s.dry_room else ''})<br>"
            f"machines: {s.machine_count:,}<br>utilisation: "
            + (f"{u:.1%}" if u == u else "–")
            + f" ({_text(basis)})"
            + (f"<br>buffer after: {s.buffer_after:,} cells" if k < len(spec.stations) - 1 else "")
            + (f"<br>source: {_text(s.source[:120])}" if s.source else "")
        )
        if k < len(spec.stations) - 1:  # the buffer after it
            fig.add_shape(
                type="rect",
                x0=x0 + _BOX_W + 0.2,
                x1=x0 + step - 0.2,
                y0=0.38,
                y1=0.62,
                fillcolor="#ffffff",
                line=dict(color="#555555", width=1),
            )
            fig.add_annotation(
                x=x0 + _BOX_W + _GAP / 2,
                y=0.7,
                text=f"{s.buffer_after:,}",
                showarrow=False,
                yanchor="bottom",
                font=dict(size=10),
            )
    # dry-room stations: a dashed frame around each run of them
    k = 0
    n = len(spec.stations)
    while k < n:
        if spec.stations[k].dry_room:
            j = k
            while j + 1 < n and spec.stations[j + 1].dry_room:
                j += 1
            fig.add_shape(
                type="rect",
                x0=k * step - 0.15,
                x1=j * step + _BOX_W + 0.15,
                y0=-0.06,
                y1=1.3,
                line=dict(color="#1d3557", width=2, dash="dash"),
                fillcolor="rgba(0,0,0,0)",
            )
            fig.add_annotation(
                x=k * step - 0.1,
                y=1.28,
                text="dry room",
                showarrow=False,
                xanchor="left",
                yanchor="top",
                font=dict(size=10, color="#1d3557"),
            )
            k = j + 1
        else:
            k += 1
    # hover points and the colour bar (a marker trace carries both)
    fig.add_scatter(
        x=xs,
        y=[0.5] * len(xs),
        mode="markers",
        marker=dict(
            size=28,
            opacity=0.0,
            color=[utilisation.get(s.id, 0.0) for s in spec.stations],
            colorscale=UTILISATION_SCALE,
            cmin=0.0,
            cmax=1.0,
            colorbar=dict(title="utilisation", tickformat=".0%", len=0.8, thickness=12),
            showscale=True,
        ),
        hovertext=hover,
        hovertemplate="%{hovertext}<extra></extra>",
        showlegend=False,
        name="stations",
    )
    fig.update_layout(
        title=dict(text=f"{_text(spec.name)}: stations, machines and buffers ({_text(basis)})"),
        xaxis=dict(visible=False, range=[-1.6, (n - 1) * step + _BOX_W + 0.4]),
        yaxis=dict(visible=False, range=[-1.0, 1.45]),
        height=330,
        **{**_LAYOUT, "margin": dict(l=20, r=20, t=60, b=10)},
    )
    return fig


def machine_timeline(trace: StateTrace, per_station: int = 4) -> go.Figure:
    """A Gantt chart of machine states in the trace's window: a row per machine (at most
    ``per_station`` of each station, the first in equipment order), time in hours from the
    start of the replication, one colour per state (:data:`STATE_COLOURS`)."""
    rows: dict[str, list[tuple[str, tuple[float, float, str]]]] = defaultdict(list)
    order: list[str] = []
    counts: dict[str, int] = defaultdict(int)
    hidden = 0
    for m in trace.machines:
        counts[m.station] += 1
        if m.machine >= per_station:
            hidden += 1
            continue
        label = f"{_text(m.station)} #{m.machine + 1}"
        order.append(label)
        for iv in m.intervals:
            rows[iv[2]].append((label, iv))
    fig = go.Figure()
    for state in STATES:
        bars = rows.get(state)
        if not bars:
            continue
        fig.add_bar(
            orientation="h",
            y=[label for label, _ in bars],
            base=[a / 3600.0 for _, (a, _, _) in bars],
            x=[(b - a) / 3600.0 for _, (a, b, _) in bars],
            name=state.replace("_", " "),
            marker=dict(color=STATE_COLOURS[state], line=dict(width=0)),
            hovertemplate=(
                f"{state.replace('_', ' ')}: %{{base:,.3f}} h + %{{x:,.4f}} h<br>%{{y}}"
                "<extra></extra>"
            ),
        )
    more = f"; {hidden:,} more machines not shown" if hidden else ""
    fig.update_layout(
        barmode="overlay",
        bargap=0.15,
        title=dict(
            text=f"Machine states, {trace.start_s / 3600.0:,.2f} h to "
            f"{trace.end_s / 3600.0:,.2f} h "
            f"of replication {trace.result.replication}<br><sup>at most {per_station} machines "
            f"per station{more}</sup>"
        ),
        xaxis=dict(
            title="time since the start of the replication [h]",
            range=[trace.start_s / 3600.0, trace.end_s / 3600.0],
        ),
        yaxis=dict(categoryorder="array", categoryarray=order[::-1], title=None),
        legend=dict(orientation="h", x=0.0, y=-0.12, yanchor="top", title="state"),
        height=max(320, 120 + 18 * len(order)),
        **{**_LAYOUT, "margin": dict(l=160, r=20, t=80, b=90)},
    )
    return fig


Flow = tuple[str, str, float]  #: (from node, to node, cells)


def analytic_yield_flows(steps: Sequence[WaterfallStep]) -> list[Flow]:
    """The yield model's flows per 1,000 cells started
    (:func:`linesim.yield_model.yield_waterfall`): started → good (1,000 · ∏(1 − p)),
    started → a defect first made at each station → scrapped where it is detected."""
    good = 1000.0 * steps[-1].cumulative_yield if steps else 1000.0
    flows: list[Flow] = [("cells started", "good cells", good)]
    for w in steps:
        if w.lost_per_1000 > 0.0:
            made = f"made defective at {w.id}"
            flows.append(("cells started", made, w.lost_per_1000))
            flows.append((made, f"scrapped at {w.detected_at}", w.lost_per_1000))
    return flows


def simulated_yield_flows(results: Sequence[SimResult]) -> list[Flow]:
    """The flows of simulated cells per 1,000 that entered, summed over replications: cells in
    (started in the window and those already in the line at its start) → good cells, scrap at
    each station by cause (defects found there, start-up scrap after changeovers), escapes
    shipped defective, and cells still in the line at the end. They add up exactly
    (conservation: in = good + scrapped + shipped defective + in process at the end)."""
    entered = sum(r.started + r.in_process_at_start for r in results)
    if entered == 0:
        return []
    per = 1000.0 / entered
    source = "cells in"
    flows: list[Flow] = [
        (source, "good cells", per * sum(r.good for r in results)),
        (source, "shipped defective", per * sum(r.shipped_defective for r in results)),
        (source, "in the line at the end", per * sum(r.in_process_at_end for r in results)),
    ]
    for k, s in enumerate(results[0].stations):
        startup = sum(r.stations[k].startup_scrap_cells for r in results)
        defects = sum(r.stations[k].scrapped_here for r in results) - startup
        if defects > 0:
            flows.append((source, "scrapped", per * defects))
            flows.append(("scrapped", f"scrapped at {s.id}: defects", per * defects))
        if startup > 0:
            flows.append((source, "scrapped", per * startup))
            flows.append(("scrapped", f"scrapped at {s.id}: start-up scrap", per * startup))
    return [f for f in flows if f[2] > 0.0]


def yield_sankey(flows: Sequence[Flow], title: str) -> go.Figure:
    """A Sankey diagram of ``flows`` (parallel flows between two nodes are added), values in
    cells per 1,000 with a thousands separator."""
    summed: dict[tuple[str, str], float] = defaultdict(float)
    for a, b, v in flows:
        summed[(a, b)] += v
    nodes: list[str] = []
    for a, b in summed:
        for name in (a, b):
            if name not in nodes:
                nodes.append(name)
    colour = {
        "good cells": "#2a9d8f",
        "shipped defective": "#e9c46a",
        "in the line at the end": "#8d99ae",
    }
    fig = go.Figure(
        go.Sankey(
            valueformat=",.1f",
            valuesuffix=" per 1,000",
            node=dict(
                label=[_text(n) for n in nodes],
                color=[
                    colour.get(n, "#4c78a8" if n.startswith(("cells", "made")) else "#e76f51")
                    for n in nodes
                ],
                pad=12,
                thickness=14,
            ),
            link=dict(
                source=[nodes.index(a) for a, _ in summed],
                target=[nodes.index(b) for _, b in summed],
                value=list(summed.values()),
            ),
        )
    )
    fig.update_layout(
        title=dict(text=_text(title)),
        height=max(420, 60 + 26 * len(nodes)),
        **{**_LAYOUT, "margin": dict(l=20, r=20, t=60, b=20)},
    )
    return fig
