"""User text on a page: shown literally, never rendered.

Streamlit renders markdown (links, images, emphasis, LaTeX, colour directives) in titles,
captions, alerts and labels. A line's name, a station's description, a file name or a value in
an error message comes from whoever wrote the config: every such text goes through :func:`md`
before it is put into markdown.
"""

from __future__ import annotations

import re
import reprlib
import unicodedata

__all__ = ["file_name", "md", "shown"]

TEXT_LIMIT = 300  #: characters of a user text shown before it is cut [-]

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
_REPR = reprlib.Repr()  # keyword arguments only from Python 3.12
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 2, 100, 100
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = 6


def md(text: object, limit: int = TEXT_LIMIT) -> str:
    """``text`` as markdown that shows it literally: cut to ``limit`` characters, control and
    format characters (newlines, bidirectional overrides) shown as escapes, every ASCII
    punctuation character backslash-escaped (CommonMark: then it is plain text)."""
    s = str(text)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    s = "".join(_visible(c) for c in s)
    return _PUNCTUATION.sub(r"\\\1", s)


def shown(value: object) -> str:
    """A short ``repr`` of a value from a config: strings, lists and mappings are cut before
    they are formatted, so a huge value costs no time or memory."""
    try:
        return _REPR.repr(value)
    except ValueError:  # an integer too long to convert to text
        return f"an integer of about {value.bit_length() * 0.30103:.0f} digits"  # type: ignore[attr-defined]


def file_name(name: str) -> str:
    """A download's file name made of ``name``: letters, digits, ``.``, ``-`` and ``_`` only."""
    return re.sub(r"[^\w.-]+", "_", name, flags=re.ASCII).strip("._")[:80] or "line"


def _visible(c: str) -> str:
    if unicodedata.category(c)[0] != "C":
        return c
    return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"
