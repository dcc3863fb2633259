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


def test_a_jobs_status_gives_the_time_to_go_at_most_or_past_its_limit(monkeypatch):
    """The time to go at the pace so far (elapsed × (1 − f) ÷ f); past the time limit, that it
    will be stopped there and what would take less; a task that reports no fraction (a
    CP-SAT search) gets the time left to its limit as the most it has to go, its bar the
    share of the limit used."""
    now = [1000.0]
    monkeypatch.setattr(background.time, "monotonic", lambda: now[0])
    job = background.Job("Sweeping the line", 600.0, 64, "fewer levels")
    now[0] += 100.0
    job.fraction = 0.5
    assert (
        job.status()
        == "Sweeping the line… 50% in 1 min 40 s, about 1 min 40 s to go (limit 10 min 00 s)"
    )
    job.fraction = 0.1  # 100 s × 0.9 ÷ 0.1 = 900 s to go: 1,000 s > 600 s
    assert job.status() == (
        "Sweeping the line… 10% in 1 min 40 s, about 15 min 00 s to go, past its limit of "
        "10 min 00 s: it will be stopped there (for less work: fewer levels)"
    )
    search = background.Job("CP-SAT is searching", 240.0, 64, "")
    search.reports_progress = False
    now[0] += 60.0
    assert (
        search.status()
        == "CP-SAT is searching… 60 s so far, at most 3 min 00 s to go (its time limit)"
    )
    assert search.shown_fraction() == 0.25 and job.shown_fraction() == 0.1


def test_a_job_reporting_progress_ends_at_its_time_limit():
    job, took = _watched(0.5, None)
    assert took < 1.5 and job.outcome == ("timeout",)


def test_a_job_whose_session_has_gone_is_adopted_or_ends_after_its_grace(monkeypatch):
    """A reload's new session takes over the newest job of each kind that its tab's gone
    sessions left, never one of another tab, even a closed one, nor one whose session is open
    (another tab at the same address; or a reload's old session not yet seen gone, asked again
    while held_elsewhere says so); one nobody takes over ends after ORPHAN_GRACE_S, failed with
    its reason."""
    gone = {"old-session", "closed-tab-session"}
    monkeypatch.setattr(background, "_session_gone", lambda job: job.session in gone)
    monkeypatch.setattr(background, "_JOBS", {})
    jobs = {}
    for key, kind, session, tab in (
        ("a", "simulation", "old-session", "tab-1"),
        ("b", "simulation", "old-session", "tab-1"),
        ("c", "sweep", "old-session", "tab-1"),
        ("d", "sweep", "open-session", "tab-1"),  # open: another tab at this address
        ("e", "simulation", "closed-tab-session", "tab-2"),  # newest, of another tab
        ("f", "optimise", "closed-tab-session", "tab-2"),
    ):
        jobs[key] = background.Job(key, 60.0, 64, "", kind)
        jobs[key].session, jobs[key].tab = session, tab
        background._JOBS[key] = jobs[key]
        time.sleep(0.01)  # started in this order
    assert background.held_elsewhere("tab-1") and not background.held_elsewhere("tab-2")
    assert background.adopt("tab-1") == {"simulation": "b", "sweep": "c"}
    assert jobs["b"].session is None and jobs["a"].session == "old-session"  # no script run
    assert jobs["c"].session is None and jobs["d"].session == "open-session"
    assert jobs["e"].session == jobs["f"].session == "closed-tab-session"
    assert background.adopt("tab-3") == {}  # a new tab takes nobody's work
    gone.add("open-session")  # seen gone at last (a reload): asked again, it is taken
    assert background.adopt("tab-1")["sweep"] == "d" and jobs["d"].session is None
    assert not background.held_elsewhere("tab-1")
    jobs["a"].session = "open-session"
    background.retab("tab-1", "tab-4")  # this session's jobs move with it to an id of its own
    assert {k for k, j in jobs.items() if j.tab == "tab-4"} == {"b", "c", "d"}

    monkeypatch.setattr(background, "ORPHAN_GRACE_S", 0.3)
    receiver, sender = Pipe(duplex=False)
    held, _ = Pipe(duplex=False)
    job = background.Job("orphan", 60.0, 64, "", "simulation")
    job.session = "old-session"
    start = time.monotonic()
    background._watch(job, _Chatty(sender, 4.0), receiver, held)
    assert 0.3 <= time.monotonic() - start < 1.5 and job.abandoned
    try:
        job.result()
    except background.jobs.TaskFailed as exc:
        assert "its browser session had closed" in str(exc)
    else:
        raise AssertionError("an abandoned job has no result")


def test_what_a_job_made_is_kept_by_the_server_once_and_a_failure_to_keep_it_is_said():
    kept = []
    for on_done, record, problems in (
        (lambda value, context: kept.append((value, context)) or "record-1", "record-1", []),
        (lambda value, context: 1 / 0, None, ["the result could not be kept: ZeroDivisionError"]),
    ):
        receiver, sender = Pipe(duplex=False)
        held, _ = Pipe(duplex=False)
        job = background.Job("chatty", 60.0, 64, "", "simulation", {"yaml": "x"}, on_done)
        background._watch(job, _Chatty(sender, 0.1), receiver, held)
        assert job.result() == 42 and job.kept == record
        assert [p.split(":")[0] + ": " + p.split(": ")[1] for p in job.problems] == problems
    assert kept == [(42, {"yaml": "x"})]


