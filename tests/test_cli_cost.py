"""``linesim cost`` and ``linesim compare``: documents, HTML report, and bad input."""

import json
import re

import pytest
from conftest import ROOT

from linesim.cli import main

PILOT = str(ROOT / "configs/pilot_sulfide_200mwh.yaml")
GWH = str(ROOT / "configs/gwh_sulfide_4gwh.yaml")


def test_cost_json(capsys):
    assert main(["cost", PILOT, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    cost = doc["cost"]
    assert doc["basis"] == cost["basis"] == "static capacity (no simulation)"
    assert set(cost["usd_per_kwh"]) == {
        "depreciation",
        "labour",
        "energy",
        "materials",
        "scrap",
        "escapes",
        "atmosphere",  # the sulfide pilot's H2S safety and inert gas (cost.atmosphere)
        "overheads",
        "total",
    }
    assert len(doc["ramp_up"]["quarters"]) == 12
    assert doc["tornado"][0]["cost_swing"] >= doc["tornado"][-1]["cost_swing"]
    assert {m["price_date"] for m in cost["materials"]} >= {"2025-06-16"}


def test_cost_text_names_basis_and_units(capsys):
    assert main(["cost", GWH, "--set", "stations.stacking.machines=12"]) == 0
    text = capsys.readouterr().out
    assert "basis: static capacity" in text
    assert re.search(r"cost per good kWh\s+[\d.,]+ USD/kWh = [\d.]+ CNY/Wh", text)
    assert "capex per GWh/yr" in text and "sensitivity" in text


def test_cost_simulated_basis(capsys):
    assert (
        main(
            [
                "cost",
                PILOT,
                "--simulate",
                "--horizon",
                "3d",
                "--replications",
                "2",
                "--workers",
                "1",
                "--json",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["basis"].startswith("simulation (2 replications of 72 h)")
    assert doc["simulation"]["line"] == "pilot_sulfide_200mwh"


def test_compare_html_report(tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["compare", PILOT, GWH, "--reference", "none", "--html", str(out)]) == 0
    text = capsys.readouterr().out
    assert "pilot_sulfide_200mwh" in text and "gwh_sulfide_4gwh" in text
    page = out.read_text(encoding="utf-8")
    # cost bars, published bands, 2 waterfalls, ramp-up, 2 tornados
    assert page.count("Plotly.newPlot") == 7
    assert "<script src=" not in page  # self-contained: plotly.js inline
    for heading in ("Cost per good kWh", "Yield waterfall", "Ramp-up", "Sensitivity"):
        assert heading in page
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left behind


def test_compare_json(capsys):
    assert main(["compare", PILOT, GWH, "--reference", "none", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    pilot, gwh = doc["lines"]
    assert pilot["cost"]["usd_per_kwh"]["total"] > gwh["cost"]["usd_per_kwh"]["total"]
    assert doc["reference"] is None
    assert {(b["line"], b["figure"]) for b in doc["bands"]} >= {
        ("pilot_sulfide_200mwh", "cny_per_wh"),
        ("gwh_sulfide_4gwh", "capex_bn_cny_per_gwh"),
    }
    assert all(b["inside"] and b["source"] for b in doc["bands"])


def test_compare_needs_two_configs(capsys):
    assert main(["compare", PILOT, "--reference", "none"]) == 2
    assert "at least two" in capsys.readouterr().err


def test_compare_bad_html_path_writes_nothing(tmp_path, capsys):
    target = tmp_path / "r.pdf"
    assert main(["compare", PILOT, GWH, "--html", str(target)]) == 2
    assert "--html" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    assert main(["compare", PILOT, GWH, "--html", str(tmp_path / "no" / "r.html")]) == 2


def test_cost_without_cost_block_is_exit_2(tmp_path, capsys):
    config = tmp_path / "line.yaml"
    config.write_text(
        "name: x\nproduct: {energy_kwh: 0.3}\nstations:\n"
        "  - {id: a, kind: discrete, cycle_time_s: 5}\n"
    )
    assert main(["cost", str(config)]) == 2
    err = capsys.readouterr().err
    assert "no cost inputs" in err and "Traceback" not in err


def test_bad_tornado_fraction(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["cost", PILOT, "--tornado", "1.5"])
    assert exc.value.code == 2
    assert "--tornado" in capsys.readouterr().err


def test_warm_up_too_short_for_any_good_cell(capsys):
    # a 1-day warm-up on a line with 7-day aging: nothing is out yet, so no cost per kWh
    assert (
        main(
            [
                "cost",
                PILOT,
                "--simulate",
                "--horizon",
                "1d",
                "--warmup",
                "1d",
                "--replications",
                "1",
            ]
        )
        == 2
    )
    assert "makes no good cells" in capsys.readouterr().err


def test_html_report_renders_in_a_browser(tmp_path, capsys):
    """The report opens offline in headless chromium and draws every figure without JS errors."""
    from browser import browser_page

    out = tmp_path / "r.html"
    assert main(["compare", PILOT, GWH, "--reference", "none", "--html", str(out)]) == 0
    with browser_page() as (page, errors):
        page.goto(out.as_uri())
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=20_000)
        assert page.locator(".js-plotly-plot").count() == 7
        # every figure drew its data: bars, waterfall steps, lines
        assert page.locator(".js-plotly-plot .trace").count() >= 6
        assert "CNY/Wh" in page.locator(".js-plotly-plot").first.inner_text()
        assert errors == []


def test_compare_adds_the_liquid_reference_and_flags_lines_outside_their_bands(capsys, tmp_path):
    # one config is enough: the bundled liquid Li-ion line joins as the reference by default
    strict = tmp_path / "strict.yaml"
    strict.write_text(
        "extends: gwh_polymer\nname: strict\n"
        "cost: {bands: {line_yield: {low: 0.99, high: 1.0, source: a test band}}}\n"
    )
    assert main(["compare", str(strict)]) == 0
    text = capsys.readouterr().out
    assert "gwh_liquid_lib_4gwh: static capacity (no simulation) (the reference line" in text
    assert "cost ÷ gwh_liquid_lib_4gwh" in text
    assert "1 outside" in text  # the test band, and none of the reference's
    (row,) = [line for line in text.splitlines() if line.startswith("strict") and "yield" in line]
    assert "OUTSIDE" in row and "0.99 – 1" in row
