"""The line's pictures (linesim.report.diagrams): the yield Sankeys' flows conserve cells and
are the yield model's; the diagram and the timeline draw what they are given."""

import math

from conftest import make_line

from linesim.report import diagrams
from linesim.simulation import simulate
from linesim.simulation.trace import machine_states
from linesim.yield_model import yield_waterfall

H = 3600.0


def _line():
    return make_line(
        [
            {"kind": "discrete", "cycle_time_s": 20, "defect_probability": 0.05, "buffer_after": 4},
            {
                "kind": "discrete",
                "cycle_time_s": 15,
                "defect_probability": 0.1,
                "detected_at": "s2",
                "dry_room": True,
                "changeover": {"every_cells": 40, "duration_s": 60, "scrap_cells": 2},
                "buffer_after": 2,
            },
            {
                "kind": "discrete",
                "cycle_time_s": 10,
                "machines": 2,
                "detection_efficiency": 0.8,
                "dry_room": True,
            },
        ]
    )


def _out(flows, node):
    return sum(v for a, _, v in flows if a == node)


def _in(flows, node):
    return sum(v for _, b, v in flows if b == node)


def test_analytic_flows_are_the_yield_models():
    spec = _line()
    steps = yield_waterfall(spec)
    flows = diagrams.analytic_yield_flows(steps)
    assert math.isclose(_out(flows, "cells started"), 1000.0)
    y = (1 - 0.05) * (1 - 0.1)  # ∏(1 − p)
    assert math.isclose(_in(flows, "good cells"), 1000.0 * y)
    assert math.isclose(_in(flows, "made defective at s1"), 1000.0 * 0.95 * 0.1)
    # s1's defects are found at s2: every one made there is scrapped there
    assert math.isclose(_in(flows, "scrapped at s2"), _out(flows, "made defective at s1"))


def test_simulated_flows_conserve_cells_by_station_and_cause():
    spec = _line()
    runs = [simulate(spec, 8 * H, H, rng=k, engine="simpy") for k in (1, 2)]
    flows = diagrams.simulated_yield_flows(runs)
    entered = sum(r.started + r.in_process_at_start for r in runs)
    assert math.isclose(_out(flows, "cells in"), 1000.0)  # in = good + scrap + shipped + in line
    per = 1000.0 / entered
    assert math.isclose(_in(flows, "good cells"), per * sum(r.good for r in runs))
    assert math.isclose(_in(flows, "scrapped"), per * sum(r.scrapped for r in runs))
    assert math.isclose(_out(flows, "scrapped"), _in(flows, "scrapped"))
    startup = sum(r.stations[1].startup_scrap_cells for r in runs)
    assert startup > 0 and sum(r.shipped_defective for r in runs) > 0  # every cause drawn
    assert math.isclose(_in(flows, "scrapped at s1: start-up scrap"), per * startup)
    fig = diagrams.yield_sankey(flows, "simulated")
    assert set(fig.data[0].node.label) >= {"cells in", "good cells", "shipped defective"}


def test_diagram_and_timeline_draw_what_they_are_given():
    spec = _line()
    fig = diagrams.line_diagram(spec, {"s0": 1.0, "s1": 0.5, "s2": 0.2}, "s0", "test basis")
    texts = [a.text for a in fig.layout.annotations]
    assert "▼ bottleneck" in texts and "dry room" in texts
    assert ["<b>×1</b><br>100%", "<b>×1</b><br>50%", "<b>×2</b><br>20%"] == [
        t for t in texts if t.startswith("<b>×")
    ]
    frames = [s for s in fig.layout.shapes if s.line.dash == "dash"]
    assert len(frames) == 1 and frames[0].x0 < 1.7 < frames[0].x1  # s1 and s2 in one frame
    trace = machine_states(spec, H, 1.5 * H, rng=3)
    fig = diagrams.machine_timeline(trace, per_station=1)
    rows = {y for bar in fig.data for y in bar.y}
    assert rows == {"s0 #1", "s1 #1", "s2 #1"}  # s2's second machine left out
    shown = sum(x for bar in fig.data for y, x in zip(bar.y, bar.x) if y == "s0 #1")
    assert math.isclose(shown, 0.5, rel_tol=1e-9)  # the window, tiled [h]
