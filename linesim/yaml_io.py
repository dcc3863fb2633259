"""Reading YAML config text safely: YAML 1.2 scalars, bounded size, nesting, aliases and
integers, duplicate keys refused, every problem a :class:`~linesim.errors.ConfigError` located
by line and column.

YAML 1.2 core schema: ``010`` is ten, ``0o10`` eight, ``0x1f`` 31; ``1:30``, ``1_000`` and
``yes`` are text; only ``true``/``false`` (any case) are booleans; ``2.25e6`` is a number.
libyaml's scanner and parser (in C) do the reading where PyYAML has them; the nodes are built
in Python (libyaml's own builder overflows the C stack on deep nesting).
"""

from __future__ import annotations

import math
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import Node

from linesim.bundled import bundled_lines
from linesim.errors import ConfigError, UsageError

__all__ = [
    "MAX_CONFIG_MB",
    "Dumper",
    "Refused",
    "max_config_bytes",
    "parse_mapping",
    "read_mapping",
    "parse_value",
]

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


class Refused(Exception):
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
            raise Refused(
                "more than one YAML document", self.get_event().start_mark, "one document"
            )
        return node

    def _node(self, depth: int) -> tuple[Node, int]:
        """The next node and the number of values it stands for (aliases expanded)."""
        event = self.get_event()
        if depth > _MAX_NESTING:
            raise Refused(
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
            raise Refused(
                f"the alias *{event.anchor} is inside the value it names",
                event.start_mark,
                "aliases of values defined before them",
            )
        if event.anchor not in self._anchors:
            raise Refused(
                f"the alias *{event.anchor} names no anchor",
                event.start_mark,
                "an alias of an anchor (&name) defined before it",
            )
        node, size = self._anchors[event.anchor]
        self._aliased += size
        if self._aliased > _MAX_ALIAS_VALUES:
            raise Refused(
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
            raise Refused(
                f"the value does not fit its tag {node.tag.replace('tag:yaml.org,2002:', '!!')}",
                node.start_mark,
                "a value of the tagged type, or no tag",
            ) from None


def _check_once(key: Node, lines: dict[tuple[str, str], int]) -> None:
    """Record a mapping key's line; refuse the key if its mapping has it already."""
    here, line = (key.tag, key.value), key.start_mark.line + 1
    if here in lines:
        raise Refused(
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
        raise Refused(
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


class Dumper(yaml.SafeDumper):
    """Writes as text (quoted) every string that YAML 1.1 or :class:`_Loader` would read as
    another type (``'0o17'``, ``'tRuE'``, ``'yes'``), so that both read a dump back the same."""


for _first, _resolvers in _Loader.yaml_implicit_resolvers.items():
    for _tag, _regexp in _resolvers:
        Dumper.add_implicit_resolver(_tag, _regexp, [_first])


def parse_value(text: str) -> Any:
    """The value of YAML ``text`` (raises ``yaml.YAMLError`` or :class:`Refused`)."""
    try:
        loader = _Loader(text)
    except UnicodeEncodeError:  # libyaml reads UTF-8; a lone surrogate has no encoding
        raise Refused("the text is not valid Unicode", None, "UTF-8 text") from None
    try:
        node = loader.get_single_node()
        return None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()


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
    if not 0.001 <= mb <= 1000:
        raise UsageError(
            f"{_MAX_CONFIG_ENV}: {text[:40]!r} is not a size in MB a config can have; allowed: "
            "a number of megabytes from 0.001 to 1000"
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


def read_mapping(path: Path) -> dict[str, Any]:
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
            size = os.fstat(stream.fileno()).st_size
            _check_size(size, path)
            # the buffer is never larger than the file; one byte more shows a file that grew
            data = stream.read(min(size, limit) + 1)
        if len(data) > size:
            raise ConfigError(
                path, "", "the file changed while it was read", None, "a file at rest"
            )
        text = data.decode("utf-8")
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
    return parse_mapping(text, path)


def parse_mapping(text: str, path: str | Path) -> dict[str, Any]:
    _check_size(len(text.encode("utf-8", "surrogatepass")), path)
    try:
        data = parse_value(text)
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, text, path) from None
    except Refused as exc:
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
