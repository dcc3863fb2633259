"""The what-if app's pictures and planner's workflow in headless Chromium (issue 17, items 4
and 5): the line diagram, the machine-state timeline, the yield Sankeys; screenshots go to
``$LINESIM_ARTIFACTS`` (else the test's tmp folder). One ``linesim ui`` server for the module."""

import os
import re
from pathlib import Path

import pytest
from browser import browser_page, serve_ui  # noqa: F401 (serve_ui: the ui_server fixture)

from linesim.capacity import capacity_report
from linesim.config import load_line

PILOT = "pilot_sulfide_200mwh"


@pytest.fixture(name="artifacts")
def artifacts_folder(tmp_path) -> Path:
    folder = Path(os.environ.get("LINESIM_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_page(pg, url: str, name: str | None = None) -> None:
    pg.goto(url, wait_until="networkidle")
    pg.get_by_text("Max good output").first.wait_for(timeout=90_000)
    if name:
        pg.get_by_role("link", name=re.compile(name)).click()


def chart(pg, text: str):
    """The plotly chart that shows ``text`` (an SVG text: a title, label or annotation)."""
    found = pg.get_by_test_id("stPlotlyChart").filter(has_text=text).first
    found.wait_for(timeout=60_000)
    found.scroll_into_view_if_needed()
    return found


def svg_texts(element) -> list[str]:
    return element.locator("text").evaluate_all("els => els.map(e => e.textContent)")


def test_line_diagram_timeline_and_yield_sankeys(ui_server, artifacts):
    """The Line page draws the line (a box per station with its machines, the bottleneck and
    the dry room marked), the Simulate page a machine-state timeline of a window, the Yield
    page the analytic Sankey whose flows are the yield model's."""
    url, _ = ui_server
    spec = load_line(PILOT)
    neck = capacity_report(spec).bottleneck
    with browser_page(1280, 720) as (pg, errors):
        open_page(pg, url)
        diagram = chart(pg, "stations, machines and buffers")
        texts = svg_texts(diagram)
        assert "▼ bottleneck" in texts and "dry room" in texts, texts
        ids = [s.id for s in spec.stations]
        assert [t for t in texts if t in ids] == ids, texts
        counts = [t for t in texts if t.startswith("×")]  # "×3100%": count, then load
        assert len(counts) == len(ids), texts
        for shown, s in zip(counts, spec.stations):
            assert re.fullmatch(rf"×{s.machine_count}\d+%", shown), (s.id, shown)
        assert "100%" in " ".join(texts)  # the bottleneck's load at the max output
        diagram.screenshot(path=str(artifacts / "line_diagram.png"))

        pg.get_by_role("link", name=re.compile("Yield")).click()
        sankey = chart(pg, "Analytic: per 1,000 cells started")
        texts = svg_texts(sankey)
        assert f"made defective at {neck}" in texts and f"scrapped at {neck}" in texts, texts
        sankey.screenshot(path=str(artifacts / "yield_sankey.png"))

        pg.get_by_role("link", name=re.compile("Simulate")).click()
        pg.get_by_role("spinbutton", name="Window start [h]").fill("24")
        pg.get_by_role("spinbutton", name="Window length [h]").fill("0.5")
        pg.keyboard.press("Enter")
        pg.wait_for_timeout(300)
        pg.get_by_role("button", name="Draw the timeline").click()
        timeline = chart(pg, "Machine states, 24.00 h to 24.50 h of replication 0")
        texts = svg_texts(timeline)
        assert {"busy", "blocked", "starved"} <= set(texts), texts
        assert f"{neck} #1" in texts and "aging_ocv_eol #4" in texts, texts
        assert "aging_ocv_eol #5" not in texts  # at most 4 machines a station
        timeline.screenshot(path=str(artifacts / "machine_timeline.png"))
    assert not errors, errors
