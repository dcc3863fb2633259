"""The what-if app in headless Chromium, as a planner uses it (issue 17): edits kept, uploads
with ``extends:``, errors that name the station. On the run's shared ``linesim ui`` server
(tests/conftest.py)."""

import re
import sys

from browser import (
    browser_page,
    edit_cell,
    goto_page,
    metric_value,
    pick_option,
    start_ui,
    wait_for_metric,
)
from conftest import ROOT

from linesim.capacity import capacity_report
from linesim.config import load_line

PILOT = "pilot_sulfide_200mwh"


def output(overrides=()) -> str:
    """The Line page's "Max good output" card of the pilot line with ``overrides``."""
    cap = capacity_report(load_line(PILOT, overrides))
    return f"{cap.max_output_gwh_per_year:.3f} GWh/yr"


def open_line_page(pg, url):
    pg.goto(url, wait_until="networkidle")
    pg.get_by_text("Max good output").first.wait_for(timeout=90_000)


def stations_grid(pg):
    return pg.get_by_test_id("stDataFrame").first


def table_cell(pg, row: int, column: int, expected: str = "") -> str:
    """What the stations table shows in ``row``, ``column`` (0-based, a row in view): once it
    shows ``expected``, or after 10 s (the grid redraws after the page's other elements)."""
    cell = stations_grid(pg).locator(f"#glide-cell-{column}-{row}")
    for _ in range(100):
        shown = cell.inner_text()
        if shown == expected or not expected:
            break
        pg.wait_for_timeout(100)
    return shown


def test_table_and_quick_edits_at_the_selected_station_are_kept(ui_server):
    """Issue 17: a table edit at the station the quick-edit panel shows was undone by the
    panel; and a quick edit must show in the table. The panel's station outlives a visit to
    another page."""
    url, _ = ui_server
    neck = capacity_report(load_line(PILOT)).bottleneck  # stacking, row 7, 3 machines
    with browser_page(height=1400) as (pg, errors):
        open_line_page(pg, url)
        pg.get_by_test_id("stSelectbox").filter(has_text="Station").first.click()
        pg.get_by_role("option", name=neck, exact=True).click()
        pg.get_by_role("spinbutton", name="Machines").wait_for()
        pg.wait_for_timeout(500)
        edit_cell(pg, stations_grid(pg), 7, 2, 4)  # stacking: 3 → 4 machines
        four = output([f"stations.{neck}.machines=4"])
        assert wait_for_metric(pg, "Max good output", four) == four
        # another rerun (another station chosen and back) keeps it
        pg.get_by_test_id("stSelectbox").filter(has_text="Station").first.click()
        pg.get_by_role("option", name="laser_cutting", exact=True).click()
        pg.wait_for_timeout(1000)
        pg.get_by_test_id("stSelectbox").filter(has_text="Station").first.click()
        pg.get_by_role("option", name=neck, exact=True).click()
        pg.wait_for_timeout(1000)
        assert metric_value(pg, "Max good output") == four
        assert pg.get_by_role("spinbutton", name="Machines").input_value() == "4"
        assert table_cell(pg, 7, 0) == neck
        assert table_cell(pg, 7, 2, "4") == "4"
        # another page and back: the edit is kept and the panel is still at the station the
        # user chose (not at the new bottleneck, se_powder_prep with 1 machine)
        goto_page(pg, "Yield")
        goto_page(pg, "Line")
        assert metric_value(pg, "Max good output") == four
        chosen = pg.get_by_test_id("stSelectbox").filter(has_text="Station").first
        assert chosen.locator('input[role="combobox"]').input_value() == neck
        assert pg.get_by_role("spinbutton", name="Machines").input_value() == "4"
        # the quick-edit panel's edit reaches the table
        pg.get_by_role("spinbutton", name="Machines").fill("5")
        pg.keyboard.press("Enter")
        five = output([f"stations.{neck}.machines=5"])
        assert wait_for_metric(pg, "Max good output", five) == five
        assert table_cell(pg, 7, 2, "5") == "5"
    assert not errors, errors


def test_upload_with_extends_and_errors_naming_the_station(ui_server, tmp_path):
    """An upload extending a bundled line loads; one extending a file of its own says why
    not; a duplicate station id is named by id, never ``stations[8]``."""
    url, _ = ui_server
    good = tmp_path / "mine.yaml"
    good.write_text(f"extends: {PILOT}\nname: mine\nstations:\n  stacking:\n    machines: 4\n")
    own = tmp_path / "own.yaml"
    own.write_text("extends: base.yaml\nname: own\n")
    text = load_line(PILOT).model_dump(mode="json", exclude_defaults=True)
    text["stations"][8]["id"] = text["stations"][7]["id"]  # tab_welding → a second stacking
    dup = tmp_path / "dup.yaml"
    import yaml

    dup.write_text(yaml.safe_dump(text, sort_keys=False))
    with browser_page() as (pg, errors):
        open_line_page(pg, url)
        upload = pg.get_by_test_id("stFileUploaderDropzoneInput")
        upload.set_input_files(str(good))
        four = output(["stations.stacking.machines=4"])
        assert wait_for_metric(pg, "Max good output", four) == four
        pg.get_by_text("mine — edit").wait_for(timeout=10_000)
        upload.set_input_files(str(own))
        alert = pg.get_by_test_id("stAlert").filter(has_text="extends")
        alert.wait_for(timeout=20_000)
        said = alert.inner_text()
        assert "own.yaml" in said and "the base config does not exist" in said, said
        assert "bundled line by name" in said, said
        upload.set_input_files(str(dup))
        alert = pg.get_by_test_id("stAlert").filter(has_text="unique")
        alert.wait_for(timeout=20_000)
        said = alert.inner_text()
        assert "stations.tab_welding.id" in said or "stations.stacking" in said, said
        assert not re.search(r"stations\[\d+\]|<edit>|<table>", said), said
    assert not errors, errors


