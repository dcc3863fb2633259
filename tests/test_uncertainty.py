"""``linesim uncertainty`` against theory: exact distributions of a one-station line, Sobol
indices of a linear cost model in closed form, the law of total variance on lines whose noise
or input share is known, reproducibility, and records that let a study resume."""

from __future__ import annotations

import copy
import datetime as dt
import json

import numpy as np
import pytest
import yaml

from linesim.cli.main import main
from linesim.errors import ConfigError
from linesim.uncertainty import Targets, prepare, run_study, wilson
from linesim.uncertainty.evaluate import static_kpis
from linesim.uncertainty.sensitivity import sobol_indices

HOURS = 7920.0  # the calendar's hours per year (each test line's)
RATE = 360.0  # cells/h of the one station (10 s a cell)
KWH = 0.3


def _one_station(p, **station) -> dict:
    return {
        "name": "one",
        "product": {"energy_kwh": KWH},
        "calendar": {"hours_per_year": HOURS},
        "stations": [
            {
                "id": "press",
                "kind": "discrete",
                "cycle_time_s": 10.0,
                "defect_probability": p,
                **station,
            }
        ],
    }


def _json_run(capsys, tmp_path, raw: dict, *flags: str) -> dict:
    path = tmp_path / "line.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["uncertainty", str(path), "--json", "--no-store", *flags]) == 0
    return json.loads(capsys.readouterr().out)


def test_one_station_with_uncertain_p_against_the_exact_distribution(capsys, tmp_path):
    """Static output G = G₀(1 − p) with p ~ U(a, b): quantiles G₀(1 − F⁻¹(1 − q)) and
    P(G ≥ T) = (1 − T/G₀ − a) ÷ (b − a)."""
    a, b = 0.02, 0.10
    g0 = RATE * HOURS * KWH / 1e6
    target = g0 * (1 - 0.05)  # met where p ≤ 0.05: probability 3/8
    doc = _json_run(
        capsys,
        tmp_path,
        _one_station({"dist": "uniform", "low": a, "high": b}),
        "--static",
        "--samples",
        "256",
        "--target-gwh",
        f"{target!r}",
        "--sobol",
        "0",
    )
    out = doc["kpis"]["output_gwh_per_year"]
    for q, key in ((0.1, "p10"), (0.5, "p50"), (0.9, "p90")):
        exact = g0 * (1 - (a + (1 - q) * (b - a)))
        assert out[key] == pytest.approx(exact, rel=2e-3)
    assert out["mean"] == pytest.approx(g0 * (1 - (a + b) / 2), rel=1e-4)
    (meet,) = doc["probabilities"]
    exact_p = (1 - target / g0 - a) / (b - a)
    assert exact_p == pytest.approx(3 / 8)
    assert meet["ci95"][0] <= exact_p <= meet["ci95"][1]
    assert abs(meet["probability"] - exact_p) <= 2 / 256  # a Sobol design's balance
    # each sample is the line those inputs describe
    for row in doc["sample_values"][:5]:
        p = row["inputs"]["stations.press.defect_probability"]
        assert row["kpis"]["output_gwh_per_year"] == pytest.approx(g0 * (1 - p), rel=1e-12)


COST = {
    "currency": {"cny_per_usd": 7.0, "rate_date": dt.date(2025, 12, 1)},
    "building": {"usd_per_m2": 1000.0, "area_factor": 2.0},
    "labour": {"wage_usd_per_h": 20.0},
    "electricity": {"usd_per_kwh": {"dist": "uniform", "low": 0.05, "high": 0.20}},
    "materials": [
        {
            "name": "A",
            "quantity_per_kwh": 2.0,
            "unit": "kg",
            "price_per_unit": {"dist": "uniform", "low": 9.0, "high": 13.0},
            "currency": "USD",
            "price_date": dt.date(2025, 6, 1),
        },
        {
            "name": "B",
            "quantity_per_kwh": 4.0,
            "unit": "piece",
            "price_per_unit": {"dist": "uniform", "low": 3.0, "high": 11.0},
            "currency": "CNY",
            "price_date": dt.date(2025, 6, 1),
        },
    ],
}


