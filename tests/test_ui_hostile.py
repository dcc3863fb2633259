"""The app under attack (issue 21): hostile uploads, lines without a cost block, markdown in
names, work over the app's limits. Every page shows one error (or the line) and never a
traceback, within a time ceiling; in headless Chromium an upload without a cost block, a hostile
upload that leaves the server responsive, and a simulation that stops when its browser leaves.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import suppress

import psutil
import pytest
import yaml
from browser import ORPHAN_GRACE_S, browser_page, goto_page
from conftest import ROOT, settle
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(ROOT / "ui"))
import common
import jobs

pytestmark = pytest.mark.hostile

PAGES = ROOT / "ui" / "views"
CASE_CEILING_S = 30.0  #: wall time of one case (an upload is checked within 10 s) [s]
RSS_CEILING_BYTES = 3 * 2**30  #: the test process's peak memory: the work is in children

#: A valid line without a cost block.
NO_COST = {
    "name": "tiny",
    "product": {"energy_kwh": 0.3},
    "stations": [
        {"id": "a", "kind": "discrete", "cycle_time_s": 10.0, "defect_probability": 0.01},
        {"id": "b", "kind": "discrete", "cycle_time_s": 12.0, "defect_probability": 0.02},
    ],
}
MARKDOWN_NAME = "![x](http://evil.invalid/x.png) **bold** [link](javascript:alert(1))"
HTML_NAME = "<img src=x onerror=alert(1)><script>alert(2)</script>"
CONTROL_NAME = "left\u202eright\nsecond line\x07"


def plain(markdown: str) -> str:
    """What a markdown text shows: the app backslash-escapes every punctuation mark."""
    return re.sub(r"\\(.)", r"\1", markdown)


def markup(markdown: str) -> list[str]:
    """The markdown in a text that would render: an image, a link or an HTML tag (escaped
    characters taken out first)."""
    return re.findall(r"!\[|\]\(|<[a-zA-Z/]", re.sub(r"\\.", "", markdown))


def dumped(**changes) -> bytes:
    return yaml.safe_dump({**NO_COST, **changes}, sort_keys=False).encode()


def station(**changes) -> bytes:
    return dumped(stations=[{**NO_COST["stations"][0], **changes}, NO_COST["stations"][1]])


def laughs(levels: int = 9) -> bytes:
    """A "billion laughs": 10 aliases per level, 10^levels strings when expanded."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for k in range(1, levels + 1):
        refs = ",".join([f"*a{k - 1}"] * 10)
        lines.append(f"a{k}: &a{k} [{refs}]")
    return (
        "\n".join(lines) + f"\nname: x\nproduct: {{energy_kwh: 0.3}}\nstations: *a{levels}\n"
    ).encode()


def page(name: str, spec_yaml: str | None = None, source: str = "test") -> AppTest:
    """A page run once, on the working line ``spec_yaml`` (the pilot line if None)."""
    at = AppTest.from_file(str(PAGES / name), default_timeout=120)
    if spec_yaml is not None:
        at.session_state["spec_yaml"] = spec_yaml
        at.session_state["spec_source"] = source
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload(file_name: str, data: bytes) -> AppTest:
    """The Line page after uploading ``data`` as ``file_name``."""
    at = page("line.py")
    at.file_uploader(key="upload").set_value((file_name, data, "application/x-yaml")).run()
    return at


