"""linesim: simulate, cost and optimise solid-state battery production lines.

The public API mirrors the CLI: :func:`load_line` reads a config (a file, or a bundled line by
name) into a frozen :class:`LineSpec`; :func:`analytic_yield` and :func:`capacity_report` give
the static picture; :func:`simulate` runs the discrete-event model and :func:`summarise` turns
replications into a typed :class:`RunSummary`; :func:`cost_report` costs a line and
:func:`compare` sets lines side by side (capacity, cost, ramp-up, sensitivity);
:func:`optimise_layout` chooses a layout with CP-SAT (:func:`optimise_and_verify` also
simulates it).

The package is laid out by layer of the data flow, each importing only from the layers below:

============================  =====================================================
``spec/``, ``units``,         pure data: the line, process windows, cost inputs;
``errors``, ``bundled``       human units; errors; where bundled lines live
``config``, ``variants``      YAML ↔ spec; every spec → spec change, re-validated
``rates``, ``capacity``,      static closed forms
``yield_model``
``simulation/``               two engines for one model (SimPy, compiled), records
``kpis``                      one function per KPI of a simulated replication
``experiments``, ``sweep``,   replications, sweeps, typed results, the results store
``summary``, ``store``
``economics/``, ``optimise/`` money (basis, cost, ramp-up, sensitivity, analysis);
                              layouts and settings (CP-SAT), verified by simulation
``report/``                   text tables, frames, figures, HTML, files written whole
``cli/``                      the command line (``ui/`` beside the package: the app)
============================  =====================================================
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from linesim.version import __version__

#: public name → module that defines it; imported on first use, so that ``import linesim`` (and
#: every ``linesim`` command) does not pay for numba, OR-Tools and plotly it does not need
_PUBLIC = {
    "capacity_report": "linesim.capacity",
    "dump_line": "linesim.config",
    "load_line": "linesim.config",
    "analyse": "linesim.economics.analysis",
    "compare": "linesim.economics.analysis",
    "cost_report": "linesim.economics.cost",
    "ConfigError": "linesim.errors",
    "Problem": "linesim.optimise",
    "optimise_layout": "linesim.optimise",
    "optimise_and_verify": "linesim.optimise",
    "SimResult": "linesim.simulation",
    "simulate": "linesim.simulation",
    "LineSpec": "linesim.spec",
    "Station": "linesim.spec",
    "Estimate": "linesim.summary",
    "RunSummary": "linesim.summary",
    "StationSummary": "linesim.summary",
    "summarise": "linesim.summary",
    "analytic_yield": "linesim.yield_model",
    "yield_waterfall": "linesim.yield_model",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from linesim.capacity import capacity_report
    from linesim.config import dump_line, load_line
    from linesim.economics.analysis import analyse, compare
    from linesim.economics.cost import cost_report
    from linesim.errors import ConfigError
    from linesim.optimise import Problem, optimise_and_verify, optimise_layout
    from linesim.simulation import SimResult, simulate
    from linesim.spec import LineSpec, Station
    from linesim.summary import Estimate, RunSummary, StationSummary, summarise
    from linesim.yield_model import analytic_yield, yield_waterfall


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'linesim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))


__all__ = [
    "ConfigError",
    "Estimate",
    "LineSpec",
    "Problem",
    "RunSummary",
    "SimResult",
    "Station",
    "StationSummary",
    "analyse",
    "analytic_yield",
    "capacity_report",
    "compare",
    "cost_report",
    "dump_line",
    "load_line",
    "optimise_and_verify",
    "optimise_layout",
    "simulate",
    "summarise",
    "yield_waterfall",
    "__version__",
]
