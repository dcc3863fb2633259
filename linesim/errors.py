"""User-facing errors: one type, one message naming the file, the field path, the value and
what is allowed."""

from __future__ import annotations

import difflib
import re
import reprlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from linesim.spec.process import WINDOW_KINDS

__all__ = ["ConfigError", "UsageError", "from_validation_error", "format_path", "one_line"]


#: Characters of a message after its file name: a terminal line or two.
_LINE = 270
#: Validation errors a message shows (the first, and the rest as "also" lines).
_SHOWN = 6


class ConfigError(ValueError):
    """A mistake in a line config or in an override of one.

    Attributes
    ----------
    file : str
        The file the mistake is in (or ``<overrides>``).
    path : str
        The field path, e.g. ``stations.stacking.mttr_h`` (a station by its id, as ``--set``
        addresses it; by its index, ``stations[3]``, where it has no valid id), or a line and
        column for a YAML error; empty for the whole document.
    value : object
        The offending value (``None`` where a value is missing).
    allowed : str
        What would be accepted.
    """

    def __init__(
        self,
        file: str | Path,
        path: str,
        problem: str,
        value: Any = None,
        allowed: str = "",
        more: Sequence[str] = (),
    ):
        self.file, self.path, self.problem = str(file), path, problem
        self.value, self.allowed, self.more = value, allowed, tuple(more)
        super().__init__(self._message())

    def _message(self) -> str:
        """One line (plus one per ``more``) whatever the config holds: each part cut short,
        control characters escaped, and ``allowed`` cut to what fits :data:`_LINE`."""
        head = f": {one_line(self.path, 100)}" if self.path else ""
        head += f": {one_line(self.problem, 160)}"
        if self.value is not None:
            head += f" (got {_show(self.value)})"
        if self.allowed:
            room = max(_LINE - len(head) - len("; allowed: "), 40)
            head += f"; allowed: {one_line(self.allowed, room)}"
        text = one_line(self.file, 200) + head
        if self.more:
            text += "\n" + "\n".join(f"  also: {one_line(line, _LINE)}" for line in self.more)
        return text


class UsageError(ValueError):
    """A bad argument that is not part of a config: a function's parameter (the message names
    the parameter, e.g. ``target_gwh_per_year``) or a command-line flag (the CLI names the flag,
    mapping parameter names to flags); the CLI exits with code 2."""


class _ShortRepr(reprlib.Repr):
    """``repr`` that shortens before it formats: a few items of a container, the start of a
    text, and no digits of a huge integer (Python cannot print one over 4,300 digits)."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxstring, self.maxother, self.maxlong = 2, 60, 60, 40
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = self.maxfrozenset = 4

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 200:
            return f"an integer of about {int(x.bit_length() * 0.30103) + 1:,} digits"
        return super().repr_int(x, level)

    def repr_bytes(self, x: bytes, level: int) -> str:
        text = repr(x[: self.maxstring])
        return text if len(x) <= self.maxstring else text + "..."


_REPR = _ShortRepr()


def _show(value: Any) -> str:
    """A value as one short line, however large or odd it is (at most ~80 characters)."""
    return one_line(_REPR.repr(value), 80)


def one_line(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, on one line, for a terminal or a log: control and
    other unprintable characters escaped (``\\n``, ``\\x1b``), so that what a config holds
    cannot span or rewrite lines (each escape takes up to 10 characters)."""
    text = str(text)
    short = text[:limit]
    if not short.isprintable():
        short = "".join(c if c.isprintable() else repr(c)[1:-1] for c in short)
    return short if len(text) <= limit else short + "..."


