"""Signals end the whole process tree promptly and say what was kept; progress moves within a
replication without changing its result; ``--vary`` refuses non-finite and absurd ranges.

The signal tests start ``linesim`` in a session of its own (as a terminal or a service manager
does), signal that process alone with ``os.kill``, and check with psutil that none of its
descendants (pool workers, the Streamlit server) is left 2 s after the first signal.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import suppress
from pathlib import Path

import psutil
import pytest
from conftest import ROOT, make_line
from test_fast_engine import assert_identical

from linesim.cli.main import main
from linesim.errors import UsageError
from linesim.experiments import replicate, run_tasks
from linesim.simulation import simulate
from linesim.sweep import factorial, parse_vary

PROMPT_S = 2.0  #: the whole process tree is gone this long [s] after the first signal
START_S = 180.0  #: how long [s] a command may take to start its workers (a loaded machine)
PAUSE_S = 0.2  #: between the two signals of a double Ctrl-C [s]
#: ``ray.shutdown()`` alone takes 1.5–2 s on a loaded machine (it stops its local cluster)
RAY_PROMPT_S = 4.0
PILOT = "pilot_sulfide_200mwh"
#: a run long enough to be interrupted (SimPy: no compile time before the workers start)
LONG = ("--horizon", "120d", "--engine", "simpy", "--workers", "2")
SWEEP = ("sweep", PILOT, "--vary", "stations.stacking.capex_usd=1..4", *LONG, "--replications", "2")
#: what an interrupted SWEEP says it kept (its finished variants stay in the store)
SWEEP_KEPT = (
    r"0 of 4 variants finished \(0 of 8 replications\), "
    r"the finished variants kept in the store as record \S+"
)

CASES = {
    "SIGINT": ((signal.SIGINT,), 130, "interrupted"),
    "SIGTERM": ((signal.SIGTERM,), 143, "terminated"),
    "SIGINT twice": ((signal.SIGINT, signal.SIGINT), 130, "interrupted"),
}


# --- running linesim in a session of its own --------------------------------------------------
def _env() -> dict[str, str]:
    """This environment, with this checkout first on the path of the child's Python."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}


