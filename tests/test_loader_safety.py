"""The config loader under hostile input: YAML 1.2 scalars, bounded structure and size, confined
``extends:``, messages that stay one short line, and a fuzz test that only ever sees a spec or a
:class:`~linesim.errors.ConfigError`."""

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linesim import yaml_io
from linesim.cli import main
from linesim.config import dump_line, line_from_text, load_line, parse_override
from linesim.errors import ConfigError, UsageError, _show, one_line

PILOT = ROOT / "configs/pilot_sulfide_200mwh.yaml"
HEAD = "name: t\nproduct: {energy_kwh: 0.3}\n"


def _line(stations: str) -> str:
    return HEAD + "stations:\n" + stations


def _refusal(text: str, file: str = "hostile.yaml") -> ConfigError:
    with pytest.raises(ConfigError) as info:
        line_from_text(text, file)
    first, *more = str(info.value).split("\n")
    assert first.startswith(f"{file}: ") and all(m.startswith("  also: ") for m in more)
    return info.value


# --- YAML 1.2 scalars through the C loader ------------------------------------------------------
@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml")
def test_the_loader_is_libyamls_and_its_resolvers_are_the_yaml_1_2_ones():
    assert issubclass(yaml_io._Loader, yaml.CSafeLoader)
    # the implicit resolvers are Python-side, so the subclass's YAML 1.1 → 1.2 change holds
    assert yaml_io.parse_value("a: 010\nb: yes\nc: 1:30") == {"a": 10, "b": "yes", "c": "1:30"}


@pytest.mark.parametrize(
    "text, value",
    [
        ("010", 10),
        ("-007", -7),
        ("0o10", 8),
        ("0x1f", 31),
        ("2.25e6", 2.25e6),
        ("1.", 1.0),
        (".5", 0.5),
        ("true", True),
        ("FALSE", False),
        ("True", True),
        ("yes", "yes"),
        ("no", "no"),
        ("on", "on"),
        ("off", "off"),
        ("y", "y"),
        ("1:30", "1:30"),
        ("1_000", "1_000"),
        ("0b101", "0b101"),
        ("2024-01-01", "2024-01-01"),
        ("=", "="),
        ("~", None),
        ("null", None),
    ],
)
def test_scalars_follow_yaml_1_2(text, value):
    assert yaml_io.parse_value(f"v: {text}") == {"v": value}


@pytest.mark.parametrize("text", [".inf", "-.inf", "1e400"])
def test_infinity_parses_and_the_spec_refuses_it(text):
    assert math.isinf(yaml_io.parse_value(f"v: {text}")["v"])
    e = _refusal(_line(f"  - {{id: a, kind: discrete, cycle_time_s: {text}}}\n"))
    assert e.path == "stations.a.cycle_time_s" and "finite" in e.allowed


def test_a_leading_zero_count_is_decimal():
    spec = line_from_text(_line("  - {id: a, kind: discrete, cycle_time_s: 5, machines: 010}\n"))
    assert spec.stations[0].machines == 10


def test_a_clock_time_is_text_that_the_field_refuses():
    e = _refusal(_line("  - {id: a, kind: discrete, cycle_time_s: 1:30}\n"))
    assert e.path == "stations.a.cycle_time_s" and e.value == "1:30" and e.allowed == "a number"


def test_yes_is_not_a_boolean():
    e = _refusal(_line("  - {id: a, kind: discrete, cycle_time_s: 5, dry_room: yes}\n"))
    assert e.path == "stations.a.dry_room" and e.value == "yes" and e.allowed == "true or false"


def test_text_that_looks_like_a_number_or_boolean_is_dumped_to_load_back_as_text():
    spec = line_from_text(
        'name: t\ndescription: "0o17"\nproduct: {energy_kwh: 0.3}\nstations:\n'
        '  - {id: a, kind: discrete, cycle_time_s: 5, description: "tRuE"}\n'
        '  - {id: b, kind: discrete, cycle_time_s: 5, description: "yes"}\n'
    )
    text = dump_line(spec)
    assert line_from_text(text) == spec and yaml.safe_load(text)["description"] == "0o17"


