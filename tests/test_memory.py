"""Memory does not grow with cells simulated: 10⁶ cells stay far below 300 MB peak RSS."""

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


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["simpy", "fast"])
def test_a_million_cells_under_300_mb(engine):
    doc = run_child(1_000_000, engine)
    assert doc["cells"] >= 1_000_000
    assert doc["peak_rss_mb"] < 300
    # what the run adds to the process (counters and pre-drawn blocks, no per-cell log)
    assert doc["peak_rss_mb"] - doc["rss_before_mb"] < 50
