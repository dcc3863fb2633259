"""What every page shares: the working line, cached analyses, simulations off the request
thread, CSV downloads, and how errors are shown.

The working line lives in ``st.session_state`` as YAML text (``spec_yaml``) — pydantic models
are not hashable by Streamlit, so every cache is keyed on that text. Only linesim's public
functions are called; nothing here computes a KPI itself.

Every page runs inside :func:`guarded`: a user's mistake shows as one error naming the field
(the station by its id), anything unexpected as a short error with its details folded away —
Streamlit's traceback never reaches the page. User text goes through :func:`safe.md`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import re
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
import yaml
from pydantic import ValidationError

# In a checkout the app sits beside the package (ui/ and linesim/ at the top level), which may
# not be installed: put the checkout first. In the wheel the app is linesim/_bundled/ui and the
# package is already importable.
ROOT = Path(__file__).resolve().parents[1]
if (ROOT / "linesim" / "__init__.py").is_file() and str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import background
import jobs
import kept
import tasks
from safe import md, shown
from tasks import SimulationRun

from linesim.bundled import bundled_lines
from linesim.config import dump_line, line_from_text, load_line
from linesim.errors import ConfigError, UsageError, from_validation_error
from linesim.report.optimise import renamed

CONFIGS = list(bundled_lines().values())
DEFAULT_CONFIG = bundled_lines()["pilot_sulfide_200mwh"]

UPLOAD_LIMIT_MB = 1  #: largest config a user may upload [MB]
UPLOAD_TIME_LIMIT_S = 10.0  #: time to load, validate and analyse an upload [s]
UPLOAD_MEMORY_MIB = 512  #: memory that may take [MiB]
SIMULATION_TIME_LIMIT_S = 300.0  #: time one simulation request may take [s]
SIMULATION_MEMORY_MIB = 2048  #: memory it may take [MiB]
TIMELINE_TIME_LIMIT_S = 180.0  #: time a machine-state timeline may take [s]
TIMELINE_DEFAULT_START_H = 24.0  #: the timeline's window starts here by default (or warm-up) [h]
TIMELINE_MAX_H = 48.0  #: longest timeline window [h]
#: The library's parameter names in a refused simulation's message → the Simulate page's inputs.
SIMULATION_INPUTS = {
    "horizon_s": "Horizon [days]",
    "replications": "Replications",
    "allow_large": "`linesim run --allow-large`",
}
NEEDS_COST = (
    "needs the line's `cost:` block (see configs/README.md, section 'Cost inputs'); "
    "capacity, yield and simulation work without it"
)

MESSAGE_LIMIT = 1000  #: characters of an error message shown [-] (a user text: safe.TEXT_LIMIT)
#: What a user got wrong: shown as one error naming the field, never as a traceback.
USER_ERRORS = (ConfigError, UsageError, ValidationError, yaml.YAMLError, jobs.TaskFailed)
_LOG = logging.getLogger("linesim.ui")


def bundled() -> dict[str, Path]:
    return {p.stem: p for p in CONFIGS}


TABLE_PREFIX = "stations_"  #: the Line page's table (key: prefix + revision of the line)
EDIT_PREFIX = "edit_"  #: the Line page's quick-edit inputs (except the station choice)
REVISION = "line_revision"  #: counts the working line's changes in this session
TARGET = "target_gwh_per_year"  #: the planner's target output, kept for the session [GWh/yr]
EDITED = "spec_edited"  #: (digest, spec) of a working line made by an edit, before its YAML
QUICK_STATION = "quick_station"  #: the quick-edit panel's station, kept across pages


def line_revision() -> int:
    """How often the working line changed in this session: the Line page's inputs are keyed
    on it, so that a changed line gets new inputs showing its values (a browser keeps what an
    input showed under its old key and would send it back, undoing the change)."""
    return int(st.session_state.get(REVISION, 0))


def set_working(spec, source: str) -> None:
    """Make ``spec`` the working line (see :func:`set_working_yaml`)."""
    set_working_yaml(dump_line(spec), source)


def set_working_yaml(text: str, source: str) -> None:
    """Make the validated line ``text`` (YAML) the working line (another line: the quick-edit
    panel goes to its bottleneck)."""
    st.session_state.pop(EDITED, None)
    st.session_state.pop("edit_station", None)
    st.session_state.pop(QUICK_STATION, None)
    st.session_state["spec_yaml"] = text
    _changed(source)


def set_working_edited(spec) -> None:
    """Make ``spec``, an edit of the working line, the working line. Its YAML is written when
    a page asks for it (:func:`working_yaml`): writing a GWh line's takes longer than the
    whole answer to an edit on the Line page (see :func:`working_key`)."""
    st.session_state.pop("spec_yaml", None)
    st.session_state[EDITED] = (hashlib.sha256(spec.model_dump_json().encode()).hexdigest(), spec)
    _changed("edited")


def _changed(source: str) -> None:
    """The working line changed. The Line page's inputs hold values of the old line: the
    revision moves on (new inputs, see :func:`line_revision`) and the old inputs' values are
    dropped, so nothing re-applies them."""
    st.session_state["spec_source"] = source
    st.session_state[REVISION] = line_revision() + 1
    for key in list(st.session_state):
        if key.startswith(TABLE_PREFIX) or (key.startswith(EDIT_PREFIX) and key != "edit_station"):
            del st.session_state[key]


def reopen_picker(records: list[dict], what: str, label, keys: tuple[str, str]) -> dict | None:
    """A choice of stored ``records`` (``what``: "sweep", "optimisation") and a Reopen button;
    the record reopened, whole (its line made the working line by :func:`reopen_line`), or
    ``None``.
    ``label(record)`` names a record in the list; ``keys`` are the choice's and the button's."""
    by_id = {r["id"]: r for r in records}
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    pick = c1.selectbox(
        f"Stored {what}", list(by_id), format_func=lambda rid: label(by_id[rid]), key=keys[0]
    )
    if not c2.button(
        "Reopen (its line becomes the working line)",
        key=keys[1],
        help="a working line not saved as a scenario is saved as one first",
    ):
        return None
    record = by_id[pick]
    if "config_text" not in record:  # a brief listing (kept.stored): read the one reopened
        from linesim.store import Store

        record = Store().get(pick)
    reopen_line(record["config_text"], f"{what} {pick}")
    return record


def reopen_line(text: str, what: str) -> None:
    """Make ``text`` (YAML), the line of the stored record ``what`` (``"sweep <id>"``), the
    working line, for a reopened record. A working line that is neither a saved scenario nor
    a bundled line as shipped (an edit, the YAML editor's, an optimised point) is kept first
    as the scenario "before reopening <what>", and said so: nothing the user made is lost."""
    from linesim.store import Store, StoreError

    old = working_yaml()
    if text == old:
        return
    source = str(st.session_state.get("spec_source", ""))
    store = Store()
    try:
        saved = {s["yaml"] for s in store.scenarios()} if store.path.exists() else set()
    except StoreError:
        saved = set()  # cannot tell: kept once more rather than lost
    shipped = source in bundled() and old == dump_line(load_line(bundled()[source]))
    if old not in saved and not shipped:
        name = f"before reopening {what}"
        if store.save_scenario(name, old, working_spec().name):
            st.toast(f"The working line you had is saved as scenario {md(name)} (Compare page).")
        for problem in store.problems:
            st.warning(md(problem, 500))
    set_working_yaml(text, f"the line of {what}")


def working_yaml() -> str:
    """The working line's YAML text (the default bundled pilot line at first)."""
    if "spec_yaml" not in st.session_state:
        if EDITED in st.session_state:
            st.session_state["spec_yaml"] = dump_line(st.session_state[EDITED][1])
        else:
            set_working(load_line(DEFAULT_CONFIG), DEFAULT_CONFIG.stem)
    return st.session_state["spec_yaml"]


def working_key() -> str:
    """What the working line's cached figures are keyed on: the digest of an edited line
    (no YAML written), else its YAML text."""
    if EDITED in st.session_state:
        return st.session_state[EDITED][0]
    return working_yaml()


@st.cache_data(max_entries=64, show_spinner=False)
def spec_from_yaml(text: str):
    return line_from_text(text, "<working line>")


def working_spec():
    if EDITED in st.session_state:
        return st.session_state[EDITED][1]
    return spec_from_yaml(working_yaml())


@st.cache_data(max_entries=64, show_spinner=False)
def capacity_of(key: str, _spec):
    """:func:`capacity` of the working line ``_spec`` (``key``: :func:`working_key`)."""
    from linesim.capacity import capacity_report

    return capacity_report(_spec)


@st.cache_data(max_entries=64, show_spinner=False)
def capacity_at(key: str, _spec, target_gwh_per_year: float):
    """:func:`capacity` of the working line at a target output [GWh/yr] (utilisations)."""
    from linesim.capacity import capacity_report

    return capacity_report(_spec, target_gwh_per_year)


def target_advice(key: str, spec, target: float, output: float, what: str) -> None:
    """A red flag when ``output`` [GWh/yr] (``what``: static, simulated) is below ``target``,
    with what to do: the machines each short station needs for the target (static)."""
    if not target or output >= target:
        return
    cap = capacity_at(key, spec, target)
    short = [
        (s.id, s.machines, math.ceil(s.machines * s.utilisation_at_target - 1e-9))
        for s in cap.stations
        if s.utilisation_at_target is not None and s.utilisation_at_target > 1.0
    ]
    todo = (
        "Add machines: "
        + ", ".join(f"**{md(sid)}** {n:,} → {need:,}" for sid, n, need in short)
        + " (static need at the target)"
        if short
        else "No station is short on the static basis: add buffers or machines at the "
        "simulated bottleneck"
    )
    st.error(
        f"The {what} output, {output:,.3f} GWh/yr, misses the target of {target:,.3f} GWh/yr "
        f"by {1 - output / target:.1%}. {todo}; or let the Optimise page find the cheapest "
        "layout for the target.",
        icon="🚩",
    )


@st.cache_data(max_entries=64, show_spinner=False)
def static_cost_of(key: str, _spec):
    """:func:`static_cost` of the working line ``_spec`` (``key``: :func:`working_key`)."""
    from linesim.economics.cost import cost_report

    return cost_report(_spec) if _spec.cost is not None else None


@st.cache_data(max_entries=64, show_spinner=False)
def warmup_h(key: str, _spec) -> float:
    """The warm-up a simulation of the working line ``_spec`` uses [h]."""
    from linesim.capacity import suggested_warmup_h

    return suggested_warmup_h(_spec)


@st.cache_data(max_entries=64, show_spinner=False)
def capacity(text: str):
    """The static capacity report (output, yield, bottleneck): needs no cost block."""
    from linesim.capacity import capacity_report

    return capacity_report(spec_from_yaml(text))


@st.cache_data(max_entries=64, show_spinner=False)
def static_cost(text: str):
    """The cost report on the static basis (milliseconds: the Line page's card on every
    edit); None for a line without a cost block."""
    from linesim.economics.cost import cost_report

    spec = spec_from_yaml(text)
    return cost_report(spec) if spec.cost is not None else None


@st.cache_data(max_entries=64, show_spinner=False)
def static_analysis(text: str):
    """Capacity, yield, cost, ramp-up and tornado on the static basis (seconds on a GWh line:
    the pages that show them; cached by the line's text); None for a line without a cost
    block."""
    from linesim.economics.analysis import analyse

    spec = spec_from_yaml(text)
    return analyse(spec, tornado_fraction=0.2) if spec.cost is not None else None


def load_upload(upload) -> None:
    """Make an uploaded config the working line: refused over :data:`UPLOAD_LIMIT_MB` before
    it is read, then loaded, validated and analysed in a child process under a time and
    memory limit, so that no upload can stall the server."""
    limit = UPLOAD_LIMIT_MB * 2**20
    if upload.size > limit:
        raise ConfigError(
            upload.name,
            "",
            f"the file is {upload.size:,} bytes, over the app's upload limit",
            None,
            f"a line config of at most {UPLOAD_LIMIT_MB} MB ({limit:,} bytes)",
        )
    text = jobs.run(
        tasks.checked_upload,
        upload.getvalue(),
        upload.name,
        label=f"Checking {upload.name}",
        time_limit_s=UPLOAD_TIME_LIMIT_S,
        memory_mib=UPLOAD_MEMORY_MIB,
        remedy="a smaller config (`linesim validate` checks one of any size)",
    )
    set_working_yaml(text, upload.name)


EDITOR = "the YAML editor"  #: what messages call the Line page's YAML editor


def check_yaml(text: str) -> str:
    """The YAML editor's text validated in a child process under the upload's limits (the same
    checks as an upload, ``extends:`` a bundled line allowed): the line's YAML; a mistake is
    raised as a ConfigError naming the station id and field. The last answer is kept, so a
    rerun does not check the same text again."""
    digest = hashlib.sha256(text.encode()).hexdigest()
    kept = st.session_state.get("yaml_checked")
    if kept is not None and kept[0] == digest:
        if isinstance(kept[1], Exception):
            raise kept[1]
        return kept[1]
    limit = UPLOAD_LIMIT_MB * 2**20
    try:
        if len(text.encode()) > limit:
            raise ConfigError(
                EDITOR,
                "",
                f"the text is {len(text.encode()):,} bytes, over the app's limit",
                None,
                f"a line config of at most {UPLOAD_LIMIT_MB} MB ({limit:,} bytes)",
            )
        checked = jobs.run(
            tasks.checked_yaml,
            text.encode(),
            EDITOR,
            label="Checking the YAML",
            time_limit_s=UPLOAD_TIME_LIMIT_S,
            memory_mib=UPLOAD_MEMORY_MIB,
            remedy="a smaller config (`linesim validate` checks one of any size)",
        )
    except USER_ERRORS as exc:
        st.session_state["yaml_checked"] = (digest, exc)
        raise
    st.session_state["yaml_checked"] = (digest, checked)
    return checked


def simulation(text: str, horizon_days: float, replications: int, seed: int) -> SimulationRun:
    """Replications on the fast engine in a child process, stopped with the page (see
    :mod:`jobs`); arguments as :func:`tasks.simulation`. A request whose estimated work is
    absurd is refused, its parameters named as the Simulate page's inputs."""
    try:
        return jobs.run(
            tasks.simulation, text, horizon_days, replications, seed, **simulation_limits()
        )
    except UsageError as exc:
        raise UsageError(renamed(str(exc), SIMULATION_INPUTS)) from None


def timeline(text: str, seed: int, replication: int, start_h: float, length_h: float):
    """A machine-state timeline (:func:`tasks.timeline`) in a child process, with progress."""
    return jobs.run(
        tasks.timeline,
        text,
        seed,
        replication,
        start_h,
        length_h,
        label="Tracing the machine states",
        time_limit_s=TIMELINE_TIME_LIMIT_S,
        memory_mib=SIMULATION_MEMORY_MIB,
        remedy="an earlier or shorter window",
        progress=True,
    )


def simulation_limits() -> dict:
    """How a simulation runs in a child process (:func:`jobs.run`, :func:`background.start`)."""
    return dict(
        label="Simulating the line",
        time_limit_s=SIMULATION_TIME_LIMIT_S,
        memory_mib=SIMULATION_MEMORY_MIB,
        remedy="a shorter horizon, fewer replications, or `linesim run` for long runs",
        progress=True,
    )


def start_simulation(text: str, horizon_days: float, replications: int, seed: int) -> None:
    """:func:`simulation` as long work that outlives the page (see :func:`follow_job`); the
    server records its result in the results store when it ends, whoever is looking."""
    start_job(
        "simulation",
        tasks.simulation,
        text,
        horizon_days,
        replications,
        seed,
        context={"yaml": text},
        on_done=kept.keep_simulation,
        **simulation_limits(),
    )


def follow_simulation() -> None:
    """The running simulation's progress; its result becomes the session's simulation."""

    def done(run: SimulationRun, context: Any) -> None:
        st.session_state["simulation"] = run

    follow_job("simulation", done, lambda m: renamed(m, SIMULATION_INPUTS))


JOB_PREFIX = "job_"  #: session keys of running long work (:mod:`background`), by name
JOB_ERROR_PREFIX = "job_error_"  #: …and of the error a finished one ended with
JOB_NOTE_PREFIX = "notes_of_job_"  #: …and of what a finished one's keeping ran into
RESUMED = "the line of the work resumed after a reload"  #: the working line's source then
RESUME_CHECKED = "jobs_resumed"  #: set on a session's first script run (:func:`resume_jobs`)
TAB = "tab"  #: the query parameter that names the browser tab (:func:`tab_id`)
TAB_KEY = "tab_id"  #: …and the session key that holds it


def tab_id() -> str:
    """This browser tab's id, kept in the page's address (``?tab=…``): a reload keeps the
    address, so the reload's new session is known as the same tab and takes over that tab's
    long work (:func:`resume_jobs`), never another's. A session's first run takes the id the
    address gives (a reload) or makes one (a new tab, a bare address); every run writes it back
    (going to another page drops the query)."""
    ours = st.session_state.get(TAB_KEY)
    if ours is None:
        given = st.query_params.get(TAB, "")
        ours = given if re.fullmatch(r"[0-9a-f]{32}", given) else uuid.uuid4().hex
        st.session_state[TAB_KEY] = ours
    if st.query_params.get(TAB) != ours:
        st.query_params[TAB] = ours
    return ours


def resume_jobs() -> None:
    """On a session's first script run (a reload, a new tab): take over the long work this
    tab's gone session left (:func:`background.adopt`: still running, or just done with its
    result), so its pages follow it; the line of the newest such job becomes the working line
    (the reload lost the old one).

    A tab, or a job of it, still held by an open session is not taken (:func:`background.hold_tab`,
    :func:`background.held_elsewhere`): on a busy server a reload's new session runs before the
    server has seen the old one end, so the page asks again twice a second (a fragment) for
    :data:`background.ORPHAN_GRACE_S`; a session that still holds it then is another tab at the
    same address (a pasted link, a duplicated tab, a bookmark), which keeps its id and its
    jobs, and this session takes an id of its own (:func:`tab_id`) — whether or not the tab
    has work running then, so that two open tabs never share an id."""
    tab = tab_id()
    if not st.session_state.get(RESUME_CHECKED):
        st.session_state[RESUME_CHECKED] = True
        st.session_state[RESUME_UNTIL] = time.monotonic() + background.ORPHAN_GRACE_S
    if RESUME_UNTIL not in st.session_state or _take_over(tab):
        return

    @st.fragment(run_every=background_poll_s())
    def again() -> None:
        if RESUME_UNTIL not in st.session_state or _take_over(tab_id()):
            st.rerun(scope="app")  # the page follows the job taken over, at the new address

    again()


RESUME_UNTIL = "jobs_resume_until"  #: until when [monotonic s] a session asks to take over


def _take_over(tab: str) -> bool:
    """One attempt of :func:`resume_jobs`; whether it is settled (nothing left to wait for)."""
    newest = None
    for name, key in background.adopt(tab).items():
        st.session_state[JOB_PREFIX + name] = key
        job = background.get(key)
        if job is None:
            continue  # forgotten meanwhile
        if newest is None or job.started > newest.started:
            newest = job
    text = newest.context.get("yaml") if newest and isinstance(newest.context, dict) else None
    if text and text != working_yaml():
        set_working_yaml(text, RESUMED)
    if background.held_elsewhere(tab) or not background.hold_tab(tab):
        if time.monotonic() < st.session_state[RESUME_UNTIL]:
            return False
        # another tab at this address keeps its id and its jobs; this one takes its own
        ours = uuid.uuid4().hex
        st.session_state[TAB_KEY] = st.query_params[TAB] = ours
        background.retab(tab, ours)
        background.hold_tab(ours)
    del st.session_state[RESUME_UNTIL]
    return True


def start_job(
    name: str,
    task: Callable[..., Any],
    *args: Any,
    context: Any = None,
    on_done: Callable[[Any, Any], Any] | None = None,
    **limits: Any,
) -> None:
    """Start long work ``task(*args)`` (``limits`` as :func:`jobs.run`) that keeps running
    when the user goes to another page or reloads it; :func:`follow_job` shows it.
    ``context``: a dict with the YAML (``"yaml"``) of the line it works on, and what else its
    page needs — or, for work on a line that is not the working line (an optimised layout's
    simulation), its YAML as ``"line"``: recorded all the same (a restart offers it for a
    rerun), but a reload does not make it the working line; ``on_done(value, context)``: what
    the server does with the value (keep it in the results store), returning a dict with the
    record's ``"record_id"`` and ``"problems"``."""
    st.session_state.pop(JOB_ERROR_PREFIX + name, None)
    st.session_state.pop(JOB_NOTE_PREFIX + name, None)
    old = background.get(st.session_state.get(JOB_PREFIX + name))
    if old is not None:
        old.cancel()
    record = None
    line_key = next((k for k in ("yaml", "line") if k in (context or {})), None)
    if isinstance(context, dict) and line_key:  # kept while it runs (a restart)
        done_name = on_done.__name__ if on_done is not None else None
        # the working line's spec is validated already: not read again from its YAML
        spec = working_spec() if context[line_key] == working_yaml() else None
        record, problems = kept.open_job_record(
            name, task.__name__, args, context, done_name, limits, tab_id(), spec, line_key
        )
        if problems:  # shown by follow_job: the work runs, but a restart would lose it
            st.session_state[JOB_NOTE_PREFIX + name] = [
                f"This work is not recorded as running (a server restart would lose it): {p}"
                for p in problems
            ]

    def closed(job: background.Job) -> None:
        status = job.end_status()
        if record is not None and status is not None:  # None: the server is stopping
            kept.close_job_record(record, status)

    st.session_state[JOB_PREFIX + name] = background.start(
        task,
        *args,
        kind=name,
        context=context,
        on_done=on_done,
        tab=tab_id(),
        on_end=closed,
        **limits,
    )


def interrupted(name: str, reopen: Callable[[dict], None] | None = None) -> None:
    """The long work ``name`` that was running when the app's server stopped (a restart, a
    crash), each with its line and when it started, to start again with the inputs it had
    (its line becomes the working line) or to dismiss. Offered to the browser tab that
    started it (:func:`kept.interrupted_jobs`; to other tabs only much later), and started
    again once: the record is claimed first, so a second tab's Rerun starts nothing. Not
    resumed by itself: a simulation or a search cannot go on from where its process died, and
    starting it again on its own would keep cores busy for a page nobody may open.
    ``reopen(context)``: what the page shows again before a rerun (the optimisation an
    optimised layout's simulation belongs to), for work whose line is no working line; by
    default the work's line becomes the working line."""
    with store_read("The interrupted work"):
        for record in interrupted_records(name):
            args, rid = record["args"], record["id"]
            when = str(record.get("created_at"))[:19]
            label = args.get("limits", {}).get("label", name)
            st.warning(
                f"**{md(label)}** ({md(record['line'])}, started {when} UTC) was running when "
                "the app's server stopped: interrupted. Its inputs are kept: rerun it with "
                "them ("
                + (
                    "its line becomes the working line"
                    if reopen is None
                    else "the optimisation it belongs to is reopened"
                )
                + "), or dismiss it.",
                icon="⏹️",
            )
            c1, c2, _ = st.columns([1, 1, 4])
            if c1.button("Rerun", key=f"rerun_{rid}"):
                if _claimed(rid, "rerun"):
                    task_args, context, args = kept.rerun_inputs(rid)
                    if reopen is None:
                        reopen_line(context["yaml"], f"interrupted {name} {rid}")
                    else:
                        reopen(context)
                    done = args.get("on_done")
                    start_job(
                        name,
                        getattr(tasks, args["task"]),
                        *task_args,
                        context=context,
                        on_done=getattr(kept, done) if done else None,
                        **args["limits"],
                    )
                    st.rerun()
            if c2.button("Dismiss", key=f"dismiss_{rid}") and _claimed(rid, "dismissed"):
                st.rerun()


INTERRUPTED = "interrupted_work"  #: session key: {(job name, tab): interrupted records}


def interrupted_records(name: str) -> list[dict]:
    """:func:`kept.interrupted_jobs` of this tab, read from the results store once a session
    (its first script run on the job's page), not on every script run: a record is left
    interrupted only by a server that stopped, and a session lives in one server, so only
    another server on the same store could add one meanwhile (shown to the next session).
    A record rerun or dismissed here leaves the list (:func:`_claimed`); one claimed by
    another tab meanwhile is said so when clicked (:meth:`Store.claim`)."""
    listed = st.session_state.setdefault(INTERRUPTED, {})
    key = (name, tab_id())
    if key not in listed:
        listed[key] = kept.interrupted_jobs(name, tab_id())
    return listed[key]


def _claimed(record_id: str, status: str) -> bool:
    """Whether this session closed the interrupted record (``rerun``, ``dismissed``); if not
    (another tab did, or the store is held), says so. Either way it is offered no more."""
    for records in st.session_state.get(INTERRUPTED, {}).values():
        records[:] = [r for r in records if r["id"] != record_id]
    claimed, problems = kept.claim_job_record(record_id, status)
    if not claimed:
        st.warning(
            "This interrupted work was rerun or dismissed meanwhile (another tab), or the "
            "results store could not be written: nothing started."
            + "".join(f" {md(p, 500)}" for p in problems)
        )
    return claimed


def follow_job(
    name: str,
    done: Callable[[Any, Any], None],
    rename: Callable[[str], str] = str,
    reopen: Callable[[dict], None] | None = None,
) -> None:
    """The job ``name``'s progress, with its ETA and a Cancel button, updated twice a second
    while it runs (also after the user comes back to the page, or reloads it: see
    :func:`resume_jobs`); when it ends, ``done(value, context)`` and the page is drawn again
    — or its error is shown (``rename``: the library's parameter names → the page's inputs,
    in a refused request's message). The context ``done`` is given holds the results
    store's record of the value as ``"kept_id"`` when the server kept it. ``reopen``: see
    :func:`interrupted`."""
    error = st.session_state.pop(JOB_ERROR_PREFIX + name, None)
    if error is not None:
        show_error(error)
    for note in st.session_state.pop(JOB_NOTE_PREFIX + name, None) or []:
        st.warning(md(note, 500))
    if background.get(st.session_state.get(JOB_PREFIX + name)) is None:
        interrupted(name, reopen)
        return

    @st.fragment(run_every=background_poll_s())
    def progress() -> None:
        key = st.session_state.get(JOB_PREFIX + name)
        job = background.get(key)
        if job is None:
            return
        if job.running:
            st.progress(job.shown_fraction(), text=md(job.status()))
            if st.button("Cancel", key=f"cancel_{name}"):
                job.cancel()
            return
        st.session_state.pop(JOB_PREFIX + name, None)
        background.drop(key)
        kept = job.kept if isinstance(job.kept, dict) else {}
        notes = [*job.problems, *kept.get("problems", [])]
        if notes:
            st.session_state[JOB_NOTE_PREFIX + name] = notes
        context = job.context
        if isinstance(context, dict) and kept.get("record_id"):
            context = {**context, "kept_id": kept["record_id"]}
        try:
            done(job.result(), context)
        except UsageError as exc:
            st.session_state[JOB_ERROR_PREFIX + name] = UsageError(rename(str(exc)))
        except USER_ERRORS as exc:
            st.session_state[JOB_ERROR_PREFIX + name] = exc
        st.rerun(scope="app")

    progress()


def background_poll_s() -> float:
    """How often a running job's progress is drawn again [s]."""
    return 0.5


def stored_simulations(spec, limit: int = 5) -> pd.DataFrame:
    """The latest simulations of exactly this line (its resolved spec's hash) in the results
    store, newest first: when, horizon, replications and their headline figures."""
    from linesim.store import Store, StoreError, spec_hash

    store = Store()
    if not store.path.exists():
        return pd.DataFrame()
    digest = spec_hash(spec)[0]
    try:  # one read of the file, not one per run
        runs = [r for r in store.records("run", limit=200) if r["config_hash"] == digest]
    except StoreError as exc:
        st.warning(f"The stored simulations cannot be read: {md(exc, 500)}")
        return pd.DataFrame()
    rows = []
    for rec in runs[:limit]:
        rid = rec["id"]
        summary, args = rec.get("summary") or {}, rec.get("args") or {}
        out = summary.get("output_gwh_per_year") or {}
        rows.append(
            {
                "run": rid,
                "finished": str(rec.get("finished_at") or rec.get("created_at"))[:19],
                "horizon [days]": _stored_horizon_days(args),
                "replications": args.get("replications"),
                "output [GWh/yr]": out.get("mean"),
                "± 95 % CI [GWh/yr]": (out["ci95_high"] - out["ci95_low"]) / 2
                if out.get("ci95_high") is not None and out.get("ci95_low") is not None
                else None,
                "bottleneck": summary.get("bottleneck"),
            }
        )
    return pd.DataFrame(rows)


def _stored_horizon_days(args: dict) -> float | None:
    """A stored run's horizon [days]: the app's ``horizon_days``, or ``linesim run``'s
    ``--horizon`` as given (``"0.5d"``; hours when bare); None when neither reads."""
    from linesim.units import parse_duration_s

    if args.get("horizon_days") is not None:
        return float(args["horizon_days"])
    try:
        return parse_duration_s(args["horizon"]) / 86400.0
    except (KeyError, TypeError, ValueError):
        return None


def last_simulation() -> SimulationRun | None:
    """The latest simulation of the working line in this session, or None."""
    sim = st.session_state.get("simulation")
    if isinstance(sim, SimulationRun) and sim.yaml == working_yaml():
        return sim
    return None


def table(frame: pd.DataFrame, name: str, key: str) -> None:
    """A table with a CSV download beside it; its decimal numbers shown with thousands
    separators (the browser's locale), the CSV at full precision."""
    floats = frame.select_dtypes("float").columns
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={c: st.column_config.NumberColumn(format="localized") for c in floats},
    )
    st.download_button(
        f"Download {name} (CSV)",
        frame.to_csv(index=False).encode(),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"csv_{key}",
    )