def test_a_reload_adopts_only_work_still_running_or_just_done_and_watches_its_new_session(
    monkeypatch,
):
    """Of the jobs a gone session left, a reload takes over one still running or one that
    ended with its result within the grace; never one cancelled, stopped for want of a
    session, failed, or done long ago. The adopted job then ends with the NEW session."""
    from types import SimpleNamespace

    gone = {"old-tab"}
    monkeypatch.setattr(background, "_session_gone", lambda job: job.session in gone)
    monkeypatch.setattr(background, "_JOBS", {})
    monkeypatch.setattr(
        background, "get_script_run_ctx", lambda **_: SimpleNamespace(session_id="new-tab")
    )
    now = time.monotonic()
    states = {
        "running": {},
        "cancelled": {"cancelled": True},
        "abandoned": {"abandoned": True, "ended": now},
        "failed": {"outcome": ("error", "boom"), "ended": now},
        "done-long-ago": {"outcome": ("ok", 1), "ended": now - background.ORPHAN_GRACE_S - 1},
        "just-done": {"outcome": ("ok", 1), "ended": now},
    }
    for kind, state in states.items():
        job = background.Job(kind, 60.0, 64, "", kind)
        job.session, job.tab = "old-tab", "tab-1"
        vars(job).update(state)
        background._JOBS[kind] = job
    assert background.adopt("tab-1") == {"running": "running", "just-done": "just-done"}
    adopted = background._JOBS["running"]
    assert adopted.session == "new-tab"
    assert not background._abandoned(adopted)  # the new tab is open
    gone.add("new-tab")  # and is closed: the grace counts from now
    monkeypatch.setattr(background, "ORPHAN_GRACE_S", 0.0)
    background._abandoned(adopted)
    time.sleep(0.01)
    assert background._abandoned(adopted)


def test_a_jobs_record_ends_as_it_ended_and_stays_running_when_the_server_stops(monkeypatch):
    """complete with its result, cancelled, failed (a limit, an error, no word, its session
    gone); None — the record left running, read as interrupted once the server has gone —
    for a job the stopping server ended (the watcher stops at once, the child is killed)."""

    def ended(**state) -> str | None:
        job = background.Job("x", 60.0, 64, "", "simulation")
        vars(job).update(state)
        return job.end_status()

    assert ended(outcome=("ok", 1)) == "complete"
    assert ended(cancelled=True) == "cancelled"
    assert ended(outcome=("timeout",)) == "failed"
    assert ended(outcome=("error", "boom", "")) == "failed"
    assert ended(outcome=None) == "failed"  # died without a word (the kernel's OOM kill)
    assert ended(outcome=None, abandoned=True) == "failed"
    assert ended(outcome=None, server_stopped=True) is None

    monkeypatch.setattr(background, "_server_stopping", lambda: True)
    receiver, sender = Pipe(duplex=False)
    held, _ = Pipe(duplex=False)
    job = background.Job("chatty", 60.0, 64, "", "simulation")
    child = _Chatty(sender, 4.0)
    start = time.monotonic()
    background._watch(job, child, receiver, held)
    assert time.monotonic() - start < 1.5 and job.server_stopped and not child.alive
    assert job.end_status() is None

    # its process killed (SIGTERM to the server's process group) before the server's own
    # state says it is stopping: told apart within STOP_WAIT_S
    states = iter([False, False, True])
    monkeypatch.setattr(background, "_server_stopping", lambda: next(states, True))
    receiver, sender = Pipe(duplex=False)
    held, _ = Pipe(duplex=False)
    job = background.Job("killed", 60.0, 64, "", "simulation")
    sender.close()  # no word: EOF
    dead = type("Dead", (), {"is_alive": lambda self: False, "join": lambda self: None})()
    background._watch(job, dead, receiver, held)
    assert job.outcome is None and job.server_stopped and job.end_status() is None


def test_a_tab_id_is_held_by_one_open_session_at_a_time(monkeypatch):
    """A session at the address of a tab still open (a duplicated tab) does not hold its id,
    whether or not that tab has work running; the tab's reload does once its old session has
    gone; ids of sessions gone are forgotten."""
    from types import SimpleNamespace

    opened = set()
    monkeypatch.setattr(background, "_open", lambda session: session in opened)
    monkeypatch.setattr(background, "_TABS", {})
    me = SimpleNamespace(session_id=None)
    monkeypatch.setattr(background, "get_script_run_ctx", lambda **_: me)

    def session(name: str) -> None:  # the current script run is ``name``'s, which is open
        opened.add(name)
        me.session_id = name

    session("a")
    assert background.hold_tab("tab-a") and background.hold_tab("tab-a")  # its own, again
    session("d")  # tab a's address in another tab, while a is open (no job anywhere)
    assert not background.hold_tab("tab-a")
    assert background.hold_tab("tab-d")  # the id it takes instead
    opened.discard("a")  # tab a reloads: its old session has gone
    session("a2")
    assert background.hold_tab("tab-a")
    assert background._TABS == {"tab-a": "a2", "tab-d": "d"}
    opened.discard("d")  # tab d closed: forgotten when a session next holds a tab
    session("e")
    assert background.hold_tab("tab-e")
    assert background._TABS == {"tab-a": "a2", "tab-e": "e"}
