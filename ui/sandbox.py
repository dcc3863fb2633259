"""What a child process of :mod:`jobs` runs: limits first (it ends with the page's process, and
its CPU time and memory are bounded), then the task; its value or its error goes back through a
pipe. Nothing here imports streamlit, so a child starts at once."""

from __future__ import annotations

import os
import resource
import threading
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from linesim.errors import ConfigError, UsageError

CPU_GRACE_S = 10  #: CPU time [s] a child gets beyond its limit before the kernel ends it


def child(
    sender: Connection,
    lifeline: Connection,
    task: Callable[..., Any],
    args: tuple,
    progress: bool,
    memory_mib: int,
    cpu_limit_s: int,
) -> None:
    """Run ``task(*args)`` under a CPU-time and a memory limit and send what became of it:
    ``("progress", fraction)`` as it goes (with ``progress``), then one of ``("ok", value)``,
    ``("config", ConfigError fields)``, ``("usage", message)``, ``("memory",)`` or
    ``("error", summary, traceback)``. ``lifeline``: the read end of a pipe whose write end
    only the page's process holds; the child ends when it closes (see :func:`_end_with`)."""
    threading.Thread(target=_end_with, args=(lifeline,), daemon=True).start()
    _limit(resource.RLIMIT_CPU, cpu_limit_s)
    size = _address_space_bytes()
    if size:  # Linux: what the child has, plus what the task may take
        _limit(resource.RLIMIT_AS, size + memory_mib * 2**20)
    kwargs = {"progress": lambda fraction: sender.send(("progress", fraction))} if progress else {}
    try:
        message: tuple = ("ok", task(*args, **kwargs))
    except ConfigError as exc:
        message = ("config", (exc.file, exc.path, exc.problem, exc.value, exc.allowed, exc.more))
    except UsageError as exc:
        message = ("usage", str(exc))
    except MemoryError:
        message = ("memory",)
    except Exception as exc:
        message = ("error", f"{type(exc).__name__}: {str(exc)[:300]}", traceback.format_exc())
    try:
        sender.send(message)
    except MemoryError:  # the value itself is too large to send
        sender.send(("memory",))


def _end_with(lifeline: Connection) -> None:
    """Wait for the lifeline to close — the page's process let go, or died (even by SIGKILL) —
    and end this process. A child's parent is the fork server, which outlives the Streamlit
    server while any child lives, so the parent's death is not the signal to watch."""
    try:
        lifeline.recv()
    except EOFError:
        pass
    os._exit(1)


def _address_space_bytes() -> int:
    """This process's virtual memory size [bytes] (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _limit(which: int, soft: int) -> None:
    """Lower a resource's soft limit to ``soft`` (never above its hard limit)."""
    _, hard = resource.getrlimit(which)
    resource.setrlimit(which, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
