"""Long runs: how they stop, and that their worker processes stop with them.

- :class:`Interrupted`: the ``KeyboardInterrupt`` a long run raises once it has stopped its
  workers, saying how far it got and what was kept (the CLI prints it as one line).
- :func:`die_with_parent`: a child process (a pool worker, the Streamlit server) asks the kernel
  to kill it when its parent dies, so that even a ``SIGKILL``-ed parent leaves no orphans.
"""

from __future__ import annotations

import os
import signal
import sys

__all__ = ["Interrupted", "die_with_parent"]

_PR_SET_PDEATHSIG = 1  #: prctl(2) option: the signal a process gets when its parent dies


class Interrupted(KeyboardInterrupt):
    """A run stopped by SIGINT or SIGTERM after its workers were stopped.

    Parameters
    ----------
    progress : str
        How far it got, e.g. ``"3 of 5 replications finished"``.
    kept : str
        What was kept, e.g. ``"nothing recorded"``; a caller that keeps more (a store record)
        replaces it before passing the exception on.
    """

    def __init__(self, progress: str, kept: str = "nothing recorded"):
        super().__init__(progress, kept)
        self.progress, self.kept = progress, kept

    def __str__(self) -> str:
        return f"{self.progress}, {self.kept}" if self.kept else self.progress


def die_with_parent(parent_pid: int) -> None:
    """Have the kernel SIGKILL this process when the thread that started it exits (Linux).

    Called first thing in a child (a pool worker's initializer, a ``preexec_fn``) with the pid
    of the parent that started it; a parent that died before the call ends the child at once.
    Elsewhere than Linux nothing is set up and the parent's own clean-up stops its children.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
