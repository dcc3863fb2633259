"""``linesim ui``: start the Streamlit what-if app."""

from __future__ import annotations

import argparse
import sys

from linesim.cli.options import EXIT_INTERRUPTED, positive_int
from linesim.errors import UsageError

__all__ = ["add_arguments", "ui_command"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=positive_int, default=8501)
    p.add_argument("--host", default="localhost", help="address to listen on")


def ui_command(args: argparse.Namespace) -> int:
    """``streamlit run ui/app.py`` (headless, no usage statistics) on the given port.

    Streamlit runs as a child process; SIGTERM and Ctrl-C stop it with this command, so that
    terminating ``linesim ui`` never leaves a server behind.
    """
    import importlib.util
    import os
    import signal
    import subprocess

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
    ]
    proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def forward(signum: int, frame: object) -> None:  # pragma: no cover - via a subprocess
        proc.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        # Ctrl-C in a terminal reaches Streamlit too; a SIGINT sent to this process alone does not
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