def test_dates_are_read_from_text():
    spec = load_line("gwh_polymer")
    assert spec.cost is not None and spec.cost.currency.rate_date.isoformat() == "2025-12-01"


# --- bounded structure --------------------------------------------------------------------------
BILLION_LAUGHS = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]"
            for p, n in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)


def test_a_billion_laughs_is_refused_at_once_naming_the_line():
    assert len(BILLION_LAUGHS) < 700
    start = time.perf_counter()
    e = _refusal(BILLION_LAUGHS, "laughs.yaml")
    assert time.perf_counter() - start < 1.0
    assert e.path == "line 7, column 8" and e.problem == "aliases repeat more than 1,000,000 values"


def test_a_few_aliases_are_fine():
    text = _line(
        "  - {id: a, kind: discrete, cycle_time_s: 5, calendar: &cal "
        "{shifts_per_day: 2, hours_per_shift: 8, days_per_week: 5}}\n"
        "  - {id: b, kind: discrete, cycle_time_s: 5, calendar: *cal}\n"
    )
    spec = line_from_text(text)
    assert spec.stations[0].calendar == spec.stations[1].calendar


@pytest.mark.parametrize(
    "text, words",
    [
        ("a: &x [1, *x]", "the alias *x is inside the value it names"),
        ("a: *nowhere", "the alias *nowhere names no anchor"),
    ],
)
def test_aliases_that_name_nothing_or_themselves_are_refused(text, words):
    e = _refusal(text)
    assert e.problem == words and e.path.startswith("line 1, column ")


