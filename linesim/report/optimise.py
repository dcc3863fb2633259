"""A layout optimisation presented: the chosen layout and settings against the config's, the
predicted and simulated figures, dew points and the Pareto front."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from linesim.economics.bands import BAND_FIGURES, BandCheck
from linesim.optimise import OptimisationReport
from linesim.optimise.closure import Closure
from linesim.report.tables import number, text_table

__all__ = ["format_bands", "format_closure", "format_optimisation", "format_settings", "renamed"]


def renamed(text: str, names: Mapping[str, str] | None) -> str:
    """``text`` with each whole-word library name (a :class:`~linesim.optimise.Problem` field,
    a keyword, an objective) replaced as ``names`` says, e.g. ``target_gwh_per_year`` →
    ``--target-gwh`` for the command line."""
    if not names:
        return text
    pattern = r"\b(" + "|".join(re.escape(k) for k in sorted(names, key=len, reverse=True)) + r")\b"
    return re.sub(pattern, lambda m: names[m.group(1)], text)


def format_settings(config: dict, chosen: dict, layout: dict) -> str:
    """Process settings per station: the config's against the chosen ones."""
    rows = []
    for sid, values in config.items():
        for name, was in values.items():
            if sum(layout.get(sid, {1: 1}).values()) == 0:
                rows.append((sid, name, was, "(station left out)", ""))
                continue
            now = chosen.get(sid, {}).get(name, was)
            rows.append((sid, name, was, now, "" if now == was else f"{now - was:+g}"))
    return text_table(["station", "setting", "config", "chosen", "change"], rows, "llrrl")


def format_bands(checks: Sequence[BandCheck]) -> str:
    """Each figure against its band, one clause each, a figure outside flagged in capitals:
    ``capex per GWh/yr 0.549 bn CNY in [0.54, 1.67]``."""
    clauses = []
    for c in checks:
        label, unit = BAND_FIGURES[c.name]
        where = "in" if c.inside else ("BELOW" if c.value < c.low else "ABOVE")
        clauses.append(
            f"{label} {c.value:.4g}{' ' + unit if unit else ''} {where} [{c.low:g}, {c.high:g}]"
        )
    return "; ".join(clauses)


_FIGURES = [
    ("good output [GWh/yr]", "output_gwh_per_year", 1.0),
    ("line yield", "line_yield", 1.0),
    ("capex [M USD]", "capex_usd", 1e6),
    ("floor area, machines + buffers [m²]", "floor_area_m2", 1.0),
    ("dry-room area, machines + buffers [m²]", "dry_room_area_m2", 1.0),
    ("cost per good kWh [USD]", "cost_usd_per_kwh", 1.0),
    ("static bottleneck", "bottleneck", None),
]


def format_optimisation(report: OptimisationReport, names: Mapping[str, str] | None = None) -> str:
    """The chosen layout against the config's, predicted and simulated figures. ``names``:
    what to call the library's parameter names in texts such as the binding constraint (the
    CLI passes its flags, see :func:`renamed`)."""
    r = report.result
    lines = [
        (
            f"{report.spec.name}: {r.objective.replace('_', '-')} — status {r.status} "
            f"({r.wall_time_s:.2f} s)"
        )
    ]
    if r.limits and r.objective in ("max_output", "pareto"):  # no silent cap on the counts
        lines.append(f"machine counts: {renamed(r.limits, names)}")
    if r.gap is not None and r.status != "optimal":  # a stated gap, never an unproven claim
        lines.append(f"proven gap to the best possible: {r.gap:.3%}")
    if r.coverage:
        lines.append(f"front: {r.coverage}")
    if r.layout is None:
        if r.binding:
            lines.append(f"infeasible: {renamed(r.binding, names)}")
        return "\n".join(lines)
    rows = []
    for sid, counts in r.layout.items():
        before = report.config_layout.get(sid, {})
        if sum(counts.values()) == 0:
            rows.append((sid, "(station left out)", sum(before.values()), 0, "omitted"))
            continue
        for option, n in counts.items():
            was = before.get(option, 0)
            rows.append((sid, option, was, n, "" if n == was else f"{n - was:+d}"))
    lines += ["", text_table(["station", "option", "config", "chosen", "change"], rows, "llrrl")]
    if report.config_settings:
        lines += ["", format_settings(report.config_settings, r.settings or {}, r.layout)]

    def figure(figures, key: str, unit: float | None):
        value = getattr(figures, key)
        # (cost per kWh is None on a line without a cost block)
        return value / unit if unit is not None and value is not None else value

    columns = [report.config, r.predicted]
    untuned = report.untuned.predicted if report.untuned is not None else None
    if untuned is not None:
        columns.insert(1, untuned)
        config = "config" if report.dew_point_c is None else f"config at {report.dew_point_c:g} °C"
        head, align = ["static analysis", config, "layout only", "layout + settings"], "lrrr"
    else:
        chosen = "chosen"
        if report.closure is not None and report.closure.buffer_changes:
            chosen = "chosen, loop's buffers"  # the loop's answer: as its capex counts it
        head, align = ["static analysis", "config", chosen], "lrr"
    figures = [(label, *(figure(f, key, unit) for f in columns)) for label, key, unit in _FIGURES]
    lines += ["", text_table(head, figures, align)]
    if report.dew_points:
        lines += [
            "",
            f"dry-room dew point, chosen by simulated cost: {report.dew_point_c:g} °C",
            text_table(
                [
                    "dew point [°C]",
                    "capex [M USD]",
                    "simulated [GWh/yr]",
                    "simulated yield",
                    "exposure loss",
                    "cost [USD/kWh, simulated]",
                ],
                [
                    (
                        d.dew_point_c,
                        d.predicted.capex_usd / 1e6,
                        d.verified.simulated_gwh_per_year.mean,
                        d.verified.simulated_line_yield.mean,
                        d.verified.yield_attribution.exposure.mean,
                        d.verified.cost_usd_per_kwh,
                    )
                    for d in report.dew_points
                    if d.verified is not None and d.predicted is not None
                ],
            ),
        ]
    v = report.verified
    if v:
        sim = v.simulated_gwh_per_year
        half = sim.half_width or 0.0
        gaps = v.yield_attribution
        lines += [
            "",
            (
                f"simulated ({v.replications} replications of {v.horizon_h:g} h): "
                f"{number(sim.mean)} ± {number(half)} GWh/yr against "
                f"{number(v.surrogate_gwh_per_year)} predicted "
                f"({number(v.relative_gap, '+.1%')})"
            ),
            f"  {renamed(v.explanation, names)}",
            (
                f"  line yield: simulated {number(v.simulated_line_yield.mean, '.4f')} against "
                f"analytic {number(v.analytic_line_yield, '.4f')}; dry-room exposure "
                f"{number(gaps.exposure.mean, '+.4f')}, detection delay "
                f"{number(gaps.detection_delay.mean, '+.4f')}"
            ),
        ]
        if v.bands:
            lines.append(f"  published bands at the simulated output: {format_bands(v.bands)}")
    if report.closure is not None and report.closure.steps:
        lines += ["", *format_closure(report.closure, names)]
    if report.pareto:
        checks = [q.verified for q in report.pareto]
        simulated = any(c is not None for c in checks)
        head = ["#", "output [GWh/yr]", "line yield", "capex [M USD]"]
        points: list[tuple[object, ...]] = [
            (
                k + 1,
                q.predicted.output_gwh_per_year,
                q.predicted.line_yield,
                q.predicted.capex_usd / 1e6,
            )
            for k, q in enumerate(report.pareto)
        ]
        if simulated:
            head += ["simulated [GWh/yr]", "gap", "simulated yield"]
            points = [
                row
                + (
                    (
                        c.simulated_gwh_per_year.mean,
                        number(c.relative_gap, "+.1%", "–"),
                        c.simulated_line_yield.mean,
                    )
                    if c is not None
                    else ("–", "–", "–")
                )
                for row, c in zip(points, checks)
            ]
        every = all(c is not None for c in checks)
        lines += [
            "",
            "Pareto front (output ↑, yield ↑, capex ↓)"
            + (
                ", each point simulated:"
                if every
                else ", the points with figures simulated:"
                if simulated
                else ":"
            ),
            text_table(head, points),
        ]
    return "\n".join(lines)