def test_sobol_indices_of_a_linear_cost_model_in_closed_form():
    """Cost per Wh is linear in prices, c = c₀ + Σ bᵢ xᵢ; with independent uniform xᵢ of widths
    wᵢ, Sᵢ = STᵢ = bᵢ² wᵢ² ÷ Σⱼ bⱼ² wⱼ²."""
    raw = _one_station(0.02, capex_usd=1e6, power_kw=5000.0, footprint_m2=20.0)
    raw["cost"] = copy.deepcopy(COST)
    prepared = prepare(raw)
    nominal = [i.dist.nominal for i in prepared.inputs]

    def cost(values) -> float:
        return static_kpis(prepared.spec_at(values))["cost_cny_per_wh"]

    c0 = cost(nominal)
    slopes = []
    for k in range(len(nominal)):
        moved = list(nominal)
        moved[k] += 1.0
        slopes.append(cost(moved) - c0)
    corner = [i.support[1] for i in prepared.inputs]  # the model is linear: check it
    linear = c0 + sum(s * (x - n) for s, x, n in zip(slopes, corner, nominal))
    assert cost(corner) == pytest.approx(linear, rel=1e-12)
    widths = [i.support[1] - i.support[0] for i in prepared.inputs]
    parts = [(s * w) ** 2 for s, w in zip(slopes, widths)]
    exact = {i.name: v / sum(parts) for i, v in zip(prepared.inputs, parts)}
    assert min(exact.values()) > 0.1  # every input matters

    result = sobol_indices(prepared, 256, seed=3, kpis=("cost_cny_per_wh",))
    rows = result["indices"]["cost_cny_per_wh"]
    assert result["evaluations"] == 256 * (len(nominal) + 2)
    for r in rows:
        s = exact[r["input"]]
        assert abs(r["S1"] - s) <= max(2 * r["S1_conf"], 0.03), r
        assert abs(r["ST"] - s) <= max(2 * r["ST_conf"], 0.03), r


def test_same_seed_same_json_and_another_seed_other_samples(capsys, tmp_path):
    raw = _one_station(
        {"dist": "triangular", "low": 0.01, "value": 0.02, "high": 0.06},
        machines={"dist": "uniform", "low": 1, "high": 3},
    )
    flags = ("--static", "--samples", "20", "--sobol", "4")
    first = _json_run(capsys, tmp_path, raw, *flags, "--seed", "7")
    again = _json_run(capsys, tmp_path, raw, *flags, "--seed", "7")
    other = _json_run(capsys, tmp_path, raw, *flags, "--seed", "8")
    assert first == again
    assert first["design"] == "lhs" and len(first["sample_values"]) == 20
    assert first["sample_values"] != other["sample_values"]
    machines = {r["inputs"]["stations.press.machines"] for r in first["sample_values"]}
    assert machines <= {1.0, 2.0, 3.0} and len(machines) == 3


def test_variance_split_on_lines_whose_shares_are_known():
    """Deterministic service and no scrap: a sample's replications agree, so all variance is
    the inputs'; only capex uncertain and a random line: none of the output's is."""
    certain = prepare(_one_station(0.0, cycle_time_s={"dist": "uniform", "low": 8.0, "high": 12.0}))
    kw = {"static": False, "replications": 2, "horizon_s": 3600.0, "engine": "simpy"}
    report = run_study(certain, 8, workers=1, **kw)
    split = report.summaries["output_gwh_per_year"].variance
    assert split is not None and split["noise_variance"] == 0.0 and split["input_share"] == 1.0

    raw = _one_station(
        0.2, process_time_dist="exponential", capex_usd={"dist": "uniform", "low": 1e6, "high": 2e6}
    )
    raw["cost"] = {k: v for k, v in COST.items() if k not in ("electricity", "materials")}
    raw["cost"]["electricity"] = {"usd_per_kwh": 0.1}
    noisy = run_study(prepare(raw), 8, workers=1, **kw)
    split = noisy.summaries["output_gwh_per_year"].variance
    assert split is not None and split["noise_variance"] > 0
    # common random numbers: every sample's replication r is the same simulation
    out = noisy.kpis["output_gwh_per_year"]
    assert np.all(out == out[0]) and split["input_variance"] == 0.0
    capex = noisy.summaries["capex_musd"]
    assert capex.p10 < capex.p90 and capex.variance["noise_variance"] == 0.0


def test_wilson_interval_against_published_values():
    # Newcombe (1998), Statistics in Medicine 17, table I: 0/10 and 5/10 (method 3)
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)


