import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import CONFIGS, ROOT
from pydantic import ValidationError

from linesim.cli import main
from linesim.config import dump_line, line_from_dict, load_line
from linesim.errors import ConfigError

BAD = sorted((Path(__file__).parent / "bad_configs").glob("*.yaml"))


def _expected(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: ")
    return first.removeprefix("# expect: ")


def test_bad_corpus_is_large_enough():
    assert len(BAD) >= 20


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_config_exits_2_naming_the_field(path, capsys):
    code = main(["validate", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert str(path) in err
    assert _expected(path) in err
    assert "Traceback" not in err and "allowed" in err


def test_bad_config_in_a_real_process_has_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "linesim.cli", "capacity", str(BAD[0]), "--json"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "stations.a.cycle_time_s" in proc.stderr and "-5" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_missing_file_names_the_file(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: file not found" in capsys.readouterr().err


def test_message_names_value_and_allowed():
    with pytest.raises(ConfigError) as info:
        load_line(BAD[1])
    e = info.value
    assert e.path == "stations.b.defect_probability" and e.value == 1.7
    assert "≤ 1" in e.allowed


def test_unknown_field_lists_allowed_fields():
    with pytest.raises(ConfigError) as info:
        load_line([p for p in BAD if "unknown_key" in p.name][0])
    assert "cycle_time_s" in info.value.allowed


def test_bundled_configs_load(bundled_config):
    spec = load_line(bundled_config)
    assert spec.sources, "bundled configs cite their sources"
    assert all(s.source for s in spec.stations)


def test_extends_patches_stations_by_id():
    pilot = load_line(ROOT / "configs/pilot_sulfide_200mwh.yaml")
    gwh = load_line(ROOT / "configs/gwh_sulfide_4gwh.yaml")
    assert [s.id for s in gwh.stations] == [s.id for s in pilot.stations]
    assert gwh.stations[gwh.station_index("stacking")].machines == 11
    # unpatched fields come from the base
    assert gwh.station_index("stacking") == pilot.station_index("stacking")
    assert gwh.stations[gwh.station_index("stacking")].sheets_per_cell == 56


def test_extends_remove_and_insert(tmp_path):
    (tmp_path / "d.yaml").write_text(
        "extends: " + str(ROOT / "configs/pilot_sulfide_200mwh.yaml") + "\n"
        "name: derived\n"
        "stations:\n"
        "  sputter_interlayer: null\n"
        "  xray_inspection: {insert_after: stacking, kind: discrete, cycle_time_s: 6}\n"
    )
    spec = load_line(tmp_path / "d.yaml")
    ids = [s.id for s in spec.stations]
    assert "sputter_interlayer" not in ids
    assert ids[ids.index("stacking") + 1] == "xray_inspection"


def test_extends_cycle_is_an_error(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\nname: a\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\nname: b\n")
    with pytest.raises(ConfigError, match="cycle"):
        load_line(tmp_path / "a.yaml")


def test_overrides_by_station_id():
    spec = load_line(
        ROOT / "configs/pilot_sulfide_200mwh.yaml",
        ["stations.stacking.machines=4", "calendar.hours_per_year=8000"],
    )
    assert spec.stations[spec.station_index("stacking")].machines == 4
    assert spec.calendar.year_hours == 8000


def test_override_with_bad_value_names_the_field():
    with pytest.raises(ConfigError) as info:
        load_line(ROOT / "configs/pilot_sulfide_200mwh.yaml", ["stations.stacking.machines=-1"])
    assert "stations.stacking.machines" in str(info.value)


def test_override_unknown_station():
    with pytest.raises(ConfigError, match="unknown station id"):
        load_line(ROOT / "configs/pilot_sulfide_200mwh.yaml", ["stations.nope.machines=1"])


def test_cli_set_flag(capsys):
    assert (
        main(
            [
                "capacity",
                str(ROOT / "configs/pilot_sulfide_200mwh.yaml"),
                "--json",
                "--set",
                "stations.stacking.machines=1",
            ]
        )
        == 0
    )
    import json

    doc = json.loads(capsys.readouterr().out)
    assert doc["bottleneck"] == "stacking"


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_dump_loads_back_identically(path):
    spec = load_line(path)
    again = line_from_dict(yaml.safe_load(dump_line(spec)))
    assert again == spec


def test_spec_is_frozen():
    spec = load_line(CONFIGS[0])
    with pytest.raises(ValidationError, match="frozen"):
        spec.name = "other"  # type: ignore[misc]


def test_capacity_json_matches_product_of_config(capsys):
    import json
    import math

    path = ROOT / "configs/gwh_sulfide_4gwh.yaml"
    assert main(["capacity", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    raw = load_line(path)
    assert doc["max_output_gwh_per_year"] >= 4.0
    assert math.isclose(
        doc["line_yield"], math.prod(1 - s.defect_probability for s in raw.stations)
    )


@pytest.mark.parametrize(
    "value, path, words",
    [
        ("weekends", "stations.stacking.calendar", "'continuous' or its own shift pattern"),
        (
            "{shifts_per_day: 2, hours_per_shift: 13}",
            "stations.stacking.calendar.hours_per_shift",
            "more than 24 h",
        ),
        ("{shifts: 2}", "stations.stacking.calendar.shifts", "unknown field"),
    ],
)
def test_a_station_calendar_of_neither_form_gets_one_clear_message(value, path, words):
    with pytest.raises(ConfigError) as info:
        load_line(
            ROOT / "configs/pilot_sulfide_200mwh.yaml", [f"stations.stacking.calendar={value}"]
        )
    e = info.value
    assert e.path == path and words in e.problem and not e.more, str(e)


def test_set_inside_a_list_entry_that_is_not_a_mapping_names_the_path():
    from linesim.config import apply_overrides
    from linesim.errors import ConfigError

    with pytest.raises(ConfigError, match=r"zz\.0: is not a mapping"):
        apply_overrides({"zz": [1, 2]}, ["zz.0.x=1"])
    with pytest.raises(ConfigError, match="the list is empty"):
        apply_overrides({"zz": []}, ["zz.0.x=1"])


def test_a_bad_override_is_named_beside_the_file(capsys, tmp_path):
    """A value given with ``--set`` that the line refuses: the message names the file and the
    override that set it (the file itself holds no such value), and a mistake in the file
    itself names the file alone."""
    bad = "stations.stacking.machines=four"
    assert main(["validate", "pilot_sulfide_200mwh", "--set", bad]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "pilot_sulfide_200mwh.yaml: stations.stacking.machines: " in err
    assert "(set by --set) (got 'four')" in err
    with pytest.raises(ConfigError) as refused:
        load_line("pilot_sulfide_200mwh", ["stations.laser_cutting.machines=4", bad])
    assert refused.value.problem.endswith("(set by --set)")
    broken = tmp_path / "broken.yaml"  # the override is fine, the mistake is the file's
    text = (ROOT / "configs" / "pilot_sulfide_200mwh.yaml").read_text(encoding="utf-8")
    broken.write_text(text.replace("mttr_h: 3", "mttr_h: -1", 1), encoding="utf-8")
    with pytest.raises(ConfigError) as other:
        load_line(broken, ["stations.stacking.machines=4"])
    assert other.value.file == str(broken) and other.value.path.endswith("mttr_h")
    assert "--set" not in str(other.value)


def test_an_unknown_station_in_a_derived_config_says_how_to_add_one(tmp_path):
    """Patching a station the base does not have: the message says how to add one before it
    lists the base's ids, so that a long list, cut short, does not cut the way out."""
    derived = tmp_path / "derived.yaml"
    derived.write_text("extends: gwh_sulfide_4gwh\nstations:\n  nope: {machines: 2}\n")
    with pytest.raises(ConfigError) as refused:
        load_line(derived)
    message = str(refused.value)
    assert "stations.nope: unknown station id (got 'nope')" in message
    assert "allowed: a new station with insert_after:, or one of se_powder_prep" in message
