"""One call for the UI and scripts: a config in, a whole uncertainty study out."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from linesim.uncertainty.sensitivity import sobol_indices, tornado
from linesim.uncertainty.study import Targets, UncertaintyReport, prepare, run_study

__all__ = ["uncertainty_study"]


def uncertainty_study(
    config: str | Path | Mapping[str, Any],
    *,
    overrides: Iterable[str] = (),
    samples: int = 256,
    static: bool = True,
    replications: int = 2,
    horizon_s: float = 30 * 86_400.0,
    warmup_s: float | None = None,
    seed: int = 1,
    targets: Targets | None = None,
    sobol: int = 0,
    workers: int | None = None,
    engine: str = "auto",
    backend: str = "local",
    progress: Callable[[float, int], None] | None = None,
) -> UncertaintyReport:
    """``linesim uncertainty`` as a function: ``config`` a YAML path, a bundled line's name or a
    merged config mapping (an edited copy in the UI); ``warmup_s`` None takes the line's own
    (:func:`linesim.capacity.suggested_warmup_h`); ``sobol`` > 0 adds Sobol indices from that
    many Saltelli base samples (a power of two). Raises ``ConfigError`` / ``UsageError`` as the
    command does (exit 2 there)."""
    from linesim.bundled import resolve_config
    from linesim.capacity import suggested_warmup_h
    from linesim.config import apply_overrides, load_raw

    if isinstance(config, Mapping):
        raw, file = apply_overrides(dict(config), overrides), "<config>"
    else:
        path = resolve_config(config)
        raw, file = apply_overrides(load_raw(path), overrides), str(path)
    prepared = prepare(raw, file)
    if warmup_s is None:
        warmup_s = 0.0 if static else suggested_warmup_h(prepared.nominal) * 3600.0
    common: dict[str, Any] = {
        "seed": seed,
        "static": static,
        "replications": replications,
        "horizon_s": horizon_s,
        "warmup_s": warmup_s,
        "engine": engine,
        "workers": workers,
        "backend": backend,
    }
    report = run_study(prepared, samples, targets=targets or Targets(), progress=progress, **common)
    report.tornado = tornado(prepared)
    if sobol:
        report.sensitivity = sobol_indices(prepared, sobol, **common)
    return report
