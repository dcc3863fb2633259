"""Loading line configs from YAML: ``extends:``, overrides, and errors a user can act on.

Past this module no code sees a raw dict: :func:`load_line` returns a frozen
:class:`~linesim.spec.LineSpec` or raises :class:`~linesim.errors.ConfigError`.

The YAML is read safely and as YAML 1.2 (``010`` is ten, ``yes`` and ``1:30`` are text), with
size, nesting, aliases and integers bounded and duplicate keys refused (:class:`_Loader`).

Derivation rules for ``extends: base.yaml`` (path relative to the deriving file, and inside its
folder tree; or a bundled line by name, ``extends: pilot_sulfide_200mwh``):

- mappings merge key by key, recursively; any other value replaces the base value;
- ``stations`` given as a **list** replaces the base stations; given as a **mapping**
  ``{station_id: {field: value}}`` it patches the base stations by id (``null`` removes one);
- a patch entry ``insert_after: other_id`` inserts a new station (it must then be complete);
- removing a station also removes the ``cost.materials`` that enter the cell at it.

Overrides (``--set stations.stacking.machines=4``) follow the same addressing: a dotted path
whose station part is an id; the value is parsed as YAML (``4``, ``0.01``, ``true``,
``{a: 1}``).
"""

from __future__ import annotations

import copy
import math
import os
import re
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.nodes import Node

from linesim.bundled import bundled_line, bundled_lines, configs_dir, resolve_config
from linesim.errors import ConfigError, UsageError, from_validation_error
from linesim.spec import LineSpec
from linesim.spec.process import WINDOW_KINDS

__all__ = [
    "load_line",
    "load_raw",
    "parse_override",
    "apply_overrides",
    "line_from_dict",
    "dump_line",
    "drop_materials_entering_at",
    "line_from_text",
    "window_settings_free",
    "editable",
    "max_config_bytes",
    "MAX_CONFIG_MB",
]

_MAX_EXTENDS = 10
#: The largest config read, in MB (10^6 bytes), unless ``LINESIM_MAX_CONFIG_MB`` says otherwise.
MAX_CONFIG_MB = 5.0
_MAX_CONFIG_ENV = "LINESIM_MAX_CONFIG_MB"
_MAX_NESTING = 50
#: Values that YAML aliases (``*name``) may add to a document by repeating the anchored ones:
#: about what a config at the size limit holds written out (PyYAML's dumper writes aliases for
#: shared objects), far below what a "billion laughs" asks (10^9).
_MAX_ALIAS_VALUES = 1_000_000
#: Digits of the longest integer read (a config needs far fewer; Python refuses > 4300).
_MAX_INT_DIGITS = 40

try:
    _Base: type = yaml.CSafeLoader  # libyaml's scanner and parser, in C
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Base = yaml.SafeLoader


_STR = "tag:yaml.org,2002:str"


class _Refused(Exception):
    """YAML text the loader will not read: ``problem`` at ``mark`` (``value`` if one is worth
    showing), ``allowed`` instead."""

    def __init__(self, problem: str, mark: Any, allowed: str, value: Any = None):
        super().__init__(problem)
        self.problem, self.mark, self.allowed, self.value = problem, mark, allowed, value


