"""Output files written whole or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from linesim.errors import UsageError

__all__ = ["atomic_write", "atomic_write_text"]


def atomic_write(path: str | os.PathLike, write: Callable[[str], object]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``.

    Whatever ``write`` returns (``Path.write_text`` returns a count, ``DataFrame.to_parquet``
    ``None``) is ignored.

    The rename is atomic on one file system, so readers see the old file or the whole new one;
    if ``write`` fails the temporary file is removed and ``path`` is untouched. A path the
    system refuses (a read-only folder, a folder of that name, a full disk) raises
    :class:`~linesim.errors.UsageError` naming it.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise _unwritable(path, exc) from None
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
        write(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _unwritable(path, exc) from None
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _unwritable(path: Path, exc: OSError) -> UsageError:
    return UsageError(
        f"{str(path)!r}: cannot be written ({exc.strerror or exc}); allowed: a file in an "
        "existing, writable folder, not a folder"
    )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
