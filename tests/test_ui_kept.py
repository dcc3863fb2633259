"""Long work kept (issue 17): a sweep, an optimisation and a simulation started in the app are
recorded in the results store by the server when they end, and a new session (a reload, a
server restart) lists them and reopens each as a fresh one shows it."""

import json
import math
import sys

from conftest import ROOT, settle
from streamlit.testing.v1 import AppTest

from linesim.config import dump_line, line_from_text, load_line
from linesim.store import Store
from linesim.summary import RunSummary, from_plain, json_safe
from linesim.sweep import run_sweep

sys.path.insert(0, str(ROOT / "ui"))  # the app's modules (kept, tasks), as its pages have
PILOT = "pilot_sulfide_200mwh"


def _page(name: str, text: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "ui" / "views" / f"{name}.py"), default_timeout=120)
    at.session_state["spec_yaml"] = text
    at.session_state["spec_source"] = "test"
    return at.run()


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def test_a_sweep_shows_what_run_sweep_computes_and_reopens_from_the_store():
    text = dump_line(load_line(PILOT))
    at = _ok(_page("sweep", text))
    at.text_input(key="sw_factor1").set_value("stations.stacking.machines=1,2")
    at.number_input(key="sw_days").set_value(0.25)  # the page's shortest
    at.number_input(key="sw_reps").set_value(2)
    _ok(settle(at.button(key="sw_run").click().run()))
    shown = next(d.value for d in at.dataframe if "output [GWh/yr]" in d.value.columns)

    specs = [
        line_from_text(text, "<working line>", [f"stations.stacking.machines={m}"]) for m in (1, 2)
    ]
    rows = run_sweep(specs, 0.25 * 86400.0, None, 2, 1, engine="fast", workers=1)
    for k in range(2):  # bit-identical means over the replications of each variant
        outputs = [r["kpis"]["output_gwh_per_year"] for r in rows if r["variant"] == k]
        assert shown["output [GWh/yr]"].iloc[k] == sum(outputs) / 2
        assert shown["stations.stacking.machines"].iloc[k] == str(k + 1)
    assert len(at.get("plotly_chart")) == 1

    # a new session on another line (a reload starts from the default line): the sweep is
    # listed, and reopens whole with its line as the working line
    other = dump_line(load_line(PILOT, ["stations.stacking.machines=5"]))
    assert other != text
    again = _ok(_page("sweep", other))
    again.button(key="sw_reopen").click().run()
    _ok(again)
    assert again.session_state["spec_yaml"] == text
    reopened = next(d.value for d in again.dataframe if "output [GWh/yr]" in d.value.columns)
    assert reopened.equals(shown)
    assert any("Reopened from the results store" in c.value for c in again.caption)
    # the line it replaced, saved nowhere, is kept as a scenario first
    assert [(s["name"], s["yaml"]) for s in Store().scenarios()] == [
        (f"before reopening sweep {again.session_state['sw_reopened']}", other)
    ]


def test_an_optimisation_is_kept_and_reopens_in_a_new_session():
    text = dump_line(load_line(PILOT))
    at = _ok(_page("optimise", text))
    _ok(settle(at.button(key="run_optimise").click().run()))
    live = [m.value for m in at.metric]
    assert any(s.value == "Against the working line" for s in at.subheader), live
    layout = at.session_state["optimised"]["result"][0].layout
    stations = [s.id for s in load_line(PILOT).stations]
    assert list(layout) == stations != sorted(stations)  # the line's flow order
    (record,) = [r for r in Store().list()["kind"] if r == "optimise"]

    again = _ok(_page("optimise", text))
    assert not any(s.value == "Against the working line" for s in again.subheader)
    _ok(again.button(key="reopen_optimisation").click().run())
    assert [m.value for m in again.metric] == live
    assert any("Reopened from the results store" in c.value for c in again.caption)
    assert Store().scenarios() == []  # the working line was the record's: nothing replaced
    back = again.session_state["optimised"]["result"][0]
    assert list(back.layout) == stations and back.layout == layout  # not sorted by the store


