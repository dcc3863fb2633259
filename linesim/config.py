"""Loading line configs from YAML: ``extends:``, overrides, and errors a user can act on.

Past this module no code sees a raw dict: :func:`load_line` returns a frozen
:class:`~linesim.spec.LineSpec` or raises :class:`~linesim.errors.ConfigError`.

The YAML is read safely and as YAML 1.2 (``010`` is ten, ``yes`` and ``1:30`` are text), with
size, nesting, aliases and integers bounded and duplicate keys refused (:mod:`linesim.yaml_io`).

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
import dataclasses
import math
import weakref
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from linesim.bundled import bundled_line, bundled_lines, configs_dir, resolve_config
from linesim.errors import ConfigError, from_validation_error
from linesim.spec import LineSpec
from linesim.spec.process import WINDOW_KINDS
from linesim.spec.uncertain import (
    UncertainError,
    UncertainInput,
    field_bounds,
    is_uncertain,
    parse_uncertain,
)
from linesim.yaml_io import Dumper, Refused, parse_mapping, parse_value, read_mapping

__all__ = [
    "load_line",
    "load_raw",
    "parse_override",
    "apply_overrides",
    "line_from_dict",
    "dump_line",
    "carry_ranges",
    "ranges_of",
    "drop_materials_entering_at",
    "line_from_text",
    "window_settings_free",
    "editable",
    "uncertain_inputs",
    "with_values",
    "line_with_values",
]

_MAX_EXTENDS = 10


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
    overrides = tuple(overrides)
    raw = apply_overrides(raw, overrides)
    try:
        return line_from_dict(raw, path)
    except ConfigError as exc:  # a mistake an override made: name the override too
        given = _override_at(exc.path, overrides)
        if given is None:
            raise
        # (the field path and the value the message shows say which: the override itself
        # may be long)
        raise ConfigError(
            path, exc.path, f"{exc.problem} (set by --set)", exc.value, exc.allowed, exc.more
        ) from None


def _override_at(field: str, overrides: Sequence[str]) -> str | None:
    """The last of ``overrides`` that set ``field`` or a field inside it, else None."""
    for text in reversed(overrides):
        try:
            keys = ".".join(map(str, parse_override(text)[0]))
        except ConfigError:
            continue
        if field == keys or field.startswith((keys + ".", keys + "[")):
            return text
    return None


def line_from_dict(raw: Mapping[str, Any], file: str | Path = "<config>") -> LineSpec:
    """Validate an already-merged config mapping (the fields process windows set are filled
    in from their settings first). Fields given as distributions (:mod:`linesim.spec.uncertain`)
    take their nominal value, after the line is checked at both ends of every support."""
    inputs = uncertain_inputs(raw, file)
    if not inputs:
        return _validated(raw, file)
    spec = _validated(with_values(raw, inputs, [i.dist.nominal for i in inputs]), file)
    _check_supports(raw, inputs, file)
    _keep_ranges(spec, [(i.keys, _node(raw, i.keys), i.dist.nominal) for i in inputs])
    return spec


# --- the distributions a spec was loaded with ------------------------------------------------
# A LineSpec holds nominal values only (every command but `linesim uncertainty` sees those), so
# the distributions it was loaded with are kept beside it, by identity, for dump_line to write
# back: a load → dump → load round trip (the UI's working copy is YAML text) keeps every range.
# Not a field or private attribute of the spec: two lines with equal values are equal whatever
# ranges they came with.
_RANGES: dict[int, tuple[tuple[tuple[str | int, ...], Any, float], ...]] = {}


def _node(raw: Mapping[str, Any], keys: Sequence[str | int]) -> Any:
    node: Any = raw
    for key in keys:
        node = node[key]
    return copy.deepcopy(node)


def _keep_ranges(spec: LineSpec, ranges: Sequence[tuple[tuple[str | int, ...], Any, float]]):
    if ranges:
        _RANGES[id(spec)] = tuple(ranges)
        weakref.finalize(spec, _RANGES.pop, id(spec), None)


def ranges_of(spec: LineSpec) -> tuple[tuple[tuple[str | int, ...], Any, float], ...]:
    """The distributions ``spec`` was loaded with: (key path, distribution mapping, nominal
    value) per uncertain field (empty for a line built without any)."""
    return _RANGES.get(id(spec), ())


def carry_ranges(source: LineSpec, target: LineSpec) -> LineSpec:
    """``target`` (an edited copy of ``source``) with the distributions of ``source`` whose
    fields ``target`` still holds at their nominal value: an edit keeps every range it does
    not touch (a field set to another number is certain from then on). A station's and a
    material's fields follow it by its id or name where ``target`` has moved it (a station
    removed or inserted before it), and go with it where ``target`` has none."""
    data = editable(target)
    source_data = editable(source)
    kept = []
    for keys, node, nominal in ranges_of(source):
        moved = _follow(keys, source_data, data)
        if moved is not None and _holds(data, moved, nominal):
            kept.append((moved, node, nominal))
    _keep_ranges(target, kept)
    return target


#: Lists whose entries are named, and the field that names them.
_NAMED = {("stations",): "id", ("cost", "materials"): "name"}


def _follow(keys: tuple[str | int, ...], was: Any, now: Any) -> tuple[str | int, ...] | None:
    """``keys`` (a field of the dump ``was``) as the dump ``now`` places that field: the index
    of a station or a material by its id or name (None when ``now`` has no such entry)."""
    for head, name in _NAMED.items():
        n = len(head)
        if keys[:n] != head or len(keys) <= n or not isinstance(keys[n], int):
            continue
        try:
            entries_was, entries_now = was, now
            for key in head:
                entries_was, entries_now = entries_was[key], entries_now[key]
            ident = entries_was[keys[n]][name]
        except (KeyError, IndexError, TypeError):
            return None
        at = [k for k, e in enumerate(entries_now) if isinstance(e, dict) and e.get(name) == ident]
        return (*head, at[0], *keys[n + 1 :]) if at else None
    return keys


def _holds(data: Any, keys: Sequence[str | int], nominal: float) -> bool:
    """Whether the dumped spec ``data`` has ``nominal`` at ``keys`` (a field left out of the
    dump is at its default: it holds if that default is ``nominal``)."""
    node = data
    for key in keys[:-1]:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return False
    if not isinstance(node, (dict, list)):
        return False
    if isinstance(node, dict) and keys[-1] not in node:
        return _is_default(data, keys, nominal)
    try:
        value = node[keys[-1]]  # type: ignore[index]
    except (IndexError, TypeError):
        return False
    return isinstance(value, (int, float)) and math.isclose(value, nominal, rel_tol=1e-12)


def _is_default(data: dict[str, Any], keys: Sequence[str | int], nominal: float) -> bool:
    """Whether ``nominal`` is the default of the field at ``keys``, which the dump ``data``
    leaves out: set there, the validated line's dump leaves it out again."""
    trial = copy.deepcopy(data)
    holder: Any = trial
    for key in keys[:-1]:
        holder = holder[key]
    holder[keys[-1]] = nominal
    try:
        again: Any = editable(line_from_dict(trial))
        for key in keys[:-1]:
            again = again[key]
    except (ConfigError, KeyError, IndexError, TypeError):
        return False
    return isinstance(again, dict) and keys[-1] not in again


