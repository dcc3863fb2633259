"""Long work that outlives its script run: a simulation or an optimisation started on a page keeps
running while the user looks at other pages, shows its progress with an ETA when its page is
drawn again, and can be cancelled.

A job is a child process of :mod:`jobs`' fork server (the same limits: time, memory, CPU) whose
messages a thread of the server collects; the session keeps the job's id
(``st.session_state``), this module the job. A job ends at its time limit, when cancelled, or
when its browser session has been gone for :data:`ORPHAN_GRACE_S` with no other session taking
it over, so none keeps a core busy for nobody.

A browser reload is a new session: the old one is gone, its job is not. A job belongs to the
browser tab that started it (its id kept in the page's address, which a reload keeps: see
``common.tab_id``): the page of the tab's new session takes over (:func:`adopt`) the newest job
of its kind that the tab's gone session left, and follows it to its end. Another tab, open or
opened later, never sees it, nor ends or replaces it.

What a finished job made is kept by the server, not by a session: ``on_done`` (e.g. record it
in the results store) runs in the watching thread when the task returns, whether or not a
session is looking; ``on_end`` (close the record of the running work) when it ends, however.
"""

from __future__ import annotations

import math
import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import jobs
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

_JOBS: dict[str, Job] = {}
#: browser tab id → the session that holds it (:func:`hold_tab`): one open session a tab
_TABS: dict[str, str | None] = {}
_LOCK = threading.Lock()
KEEP_S = 3600.0  #: a finished job's result is kept this long for its page to collect [s]
#: The environment variable that sets :data:`ORPHAN_GRACE_S` (tests/conftest.py: 2 s for the
#: AppTest pages; tests/browser.py's servers keep the app's 10 s).
GRACE_ENV = "LINESIM_UI_ORPHAN_GRACE_S"


