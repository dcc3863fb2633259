"""Instructions and simulated cache misses of the fast engine's event loop, per line (callgrind).

A deterministic measure where CPU time is not: on the shared 2-core machine one fair timing's
ratios move by ±15 % (BENCHMARKS.md, issue 18). The runs go under valgrind's callgrind with
instrumentation off, and only the calls of ``fast_kernel.advance`` are counted (a toggle
compiled from valgrind's ``callgrind.h``), so the Python around the loop (building the state,
refilling the streams, loading the kernel) is not; one dump per line. Estimated cycles are
Ir + 10 × L1 misses + 100 × last-level misses (the last-level misses are mostly the first
reads of numbers the uncounted refills wrote: the same for kernels that read the same numbers).

Needs ``valgrind`` and ``gcc``, and the kernel built (``python -c "from linesim.simulation
import fast; fast.build()"``); ~10 minutes of CPU, most of it loading numba under valgrind.

Usage::

    python benchmarks/kernel_instructions.py
"""

from __future__ import annotations

import ctypes
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: line (as benchmarks/fast_child.py names it) and simulated seconds: 3 days of the 4 GWh line,
#: 100,000 cells of the benchmark line and its twin, 50,000 cells of two bench_visits lines
LINES = [
    ("gwh", 3 * 86400.0),
    ("bench", 1147227.0),
    ("single", 1197206.0),
    ("visits:6:1", 514286.0),
    ("visits:6:300", 514286.0),
]
TOGGLE_C = """#include <valgrind/callgrind.h>
void cg_start(void) { CALLGRIND_START_INSTRUMENTATION; }
void cg_stop(void) { CALLGRIND_STOP_INSTRUMENTATION; }
void cg_dump(const char *s) { CALLGRIND_DUMP_STATS_AT(s); }
void cg_zero(void) { CALLGRIND_ZERO_STATS; }
"""


def child(lib: str) -> None:
    """Under callgrind: load the kernel, then run each line counting only ``advance``."""
    sys.path.insert(0, str(HERE))
    from fast_child import _spec

    from linesim.simulation import fast_kernel as K
    from linesim.simulation import simulate

    tog = ctypes.CDLL(lib)
    simulate(_spec("bench"), 60.0, 0.0, rng=0, engine="fast")  # load the kernel, uncounted
    real = K.advance

    def counted(st, until):
        tog.cg_start()
        code = real(st, until)
        tog.cg_stop()
        return code

    K.advance = counted
    for line, horizon_s in LINES:
        tog.cg_zero()
        r = simulate(_spec(line), horizon_s, 0.0, rng=0, engine="fast")
        tog.cg_dump(line.encode())
        print(line, "cells", r.started_total, "visits", sum(s.processed for s in r.stations))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src, lib, out = Path(tmp, "toggle.c"), Path(tmp, "toggle.so"), Path(tmp, "cg.out")
        src.write_text(TOGGLE_C)
        subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
        python = os.path.realpath(sys.executable)  # not a shim: valgrind follows no exec
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                "--cache-sim=yes",
                f"--callgrind-out-file={out}",
                python,
                __file__,
                "--child",
                str(lib),
            ],
            check=True,
            stderr=subprocess.DEVNULL,
        )
        print("| line | Ir [M] | L1 misses [M] | LL misses [M] | est. cycles [M] |")
        print("|---|---|---|---|---|")
        for dump in sorted(Path(tmp).glob("cg.out.*")):
            text = dump.read_text()
            name = re.search(r"desc: Trigger: Client Request: (\S+)", text)
            totals = re.search(r"^totals: (.*)$", text, re.M)
            if not (name and totals):
                continue
            ir, _, _, i1, d1r, d1w, ill, dlr, dlw = map(int, totals.group(1).split())
            l1, ll = i1 + d1r + d1w, ill + dlr + dlw
            cycles = ir + 10 * l1 + 100 * ll
            print(
                f"| {name.group(1)} | {ir / 1e6:.1f} | {l1 / 1e6:.3f} | {ll / 1e6:.3f} "
                f"| {cycles / 1e6:.1f} |"
            )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2])
    else:
        main()
