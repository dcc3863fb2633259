"""Work off the request thread: a task of :mod:`tasks` runs in a child process with a time and a
memory limit, and is killed when a limit is reached, when its script run stops (a rerun, the
Stop button) or when its session ends (the browser closed) — so an upload or a simulation that
would take minutes or gigabytes cannot keep a core busy or stall other users' pages.

Children come from a fork server that has linesim imported already (and not streamlit: what a
child runs is in :mod:`sandbox` and :mod:`tasks`): one starts in milliseconds, and none
inherits the Streamlit server's threads. A child also limits its own CPU time, so even one
whose server was killed ends soon after its time limit.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import sandbox
import streamlit as st
from safe import md
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from linesim.errors import ConfigError, UsageError

POLL_S = 0.2  #: how often [s] the page checks on its child and moves the progress bar

HERE = Path(__file__).resolve().parent


def _fork_server_path() -> str:
    """PYTHONPATH for the fork server: Python 3.11's ignores the parent's sys.path, so without
    this folder (sandbox, tasks) and a checkout's package it would preload nothing, and every
    child would import linesim (seconds) on its own."""
    ours = [str(HERE)]
    if (HERE.parent / "linesim" / "__init__.py").is_file():
        ours.append(str(HERE.parent))
    theirs = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    return os.pathsep.join(ours + [p for p in theirs if p and p not in ours])


os.environ["PYTHONPATH"] = _fork_server_path()
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(
    ["sandbox", "tasks", "linesim.experiments", "linesim.economics.analysis", "linesim.optimise"]
)


class TaskFailed(Exception):
    """A task that ended without a result: over a limit, or its process died or raised an
    unexpected error (``details``: the child's traceback, for a details expander)."""

    def __init__(self, message: str, details: str = ""):
        super().__init__(message)
        self.details = details


def run(
    task: Callable[..., Any],
    *args: Any,
    label: str,
    time_limit_s: float,
    memory_mib: int,
    remedy: str,
    progress: bool = False,
    threads: int = 1,
) -> Any:
    """``task(*args)`` in a child process, with a progress bar on the page while it runs.

    Parameters
    ----------
    task : callable
        A module-level function of :mod:`tasks`.
    label : str
        What the task does, for the bar and messages (``"Simulating the line"``).
    time_limit_s : float
        Wall-clock limit [s].
    memory_mib : int
        Memory the task may take beyond what a child starts with [MiB].
    remedy : str
        What a user can do when a limit is reached (ends the message after "allowed:").
    progress : bool
        Whether ``task`` takes a ``progress`` keyword: a callable given the fraction done.
    threads : int
        Threads the task computes on [-] (its CPU time runs that much faster than the clock).

    Raises
    ------
    ConfigError, UsageError
        The task's own, as raised in the child.
    TaskFailed
        Over a limit, or the child died or raised an unexpected error.
    """
    child, receiver, held = spawn(task, args, time_limit_s, memory_mib, progress, threads)
    bar = st.progress(0.0, text=md(label) + "…")
    try:
        outcome = _wait(receiver, child, bar, label, time_limit_s)
    finally:  # a limit, a stopped script run or a closed session: the work stops with the page
        if child.is_alive():
            child.kill()
        child.join()
        receiver.close()
        held.close()
        bar.empty()
    if outcome is None:
        raise TaskFailed(
            f"{label} stopped without a result (exit code {child.exitcode}), most likely over "
            f"the app's memory limit of {memory_mib} MiB; allowed: {remedy}"
        )
    if outcome[0] == "timeout":
        raise TaskFailed(
            f"{label} took longer than the app's limit of {time_limit_s:g} s; allowed: {remedy}"
        )
    return _result(outcome, label, memory_mib, remedy)


def spawn(
    task: Callable[..., Any],
    args: tuple,
    time_limit_s: float,
    memory_mib: int,
    progress: bool,
    threads: int,
) -> tuple[Any, Connection, Connection]:
    """Start ``task(*args)`` in a sandboxed child (arguments as :func:`run`): (the child, the
    end its messages arrive on, the lifeline end whose closing ends it)."""
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    lifeline, held = _CONTEXT.Pipe(duplex=False)  # the child ends when ``held`` closes
    cpu_limit_s = math.ceil(time_limit_s * threads) + sandbox.CPU_GRACE_S
    child = _CONTEXT.Process(
        target=sandbox.child,
        args=(sender, lifeline, task, args, progress, memory_mib, cpu_limit_s),
        daemon=True,
    )
    child.start()
    sender.close()
    lifeline.close()
    return child, receiver, held


def _wait(receiver: Connection, child: Any, bar: Any, label: str, limit_s: float) -> tuple | None:
    """The child's last message (None if it died without one), or ``("timeout",)``."""
    start, done = time.monotonic(), 0.0
    while True:
        if receiver.poll(POLL_S):
            try:
                message = receiver.recv()
            except EOFError:  # it exited without a word: killed by the kernel or a signal
                return None
            if message[0] != "progress":
                return message
            done = min(max(float(message[1]), 0.0), 1.0)
        elif not child.is_alive() and not receiver.poll():
            return None
        elapsed = time.monotonic() - start
        if elapsed > limit_s:
            return ("timeout",)
        if _session_gone():
            st.stop()
        # every update is a point where Streamlit raises its stop or rerun request
        bar.progress(done, text=f"{md(label)}… {elapsed:.0f} s (limit {limit_s:g} s)")


def _session_gone() -> bool:
    """Whether the browser session this script run belongs to has disconnected."""
    ctx = get_script_run_ctx(suppress_warning=True)
    return (
        ctx is not None
        and runtime.exists()
        and not runtime.get_instance().is_active_session(ctx.session_id)
    )


def _result(outcome: tuple, label: str, memory_mib: int, remedy: str) -> Any:
    """The task's value, or its error raised again in this process."""
    kind, *rest = outcome
    if kind == "ok":
        return rest[0]
    if kind == "config":
        raise ConfigError(*rest[0])
    if kind == "usage":
        raise UsageError(rest[0])
    if kind == "memory":
        raise TaskFailed(
            f"{label} needed more than the app's memory limit of {memory_mib} MiB; "
            f"allowed: {remedy}"
        )
    summary, details = rest
    raise TaskFailed(f"{label} failed: {summary}", details)