class _Loader(_Base):
    """Safe YAML loader with the YAML 1.2 core schema and bounded structure.

    Scalars: ``010`` is ten, ``0o10`` eight, ``0x10`` sixteen; ``1:30`` and ``2024-01-01`` are
    text (no sexagesimal numbers or timestamps; the spec reads dates from text); only
    ``true``/``false`` in any case are booleans (not yes/no/on/off); ``2.25e6`` is a number.
    Structure: at most ``_MAX_NESTING`` levels, aliases adding at most ``_MAX_ALIAS_VALUES``
    values and none inside the value it names, each mapping key once.

    The nodes are composed here in Python (libyaml's composer recurses in C without a bound and
    crashes the interpreter on deep nesting); scanning and parsing stay in libyaml.
    """

    def get_single_node(self) -> Node | None:
        """The document's node graph (``None`` for an empty document)."""
        self._anchors: dict[str, tuple[Node, int]] = {}
        self._open: set[str] = set()
        self._aliased = 0
        self.get_event()  # stream start
        node = None
        if not self.check_event(yaml.StreamEndEvent):
            self.get_event()  # document start
            node = self._node(0)[0]
            self.get_event()  # document end
        if not self.check_event(yaml.StreamEndEvent):
            raise _Refused(
                "more than one YAML document", self.get_event().start_mark, "one document"
            )
        return node

    def _node(self, depth: int) -> tuple[Node, int]:
        """The next node and the number of values it stands for (aliases expanded)."""
        event = self.get_event()
        if depth > _MAX_NESTING:
            raise _Refused(
                f"nested more than {_MAX_NESTING} levels deep",
                event.start_mark,
                f"at most {_MAX_NESTING} levels of lists and mappings",
            )
        node: Node
        if isinstance(event, yaml.ScalarEvent):
            node, size = self._scalar(event), 1
        elif isinstance(event, yaml.AliasEvent):
            return self._alias(event)
        elif isinstance(event, yaml.SequenceStartEvent):
            node, size = self._sequence(event, depth)
        else:
            node, size = self._mapping(event, depth)
        if event.anchor is not None:
            self._anchors[event.anchor] = (node, size)
            self._open.discard(event.anchor)
        return node, size

    def _scalar(self, event: Any) -> Node:
        tag = event.tag
        if tag is None or tag == "!":
            # Resolver.resolve without its path resolvers (none here): the hot path of loading
            tag = _STR
            if event.implicit[0]:
                for candidate, pattern in self.yaml_implicit_resolvers.get(event.value[:1], ()):
                    if pattern.match(event.value):
                        tag = candidate
                        break
        return yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)

    def _alias(self, event: Any) -> tuple[Node, int]:
        if event.anchor in self._open:
            raise _Refused(
                f"the alias *{event.anchor} is inside the value it names",
                event.start_mark,
                "aliases of values defined before them",
            )
        if event.anchor not in self._anchors:
            raise _Refused(
                f"the alias *{event.anchor} names no anchor",
                event.start_mark,
                "an alias of an anchor (&name) defined before it",
            )
        node, size = self._anchors[event.anchor]
        self._aliased += size
        if self._aliased > _MAX_ALIAS_VALUES:
            raise _Refused(
                f"aliases repeat more than {_MAX_ALIAS_VALUES:,} values",
                event.start_mark,
                "aliases that add fewer values (write them out instead)",
            )
        return node, size

    def _sequence(self, event: Any, depth: int) -> tuple[Node, int]:
        if event.anchor is not None:
            self._open.add(event.anchor)
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.resolve(yaml.SequenceNode, None, event.implicit)
        node = yaml.SequenceNode(tag, [], event.start_mark, None, flow_style=event.flow_style)
        size = 1
        while not self.check_event(yaml.SequenceEndEvent):
            item, n = self._node(depth + 1)
            node.value.append(item)
            size += n
        node.end_mark = self.get_event().end_mark
        return node, size

    def _mapping(self, event: Any, depth: int) -> tuple[Node, int]:
        if event.anchor is not None:
            self._open.add(event.anchor)
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.resolve(yaml.MappingNode, None, event.implicit)
        node = yaml.MappingNode(tag, [], event.start_mark, None, flow_style=event.flow_style)
        size = 1
        lines: dict[tuple[str, str], int] = {}
        while not self.check_event(yaml.MappingEndEvent):
            key, k = self._node(depth + 1)
            if isinstance(key, yaml.ScalarNode):
                _check_once(key, lines)
            value, v = self._node(depth + 1)
            node.value.append((key, value))
            size += k + v
        node.end_mark = self.get_event().end_mark
        return node, size

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        """A value; one that does not fit its explicit tag (``!!int abc``) is a YAML error."""
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
            raise _Refused(
                f"the value does not fit its tag {node.tag.replace('tag:yaml.org,2002:', '!!')}",
                node.start_mark,
                "a value of the tagged type, or no tag",
            ) from None


def _check_once(key: Node, lines: dict[tuple[str, str], int]) -> None:
    """Record a mapping key's line; refuse the key if its mapping has it already."""
    here, line = (key.tag, key.value), key.start_mark.line + 1
    if here in lines:
        raise _Refused(
            f"a key appears twice in one mapping, at lines {lines[here]} and {line}",
            key.start_mark,
            "each key once in a mapping (YAML would keep only the last)",
            key.value,
        )
    lines[here] = line