def format_path(loc: Sequence[str | int]) -> str:
    """``('stations', 3, 'mttr_h')`` → ``stations[3].mttr_h``; ``('stations', 'stacking',
    'mttr_h')`` → ``stations.stacking.mttr_h``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


_BOUNDS = {
    "greater_than": "a number > {gt}",
    "greater_than_equal": "a number ≥ {ge}",
    "less_than": "a number < {lt}",
    "less_than_equal": "a number ≤ {le}",
    "string_pattern_mismatch": "lowercase snake case (a–z, 0–9, _; starting with a letter)",
    "string_too_short": "a non-empty text",
    "string_too_long": "at most {max_length} characters",
    "too_short": "at least {min_length} entries",
    "literal_error": "one of {expected}",
    "finite_number": "a finite number",
    "missing": "a value is required",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "a text",
    "tuple_type": "a list",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping of fields",
    "model_attributes_type": "a mapping of fields",
    "date_type": "a date, YYYY-MM-DD",
    "date_parsing": "a date, YYYY-MM-DD",
    "date_from_datetime_parsing": "a date, YYYY-MM-DD",
    "date_from_datetime_inexact": "a date, YYYY-MM-DD",
}


def _allowed(err: ErrorDetails, model: type[BaseModel] | None, loc: Sequence[str | int]) -> str:
    ctx = err.get("ctx") or {}
    if "allowed" in ctx:
        return str(ctx["allowed"])
    if err["type"] == "extra_forbidden" and model is not None:
        fields = _fields_at(model, loc[:-1])
        if fields:
            # the closest names first: the list is cut to fit the message line
            close = difflib.get_close_matches(str(loc[-1]), fields, n=3, cutoff=0.6)
            rest = ", ".join(f for f in fields if f not in close)
            if not close:
                return f"the fields {rest}"
            return f"{' or '.join(close)} (closest), or one of the fields {rest}"
    template = _BOUNDS.get(err["type"])
    if template is None:
        return ""
    try:
        return template.format(**ctx)
    except (KeyError, IndexError):
        return template


def _fields_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """Field names of the (sub)model found by walking ``loc`` from ``model``."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = _model_in(field.annotation)
        if current is None:
            return []
    return list(getattr(current, "model_fields", {}))


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    origin = getattr(annotation, "__origin__", None)
    if origin is not None and origin is not annotation:
        return _model_in(origin)
    return None


def from_validation_error(
    exc: ValidationError,
    file: str | Path,
    model: type[BaseModel] | None = None,
    raw: Mapping[str, Any] | None = None,
) -> ConfigError:
    """Turn pydantic's errors into one :class:`ConfigError` (first error, the rest as 'also').

    With ``raw``, the mapping that was validated, stations (and their equipment options) are
    named in field paths by their ids (names), as ``--set`` addresses them:
    ``stations.stacking.options.fast.mttr_h`` rather than ``stations[7].options[1].mttr_h``.
    """
    items = []
    errors = exc.errors(include_url=False)
    # a list whose failing entry was dropped also reports "too short": that is noise
    errors = [
        e
        for e in errors
        if not (
            e["type"] == "too_short"
            and any(
                o is not e and tuple(o["loc"][: len(e["loc"])]) == tuple(e["loc"]) for o in errors
            )
        )
    ]
    errors = _one_union_branch(errors)
    for err in errors[:_SHOWN]:  # the rest are only counted
        loc = list(err["loc"])
        # an unknown field's name is the config's own text, never a union tag however it looks
        key = [loc.pop()] if err["type"] == "extra_forbidden" and loc else []
        loc, window = _untagged(_without_union_tags(loc))
        loc += key
        ctx = err.get("ctx") or {}
        if "field" in ctx:
            loc += [p for p in _split(ctx["field"])]
        path = format_path(_by_name(loc, raw))
        problem = ctx.get("message") or err["msg"]
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            path = format_path(_by_name(loc + ["model"], raw))
            problem = "unknown model" if ctx.get("tag") else "the model is missing"
            allowed = "one of " + ", ".join(WINDOW_KINDS)
            items.append((path, problem, ctx.get("tag"), allowed))
            continue
        if err["type"] == "extra_forbidden":
            problem = "unknown field"
            value = loc[-1] if loc else None
        elif err["type"] == "missing":
            problem = "required field is missing"
            value = None
        else:
            value = ctx.get("value", err.get("input"))
        allowed = _allowed(err, window or model, loc[loc.index("process") + 1 :] if window else loc)
        items.append((path, problem, value, allowed))
    path, problem, value, allowed = items[0]
    more = [f"{p}: {m}" + (f"; allowed: {a}" if a else "") for p, m, _, a in items[1:]]
    if len(errors) > _SHOWN:
        more.append(f"... and {len(errors) - _SHOWN} more")
    return ConfigError(file, path, problem, value, allowed, more)


