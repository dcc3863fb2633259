"""Answers with their uncertainty: quantiles, chances of meeting targets, and what drives them.

A config whose fields carry distributions (:mod:`linesim.spec.uncertain`) is sampled
quasi-randomly (:mod:`.sampling`), each sample validated and evaluated on the static model or
simulated with common random numbers (:mod:`.evaluate`), and summarised (:mod:`.study`);
:mod:`.sensitivity` gives Sobol indices and a tornado of P10–P90 swings.

The UI and other callers use :func:`uncertainty_study` (a config path or mapping in, an
:class:`UncertaintyReport` out).
"""

from __future__ import annotations

from linesim.uncertainty.api import uncertainty_study
from linesim.uncertainty.study import (
    Prepared,
    Probability,
    Targets,
    UncertaintyReport,
    prepare,
    run_study,
    variance_split,
    wilson,
)

__all__ = [
    "Prepared",
    "Probability",
    "Targets",
    "UncertaintyReport",
    "prepare",
    "run_study",
    "variance_split",
    "wilson",
    "uncertainty_study",
]