INFINITE_CYCLE = dumped().replace(b"cycle_time_s: 10.0", b"cycle_time_s: 1e400")
#: (case, file name, content, what the one error says, shown literally)
REFUSED = [
    ("over the size limit", "big.yaml", b"# padding\n" * 200_000, ["big.yaml", "1 MB"]),
    ("billion laughs", "laughs.yaml", laughs(), ["laughs.yaml"]),
    ("not UTF-8", "latin.yaml", b"name: caf\xe9\n", ["latin.yaml", "UTF-8"]),
    ("YAML syntax", "syntax.yaml", b"name: [unclosed\n", ["syntax.yaml", "YAML"]),
    ("a list, not a mapping", "list.yaml", b"- 1\n- 2\n", ["list.yaml", "mapping"]),
    ("empty", "empty.yaml", b"", ["empty.yaml", "empty"]),
    ("p above 1", "p.yaml", station(defect_probability=1.5), ["p.yaml", "defect_probability"]),
    ("extends a system file", "ext.yaml", dumped(extends="../../etc/shadow"), ["extends"]),
    ("5,000-digit machines", "digits.yaml", station(machines=10**4000), ["digits.yaml"]),
    ("machines 1e100", "e100.yaml", station(machines=1e100), ["e100.yaml", "machines"]),
    ("cycle 1e308", "huge.yaml", station(cycle_time_s=1e308), ["huge.yaml", "cycle_time_s"]),
    ("cycle -1", "neg.yaml", station(cycle_time_s=-1.0), ["neg.yaml", "cycle_time_s"]),
    ("NaN p", "nan.yaml", station(defect_probability=float("nan")), ["nan.yaml"]),
    ("duplicate ids", "dup.yaml", dumped(stations=[NO_COST["stations"][0]] * 2), ["dup.yaml"]),
    ("markdown id", "id.yaml", station(id=MARKDOWN_NAME), ["id.yaml", "id"]),
    ("markdown field", "key.yaml", dumped(**{MARKDOWN_NAME: 1}), ["key.yaml", "unknown field"]),
    ("markdown file name", "**evil**](x).yaml", b"- 1\n", ["**evil**](x).yaml", "mapping"]),
    ("python tag", "tag.yaml", b"name: !!python/object/apply:os.system [id]\n", ["tag.yaml"]),
    ("deep nesting", "deep.yaml", b"name: " + b"[" * 5000 + b"]" * 5000 + b"\n", ["deep.yaml"]),
    ("control characters", "nul.yaml", b"name: \x00\x01\n", ["nul.yaml"]),
    ("no stations", "none.yaml", dumped(stations=[]), ["none.yaml", "stations"]),
    ("wrong kind", "kind.yaml", station(kind="teleporter"), ["kind.yaml", "kind"]),
    ("long text value", "long.yaml", station(kind="x" * 500_000), ["long.yaml", "kind"]),
    ("tab indentation", "tab.yaml", b"name: x\n\tproduct: 1\n", ["tab.yaml", "YAML"]),
    ("cycle 1e400 (infinite)", "inf.yaml", INFINITE_CYCLE, ["inf.yaml", "cycle_time_s"]),
    ("negative machines", "negm.yaml", station(machines=-1), ["negm.yaml", "machines"]),
    ("text for a number", "text.yaml", station(cycle_time_s="fast"), ["text.yaml", "cycle"]),
    ("stations as a number", "sn.yaml", dumped(stations=7), ["sn.yaml", "stations"]),
    ("null name", "null.yaml", dumped(name=None), ["null.yaml", "name"]),
    ("HTML field", "html.yaml", dumped(**{HTML_NAME: 1}), ["html.yaml", "unknown field"]),
    ("zero energy", "zero.yaml", dumped(product={"energy_kwh": 0}), ["zero.yaml", "energy"]),
    ("negative p", "negp.yaml", station(defect_probability=-0.1), ["negp.yaml", "defect"]),
    ("MTBF without MTTR", "mtbf.yaml", station(mtbf_h=5.0), ["mtbf.yaml", "mttr_h"]),
    ("binary junk", "junk.yaml", bytes(range(256)) * 40, ["junk.yaml", "UTF-8"]),
    ("a text document", "str.yaml", b"just some words\n", ["str.yaml", "mapping"]),
]


