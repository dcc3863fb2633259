"""Long work belongs to the browser tab that started it (issue 17): two tabs on one server, each
with its own simulation; a reload takes over its own tab's job, a tab opened after another was
closed takes over none, nor does another browser at an open tab's address. On a ``linesim ui``
server of the test's own (tests/conftest.py): no other test's long work runs beside it, and the
job it leaves to its grace ends with it."""

import re
import time

from browser import ORPHAN_GRACE_S, browser_page, goto_page, idle, set_run, wait_shown

PILOT = "pilot_sulfide_200mwh"
OXIDE = "pilot_oxide"


def working_line(pg, name: str):
    """The Simulate page's caption naming the working line ``name``."""
    return pg.get_by_text(re.compile(rf"^Working line: {name} "))


def start_long_simulation(pg) -> None:
    """A year × 50 replications on the Simulate page (minutes: cancelled by the test, or left
    running; a busy machine ran 40 of the oxide pilot to their end within the tabs test)."""
    set_run(pg, 365, 50)
    pg.get_by_role("button", name="Run simulation").click()
    wait_shown(pg, running(pg), 90, "the long simulation running")


def running(pg):
    return pg.get_by_test_id("stProgress").filter(has_text="Simulating the line")


def runs_on(pg) -> bool:
    """Whether the page's simulation is still running or has ended with its result (a busy
    machine's test can outlast a year × 50 replications of a pilot, ~3 min), not cancelled
    or stopped (an error: cancelled, its session gone)."""
    idle(pg)
    ended = pg.get_by_text("Simulated output [GWh/yr]").count() > 0
    return (running(pg).count() == 1 or ended) and pg.get_by_test_id("stAlert").filter(
        has_text=re.compile("cancelled|stopped")
    ).count() == 0


def test_a_job_is_its_tabs_own_across_reloads_and_no_other_tab_takes_it(own_ui_server):
    url, _ = own_ui_server
    with browser_page(1280, 720) as (b, errors_b):
        with browser_page(1280, 720) as (a, errors_a):
            # tab A: the oxide pilot, a long simulation
            a.goto(url, wait_until="networkidle")
            a.get_by_test_id("stSelectbox").filter(has_text="Bundled line").click()
            a.get_by_role("option", name=OXIDE, exact=True).click()
            a.get_by_text(f"{OXIDE} — edit").wait_for(timeout=60_000)
            goto_page(a, "Simulate")
            working_line(a, OXIDE).wait_for(timeout=30_000)
            start_long_simulation(a)
            # tab B, opened while A's runs: its own line and no job
            # (the page's load not awaited, its content for long: a busy machine (load 10
            # on 2 cores) took over 90 s to load a page once, two simulations running)
            b.goto(url + "/simulate", wait_until="commit", timeout=90_000)
            wait_shown(b, working_line(b, PILOT), 120, "B's Simulate page")
            idle(b)
            assert running(b).count() == 0
            # A reloads: its new session takes over A's job (and line)
            a.reload(wait_until="commit", timeout=90_000)
            wait_shown(a, running(a), 120, "A's job, taken over after its reload")
            wait_shown(a, working_line(a, OXIDE), 30, "A's line, taken over with its job")
            assert re.search(r"\?tab=[0-9a-f]{32}$", a.url), a.url
            # A's address in another browser (a pasted link, a bookmark) while A is open: it
            # takes nothing, and after the grace it has a tab id of its own; closed, A's job
            # is not stopped with it (checked below, after the grace)
            with browser_page(1280, 720) as (d, errors_d):
                d.goto(a.url, wait_until="commit", timeout=90_000)
                wait_shown(d, working_line(d, PILOT), 120, "D's Simulate page, at A's address")
                d.wait_for_url(lambda u: u != a.url, timeout=ORPHAN_GRACE_S * 1000 + 30_000)
                assert running(d).count() == 0 and runs_on(a)
            d_closed = time.monotonic()
            # B starts one of its own: A's is not replaced; B cancels its job: A's runs on
            start_long_simulation(b)
            idle(b)
            b.get_by_role("button", name="Cancel").click()
            cancelled = b.get_by_test_id("stAlert").filter(has_text="cancelled")
            wait_shown(b, cancelled, 60, "B's job cancelled")
            a.wait_for_timeout(1500 + 1000 * max(0, ORPHAN_GRACE_S - time.monotonic() + d_closed))
            assert runs_on(a)
        # A closed with its job running: a tab opened now starts afresh (the default line,
        # no job), as B does on a reload
        with browser_page(1280, 720) as (c, errors_c):
            c.goto(url + "/simulate", wait_until="commit", timeout=90_000)
            wait_shown(c, working_line(c, PILOT), 120, "C's Simulate page")
            idle(c)
            assert running(c).count() == 0
        b.reload(wait_until="commit", timeout=90_000)
        wait_shown(b, working_line(b, PILOT), 120, "B's Simulate page after its reload")
        idle(b)
        assert running(b).count() == 0
    errors = errors_a + errors_b + errors_c + errors_d
    assert not errors, errors