def _with_ranges(spec: LineSpec, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (``editable(spec)``) with each of the spec's distributions written back where
    the field still holds its nominal value."""
    for keys, node, nominal in ranges_of(spec):
        if not _holds(data, keys, nominal):
            continue
        holder: Any = data
        for key in keys[:-1]:
            holder = holder[key]
        holder[keys[-1]] = copy.deepcopy(node)
    return data


def uncertain_inputs(raw: Mapping[str, Any], file: str | Path = "<config>") -> list[UncertainInput]:
    """The fields of a merged config mapping given as distributions, in document order.

    Raises
    ------
    ConfigError
        For a distribution mapping that is not valid, naming the field and the parameter.
    """
    found: list[tuple[tuple[str | int, ...], Mapping[str, Any]]] = []
    _find_uncertain(raw, (), found)
    out = []
    for keys, node in found:
        name = _display(keys, raw)
        try:
            dist = parse_uncertain(node)
        except UncertainError as exc:
            raise ConfigError(
                file, f"{name}.{exc.key}", exc.problem, exc.value, exc.allowed
            ) from None
        bounds = field_bounds(LineSpec, keys, raw)
        dist = dataclasses.replace(dist, integer=bounds.integer)
        out.append(UncertainInput(keys, name, dist, bounds))
    return out


def with_values(
    raw: Mapping[str, Any], inputs: Sequence[UncertainInput], values: Sequence[float]
) -> dict[str, Any]:
    """A copy of ``raw`` with each input's field set to its value (a whole number where the
    field takes one); fields not among ``inputs`` are left as they are (and shared with
    ``raw``: neither is changed)."""
    out = dict(raw)
    copied = {id(out)}  # containers on the inputs' paths are copied, the rest shared
    for item, x in zip(inputs, values, strict=True):
        node: Any = out
        for key in item.keys[:-1]:
            child = node[key]
            if id(child) not in copied:
                child = dict(child) if isinstance(child, Mapping) else list(child)
                node[key] = child
                copied.add(id(child))
            node = child
        node[item.keys[-1]] = int(round(x)) if item.dist.integer else float(x)
    return out


def line_with_values(
    raw: Mapping[str, Any],
    inputs: Sequence[UncertainInput],
    values: Sequence[float],
    file: str | Path = "<config>",
) -> LineSpec:
    """The line ``raw`` describes with every uncertain input at its value (one sample of an
    uncertainty study), validated; ``inputs`` must be all of :func:`uncertain_inputs`."""
    return _validated(with_values(raw, inputs, values), file)


def _find_uncertain(
    node: Any, keys: tuple[str | int, ...], found: list[tuple[tuple[str | int, ...], Any]]
) -> None:
    if is_uncertain(node):
        found.append((keys, node))
    elif isinstance(node, Mapping):
        for key, value in node.items():
            _find_uncertain(value, keys + (key,), found)
    elif isinstance(node, list):
        for k, value in enumerate(node):
            _find_uncertain(value, keys + (k,), found)


def _display(keys: Sequence[str | int], raw: Any) -> str:
    """``('stations', 3, 'options', 0, 'mtbf_h')`` → ``stations.stacking.options.fast.mtbf_h``
    (by index where an item has no name)."""
    out, node = "", raw
    for key in keys:
        item = node.get(key) if isinstance(node, Mapping) else None
        if isinstance(node, list) and isinstance(key, int):
            item = node[key]
        name = None
        if isinstance(key, int) and isinstance(item, Mapping):
            name = item.get("id", item.get("name"))
        if isinstance(key, int):
            out += f".{name}" if isinstance(name, str) and name else f"[{key}]"
        else:
            out += ("." if out else "") + str(key)
        node = item
    return out


def _check_supports(raw: Mapping[str, Any], inputs: Sequence[UncertainInput], file) -> None:
    """Every value a distribution can take must be one its field accepts: each support within
    the field's bounds, and the line valid with every input at the low, and at the high, end
    of its support (one input at a time where the joint end fails, to name it)."""
    ends = [item.support for item in inputs]
    for item, (lo, hi) in zip(inputs, ends):
        if not (item.bounds.admits(lo) and item.bounds.admits(hi)):
            raise ConfigError(
                file,
                item.name,
                f"the {item.dist.dist} distribution reaches {lo:.6g} to {hi:.6g}, outside "
                "what the field accepts",
                item.dist.to_dict(),
                f"a distribution whose values are all {item.bounds.describe()}",
            )
    nominal = [item.dist.nominal for item in inputs]
    for side in (0, 1):
        try:
            _validated(with_values(raw, inputs, [e[side] for e in ends]), file)
            continue
        except ConfigError:
            pass
        for k, item in enumerate(inputs):
            values = list(nominal)
            values[k] = ends[k][side]
            try:
                _validated(with_values(raw, inputs, values), file)
            except ConfigError as exc:
                raise ConfigError(
                    file,
                    item.name,
                    f"at the {('low', 'high')[side]} end of its {item.dist.dist} distribution "
                    f"({values[k]:.6g}) the line is not valid: {exc.path}: {exc.problem}",
                    item.dist.to_dict(),
                    exc.allowed,
                ) from None
        raise ConfigError(
            file,
            ", ".join(item.name for item in inputs),
            f"with every uncertain input at the {('low', 'high')[side]} end of its "
            "distribution the line is not valid",
            None,
            "distributions whose ends make a valid line together",
        )


def _validated(raw: Mapping[str, Any], file: str | Path) -> LineSpec:
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
    process windows set left to their settings), with the distributions it was loaded with
    (:func:`ranges_of`) where their fields still hold the nominal value."""
    data = _with_ranges(spec, editable(spec))
    return yaml.dump(data, Dumper=Dumper, sort_keys=False, allow_unicode=True)


