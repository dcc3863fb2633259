"""``linesim build``: build the compiled engine now, once, as the last step of installing linesim.

The fast engine's event loop is compiled by numba on first use and kept in numba's on-disk cache
(beside the package, or in ``NUMBA_CACHE_DIR``). Building it costs about a minute of CPU, more
than the README's first run itself takes on the engine; built at install time, that first
``linesim run`` answers in seconds (BENCHMARKS.md, issue 18). A cache shipped with the package
would not do: numba keys it on the source file's time stamp and on this machine's CPU.
"""

from __future__ import annotations

import argparse
import sys
import time

from linesim.cli.options import EXIT_FAILED, EXIT_OK, build_memory_short

__all__ = ["add_arguments", "build_command"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """``linesim build`` takes no arguments."""


def build_command(args: argparse.Namespace) -> int:
    from linesim.simulation import fast

    if fast.is_compiled():
        print("linesim: the compiled engine is built already (in numba's cache)")
        return EXIT_OK
    if build_memory_short():
        sys.stderr.write(
            "linesim: this process's memory limit (ulimit -v) is too small to build the "
            "compiled engine (about 1.5 GB of address space, once); runs will take the SimPy "
            "engine (identical results, slower)\n"
        )
        return EXIT_FAILED
    sys.stderr.write(
        "linesim: building the compiled engine (once: about a minute of CPU and 0.5 GB of "
        "memory) ...\n"
    )
    start = time.monotonic()
    fast.build()
    print(
        f"linesim: compiled engine built in {time.monotonic() - start:.0f} s and cached; "
        "every later run starts with it"
    )
    return EXIT_OK
