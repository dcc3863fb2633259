"""Typed results give today's JSON documents key for key.

``tests/data/json_keys_before_layout.json`` holds the key trees of ``linesim run``, ``compare``
and ``capacity --json`` as the code printed them before results became typed (commit 1913a81);
``tests/data/run_pilot_1d_2reps.json`` is that run's whole document, regenerated when the
model changes on purpose (issue 14: the losses of a real line, the OEE loss tree; a
station's ``active`` share counting setups, stops, maintenance and rework, of its working
time). Every key of before is still there; new keys may be added only where they carry a
unit (``…_usd``, ``…_usd_per_year``, ``…_kwh_per_year``, ``…_h``, ``…_cells``,
``…_cells_per_h``) or inside an OEE loss tree (``losses``), or are new causes of the yield
gap or counts of escapes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from linesim.cli import main
from linesim.config import load_line
from linesim.experiments import replicate
from linesim.summary import Estimate, RunSummary, StationSummary, summarise

DATA = Path(__file__).parent / "data"
#: Mappings keyed by station id: their keys are data (they follow the line), not schema.
STATION_KEYED = {"bottleneck_shares"}
BEFORE = {
    kind: [k for k in keys if not any(f".{m}." in k for m in STATION_KEYED)]
    if isinstance(keys, list)
    else keys
    for kind, keys in json.loads((DATA / "json_keys_before_layout.json").read_text()).items()
}
UNIT_SUFFIX = re.compile(r"_(usd|usd_per_year|kwh_per_year|h|cells|cells_per_h|cells_per_year)$")
#: Keys added on purpose since, by the change that added them (issue 14).
ADDED = {
    "atmosphere",  # issue 15: the sulfide route's H2S safety and inert gas
    "bands",  # issue 15: compare's figures against each config's published bands
    "reference",  # issue 15: compare's reference line (liquid Li-ion by default)
    "targets",  # issue 15: the quarter the ramp-up reaches each cost target
    "finance",  # issue 15: greenfield vs conversion of a Li-ion hall, NPV and payback
    "buffers",  # issue 19: capex of the priced buffer positions
    "startup_scrap",
    "inspection",
    "shipped_defective",
    "nameplate_bottleneck",
    "static_oee",
    "escapes",
    "oee",
    "warnings",
    "cause",
    # issue 18: a replication's counts are its window's; the cells in the line when the window
    # opens, and its random stream (SeedSequence entropy and spawn key)
    "in_process_at_start",
    "stream",
    "entropy",
    "spawn_key",
}
# (a run's ``warnings``: a list of texts, empty on long windows)


def allowed(path: str) -> bool:
    """A key path that may be new: it carries a unit, sits in a loss tree, or is listed."""
    parts = path.split(".")
    named = {p.removesuffix("[]") for p in parts}
    return any(UNIT_SUFFIX.search(p) for p in named) or "losses" in named or bool(ADDED & named)


def key_tree(doc, prefix: str = "") -> set[str]:
    """Every key path of a JSON document (list items share the path ``[]``; the keys of a
    station-keyed mapping are not followed)."""
    out: set[str] = set()
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.add(f"{prefix}.{k}")
            if k not in STATION_KEYED:
                out |= key_tree(v, f"{prefix}.{k}")
    elif isinstance(doc, list):
        for v in doc:
            out |= key_tree(v, prefix + "[]")
    return out


def cli_json(capsys, *argv: str) -> dict:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_run_json_is_the_document_of_before_value_for_value(capsys):
    doc = cli_json(
        capsys,
        "run",
        "pilot_sulfide_200mwh",
        "--horizon",
        "1d",
        "--replications",
        "2",
        "--workers",
        "1",
        "--json",
        "--no-store",
    )
    before = json.loads((DATA / "run_pilot_1d_2reps.json").read_text())
    keys = key_tree(doc)
    assert set(BEFORE["run"]) <= keys
    added = keys - set(BEFORE["run"])
    assert all(allowed(k) for k in added), sorted(k for k in added if not allowed(k))
    assert doc == before


def test_compare_and_capacity_json_keep_their_keys(capsys):
    doc = cli_json(
        capsys,
        "compare",
        "pilot_sulfide_200mwh",
        "pilot_oxide",
        "--reference",
        "none",
        "--simulate",
        "--horizon",
        "1d",
        "--replications",
        "2",
        "--workers",
        "1",
        "--json",
    )
    keys = key_tree(doc)
    assert set(BEFORE["compare"]) <= keys
    added = keys - set(BEFORE["compare"])
    assert added and all(allowed(k) for k in added), sorted(k for k in added if not allowed(k))
    cap = cli_json(capsys, "capacity", "pilot_oxide", "--json")
    keys = key_tree(cap)
    assert set(BEFORE["capacity"]) <= keys
    assert all(allowed(k) for k in keys - set(BEFORE["capacity"]))


def test_cost_json_names_energy_cost_and_energy_use_apart(capsys):
    cost = cli_json(capsys, "cost", "gwh_sulfide_4gwh", "--json")["cost"]
    assert cost["energy_cost_usd_per_year"] == cost["annual"]["energy"]
    assert cost["energy_kwh_per_year"] == cost["energy"]["total"]
    assert cost["energy_cost_usd_per_year"] != pytest.approx(cost["energy_kwh_per_year"])
    assert cost["annual"]["total_usd_per_year"] == cost["annual"]["total"]


def test_run_summary_reads_by_attribute_and_round_trips_to_the_document():
    spec = load_line("pilot_oxide")
    summary = summarise(spec, replicate(spec, 86400.0, 3600.0, 2, seed=3, workers=1))
    assert isinstance(summary, RunSummary)
    assert all(isinstance(s, StationSummary) for s in summary.stations)
    assert isinstance(summary.output_gwh_per_year, Estimate)
    doc = summary.to_dict()
    assert doc["output_gwh_per_year"] == summary.output_gwh_per_year.to_dict()
    assert doc["stations"][0]["oee"]["mean"] == summary.stations[0].oee.mean
    assert (
        doc["line_yield"]["attribution"]["exposure"]
        == summary.line_yield.attribution.exposure.to_dict()
    )
    assert summary.station(spec.stations[-1].id) is summary.stations[-1]
    assert "record_id" not in doc and summary.with_record("abc").to_dict()["record_id"] == "abc"
    with pytest.raises(KeyError, match="station_id"):
        summary.station("nope")
    e = summary.throughput_cells_per_h
    assert e.half_width == pytest.approx((e.ci95_high - e.ci95_low) / 2)