@pytest.mark.parametrize(
    ("file_name", "data", "says"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
def test_a_hostile_upload_gets_one_error_and_keeps_the_line(file_name, data, says):
    start = time.monotonic()
    at = upload(file_name, data)
    assert time.monotonic() - start < CASE_CEILING_S
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1, [e.value for e in at.error]
    message = at.error[0].value
    for text in says:
        assert text in plain(message), message
    assert "Traceback" not in message and len(message) < 2000
    assert markup(message) == [] and "**evil" not in message  # user text is never rendered
    assert at.session_state["spec_source"] == "pilot_sulfide_200mwh"  # the line is kept
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 < RSS_CEILING_BYTES


@pytest.mark.parametrize("name", [MARKDOWN_NAME, HTML_NAME])
def test_a_name_with_markdown_or_html_is_shown_literally(name):
    at = upload("named.yaml", dumped(name=name))
    assert not at.exception and not at.error, [e.value for e in at.error]
    heading = at.subheader[0].value
    shown = name
    assert plain(heading) == f"{shown} — edit"
    assert markup(heading) == [] and "**bold" not in heading
    at = page("simulate.py", at.session_state["spec_yaml"], "named.yaml")
    assert plain(at.caption[0].value) == f"Working line: **{shown}** (named.yaml)"


def test_a_name_with_control_characters_is_refused_and_shown_escaped():
    at = upload("named.yaml", dumped(name=CONTROL_NAME))
    assert not at.exception
    (error,) = [e.value for e in at.error]
    assert "named.yaml: name**: contains the control character U+202E" in plain(error)
    assert not {"\u202e", "\x07", "\n"} & set(error)


def test_every_page_works_without_a_cost_block():
    at = upload("tiny.yaml", dumped())
    assert not at.error, [e.value for e in at.error]
    text = at.session_state["spec_yaml"]
    values = {m.label: m.value for m in at.metric}
    assert values["Max good output"] != "—" and values["Cost per good kWh"] == "—"
    assert any("needs the line's `cost:` block" in i.value for i in at.info)
    at = page("cost.py", text)
    assert [i.value for i in at.info] == ["The cost model " + common.NEEDS_COST + "."]
    at = page("yield_loss.py", text)
    steps = at.dataframe[0].value
    assert list(steps["station"]) == ["a", "b"]
    assert steps["cumulative yield [-]"].iloc[-1] == pytest.approx(0.99 * 0.98)
    at = page("compare.py", text)
    assert [plain(w.value) for w in at.warning] == [
        "Left out: working line. The comparison (of cost among the rest) "
        + plain(common.NEEDS_COST)
        + "."
    ]
    at = page("optimise.py", text)
    at.number_input(key="target_gwh").set_value(0.01)
    at.checkbox(key="pareto").set_value(False)
    at.selectbox(key="objective").set_value("min_cost")
    settle(at.button(key="run_optimise").click().run())
    assert not at.exception
    assert len(at.error) == 1 and "cost" in at.error[0].value, [e.value for e in at.error]
    at = page("simulate.py", text)
    at.number_input(key="horizon_days").set_value(1.0)
    at.number_input(key="replications").set_value(2)
    settle(at.button(key="run").click().run())
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert float(next(m.value for m in at.metric if m.label == "Good cells/h")) > 0


def _task_children() -> list[psutil.Process]:
    """The children of the fork server that runs the app's tasks (none when it is idle)."""
    from multiprocessing import forkserver

    pid = forkserver._forkserver._forkserver_pid  # type: ignore[attr-defined]
    return psutil.Process(pid).children() if pid else []


def test_a_simulation_over_the_time_limit_stops_with_one_error(monkeypatch, fork_server):
    monkeypatch.setattr(common, "SIMULATION_TIME_LIMIT_S", 2.0)
    at = page("simulate.py")
    at.number_input(key="horizon_days").set_value(365.0)
    at.number_input(key="replications").set_value(50)
    start = time.monotonic()
    settle(at.button(key="run").click().run())
    assert time.monotonic() - start < 2.0 + 5.0
    assert not at.exception
    assert [plain(e.value) for e in at.error] == [
        "Simulating the line took longer than the app's limit of 2 s; allowed: a shorter "
        "horizon, fewer replications, or `linesim run` for long runs"
    ]
    assert _task_children() == []


@pytest.fixture(scope="module")
def fork_server():
    """The app's fork server started (it preloads linesim once: seconds), so that a test's time
    ceiling measures the task."""
    assert jobs.run(int, "1", label="Warming up", time_limit_s=120, memory_mib=64, remedy="") == 1


def test_an_absurd_simulation_is_refused_with_its_estimate(fork_server):
    quick = [{"id": s, "kind": "discrete", "cycle_time_s": 0.001} for s in ("a", "b")]
    at = page("simulate.py", dumped(stations=quick).decode())
    at.number_input(key="horizon_days").set_value(365.0)
    at.number_input(key="replications").set_value(50)
    start = time.monotonic()
    settle(at.button(key="run").click().run())
    assert time.monotonic() - start < 10.0
    assert not at.exception and len(at.error) == 1
    message = plain(at.error[0].value)
    assert message.startswith("Horizon [days], Replications: the simulation is too large")
    assert "events" in message and message.endswith("`linesim run --allow-large` to run it anyway")
    assert _task_children() == []


def test_a_task_over_its_memory_limit_is_one_error(fork_server):
    start = time.monotonic()
    with pytest.raises(jobs.TaskFailed) as failed:
        jobs.run(
            bytearray, 2**32, label="Allocating", time_limit_s=30, memory_mib=64, remedy="less"
        )
    assert time.monotonic() - start < 10.0
    assert str(failed.value) == (
        "Allocating needed more than the app's memory limit of 64 MiB; allowed: less"
    )
    assert _task_children() == []


def test_a_task_over_its_time_limit_is_killed(fork_server):
    start = time.monotonic()
    with pytest.raises(jobs.TaskFailed) as failed:
        jobs.run(time.sleep, 60, label="Sleeping", time_limit_s=1, memory_mib=64, remedy="less")
    assert time.monotonic() - start < 5.0
    assert str(failed.value) == "Sleeping took longer than the app's limit of 1 s; allowed: less"
    assert _task_children() == []


def test_a_task_that_dies_or_fails_is_one_error_with_details():
    with pytest.raises(jobs.TaskFailed) as failed:
        jobs.run(os.abort, label="Aborting", time_limit_s=10, memory_mib=64, remedy="less")
    assert str(failed.value) == (
        "Aborting stopped without a result (exit code -6), most likely over the app's memory "
        "limit of 64 MiB; allowed: less"
    )
    with pytest.raises(jobs.TaskFailed) as failed:
        jobs.run(int, "x", label="Parsing", time_limit_s=10, memory_mib=64, remedy="less")
    assert (
        str(failed.value)
        == "Parsing failed: ValueError: invalid literal for int() with base 10: 'x'"
    )
    assert "Traceback" in failed.value.details
    assert _task_children() == []


def test_a_task_ends_when_its_page_process_is_killed():
    """A SIGKILL-ed Streamlit server cannot clean up: its task child and the fork server end
    on their own (the child's lifeline pipe closes)."""
    script = (
        f"import sys, time; sys.path[:0] = [{str(ROOT / 'ui')!r}, {str(ROOT)!r}]; import jobs; "
        "jobs.run(time.sleep, 600, label='Sleeping', time_limit_s=900, memory_mib=64, "
        "remedy='less')"
    )
    page_process = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60.0
        tree: list[psutil.Process] = []
        while len(tree) < 2 and time.monotonic() < deadline:  # the fork server and the task
            time.sleep(0.2)
            tree = [
                p
                for p in psutil.Process(page_process.pid).children(recursive=True)
                if "forkserver" in " ".join(p.cmdline())
            ]
        assert len(tree) == 2
    finally:
        page_process.kill()
        page_process.wait()
    deadline = time.monotonic() + 2.0
    while _running(tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _running(tree) == []


def _running(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those still running (an ended process nobody has reaped yet is a zombie: not running)."""
    out = []
    for p in processes:
        try:
            if p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def test_an_unexpected_error_is_short_with_its_details_folded(monkeypatch):
    def broken(*args):
        raise RuntimeError("a bug, not the user's mistake")

    monkeypatch.setattr(common, "capacity_of", broken)  # what the Line page shows first
    at = AppTest.from_file(str(PAGES / "line.py"), default_timeout=60).run()
    assert not at.exception
    assert [plain(e.value) for e in at.error] == [
        "Something went wrong in the app (RuntimeError: a bug, not the user's mistake). "
        "Reload the page; if it happens again, report it with the details below."
    ]
    assert [x.label for x in at.expander] == ["details"]
    assert "Traceback" in at.expander[0].code[0].value


def test_a_hostile_table_edit_names_its_station_and_column():
    at = page("line.py")
    key = f"stations_{at.session_state['line_revision']}"  # the table is keyed on the line
    row = at.data_editor(key=key).value["station"].tolist().index("stacking")
    at.session_state[key] = {
        "edited_rows": {row: {"MTBF [h]": -5.0}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception
    assert len(at.error) == 1
    message = plain(at.error[0].value)
    assert message.startswith("Row **stacking**, column **MTBF [h]** = -5.0: ")
    assert "<table>" not in message and "stations[" not in message


def test_a_scenario_name_with_markdown_is_shown_literally():
    at = page("compare.py", dumped().decode())
    at.text_input(key="save_name").set_value(MARKDOWN_NAME)
    at.button(key="save").click().run()
    at.multiselect(key="compare").set_value([MARKDOWN_NAME, "pilot_oxide"]).run()
    assert not at.exception
    warning = at.warning[0].value
    assert plain(warning).startswith(f"Left out: {MARKDOWN_NAME}. ")
    assert markup(warning) == []


# --- end to end in headless Chromium ---------------------------------------------------------


def _upload_in_browser(pg, path) -> None:
    pg.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(path))


def test_an_upload_without_cost_and_with_markdown_in_chromium(ui_server, tmp_path):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    url, _ = ui_server
    path = tmp_path / "tiny.yaml"
    path.write_bytes(dumped(name=MARKDOWN_NAME + " " + HTML_NAME))
    with browser_page() as (pg, errors):
        pg.goto(url, wait_until="networkidle")
        pg.get_by_text("Max good output").first.wait_for(timeout=90_000)
        _upload_in_browser(pg, path)
        pg.get_by_text("**bold**", exact=False).first.wait_for(timeout=30_000)
        heading = pg.locator("h3").filter(has_text="— edit").first.inner_text()
        card = pg.locator('[data-testid="stMetric"]').filter(has_text="Cost per good kWh")
        value = card.locator('[data-testid="stMetricValue"]')
        # the page re-renders element by element: the old line's card may still show a moment
        with suppress(PlaywrightTimeout):
            value.filter(has_text="—").wait_for(timeout=30_000)
        cost = value.inner_text()
        images = pg.locator("img[src*='evil'], img[src='x']").count()
        goto_page(pg, "Cost")
        pg.get_by_text("The cost model needs the line's").wait_for(timeout=30_000)
    assert heading.startswith(MARKDOWN_NAME + " " + HTML_NAME), heading
    assert cost == "—" and images == 0
    assert not [e for e in errors if "alert" in e], errors


def test_a_hostile_upload_leaves_the_server_responsive_in_chromium(ui_server, tmp_path):
    url, _ = ui_server
    path = tmp_path / "laughs.yaml"
    path.write_bytes(laughs())
    latencies: list[float] = []
    done = threading.Event()

    def health() -> None:
        while not done.is_set():
            start = time.monotonic()
            urllib.request.urlopen(url + "/_stcore/health", timeout=10).read()
            latencies.append(time.monotonic() - start)
            time.sleep(0.2)

    with browser_page() as (pg, _errors):
        pg.goto(url, wait_until="networkidle")
        pg.get_by_text("Max good output").first.wait_for(timeout=90_000)
        checker = threading.Thread(target=health)
        checker.start()
        try:
            _upload_in_browser(pg, path)
            alert = pg.locator('[data-testid="stAlertContentError"]').first
            alert.wait_for(timeout=30_000)
            message = alert.inner_text()
        finally:
            done.set()
            checker.join()
    assert "laughs.yaml" in message, message
    assert latencies and max(latencies) < 1.0, latencies


def _task_processes(server: psutil.Process) -> list[psutil.Process]:
    """The app's task children under ``linesim ui``: forked from its fork server, so they share
    its command line; the fork server itself is the one whose parent is not one of them. A
    task killed but not yet reaped (a zombie) has ended: not counted."""
    forked = [p for p in server.children(recursive=True) if "forkserver" in _command_line(p)]
    return [p for p in forked if p.ppid() in {f.pid for f in forked}]


def _alive(p: psutil.Process) -> bool:
    """Whether ``p`` still runs (a zombie, killed but not yet reaped, has ended)."""
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _command_line(p: psutil.Process) -> str:
    try:
        return " ".join(p.cmdline())
    except (psutil.ZombieProcess, psutil.NoSuchProcess):
        return ""


def test_a_simulation_stops_when_its_browser_leaves(ui_server):
    url, proc = ui_server
    server = psutil.Process(proc.pid)
    before = {p.pid for p in _task_processes(server)}  # other tests' work on the shared server
    with browser_page() as (pg, _errors):
        pg.goto(url + "/simulate", wait_until="networkidle")
        pg.get_by_label("Horizon [days]").fill("365")
        pg.keyboard.press("Enter")
        pg.get_by_label("Replications").fill("50")
        pg.keyboard.press("Enter")
        pg.get_by_role("button", name="Run simulation").click()
        pg.get_by_text("Simulating the line…", exact=False).first.wait_for(timeout=30_000)
        ours = [p for p in _task_processes(server) if p.pid not in before]
        assert len(ours) == 1, ours
    # it runs on for a reload's new session to take it over, then ends
    deadline = time.monotonic() + ORPHAN_GRACE_S + 10.0
    while _alive(ours[0]):
        assert time.monotonic() < deadline, "the simulation outlived its browser's grace"
        time.sleep(0.2)
