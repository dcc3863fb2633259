"""An uncertainty study as text (the CLI), figures and an HTML page."""

from __future__ import annotations

import html
import os

from linesim.report.files import atomic_write_text
from linesim.report.tables import fmt, number, text_table
from linesim.uncertainty import UncertaintyReport

__all__ = [
    "format_uncertainty",
    "uncertainty_figures",
    "render_uncertainty_html",
    "write_uncertainty_html",
]


def format_uncertainty(report: UncertaintyReport) -> str:
    """The study in a few tables: inputs, KPI quantiles, target probabilities, variance split,
    tornado and Sobol indices."""
    out = [
        f"{report.line}: {report.samples} samples ({report.method} design, seed {report.seed}) "
        f"of {len(report.inputs)} uncertain inputs; model: {report.model}",
        "",
        text_table(
            ["input", "distribution", "nominal", "from", "to"],
            [
                [i.name, i.dist.dist, i.dist.nominal, i.support[0], i.support[1]]
                for i in report.inputs
            ],
            "llrrr",
        ),
        "",
        text_table(
            ["KPI", "unit", "P10", "P50", "P90", "mean", "nominal (static)"],
            [
                [s.label, s.unit, s.p10, s.p50, s.p90, s.mean, s.nominal]
                for s in report.summaries.values()
            ],
            "llrrrrr",
        ),
    ]
    out += [f"  warning: {w}" for w in report.warnings]
    if report.probabilities:
        out += [
            "",
            text_table(
                ["target", "P(meet)", "95 % CI", "samples"],
                [
                    [
                        p.condition,
                        number(p.probability, ".3f"),
                        f"{p.ci95[0]:.3f}–{p.ci95[1]:.3f}",
                        f"{p.hits} of {p.samples}",
                    ]
                    for p in report.probabilities
                ],
                "lrrr",
            ),
        ]
    split = [(s.label, s.variance) for s in report.summaries.values() if s.variance]
    if split:
        out += [
            "",
            "variance of one replication's KPI (law of total variance):",
            text_table(
                ["KPI", "from inputs", "simulation noise"],
                [[k, v["input_share"], v["noise_share"]] for k, v in split],
            ),
        ]
    if report.tornado:
        out += ["", "tornado (static model, one input at its P10 and P90, the others nominal):"]
        out.append(
            text_table(
                ["input", "KPI", "at P10", "at P90", "swing"],
                [
                    [b["input"], b["kpi"], b["at_p10"], b["at_p90"], b["swing"]]
                    for b in report.tornado
                ],
                "llrrr",
            )
        )
    if report.sensitivity:
        sens = report.sensitivity
        out += [
            "",
            f"Sobol indices ({sens['model']}, Saltelli design of {sens['base_samples']} × "
            f"{len(report.inputs) + 2} = {sens['evaluations']} evaluations; ± 95 % CI):",
        ]
        for kpi, rows in sens["indices"].items():
            out.append(
                text_table(
                    [kpi, "first order", "total"],
                    [
                        [
                            r["input"],
                            f"{fmt(r['S1'])} ± {fmt(r['S1_conf'])}",
                            f"{fmt(r['ST'])} ± {fmt(r['ST_conf'])}",
                        ]
                        for r in rows
                    ],
                    "lrr",
                )
            )
    if report.record_id:
        out += ["", f"recorded in the results store as {report.record_id}"]
    return "\n".join(out)


