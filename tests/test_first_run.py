"""A first run before the compiled engine is built: ``--engine auto`` takes the SimPy engine
(identical results) for a run that ends before a build would, building the compiled one in the
background for the next run; builds it first for a larger run; never tries to build it under a
memory limit too small for that; and says which in one line."""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys

import pytest

import linesim.cli.options as options
import linesim.simulation.fast as fast
from linesim.cli import main
from linesim.config import load_line

SMALL = ["run", "pilot_oxide", "--horizon", "2h", "--warmup", "0h", "--replications", "1"]


def _run(argv, capsys):
    code = main([*argv, "--no-store", "--json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), err


@pytest.fixture
def not_built(monkeypatch):
    """The compiled engine as if not built; background builds recorded, not started."""
    monkeypatch.setattr(fast, "is_compiled", lambda: False)
    started: list[bool] = []
    monkeypatch.setattr(options, "_build_in_background", lambda: started.append(True) or True)
    return started


def test_a_small_first_run_takes_the_simpy_engine_and_says_so(not_built, capsys):
    code, doc, err = _run(SMALL, capsys)
    assert code == 0 and doc["engine"] == "simpy"
    assert re.fullmatch(
        r"linesim: the compiled engine is not built yet \(about a minute, once\); this run "
        r"takes the SimPy engine \(identical results, ~\d+ s\); the compiled engine builds in "
        r"the background for the next run\n",
        err,
    )
    assert not_built == [True]
    # the same figures as the compiled engine's, bit for bit
    code, fast_doc, _ = _run([*SMALL, "--engine", "fast"], capsys)
    assert {k: v for k, v in fast_doc.items() if k != "engine"} == {
        k: v for k, v in doc.items() if k != "engine"
    }


def _simpy_estimate_s() -> float:
    """SMALL's estimated time on the SimPy engine [s]."""
    from linesim.workload import estimate

    return estimate([load_line("pilot_oxide")], 7200.0, 0.0, 1, None, "simpy").seconds


def test_a_run_longer_than_a_build_builds_the_compiled_engine_first_and_says_so(
    not_built, monkeypatch, capsys
):
    # SMALL as if a build took less time than SMALL on the SimPy engine
    monkeypatch.setattr(options, "BUILD_S", 0.99 * _simpy_estimate_s())
    code, doc, err = _run(SMALL, capsys)
    assert code == 0 and doc["engine"] == "fast" and not_built == []
    assert err == (
        "linesim: building the compiled engine (once: about a minute of CPU and 0.5 GB of "
        "memory; `linesim build` after installing does it ahead) ...\n"
    )
    # and as if it took exactly as long: the SimPy engine, which answers no later
    monkeypatch.setattr(options, "BUILD_S", _simpy_estimate_s())
    code, doc, err = _run(SMALL, capsys)
    assert code == 0 and doc["engine"] == "simpy" and not_built == [True]


def test_a_background_build_is_detached_at_the_lowest_priority(monkeypatch):
    started = []
    monkeypatch.setattr(subprocess, "Popen", lambda argv, **kw: started.append((argv, kw)))
    assert options._build_in_background() is True
    [(argv, kw)] = started
    assert argv[:2] == [sys.executable, "-c"] and kw["start_new_session"] is True
    assert argv[2].startswith("import os; os.nice(19); ") and argv[2].endswith("build(wait=False)")


def test_builds_take_turns_and_a_background_build_gives_way(monkeypatch, tmp_path):
    """:func:`fast.build` holds a lock in numba's cache while it compiles: another build
    waits for it (then loads what it wrote); one with ``wait=False`` returns at once. The
    lock here is in a cache folder of the test's own: the suite's other processes load the
    engine from the real one (each holding its lock for a moment)."""
    fast.simulate_fast(load_line("pilot_oxide"), 3600.0)  # the loop as a run calls it
    compiled = []
    monkeypatch.setattr(fast.K.advance, "compile", lambda sig: compiled.append(sig))
    monkeypatch.setattr(fast.K.advance._cache, "_cache_path", str(tmp_path))
    lock_path = os.path.join(fast.K.advance._cache._cache_path, "linesim-build.lock")
    fast.build(wait=False)  # the lock is free: it compiles (here: records the signature)
    assert len(compiled) == 1
    with open(lock_path, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        fast.build(wait=False)  # a build under way: it gives way
        assert len(compiled) == 1
    fast.build()
    assert len(compiled) == 2
    # the signature it compiles is the one a run calls the loop with: no second build
    assert fast.K.advance.signatures == [compiled[0]]


def test_under_a_small_memory_limit_the_compiled_engine_is_not_built(
    not_built, monkeypatch, capsys
):
    monkeypatch.setattr(options, "_address_space_bytes", lambda: 2.0 * 2**30)
    code, doc, err = _run(SMALL, capsys)
    assert code == 0 and doc["engine"] == "simpy"
    assert "memory limit is too small to build it" in err


def test_a_chosen_engine_is_never_second_guessed(not_built, capsys):
    code, doc, err = _run([*SMALL, "--engine", "fast"], capsys)
    assert code == 0 and doc["engine"] == "fast" and not_built == []
    assert err.startswith("linesim: building the compiled engine (once:")
    code, doc, err = _run([*SMALL, "--engine", "simpy"], capsys)
    assert code == 0 and doc["engine"] == "simpy" and not_built == [] and err == ""


def test_running_out_of_memory_is_one_message_and_exit_2(monkeypatch, capsys):
    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr("linesim.experiments.replicate", exhausted)
    code = main([*SMALL, "--no-store"])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.startswith("linesim: error: out of memory; allowed: a smaller run") and (
        err.count("\n") == 1
    )


def test_linesim_build_builds_once_and_says_so(not_built, monkeypatch, capsys):
    """``linesim build`` (the install's last step): one line before a build, one after; when
    the engine is in numba's cache already, one line and no build."""
    builds = []
    monkeypatch.setattr(fast, "build", lambda wait=True: builds.append(wait))
    assert main(["build"]) == 0
    out, err = capsys.readouterr()
    assert builds == [True] and err == (
        "linesim: building the compiled engine (once: about a minute of CPU and 0.5 GB of "
        "memory) ...\n"
    )
    assert re.fullmatch(
        r"linesim: compiled engine built in \d+ s and cached; every later run starts with it\n",
        out,
    )
    monkeypatch.setattr(fast, "is_compiled", lambda: True)
    assert main(["build"]) == 0
    out, err = capsys.readouterr()
    assert builds == [True] and err == ""
    assert out == "linesim: the compiled engine is built already (in numba's cache)\n"


def test_linesim_build_under_a_small_memory_limit_refuses_in_one_line(
    not_built, monkeypatch, capsys
):
    builds = []
    monkeypatch.setattr(fast, "build", lambda wait=True: builds.append(wait))
    monkeypatch.setattr(options, "_address_space_bytes", lambda: 2.0 * 2**30)
    assert main(["build"]) == 1
    out, err = capsys.readouterr()
    assert builds == [] and out == "" and err.count("\n") == 1
    assert "too small to build the compiled engine" in err


def test_kernel_functions_are_compiled_once_for_all_constant_arguments():
    """The build compiles one version of a kernel function for every literal constant passed
    to it unless :func:`fast_kernel._typed_once` resolves calls with plain types: then one
    version, and the same results."""
    from numba import njit

    from linesim.simulation.fast_kernel import _typed_once

    def scaled(x, k):
        return x * k + k

    def caller_of(callee):
        @njit
        def caller(x):
            return callee(x, 2) + callee(x, 3) + callee(x, -1)

        return caller

    plain, typed = njit(scaled), njit(scaled)
    _typed_once(typed)
    for callee in (plain, typed):
        assert caller_of(callee)(1.5) == (1.5 * 2 + 2) + (1.5 * 3 + 3) + (-1.5 - 1)
    assert len(plain.signatures) == 3  # Literal[int](2), (3), (-1): what the kernel paid for
    assert [[str(t) for t in sig] for sig in typed.signatures] == [["float64", "int64"]]
