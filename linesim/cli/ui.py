"""``linesim ui``: start the Streamlit what-if app."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from contextlib import suppress
from functools import partial

from linesim.cli.options import positive_int
from linesim.errors import UsageError
from linesim.progress import Interrupted, die_with_parent

__all__ = ["add_arguments", "ui_command"]

#: How long [s] the Streamlit server may take to stop on SIGTERM before it is killed (an
#: orphaned server was seen to ignore SIGTERM and SIGINT)
_GRACE_S = 0.5


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=positive_int, default=8501)
    p.add_argument("--host", default="localhost", help="address to listen on")


def ui_command(args: argparse.Namespace) -> int:
    """``streamlit run ui/app.py`` (headless, no usage statistics) on the given port.

    Streamlit runs as a child in a process group of its own, and dies with this command:
    SIGINT or SIGTERM to ``linesim ui`` stops the group (SIGTERM, then SIGKILL after
    :data:`_GRACE_S`), and the kernel kills the server if ``linesim ui`` is killed outright
    (:func:`linesim.progress.die_with_parent`). Returns Streamlit's exit code if it ends by
    itself.
    """
    import importlib.util

    from linesim.bundled import ui_dir

    app = ui_dir() / "app.py"
    if importlib.util.find_spec("streamlit") is None:
        raise UsageError("ui: Streamlit is not installed; allowed: pip install 'linesim[ui]'")
    if not app.is_file():
        raise UsageError(
            f"ui: the app is not at {app}; allowed: a linesim checkout with ui/, "
            "or the installed wheel"
        )
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.headless",
        "true",
        "--server.port",
        str(args.port),
        "--server.address",
        args.host,
        "--browser.gatherUsageStats",
        "false",
        # the server refuses a larger upload before buffering it (the app's own limit is 1 MB)
        "--server.maxUploadSize",
        "1",
    ]
    # its own session: a terminal's Ctrl-C reaches this process alone, which stops the group
    proc = subprocess.Popen(
        cmd,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
        preexec_fn=partial(die_with_parent, os.getpid()),
    )
    try:
        return proc.wait()
    except KeyboardInterrupt:
        _stop_group(proc)
        raise Interrupted(f"the Streamlit server on port {args.port} was stopped", "") from None


def _stop_group(proc: subprocess.Popen) -> None:
    """End the Streamlit server and every process it started: SIGTERM to its process group,
    SIGKILL to whatever is left after :data:`_GRACE_S`."""
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=_GRACE_S)
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