@pytest.fixture
def launch(tmp_path):
    """Start ``python -m linesim ARGS`` in a new session (stderr to a file); whatever is left
    of its process tree at the end of the test is killed."""
    started: list[tuple[subprocess.Popen, list[psutil.Process]]] = []

    def start(*args: str) -> tuple[subprocess.Popen, Path]:
        err = tmp_path / f"stderr{len(started)}.txt"
        with err.open("w") as f:
            proc = subprocess.Popen(
                [sys.executable, "-m", "linesim", *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=f,
                env=_env(),
                cwd=tmp_path,
                start_new_session=True,
            )
        started.append((proc, []))
        return proc, err

    def track(proc: subprocess.Popen, tree: list[psutil.Process]) -> None:
        next(t for p, t in started if p is proc).extend(tree)

    start.track = track  # type: ignore[attr-defined]
    yield start
    for proc, tree in started:
        for p in [*tree, psutil.Process(proc.pid) if proc.poll() is None else None]:
            if p is not None:
                with suppress(psutil.NoSuchProcess):
                    p.kill()
        proc.wait(timeout=10)


def _descendants(proc: subprocess.Popen, at_least: int) -> list[psutil.Process]:
    """The process tree under ``proc`` once it has ``at_least`` processes (its workers)."""
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"linesim ended (code {proc.returncode}) before its workers"
        with suppress(psutil.NoSuchProcess):
            tree = psutil.Process(proc.pid).children(recursive=True)
            if len(tree) >= at_least:
                return tree
        time.sleep(0.2)
    pytest.fail(f"fewer than {at_least} child processes after {START_S} s")


def _running_a_ray_task(proc: subprocess.Popen) -> None:
    """Wait until a Ray worker under ``proc`` runs a sweep task (Ray titles it ``ray::_task``)."""
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"linesim ended (code {proc.returncode}) before its tasks"
        with suppress(psutil.NoSuchProcess):
            for child in psutil.Process(proc.pid).children(recursive=True):
                with suppress(psutil.Error):
                    if "ray::_task" in " ".join(child.cmdline()):
                        return
        time.sleep(0.2)
    pytest.fail(f"no Ray worker ran a task within {START_S} s")


def _signal(proc: subprocess.Popen, signals: tuple[int, ...]) -> float:
    """Send ``signals`` to ``proc`` alone, :data:`PAUSE_S` apart; the time of the first."""
    first = time.monotonic()
    for k, sig in enumerate(signals):
        if k:
            time.sleep(PAUSE_S)
        with suppress(ProcessLookupError):  # already gone after the first one
            os.kill(proc.pid, sig)
    return first


def _assert_tree_gone(
    proc: subprocess.Popen, tree: list[psutil.Process], since: float, prompt_s: float = PROMPT_S
) -> None:
    """Wait for ``proc`` to exit; assert that it and ``tree`` are gone ``prompt_s`` after
    ``since``."""
    try:
        proc.wait(timeout=prompt_s + 5)  # a few more seconds to tell slow from hung
    except subprocess.TimeoutExpired:
        pytest.fail(f"linesim still running {prompt_s + 5} s after the signal")
    took = time.monotonic() - since
    _, alive = psutil.wait_procs(tree, timeout=max(0.0, since + prompt_s - time.monotonic()))
    alive = [p for p in alive if _alive(p)]
    assert not alive, f"left running: {[(p.pid, p.name()) for p in alive]}"
    assert took < prompt_s, f"linesim took {took:.2f} s to exit"


def _alive(p: psutil.Process) -> bool:
    try:
        return p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _lines(err: Path) -> list[str]:
    return err.read_text().splitlines()


def _assert_said(lines: list[str], word: str, kept: str, signals: tuple[int, ...]) -> None:
    """One line saying what was kept; after a second Ctrl-C, possibly the line of the second
    one instead of (or after) it."""
    again = f"linesim: {word} again: stopped at once"
    assert lines, "nothing on stderr"
    if len(signals) > 1:
        assert lines[-1] == again or len(lines) == 1, lines
        lines = [line for line in lines if line != again]
        if not lines:
            return
    assert len(lines) == 1, lines
    assert re.fullmatch(f"linesim: {word}: {kept}", lines[0]), lines[0]


# --- run, sweep and cost --simulate on a process pool ------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_run_on_a_pool_ends_with_its_workers(case, launch):
    signals, code, word = CASES[case]
    proc, err = launch("run", PILOT, *LONG, "--replications", "4", "--no-store")
    tree = _descendants(proc, 2)
    launch.track(proc, tree)
    _assert_tree_gone(proc, tree, _signal(proc, signals))
    assert proc.returncode == code
    _assert_said(_lines(err), word, r"0 of 4 replications finished, nothing recorded", signals)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_sweep_on_a_pool_ends_with_its_workers(case, launch):
    signals, code, word = CASES[case]
    proc, err = launch(*SWEEP)
    tree = _descendants(proc, 2)
    launch.track(proc, tree)
    _assert_tree_gone(proc, tree, _signal(proc, signals))
    assert proc.returncode == code
    _assert_said(_lines(err), word, SWEEP_KEPT, signals)


@pytest.mark.slow
def test_ray_sweep_ends_with_its_cluster_on_sigterm(launch):
    pytest.importorskip("ray")
    proc, err = launch(*SWEEP, "--backend", "ray")
    _descendants(proc, 4)  # Ray's processes start: GCS, raylet, workers
    # a worker runs a task: ray.init has returned, and linesim's handlers are back in place
    # (during ray.init a SIGTERM meets Ray's own handler, which aborts: not linesim's to change)
    _running_a_ray_task(proc)
    tree = psutil.Process(proc.pid).children(recursive=True)
    launch.track(proc, tree)
    _assert_tree_gone(proc, tree, _signal(proc, (signal.SIGTERM,)), RAY_PROMPT_S)
    assert proc.returncode == 143
    assert re.fullmatch(f"linesim: terminated: {SWEEP_KEPT}", _lines(err)[-1])


@pytest.mark.slow
def test_cost_simulate_ends_with_its_workers_on_sigterm(launch):
    proc, err = launch("cost", PILOT, "--simulate", *LONG)
    tree = _descendants(proc, 2)
    launch.track(proc, tree)
    _assert_tree_gone(proc, tree, _signal(proc, (signal.SIGTERM,)))
    assert proc.returncode == 143
    assert _lines(err) == ["linesim: terminated: 0 of 5 replications finished, nothing recorded"]


@pytest.mark.slow
def test_pool_workers_die_with_a_killed_parent(launch):
    proc, err = launch("run", PILOT, *LONG, "--no-store")
    tree = _descendants(proc, 2)
    launch.track(proc, tree)
    _assert_tree_gone(proc, tree, _signal(proc, (signal.SIGKILL,)))
    assert proc.returncode == -signal.SIGKILL


# --- linesim ui and its Streamlit server ------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(proc: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"linesim ui ended (code {proc.returncode})"
        with suppress(OSError):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return
        time.sleep(0.3)
    pytest.fail(f"the Streamlit server did not answer on port {port} within {START_S} s")


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=str)
def test_ui_ends_with_its_streamlit_server(sig, launch):
    pytest.importorskip("streamlit")
    port = _free_port()
    proc, err = launch("ui", "--port", str(port), "--host", "127.0.0.1")
    _wait_for_server(proc, port)
    tree = _descendants(proc, 1)
    launch.track(proc, tree)
    _assert_tree_gone(proc, tree, _signal(proc, (sig,)))
    assert not _port_open(port)
    lines = _lines(err)
    assert not any("Traceback" in line for line in lines), lines
    if sig == signal.SIGKILL:  # the server dies with its parent, which says nothing
        assert proc.returncode == -signal.SIGKILL
        return
    word = "terminated" if sig == signal.SIGTERM else "interrupted"
    assert proc.returncode == (143 if sig == signal.SIGTERM else 130)
    assert lines[-1] == f"linesim: {word}: the Streamlit server on port {port} was stopped"


