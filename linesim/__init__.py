"""linesim: simulate, cost and optimise solid-state battery production lines.

The public API mirrors the CLI: :func:`load_line` reads a config into a frozen
:class:`LineSpec`; :func:`analytic_yield` and :func:`capacity_report` give the static picture;
:func:`simulate` runs the discrete-event model; :func:`cost_report` costs a line and
:func:`compare` sets lines side by side (capacity, cost, ramp-up, sensitivity).
"""

from linesim.analysis import analyse, compare
from linesim.capacity import capacity_report
from linesim.config import dump_line, load_line
from linesim.cost import cost_report
from linesim.errors import ConfigError
from linesim.simulation import SimResult, simulate
from linesim.spec import LineSpec, Station
from linesim.yield_model import analytic_yield, yield_waterfall

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "LineSpec",
    "SimResult",
    "Station",
    "analyse",
    "analytic_yield",
    "capacity_report",
    "compare",
    "cost_report",
    "dump_line",
    "load_line",
    "simulate",
    "yield_waterfall",
    "__version__",
]