def test_compare_of_lines_that_share_a_name_shows_a_bar_each(ui_server):
    """The working line (the pilot) against the bundled pilot and the 4 GWh line: three bars,
    not two with the pilot's stacked twice."""
    url, _ = ui_server
    with browser_page() as (pg, errors):
        open_line_page(pg, url)
        goto_page(pg, "Compare")
        pg.get_by_text("Lines to compare").first.wait_for(timeout=90_000)
        pick_option(pg, pg.get_by_test_id("stMultiSelect").first, PILOT)
        ticks = pg.locator('[data-testid="stPlotlyChart"] .xtick text')
        for _ in range(900):  # up to 90 s: the three lines' costs are computed on a busy machine
            labels = ticks.evaluate_all("els => els.map(e => e.textContent)")
            if len(labels) >= 3:
                break
            pg.wait_for_timeout(100)
        pg.wait_for_timeout(500)
        labels = ticks.evaluate_all("els => els.map(e => e.textContent)")
    assert labels == ["working line", "gwh_sulfide_4gwh", PILOT], labels
    assert not errors, errors


def test_a_saved_scenario_and_running_work_outlive_a_reload_and_a_server_restart(tmp_path):
    """Saved on the Compare page, the scenario is there after a browser reload and after
    the server restarts on the same results store; reopened, it is the working line; then
    deleted. A simulation running when the server stopped shows after the restart as
    interrupted to its tab (the address it had), its inputs kept: Rerun starts it again with
    them. The restarted server's
    sidebar shows the pages' titles from its first script run on."""
    from test_ui_tabs import running, start_long_simulation, working_line

    store = tmp_path / "runs.duckdb"
    url, proc = start_ui(store)
    try:
        with browser_page() as (pg, errors):
            open_line_page(pg, url)
            pg.get_by_test_id("stSelectbox").filter(has_text="Bundled line").click()
            pg.get_by_role("option", name="pilot_oxide", exact=True).click()
            pg.get_by_text("pilot_oxide — edit").wait_for(timeout=30_000)
            goto_page(pg, "Compare")
            pg.get_by_label("Save the working line as a scenario").fill("oxide as is")
            pg.keyboard.press("Enter")
            pg.get_by_role("button", name="Save scenario").click()
            pg.get_by_text("Saved scenario oxide as is").wait_for(timeout=30_000)
            open_line_page(pg, url)  # the page loaded again: a new session
            goto_page(pg, "Compare")
            pg.get_by_role("button", name="Open as working line").wait_for(timeout=30_000)
            goto_page(pg, "Simulate")
            start_long_simulation(pg)  # running when the server stops
            tab = pg.url.split("?tab=")[1]  # a restart's new session of this tab is offered it
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    url, proc = start_ui(store)
    try:
        with browser_page() as (pg, errors2):
            # a fresh server's first script run, at a page's address: the sidebar lists the
            # pages by their titles (not the old multipage layout's file names)
            pg.goto(f"{url}/simulate?tab={tab}", wait_until="networkidle")  # the tab again
            nav = pg.get_by_test_id("stSidebarNavLink")
            nav.first.wait_for(timeout=60_000)
            titles = [text.split()[-1] for text in nav.all_inner_texts()]
            assert titles == [
                *("Line", "Simulate", "Yield", "Cost"),
                *("Optimise", "Compare", "Uncertainty", "Sweep"),
            ], nav.all_inner_texts()
            said = pg.get_by_test_id("stAlert").filter(has_text="server stopped")
            said.wait_for(timeout=30_000)
            assert "Simulating the line" in said.inner_text() and PILOT in said.inner_text()
            pg.get_by_role("button", name="Rerun").click()
            running(pg).wait_for(timeout=30_000)
            working_line(pg, PILOT).wait_for(timeout=30_000)
            assert said.count() == 0
            pg.get_by_role("button", name="Cancel").click()
            pg.get_by_test_id("stAlert").filter(has_text="cancelled").wait_for(timeout=30_000)
            goto_page(pg, "Compare")
            pg.get_by_role("button", name="Open as working line").click()
            pg.get_by_text("Scenario oxide as is is the working line").wait_for(timeout=30_000)
            goto_page(pg, "Line")
            pg.get_by_text("pilot_oxide — edit").wait_for(timeout=30_000)
            goto_page(pg, "Compare")
            pg.get_by_role("button", name="Delete").click()
            opener = pg.get_by_role("button", name="Open as working line")
            opener.wait_for(state="detached", timeout=30_000)  # no scenario left to open
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    sys.path.insert(0, str(ROOT / "ui"))  # the app's modules, as its pages have
    from kept import LINE_ARG

    from linesim.config import dump_line
    from linesim.store import Store

    assert Store(store).scenarios() == []
    first, again = Store(store).records("ui_job")[::-1]  # the rerun, then the one interrupted
    assert (first["status"], again["status"]) == ("rerun", "cancelled")
    pilot = dump_line(load_line(PILOT))  # the line of the new session that ran it, kept once
    assert first["args"]["task_args"] == again["args"]["task_args"] == [LINE_ARG, 365.0, 50, 1]
    assert first["config_text"] == again["config_text"] == pilot
    assert first["args"]["tab"] == again["args"]["tab"] == tab
    assert not errors and not errors2, errors + errors2
