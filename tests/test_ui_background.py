"""ui/background.py: a job that reports progress often is still cancelled and timed out."""

import sys
import threading
import time
from multiprocessing import Pipe

from conftest import ROOT

sys.path.insert(0, str(ROOT / "ui"))
import background


class _Chatty:
    """A stand-in child that reports progress every 50 ms for ``seconds``, then its result."""

    def __init__(self, sender, seconds: float):
        self.alive = True
        self.thread = threading.Thread(target=self._talk, args=(sender, seconds), daemon=True)
        self.thread.start()

    def _talk(self, sender, seconds: float) -> None:
        end = time.monotonic() + seconds
        while self.alive and time.monotonic() < end:
            sender.send(("progress", 0.5))
            time.sleep(0.05)
        if self.alive:
            sender.send(("ok", 42))

    def is_alive(self) -> bool:
        return self.alive

    def kill(self) -> None:
        self.alive = False

    def join(self) -> None:
        self.thread.join()


def _watched(time_limit_s: float, cancel_after_s: float | None) -> tuple[background.Job, float]:
    receiver, sender = Pipe(duplex=False)
    held, _ = Pipe(duplex=False)
    job = background.Job("chatty", time_limit_s, 64, "")
    child = _Chatty(sender, 4.0)
    if cancel_after_s is not None:
        threading.Timer(cancel_after_s, job.cancel).start()
    start = time.monotonic()
    background._watch(job, child, receiver, held)
    return job, time.monotonic() - start


def test_a_job_reporting_progress_is_cancelled_at_once():
    job, took = _watched(60.0, 0.3)
    assert took < 1.5 and job.outcome is None and job.cancelled


def test_a_job_reporting_progress_ends_at_its_time_limit():
    job, took = _watched(0.5, None)
    assert took < 1.5 and job.outcome == ("timeout",)
