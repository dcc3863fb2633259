"""Headless Debian chromium for the browser tests, driven by Playwright's Python package.

``scripts/test`` installs chromium and sets ``LINESIM_BROWSER``; when it is set, a browser that
cannot start fails the tests instead of skipping them, so CI cannot pass without a browser.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

#: The servers' grace for a job whose session has gone [s]: the app's own 10 s (a test that
#: waits for an orphan to end waits this long plus a margin). Not shorter: on a busy machine
#: (load 9 to 16 on 2 cores) a reload's new session ran its first script run more than 2 s,
#: once more than 6 s, after the old session had gone, and the job it was to take over had
#: been stopped.
ORPHAN_GRACE_S = 10.0
GRACE_ENV = "LINESIM_UI_ORPHAN_GRACE_S"  # as ui/background.py
REQUIRED = bool(os.environ.get("LINESIM_BROWSER"))
START_TIMEOUT_S = 90.0  #: time ``linesim ui`` may take to answer its health check [s]


def chromium_path() -> str | None:
    return os.environ.get("LINESIM_BROWSER") or shutil.which("chromium")


_SHARED: dict = {}  #: the test run's one Playwright and chromium (:func:`shared_browser`)


def shared_browser():
    """The test run's one headless chromium (started on first use, again if it died; closed
    by :func:`close_shared_browser` at the end of the run): a test gets a fresh context of its
    own (:func:`browser_page`), so a browser is launched once, not once a test."""
    path = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if REQUIRED:
            raise
        pytest.skip("playwright is not installed")
    if path is None:
        if REQUIRED:
            raise RuntimeError("LINESIM_BROWSER is set but chromium is not found")
        pytest.skip("chromium is not installed (bash scripts/test installs it)")
    browser = _SHARED.get("browser")
    if browser is None or not browser.is_connected():
        close_shared_browser()
        _SHARED["playwright"] = sync_playwright().start()
        _SHARED["browser"] = _SHARED["playwright"].chromium.launch(
            executable_path=path, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
    return _SHARED["browser"]


def close_shared_browser() -> None:
    browser, playwright = _SHARED.pop("browser", None), _SHARED.pop("playwright", None)
    with contextlib.suppress(Exception):  # already gone with a crashed browser
        if browser is not None:
            browser.close()
    if playwright is not None:
        playwright.stop()


@contextlib.contextmanager
def browser_page(width: int = 1300, height: int = 900, dark: bool = False):
    """A Playwright page in headless chromium (``dark``: the system's colour scheme dark, which
    the app follows); yields (page, errors) with JS errors collected. The page is in a browser
    context of its own (no cookies, storage or tabs of another test's), closed at the end: to
    the app, a new browser session that ends with the block."""
    context = shared_browser().new_context(
        viewport={"width": width, "height": height},
        color_scheme="dark" if dark else "light",
    )
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: _console_error(m, errors))
        yield page, errors
    except BaseException:  # a failed test says what its page showed (in its captured output)
        for open_page in context.pages:
            print(f"--- the page at {open_page.url} showed:\n{page_text(open_page)}")
        raise
    finally:
        context.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_ui(store, port: int | None = None):
    """Start ``linesim ui`` with the results store ``store``: ``(url, process)`` once it
    answers its health check."""
    port = port or _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "linesim.cli", "ui", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "LINESIM_STORE": str(store), GRACE_ENV: str(ORPHAN_GRACE_S)},
    )
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("linesim ui did not start: " + (proc.stdout.read() if proc.stdout else ""))
    return url, proc


ROW_PX = 35  #: height of a data editor's header and of each row [CSS px]


def edit_cell(page, grid, row: int, column: int, value: object) -> None:
    """Type ``value`` into the cell (``row``, ``column``: 0-based as shown, the row visible)
    of the data editor ``grid`` (a locator of ``stDataFrame``) and commit it with Enter."""
    editor = page.locator("input.gdg-input, textarea.gdg-input").first
    for _ in range(10):  # the grid takes clicks once it has drawn itself
        box = grid.bounding_box()
        assert box is not None, "the data editor is not on the page"
        page.mouse.click(box["x"] + 20, box["y"] + ROW_PX * (row + 1) + ROW_PX / 2)
        for _ in range(column):
            page.keyboard.press("ArrowRight")
        page.keyboard.press("Enter")
        try:
            editor.wait_for(timeout=1000)
            break
        except Exception:
            page.keyboard.press("Escape")
    editor.fill(str(value))
    page.keyboard.press("Enter")


#: the app's root while no script run (whole or fragment) is running and it is connected
#: (Streamlit's own attributes, which its end-to-end tests wait on)
NOT_RUNNING = (
    '[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
    '[data-test-script-state="notRunning"]'
)


def idle(pg, timeout_ms: float = 60_000) -> None:
    """Wait until the app has finished its script run: a button clicked during a run can be
    lost to the rerun that follows. Read from the app's root (its script state), not from
    the Stop button, which shows only once a run has lasted 0.5 s: a busy server's run could
    still be starting, or 0.4 s in, when the button was looked for. Looked at twice, 0.3 s
    apart, so that a rerun asked for just before (its request still on its way) is waited
    for too."""
    for _ in range(2):
        pg.wait_for_timeout(300)
        pg.locator(NOT_RUNNING).wait_for(timeout=timeout_ms)


def goto_page(pg, title: str, timeout_s: float = 90.0) -> None:
    """Go to the app's page ``title`` by its sidebar link once the current page is idle, and
    wait until that page is drawn (its title) and idle: an input typed before the switch
    has run goes to the old page, and its rerun can undo the switch."""
    idle(pg, timeout_s * 1000)
    pg.get_by_test_id("stSidebarNav").get_by_role("link", name=re.compile(rf"\b{title}$")).click()
    heading = pg.locator("h1").filter(has_text=re.compile(rf"^{title}$"))
    wait_shown(pg, heading, timeout_s, f"the {title} page")
    idle(pg, timeout_s * 1000)


def set_run(pg, horizon_days: float, replications: int) -> None:
    """Set the Simulate page's horizon and replications, each committed and its rerun ended
    before the next (a value typed while the script runs can be lost to its rerun)."""
    for name, value in (("Horizon [days]", horizon_days), ("Replications", replications)):
        idle(pg, 120_000)
        box = pg.get_by_role("spinbutton", name=name)
        box.fill(str(value))
        box.press("Enter")
    idle(pg, 120_000)
    for name, value in (("Horizon [days]", horizon_days), ("Replications", replications)):
        shown = pg.get_by_role("spinbutton", name=name).input_value()
        assert float(shown) == value, (name, shown)


def pick_option(pg, widget, option: str, tries: int = 4) -> None:
    """Add ``option`` to the multiselect ``widget`` (a locator of ``stMultiSelect``) and wait
    until it shows as chosen: a choice made while the script runs can be lost to the rerun
    that follows, so the app is let go idle first and the choice made again if it was lost.
    Tries alternate between clicking the option in the open list and typing its name into the
    widget's box (Enter picks the one option left): a click on a list that a busy page redraws
    as it opens can land on nothing."""
    for attempt in range(tries):
        idle(pg, 90_000)
        if option in widget.inner_text():
            return
        if attempt % 2 == 0:
            widget.click()
            pg.get_by_role("option", name=option, exact=True).click()
        else:
            box = widget.get_by_role("combobox")
            box.click()
            box.fill(option)
            pg.get_by_role("option", name=option, exact=True).wait_for(timeout=30_000)
            box.press("Enter")
        pg.keyboard.press("Escape")
        for _ in range(50):  # 5 s for the chip to show
            if option in widget.inner_text():
                break
            pg.wait_for_timeout(100)
    idle(pg, 90_000)
    assert option in widget.inner_text(), (widget.inner_text(), page_text(pg))


def page_text(pg, limit: int = 3000) -> str:
    """What the page shows (its text, at most ``limit`` characters): a failed wait says it."""
    try:
        return pg.locator("body").inner_text(timeout=10_000)[:limit]
    except Exception as exc:  # a closed or crashed page
        return f"(the page's text could not be read: {type(exc).__name__})"


def wait_shown(pg, locator, timeout_s: float, what: str) -> None:
    """Wait until ``locator`` (of the page ``pg``) is visible, up to ``timeout_s``; else fail
    naming ``what`` was awaited and what the page showed instead."""
    start = time.monotonic()
    try:
        locator.first.wait_for(timeout=timeout_s * 1000)
    except Exception as exc:
        raise AssertionError(
            f"{what}: not shown within {timeout_s:g} s; the page showed:\n{page_text(pg)}"
        ) from exc
    log = os.environ.get("LINESIM_TEST_STEPS")  # a file: how long each wait took (a slow CI)
    if log:
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"{time.strftime('%H:%M:%S')} {what}: {time.monotonic() - start:.1f} s\n")


def metric_value(page, label: str) -> str:
    """The value a KPI card labelled ``label`` shows."""
    card = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return card.locator('[data-testid="stMetricValue"]').inner_text()


def wait_for_metric(page, label: str, value: str, timeout_s: float = 30.0) -> str:
    """Wait until the card ``label`` shows ``value``; returns what it shows at the end."""
    deadline = time.monotonic() + timeout_s
    shown = metric_value(page, label)
    while shown != value and time.monotonic() < deadline:
        page.wait_for_timeout(100)
        shown = metric_value(page, label)
    return shown


NOT_FOUND = "Failed to load resource: the server responded with a status of 404 (Not Found)"
#: Streamlit's frontend, loaded at a page's address (``/simulate``), first looks for its
#: server under that path: two 404s, then it finds it at the root
PROBE = re.compile(r"^http://[^/]+/\w+/_stcore/(health|host-config)$")


def _console_error(message, errors: list[str]) -> None:
    """Collect a console error, but for the 404s of Streamlit's own probes (:data:`PROBE`,
    named by the message's location), which are no error of the app; any other 404 stays."""
    if message.type != "error":
        return
    if message.text == NOT_FOUND and PROBE.match((message.location or {}).get("url", "")):
        return
    errors.append(message.text)


def reload(pg, errors: list[str], address: str | None = None) -> None:
    """Reload the page (or load ``address``, a page's address such as ``…/sweep``); only
    Streamlit's own probes (:data:`PROBE`) may answer 404."""
    missing: list[str] = []
    on_response = lambda r: missing.append(r.url) if r.status == 404 else None  # noqa: E731
    pg.on("response", on_response)
    if address is None:
        pg.reload(wait_until="networkidle")
    else:
        pg.goto(address, wait_until="networkidle")
    pg.remove_listener("response", on_response)
    assert all(PROBE.match(u) for u in missing), missing