def _construct_int(loader: _Loader, node: Node) -> int:
    """A YAML 1.2 integer: decimal (leading zeros allowed), ``0o`` octal or ``0x`` hex."""
    text = loader.construct_scalar(node)
    sign = -1 if text[:1] == "-" else 1
    digits = text.lstrip("+-")
    base = {"0o": 8, "0x": 16}.get(digits[:2].lower(), 10)
    digits = digits[2:] if base != 10 else digits
    if len(digits) > _MAX_INT_DIGITS:
        raise _Refused(
            f"an integer of {len(digits):,} digits",
            node.start_mark,
            f"at most {_MAX_INT_DIGITS} digits (a number in scientific notation, e.g. 1.5e9)",
        )
    return sign * int(digits, base)


_Loader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    ("bool", r"(?i:true|false)", list("tTfF")),
    ("int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", list("-+0123456789")),
    (
        "float",
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        list("-+0123456789."),
    ),
):
    _Loader.add_implicit_resolver(
        f"tag:yaml.org,2002:{_tag}", re.compile(f"^(?:{_pattern})$"), _first
    )
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


class _Dumper(yaml.SafeDumper):
    """Writes as text (quoted) every string that YAML 1.1 or :class:`_Loader` would read as
    another type (``'0o17'``, ``'tRuE'``, ``'yes'``), so that both read a dump back the same."""


for _first, _resolvers in _Loader.yaml_implicit_resolvers.items():
    for _tag, _regexp in _resolvers:
        _Dumper.add_implicit_resolver(_tag, _regexp, [_first])


def _yaml(text: str) -> Any:
    """The value of YAML ``text`` (raises ``yaml.YAMLError`` or :class:`_Refused`)."""
    try:
        loader = _Loader(text)
    except UnicodeEncodeError:  # libyaml reads UTF-8; a lone surrogate has no encoding
        raise _Refused("the text is not valid Unicode", None, "UTF-8 text") from None
    try:
        node = loader.get_single_node()
        return None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()


def load_line(path: str | Path, overrides: Iterable[str] = ()) -> LineSpec:
    """Load, derive, override and validate a line config.

    Parameters
    ----------
    path : str or Path
        YAML file describing the line, or the name of a bundled line
        (``pilot_sulfide_200mwh``; :func:`linesim.bundled.bundled_lines`).
    overrides : iterable of str
        ``dotted.path=value`` assignments applied after ``extends:`` is resolved.

    Raises
    ------
    ConfigError
        For every user mistake, naming the file, field path, value and what is allowed.
    """
    path = resolve_config(path)
    raw = load_raw(path)
    raw = apply_overrides(raw, overrides)
    return line_from_dict(raw, path)


def line_from_dict(raw: Mapping[str, Any], file: str | Path = "<config>") -> LineSpec:
    """Validate an already-merged config mapping (the fields process windows set are filled
    in from their settings first)."""
    data = _with_window_fields(raw)
    try:
        return LineSpec.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc, file, LineSpec, data) from None


