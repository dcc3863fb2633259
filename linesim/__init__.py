"""linesim: simulate, cost and optimise solid-state battery production lines.

The public API mirrors the CLI: :func:`load_line` reads a config (a file, or a bundled line by
name) into a frozen :class:`LineSpec`; :func:`analytic_yield` and :func:`capacity_report` give
the static picture; :func:`simulate` runs the discrete-event model and :func:`summarise` turns
replications into a typed :class:`RunSummary`; :func:`cost_report` costs a line and
:func:`compare` sets lines side by side (capacity, cost, ramp-up, sensitivity);
:func:`optimise_layout` chooses a layout with CP-SAT.

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

from linesim.capacity import capacity_report
from linesim.config import dump_line, load_line
from linesim.economics.analysis import analyse, compare
from linesim.economics.cost import cost_report
from linesim.errors import ConfigError
from linesim.optimise import Problem, optimise_layout
from linesim.simulation import SimResult, simulate
from linesim.spec import LineSpec, Station
from linesim.summary import Estimate, RunSummary, StationSummary, summarise
from linesim.version import __version__
from linesim.yield_model import analytic_yield, yield_waterfall

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
    "optimise_layout",
    "simulate",
    "summarise",
    "yield_waterfall",
    "__version__",
]