# --- progress within a replication ------------------------------------------------------------
def _tied_line():
    """Deterministic round times: many events fall on the progress reports' stops."""
    return make_line(
        [
            {"kind": "discrete", "cycle_time_s": 10, "buffer_after": 3, "mtbf_h": 2, "mttr_h": 0.1},
            {"kind": "discrete", "cycle_time_s": 30, "machines": 2, "buffer_after": 2},
            {"kind": "batch", "cycle_time_s": 120, "batch_size": 8, "defect_probability": 0.01},
            {"kind": "discrete", "cycle_time_s": 15},
        ]
    )


#: Each engine reports at every 1/n of a replication's simulated time
STEPS = {"fast": 20, "simpy": 100}


def _reports_every(seen: list[float], n: int, offset: float = 0.0) -> bool:
    """Whether ``seen`` has a report at each 1/n of a replication (plus ``offset``)."""
    return all(any(abs(f - offset - k / n) < 1e-9 for f in seen) for k in range(1, n + 1))


@pytest.mark.identity
@pytest.mark.parametrize("warmup_s", [0.0, 600.0, 1234.5])
def test_progress_changes_no_result_on_either_engine(warmup_s):
    spec = _tied_line()
    horizon_s = 12_000.0 - warmup_s  # reports every 600 s (fast) or 120 s: on event times
    runs = {}
    for engine in ("fast", "simpy"):
        seen: list[float] = []
        runs[engine] = simulate(spec, horizon_s, warmup_s, 5, engine=engine, progress=seen.append)
        assert runs[engine] == simulate(spec, horizon_s, warmup_s, 5, engine=engine)
        assert seen[-1] == 1.0
        assert all(a < b for a, b in zip(seen, seen[1:]))
        assert _reports_every(seen, STEPS[engine]), engine
    assert_identical(runs["fast"], runs["simpy"])


def test_replicate_reports_progress_within_replications():
    spec = _tied_line()
    seen: list[tuple[float, int]] = []
    got = replicate(
        spec, 2e5, 600.0, 3, seed=2, workers=1, progress=lambda *a: seen.append(a), engine="fast"
    )
    assert got == replicate(spec, 2e5, 600.0, 3, seed=2, workers=1, engine="fast")
    assert {total for _, total in seen} == {3}
    done = [d for d, _ in seen]
    assert all(_reports_every(done, STEPS["fast"], r) for r in range(3))
    assert all(a <= b for a, b in zip(done, done[1:]))
    assert done[-1] == 3


