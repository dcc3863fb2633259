"""A line's cost analysis presented: the cost report of one line and lines side by side."""

from __future__ import annotations

import math
from collections.abc import Sequence

from linesim.economics.analysis import LineAnalysis, comparison_rows
from linesim.report.tables import fmt, number, text_table

__all__ = ["format_comparison", "format_cost"]


def format_cost(a: LineAnalysis) -> str:
    """The readable cost report of one line."""
    c = a.cost
    total = c.annual.total
    share = {k: v / total if total else math.nan for k, v in c.annual.categories().items()}
    e = c.energy_kwh_per_kwh
    lines = [
        f"{a.spec.name}: cost — basis: {c.basis}",
        *(f"  warning: {w}" for w in c.warnings),
        "",
        f"  good output       {number(c.output_gwh_per_year)} GWh/yr = "
        f"{number(c.good_cells_per_year / 1e6)} M cells/yr, line yield "
        f"{number(c.line_yield, '.4f')}, bottleneck {a.bottleneck}",
        f"  line OEE          {number(c.oee)} ("
        + ("simulated" if c.basis.startswith("simulation") else "static estimate")
        + ": the ramp-up's mature OEE too)"
        + (
            f"; {number(c.shipped_defective_cells_per_year, ',.0f')} defective cells shipped a year"
            if c.shipped_defective_cells_per_year
            else ""
        ),
        f"  capex             {_musd(c.capex.total)} M USD (equipment "
        f"{_musd(c.capex.equipment)}, dry room {_musd(c.capex.dry_room)}, building "
        f"{_musd(c.capex.building)} for {number(c.capex.building_area_m2, ',.0f')} m², "
        f"facility {_musd(c.capex.facility)}"
        + (f", atmosphere {_musd(c.capex.atmosphere)}" if c.capex.atmosphere else "")
        + (f", buffers {_musd(c.capex.buffers)}" if c.capex.buffers else "")
        + ")",
        f"  capex per GWh/yr  {_musd(c.capex_usd_per_gwh)} M USD = "
        f"{number(c.capex_bn_cny_per_gwh, ',.2f')} bn CNY",
        f"  cost per good kWh {number(c.total_usd_per_kwh, ',.1f')} USD/kWh = "
        f"{number(c.cny_per_wh)} CNY/Wh (1 USD = {c.cny_per_usd:g} CNY)",
        f"  energy            {number(e.total, ',.1f')} kWh per good kWh (machines "
        f"{number(e.machines, ',.1f')}, dry room {number(e.dry_room, ',.1f')}, facility "
        f"{number(e.facility, ',.1f')}"
        + (f", H2S scrubber {number(e.atmosphere, ',.1f')}" if e.atmosphere else "")
        + ")",
        *(
            [
                f"  excursions        {number(c.excursion_cells_per_year, ',.0f')} good cells "
                "a year scrapped by moisture excursions (cost.atmosphere)"
            ]
            if c.excursion_cells_per_year
            else []
        ),
        f"  direct labour     {number(c.direct_fte, ',.0f')} FTE "
        f"({number(c.direct_fte / c.output_gwh_per_year, ',.0f')} per GWh/yr)",
        "",
        text_table(
            ["category", "USD/kWh", "share", "M USD/yr"],
            [
                (k, c.usd_per_kwh[k], number(share[k], ".1%", "–"), v / 1e6)
                for k, v in c.annual.categories().items()
            ]
            + [("total", c.total_usd_per_kwh, "100.0%", c.annual.total / 1e6)],
        ),
        "",
        "overheads [M USD/yr]: "
        + ", ".join(f"{k} {number(v / 1e6, ',.2f')}" for k, v in c.annual.overheads.items()),
        "",
        text_table(
            ["material", "per kWh", "unit", "price", "", "dated", "USD/good kWh"],
            [
                (
                    m.name,
                    m.quantity_per_kwh,
                    m.unit,
                    m.price_per_unit,
                    m.currency,
                    m.price_date,
                    m.usd_per_kwh_good,
                )
                for m in c.materials
            ],
            "lrlrlll",
        ),
        "",
        text_table(
            ["scrap made at", "detected at", "cause", "cells/yr", "value/cell [USD]", "M USD/yr"],
            [
                (
                    s.id,
                    s.detected_at,
                    s.cause,
                    s.cells_per_year,
                    s.value_usd_per_cell,
                    s.usd_per_year / 1e6,
                )
                for s in c.scrap_by_step
            ],
            "lllrrr",
        ),
        "  (value added up to detection: materials + direct conversion; the conversion part "
        "is inside the categories above)",
    ]
    if a.finance is not None:
        lines += ["", *_finance_lines(a)]
    if a.ramp is not None:
        r = a.ramp
        lines += [
            "",
            f"ramp-up (learning rate {number(r.learning_rate, '.0%')}, b = "
            f"{number(r.learning_exponent)}, on conversion cost after one mature year's "
            "output):",
            text_table(
                [
                    "quarter",
                    "yield (end)",
                    "OEE (end)",
                    "good GWh",
                    "cumulative GWh",
                    "CNY/Wh",
                    "learning",
                    "CNY/Wh with learning",
                ],
                [
                    (
                        q.quarter,
                        r.months[3 * q.quarter - 1].line_yield,
                        r.months[3 * q.quarter - 1].oee,
                        q.good_gwh,
                        q.cumulative_gwh,
                        q.cny_per_wh,
                        q.learning_factor,
                        q.cny_per_wh_with_learning,
                    )
                    for q in r.quarters
                ],
            ),
            "cost targets (with learning): "
            + "; ".join(
                f"{number(t.cny_per_wh, ',.2f')} CNY/Wh "
                + (
                    f"in quarter {t.quarter}"
                    if t.quarter
                    else f"not within {len(r.quarters)} quarters"
                )
                for t in r.targets
            ),
        ]
    lines += [
        "",
        f"sensitivity (each parameter ± {a.tornado[0].fraction:.0%}, static basis; widest 10):"
        if a.tornado
        else "",
        text_table(
            ["parameter", "USD/kWh at −", "at +", "GWh/yr at −", "at +"],
            [
                (
                    b.parameter,
                    b.usd_per_kwh_low,
                    b.usd_per_kwh_high,
                    b.output_gwh_low,
                    b.output_gwh_high,
                )
                for b in a.tornado[:10]
            ],
            "lrrrr",
        ),
    ]
    return "\n".join(lines)