def line_from_text(text: str, file: str = "<upload>", overrides: Iterable[str] = ()) -> LineSpec:
    """Validate a config given as YAML text (an upload, an edited copy), with ``--set``-style
    overrides; ``extends:`` needs a file and is refused here."""
    raw = parse_mapping(text, file)
    if "extends" in raw:
        raise ConfigError(
            file,
            "extends",
            "a config given as text cannot extend a file",
            raw["extends"],
            "a self-contained config (load it from its folder)",
        )
    return line_from_dict(apply_overrides(raw, overrides), file)


def load_raw(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a config and resolve its ``extends:`` chain into one mapping (not yet validated).

    A base is a file inside the deriving config's own folder tree (after symbolic links are
    followed) or a bundled line, by name or path; nothing of a base that cannot be read as a
    config mapping is shown, only the deriving file, ``extends`` and its value.
    """
    path = Path(path)
    return _derive(path, read_mapping(path), _seen)


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
        base_data = read_mapping(base_path)
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
            # a distribution replaces a base's whole (no mix of two distributions' parameters);
            # a mapping without ``dist`` patches the base's parameters (``high: 0.05``)
            whole = is_uncertain(value)
            out[key] = copy.deepcopy(value) if whole else _merge(out[key], value, file, here)
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
                # the way to add a station first: a long list of ids is cut at the end
                "a new station with insert_after:, or one of " + ", ".join(map(str, ids)),
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
        parsed = parse_value(value) if value.strip() else None
    except yaml.YAMLError:
        parsed = value  # not YAML: the text itself
    except Refused as exc:
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
            if isinstance(target, list):  # a list entry by its name (or id), or its index
                where = ".".join(keys[: len(keys) - len(rest) + depth])
                target = _list_entry(target, key, where)
                if not isinstance(target, (dict, list)):
                    raise ConfigError(
                        "<overrides>",
                        f"{where}.{key}",
                        "is not a mapping, cannot set a field inside it",
                        target,
                        "a path to a field",
                    )
                continue
            nxt = target.get(key) if isinstance(target, dict) else None
            if nxt is None:
                nxt = {}
                target[key] = nxt
            if not isinstance(nxt, (dict, list)):
                raise ConfigError(
                    "<overrides>",
                    ".".join(keys[: len(keys) - len(rest) + depth + 1]),
                    "is not a mapping, cannot set a field inside it",
                    nxt,
                    "a path to a field",
                )
            target = nxt
        if isinstance(target, list):
            raise ConfigError(
                "<overrides>",
                text,
                "name a field of a list entry",
                text,
                f"e.g. {'.'.join(keys)}.<field>=value",
            )
        target[rest[-1]] = value
    return out


def _list_entry(items: list, key: str, where: str) -> Any:
    """The entry of a list of mappings named ``key`` (its ``name`` or ``id``), or at index
    ``key``: ``cost.materials.NMC811 cathode active material.price_per_unit=150``."""
    names = [i.get("name", i.get("id")) if isinstance(i, dict) else None for i in items]
    if key in names:
        return items[names.index(key)]
    if key.isdigit() and int(key) < len(items):
        return items[int(key)]
    raise ConfigError(
        "<overrides>",
        f"{where}.{key}",
        "no entry of that name or index",
        key,
        ("one of " + ", ".join(map(str, names)) + f", or an index 0-{len(items) - 1}")
        if items
        else "nothing: the list is empty",
    )
