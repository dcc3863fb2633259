"""Uncertain inputs in a config: distributions instead of numbers, their nominal line, their
quantiles against scipy.stats, and the checks that every value of a support is a valid line."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from linesim.bundled import resolve_config
from linesim.cli.main import main
from linesim.config import line_from_dict, load_line, load_raw, uncertain_inputs, with_values
from linesim.errors import ConfigError
from linesim.spec.uncertain import FieldBounds, parse_uncertain

U = np.linspace(0.005, 0.995, 199)


def _line(p, machines=2, mtbf=None) -> dict:
    station = {"id": "press", "kind": "discrete", "cycle_time_s": 10.0, "machines": machines}
    station["defect_probability"] = p
    if mtbf is not None:
        station |= {"mtbf_h": mtbf, "mttr_h": 1.0}
    return {"name": "one", "product": {"energy_kwh": 0.3}, "stations": [station]}


def test_a_distribution_leaves_the_nominal_line_every_command_sees():
    certain = line_from_dict(_line(0.02, 3, 40.0))
    uncertain = line_from_dict(
        _line(
            {"dist": "triangular", "low": 0.01, "value": 0.02, "high": 0.05, "source": "[E]"},
            {"dist": "uniform", "low": 2, "high": 4, "value": 3},
            {"dist": "lognormal", "median": 40.0, "p90": 80.0},
        )
    )
    assert uncertain == certain


@pytest.mark.parametrize(
    ("node", "reference"),
    [
        (
            {"dist": "triangular", "low": 0.01, "value": 0.02, "high": 0.05},
            stats.triang(c=0.25, loc=0.01, scale=0.04),
        ),
        ({"dist": "uniform", "low": 2.0, "high": 5.0}, stats.uniform(loc=2.0, scale=3.0)),
        (
            {"dist": "pert", "low": 0.0, "value": 0.25, "high": 1.0},
            stats.beta(a=2.0, b=4.0, loc=0.0, scale=1.0),
        ),
        (
            {"dist": "lognormal", "median": 50.0, "p90": 100.0},
            stats.lognorm(s=math.log(2.0) / stats.norm.ppf(0.9), scale=50.0),
        ),
        ({"dist": "normal", "value": 10.0, "sd": 2.0}, stats.norm(loc=10.0, scale=2.0)),
    ],
)
def test_quantiles_are_those_of_the_named_distribution(node, reference):
    x = parse_uncertain(node).ppf(U)
    np.testing.assert_allclose(x, reference.ppf(U), rtol=1e-9)


def test_normal_is_truncated_to_the_fields_bounds():
    dist = parse_uncertain({"dist": "normal", "value": 0.01, "sd": 0.02})
    x = dist.ppf(U, FieldBounds(0.0, 1.0))
    a = (0.0 - 0.01) / 0.02
    ref = stats.truncnorm(a=a, b=(1.0 - 0.01) / 0.02, loc=0.01, scale=0.02).ppf(U)
    np.testing.assert_allclose(x, ref, rtol=1e-9)
    assert dist.support(FieldBounds(0.0, 1.0))[0] >= 0.0


def test_a_whole_number_field_gives_each_integer_of_a_uniform_the_same_chance():
    (item,) = uncertain_inputs(_line(0.01, {"dist": "uniform", "low": 2, "high": 5}))
    assert item.dist.integer
    x = item.ppf((np.arange(4000) + 0.5) / 4000)
    values, counts = np.unique(x, return_counts=True)
    assert values.tolist() == [2, 3, 4, 5] and counts.tolist() == [1000] * 4
    spec = line_from_dict(with_values(_line(0.01, 1), [item], [4.0]))
    assert spec.stations[0].machines == 4


def test_inputs_are_named_by_station_id_with_the_fields_bounds(tmp_path):
    raw = _line(
        {"dist": "uniform", "low": 0.0, "high": 0.1}, 2, {"dist": "uniform", "low": 1, "high": 9}
    )
    names = {i.name: i.bounds for i in uncertain_inputs(raw)}
    assert names["stations.press.defect_probability"] == FieldBounds(0.0, 1.0)
    assert names["stations.press.mtbf_h"].low == pytest.approx(1 / 3600)


@pytest.mark.parametrize(
    ("p", "field", "words"),
    [
        (
            {"dist": "triangular", "low": 0.01, "value": 0.02, "high": 1.5},
            "stations.press.defect_probability",
            "outside what the field accepts",
        ),
        (
            {"dist": "uniform", "low": 0.5, "high": 1.0},
            "stations.press.defect_probability",
            "at the high end",
        ),
        ({"dist": "gamma", "k": 2}, "stations.press.defect_probability.dist", "unknown"),
        ({"dist": "uniform", "low": 0.1}, "stations.press.defect_probability.high", "needs"),
        (
            {"dist": "triangular", "low": 0.1, "value": 0.3, "high": 0.2},
            "stations.press.defect_probability.value",
            "between",
        ),
        (
            {"dist": "lognormal", "median": 0.02, "p90": 0.01},
            "stations.press.defect_probability.p90",
            "above the median",
        ),
    ],
)
def test_a_bad_distribution_names_the_field(p, field, words):
    with pytest.raises(ConfigError) as err:
        line_from_dict(_line(p))
    assert err.value.path == field and words in err.value.problem


def test_a_bad_distribution_exits_2_from_the_cli(capsys):
    code = main(
        [
            "validate",
            "pilot_sulfide_200mwh",
            "--set",
            "stations.stacking.mttr_h={dist: uniform, low: 0, high: 0.5}",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "stations.stacking.mttr_h" in err and "1e+06" in err


def test_extends_replaces_a_distribution_whole_or_patches_its_parameters(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text(
        "name: b\nproduct: {energy_kwh: 0.3}\nstations:\n"
        "  - {id: press, kind: discrete, cycle_time_s: 10,\n"
        "     defect_probability: {dist: triangular, low: 0.01, value: 0.02, high: 0.05}}\n"
    )
    child = tmp_path / "child.yaml"
    child.write_text(
        "extends: base.yaml\nstations:\n"
        "  press: {defect_probability: {dist: normal, value: 0.03, sd: 0.01}}\n"
    )
    (item,) = uncertain_inputs(load_raw(child))
    assert item.dist.dist == "normal" and item.dist.low is None
    assert load_line(child).stations[0].defect_probability == 0.03
    child.write_text("extends: base.yaml\nstations:\n  press: {defect_probability: {high: 0.08}}\n")
    (item,) = uncertain_inputs(load_raw(child))
    assert (item.dist.dist, item.dist.low, item.dist.high) == ("triangular", 0.01, 0.08)


@st.composite
def distributions(draw):
    """A distribution mapping of any kind on a defect probability, an MTBF or a machine
    count, with parameters that may or may not fit the field."""
    field = draw(st.sampled_from(["defect_probability", "mtbf_h", "machines"]))
    dist = draw(st.sampled_from(["triangular", "pert", "uniform", "normal", "lognormal"]))
    scale = {"defect_probability": 0.5, "mtbf_h": 100.0, "machines": 10.0}[field]
    number = st.floats(0.0, 1.2 * scale, allow_nan=False)
    if field == "machines" and dist in ("triangular", "pert", "uniform"):
        number = st.integers(0, 12)
    a, b, c = sorted(draw(st.lists(number, min_size=3, max_size=3, unique=True)))
    if dist in ("triangular", "pert"):
        node = {"low": a, "value": b, "high": c}
    elif dist == "uniform":
        node = {"low": a, "high": c} | ({"value": b} if draw(st.booleans()) else {})
    elif dist == "normal":
        node = {"value": b, "sd": max(c - a, 1e-3)}
    else:
        node = {"median": max(b, 1e-3), "p90": max(b, 1e-3) * draw(st.floats(1.01, 5.0))}
    return field, {"dist": dist, **node}


@settings(max_examples=60, deadline=None)
@given(distributions(), st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12))
def test_a_distribution_is_refused_naming_its_field_or_every_sample_is_a_valid_line(drawn, u):
    field, node = drawn
    raw = _line(0.01, 2, 50.0)
    raw["stations"][0][field] = node
    try:
        line_from_dict(raw)
    except ConfigError as exc:
        assert exc.path.startswith(f"stations.press.{field}"), exc
        return
    (item,) = uncertain_inputs(raw)
    lo, hi = item.support
    for x in item.ppf(np.array(u)):
        assert lo <= x <= hi and item.bounds.admits(x)
        line_from_dict(with_values(raw, [item], [x]))  # valid
    assert item.bounds.admits(item.dist.nominal)


@pytest.mark.parametrize("name", ["gwh_sulfide_4gwh", "gwh_oxide_1gwh"])
def test_a_dumped_line_keeps_its_distributions(name):
    """load → dump_line → load (the UI's working copy is YAML text) keeps every range, and an
    edit keeps the ranges it does not touch (carry_ranges)."""
    from linesim.config import apply_overrides, carry_ranges, dump_line, editable, line_from_text

    spec = load_line(name)
    before = {i.name: i.dist for i in uncertain_inputs(load_raw(resolve_config(name)))}
    text = dump_line(spec)
    again = line_from_text(text)
    assert again == spec
    after = {i.name: i.dist for i in uncertain_inputs(yaml.safe_load(text))}
    assert after == before and len(before) > 20
    assert dump_line(again) == text
    edit = ["stations.stacking.machines=12", "stations.stacking.defect_probability=0.01"]
    edited = carry_ranges(again, line_from_dict(apply_overrides(editable(again), edit)))
    kept = {i.name for i in uncertain_inputs(yaml.safe_load(dump_line(edited)))}
    assert kept == set(before) - {"stations.stacking.defect_probability"}


def test_a_ranged_field_edited_to_its_default_keeps_the_edit():
    """A field set to its default is left out of the dump; its old range (whose nominal is not
    the default) must not come back and undo the edit."""
    from linesim.config import apply_overrides, carry_ranges, dump_line, editable, line_from_text

    spec = load_line("pilot_oxide")
    first = spec.stations[0]
    assert first.defect_probability != 0.0  # ranged, nominal above the default 0
    edit = [f"stations.{first.id}.defect_probability=0"]
    edited = carry_ranges(spec, line_from_dict(apply_overrides(editable(spec), edit)))
    again = line_from_text(dump_line(edited))
    assert again.stations[0].defect_probability == 0.0
    assert dump_line(edited).count("dist:") == dump_line(spec).count("dist:") - 1


def test_a_layout_keeps_the_distributions_of_the_fields_it_leaves_alone():
    """``apply_layout`` (what ``optimise --write-config`` and the app's "load this layout"
    write): a layout that leaves a station out keeps every other distribution, each on its own
    station (followed by id, not by its place in the list, which the removal shifts), drops
    the left-out station's, and makes certain the fields it changes (omission effects); the
    written file runs ``linesim uncertainty``."""
    from linesim.config import dump_line, line_from_text
    from linesim.variants import apply_layout

    spec = load_line("pilot_sulfide_200mwh")

    def by_station(text):
        out = {}
        for i in uncertain_inputs(yaml.safe_load(text)):
            out[i.name] = i.dist
        return out

    before = by_station(dump_line(spec))
    gone = "sputter_interlayer"
    assert any(name.startswith(f"stations.{gone}.") for name in before)
    changed = set(spec.stations[spec.station_index(gone)].omission_effects)
    layout = {gone: {"default": 0}, "stacking": {"default": 5}}
    text = dump_line(apply_layout(spec, layout))
    after = by_station(text)
    expected = {
        name: dist
        for name, dist in before.items()
        if not name.startswith(f"stations.{gone}.")
        and not any(name == f"stations.{s}.defect_probability" for s in changed)
    }
    assert after == expected and len(after) > 20
    again = line_from_text(text)
    assert gone not in {s.id for s in again.stations}
    assert again.stations[again.station_index("stacking")].machines == 5
