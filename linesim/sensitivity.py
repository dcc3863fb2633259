"""One-at-a-time sensitivity (tornado) of cost per kWh and good output.

Each parameter is moved by −f and +f (a fraction, default 20 %) with all others at their base
values, and the line is re-evaluated at its static capacity (the cost model's default basis), so
a tornado of a few hundred evaluations takes well under a second. Parameters:

- per station: ``defect_probability`` (capped at 1), ``rate`` (web speed, or 1 ÷ time per sheet,
  cycle time), ``mtbf_h`` (where the station has breakdowns) and ``capex_usd``;
- per material: its price.

With equipment options, the change applies to every option of the station.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from linesim.cost import cost_report
from linesim.spec import LineSpec, Station

__all__ = ["STATION_PARAMETERS", "TornadoBar", "perturb_station", "perturb_material", "tornado"]

STATION_PARAMETERS = ("defect_probability", "rate", "mtbf_h", "capex_usd")

#: Field that carries a station kind's rate, and whether it is inverse to the rate.
_RATE_FIELD = {
    "continuous": ("web_speed_m_per_min", False),
    "sheet": ("time_per_sheet_s", True),
    "discrete": ("cycle_time_s", True),
    "batch": ("cycle_time_s", True),
}


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


def _scaled(obj, parameter: str, factor: float, kind: str) -> dict:
    """Field updates that scale ``parameter`` of a station or option by ``factor``."""
    if parameter == "defect_probability":
        return {"defect_probability": min(1.0, obj.defect_probability * factor)}
    if parameter == "rate":
        field, inverse = _RATE_FIELD[kind]
        value = getattr(obj, field)
        return {field: value / factor if inverse else value * factor}
    value = getattr(obj, parameter)
    return {} if value is None else {parameter: value * factor}


def perturb_station(spec: LineSpec, station_id: str, parameter: str,
                    factor: float) -> LineSpec:
    """A copy of ``spec`` with one station parameter multiplied by ``factor`` (> 0)."""
    if parameter not in STATION_PARAMETERS:
        raise ValueError(f"unknown parameter {parameter!r}; one of {STATION_PARAMETERS}")
    i = spec.station_index(station_id)
    station: Station = spec.stations[i]
    if station.options:
        options = tuple(o.model_copy(update=_scaled(o, parameter, factor, station.kind))
                        for o in station.options)
        new = station.model_copy(update={"options": options})
    else:
        new = station.model_copy(update=_scaled(station, parameter, factor, station.kind))
    stations = spec.stations[:i] + (new,) + spec.stations[i + 1:]
    return spec.model_copy(update={"stations": stations})


def perturb_material(spec: LineSpec, name: str, factor: float) -> LineSpec:
    """A copy of ``spec`` with one material's price multiplied by ``factor``."""
    cost = spec.cost
    materials = tuple(m.model_copy(update={"price_per_unit": m.price_per_unit * factor})
                      if m.name == name else m for m in cost.materials)
    return spec.model_copy(update={"cost": cost.model_copy(update={"materials": materials})})


def _evaluate(spec: LineSpec) -> tuple[float, float]:
    report = cost_report(spec)
    return report.total_usd_per_kwh, report.output_gwh_per_year


def tornado(spec: LineSpec, fraction: float = 0.2) -> list[TornadoBar]:
    """Tornado bars for every station parameter and material price, widest cost swing first."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    bars = []

    def bar(name: str, low: LineSpec, high: LineSpec) -> None:
        (cost_lo, out_lo), (cost_hi, out_hi) = _evaluate(low), _evaluate(high)
        bars.append(TornadoBar(name, fraction, cost_lo, cost_hi, out_lo, out_hi))

    for station in spec.stations:
        for parameter in STATION_PARAMETERS:
            if parameter == "mtbf_h" and all(e.mtbf_h is None for e in station.equipment()):
                continue
            bar(f"{station.id}.{parameter}",
                perturb_station(spec, station.id, parameter, 1.0 - fraction),
                perturb_station(spec, station.id, parameter, 1.0 + fraction))
    for material in spec.cost.materials if spec.cost else ():
        bar(f"price: {material.name}", perturb_material(spec, material.name, 1.0 - fraction),
            perturb_material(spec, material.name, 1.0 + fraction))
    bars.sort(key=lambda b: -b.cost_swing)
    return bars