def test_a_simulation_reopens_with_its_cards_and_charts():
    text = dump_line(load_line(PILOT))
    at = _ok(_page("simulate", text))
    at.number_input(key="horizon_days").set_value(0.5)  # the shortest
    at.number_input(key="replications").set_value(2)
    _ok(settle(at.button(key="run").click().run()))
    live = [(m.label, m.value, m.delta) for m in at.metric]
    charts = len(at.get("plotly_chart"))
    assert live and charts >= 3
    figures = {c.proto.id: c.proto.spec for c in at.get("plotly_chart")}

    again = _ok(_page("simulate", text))
    assert not again.metric
    _ok(again.button(key="stored_reopen").click().run())
    assert [(m.label, m.value, m.delta) for m in again.metric] == live
    assert len(again.get("plotly_chart")) == charts
    # the same pictures: OEE loss waterfall, station states, WIP, the line diagram coloured by
    # the simulated busy shares
    reopened = {c.proto.id: c.proto.spec for c in again.get("plotly_chart")}
    for key in ("loss_tree", "states", "wip", "sim_line_diagram"):
        (was,) = [v for k, v in figures.items() if key in k]
        (now,) = [v for k, v in reopened.items() if key in k]
        assert json.loads(now)["data"] == json.loads(was)["data"], key
    # the Yield page of the reopened run draws the simulated Sankey as the live run's did:
    # where its cells went, per 1,000 that entered (kept with it: no replications' records)
    sankeys = []
    for sim in (at.session_state["simulation"], again.session_state["simulation"]):
        page = AppTest.from_file(str(ROOT / "ui" / "views" / "yield_loss.py"), default_timeout=60)
        page.session_state["spec_yaml"] = text
        page.session_state["simulation"] = sim
        drawn = {c.proto.id: c.proto.spec for c in _ok(page.run()).get("plotly_chart")}
        (spec,) = [v for k, v in drawn.items() if "sankey_simulated" in k]
        sankeys.append(json.loads(spec)["data"][0])
    assert not again.session_state["simulation"].results
    assert sankeys[1]["link"] == sankeys[0]["link"] and sum(sankeys[0]["link"]["value"]) > 0
    assert sankeys[1]["node"]["label"] == sankeys[0]["node"]["label"]


def test_a_run_summary_reads_back_from_its_json_document():
    """from_plain(RunSummary, to_dict through JSON) gives the same document again; NaN (JSON
    null) reads back as NaN where a float is due."""
    import math

    from conftest import make_line

    from linesim.experiments import replicate
    from linesim.summary import summarise

    spec = make_line(
        [
            {
                "kind": "discrete",
                "cycle_time_s": 30,
                "defect_probability": 0.05,
                "mtbf_h": 2,
                "mttr_h": 0.2,
            },
            {"kind": "discrete", "cycle_time_s": 20},
        ]
    )
    summary = summarise(spec, replicate(spec, 3600.0 * 4, 600.0, 2, 1, workers=1))
    doc = json.loads(json.dumps(json_safe(summary.to_dict())))
    back = from_plain(RunSummary, doc)
    assert back == summary
    assert json.loads(json.dumps(json_safe(back.to_dict()))) == doc
    nan = from_plain(
        RunSummary, {**doc, "mean_lead_time_h": {**doc["mean_lead_time_h"], "mean": None}}
    )
    assert math.isnan(nan.mean_lead_time_h.mean)


def test_an_unreadable_store_is_a_warning_on_the_pages_that_list_it(tmp_path, monkeypatch):
    """A results store that cannot be read (here a folder) costs the Sweep, Optimise and
    Simulate pages a warning naming it, not the page ("Something went wrong")."""
    monkeypatch.setenv("LINESIM_STORE", str(tmp_path))
    text = dump_line(load_line(PILOT))
    for name, what in (
        ("sweep", "The stored sweeps"),
        ("optimise", "The stored optimisations"),
        ("simulate", "The stored simulations"),
    ):
        at = _ok(_page(name, text))
        assert any(what in w.value and "not a DuckDB file" in w.value for w in at.warning), [
            w.value for w in at.warning
        ]


def test_the_simulate_page_lists_runs_of_linesim_run_with_what_they_hold():
    """A `linesim run` record of the working line (its horizon as given, ``"0.5d"``) and one
    holding no horizon, replications or output are listed, with "—" for what is missing."""
    text = dump_line(load_line(PILOT))
    spec = line_from_text(text, "<working line>")
    store = Store()
    cli = store.record("run", spec, args={"horizon": "0.5d", "replications": 3}, summary={})
    bare = store.record("run", spec, args={}, summary={})
    at = _ok(_page("simulate", text))
    (pick,) = [s for s in at.selectbox if s.key == "stored_pick"]
    newest_first = [
        (bare, ", — days × — replications, no output"),
        (cli, ", 0.5 days × 3 replications, no output"),
    ]
    assert len(pick.options) == 2
    for label, (rid, tail) in zip(pick.options, newest_first, strict=True):
        assert label.startswith(f"{rid} — ") and label.endswith(tail), label


