"""A first run before the compiled engine is built: ``--engine auto`` takes the SimPy engine
(identical results) for a small run, builds the compiled one for a larger run, never tries to
build it under a memory limit too small for that, and says which in one line."""

from __future__ import annotations

import json

import pytest

import linesim.cli.options as options
import linesim.simulation.fast as fast
from linesim.cli import main

SMALL = ["run", "pilot_oxide", "--horizon", "2h", "--warmup", "0h", "--replications", "1"]
LARGE = ["run", "pilot_oxide", "--horizon", "30d", "--replications", "2", "--workers", "1"]


def _run(argv, capsys):
    code = main([*argv, "--no-store", "--json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), err


@pytest.fixture
def not_built(monkeypatch):
    monkeypatch.setattr(fast, "is_compiled", lambda: False)


def test_a_small_first_run_takes_the_simpy_engine_and_says_so(not_built, capsys):
    code, doc, err = _run(SMALL, capsys)
    assert code == 0 and doc["engine"] == "simpy"
    assert err == (
        "linesim: the compiled engine is not built yet; this small run takes the SimPy engine "
        "(identical results); `--engine fast` builds it once (about a minute)\n"
    )
    # the same figures as the compiled engine's, bit for bit
    code, fast_doc, _ = _run([*SMALL, "--engine", "fast"], capsys)
    assert {k: v for k, v in fast_doc.items() if k != "engine"} == {
        k: v for k, v in doc.items() if k != "engine"
    }


def test_a_larger_first_run_builds_the_compiled_engine_and_says_so(not_built, capsys):
    code, doc, err = _run(LARGE, capsys)
    assert code == 0 and doc["engine"] == "fast"
    assert err.startswith("linesim: building the compiled engine (once:")


def test_under_a_small_memory_limit_the_compiled_engine_is_not_built(
    not_built, monkeypatch, capsys
):
    monkeypatch.setattr(options, "_address_space_bytes", lambda: 2.0 * 2**30)
    code, doc, err = _run(SMALL, capsys)
    assert code == 0 and doc["engine"] == "simpy"
    assert "memory limit is too small to build it" in err


def test_a_chosen_engine_is_never_second_guessed(not_built, capsys):
    code, doc, err = _run([*SMALL, "--engine", "fast"], capsys)
    assert code == 0 and doc["engine"] == "fast" and err == ""


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
