"""Memory does not grow with cells simulated: 10⁶ cells stay far below 300 MB peak RSS.

What a run adds to the process is held to 50 bytes per cell started (50 MB for 10⁶ cells), so a
per-cell record or leak of 50 bytes or more fails at any run length. The fast engine runs 10⁶
cells (about a second); the SimPy engine 2.5 × 10⁵ (a 10⁶-cell run took 34 CPU-s, 70–90 s of
CPU on a loaded machine; what it adds was 2.8 MB at 10⁵, 2.5 × 10⁵ and 10⁶ cells alike,
2026-12-02), with the peak of a 10⁶-cell run extrapolated at that per-cell bound.
"""

import json
import subprocess
import sys

import pytest
from conftest import ROOT


def run_child(cells: int, engine: str) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks/bench_engine.py"),
            "--_memory-child",
            str(cells),
            "--engine",
            engine,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


MILLION = 1_000_000
ADDED_MB_PER_CELL = 50 / MILLION  #: what a run may add per cell started [MB]


@pytest.mark.slow
@pytest.mark.parametrize(("engine", "cells"), [("simpy", 250_000), ("fast", MILLION)])
def test_a_million_cells_under_300_mb(engine, cells):
    doc = run_child(cells, engine)
    assert doc["cells"] >= cells
    # what the run adds to the process (counters and pre-drawn blocks, no per-cell log)
    added_mb = doc["peak_rss_mb"] - doc["rss_before_mb"]
    assert added_mb < ADDED_MB_PER_CELL * doc["cells"]
    # a run of 10⁶ cells, with what this one added growing at most at that bound per cell
    peak_mb = doc["peak_rss_mb"] + ADDED_MB_PER_CELL * max(0, MILLION - doc["cells"])
    assert peak_mb < 300
