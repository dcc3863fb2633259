"""Cost of one static uncertainty sample of the 4 GWh line (issue 16): building its validated
line (``Prepared.spec_at``) and evaluating it (``static_kpis``), per sample, best of 3 × 256.

Usage::

    python benchmarks/bench_static_sample.py

The checksum (the sum of the 256 samples' costs per Wh) must not change with a speed-up.
"""

from __future__ import annotations

import time

from linesim.bundled import resolve_config
from linesim.config import load_raw
from linesim.uncertainty import prepare
from linesim.uncertainty.evaluate import static_kpis
from linesim.uncertainty.sampling import design, input_values


def main() -> None:
    prepared = prepare(load_raw(resolve_config("gwh_sulfide_4gwh")), "gwh_sulfide_4gwh")
    values = input_values(prepared.inputs, design(len(prepared.inputs), 256, 1))
    specs = [prepared.spec_at(v) for v in values]
    best, out = [], []
    for _ in range(3):
        t = time.perf_counter()
        out = [static_kpis(s) for s in specs]
        best.append((time.perf_counter() - t) / len(specs) * 1e3)
    t = time.perf_counter()
    for v in values[:64]:
        prepared.spec_at(v)
    build = (time.perf_counter() - t) / 64 * 1e3
    checksum = sum(o["cost_cny_per_wh"] for o in out)
    print(
        f"static_kpis {min(best):.2f} ms/sample (best of 3 x 256), spec_at {build:.2f} ms; "
        f"checksum {checksum:.12f}"
    )


if __name__ == "__main__":
    main()
