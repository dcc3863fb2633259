"""Rank correlations between uncertain inputs: the ``correlations:`` list of a line config.

Each entry names two uncertain inputs by their field path (as ``linesim uncertainty`` lists
them, e.g. ``stations.stacking.defect_probability``) and the Spearman rank correlation ρ the
study's samples are to have; ``linesim.uncertainty.sampling.iman_conover`` imposes them on the
design without changing any input's distribution. Every other command ignores them.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from linesim.spec.base import Frozen as _Frozen
from linesim.spec.base import problem as _problem

__all__ = ["RankCorrelation"]

InputPath = Annotated[str, Field(min_length=1, max_length=500)]


class RankCorrelation(_Frozen):
    """Spearman ρ between two uncertain inputs, −1 < ρ < 1 (±1 would make one input a
    function of the other: give it as one input instead)."""

    inputs: Annotated[tuple[InputPath, InputPath], Field(strict=False)]
    rank: Annotated[float, Field(gt=-1.0, lt=1.0)]
    source: str = ""

    @model_validator(mode="after")
    def _check_pair(self) -> RankCorrelation:
        if self.inputs[0] == self.inputs[1]:
            raise _problem(
                "inputs", "an input correlated with itself", list(self.inputs), "two inputs"
            )
        return self