def test_a_reopened_sweep_keeps_its_factors_order():
    """The store keeps a document's keys sorted: a sweep of mtbf_h then machines reopens in
    that order (the table's columns, the plot's x axis), not alphabetically."""
    import kept
    import tasks

    text = dump_line(load_line(PILOT))
    factors = ("stations.stacking.mtbf_h=400", "stations.stacking.machines=2")
    run = tasks.sweep(text, factors, 0.25, 2, 1, lambda f: None)
    for row in run.rows:  # a KPI with no value in any replication (stored as null)
        row["kpis"]["line_oee"] = math.nan
    record_id = kept.keep_sweep(run)["record_id"]
    back = kept.reopened_sweep(record_id, text)
    paths = ["stations.stacking.mtbf_h", "stations.stacking.machines"]
    assert [list(v) for v in back.variants] == [paths]
    assert back.variants == run.variants
    assert json.dumps(back.rows, sort_keys=True) == json.dumps(run.rows, sort_keys=True)
    table = kept.sweep_table(back)
    assert table.equals(kept.sweep_table(run)) and table["line OEE [-]"].isna().all()


def test_an_empty_factor_is_one_error_and_the_page_goes_on():
    at = _ok(_page("sweep", dump_line(load_line(PILOT))))
    at.text_input(key="sw_factor1").set_value("")
    at.button(key="sw_run").click().run()
    assert not at.exception
    assert ["Factor 1" in e.value and "empty" in e.value for e in at.error] == [True], at.error
    assert any("Give one or two factors" in i.value for i in at.info)  # the page drawn on


def test_a_stored_max_output_optimisation_is_labelled_by_its_budget_not_a_target():
    text = dump_line(load_line(PILOT))
    Store().record(
        "optimise",
        line_from_text(text, "<working line>"),
        config_text=text,
        args={"objective": "max_output", "budget_musd": 80.0, "from": "linesim ui"},
        summary={"optimise_result": {"status": "OPTIMAL"}, "line_yaml": text},
    )
    at = _ok(_page("optimise", text))
    (label,) = next(s for s in at.selectbox if s.key == "stored_optimisation").options
    assert label.endswith(": max_output, budget 80.0 MUSD — OPTIMAL"), label


def test_an_uncertainty_study_is_kept_and_reopens_whole_in_a_new_session(monkeypatch):
    """16 static samples with a cost target: kept by the server when the study ends; a new
    session on another line lists it and reopens it with the same cards, tables and charts,
    its line the working line. The page lists the studies briefly (no report, megabytes
    each, read on every interaction) and reads the one reopened."""
    listings = []
    records = Store.records

    def spied(self, kind, *args, **kwargs):
        listings.append((kind, kwargs.get("brief", False)))
        return records(self, kind, *args, **kwargs)

    monkeypatch.setattr(Store, "records", spied)
    text = dump_line(load_line(PILOT))
    at = _ok(_page("uncertainty", text))
    at.number_input(key="u_samples").set_value(16)
    at.number_input(key="u_cny").set_value(2.4)
    _ok(settle(at.button(key="u_run").click().run()))
    live = [(m.label, m.value, m.delta) for m in at.metric]
    tables = [d.value for d in at.dataframe]
    charts = len(at.get("plotly_chart"))
    assert live and live[0][0].startswith("P(") and charts >= 2

    other = dump_line(load_line(PILOT, ["stations.stacking.machines=5"]))
    again = _ok(_page("uncertainty", other))
    assert not again.metric
    _ok(again.button(key="u_reopen").click().run())
    assert again.session_state["spec_yaml"] == text
    assert [(m.label, m.value, m.delta) for m in again.metric] == live
    assert len(again.get("plotly_chart")) == charts
    for shown, back in zip(tables, [d.value for d in again.dataframe], strict=True):
        assert back.equals(shown)
    assert any("Reopened from the results store" in c.value for c in again.caption)
    assert ("uncertainty", True) in listings and ("uncertainty", False) not in listings
    # `linesim runs show` prints the study's percentiles and probability, as the page shows
    from linesim.report.runs import format_record

    (record,) = Store().records("uncertainty", brief=True)
    shown = format_record(Store().get(record["id"]))
    assert "p50" in shown and live[0][0] in shown and live[0][1] in shown, shown


