"""The analytic yield model: Y = ∏(1 − p_i), per-step yields and the yield waterfall.

Defects are independent per cell and station. A cell is good only if no station made it
defective, so the line yield is the product of the per-step yields. For a station with several
equipment options the defect probability is the rate-weighted mean: when the station is
saturated each machine processes cells in proportion to its effective rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from linesim.rates import effective_rate_cells_per_h, machine_rate_cells_per_h
from linesim.spec import LineSpec, Station
from linesim.spec.losses import Calendar

__all__ = [
    "step_yield",
    "product_yield",
    "rate_weighted_defect_probability",
    "station_defect_probabilities",
    "line_yield",
    "analytic_yield",
    "WaterfallStep",
    "yield_waterfall",
]


def step_yield(defect_probability: float) -> float:
    """Yield of one step, 1 − p (dimensionless)."""
    return 1.0 - defect_probability


def product_yield(defect_probabilities: Sequence[float]) -> float:
    """Line yield Y = ∏_i (1 − p_i) for independent per-step defect probabilities."""
    return math.prod(1.0 - p for p in defect_probabilities)


def rate_weighted_defect_probability(station: Station) -> float:
    """p of a station with equipment options: Σ n_o r_o p_o ÷ Σ n_o r_o.

    ``r_o`` is an option's effective rate per machine [cells/h]: its nameplate rate after its
    breakdowns, the station's minor stops and its changeovers (a machine's share of the cells
    the station processes when it is busy); with a single option this is just that option's p.
    """
    weights, weighted = 0.0, 0.0
    for eq in station.equipment():
        w = eq.count * effective_rate_cells_per_h(station, eq, Calendar())
        weights += w
        weighted += w * eq.defect_probability
    return weighted / weights if weights > 0 else 0.0


def station_defect_probabilities(spec: LineSpec) -> list[float]:
    """Per-station defect probability, in flow order (rate-weighted where there are options)."""
    return [rate_weighted_defect_probability(s) for s in spec.stations]


def line_yield(spec: LineSpec) -> float:
    """Analytic line yield of a spec, Y = ∏(1 − p_i)."""
    return product_yield(station_defect_probabilities(spec))


analytic_yield = line_yield


@dataclass(frozen=True)
class WaterfallStep:
    """Cells lost at one step, per 1,000 cells started.

    ``lost_per_1000`` counts cells whose *first* defect is made at this step
    (1000 · ∏_{k<i}(1 − p_k) · p_i; the steps add up to 1000 · (1 − Y)).
    ``detected_at`` is where those defects are found; ``steps_wasted`` is how many stations
    after this one process such a cell before it is scrapped, and ``machine_hours_wasted_per_1000``
    the downstream machine time those cells take (h per 1,000 started), the capacity a late
    detection costs. ``value_added_usd_per_cell`` is the value already put into each such cell
    when it is scrapped, if per-station values were given.
    """

    id: str
    defect_probability: float
    step_yield: float
    cumulative_yield: float
    lost_per_1000: float
    detected_at: str
    steps_wasted: int
    machine_hours_wasted_per_1000: float
    value_added_usd_per_cell: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def yield_waterfall(
    spec: LineSpec, value_usd_per_cell: Sequence[float] | None = None
) -> list[WaterfallStep]:
    """The yield waterfall of a line.

    Parameters
    ----------
    spec : LineSpec
    value_usd_per_cell : sequence of float, optional
        Value each station adds to a cell [USD/cell], in flow order (e.g. from the cost model);
        if given, each step reports the value already added when its defects are scrapped
        (Σ of the values up to and including the detection station).
    """
    p = station_defect_probabilities(spec)
    detect = spec.detection_index()
    hours_per_cell = [1.0 / _mean_rate(s) for s in spec.stations]
    out, reach = [], 1.0
    for i, station in enumerate(spec.stations):
        lost = 1000.0 * reach * p[i]
        d = detect[i]
        wasted_h = lost * sum(hours_per_cell[i + 1 : d + 1])
        value = sum(value_usd_per_cell[: d + 1]) if value_usd_per_cell is not None else None
        reach *= 1.0 - p[i]
        out.append(
            WaterfallStep(
                id=station.id,
                defect_probability=p[i],
                step_yield=1.0 - p[i],
                cumulative_yield=reach,
                lost_per_1000=lost,
                detected_at=spec.stations[d].id,
                steps_wasted=d - i,
                machine_hours_wasted_per_1000=wasted_h,
                value_added_usd_per_cell=value,
            )
        )
    return out


def _mean_rate(station: Station) -> float:
    """Machine-weighted mean nameplate rate of a station's machines [cells/h]."""
    eqs = [e for e in station.equipment() if e.count > 0]
    return sum(e.count * machine_rate_cells_per_h(e) for e in eqs) / sum(e.count for e in eqs)