def test_a_recorded_study_resumes_without_evaluating_its_finished_samples(
    capsys, tmp_path, monkeypatch
):
    raw = _one_station({"dist": "uniform", "low": 0.01, "high": 0.05})
    path = tmp_path / "line.yaml"
    path.write_text(yaml.safe_dump(raw))
    args = ["uncertainty", str(path), "--static", "--samples", "16", "--sobol", "0", "--json"]
    calls = []
    import linesim.uncertainty.study as study

    monkeypatch.setattr(study, "static_kpis", lambda spec: calls.append(1) or static_kpis(spec))
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    rid = first.pop("record_id")
    assert len(calls) == 16 + 1  # the samples and the nominal line
    assert main(args + ["--resume", rid]) == 0
    resumed = json.loads(capsys.readouterr().out)
    assert resumed.pop("record_id") == rid and resumed == first
    assert len(calls) == 16 + 1 + 1  # the nominal line only
    assert main(args[:4] + ["32", "--sobol", "0", "--resume", rid]) == 2
    assert "samples" in capsys.readouterr().err
    # the same nominal line with a wider distribution: its samples would not mix
    path.write_text(yaml.safe_dump(_one_station({"dist": "uniform", "low": 0.0, "high": 0.06})))
    assert main(args + ["--resume", rid]) == 2
    assert "input distributions" in capsys.readouterr().err


def test_no_uncertain_input_and_a_bad_target_exit_2(capsys, tmp_path):
    path = tmp_path / "line.yaml"
    path.write_text(yaml.safe_dump(_one_station(0.01)))
    assert main(["uncertainty", str(path), "--static", "--no-store"]) == 2
    assert "no field is given as a distribution" in capsys.readouterr().err
    path.write_text(yaml.safe_dump(_one_station({"dist": "uniform", "low": 0.0, "high": 0.1})))
    flags = ["--static", "--no-store", "--samples", "4", "--cost-target-cny-per-wh", "2"]
    assert main(["uncertainty", str(path), *flags]) == 2
    assert "no cost" in capsys.readouterr().err


def test_html_report_has_the_figures(tmp_path, capsys):
    raw = _one_station({"dist": "uniform", "low": 0.01, "high": 0.05})
    path = tmp_path / "line.yaml"
    path.write_text(yaml.safe_dump(raw))
    out = tmp_path / "u.html"
    flags = ["--static", "--no-store", "--samples", "32", "--sobol", "8", "--target-gwh", "0.9"]
    assert main(["uncertainty", str(path), *flags, "--html", str(out)]) == 0
    page = out.read_text()
    assert page.count("plotly-graph-div") >= 4 and "Sobol indices of" in page
    assert "good output" in capsys.readouterr().out


def test_a_pool_of_workers_gives_the_serial_answer_and_the_api_the_commands(monkeypatch):
    import linesim.uncertainty.study as study
    from linesim.uncertainty import uncertainty_study

    raw = _one_station({"dist": "pert", "low": 0.01, "value": 0.02, "high": 0.08})
    serial = uncertainty_study(raw, samples=24, workers=1, targets=Targets(gwh=0.83))
    monkeypatch.setattr(study, "MIN_POOLED_STATIC", 8)
    pooled = uncertainty_study(raw, samples=24, workers=2, targets=Targets(gwh=0.83))
    assert pooled.to_dict() == serial.to_dict()
    assert serial.tornado and serial.tornado[0]["swing"] < 0
    bad = _one_station({"dist": "uniform", "low": 0.5, "high": 0.99}, machines=1)
    with pytest.raises(ConfigError, match="sample 0") as err:  # from a worker, whole
        study.evaluate_samples(prepare(bad), np.array([[1.0]] * 8), workers=2)
    assert err.value.path == "stations.press.defect_probability"


def test_an_interrupted_study_keeps_its_finished_samples_and_resumes(capsys, tmp_path, monkeypatch):
    import linesim.uncertainty.study as study

    path = tmp_path / "line.yaml"
    path.write_text(yaml.safe_dump(_one_station({"dist": "uniform", "low": 0.01, "high": 0.05})))
    args = ["uncertainty", str(path), "--static", "--samples", "16", "--sobol", "0", "--json"]
    calls = []

    def stopping(spec):
        calls.append(1)
        if len(calls) == 7:  # Ctrl-C during the 7th sample
            raise KeyboardInterrupt
        return static_kpis(spec)

    monkeypatch.setattr(study, "static_kpis", stopping)
    assert main(args) == 130
    err = capsys.readouterr().err
    rid = err.split("--resume ")[1].split(")")[0]
    assert "6 of 16 samples finished" in err
    calls.clear()
    monkeypatch.setattr(study, "static_kpis", lambda spec: calls.append(1) or static_kpis(spec))
    assert main(args + ["--resume", rid]) == 0
    resumed = json.loads(capsys.readouterr().out)
    assert len(calls) == 10 + 1  # the 10 unfinished samples and the nominal line
    monkeypatch.setattr(study, "static_kpis", static_kpis)
    assert main(args + ["--no-store"]) == 0
    whole = json.loads(capsys.readouterr().out)
    assert resumed.pop("record_id") == rid and resumed == whole


