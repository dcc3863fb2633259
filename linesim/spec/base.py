"""What every frozen config model shares: the base class, bounded number types, and the error
that names a field below the model being validated (read by ``linesim.errors``).

Bounds from physics and the machine
-----------------------------------
Every number in a config is finite and bounded at its type. The bounds are values a real
plant never reaches, set far below what would exhaust the computer simulating it (memory is
linear in each count below; :mod:`linesim.workload` refuses what is legal but too large):

==============================  ===================  ===========================================
quantity                        allowed              why
==============================  ===================  ===========================================
any number (prices, areas, …)   ≤ 10¹² (finite)      above any plant's USD, m², kW or s; below
                                                     where sums of them lose precision
machines per station or option  ≤ 10,000            a gigafactory has tens of one tool; every
                                                     channel of a formation hall as a machine
stations                        ≤ 1,000             real lines have 10–50 steps
equipment options per station   ≤ 100               vendor choices, not a catalogue
buffer after a station          ≤ 1,000,000 cells   an aging warehouse holds a few 100,000
batch size                      ≤ 100,000 cells     an aging room or formation hall per batch
one service (a cell or batch)   1 ms … 30 days      the fastest notching or stacking stroke is
                                                     ~0.1 s; aging lasts days to weeks
waits, rework, changeovers      ≤ 30 days           a stop longer than a month is not a loss
                                                     of a running line
MTBF, MTTR, maintenance clocks  1 s … 10⁶ h         clocks faster than a second are a typo;
                                                     10⁶ h is over a century
minor stops                     ≥ 1 s between,      as breakdowns, for a stop's clock
                                ≥ 1 ms each
energy per cell                 ≤ 1,000 kWh         the largest cells hold about 1 kWh
coefficient of variation        ≤ 10                σ of ten means is no process time
levels of a process setting     ≤ 100               tens of levels are tuned, not thousands
==============================  ===================  ===========================================

Beyond single numbers, a line must be able to make good cells (``LineSpec``): no station whose
every running machine scraps every cell, and no line yield below the smallest float.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

__all__ = [
    "Frozen",
    "problem",
    "MAX_NUMBER",
    "MAX_MACHINES",
    "MAX_STATIONS",
    "MAX_OPTIONS",
    "MAX_BUFFER_CELLS",
    "MAX_BATCH_CELLS",
    "MIN_SERVICE_S",
    "MAX_SERVICE_S",
    "MIN_CLOCK_H",
    "MAX_CLOCK_H",
    "PrintableName",
    "Probability",
    "PositiveFloat",
    "NonNegativeFloat",
    "PositiveInt",
    "NonNegativeInt",
    "BufferCells",
    "BatchCells",
    "ServiceSeconds",
    "StopSeconds",
    "ClockHours",
    "ClockSeconds",
    "Bounds",
]

MAX_NUMBER = 10**12  #: ceiling of every number in a config
MAX_MACHINES = 10_000  #: machines per station (or per equipment option)
MAX_STATIONS = 1_000  #: stations in a line
MAX_OPTIONS = 100  #: equipment options of a station
MAX_BUFFER_CELLS = 1_000_000  #: cells in one buffer
MAX_BATCH_CELLS = 100_000  #: cells in one batch
MIN_SERVICE_S = 0.001  #: shortest service of a machine [s]
MAX_SERVICE_S = 30 * 86_400  #: longest service, wait, rework or changeover [s] (30 days)
MIN_CLOCK_H = 1.0 / 3600.0  #: shortest MTBF, MTTR or maintenance interval [h] (1 s)
MAX_CLOCK_H = 10**6  #: longest MTBF, MTTR or maintenance interval [h]


@dataclass(frozen=True)
class Bounds:
    """Bounds a field's own validator checks (pydantic ignores this marker; the uncertainty
    layer reads it to keep a distribution's support inside them)."""

    low: float
    high: float


def problem(field: str, message: str, value: object, allowed: str) -> PydanticCustomError:
    """An error that names a field below the model being validated (see ``linesim.errors``)."""
    return PydanticCustomError(
        "linesim_field",
        "{message}",
        {"message": message, "field": field, "value": value, "allowed": allowed},
    )


def _clock_hours(value: float) -> float:
    """An MTBF, MTTR or maintenance time [h] between 1 s and 10⁶ h (pydantic's own bound
    would print 1 s as 0.000277…)."""
    if not MIN_CLOCK_H <= value <= MAX_CLOCK_H:
        raise problem("", "outside the times a real machine has", value, "1 s (0.0003 h) to 10⁶ h")
    return value


def _printable(text: str) -> str:
    """A name printed in reports, tables and terminals: no control or invisible formatting
    characters (escape sequences, bidirectional overrides) and no line or paragraph separators,
    which would rewrite what is shown."""
    bad = next((c for c in text if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")), None)
    if bad is not None:
        raise problem(
            "",
            f"contains the control character U+{ord(bad):04X}",
            text,
            "printable text (no control or formatting characters)",
        )
    return text


#: A name shown to people (a line's or a product's): printable, at most 200 characters.
PrintableName = Annotated[str, Field(max_length=200), AfterValidator(_printable)]

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0, le=MAX_NUMBER)]
NonNegativeFloat = Annotated[float, Field(ge=0.0, le=MAX_NUMBER)]
PositiveInt = Annotated[int, Field(ge=1, le=MAX_NUMBER)]
NonNegativeInt = Annotated[int, Field(ge=0, le=MAX_NUMBER)]
BufferCells = Annotated[int, Field(ge=0, le=MAX_BUFFER_CELLS)]
BatchCells = Annotated[int, Field(ge=1, le=MAX_BATCH_CELLS)]
ServiceSeconds = Annotated[float, Field(ge=MIN_SERVICE_S, le=MAX_SERVICE_S)]
StopSeconds = Annotated[float, Field(ge=0.0, le=MAX_SERVICE_S)]
ClockHours = Annotated[float, AfterValidator(_clock_hours), Bounds(MIN_CLOCK_H, float(MAX_CLOCK_H))]
ClockSeconds = Annotated[float, Field(ge=1.0, le=MAX_CLOCK_H * 3600)]


class Frozen(BaseModel):
    """Frozen, strict, no extra fields, no NaN or infinity, defaults validated too."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", strict=True, allow_inf_nan=False, validate_default=True
    )
