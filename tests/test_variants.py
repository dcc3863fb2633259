"""Every spec → spec change is validated again and survives a YAML round trip."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linesim.bundled import bundled_lines
from linesim.config import dump_line, line_from_text, load_line
from linesim.errors import ConfigError
from linesim.rates import station_capacity_cells_per_h
from linesim.variants import (
    STATION_PARAMETERS,
    perturb_material,
    perturb_station,
    with_settings,
    without_exposure,
)

LINES = {name: load_line(name) for name in bundled_lines()}


def round_trips(spec) -> bool:
    return line_from_text(dump_line(spec)) == spec


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(sorted(LINES)),
    data=st.data(),
    parameter=st.sampled_from(STATION_PARAMETERS),
    factor=st.floats(0.5, 1.5),
)
def test_a_perturbed_station_is_valid_round_trips_and_moves_only_its_parameter(
    name, data, parameter, factor
):
    spec = LINES[name]
    station = data.draw(st.sampled_from(spec.stations))
    if parameter == "defect_probability" and any(
        e.defect_probability * factor > 1 for e in station.equipment()
    ):
        return
    new = perturb_station(spec, station.id, parameter, factor)
    assert round_trips(new)
    after = new.stations[new.station_index(station.id)]
    for old_eq, new_eq in zip(station.equipment(), after.equipment(), strict=True):
        if parameter == "defect_probability":
            assert new_eq.defect_probability == pytest.approx(old_eq.defect_probability * factor)
        elif parameter == "capex_usd":
            assert new_eq.capex_usd == pytest.approx(old_eq.capex_usd * factor)
        elif parameter == "mtbf_h" and old_eq.mtbf_h is not None:
            assert new_eq.mtbf_h == pytest.approx(old_eq.mtbf_h * factor)
    if parameter == "rate":
        assert station_capacity_cells_per_h(after, with_availability=False) == pytest.approx(
            station_capacity_cells_per_h(station, with_availability=False) * factor
        )
    others = [s for s in spec.stations if s.id != station.id]
    assert others == [s for s in new.stations if s.id != station.id]


def test_a_perturbation_that_breaks_a_bound_is_refused_naming_the_field():
    spec = LINES["pilot_sulfide_200mwh"]
    station = max(spec.stations, key=lambda s: s.defect_probability)
    with pytest.raises(ConfigError, match="defect_probability"):
        perturb_station(
            spec, station.id, "defect_probability", 1.0 / station.defect_probability * 1.5
        )
    with pytest.raises(ValueError, match="parameter"):
        perturb_station(spec, station.id, "colour", 1.1)
    with pytest.raises(ValueError, match="factor"):
        perturb_station(spec, station.id, "capex_usd", 0.0)


def test_a_window_station_keeps_its_numbers_when_its_window_sets_the_field():
    spec = LINES["pilot_sulfide_200mwh"]
    station = next(
        s
        for s in spec.stations
        if s.process is not None and "defect_probability" in s.process.DERIVES
    )
    new = perturb_station(spec, station.id, "defect_probability", 1.2)
    after = new.stations[new.station_index(station.id)]
    assert after.process is None and round_trips(new)
    assert after.defect_probability == pytest.approx(station.defect_probability * 1.2)
    for field in station.process.DERIVES:
        if field != "defect_probability":
            assert getattr(after, field) == getattr(station, field)


def test_a_perturbed_material_price_is_valid_and_round_trips():
    spec = LINES["gwh_sulfide_4gwh"]
    material = spec.cost.materials[0]
    new = perturb_material(spec, material.name, 1.3)
    assert new.cost.materials[0].price_per_unit == pytest.approx(material.price_per_unit * 1.3)
    assert new.cost.materials[1:] == spec.cost.materials[1:] and round_trips(new)
    with pytest.raises(ValueError, match="material"):
        perturb_material(spec, "unobtainium", 1.1)


def test_settings_and_exposure_off_are_variants_too():
    spec = LINES["pilot_sulfide_200mwh"]
    windowed = next(s for s in spec.stations if s.process is not None and s.process.SETTINGS)
    name = windowed.process.SETTINGS[0]
    value = getattr(windowed.process, name) * 1.1
    changed = with_settings(spec, {windowed.id: {name: value}})
    assert getattr(
        changed.stations[changed.station_index(windowed.id)].process, name
    ) == pytest.approx(value) and round_trips(changed)
    off = without_exposure(spec)
    assert all(s.process is None or s.process.model != "exposure" for s in off.stations)
    assert round_trips(off)
    with pytest.raises(ConfigError, match="unknown station id"):
        with_settings(spec, {"nope": {name: value}})
