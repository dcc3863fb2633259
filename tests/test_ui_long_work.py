"""Long work in headless Chromium (issue 17, item 3): an Uncertainty study end to end; a
sweep kept in the results store and reopened after a reload; an optimisation too (a
simulation kept running over a reload: tests/test_ui_workflow.py). On a ``linesim ui``
server of the module's own (tests/conftest.py): no other test's long work runs beside it."""

import re

from browser import (
    browser_page,
    goto_page,
    idle,
    metric_value,
    reload,
)

from linesim.config import dump_line, load_line
from linesim.uncertainty import Targets
from linesim.uncertainty.api import uncertainty_study
from linesim.yaml_io import parse_mapping

PILOT = "pilot_sulfide_200mwh"


def test_an_uncertainty_study_in_the_browser_shows_the_librarys_probability(module_ui_server):
    """16 static samples of the pilot's ranges with a cost target: the card shows the
    probability ``linesim uncertainty`` computes for the same samples and seed, and the
    figures are drawn."""
    url, _ = module_ui_server
    expected = uncertainty_study(
        parse_mapping(dump_line(load_line(PILOT)), "<working line>"),
        samples=16,
        seed=1,
        targets=Targets(None, 2.4),
        workers=1,
    )
    (p,) = expected.probabilities
    with browser_page(1280, 720) as (pg, errors):
        reload(pg, errors, url + "/uncertainty")
        pg.get_by_role("spinbutton", name="Samples").fill("16")
        pg.get_by_role("spinbutton", name="Cost target [CNY/Wh] (0: none)").fill("2.4")
        pg.keyboard.press("Enter")
        idle(pg)
        pg.get_by_role("button", name="Run study").click()
        card = pg.locator('[data-testid="stMetric"]').filter(has_text=f"P({p.condition})")
        card.wait_for(timeout=90_000)
        value = card.locator('[data-testid="stMetricValue"]').inner_text()
        assert value == f"{p.probability:.1%}", (value, p)
        assert f"({p.hits:,} of 16)" in card.inner_text()
        charts = pg.get_by_test_id("stPlotlyChart")
        charts.nth(len(expected.summaries) - 2).wait_for(timeout=30_000)  # one per KPI
        assert pg.get_by_text("Download uncertainty_percentiles (CSV)").count() == 1
    assert not errors, errors


def test_a_sweep_is_kept_and_reopens_after_a_reload(module_ui_server):
    """A two-level sweep of the bottleneck's machines shows its table and chart; after a
    reload (a new session) it is listed in the results store and reopens with its chart."""
    url, _ = module_ui_server
    with browser_page(1280, 720) as (pg, errors):
        reload(pg, errors, url + "/sweep")
        pg.get_by_role("textbox", name="Factor 1 (PATH=levels)").fill(
            "stations.stacking.machines=1,2"
        )
        pg.get_by_role("spinbutton", name="Horizon [days]").fill("0.25")  # the shortest
        pg.get_by_role("spinbutton", name="Replications per variant").fill("2")
        pg.keyboard.press("Enter")
        idle(pg)
        pg.get_by_role("button", name="Run sweep").click()
        chart = pg.get_by_test_id("stPlotlyChart").filter(has_text="Simulated good output")
        chart.wait_for(timeout=90_000)
        reload(pg, errors)
        pg.get_by_text("Sweeps in the results store").wait_for(timeout=60_000)
        idle(pg)  # the page drawn whole (its list comes before any result)
        assert chart.count() == 0  # a new session
        pg.get_by_role("button", name="Reopen").click()
        chart.wait_for(timeout=30_000)
        pg.get_by_text("Reopened from the results store").wait_for(timeout=10_000)
    assert not errors, errors


def test_an_optimisation_reopens_after_a_reload(module_ui_server):
    """An optimisation of the pilot is recorded by the server; after a reload (a new session,
    nothing of the old one kept) it is listed, and reopens with the same diff against the
    working line. A layout's simulation running at a reload goes on in the new session, its
    search shown again with it (the same diff) and its result for that layout. (The store
    outliving a server restart: tests/test_ui_browser.py; a layout's simulation interrupted
    by one: tests/test_ui_kept.py.)"""
    url, _ = module_ui_server
    with browser_page(1280, 720) as (pg, errors):
        reload(pg, errors, url + "/optimise")
        idle(pg)
        listed = re.compile(r"Optimisations in the results store \((\d+)\)")
        kept = pg.get_by_text(listed)
        before = int(listed.findall(kept.first.inner_text())[0]) if kept.count() else 0
        pg.get_by_role("button", name="Optimise", exact=True).click()
        diff = pg.get_by_text("Against the working line")
        diff.wait_for(timeout=120_000)
        capex = metric_value(pg, "Capex change")
        machines = metric_value(pg, "Machines added / removed")
        pg.get_by_role("button", name="Simulate this layout (3 × 7 days)").click()
        progress = pg.get_by_test_id("stProgress").filter(has_text="Simulating this layout")
        progress.wait_for(timeout=60_000)
        reload(pg, errors)  # the new session takes the layout's simulation and its search over
        simulated = pg.get_by_test_id("stMetric").filter(has_text="Simulated output of this")
        simulated.wait_for(timeout=180_000)
        assert "vs predicted" in simulated.inner_text()
        assert metric_value(pg, "Capex change") == capex
        assert metric_value(pg, "Machines added / removed") == machines
        reload(pg, errors)  # nothing running, nothing taken over
        # kept once (the module's store holds its other tests' work: counted before)
        pg.get_by_text(f"Optimisations in the results store ({before + 1:,})").click()
        idle(pg)  # the page drawn whole (its list comes before any result)
        assert diff.count() == 0  # a new session
        pg.get_by_role("button", name="Reopen").click()
        diff.wait_for(timeout=60_000)
        pg.get_by_text("Reopened from the results store").wait_for(timeout=10_000)
        assert metric_value(pg, "Capex change") == capex
        assert metric_value(pg, "Machines added / removed") == machines
        # a layout loaded as the working line while its simulation runs stays the working
        # line when the simulation ends (it reopened the search over it before)
        pg.get_by_role("button", name="Simulate this layout (3 × 7 days)").click()
        progress.wait_for(timeout=60_000)
        idle(pg)
        pg.get_by_role("button", name="Load this layout as the working line").click()
        pg.get_by_text("Loaded point").wait_for(timeout=30_000)
        progress.wait_for(state="detached", timeout=180_000)
        goto_page(pg, "Line")
        pg.get_by_text(re.compile(r"Working line from: optimised point")).wait_for(timeout=30_000)
    assert not errors, errors
