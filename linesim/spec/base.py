"""What every frozen config model shares: the base class, bounded number types, and the error
that names a field below the model being validated (read by ``linesim.errors``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

__all__ = [
    "Frozen",
    "problem",
    "Probability",
    "PositiveFloat",
    "NonNegativeFloat",
    "PositiveInt",
    "NonNegativeInt",
]

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
NonNegativeFloat = Annotated[float, Field(ge=0.0)]
PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]


def problem(field: str, message: str, value: object, allowed: str) -> PydanticCustomError:
    """An error that names a field below the model being validated (see ``linesim.errors``)."""
    return PydanticCustomError(
        "linesim_field",
        "{message}",
        {"message": message, "field": field, "value": value, "allowed": allowed},
    )


class Frozen(BaseModel):
    """Frozen, strict, no extra fields, no NaN or infinity, defaults validated too."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", strict=True, allow_inf_nan=False, validate_default=True
    )