#: A station id or option name as the spec allows it (``StationId``): safe to put in a path.
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


def _by_name(loc: list, raw: Mapping[str, Any] | None) -> list:
    """``loc`` with the index of a station, and of an equipment option in it, replaced by its
    id (name) where the raw config gives it one that is valid and unique."""
    if raw is None or len(loc) < 2 or loc[0] != "stations" or not isinstance(loc[1], int):
        return loc
    station = _named(raw.get("stations"), loc[1], "id")
    if station is None:
        return loc
    out = ["stations", station["id"], *loc[2:]]
    if len(out) >= 4 and out[2] == "options" and isinstance(out[3], int):
        option = _named(station.get("options"), out[3], "name")
        if option is not None:
            out[3] = option["name"]
    return out


def _named(items: Any, index: int, key: str) -> Mapping[str, Any] | None:
    """``items[index]`` if its ``key`` is a valid name that no other item of ``items`` has."""
    if not isinstance(items, list | tuple) or not 0 <= index < len(items):
        return None
    item = items[index]
    name = item.get(key) if isinstance(item, Mapping) else None
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return None
    same = sum(1 for other in items if isinstance(other, Mapping) and other.get(key) == name)
    return item if same == 1 else None


def _is_union_tag(part: object) -> bool:
    """A location part pydantic adds for a branch of a union (``literal['continuous']``,
    ``function-after[_check_day(), ShiftPattern]``, a model's class name), not a field."""
    return isinstance(part, str) and (("[" in part and part.endswith("]")) or part[:1].isupper())


def _without_union_tags(loc: list) -> list:
    return [p for p in loc if not _is_union_tag(p)]


def _one_union_branch(errors: list) -> list:
    """Where a value failed every branch of a union of a literal and a model (a station's
    ``calendar``: ``continuous`` or a shift pattern), keep the model branch's errors: a
    mapping was meant as the model, and the literal's "should be 'continuous'" is noise."""
    model_branches = {
        tuple(_without_union_tags(list(e["loc"])[:i]))
        for e in errors
        for i, p in enumerate(e["loc"])
        if _is_union_tag(p) and not str(p).startswith("literal[")
    }
    out = []
    for e in errors:
        loc = list(e["loc"])
        literal = [i for i, p in enumerate(loc) if str(p).startswith("literal[")]
        if literal and tuple(_without_union_tags(loc[: literal[0]])) in model_branches:
            continue
        out.append(e)
    return out


def _untagged(loc: list) -> tuple[list, type[BaseModel] | None]:
    """``loc`` without the tag pydantic adds after a process window's field (``process.speed.
    levels`` → ``process.levels``), and the window model the tag names."""
    for k in range(len(loc) - 1):
        if loc[k] == "process" and loc[k + 1] in WINDOW_KINDS:
            return loc[: k + 1] + loc[k + 2 :], WINDOW_KINDS[loc[k + 1]]
    return loc, None


def _split(field: str) -> list[str | int]:
    """``options[2].mttr_h`` → ``['options', 2, 'mttr_h']``."""
    parts: list[str | int] = []
    for piece in field.split("."):
        name, _, rest = piece.partition("[")
        if name:
            parts.append(name)
        while rest:
            number, _, rest = rest.partition("]")
            parts.append(int(number))
            rest = rest.lstrip("[")
    return parts
