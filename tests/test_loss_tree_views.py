"""The OEE loss tree as people see it: the plotly waterfall (its bars add up to good output),
the HTML report's section, and the Simulate page of the app."""

from __future__ import annotations

import json
import math

import pytest
from conftest import ROOT, make_line, settle
from streamlit.testing.v1 import AppTest

from linesim.config import dump_line, load_line
from linesim.experiments import replicate
from linesim.kpis import LOSS_GROUPS
from linesim.report import figures
from linesim.summary import summarise

H = 3600.0
DAY = 24 * H


def lossy_line():
    """Three stations; the middle one (12 s a cell) is the nameplate bottleneck and carries
    every time loss: breakdowns, planned maintenance, changeovers with start-up scrap, minor
    stops and defects, on a two-shift calendar."""
    return make_line(
        [
            {"kind": "discrete", "cycle_time_s": 8.0, "buffer_after": 40},
            {
                "kind": "discrete",
                "cycle_time_s": 12.0,
                "buffer_after": 40,
                "defect_probability": 0.03,
                "mtbf_h": 6.0,
                "mttr_h": 0.4,
                "planned_maintenance": {"every_h": 24.0, "duration_h": 2.0},
                "changeover": {"every_cells": 300, "duration_s": 600.0, "scrap_cells": 4},
                "minor_stops": {"mean_between_s": 1200.0, "mean_duration_s": 45.0},
            },
            {"kind": "discrete", "cycle_time_s": 6.0},
        ],
        name="lossy_line",
        calendar={"shifts_per_day": 2, "hours_per_shift": 8.0, "days_per_week": 7},
    )


@pytest.fixture(scope="module")
def lossy_summary():
    line = lossy_line()
    return summarise(line, replicate(line, 3 * DAY, 2 * H, 3, seed=7, workers=1))


def test_waterfall_bars_add_up_from_calendar_to_good(lossy_summary):
    tree = lossy_summary.losses
    assert tree.station == "s1"
    shown = {k: e.mean for k, e in tree.hours.items() if e.mean != 0.0}
    # every kind of loss the line carries is on: the test sees each group's bars
    expected = {"off_shift", "planned_maintenance", "breakdowns", "setups", "minor_stops"}
    expected |= {"startup_scrap", "defects"}
    assert expected <= {k for k, h in shown.items() if h > 0.0}

    fig = figures.loss_waterfall(tree, "lossy_line")
    first, *middle, last = fig.data
    assert list(first.measure) == ["absolute"] and first.y[0] == tree.calendar_h
    assert list(last.measure) == ["absolute"] and last.y[0] == pytest.approx(tree.good_h.mean)
    # each group's bars start where the bars before them ended, and together they hold every
    # non-zero loss, once, under the group it lowers, in waterfall order
    level, bars = tree.calendar_h, []
    for trace in middle:
        assert set(trace.measure) == {"relative"}
        assert trace.base == pytest.approx(level, rel=1e-12)
        groups, labels = trace.x
        for group, label, y in zip(groups, labels, trace.y):
            loss = label.replace("<br>", "_")
            assert figures.LOSS_GROUP_STYLE[LOSS_GROUPS[loss]][0] == group
            bars.append((loss, -y))
            level += y
    assert bars == list(shown.items())
    # calendar time − Σ losses = good output
    assert level == pytest.approx(tree.good_h.mean, rel=1e-9)
    assert math.isclose(first.y[0] + sum(y for t in middle for y in t.y), last.y[0], rel_tol=1e-9)
    # the hover gives cells at the ideal rate and the share of calendar time
    defects = next(t for t in middle if t.name == "quality")
    text = defects.hovertext[list(defects.x[1]).index("defects")]
    assert f"−{tree.cells['defects'].mean:,.0f} cells at the ideal rate" in text
    assert f"{shown['defects'] / tree.calendar_h:.1%} of calendar time" in text
    title = fig.layout.title.text
    for factor in ("oee", "availability", "performance", "quality"):
        assert f"{getattr(tree, factor).mean:.3f}" in title


def test_html_report_has_the_line_waterfall_and_station_factors():
    from linesim.capacity import suggested_warmup_h
    from linesim.economics.analysis import analyse
    from linesim.report.html import render_html

    spec = load_line("pilot_sulfide_200mwh")
    results = replicate(spec, DAY, suggested_warmup_h(spec) * H, 2, seed=1, workers=1)
    simulated = analyse(spec, results)
    page = render_html([simulated])
    # cost, published bands, yield waterfall, loss tree, ramp-up, tornado
    assert page.count("Plotly.newPlot") == 6
    section = page.split("<h2>OEE loss tree (simulated)</h2>")[1].split("<h2>")[0]
    assert section.count("Plotly.newPlot") == 1 and '"type":"waterfall"' in section
    tree = simulated.simulation.losses
    assert f"hours of {tree.station}, the nameplate bottleneck" in section
    assert f'<td>line</td><td class="num">–</td><td class="num">{tree.oee.mean:.3f}' in section
    for s in simulated.simulation.stations:
        assert f'<td class="sub">{s.id}</td>' in section
    # a report without simulation has no loss tree section
    assert "OEE loss tree" not in render_html([analyse(spec)])


def test_simulate_page_shows_the_loss_waterfall_and_station_factors():
    from linesim.capacity import suggested_warmup_h

    at = AppTest.from_file(str(ROOT / "ui" / "views" / "simulate.py"), default_timeout=120)
    at.session_state["spec_yaml"] = dump_line(lossy_line())
    at.session_state["spec_source"] = "test"
    at.run()
    at.number_input(key="horizon_days").set_value(3.0)
    at.number_input(key="replications").set_value(3)
    at.number_input(key="seed").set_value(7)
    settle(at.button(key="run").click().run())
    assert not at.exception, [e.value for e in at.exception]

    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    waterfall = next(c for c in charts if "OEE loss tree" in c["layout"]["title"]["text"])
    traces = waterfall["data"]
    assert {t["type"] for t in traces} == {"waterfall"}
    names = [t["name"] for t in traces]
    assert names == ["calendar", "planned downtime", "availability", "performance", "quality"] + [
        "OEE"
    ]
    assert math.isclose(
        sum(y for t in traces[:-1] for y in t["y"]), traces[-1]["y"][0], rel_tol=1e-9
    )

    # the station table's factors are the run summary's (the page's run, repeated here)
    line = lossy_line()
    warmup_s = suggested_warmup_h(line) * H
    summary = summarise(line, replicate(line, 3 * DAY, warmup_s, 3, 7, workers=1, engine="fast"))
    table = next(d.value for d in at.dataframe if "availability [-]" in d.value.columns)
    rows = table.set_index("station")
    for s in summary.stations:
        for factor in ("availability", "performance", "quality"):
            assert rows.loc[s.id, f"{factor} [-]"] == getattr(s.losses, factor).mean
    assert 0.0 < rows.loc["s1", "availability [-]"] < 1.0  # the bottleneck's losses show
    caption = " ".join(c.value for c in at.caption)
    assert "no rework is modelled" not in caption
    assert "start-up scrap" in caption and "inspection" in caption