def uncertainty_figures(report: UncertaintyReport) -> list:
    """Plotly figures: each KPI's histogram and ECDF with P10/P50/P90 and its target, the Sobol
    indices, and the two strongest inputs against cost (or output)."""
    import numpy as np
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    figures = []
    targets = {
        "output_gwh_per_year": report.targets.gwh,
        "cost_cny_per_wh": report.targets.cny_per_wh,
    }
    for name, s in report.summaries.items():
        values = report.sample_means(name)
        if float(np.ptp(values)) == 0.0:
            continue
        fig = make_subplots(rows=1, cols=2, subplot_titles=("histogram", "ECDF"))
        fig.add_trace(go.Histogram(x=values, nbinsx=40, name="samples"), row=1, col=1)
        xs = np.sort(values)
        fig.add_trace(
            go.Scatter(x=xs, y=np.arange(1, xs.size + 1) / xs.size, mode="lines", name="ECDF"),
            row=1,
            col=2,
        )
        marks = [("P10", s.p10, "grey"), ("P50", s.p50, "black"), ("P90", s.p90, "grey")]
        if targets.get(name) is not None:
            marks.append(("target", float(targets[name]), "red"))  # type: ignore[arg-type]
        for label, x, colour in marks:
            for col in (1, 2):
                fig.add_vline(x=x, line_dash="dash", line_color=colour, row=1, col=col)
            fig.add_annotation(x=x, y=1.02, yref="paper", text=label, showarrow=False)
        unit = f" [{s.unit}]" if s.unit else ""
        fig.update_layout(title=f"{s.label}{unit}", showlegend=False, height=360)
        figures.append(fig)
    sens = report.sensitivity
    if sens:
        for kpi, rows in sens["indices"].items():
            names = [r["input"] for r in rows]
            fig = go.Figure()
            for key, label in (("S1", "first order"), ("ST", "total")):
                fig.add_trace(
                    go.Bar(
                        x=names,
                        y=[r[key] for r in rows],
                        error_y={"type": "data", "array": [r[f"{key}_conf"] for r in rows]},
                        name=label,
                    )
                )
            fig.update_layout(title=f"Sobol indices of {kpi}", barmode="group", height=380)
            figures.append(fig)
    kpi = "cost_cny_per_wh" if "cost_cny_per_wh" in report.summaries else "output_gwh_per_year"
    strongest = _strongest(report, kpi)
    if strongest:
        y = report.sample_means(kpi)
        fig = make_subplots(rows=1, cols=len(strongest), shared_yaxes=True)
        for col, k in enumerate(strongest, start=1):
            fig.add_trace(
                go.Scatter(x=report.values[:, k], y=y, mode="markers", marker={"size": 4}),
                row=1,
                col=col,
            )
            fig.update_xaxes(title_text=report.inputs[k].name, row=1, col=col)
        fig.update_layout(title=f"{kpi} against the strongest inputs", showlegend=False, height=380)
        figures.append(fig)
    return figures


def _strongest(report: UncertaintyReport, kpi: str, count: int = 2) -> list[int]:
    """Indices of the inputs with the largest total Sobol index of ``kpi`` (else the largest
    tornado swing)."""
    names = [i.name for i in report.inputs]
    score = dict.fromkeys(names, 0.0)
    if report.sensitivity and kpi in report.sensitivity["indices"]:
        for r in report.sensitivity["indices"][kpi]:
            score[r["input"]] = r["ST"]
    else:
        for b in report.tornado:
            if b["kpi"] == kpi:
                score[b["input"]] = abs(b["swing"])
    ranked = sorted(names, key=lambda n: -score[n])
    return [names.index(n) for n in ranked[:count] if score[n] > 0]


def render_uncertainty_html(report: UncertaintyReport) -> str:
    """A self-contained HTML page of the study (plotly.js inline: no network needed)."""
    import plotly.offline

    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(report.line)}: uncertainty</title>",
        f"<script>{plotly.offline.get_plotlyjs()}</script>",
        "<style>body{font-family:sans-serif;margin:2em}pre{font-size:13px}</style>",
        "</head><body>",
        f"<h1>{html.escape(report.line)}: answers with their uncertainty</h1>",
        f"<pre>{html.escape(format_uncertainty(report))}</pre>",
    ]
    parts += [
        f.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})
        for f in uncertainty_figures(report)
    ]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_uncertainty_html(report: UncertaintyReport, path: str | os.PathLike) -> None:
    """Write :func:`render_uncertainty_html` to ``path`` atomically."""
    atomic_write_text(path, render_uncertainty_html(report))
