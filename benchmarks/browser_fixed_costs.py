"""The browser tests' fixed costs (issue 17, CI time): launching headless chromium against a
fresh context in a running one, and starting ``linesim ui`` to its health check.

    PYTHONPATH=$PWD python benchmarks/browser_fixed_costs.py

Needs chromium (``LINESIM_BROWSER`` or on PATH) and Playwright, as the browser tests do.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from browser import chromium_path, start_ui  # the tests' harness
from playwright.sync_api import sync_playwright

ARGS = ["--no-sandbox", "--disable-dev-shm-usage"]


def main() -> None:
    launch, context = [], []
    with sync_playwright() as p:
        for _ in range(3):
            t = time.perf_counter()
            browser = p.chromium.launch(executable_path=chromium_path(), args=ARGS)
            browser.new_page().goto("about:blank")
            browser.close()
            launch.append(time.perf_counter() - t)
        browser = p.chromium.launch(executable_path=chromium_path(), args=ARGS)
        for _ in range(3):
            t = time.perf_counter()
            ctx = browser.new_context()
            ctx.new_page().goto("about:blank")
            ctx.close()
            context.append(time.perf_counter() - t)
        browser.close()
    servers = []
    for _ in range(2):
        t = time.perf_counter()
        _, proc = start_ui(Path(tempfile.mkdtemp()) / "runs.duckdb")
        servers.append(time.perf_counter() - t)
        proc.terminate()
        proc.wait()
    for name, times in (
        ("browser launch+page+close [s]", launch),
        ("new context+page+close [s]", context),
        ("linesim ui start to health [s]", servers),
    ):
        print(f"{name}: {[round(x, 2) for x in times]} median {statistics.median(times):.2f}")


if __name__ == "__main__":
    main()
