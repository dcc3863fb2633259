"""The installed package's version, from its metadata (one place: pyproject.toml)."""

from __future__ import annotations

from importlib import metadata

__all__ = ["__version__"]

try:
    __version__ = metadata.version("linesim")
except metadata.PackageNotFoundError:  # pragma: no cover - a checkout that is not installed
    __version__ = "0+unknown"