@pytest.mark.parametrize("name", ["gwh_sulfide_4gwh", "gwh_liquid_lib_4gwh"])
def test_a_samples_kpis_are_the_cost_reports(name):
    """The static KPIs of a line are what `linesim cost` reports for it (moisture excursions,
    the grown dry room and the atmosphere included)."""
    from linesim.config import load_line
    from linesim.economics.cost import cost_report

    spec = load_line(name)
    kpis, report = static_kpis(spec), cost_report(spec)
    assert kpis["cost_cny_per_wh"] == pytest.approx(report.cny_per_wh, rel=1e-12)
    assert kpis["capex_musd"] == pytest.approx(report.capex.total / 1e6, rel=1e-12)
    assert kpis["output_gwh_per_year"] == pytest.approx(report.output_gwh_per_year, rel=1e-12)


def test_a_study_that_fails_mid_way_ends_its_record_failed_with_its_finished_samples(
    capsys, tmp_path, monkeypatch
):
    import os

    import linesim.uncertainty.study as study
    from linesim.store import Store

    path = tmp_path / "line.yaml"
    path.write_text(yaml.safe_dump(_one_station({"dist": "uniform", "low": 0.01, "high": 0.05})))
    calls = []

    def failing(spec):
        calls.append(1)
        if len(calls) == 7:  # the 7th sample is no valid line
            raise ConfigError(str(path), "stations.press.defect_probability", "bad", 2.0, "< 1")
        return static_kpis(spec)

    monkeypatch.setattr(study, "static_kpis", failing)
    args = ["uncertainty", str(path), "--static", "--samples", "16", "--sobol", "0"]
    assert main(args) == 2
    assert "stations.press.defect_probability" in capsys.readouterr().err
    store = Store(os.environ["LINESIM_STORE"])
    (rid,) = store.list()["id"]
    rec = store.get(rid)
    assert rec["status"] == "failed" and len(rec["rows"]) == 6
    assert "ConfigError" in json.dumps(rec.get("summary") or rec.get("summary_json"))


def test_samples_without_a_kpi_are_counted_and_said_not_dropped(capsys, tmp_path):
    """Moisture excursions of 1 M cells each, uniform 0–4 a year, against 2.8512 M cells a
    year: where there are more than 2.8512 the line ships nothing and has no cost per Wh."""
    raw = _one_station(0.0)
    raw["cost"] = {
        "currency": {"cny_per_usd": 7.2, "rate_date": "2025-12-01"},
        "building": {"usd_per_m2": 1000.0},
        "labour": {"wage_usd_per_h": 10.0},
        "electricity": {"usd_per_kwh": 0.1},
        "atmosphere": {
            "excursions_per_year": {"dist": "uniform", "low": 0.0, "high": 4.0},
            "cells_per_excursion": 1e6,
        },
    }
    flags = ["--static", "--samples", "16", "--sobol", "0", "--cost-target-cny-per-wh", "100"]
    doc = _json_run(capsys, tmp_path, raw, *flags)
    drawn = [s["inputs"]["cost.atmosphere.excursions_per_year"] for s in doc["sample_values"]]
    dead = sum(x > RATE * HOURS / 1e6 for x in drawn)
    assert 0 < dead < 16
    cost = doc["kpis"]["cost_cny_per_wh"]
    assert cost["samples_without_value"] == dead
    assert any(f"{dead} of 16 samples have no value" in w for w in doc["warnings"])
    (p,) = doc["probabilities"]
    assert p["samples"] == 16 and p["hits"] == 16 - dead  # a line that ships nothing misses


# --- rank correlations (Iman–Conover) ------------------------------------------------------
def test_iman_conover_reaches_the_target_ranks_and_keeps_every_marginal():
    from scipy import stats

    from linesim.uncertainty.sampling import iman_conover, pearson_of_spearman, spearman

    # Pearson (1907): a bivariate normal with ρ_s = 0.5 has r = 2 sin(π/12)
    assert pearson_of_spearman(0.5) == pytest.approx(0.517638, rel=1e-6)
    assert pearson_of_spearman(1.0) == pytest.approx(1.0)
    n = 512
    rng = np.random.default_rng(7)
    x = np.column_stack(
        [rng.uniform(0, 1, n), stats.lognorm.rvs(0.5, size=n, random_state=rng), rng.random(n)]
    )
    target = np.array([[1.0, 0.7, -0.4], [0.7, 1.0, 0.0], [-0.4, 0.0, 1.0]])
    y = iman_conover(x, target, np.random.default_rng(1))
    assert np.array_equal(np.sort(y, axis=0), np.sort(x, axis=0))  # marginals unchanged
    got = spearman(y)
    for a, b in ((0, 1), (0, 2), (1, 2)):
        rho = target[a, b]
        se = 1.06 * (1 - rho**2) / np.sqrt(n - 3)  # Fieller et al. (1957), large n
        assert abs(got[a, b] - rho) < 3 * se, (a, b, got[a, b])
    assert abs(spearman(x)[0, 1] - 0.7) > 0.5  # the draws themselves were independent