def test_deep_nesting_is_refused_without_crashing_the_interpreter(tmp_path):
    # libyaml's own composer recurses without a bound: this depth kills the process
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 200_000 + "]" * 200_000)
    proc = subprocess.run(
        [sys.executable, "-m", "linesim.cli", "validate", str(deep)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (
        f"linesim: error: {deep}: line 1, column 54: nested more than 50 levels deep; "
        "allowed: at most 50 levels of lists and mappings\n"
    )


def test_fifty_levels_of_nesting_are_allowed():
    assert yaml_io.parse_value("a: " + "[" * 50 + "]" * 50) is not None


@pytest.mark.parametrize(
    "text, lines, key",
    [
        ("name: a\nproduct: {energy_kwh: 0.3}\nname: b\n", (1, 3), "name"),
        (_line("  - id: a\n    kind: discrete\n    cycle_time_s: 5\n    id: b\n"), (4, 7), "id"),
        ("product: {energy_kwh: 0.3, energy_kwh: 0.4}\n", (1, 1), "energy_kwh"),
    ],
)
def test_a_duplicate_key_is_refused_naming_both_lines(text, lines, key):
    e = _refusal(text)
    assert e.problem == f"a key appears twice in one mapping, at lines {lines[0]} and {lines[1]}"
    assert e.value == key and e.path.startswith(f"line {lines[1]}, column ")


@pytest.mark.parametrize("number", ["9" * 5000, "-" + "1" * 41, "0x" + "f" * 5000])
def test_an_integer_of_thousands_of_digits_is_refused(number):
    start = time.perf_counter()
    e = _refusal(f"name: {number}\n")
    assert time.perf_counter() - start < 1.0
    digits = len(number.lstrip("-").removeprefix("0x"))
    assert e.problem == f"an integer of {digits:,} digits" and e.path == "line 1, column 7"
    assert "at most 40 digits" in e.allowed


@pytest.mark.parametrize(
    "text, words",
    [
        ("a: !!int abc", "the value does not fit its tag !!int"),
        ("a: !!bool maybe", "the value does not fit its tag !!bool"),
        ("a: !!timestamp x", "the value does not fit its tag !!timestamp"),
        ("a: !!python/object:os.system x", "could not determine a constructor"),
        ("a: 1\n---\nb: 2\n", "more than one YAML document"),
        ("a: \x01", "the control character U+0001 is not allowed"),
        ("a: \ud800", "the text is not valid Unicode"),
    ],
)
def test_odd_yaml_is_a_config_error(text, words):
    assert words in _refusal(text).problem


# --- size ----------------------------------------------------------------------------------------
def test_a_huge_file_is_refused_before_it_is_read(tmp_path, capsys):
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.truncate(50_000_000)  # sparse: 50 MB that take no disk
    start = time.perf_counter()
    assert main(["validate", str(big)]) == 2
    assert time.perf_counter() - start < 2.0
    assert capsys.readouterr().err == (
        f"linesim: error: {big}: the config is 50.0 MB, larger than the limit of 5 MB; "
        "allowed: a smaller file (or raise the limit with LINESIM_MAX_CONFIG_MB=<MB>)\n"
    )


def test_the_size_limit_applies_to_text_and_can_be_raised(monkeypatch):
    text = "# " + "x" * 1_100_000 + "\n" + HEAD
    monkeypatch.setenv("LINESIM_MAX_CONFIG_MB", "1")
    e = _refusal(text)
    assert e.problem == "the config is 1.1 MB, larger than the limit of 1 MB" and e.path == ""
    monkeypatch.setenv("LINESIM_MAX_CONFIG_MB", "2")
    assert _refusal(text).path == "stations"  # read, then validated: stations are missing


@pytest.mark.parametrize("value", ["lots", "0", "-1", "nan", "inf"])
def test_a_bad_size_limit_is_a_usage_error(monkeypatch, value):
    monkeypatch.setenv("LINESIM_MAX_CONFIG_MB", value)
    with pytest.raises(UsageError, match="^LINESIM_MAX_CONFIG_MB: .*; allowed: a number of"):
        load_line(PILOT)


def test_a_file_name_too_long_is_a_config_error():
    with pytest.raises(ConfigError, match=r"^x+\.\.\.: cannot be read \(File name too long\)"):
        load_line("x" * 5000)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_device_is_not_read():
    with pytest.raises(ConfigError, match="is not a regular file"):
        load_line("/dev/zero")


# --- messages -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, shown",
    [
        ("x" * 1_000_000, "'" + "x" * 27 + "..." + "x" * 28 + "'"),
        (list(range(1_000_000)), "[0, 1, 2, 3, ...]"),
        (10**5000, "an integer of about 5,001 digits"),
        ("a\nb\x1b[2J\u2028", "'a\\nb\\x1b[2J\\u2028'"),
        ({"k": {"k": {"k": 1}}}, "{'k': {'k': {...}}}"),
        (b"ab" * 1000, repr(b"ab" * 30) + "..."),
    ],
    ids=["long text", "long list", "huge integer", "control characters", "deep", "bytes"],
)
def test_a_value_is_shown_short_and_on_one_line(value, shown):
    assert _show(value) == shown


def test_every_part_of_a_message_is_one_short_line():
    e = ConfigError("a\nb.yaml", "stations.\x1b[31m", "bad\rnews", "v", "x" * 10_000)
    first = str(e).splitlines()
    assert len(first) == 1 and len(first[0]) < 600
    assert first[0].startswith("a\\nb.yaml: stations.\\x1b[31m: bad\\rnews (got 'v'); allowed: x")


def test_an_unknown_field_names_the_closest_first_and_the_line_stays_short():
    e = _refusal(_line("  - {id: a, kind: discrete, cycle_time: 5}\n"), "f.yaml")
    assert e.allowed.startswith("cycle_time_s (closest), or one of the fields web_width_m, ")
    assert e.path == "stations.a.cycle_time"
    message = str(e)
    assert message.endswith("...") and len(message) - len("f.yaml") <= 270 + len("...")


def test_one_line_cuts_then_escapes():
    assert one_line("ab\ncd", 10) == "ab\\ncd"
    assert one_line("x" * 50, 10) == "x" * 10 + "..."
    assert one_line("\x1b" * 10**6, 2) == "\\x1b\\x1b..."
    assert one_line("Stöße ✓", 10) == "Stöße ✓"


def test_an_unknown_key_with_control_characters_stays_on_one_line():
    e = _refusal(_line('  - {id: a, kind: discrete, cycle_time_s: 5, "x\\ny\\e[2J": 1}\n'))
    assert e.path == "stations.a.x\ny\x1b[2J"
    assert "stations.a.x\\ny\\x1b[2J: unknown field" in str(e)


# --- station ids in field paths ------------------------------------------------------------------
def test_a_station_is_named_by_its_id_as_set_addresses_it():
    with pytest.raises(ConfigError) as info:
        load_line(PILOT, ["stations.stacking.mttr_h=-1"])
    assert info.value.path == "stations.stacking.mttr_h"


def test_an_equipment_option_is_named_by_its_name():
    e = _refusal(
        _line(
            "  - id: a\n    kind: discrete\n    machines: {std: 1, fast: 1}\n"
            "    options: [{name: std, cycle_time_s: 5}, {name: fast, cycle_time_s: -2}]\n"
        )
    )
    assert e.path == "stations.a.options.fast.cycle_time_s"


@pytest.mark.parametrize(
    "stations, path",
    [
        ("  - {id: a, kind: discrete, cycle_time_s: 5}\n  - {id: a, kind: robot}\n", "stations[1]"),
        ("  - {id: Bad, kind: robot}\n", "stations[0]"),
        ("  - {kind: robot}\n", "stations[0]"),
    ],
)
def test_a_station_without_a_unique_valid_id_is_named_by_its_index(stations, path):
    e = _refusal(_line(stations))
    assert e.path.startswith(path + ".") or e.path == path + ".id"


# --- overrides ------------------------------------------------------------------------------------
def test_an_override_value_is_read_by_the_same_loader():
    assert parse_override("stations.a.machines=010") == (["stations", "a", "machines"], 10)
    with pytest.raises(ConfigError) as info:
        parse_override("name=[&a [1], *a, *b]")
    assert str(info.value) == (
        "<overrides>: name: the alias *b names no anchor; "
        "allowed: an alias of an anchor (&name) defined before it"
    )


def test_an_override_on_a_line_whose_stations_are_not_mappings_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown station id"):
        line_from_text(HEAD + "stations: [1, 2]\n", overrides=["stations.a.machines=2"])


# --- extends: confined ---------------------------------------------------------------------------
SECRET = "root:x:0:0:hunter2\nsecret_field: 42\n"


@pytest.fixture
def tree(tmp_path):
    """``outside/secret.yaml`` beside ``project/``, where the deriving configs go."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside/secret.yaml").write_text(SECRET)
    (tmp_path / "project/sub").mkdir(parents=True)
    return tmp_path / "project"


def _extends(tree: Path, base: str) -> ConfigError:
    path = tree / "derived.yaml"
    path.write_text(f"extends: {base}\nname: derived\n")
    with pytest.raises(ConfigError) as info:
        load_line(path)
    e = info.value
    message = str(e)
    assert e.file == str(path) and e.path == "extends" and e.value == base
    assert "hunter2" not in message and "secret_field" not in message
    assert "a YAML config in this config's folder or below it, or a bundled line" in e.allowed
    return e


@pytest.mark.parametrize("base", ["../outside/secret.yaml", "sub/../../outside/secret.yaml"])
def test_extends_cannot_climb_out_of_the_folder(tree, base):
    assert _extends(tree, base).problem == "the base config is outside this config's folder"


def test_extends_cannot_name_an_absolute_path_outside(tree):
    secret = tree.parent / "outside/secret.yaml"
    assert "outside" in _extends(tree, str(secret)).problem
    assert "outside" in _extends(tree, "/etc/passwd").problem


def test_extends_cannot_escape_through_a_symbolic_link(tree):
    (tree / "sub/link.yaml").symlink_to(tree.parent / "outside/secret.yaml")
    assert "outside" in _extends(tree, "sub/link.yaml").problem


@pytest.mark.parametrize(
    "content, problem",
    [
        (SECRET, "the base config cannot be used: a YAML error at line 2, column 13"),
        ("hunter2 is the\npassword\n", "the base config cannot be used: the document is not a"),
        ("secret_field: [hunter2,\n", "the base config cannot be used: a YAML error at line 2,"),
        ("", "the base config cannot be used: the file is empty"),
        ("a: 1\na: 2\n", "the base config cannot be used: a YAML error at line 2, column 1"),
        ("a: &x 1\nb: *hunter2\n", "the base config cannot be used: a YAML error at line 2,"),
    ],
)
def test_a_base_in_the_folder_that_is_no_config_shows_nothing_of_it(tree, content, problem):
    (tree / "sub/notes.txt").write_text(content)
    assert _extends(tree, "sub/notes.txt").problem.startswith(problem)


def test_extends_a_missing_file_or_a_non_path(tree):
    assert _extends(tree, "sub/none.yaml").problem == "the base config does not exist"
    assert _extends(tree, "y" * 5000).problem == "is not a usable path"
    (tree / "list.yaml").write_text("extends: [a.yaml]\n")
    with pytest.raises(ConfigError) as info:
        load_line(tree / "list.yaml")
    assert str(info.value).startswith(
        f"{tree / 'list.yaml'}: extends: must name a config file (got ['a.yaml'])"
    )
    (tree / "nul.yaml").write_text('extends: "a\\0b"\n')
    with pytest.raises(ConfigError) as info:
        load_line(tree / "nul.yaml")
    assert str(info.value).startswith(f"{tree / 'nul.yaml'}: extends: is not a usable path")


def test_extends_a_bundled_line_by_name_from_any_folder(tree):
    (tree / "derived.yaml").write_text("extends: pilot_sulfide_200mwh\nname: derived\n")
    spec = load_line(tree / "derived.yaml")
    assert spec.name == "derived" and spec.stations == load_line(PILOT).stations


def test_extends_below_the_folder_is_allowed(tree):
    (tree / "sub/base.yaml").write_text(PILOT.read_text())
    (tree / "derived.yaml").write_text("extends: sub/base.yaml\nname: derived\n")
    assert load_line(tree / "derived.yaml").name == "derived"


# --- fuzzing: a spec or a ConfigError, quickly ---------------------------------------------------
FUZZ = settings(
    max_examples=150,
    deadline=2000,  # ms per example, loading and validating
    suppress_health_check=[HealthCheck.too_slow],
)


def _spec_or_config_error(text: str) -> None:
    try:
        line_from_text(text, "fuzz.yaml")
    except ConfigError as exc:
        first, *more = str(exc).split("\n")
        assert first.startswith("fuzz.yaml: ") and all(m.startswith("  also: ") for m in more)


@FUZZ
@given(st.text())
def test_any_text_gives_a_spec_or_a_config_error(text):
    _spec_or_config_error(text)


@FUZZ
@given(st.binary())
def test_any_bytes_give_a_spec_or_a_config_error(data):
    _spec_or_config_error(data.decode("utf-8", errors="replace"))


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(PILOT.read_text())),
            st.integers(0, 40),
            st.sampled_from(
                [
                    "",
                    ":",
                    "- ",
                    "\n",
                    "  ",
                    "&a ",
                    "*a",
                    "[",
                    "{",
                    "}",
                    "'",
                    "-1",
                    "1e400",
                    "010",
                    "yes",
                    "1:30",
                    "!!int ",
                    "\t",
                    "\x00",
                    "~",
                    "9" * 5000,
                ]
            ),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_mutated_bundled_configs_give_a_spec_or_a_config_error(edits):
    text = PILOT.read_text()
    for at, cut, insert in edits:
        text = text[:at] + insert + text[at + cut :]
    _spec_or_config_error(text)
