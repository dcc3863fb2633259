"""Script-run time of the app's pages that follow long work (Optimise, Simulate, Sweep), as a
widget change reruns them: a no-op rerun in Streamlit's AppTest (in process, no browser), with a
results store of 40 finished job records, median of ``--repeats``.

A page that reads the results store on every script run pays for it on every click; compare two
versions of the app by pointing ``--ui`` at another checkout's ``ui/`` (``git archive <commit>
ui | tar -x -C /tmp/old``)::

    LINESIM_STORE=/tmp/pages.duckdb python benchmarks/bench_ui_pages.py
    LINESIM_STORE=/tmp/pages.duckdb python benchmarks/bench_ui_pages.py --ui /tmp/old/ui
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ui", type=Path, default=ROOT / "ui", help="the app's folder")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("pages", nargs="*", default=["optimise", "simulate", "sweep"])
    args = parser.parse_args()
    sys.path.insert(0, str(args.ui))
    import kept
    from streamlit.testing.v1 import AppTest

    from linesim.config import dump_line, load_line
    from linesim.store import Store

    text = dump_line(load_line("pilot_sulfide_200mwh"))
    tab = "b" * 32
    if not Store().path.exists():  # the store's job records, as a used server's
        for _ in range(40):
            rid, _ = kept.open_job_record(
                "simulation", "simulation", (text, 7.0, 3, 1), {"yaml": text},
                "keep_simulation", {"label": "Simulating the line"}, tab,
            )  # fmt: skip
            Store().close_record(rid, "complete")
    for page in args.pages:
        at = AppTest.from_file(str(args.ui / "views" / f"{page}.py"), default_timeout=120)
        at.session_state["spec_yaml"] = text
        at.session_state["spec_source"] = "bench"
        at.session_state["tab_id"] = tab
        at.run()
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - start)
        assert not at.exception, [e.value for e in at.exception]
        shown = ", ".join(f"{t:.3f}" for t in times)
        print(f"{page:10s} median {statistics.median(times):.3f} s  [{shown}]")


if __name__ == "__main__":
    main()
