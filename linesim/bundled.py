"""Where the bundled lines and the what-if app live, in a checkout or an installed wheel.

The repository keeps ``configs/`` and ``ui/`` at its top level; a wheel maps them into the package
at build time as ``linesim/_bundled/configs`` and ``linesim/_bundled/ui`` (pyproject.toml), so
both layouts are found without copying files. A bundled line can be named without a path:
``pilot_sulfide_200mwh`` or ``pilot_sulfide_200mwh.yaml``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["bundled_line", "bundled_lines", "configs_dir", "resolve_config", "ui_dir"]

_PACKAGE = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    installed = _PACKAGE / "_bundled" / name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name  # a checkout: the repository's top-level folder


def configs_dir() -> Path:
    """The folder of the bundled line configs."""
    return _data_dir("configs")


def ui_dir() -> Path:
    """The folder of the Streamlit app (``app.py`` and its pages, ``views/``)."""
    return _data_dir("ui")


def bundled_lines() -> dict[str, Path]:
    """Bundled line configs by name (file stem), sorted by name."""
    return {p.stem: p for p in sorted(configs_dir().glob("*.yaml"))}


def bundled_line(name: str) -> Path | None:
    """The bundled line called ``name`` (with or without ``.yaml``; no folder), or ``None``."""
    p = Path(name)
    if p.parent != Path("."):
        return None
    return bundled_lines().get(p.stem if p.suffix.lower() in (".yaml", ".yml") else p.name)


def resolve_config(path: str | Path) -> Path:
    """``path`` itself when it names an existing file, else the bundled line of that name (with
    or without ``.yaml``), else ``path`` unchanged (the loader then says it does not exist)."""
    p = Path(path)
    try:
        if p.is_file():
            return p
    except OSError:  # a name too long to look up: not a file here, nor a bundled line
        return p
    return bundled_line(str(path)) or p
