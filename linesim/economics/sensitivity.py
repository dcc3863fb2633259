"""One-at-a-time sensitivity (tornado) of cost per kWh and good output.

Each parameter is moved by −f and +f (a fraction, default 20 %) with all others at their base
values, and the line is re-evaluated at its static capacity (the cost model's default basis), so
a tornado of a few hundred evaluations takes well under a second. Parameters:

- per station: ``defect_probability`` (capped at 1), ``rate`` (web speed, or 1 ÷ time per sheet,
  cycle time), ``mtbf_h`` (where the station has breakdowns) and ``capex_usd``;
- per material: its price.

With equipment options, the change applies to every option of the station. A side the spec
refuses (a capex moved past its ceiling, a defect probability raised to 1) or at which the line
makes no good cells is not available: NaN (``–`` in tables, null in JSON), and its bar goes
after the bars with both sides.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial

from linesim.economics.cost import cost_report
from linesim.errors import ConfigError, UsageError
from linesim.spec import LineSpec
from linesim.variants import STATION_PARAMETERS, perturb_material, perturb_station

__all__ = ["TornadoBar", "tornado"]


@dataclass(frozen=True)
class TornadoBar:
    """Cost and output with one parameter at base × (1 − f) and base × (1 + f)."""

    parameter: str  #: e.g. "stacking.defect_probability" or "material.Li6PS5Cl ..."
    fraction: float
    usd_per_kwh_low: float  #: with the parameter lowered
    usd_per_kwh_high: float  #: with the parameter raised
    output_gwh_low: float
    output_gwh_high: float

    @property
    def cost_swing(self) -> float:
        return abs(self.usd_per_kwh_high - self.usd_per_kwh_low)

    def to_dict(self) -> dict:
        return asdict(self) | {"cost_swing": self.cost_swing}


def _evaluate(variant: Callable[[], LineSpec]) -> tuple[float, float]:
    """Cost per good kWh [USD/kWh] and good output [GWh/yr] of the line ``variant`` builds;
    NaN for both when the spec refuses it or it makes no good cells."""
    try:
        report = cost_report(variant())
    except (ConfigError, UsageError):
        return math.nan, math.nan
    return report.total_usd_per_kwh, report.output_gwh_per_year


def tornado(spec: LineSpec, fraction: float = 0.2) -> list[TornadoBar]:
    """Tornado bars for every station parameter and material price, widest cost swing first."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    bars = []

    def bar(name: str, low: Callable[[], LineSpec], high: Callable[[], LineSpec]) -> None:
        (cost_lo, out_lo), (cost_hi, out_hi) = _evaluate(low), _evaluate(high)
        bars.append(TornadoBar(name, fraction, cost_lo, cost_hi, out_lo, out_hi))

    for station in spec.stations:
        for parameter in STATION_PARAMETERS:
            if parameter == "mtbf_h" and all(e.mtbf_h is None for e in station.equipment()):
                continue
            bar(
                f"{station.id}.{parameter}",
                partial(perturb_station, spec, station.id, parameter, 1.0 - fraction),
                partial(perturb_station, spec, station.id, parameter, 1.0 + fraction),
            )
    for material in spec.cost.materials if spec.cost else ():
        bar(
            f"price: {material.name}",
            partial(perturb_material, spec, material.name, 1.0 - fraction),
            partial(perturb_material, spec, material.name, 1.0 + fraction),
        )
    bars.sort(key=lambda b: (math.isnan(b.cost_swing), -b.cost_swing))
    return bars