def format_closure(c: Closure, names: Mapping[str, str] | None = None) -> list[str]:
    """The simulation loop: verdict, bound, answer, gap, and every layout it simulated
    (``names``: the library's parameter names → the caller's, see :func:`renamed`)."""
    a = c.answer
    assert a is not None
    cost = c.objective == "min_cost"
    unit, scale = ("M USD/yr", 1e6) if cost else ("M USD", 1e6)
    sim = a.simulated_gwh_per_year
    verdict = (
        f"MEETS the target {number(c.target_gwh_per_year)} GWh/yr in simulation"
        if c.meets
        else f"MISSES the target {number(c.target_gwh_per_year)} GWh/yr in simulation: "
        + renamed(c.reason or "", names)
    )
    what = "annual cost" if cost else "capex"
    lines = [
        f"simulation in the loop: {verdict}",
        f"  surrogate lower bound on {what}: {number((c.bound_value or 0) / scale)} {unit}; "
        f"answer: {number((c.answer_value or 0) / scale)} {unit} "
        f"(capex {number(a.capex_usd / 1e6)} M USD, its buffers included); "
        f"gap {number(c.gap, '+.2%', '–')}",
        f"  simulated {number(sim.mean)} GWh/yr, 95 % CI [{number(sim.ci95_low)}, "
        f"{number(sim.ci95_high)}] ({a.replications} replications of {c.horizon_h:g} h "
        f"after warm-up, seed {c.seed}); acceptance statistic "
        f"{number(a.acceptance_gwh_per_year)}",
        f"  rule: {c.rule}",
    ]
    if c.buffer_changes:
        lines.append(
            "  buffers changed: "
            + "; ".join(
                f"{b['station']} {b['from']:,} → {b['to']:,} cells "
                f"({b['capex_usd']:+,.0f} USD of capex)"
                for b in c.buffer_changes
            )
        )
    lines.append(
        f"  {len(c.steps)} layout(s) simulated on common random numbers ({c.wall_time_s:.1f} s):"
    )
    trials = any(s.buffer_move for s in c.steps)
    rows = [
        (
            s.iteration,
            s.capex_usd / 1e6,
            s.surrogate_gwh_per_year,
            s.simulated_gwh_per_year.mean,
            s.simulated_gwh_per_year.ci95_low,
            s.acceptance_gwh_per_year,
            s.replications,
            s.bottleneck,
            ("accepted" if s.accepted else (s.corrected or "–"))
            + (" (refining)" if s.refining else ""),
            number(s.factor, ".4f", "–"),
        )
        + (
            (
                (s.buffer_move or "–")
                + ("" if s.buffer_kept is None else " kept" if s.buffer_kept else " not kept"),
            )
            if trials
            else ()
        )
        for s in c.steps
    ]
    lines.append(
        text_table(
            [
                "#",
                "capex [M USD]",
                "static [GWh/yr]",
                "simulated",
                "CI low",
                "acceptance",
                "reps",
                "sim. bottleneck",
                "then corrected",
                "capacity factor",
            ]
            + (["buffer tried"] if trials else []),
            rows,
        )
    )
    return lines