def _with_window_fields(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """A copy of ``raw`` in which each station with a valid ``process`` block has the fields
    its window sets (where the config leaves them out; the spec checks the ones it gives)."""
    stations = raw.get("stations") if isinstance(raw, Mapping) else None
    if not isinstance(stations, list) or not any(
        isinstance(s, dict) and isinstance(s.get("process"), dict) for s in stations
    ):
        return raw
    out = dict(raw)
    out["stations"] = []
    for station in stations:
        block = station.get("process") if isinstance(station, dict) else None
        tag = block.get("model") if isinstance(block, dict) else None
        model = WINDOW_KINDS.get(tag) if isinstance(tag, str) else None
        if model is not None:
            try:
                window = model.model_validate(block)
            except ValidationError:
                window = None  # reported with its full path by the spec's validation
            if window is not None:
                station = {**window.derive(station), **station}
        out["stations"].append(station)
    return out


def editable(spec: LineSpec) -> dict[str, Any]:
    """A spec as a config mapping to edit and validate again: defaults left out, and the fields
    process windows set left to their settings (:func:`window_settings_free`)."""
    return window_settings_free(spec.model_dump(mode="json", exclude_defaults=True))


def window_settings_free(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (a dumped spec) without the fields process windows set, so that a setting
    changed afterwards is not contradicted by the old values."""
    for station in data.get("stations", []):
        block = station.get("process")
        if isinstance(block, dict) and block.get("model") in WINDOW_KINDS:
            for field in WINDOW_KINDS[block["model"]].DERIVES:
                station.pop(field, None)
    return data


def dump_line(spec: LineSpec) -> str:
    """YAML text of a spec that loads back to an equal spec (defaults left out, and the fields
    process windows set left to their settings)."""
    return yaml.dump(editable(spec), Dumper=_Dumper, sort_keys=False, allow_unicode=True)


def line_from_text(text: str, file: str = "<upload>", overrides: Iterable[str] = ()) -> LineSpec:
    """Validate a config given as YAML text (an upload, an edited copy), with ``--set``-style
    overrides; ``extends:`` needs a file and is refused here."""
    raw = _parse_yaml(text, file)
    if "extends" in raw:
        raise ConfigError(
            file,
            "extends",
            "a config given as text cannot extend a file",
            raw["extends"],
            "a self-contained config (load it from its folder)",
        )
    return line_from_dict(apply_overrides(raw, overrides), file)


def max_config_bytes() -> int:
    """The largest config text read, in bytes: ``LINESIM_MAX_CONFIG_MB`` megabytes, or
    :data:`MAX_CONFIG_MB` when it is not set."""
    text = os.environ.get(_MAX_CONFIG_ENV, "").strip()
    if not text:
        return int(MAX_CONFIG_MB * 1e6)
    try:
        mb = float(text)
    except ValueError:
        mb = math.nan
    if not 0 < mb < 1e6:
        raise UsageError(
            f"{_MAX_CONFIG_ENV}: {text[:40]!r} is not a size in MB; allowed: a number of "
            "megabytes > 0 and < 1000000"
        )
    return int(mb * 1e6)


def _check_size(size_bytes: int, path: str | Path) -> None:
    limit = max_config_bytes()
    if size_bytes > limit:
        raise ConfigError(
            path,
            "",
            f"the config is {size_bytes / 1e6:.1f} MB, larger than the limit of {limit / 1e6:g} MB",
            None,
            f"a smaller file (or raise the limit with {_MAX_CONFIG_ENV}=<MB>)",
        )


def _read_yaml(path: Path) -> dict[str, Any]:
    """The mapping in the config file ``path``, read only if it is a regular file within the
    size limit."""
    limit = max_config_bytes()
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise ConfigError(path, "", "is a directory, not a file", None, "a YAML file")
        if not stat.S_ISREG(mode):
            raise ConfigError(
                path, "", "is not a regular file (a device, pipe or socket)", None, "a YAML file"
            )
        with path.open("rb") as stream:
            _check_size(os.fstat(stream.fileno()).st_size, path)
            # a file that grew since is read only one byte past the limit (_parse_yaml refuses it)
            text = stream.read(limit + 1).decode("utf-8")
    except ConfigError:
        raise
    except FileNotFoundError:
        raise ConfigError(
            path,
            "",
            "file not found",
            None,
            "the path of an existing YAML file, or a bundled line: " + ", ".join(bundled_lines()),
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            path, "", f"not UTF-8 text ({exc.reason})", None, "a UTF-8 YAML file"
        ) from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(path, "", f"cannot be read ({reason})", None, "a readable file") from None
    return _parse_yaml(text, path)


def _parse_yaml(text: str, path: str | Path) -> dict[str, Any]:
    _check_size(len(text.encode("utf-8", "surrogatepass")), path)
    try:
        data = _yaml(text)
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, text, path) from None
    except _Refused as exc:
        raise ConfigError(path, _where(exc.mark), exc.problem, exc.value, exc.allowed) from None
    if data is None:
        raise ConfigError(
            path,
            "",
            "the file is empty",
            None,
            "a mapping with at least name, product and stations",
        )
    if not isinstance(data, dict):
        raise ConfigError(
            path,
            "",
            "the document is not a mapping",
            type(data).__name__,
            "a mapping with at least name, product and stations",
        )
    return data


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def _syntax_error(exc: yaml.YAMLError, text: str, path: str | Path) -> ConfigError:
    """A YAML error as a :class:`ConfigError` located by line and column."""
    if isinstance(exc, yaml.reader.ReaderError) and isinstance(exc.character, int):
        at = text.find(chr(exc.character))
        line = text.count("\n", 0, at) + 1
        column = at - text.rfind("\n", 0, at)
        return ConfigError(
            path,
            f"line {line}, column {column}" if at >= 0 else "",
            f"YAML syntax error: the control character U+{exc.character:04X} is not allowed",
            None,
            "printable text (tabs and line breaks are fine)",
        )
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
    return ConfigError(
        path,
        _where(mark),
        f"YAML syntax error: {problem}",
        None,
        "valid YAML (check indentation, colons and quotes)",
    )


def load_raw(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a config and resolve its ``extends:`` chain into one mapping (not yet validated).

    A base is a file inside the deriving config's own folder tree (after symbolic links are
    followed) or a bundled line, by name or path; nothing of a base that cannot be read as a
    config mapping is shown, only the deriving file, ``extends`` and its value.
    """
    path = Path(path)
    return _derive(path, _read_yaml(path), _seen)


def _derive(path: Path, data: dict[str, Any], seen: tuple[Path, ...]) -> dict[str, Any]:
    base_name = data.pop("extends", None)
    if base_name is None:
        return data
    base_path = _base_path(path, base_name)
    if base_path in seen or base_path == path.resolve():
        raise ConfigError(
            path,
            "extends",
            "configs extend each other in a cycle",
            base_name,
            "a chain of extends that ends in a config without extends",
        )
    if len(seen) >= _MAX_EXTENDS:
        raise ConfigError(
            path,
            "extends",
            f"more than {_MAX_EXTENDS} levels of extends",
            base_name,
            f"at most {_MAX_EXTENDS} levels",
        )
    try:
        base_data = _read_yaml(base_path)
    except ConfigError as exc:
        # where the YAML fails, never what it says (the base may be no config at all)
        reason = f"a YAML error at {exc.path}" if exc.path else exc.problem
        raise ConfigError(
            path, "extends", f"the base config cannot be used: {reason}", base_name, _bases()
        ) from None
    base = _derive(base_path, base_data, seen + (path.resolve(),))
    return _merge(base, data, path, "")


def _bases() -> str:
    """What ``extends:`` may name."""
    lines = ", ".join(bundled_lines())
    return f"a YAML config in this config's folder or below it, or a bundled line: {lines}"


def _base_path(path: Path, base_name: Any) -> Path:
    """The file ``extends: base_name`` in ``path`` names, confined to ``path``'s folder tree
    and the bundled configs (raises :class:`ConfigError` otherwise)."""
    if not isinstance(base_name, str) or not base_name.strip():
        raise ConfigError(path, "extends", "must name a config file", base_name, _bases())
    try:
        folder = path.parent.resolve()
        base = (path.parent / base_name).resolve()
        found = base.is_file()
    except (OSError, RuntimeError, ValueError):  # a link loop, a NUL byte, a name too long
        raise ConfigError(path, "extends", "is not a usable path", base_name, _bases()) from None
    if not (base.is_relative_to(folder) or base.is_relative_to(configs_dir().resolve())):
        # the same words whether or not such a file exists
        raise ConfigError(
            path, "extends", "the base config is outside this config's folder", base_name, _bases()
        )
    if found:
        return base
    by_name = bundled_line(base_name)
    if by_name is not None:
        return by_name
    raise ConfigError(path, "extends", "the base config does not exist", base_name, _bases())


def _merge(
    base: dict[str, Any], patch: Mapping[str, Any], file: Path, prefix: str
) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in patch.items():
        here = f"{prefix}.{key}" if prefix else str(key)
        if key == "stations" and not prefix and isinstance(value, dict):
            out["stations"] = _patch_stations(out.get("stations"), value, file)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value, file, here)
        else:
            out[key] = copy.deepcopy(value)
    if not prefix and isinstance(patch.get("stations"), dict):
        removed = {sid for sid, p in patch["stations"].items() if p is None}
        drop_materials_entering_at(out, removed)
    return out


def drop_materials_entering_at(raw: dict[str, Any], removed: set[str]) -> None:
    """A removed station takes the materials that enter the cell there with it."""
    cost = raw.get("cost")
    if removed and isinstance(cost, dict) and isinstance(cost.get("materials"), list):
        cost["materials"] = [
            m
            for m in cost["materials"]
            if not (isinstance(m, dict) and m.get("enters_at") in removed)
        ]


def _patch_stations(stations: Any, patches: Mapping[str, Any], file: Path) -> list[Any]:
    if not isinstance(stations, list):
        raise ConfigError(
            file,
            "stations",
            "patches by id need a base config with a station list",
            None,
            "a list of stations, or extends: a config that has one",
        )
    out = copy.deepcopy(stations)
    for sid, patch in patches.items():
        ids = [s.get("id") if isinstance(s, dict) else None for s in out]
        if patch is None:
            if sid not in ids:
                raise ConfigError(
                    file,
                    f"stations.{sid}",
                    "unknown station id",
                    sid,
                    "one of " + ", ".join(map(str, ids)),
                )
            del out[ids.index(sid)]
            continue
        if not isinstance(patch, dict):
            raise ConfigError(
                file,
                f"stations.{sid}",
                "a station patch must be a mapping",
                patch,
                "a mapping of fields to change, or null to remove the station",
            )
        patch = dict(patch)
        after = patch.pop("insert_after", None)
        if after is not None:
            if after not in ids and after != "":
                raise ConfigError(
                    file,
                    f"stations.{sid}.insert_after",
                    "unknown station id",
                    after,
                    "one of " + ", ".join(map(str, ids)) + ", or '' for the front",
                )
            new = {"id": sid, **patch}
            out.insert(0 if after == "" else ids.index(after) + 1, new)
            continue
        if sid not in ids:
            raise ConfigError(
                file,
                f"stations.{sid}",
                "unknown station id",
                sid,
                "one of "
                + ", ".join(map(str, ids))
                + " (or add insert_after: to add a new station)",
            )
        k = ids.index(sid)
        out[k] = _merge(out[k], patch, file, f"stations.{sid}")
    return out


def parse_override(text: str) -> tuple[list[str], Any]:
    """``stations.stacking.machines=4`` → (['stations', 'stacking', 'machines'], 4)."""
    path, sep, value = text.partition("=")
    if not sep or not path.strip():
        raise ConfigError(
            "<overrides>",
            text,
            "an override must look like path=value",
            text,
            "e.g. stations.stacking.machines=4",
        )
    try:
        parsed = _yaml(value) if value.strip() else None
    except yaml.YAMLError:
        parsed = value  # not YAML: the text itself
    except _Refused as exc:
        raise ConfigError(
            "<overrides>", path.strip(), exc.problem, exc.value, exc.allowed
        ) from None
    return [p for p in path.strip().split(".")], parsed


def apply_overrides(raw: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply ``--set`` overrides to a merged config mapping (returns a new mapping)."""
    out = copy.deepcopy(raw)
    for text in overrides:
        keys, value = parse_override(text)
        if keys[0] == "stations" and len(keys) >= 2:
            stations = out.get("stations")
            if not isinstance(stations, list):
                stations = []
            ids = [s.get("id") if isinstance(s, dict) else None for s in stations]
            if keys[1] not in ids:
                raise ConfigError(
                    "<overrides>",
                    ".".join(keys[:2]),
                    "unknown station id",
                    keys[1],
                    "one of " + ", ".join(map(str, ids)),
                )
            target: Any = stations[ids.index(keys[1])]
            rest = keys[2:]
            if not rest:
                raise ConfigError(
                    "<overrides>",
                    text,
                    "name a field of the station",
                    text,
                    f"e.g. stations.{keys[1]}.machines=2",
                )
        else:
            target, rest = out, keys
        for depth, key in enumerate(rest[:-1]):
            nxt = target.get(key) if isinstance(target, dict) else None
            if nxt is None:
                nxt = {}
                target[key] = nxt
            if not isinstance(nxt, dict):
                raise ConfigError(
                    "<overrides>",
                    ".".join(keys[: len(keys) - len(rest) + depth + 1]),
                    "is not a mapping, cannot set a field inside it",
                    nxt,
                    "a path to a field",
                )
            target = nxt
        target[rest[-1]] = value
    return out