def test_interrupted_work_is_offered_to_its_tab_listed_briefly_and_claimed_once(capsys):
    """A job's record keeps the line's YAML once (config_text) and its tab; interrupted, it is
    offered to that tab (others only OTHER_TABS_AFTER_S after it started), listed without the
    YAML; its inputs read back whole; Rerun or Dismiss claims it once: a second tab's click
    starts nothing. A record still running in a live process cannot be claimed."""
    from datetime import timedelta

    import kept

    text = dump_line(load_line(PILOT))
    limits = {"label": "Simulating the line", "time_limit_s": 300.0}
    args = (text, 365.0, 40, 1)
    rid, problems = kept.open_job_record(
        "simulation", "simulation", args, {"yaml": text}, "keep_simulation", limits, "tab-a"
    )
    assert rid and problems == []
    assert kept.interrupted_jobs("simulation", "tab-a") == []  # running, in this process
    assert kept.claim_job_record(rid, "rerun") == (False, [])
    Store().close_record(rid, "interrupted")  # as the store reads it once its server has gone
    (listed,) = kept.interrupted_jobs("simulation", "tab-a")
    assert listed["id"] == rid and "config_text" not in listed and listed["summary"] is None
    assert text not in json.dumps(listed["args"])  # the YAML is not read by a listing
    assert kept.interrupted_jobs("simulation", "tab-b") == []  # another tab, at first
    later = listed["created_at"] + timedelta(seconds=kept.OTHER_TABS_AFTER_S + 1)
    assert [r["id"] for r in kept.interrupted_jobs("simulation", "tab-b", now=later)] == [rid]
    assert kept.interrupted_jobs("sweep", "tab-a") == []
    task_args, context, stored = kept.rerun_inputs(rid)
    assert task_args == list(args) and context == {"yaml": text} and stored["limits"] == limits
    assert kept.claim_job_record(rid, "rerun") == (True, [])
    assert kept.claim_job_record(rid, "dismissed") == (False, [])  # the second tab's click
    assert kept.interrupted_jobs("simulation", "tab-a") == []
    assert Store().get(rid)["status"] == "rerun"
    # `linesim runs list` leaves the app's job records out, unless --all
    from linesim.cli import main

    for flags, listed in (([], []), (["--all"], [(rid, "ui_job", "rerun")])):
        assert main(["runs", "list", "--json", *flags]) == 0
        rows = json.loads(capsys.readouterr().out)
        assert [(r["id"], r["kind"], r["status"]) for r in rows] == listed


def test_a_layouts_simulation_interrupted_by_a_restart_reruns_with_its_search(monkeypatch):
    """The Optimise page's "Simulate this layout" is recorded while it runs (its line, not the
    working line, and the search it belongs to); a server stopped meanwhile leaves it
    interrupted, offered to its tab on the Optimise page of a new session (no search shown
    there); Rerun reopens the search with the layout inspected, its line the working line, and
    starts the layout's simulation again with the same inputs, for the same layout."""
    import background
    import kept

    def layout_jobs() -> list[dict]:
        return [
            r for r in Store().records(kept.JOB_KIND) if r["args"]["job"] == "layout_simulation"
        ]

    text = dump_line(load_line(PILOT))
    tab = "a" * 32
    at = _page("optimise", text)
    at.session_state["tab_id"] = tab
    _ok(settle(at.button(key="run_optimise").click().run()))
    search = at.session_state["optimised"]["kept_id"]
    assert Store().get(search)["kind"] == "optimise"
    # the server "stops" while the layout is simulated: its record is left running
    with monkeypatch.context() as m:
        m.setattr(kept, "close_job_record", lambda rid, status: None)
        _ok(at.button(key="simulate_layout").click().run())
        (job_record,) = layout_jobs()
        background.get(at.session_state["job_layout_simulation"]).cancel()
        settle(at)
    args = job_record["args"]
    assert args["job"] == "layout_simulation" and args["line_key"] == "line"
    assert args["context"]["optimisation"] == search and args["context"]["pick"] == 0
    Store().close_record(job_record["id"], "interrupted")  # as read once its server has gone

    other = dump_line(load_line("pilot_oxide"))  # a restart's new session starts elsewhere
    again = _page("optimise", other)
    again.session_state["tab_id"] = tab
    _ok(again.run())
    said = [w.value for w in again.warning if "Simulating this layout" in w.value]
    assert said and "the optimisation it belongs to is reopened" in said[0], said
    assert "optimised" not in again.session_state
    _ok(again.button(key=f"rerun_{job_record['id']}").click().run())
    assert again.session_state["optimised"]["record_id"] == search
    assert again.session_state["spec_yaml"] == text  # the search's line is the working line
    assert again.session_state["pick"] == 0
    job = background.get(again.session_state["job_layout_simulation"])
    assert job.running and job.context["point"] == args["context"]["point"]
    job.cancel()  # (its result is shown as a first run's: 3 × 7 days take minutes here)
    assert [e.value for e in settle(again).error] == ["Simulating this layout\\: cancelled"]
    rerun, first = layout_jobs()  # newest first
    assert (first["status"], rerun["status"]) == ("rerun", "cancelled")
    assert rerun["args"]["task_args"] == first["args"]["task_args"]
    assert rerun["config_text"] == first["config_text"] != text  # the layout's own line
    # not the working line's simulation: a reload keeps its working line
    assert [s["name"] for s in Store().scenarios()] == [f"before reopening optimisation {search}"]