def _grace_s(default: float = 10.0) -> float:
    """:data:`GRACE_ENV`'s number of seconds, or ``default`` when it is unset."""
    text = os.environ.get(GRACE_ENV, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 < value < math.inf:
        raise SystemExit(
            f"environment variable {GRACE_ENV}: {text!r}; allowed: a number of seconds > 0"
        )
    return value


#: A job whose session has gone runs on this long for a new one to adopt [s]: a reload's new
#: session adopts it on its first script run, a second or two later; a tab closed for good
#: leaves a core busy no longer than this. 10 s unless :data:`GRACE_ENV` says otherwise.
ORPHAN_GRACE_S = _grace_s()


class Job:
    """One piece of long work in a child process (see the module's text)."""

    def __init__(
        self,
        label: str,
        time_limit_s: float,
        memory_mib: int,
        remedy: str,
        kind: str = "",
        context: Any = None,
        on_done: Callable[[Any, Any], Any] | None = None,
    ):
        self.label, self.time_limit_s = label, time_limit_s
        self.memory_mib, self.remedy = memory_mib, remedy
        self.kind = kind  #: what the job is (a page's name for it: "simulation")
        self.context = context  #: what its page needs to show the result (the line's YAML)
        self.on_done = on_done  #: ``on_done(value, context)`` in the server, once it returns
        self.kept: Any = None  #: what ``on_done`` returned (a results store's record id)
        self.problems: list[str] = []  #: what went wrong keeping the result
        self.abandoned = False  #: ended because its session went and none took it over
        self.orphan_since: float | None = None
        self.started = time.monotonic()
        self.ended: float | None = None
        self.fraction = 0.0
        self.outcome: tuple | None = None
        self.cancelled = False
        self.session: str | None = None
        self.tab: str | None = None  #: the browser tab that started it (survives reloads)
        #: ended because the Streamlit server is stopping (a restart, a service stop)
        self.server_stopped = False
        #: ``on_end(job)`` in the server once the job has ended, however (close its record)
        self.on_end: Callable[[Job], Any] | None = None
        #: whether the task reports the fraction done (a CP-SAT search does not: its status
        #: gives the time to go at most, up to its time limit)
        self.reports_progress = True

    @property
    def running(self) -> bool:
        return self.ended is None

    def elapsed_s(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    def eta_s(self) -> float | None:
        """Seconds still to go at the pace so far [s] (None before the first progress)."""
        f = self.fraction
        if not 0.0 < f < 1.0:
            return None
        return self.elapsed_s() * (1.0 - f) / f

    def status(self) -> str:
        """``"<label>… 40 % in 12 s, about 18 s to go (limit 300 s)"``; an estimate past the
        time limit says the work will be stopped there, and what would take less; a task that
        reports no fraction done (a search) gives the time to go at most: ``"<label>… 12 s so
        far, at most 3 min 48 s to go (its time limit)"``."""
        elapsed = self.elapsed_s()
        if not self.reports_progress:
            return (
                f"{self.label}… {_duration(elapsed)} so far, at most "
                f"{_duration(self.time_limit_s - elapsed)} to go (its time limit)"
            )
        eta = self.eta_s()
        left = f", about {_duration(eta)} to go" if eta is not None else ""
        if eta is not None and elapsed + eta > self.time_limit_s:
            return (
                f"{self.label}… {self.fraction:.0%} in {_duration(elapsed)}{left}, past its "
                f"limit of {_duration(self.time_limit_s)}: it will be stopped there (for less "
                f"work: {self.remedy})"
            )
        return (
            f"{self.label}… {self.fraction:.0%} in {_duration(elapsed)}{left} "
            f"(limit {_duration(self.time_limit_s)})"
        )

    def shown_fraction(self) -> float:
        """The progress bar's fraction: done, or for a task that reports none the share of
        its time limit used (the bound its status gives)."""
        if self.reports_progress:
            return self.fraction
        return min(max(self.elapsed_s() / self.time_limit_s, 0.0), 1.0)

    def cancel(self) -> None:
        self.cancelled = True

    def end_status(self) -> str | None:
        """How it ended, as its results store record says: ``complete`` (with its result),
        ``cancelled`` or ``failed`` (a limit, an error, its session gone); None when the
        server stopped under it (:attr:`server_stopped`): the record is left ``running``,
        which the store reads as ``interrupted`` once the server's process has gone."""
        if self.outcome is not None and self.outcome[0] == "ok":
            return "complete"
        if self.cancelled:
            return "cancelled"
        return None if self.server_stopped else "failed"

    def result(self) -> Any:
        """The task's value, or its error raised here (as :func:`jobs.run`)."""
        if self.cancelled:
            raise jobs.TaskFailed(f"{self.label}: cancelled")
        if self.abandoned:
            raise jobs.TaskFailed(
                f"{self.label}: stopped, its browser session had closed for "
                f"{ORPHAN_GRACE_S:g} s; allowed: keep a page of the app open while it runs"
            )
        if self.outcome is None:
            raise jobs.TaskFailed(
                f"{self.label} stopped without a result, most likely over the app's memory "
                f"limit of {self.memory_mib} MiB; allowed: {self.remedy}"
            )
        if self.outcome[0] == "timeout":
            raise jobs.TaskFailed(
                f"{self.label} took longer than the app's limit of {self.time_limit_s:g} s; "
                f"allowed: {self.remedy}"
            )
        return jobs._result(self.outcome, self.label, self.memory_mib, self.remedy)


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{math.floor(seconds / 60):,.0f} min {seconds % 60:02.0f} s"


def start(
    task: Callable[..., Any],
    *args: Any,
    label: str,
    time_limit_s: float,
    memory_mib: int,
    remedy: str,
    progress: bool = False,
    threads: int = 1,
    kind: str = "",
    context: Any = None,
    on_done: Callable[[Any, Any], Any] | None = None,
    tab: str | None = None,
    on_end: Callable[[Job], Any] | None = None,
) -> str:
    """Start ``task(*args)`` (arguments as :func:`jobs.run`) and return the job's id.

    ``kind``: what the job is, for :func:`adopt`; ``tab``: the browser tab it belongs to (only
    that tab's later sessions adopt it); ``context``: what its page needs to show its result,
    kept with the job; ``on_done(value, context)``: run in the server when the task returns its
    value, its return value kept as :attr:`Job.kept` (an exception it raises is kept as one of
    :attr:`Job.problems`, never lost silently); ``on_end(job)``: run in the server once it has
    ended, however it ended."""
    job = Job(label, time_limit_s, memory_mib, remedy, kind, context, on_done)
    ctx = get_script_run_ctx(suppress_warning=True)
    job.session = ctx.session_id if ctx is not None else None
    job.tab, job.on_end = tab, on_end
    job.reports_progress = progress
    child, receiver, held = jobs.spawn(task, args, time_limit_s, memory_mib, progress, threads)
    key = uuid.uuid4().hex
    with _LOCK:
        _forget_old()
        _JOBS[key] = job
    threading.Thread(target=_watch, args=(job, child, receiver, held), daemon=True).start()
    return key


def get(key: str | None) -> Job | None:
    with _LOCK:
        return _JOBS.get(key) if key else None


def adopt(tab: str) -> dict[str, str]:
    """The newest job of each kind that the browser tab ``tab`` started in an earlier session
    that has gone (a reload), now the current session's: ``{kind: id}``. Only a job still
    running, or one that ended with its result within :data:`ORPHAN_GRACE_S` (a reload as it
    ended); never one of another tab (open or closed), one cancelled or stopped for want of a
    session, nor one whose session is still open: the same address in another tab or browser
    (a pasted link, a duplicated tab, a bookmark) takes nothing from a tab that is open. A
    reload's new session may run before the server has seen the old one end (a busy server):
    :func:`held_elsewhere` says so, and the page asks again (``common.resume_jobs``). Older
    jobs of a kind are left to end. Once adopted, a job ends with its new session."""
    ctx = get_script_run_ctx(suppress_warning=True)
    taken: dict[str, str] = {}
    now = time.monotonic()
    with _LOCK:
        orphans = sorted(
            (j.started, k)
            for k, j in _JOBS.items()
            if j.tab == tab and _adoptable(j, now) and _session_gone(j)
        )
        for _, key in orphans:  # oldest first: the newest of a kind is the one kept
            taken[_JOBS[key].kind] = key
        for key in taken.values():
            _JOBS[key].session = ctx.session_id if ctx is not None else None
            _JOBS[key].orphan_since = None
    return taken


def held_elsewhere(tab: str) -> bool:
    """Whether a job of the browser tab ``tab`` that a reload would take over is held by a
    session still open other than the current one: either the tab's old session whose end
    the server has not seen yet (a reload on a busy server), or another tab at the same
    address (then it keeps it)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    me = ctx.session_id if ctx is not None else None
    now = time.monotonic()
    with _LOCK:
        return any(
            j.tab == tab and j.session != me and _adoptable(j, now) and not _session_gone(j)
            for j in _JOBS.values()
        )


def hold_tab(tab: str) -> bool:
    """Whether the current session now holds the browser tab ``tab`` (its id in the page's
    address): it does unless another session still open holds it — the same address open in
    another tab or browser (a pasted link, a duplicated tab, a bookmark), or a reload's old
    session whose end a busy server has not seen yet. Checked whether or not the tab has
    work running: two open tabs never share an id, so neither can take the other's later
    work on a reload (``common.resume_jobs`` lets a tab held elsewhere wait, then gives it an
    id of its own). Sessions that have gone are forgotten here."""
    ctx = get_script_run_ctx(suppress_warning=True)
    me = ctx.session_id if ctx is not None else None
    with _LOCK:
        holder = _TABS.get(tab)
        if holder is not None and holder != me and _open(holder):
            return False
        for gone in [t for t, s in _TABS.items() if s != me and not _open(s)]:
            del _TABS[gone]
        _TABS[tab] = me
        return True


def _open(session: str | None) -> bool:
    """Whether the browser session ``session`` is open (False without a server: AppTest)."""
    return (
        session is not None
        and runtime.exists()
        and runtime.get_instance().is_active_session(session)
    )


def retab(old: str, new: str) -> None:
    """The current session's jobs of the browser tab ``old`` now belong to the tab ``new``
    (the session was another tab at ``old``'s address, and now has an id of its own)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    me = ctx.session_id if ctx is not None else None
    with _LOCK:
        for job in _JOBS.values():
            if job.tab == old and job.session == me:
                job.tab = new


def _adoptable(job: Job, now: float) -> bool:
    """Whether a reload's new session (of the job's tab) may take ``job`` over once its
    session has gone (see :func:`adopt`)."""
    if not job.kind or job.cancelled or job.abandoned:
        return False
    if job.ended is None:
        return True
    ok = job.outcome is not None and job.outcome[0] == "ok"
    return ok and now - job.ended <= ORPHAN_GRACE_S


def drop(key: str) -> None:
    with _LOCK:
        _JOBS.pop(key, None)


def _forget_old() -> None:
    now = time.monotonic()
    for key in [k for k, j in _JOBS.items() if j.ended is not None and now - j.ended > KEEP_S]:
        del _JOBS[key]


def _session_gone(job: Job) -> bool:
    return (
        job.session is not None
        and runtime.exists()
        and not runtime.get_instance().is_active_session(job.session)
    )


def _watch(job: Job, child: Any, receiver: Any, held: Any) -> None:
    """Collect the child's messages until its result, its death, the time limit, a cancel or
    the end of its session; then make sure it is gone."""
    try:
        while True:
            if receiver.poll(jobs.POLL_S):
                try:
                    message = receiver.recv()
                except EOFError:
                    break
                if message[0] != "progress":
                    job.outcome = message
                    break
                job.fraction = min(max(float(message[1]), 0.0), 1.0)
            elif not child.is_alive() and not receiver.poll():
                break
            # checked after every message too: a child reporting progress faster than the
            # poll interval is still cancelled, timed out and ended with its session
            if job.cancelled:
                break
            if _server_stopping():  # its sessions go with it: not the user's doing
                job.server_stopped = True
                break
            if _abandoned(job):
                break
            if job.elapsed_s() > job.time_limit_s:
                job.outcome = ("timeout",)
                break
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receiver.close()
        held.close()
    if job.outcome is None and not (job.cancelled or job.abandoned or job.server_stopped):
        # died without a word: the kernel (memory), or ``linesim ui`` stopping the server's
        # process group (SIGTERM reaches the child as the server): told apart by the server
        job.server_stopped = _stopping_within(STOP_WAIT_S)
    if job.outcome is not None and job.outcome[0] == "ok" and job.on_done is not None:
        try:  # kept before the job shows as ended, so its page finds what was kept
            job.kept = job.on_done(job.outcome[1], job.context)
        except Exception as exc:
            job.problems.append(f"the result could not be kept: {type(exc).__name__}: {exc}")
    if job.on_end is not None:
        try:
            job.on_end(job)
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
            job.problems.append(f"the job's record could not be closed: {problem}")
    job.ended = time.monotonic()


#: How long [s] a job whose process died without a word waits for the server to show it is
#: stopping (then its record is left running: interrupted) before it counts as failed.
STOP_WAIT_S = 5.0


def _stopping_within(seconds: float) -> bool:
    """Whether the server shows it is stopping within ``seconds``."""
    deadline = time.monotonic() + seconds
    while not _server_stopping():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def _server_stopping() -> bool:
    """Whether the Streamlit server is stopping (SIGTERM, a restart)."""
    from streamlit.runtime.runtime import RuntimeState

    if not runtime.exists():
        return False
    return runtime.get_instance().state in (RuntimeState.STOPPING, RuntimeState.STOPPED)


def _abandoned(job: Job) -> bool:
    """Whether the job's session has been gone for :data:`ORPHAN_GRACE_S` (no session took
    the job over); marks it so."""
    if not _session_gone(job):
        job.orphan_since = None
        return False
    now = time.monotonic()
    if job.orphan_since is None:
        job.orphan_since = now
    job.abandoned = now - job.orphan_since > ORPHAN_GRACE_S
    return job.abandoned
