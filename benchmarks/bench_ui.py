"""What-if latency of the Line page in a real browser, against a bare Streamlit rerun.

One edit as a planner makes it: the machines of the 4 GWh line's bottleneck (se_powder_prep)
1 → 2 and back in the quick-edit panel, timed from the key press to the "Max good output" card
showing the new figure, in headless Chromium (Playwright). The same gesture on a bare Streamlit
app (a number input echoed into a card) is the floor any Streamlit page has: Streamlit's own
rerun and the browser's redraw. Both servers run in the same session, one after the other;
the median of ``--repeats`` edits each.

Usage::

    python benchmarks/bench_ui.py              # median of 5 edits each
    python benchmarks/bench_ui.py --repeats 9 --json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from linesim.capacity import capacity_report
from linesim.config import load_line

LINE = "gwh_sulfide_4gwh"
BARE_APP = """
import streamlit as st

n = st.number_input("Machines", min_value=0, step=1, value=1, key="n")
st.metric("Echo", f"{n} machines")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(command: list[str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=2)
            return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"the server on port {port} did not start: {' '.join(command)}")


def _card_shows(page, label: str, value: str, timeout_ms: float = 60_000) -> None:
    page.wait_for_function(
        """([label, value]) => [...document.querySelectorAll('[data-testid="stMetric"]')]
            .some(m => m.innerText.includes(label) &&
                  m.querySelector('[data-testid="stMetricValue"]').innerText === value)""",
        arg=[label, value],
        polling="raf",
        timeout=timeout_ms,
    )


def _edits(page, label: str, values: list[tuple[int, str]]) -> list[float]:
    """Seconds from the key press to the card ``label`` showing each (machines, figure)."""
    boxes = page.get_by_role("spinbutton", name="Machines")
    times = []
    for machines, shown in values:
        # the page's run ends (the Line page draws the diagram after the cards; the input of
        # the line before the edit goes when the run ends): one input is left
        page.wait_for_function(
            """() => document.querySelectorAll('input[aria-label="Machines"]').length === 1""",
            timeout=60_000,
        )
        box = boxes.first
        box.fill(str(machines))
        page.wait_for_timeout(300)  # nothing in flight
        start = time.perf_counter()
        box.press("Enter")
        _card_shows(page, label, shown)
        times.append(time.perf_counter() - start)
        page.wait_for_timeout(300)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="edits per app (default 5)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    spec = load_line(LINE)
    neck = capacity_report(spec).bottleneck
    first = spec.stations[spec.station_index(neck)].machines
    figures = {}
    for n in (first, first + 1):
        cap = capacity_report(load_line(LINE, [f"stations.{neck}.machines={n}"]))
        figures[n] = f"{cap.max_output_gwh_per_year:.3f} GWh/yr"
    cycle = [(first + 1 - k % 2, figures[first + 1 - k % 2]) for k in range(args.repeats)]
    chromium = os.environ.get("LINESIM_BROWSER") or shutil.which("chromium")
    ui_port, bare_port = _free_port(), _free_port()
    with tempfile.TemporaryDirectory() as folder:
        bare = Path(folder) / "bare.py"
        bare.write_text(BARE_APP)
        servers = [
            _serve([sys.executable, "-m", "linesim.cli", "ui", "--port", str(ui_port)], ui_port),
            _serve(
                [
                    sys.executable,
                    "-m",
                    "streamlit",
                    "run",
                    str(bare),
                    "--server.headless",
                    "true",
                    "--server.port",
                    str(bare_port),
                    "--browser.gatherUsageStats",
                    "false",
                ],
                bare_port,
            ),
        ]
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=chromium, args=["--no-sandbox", "--disable-dev-shm-usage"]
                )
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(f"http://localhost:{ui_port}", wait_until="networkidle")
                page.get_by_text("Max good output").first.wait_for(timeout=120_000)
                page.get_by_test_id("stSelectbox").filter(has_text="Bundled line").click()
                page.get_by_role("option", name=LINE, exact=True).click()
                _card_shows(page, "Max good output", figures[first])
                page.get_by_test_id("stSelectbox").filter(has_text="Station").click()
                page.get_by_role("option", name=neck, exact=True).click()
                page.wait_for_timeout(1000)
                app = _edits(page, "Max good output", cycle)
                page.goto(f"http://localhost:{bare_port}", wait_until="networkidle")
                page.get_by_text("Echo").first.wait_for(timeout=60_000)
                floor = _edits(page, "Echo", [(m, f"{m} machines") for m, _ in cycle])
                browser.close()
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=20)
    result = {
        "line": LINE,
        "edit": f"stations.{neck}.machines {first} ↔ {first + 1}",
        "repeats": args.repeats,
        "line_page_s": [round(t, 3) for t in app],
        "bare_streamlit_s": [round(t, 3) for t in floor],
        "line_page_median_s": round(statistics.median(app), 3),
        "bare_streamlit_median_s": round(statistics.median(floor), 3),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
    }
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print(f"{result['edit']} on {LINE}, median of {args.repeats} edits in Chromium")
        print(f"  Line page card update   {result['line_page_median_s']:.3f} s  {app}")
        print(f"  bare Streamlit rerun    {result['bare_streamlit_median_s']:.3f} s  {floor}")
        print(f"  machine: {result['machine']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
