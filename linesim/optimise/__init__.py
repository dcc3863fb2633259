"""Layout optimisation with OR-Tools CP-SAT, checked against simulation.

- :mod:`~linesim.optimise.candidates` – every allowed machine mix of a station, exactly;
- :mod:`~linesim.optimise.model` – the linear CP-SAT model on those mixes;
- :mod:`~linesim.optimise.bound` – the chain dynamic programme: bounds, labels, min-cost;
- :mod:`~linesim.optimise.search` – objectives, Pareto front, infeasibility diagnosis;
- :mod:`~linesim.optimise.front` – the Pareto front: complete sweep, enumeration, ε-sweep;
- :mod:`~linesim.optimise.layout` – apply a layout to a spec and evaluate it independently;
- :mod:`~linesim.optimise.verify` – simulate layouts and size buffers;
- :mod:`~linesim.optimise.closure` – simulation in the loop: the least layout whose simulated
  output meets the target at 95 % confidence;
- :mod:`~linesim.optimise.outcome` – all of it in one call, as one typed report.
"""

from linesim.optimise.closure import Closure, ClosureStep, close_gap
from linesim.optimise.layout import LayoutFigures, current_layout, evaluate_layout
from linesim.optimise.model import Problem
from linesim.optimise.outcome import OptimisationReport, ParetoPoint, optimise_and_verify
from linesim.optimise.search import (
    OBJECTIVES,
    OptimiseResult,
    optimise_layout,
    pareto_front,
)
from linesim.optimise.verify import (
    DewPointChoice,
    DewPointRow,
    Verification,
    choose_dew_point,
    size_buffers,
    verify_layout,
)
from linesim.variants import apply_layout

__all__ = [
    "Closure",
    "ClosureStep",
    "DewPointChoice",
    "DewPointRow",
    "LayoutFigures",
    "OBJECTIVES",
    "OptimisationReport",
    "OptimiseResult",
    "ParetoPoint",
    "Problem",
    "Verification",
    "apply_layout",
    "choose_dew_point",
    "close_gap",
    "current_layout",
    "evaluate_layout",
    "optimise_and_verify",
    "optimise_layout",
    "pareto_front",
    "size_buffers",
    "verify_layout",
]