def station_named(path: str, spec=None) -> str:
    """A field path with its station named by id: ``stations[7].mttr_h`` →
    ``stations.stacking.mttr_h`` (``spec``: the line the numbers count in)."""
    if spec is None:
        return path

    return tasks.with_station_ids(path, [s.id for s in spec.stations])


def config_error_text(exc: ConfigError, spec=None) -> str:
    """One markdown message: the file (unless the app named it, ``<edit>``), the field path
    with its station id, the problem, the value and what is allowed."""
    where = [p for p in (exc.file, station_named(exc.path, spec)) if p and not p.startswith("<")]
    text = md(station_named(exc.problem, spec))
    if where:
        text = "**" + ": ".join(md(p) for p in where) + "**: " + text
    if exc.value is not None:
        text += f" (got {md(shown(exc.value))})"
    if exc.allowed:
        text += f"; allowed: {md(station_named(exc.allowed, spec))}"
    return "  \n".join([text, *(md("also: " + station_named(m, spec)) for m in exc.more)])


def error_text(exc: Exception, spec=None) -> str:
    """The markdown message of a user's mistake (one of :data:`USER_ERRORS`)."""
    if isinstance(exc, ValidationError):
        exc = from_validation_error(exc, "")
    if isinstance(exc, ConfigError):
        return config_error_text(exc, spec)
    if isinstance(exc, yaml.YAMLError):
        return "YAML: " + md(exc, MESSAGE_LIMIT)
    return md(exc, MESSAGE_LIMIT)


