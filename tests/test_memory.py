"""Memory does not grow with cells simulated: 10⁶ cells stay far below 300 MB peak RSS."""

import json
import subprocess
import sys

from conftest import ROOT


def test_a_million_cells_under_300_mb():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks/bench_engine.py"),
                          "--_memory-child", "1000000"], capture_output=True, text=True,
                         check=True).stdout
    doc = json.loads(out)
    assert doc["cells"] >= 1_000_000
    assert doc["peak_rss_mb"] < 300
