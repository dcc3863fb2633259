"""The what-if app's scenarios in the results store (issue 17): saved, replaced, deleted and
listed; a save while another process holds the file is spooled, listed at once and merged
by the next writer; a store written before scenarios were kept reads as having none."""

import duckdb
from test_sweep_store import hold_read_lock

from linesim.config import load_line
from linesim.store import Store


def test_scenarios_are_saved_replaced_deleted_and_listed_newest_first(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    assert store.scenarios() == []
    assert store.save_scenario("base", "name: a\n", "a")
    assert store.save_scenario("more stackers", "name: b\n", "b")
    assert store.save_scenario("base", "name: a2\n", "a")  # replaces the first
    assert [(s["name"], s["yaml"]) for s in store.scenarios()] == [
        ("base", "name: a2\n"),
        ("more stackers", "name: b\n"),
    ]
    assert store.delete_scenario("base")
    assert [s["name"] for s in Store(tmp_path / "s.duckdb").scenarios()] == ["more stackers"]
    assert store.save_scenario("base", "name: a3\n", "a")  # saved again after its deletion
    assert {s["name"]: s["yaml"] for s in store.scenarios()}["base"] == "name: a3\n"
    assert store.problems == []


def test_a_scenario_saved_while_the_store_is_held_is_spooled_then_merged(tmp_path, monkeypatch):
    path = tmp_path / "s.duckdb"
    Store(path).record("run", load_line("pilot_sulfide_200mwh"))
    old = duckdb.connect(str(path))  # as an older linesim wrote it: no scenarios
    old.execute("DROP TABLE scenario_events")
    old.close()
    assert Store(path).scenarios() == []
    monkeypatch.setenv("LINESIM_STORE_LOCK_TIMEOUT", "0")
    reader = hold_read_lock(path, 30)
    try:
        held = Store(path)
        assert held.save_scenario("while held", "name: x\n", "x")
        assert list(path.parent.glob("s.duckdb.pending/*.json"))  # spooled, whole
        assert [s["name"] for s in held.scenarios()] == ["while held"]
    finally:
        reader.kill()
        reader.wait()
    assert Store(path).save_scenario("after", "name: y\n", "y")  # merges the spool first
    assert not list(path.parent.glob("s.duckdb.pending/*.json"))
    assert sorted(s["name"] for s in Store(path).scenarios()) == ["after", "while held"]


def test_records_of_a_kind_read_at_once_are_what_get_gives_without_rows(tmp_path):
    """Store.records (the app's lists of kept work): newest first, only the kind asked for,
    each as get() gives it (args, summary and the config's text given as text) bar its rows."""
    store = Store(tmp_path / "s.duckdb")
    spec = load_line("pilot_sulfide_200mwh")
    ids = [
        store.record(kind, spec, config_text=f"name: {k}\n", args={"k": k}, summary=[k])
        for k, kind in enumerate(("optimise", "sweep", "optimise"))
    ]
    found = store.records("optimise")
    assert [r["id"] for r in found] == [ids[2], ids[0]]
    for r in found:
        whole = store.get(r["id"])
        assert whole.pop("rows") == []
        assert r == whole
    assert found[0]["config_text"] == "name: 2\n" and found[0]["args"] == {"k": 2}
    assert store.records("optimise", limit=1) == found[:1]