def _sleepy(task: int, on_fraction) -> int:
    """A task of 0.8 s that reports each quarter of it (run in a pool worker)."""
    for quarter in range(1, 5):
        time.sleep(0.2)
        on_fraction(quarter / 4)
    return 10 * task


def test_a_pool_reports_the_parts_of_running_tasks():
    results: dict[int, int] = {}
    reports: list[tuple[float, int]] = []
    run_tasks(_sleepy, range(4), 2, results.__setitem__, lambda *a: reports.append(a))
    assert results == {0: 0, 1: 10, 2: 20, 3: 30}
    assert {total for _, total in reports} == {4}
    seen = [done for done, _ in reports]
    assert any(0 < d < 4 and d % 0.25 == 0 and d % 1 for d in seen)  # parts of replications
    assert all(a <= b for a, b in zip(seen, seen[1:]))
    assert seen[-1] == 4


def test_a_raising_progress_abandons_the_run():
    class Abandoned(Exception):
        pass

    def stop_at_half(fraction: float) -> None:
        if fraction >= 0.5:
            raise Abandoned

    for engine in ("fast", "simpy"):
        with pytest.raises(Abandoned):
            simulate(_tied_line(), 12_000.0, 0.0, 1, engine=engine, progress=stop_at_half)


# --- --vary: non-finite and absurd ranges -------------------------------------------------------
OUT_OF_BOUNDS = (
    "the range value {!r} is out of bounds; allowed: finite numbers of magnitude at most 1e15 "
    "with at most 15 decimals"
)
TOO_MANY = "more than 10,000 levels; allowed: at most 10,000 (a larger step or a shorter range)"


@pytest.mark.parametrize(
    ("factor", "problem"),
    [
        ("x=NaN..5", OUT_OF_BOUNDS.format("NaN")),
        ("x=1..inf", OUT_OF_BOUNDS.format("inf")),
        ("x=-Infinity..1", OUT_OF_BOUNDS.format("-Infinity")),
        ("x=1..2:sNaN", OUT_OF_BOUNDS.format("sNaN")),
        ("x=1e999999999..2", OUT_OF_BOUNDS.format("1e999999999")),
        ("x=0..1e16", OUT_OF_BOUNDS.format("1e16")),
        ("x=0..1:1e-16", OUT_OF_BOUNDS.format("1e-16")),
        ("x=0..1e15:1e-15", TOO_MANY),
        ("x=0..10000", TOO_MANY),
        ("x=" + ",".join(["1"] * 10_001), "10,001 levels; allowed: at most 10,000"),
    ],
)
def test_parse_vary_refuses_non_finite_and_absurd_ranges(factor, problem):
    shown = repr(factor) if len(factor) <= 60 else repr(factor[:60]) + "…"
    with pytest.raises(UsageError) as err:
        parse_vary(factor)
    assert str(err.value) == f"factor {shown}: {problem}"


def test_parse_vary_levels_in_plain_notation():
    assert parse_vary("x=1e2..3e2:1e2").levels == ("100", "200", "300")
    assert parse_vary("x=0..9999").levels[-1] == "9999"
    assert parse_vary("x=1e-15..3e-15:1e-15").levels == (
        "0.000000000000001",
        "0.000000000000002",
        "0.000000000000003",
    )


def test_factorial_refuses_a_hundred_million_variants():
    factors = [parse_vary("a=1..1000"), parse_vary("b=1..1000"), parse_vary("c=1..100")]
    with pytest.raises(UsageError) as err:
        factorial(factors)
    assert str(err.value) == (
        "100,000,000 variants (1,000 × 1,000 × 100 levels); allowed: at most 10,000 "
        "(fewer levels, or a design of chosen variants)"
    )


def test_vary_nan_on_the_command_line_is_exit_2(capsys):
    code = main(["sweep", PILOT, "--vary", "stations.stacking.machines=NaN..5", "--no-store"])
    assert code == 2
    assert capsys.readouterr().err == (
        "linesim: error: --vary: factor 'stations.stacking.machines=NaN..5': "
        + OUT_OF_BOUNDS.format("NaN")
        + "\n"
    )