def _finance_lines(a: LineAnalysis) -> list[str]:
    """Greenfield against conversion of a Li-ion hall, with NPV and payback when given."""
    f = a.finance
    assert f is not None
    head = "greenfield" + (" against conversion of a Li-ion hall" if len(f.cases) > 1 else "")
    if f.selling_price_cny_per_wh is not None:
        head += (
            f" (selling at {number(f.selling_price_cny_per_wh)} CNY/Wh, discount rate "
            f"{number(f.discount_rate, '.1%')}, {f.years} years)"
        )
    if len(f.cases) > 1:
        head += f"; equipment reused: {number(f.reused_equipment_share, '.0%')} of its new value"

    def years(v: float | None) -> str:
        return "not within the years" if v is None else number(v, ",.1f")

    rows = [
        [
            c.case,
            _musd(c.capex_usd),
            number(c.usd_per_kwh, ",.1f"),
            number(c.cny_per_wh),
            "–" if c.npv_usd is None else _musd(c.npv_usd),
            "–" if c.npv_usd is None else years(c.payback_years),
            "–" if c.npv_usd is None else years(c.discounted_payback_years),
        ]
        for c in f.cases
    ]
    table = text_table(
        ["case", "capex [M USD]", "USD/kWh", "CNY/Wh", "NPV [M USD]", "payback [yr]"]
        + ["discounted payback [yr]"],
        rows,
        "lrrrrrr",
    )
    return [head + ":", table]


def _musd(usd: float) -> str:
    """An amount in M USD with one decimal (engineering notation when astronomical)."""
    return number(usd / 1e6, ",.1f")


def format_comparison(analyses: Sequence[LineAnalysis], reference: int | None = None) -> str:
    """Lines side by side; with ``reference`` (an index into ``analyses``) each line's cost
    per good Wh as a multiple of that line's, and after the table every figure against the
    published band its config cites (``cost.bands``), flagged when outside."""
    rows = [(label, unit, *values) for label, unit, values in comparison_rows(analyses)]
    rows.append(("bottleneck", "", *[a.bottleneck for a in analyses]))
    if reference is not None:
        ref = analyses[reference].cost.cny_per_wh
        rows.append(
            (
                f"cost ÷ {analyses[reference].spec.name}",
                "×",
                *[a.cost.cny_per_wh / ref for a in analyses],
            )
        )
    table = text_table(
        ["", "unit", *[a.spec.name for a in analyses]], rows, "ll" + "r" * len(analyses)
    )
    notes = [f"  {a.spec.name}: {a.basis.source}" for a in analyses]
    if reference is not None:
        notes[reference] += " (the reference line; --reference none leaves it out)"
    return (
        "basis of output and yield:\n"
        + "\n".join(notes)
        + "\n\n"
        + table
        + "\n"
        + _legend()
        + _bands_text(analyses)
    )


def _bands_text(analyses: Sequence[LineAnalysis]) -> str:
    """Every line's figures against its cited bands; OUTSIDE marks a line outside one."""
    from linesim.economics.bands import BAND_FIGURES, band_checks

    rows, outside = [], 0
    for a in analyses:
        for c in band_checks(a.cost, a.spec.cost.bands if a.spec.cost else None):
            label, unit = BAND_FIGURES[c.name]
            outside += not c.inside
            rows.append(
                (
                    a.spec.name,
                    f"{label} [{unit}]" if unit else label,
                    number(c.value, ",.3g"),
                    f"{number(c.low, ',.3g')} – {number(c.high, ',.3g')}",
                    "inside" if c.inside else "OUTSIDE",
                )
            )
    if not rows:
        return ""
    head = (
        f"\n\npublished bands (cost.bands of each config, with their sources; {outside} outside):\n"
    )
    return head + text_table(["line", "figure", "value", "band", ""], rows, "llrrl")


def _legend() -> str:
    return (
        "\ncost per good kWh = (depreciation + labour + energy + materials ÷ yield + "
        "overheads) ÷ good kWh; 'scrap' is the material in scrapped cells. "
        + fmt(None)
        + " = not available."
    )
