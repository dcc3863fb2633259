"""Output files written whole or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write", "atomic_write_text", "check_output_path", "json_safe"]


def check_output_path(path: str | os.PathLike, suffixes: tuple[str, ...], flag: str) -> None:
    """Raise :class:`~linesim.errors.UsageError` unless ``path`` has one of ``suffixes`` and
    its folder exists (checked before any work is done)."""
    from linesim.errors import UsageError

    p = Path(path)
    if p.suffix.lower() not in suffixes:
        raise UsageError(f"{flag}: {str(path)!r} has an unknown extension; allowed: "
                         + ", ".join(suffixes))
    if not p.resolve().parent.is_dir():
        raise UsageError(f"{flag}: the folder of {str(path)!r} does not exist; allowed: a path "
                         "in an existing folder")


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``.

    The rename is atomic on one file system, so readers see the old file or the whole new one;
    if ``write`` fails the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def json_safe(value):
    """A copy of plain data with NaN and ±inf floats (and numpy scalars) made JSON-safe:
    non-finite numbers become None (JSON null), so ``allow_nan=False`` dumps never fail."""
    import math

    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