def show_error(exc: Exception, spec=None) -> None:
    st.error(error_text(exc, spec), icon="⚠️")
    if isinstance(exc, jobs.TaskFailed) and exc.details:
        with st.expander("details"):
            st.code(exc.details, language=None)


@contextlib.contextmanager
def reported(spec=None) -> Iterator[None]:
    """Show a user's mistake raised in the block as one error and carry on with the page."""
    try:
        yield
    except USER_ERRORS as exc:
        show_error(exc, spec)


@contextlib.contextmanager
def store_read(what: str) -> Iterator[None]:
    """Show the results store's being unreadable (:class:`linesim.store.StoreError`: damaged,
    not a file, held too long) in the block as one warning naming ``what`` could not be read
    (``"The stored sweeps"``), and carry on with the page."""
    from linesim.store import StoreError

    try:
        yield
    except StoreError as exc:
        st.warning(f"{what} cannot be read: {md(exc, 500)}")


def guarded(page: Callable[[], None]) -> None:
    """Run a page: a user's mistake ends it with one error, anything else with a short error
    and its traceback in a details expander. Streamlit's stop and rerun requests are not
    exceptions (BaseException) and pass through."""
    try:
        page()
    except USER_ERRORS as exc:
        show_error(exc)
    except Exception as exc:
        _LOG.exception("a page failed")
        st.error(
            f"Something went wrong in the app ({md(type(exc).__name__)}: {md(exc, 200)}). "
            "Reload the page; if it happens again, report it with the details below.",
            icon="⚠️",
        )
        with st.expander("details"):
            st.code(traceback.format_exc(), language=None)