def _correlated(capsys, tmp_path, correlations, *flags, code=0):
    raw = _one_station({"dist": "uniform", "low": 0.01, "high": 0.05})
    raw["stations"][0]["mtbf_h"] = {"dist": "triangular", "low": 20, "value": 40, "high": 80}
    raw["stations"][0]["mttr_h"] = 1.0
    raw["correlations"] = correlations
    path = tmp_path / "line.yaml"
    path.write_text(yaml.safe_dump(raw))
    args = ["uncertainty", str(path), "--static", "--no-store", "--samples", "128", *flags]
    assert main([*args, "--json"]) == code
    out = capsys.readouterr()
    return json.loads(out.out) if code == 0 else out.err


def test_a_correlated_study_has_the_ranks_and_the_marginals_of_the_config(capsys, tmp_path):
    p, mtbf = "stations.press.defect_probability", "stations.press.mtbf_h"
    doc = _correlated(capsys, tmp_path, [{"inputs": [p, mtbf], "rank": -0.6}])
    free = _correlated(capsys, tmp_path, [])
    ((pair),) = doc["correlations"]
    assert pair["inputs"] == [p, mtbf] and pair["rank"] == -0.6
    assert abs(pair["sample_rank"] + 0.6) < 3 * 1.06 * 0.64 / np.sqrt(125)
    assert free["correlations"] == [] and "Sobol indices not computed" in doc["warnings"][-1]
    for name in (p, mtbf):  # the same values, in another order
        got = sorted(s["inputs"][name] for s in doc["sample_values"])
        assert got == sorted(s["inputs"][name] for s in free["sample_values"])


@pytest.mark.parametrize(
    "correlations, words",
    [
        (
            [{"inputs": ["stations.press.nothing", "stations.press.mtbf_h"], "rank": 0.5}],
            "correlations[0].inputs",
        ),
        (
            [{"inputs": ["stations.press.mtbf_h", "stations.press.mtbf_h"], "rank": 0.5}],
            "correlated with itself",
        ),
        (
            [
                {
                    "inputs": ["stations.press.mtbf_h", "stations.press.defect_probability"],
                    "rank": 1.0,
                }
            ],
            "correlations[0].rank",
        ),
    ],
)
def test_a_bad_correlation_is_refused_by_name(capsys, tmp_path, correlations, words):
    assert words in _correlated(capsys, tmp_path, correlations, code=2)


def test_correlations_no_joint_distribution_has_and_sobol_on_them_are_refused(capsys, tmp_path):
    raw = _one_station({"dist": "uniform", "low": 0.01, "high": 0.05})
    s = raw["stations"][0]
    s["mtbf_h"], s["mttr_h"] = {"dist": "uniform", "low": 20, "high": 80}, 1.0
    s["buffer_after"] = {"dist": "uniform", "low": 1, "high": 9}
    names = ["stations.press." + k for k in ("defect_probability", "mtbf_h", "buffer_after")]
    raw["correlations"] = [
        {"inputs": [names[0], names[1]], "rank": 0.9},
        {"inputs": [names[0], names[2]], "rank": 0.9},
        {"inputs": [names[1], names[2]], "rank": -0.9},
    ]
    path = tmp_path / "line.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["uncertainty", str(path), "--static", "--no-store", "--samples", "16"]) == 2
    assert "not positive definite" in capsys.readouterr().err
    # positive definite as ranks (least eigenvalue +1.9e-3), not as the normal scores
    # 2·sin(π·ρ/6) Iman–Conover factorises (−2.3e-3): refused, not a LinAlgError
    for entry, rank in zip(raw["correlations"], (0.9, 0.9, 0.625)):
        entry["rank"] = rank
    path.write_text(yaml.safe_dump(raw))
    assert main(["uncertainty", str(path), "--static", "--no-store", "--samples", "16"]) == 2
    assert "not positive definite" in capsys.readouterr().err
    raw["correlations"] = raw["correlations"][:1]
    path.write_text(yaml.safe_dump(raw))
    flags = ["--static", "--no-store", "--samples", "16", "--sobol", "8"]
    assert main(["uncertainty", str(path), *flags]) == 2
    assert "independent inputs" in capsys.readouterr().err
