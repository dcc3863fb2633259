"""Instruction counts of the fast engine's runs under callgrind: a deterministic measure, unmoved
by the machine's load (issue 18: CPU-time ratios move ±15 % between runs on the shared machine).

Each line runs in a process of its own under ``valgrind --tool=callgrind --cache-sim=yes``
with instrumentation off while Python starts, the kernel loads and a short run touches the
line's code; it is switched on (``callgrind_control -i on``) for one run from empty and off
after it, so the counts are that run's alone: the loop, the refills of the streams, the
snapshots. The JIT code (the loop) has no symbols: callgrind lists it as ``???``, reported
apart as ``loop_Ir``.

numba keys its cache on the CPU's name and features, and valgrind shows the program another
CPU (without AVX-512): the kernel is compiled for a fixed CPU (``haswell``) here, natively
first, so that the run under valgrind finds it in the cache instead of compiling under
valgrind (hours). Timed runs use the host's CPU; the counts are for the same source.

Lines: those of :data:`HORIZON_S` (the 4 GWh line's 3 days, 100,000 cells of the benchmark line
and of its twin, ~250,000 visits of two ``bench_visits.py`` lines), or any
``visits:<stations>:<machines>`` line for the horizon ``bench_visits.py`` gives 300,000 visits
(fewer on long lines, which take long to fill: ~150,000 on 60 × 1). ``--branch-sim`` adds
callgrind's simulated branch predictor (``Bc``/``Bcm``: conditional branches and their
mispredictions, ``Bi``/``Bim``: indirect ones), where fewer instructions may still cost more
time. Misses and branches are the whole instrumented run's (refills and snapshots too).

Usage (``--tree``: another checkout, e.g. ``git archive <commit> linesim benchmarks configs``
unpacked; default: this one)::

    python benchmarks/bench_callgrind.py --lines gwh bench single
    python benchmarks/bench_callgrind.py --lines visits:6:1 visits:60:1 visits:6:300 --branch-sim
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
HORIZON_S = {
    "gwh": 3 * 86400.0,
    "bench": 100000 / 310.0 * 3600.0,
    "single": 100000 / 330.0 * 3600.0,
    "visits:6:1": 514286.0,
    "visits:6:300": 514286.0,
}
VISITS = 300_000  #: station visits asked of a ``visits:<stations>:<machines>`` line not named


def horizon_s(line: str) -> float:
    """The simulated seconds of ``line``: :data:`HORIZON_S`'s, or what ``bench_visits.py``
    gives a ``visits:<stations>:<machines>`` line for :data:`VISITS` visits (~330 cells an
    hour started)."""
    if line in HORIZON_S:
        return HORIZON_S[line]
    kind, stations, machines = (line.split(":") + ["", ""])[:3]
    if not (kind == "visits" and stations.isdigit() and machines.isdigit()) or not (
        int(stations) and int(machines)
    ):
        raise argparse.ArgumentTypeError(
            f"{line!r}: one of {', '.join(HORIZON_S)} or visits:<stations>:<machines>, "
            "each at least 1"
        )
    return VISITS / (330.0 * int(stations)) * 3600.0


def _line(text: str) -> str:
    horizon_s(text)  # refuses an unknown line before any run
    return text


CPU = {
    "NUMBA_CPU_NAME": "haswell",
    "NUMBA_CPU_FEATURES": "+64bit,+avx,+avx2,+bmi,+bmi2,+cmov,+cx16,+cx8,+f16c,+fma,+fxsr,"
    "+lzcnt,+mmx,+movbe,+pclmul,+popcnt,+sahf,+sse,+sse2,+sse3,+sse4.1,+sse4.2,+ssse3,+xsave,"
    "+aes,+rdrnd",
}


def _child(line: str, horizon_s: float) -> None:
    """Under callgrind: load the kernel, then one instrumented run of ``line``."""
    sys.path.insert(0, str(HERE))
    from fast_child import _spec

    from linesim.simulation import simulate

    spec = _spec(line)
    simulate(spec, 60.0, 0.0, rng=1, engine="fast")  # load the kernel, touch the line's code
    control = ["callgrind_control", "-i"]
    subprocess.run([*control, "on", str(os.getpid())], check=True, capture_output=True)
    r = simulate(spec, horizon_s, 0.0, rng=1, engine="fast")
    subprocess.run([*control, "off", str(os.getpid())], check=True, capture_output=True)
    print(json.dumps({"cells": r.started_total, "visits": sum(s.processed for s in r.stations)}))


def _counts(path: Path) -> dict[str, int]:
    """Total events and the loop's (unsymbolised JIT code) instructions of a callgrind file."""
    text = path.read_text()
    names = text.split("\nevents:", 1)[1].split("\n", 1)[0].split()
    totals = dict(zip(names, map(int, re.search(r"\ntotals:(.*)", text).group(1).split())))
    loop = subprocess.run(
        ["callgrind_annotate", str(path)], capture_output=True, text=True, check=True
    ).stdout
    # code without a symbol or a file: ``???:0x… [???]`` (numba's JIT code)
    hits = re.findall(r"^\s*([\d,]+) .*\?\?\?:0x[0-9a-f]+ \[\?\?\?\]$", loop, re.M)
    totals["loop_Ir"] = sum(int(h.replace(",", "")) for h in hits)
    return totals


def under_callgrind(
    script: Path, line: str, out: Path, env: dict, cwd=None, options: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    """Run ``script --child line`` under callgrind (instrumentation off until the child turns
    it on, cache simulation on, ``options`` more), its counts to ``out``."""
    return subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            "--cache-sim=yes",
            *options,
            f"--callgrind-out-file={out}",
            sys.executable,
            str(script.resolve()),
            "--child",
            line,
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=cwd,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tree", type=Path, default=HERE.parent, help="checkout to measure")
    ap.add_argument("--lines", nargs="+", type=_line, default=["gwh", "bench", "single"])
    ap.add_argument("--branch-sim", action="store_true", help="count branch mispredictions")
    args = ap.parse_args()
    options = ("--branch-sim=yes",) if args.branch_sim else ()
    tree = args.tree.resolve()
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONHASHSEED="0", **CPU)
    build = "from linesim.simulation import fast; fast.build()"
    subprocess.run([sys.executable, "-c", build], check=True, env=env, cwd=tree)
    rows = []
    for line in args.lines:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "callgrind.out"
            run = under_callgrind(Path(__file__), line, out, env, cwd=tree, options=options)
            c = _counts(out)
        d1 = c["D1mr"] + c["D1mw"] + c["I1mr"]
        ll = c["DLmr"] + c["DLmw"] + c["ILmr"]
        rows.append(
            {
                "line": line,
                **json.loads(run.stdout.splitlines()[-1]),
                "Ir": c["Ir"],
                "loop_Ir": c["loop_Ir"],
                "L1_misses": d1,
                "LL_misses": ll,
                "cycles_estimate": c["Ir"] + 10 * d1 + 100 * ll,
                **({k: c[k] for k in ("Bc", "Bcm", "Bi", "Bim")} if args.branch_sim else {}),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"tree": str(tree), "rows": rows}, indent=2))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2], horizon_s(sys.argv[2]))
    else:
        main()
