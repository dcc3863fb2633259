"""Shared helpers: build small lines in code and compare samples with theory."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from ortools.sat.python import cp_model
from scipy import stats

from linesim.config import line_from_dict

# OR-Tools warns of its deprecated (CamelCase) CP-SAT API only when asked; asked here, so that
# pyproject's filter "error:.* is a deprecated function" fails any test that reaches such a call
cp_model.enable_warnings = True

ROOT = Path(__file__).resolve().parents[1]

# the app's grace for long work whose session has gone (ui/background.py), shortened for the
# tests (AppTest's pages here, the servers of tests/browser.py): 2 s, not 10 s
os.environ.setdefault("LINESIM_UI_ORPHAN_GRACE_S", "2")


def pytest_collection_modifyitems(config, items):
    """Modules with a ``slow`` test run first (their order kept, and the order of the rest):
    on ``-n 2`` the longest tests start while the other worker still has short ones to balance
    them, instead of one worker ending the run alone on a long test."""
    slow = {item.module for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.module not in slow)


@pytest.fixture(autouse=True)
def _private_store(tmp_path_factory, monkeypatch):
    """Commands record in a results store of the test's own, never in the working directory;
    and every test runs in an empty working directory of its own, so no test depends on the
    directory pytest was started from (bundled lines by name, files by ``ROOT``)."""
    monkeypatch.setenv("LINESIM_STORE", str(tmp_path_factory.mktemp("store") / "runs.duckdb"))
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(scope="session")
def _ui_servers(tmp_path_factory):
    """The run's shared ``linesim ui`` (see :func:`serve_ui`): ``{"url", "proc"}`` once
    started; terminated (SIGTERM, as a service manager stops it) at the end."""
    server: dict = {"store": tmp_path_factory.mktemp("ui_store") / "runs.duckdb"}
    yield server
    if "proc" in server:
        server["proc"].terminate()
        server["proc"].wait(timeout=20)


@pytest.fixture(name="ui_server")
def serve_ui(_ui_servers):
    """``linesim ui`` on a free port, shared by every browser test of the run (tests/browser.py;
    each test has a browser session of its own, so its edits and jobs are its own): ``(url,
    process)``; started again (on the same results store) if a test stopped it. Its results
    store (scenarios, kept results) is a file of its own. A test that restarts the server, or
    needs an empty store, starts its own (:func:`browser.start_ui`)."""
    from browser import start_ui

    if "proc" not in _ui_servers or _ui_servers["proc"].poll() is not None:
        _ui_servers["url"], _ui_servers["proc"] = start_ui(_ui_servers["store"])
    return _ui_servers["url"], _ui_servers["proc"]


def _own_server(tmp_path_factory):
    from browser import start_ui

    url, proc = start_ui(tmp_path_factory.mktemp("own_ui_store") / "runs.duckdb")
    yield url, proc
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(name="own_ui_server")
def serve_own_ui(tmp_path_factory):
    """``linesim ui`` of the test's own, with a results store of its own, for a browser test
    of long work (as :func:`serve_ui` yields): no other test's jobs, their threads and their
    grace run on beside it, nor does its own work (a job left to its grace) run on into the
    next test's; ended with the test, its jobs with it."""
    yield from _own_server(tmp_path_factory)


@pytest.fixture(scope="module", name="module_ui_server")
def serve_module_ui(tmp_path_factory):
    """As :func:`serve_own_ui`, shared by the tests of one module (whose work ends with each
    test: none is left running to its grace)."""
    yield from _own_server(tmp_path_factory)


@pytest.fixture(scope="session", autouse=True)
def _one_browser():
    """The browser tests' one chromium, closed at the end of the run (if one was started)."""
    yield
    if "browser" in sys.modules:
        sys.modules["browser"].close_shared_browser()


CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


def make_line(stations: list[dict], name: str = "test_line", energy_kwh: float = 0.3, **extra):
    """A validated LineSpec from a list of station dicts (ids s0, s1, ... when missing);
    ``extra`` adds top-level fields (``calendar``, ``cost``)."""
    out = []
    for k, s in enumerate(stations):
        out.append({"id": f"s{k}", **s})
    return line_from_dict(
        {"name": name, "product": {"energy_kwh": energy_kwh}, "stations": out, **extra}
    )


def within_theory(values, theory: float, level: float = 0.999) -> bool:
    """Whether ``theory`` lies in the Student-t interval of ``values`` at ``level``.

    Tests use 99.9 % so that a correct model fails a given seed once in a thousand; a wrong
    closed form or model fails by many standard errors.
    """
    x = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    return abs(x.mean() - theory) <= half


@pytest.fixture(params=CONFIGS, ids=[p.name for p in CONFIGS])
def bundled_config(request) -> Path:
    return request.param


def settle(at, timeout_s: float = 180.0):
    """Draw the page again until its long work (ui/background.py) has ended: a simulation
    or a search runs on after its script run, as it does in the browser."""
    import time

    deadline = time.monotonic() + timeout_s
    while any(k.startswith("job_") and not k.startswith("job_error_") for k in at.session_state):
        assert time.monotonic() < deadline, "the job did not end"
        time.sleep(0.2)
        at.run()
    return at
