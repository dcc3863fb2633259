"""Process windows: a station's defect probability (and, where it applies, its rate) as a
function of the settings a process engineer turns.

A station may carry one window model in its ``process:`` block. The block holds the model's
parameters and its **current settings**; the station's own fields that the model sets — its
defect probability, and its web speed or cycle time — follow from those settings
(:meth:`Window.derive`; the config loader fills them in and the spec checks they agree). The
models, with every formula in the units of its fields:

- ``speed`` (roll-to-roll: dry-electrode film, electrolyte film, calendering/lamination): at web
  speed v ≤ v_nom the defect probability is p_nom; above it, p rises as a power law,
  p(v) = min(p_max, p_nom · (v / v_nom)^k). The web speed is the setting.
- ``thin_film`` (magnetron sputtering): Poisson yield of a film of area A per cell,
  1 − p = exp(−D · A), with defect density D = D_ref · (r / r_ref)^a · (t_ref / t)^b rising
  with the dynamic deposition rate r per target [nm·m/min] and falling with the thickness t
  [nm]; web speed v = n_targets · r / t [m/min].
- ``press`` (warm isostatic press): a window with its minimum at the nominal point,
  p = min(p_max, p_nom + c_u · (1 − P/P_nom)₊² + c_o · (P/P_nom − 1)₊² + c_h · (1 − t/t_nom)₊²)
  — under-densification below the nominal pressure P_nom and hold time t_nom, cracking and
  shorts above the pressure; the cycle time is handling + hold [s].
- ``exposure`` (sulfide electrolyte in a dry room): p grows with the time w [h] a cell has
  waited in dry-room buffers before this station's processing ends, and with the room's water
  content: p(w) = 1 − (1 − p₀) · exp(−k · c(T_d) / c(T_ref) · w), where p₀ is the station's
  defect probability, k the rate at the reference dew point and c(T_d) the water content at
  dew point T_d (:func:`water_ppm`); cells that waited longer than ``queue_time_limit_h`` are
  scrapped (a queue-time limit, as fabs use). Waiting time comes from the queues, so this
  model lives only in the simulation: the static analysis sees p₀ (zero wait).

Every window may carry ``added_defect_probability`` δ, independent of the settings (an omitted
upstream step's effect): the station's p is then 1 − (1 − p_window)(1 − δ).
``levels`` lists the values of each setting the tuner may choose (``linesim tune``): at most
:data:`MAX_LEVELS` per setting, so at most 10,000 combinations per window.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from linesim.spec.base import Frozen, NonNegativeFloat, PositiveFloat, PositiveInt, Probability
from linesim.spec.base import problem as _problem

__all__ = [
    "SpeedWindow",
    "ThinFilmWindow",
    "PressWindow",
    "ExposureWindow",
    "Window",
    "ProcessWindow",
    "water_ppm",
    "exposure_probability",
    "WINDOW_KINDS",
]

Exponent = Annotated[float, Field(ge=0.0, le=20.0)]
#: Levels of one setting the tuner may choose from: each combination of a window's (at most two)
#: settings is a CP-SAT choice, and a process engineer tries tens of levels, not a thousand.
MAX_LEVELS = 100
DewPoint = Annotated[float, Field(ge=-90.0, le=0.0)]


def water_ppm(dew_point_c: float, pressure_hpa: float = 1013.25) -> float:
    """Water content [ppm by volume] of air at a frost point [°C]: the saturation pressure over
    ice by the Magnus form of Alduchov & Eskridge (1996), e = 6.1121 · exp(22.587 T /
    (273.86 + T)) hPa, divided by the air pressure. −40 °C → 127 ppm (domain.md: ≈126)."""
    e = 6.1121 * math.exp(22.587 * dew_point_c / (273.86 + dew_point_c))
    return e / pressure_hpa * 1e6


def exposure_probability(p0: float, rate_per_s: float, wait_s: float, limit_s: float) -> float:
    """The exposure model's p after ``wait_s`` seconds of dry-room waiting (the formula both
    engines evaluate, in this order of operations)."""
    if wait_s > limit_s:
        return 1.0
    return p0 - (1.0 - p0) * math.expm1(-rate_per_s * wait_s)  # = 1 − (1 − p₀)e^(−kw)


class Window(Frozen):
    """What every window model shares: settings, the fields it sets, the levels to tune over."""

    SETTINGS: ClassVar[tuple[str, ...]] = ()  #: its settings (fields of the model)
    DERIVES: ClassVar[tuple[str, ...]] = ()  #: the station fields it sets
    KINDS: ClassVar[tuple[str, ...]] = ()  #: station kinds it applies to
    UNITS: ClassVar[Mapping[str, str]] = {}

    levels: dict[
        str,
        Annotated[
            tuple[PositiveFloat, ...], Field(strict=False, min_length=1, max_length=MAX_LEVELS)
        ],
    ] = {}
    added_defect_probability: Probability = 0.0
    source: str = ""
    if TYPE_CHECKING:
        # every subclass declares its tag, ``model: Literal["speed"]`` and so on; declared here
        # for the type checker only, so that the fields keep their order (the tag after these)
        model: str

    @model_validator(mode="after")
    def _check_levels(self) -> Window:
        for name in self.levels:
            if name not in self.SETTINGS:
                raise _problem(
                    f"levels.{name}",
                    f"not a setting of the {self.model} model",
                    name,
                    "one of " + (", ".join(self.SETTINGS) or "(none)"),
                )
        return self

    def _with_added(self, p: float) -> float:
        delta = self.added_defect_probability
        return p if delta == 0.0 else 1.0 - (1.0 - p) * (1.0 - delta)

    def settings(self) -> dict[str, float]:
        """The current settings."""
        return {name: getattr(self, name) for name in self.SETTINGS}

    def grid(self) -> list[dict[str, float]]:
        """Every combination of the levels (a setting without levels keeps its value)."""
        names = list(self.SETTINGS)
        values = [self.levels.get(n, (getattr(self, n),)) for n in names]
        return [dict(zip(names, combo)) for combo in itertools.product(*values)]

    def derive(self, station: Mapping[str, object]) -> dict[str, float]:  # pragma: no cover
        """The station fields the model sets, at the current settings."""
        raise NotImplementedError


class SpeedWindow(Window):
    """Roll-to-roll speed trade-off: p_nom up to the nominal speed, a power law above it."""

    SETTINGS = ("speed_m_per_min",)
    DERIVES = ("web_speed_m_per_min", "defect_probability")
    KINDS = ("continuous",)
    UNITS = {"speed_m_per_min": "m/min"}

    model: Literal["speed"]
    speed_m_per_min: PositiveFloat
    nominal_speed_m_per_min: PositiveFloat
    p_nominal: Probability
    exponent: Exponent = 2.0
    p_max: Probability = 0.5

    def defect_probability(self, speed_m_per_min: float) -> float:
        ratio = max(1.0, speed_m_per_min / self.nominal_speed_m_per_min)
        return min(max(self.p_max, self.p_nominal), self.p_nominal * ratio**self.exponent)

    def derive(self, station: Mapping[str, object]) -> dict[str, float]:
        return {
            "web_speed_m_per_min": self.speed_m_per_min,
            "defect_probability": self._with_added(self.defect_probability(self.speed_m_per_min)),
        }


class ThinFilmWindow(Window):
    """Sputtered film: Poisson defect yield, defect density rising with the deposition rate."""

    SETTINGS = ("rate_nm_m_per_min", "thickness_nm")
    DERIVES = ("web_speed_m_per_min", "defect_probability")
    KINDS = ("continuous",)
    UNITS = {"rate_nm_m_per_min": "nm·m/min per target", "thickness_nm": "nm"}

    model: Literal["thin_film"]
    rate_nm_m_per_min: PositiveFloat
    thickness_nm: PositiveFloat
    targets: PositiveInt
    defect_density_per_m2: NonNegativeFloat  #: D_ref, at the reference rate and thickness
    reference_rate_nm_m_per_min: PositiveFloat
    reference_thickness_nm: PositiveFloat
    rate_exponent: Exponent = 2.0
    thickness_exponent: Exponent = 1.0

    def defect_density(self, rate: float, thickness: float) -> float:
        """D [1/m²] at a deposition rate per target and a thickness."""
        return (
            self.defect_density_per_m2
            * (rate / self.reference_rate_nm_m_per_min) ** self.rate_exponent
            * (self.reference_thickness_nm / thickness) ** self.thickness_exponent
        )

    def web_speed(self, rate: float, thickness: float) -> float:
        """v = n_targets · r / t [m/min]."""
        return self.targets * rate / thickness

    def derive(self, station: Mapping[str, object]) -> dict[str, float]:
        area = station.get("area_per_cell_m2")
        if not isinstance(area, (int, float)) or area <= 0:
            return {}  # the station's own check reports the missing area
        d = self.defect_density(self.rate_nm_m_per_min, self.thickness_nm)
        return {
            "web_speed_m_per_min": self.web_speed(self.rate_nm_m_per_min, self.thickness_nm),
            "defect_probability": self._with_added(-math.expm1(-d * float(area))),
        }


class PressWindow(Window):
    """Warm isostatic pressing: a pressure and hold-time window around the nominal point."""

    SETTINGS = ("pressure_mpa", "hold_s")
    DERIVES = ("cycle_time_s", "defect_probability")
    KINDS = ("batch", "discrete")
    UNITS = {"pressure_mpa": "MPa", "hold_s": "s"}

    model: Literal["press"]
    pressure_mpa: PositiveFloat
    hold_s: PositiveFloat
    nominal_pressure_mpa: PositiveFloat
    nominal_hold_s: PositiveFloat
    handling_s: NonNegativeFloat  #: load, pressurise, depressurise, unload [s per cycle]
    p_nominal: Probability
    under_pressure_coeff: NonNegativeFloat = 0.05
    over_pressure_coeff: NonNegativeFloat = 0.08
    short_hold_coeff: NonNegativeFloat = 0.05
    p_max: Probability = 0.5

    def defect_probability(self, pressure_mpa: float, hold_s: float) -> float:
        x = pressure_mpa / self.nominal_pressure_mpa
        h = hold_s / self.nominal_hold_s
        p = (
            self.p_nominal
            + self.under_pressure_coeff * max(0.0, 1.0 - x) ** 2
            + self.over_pressure_coeff * max(0.0, x - 1.0) ** 2
            + self.short_hold_coeff * max(0.0, 1.0 - h) ** 2
        )
        return min(max(self.p_max, self.p_nominal), p)

    def derive(self, station: Mapping[str, object]) -> dict[str, float]:
        return {
            "cycle_time_s": self.handling_s + self.hold_s,
            "defect_probability": self._with_added(
                self.defect_probability(self.pressure_mpa, self.hold_s)
            ),
        }


class ExposureWindow(Window):
    """Sulfide moisture exposure while waiting in the dry room (simulation only)."""

    KINDS = ("continuous", "sheet", "discrete", "batch")

    model: Literal["exposure"]
    rate_per_h: NonNegativeFloat  #: k: defect hazard per hour of waiting at the reference dew point
    reference_dew_point_c: DewPoint = -40.0
    dew_point_c: DewPoint | None = None  #: the room's; None: the line's cost.dry_room
    queue_time_limit_h: PositiveFloat | None = None

    def rate_per_s(self, dew_point_c: float) -> float:
        """k · c(T_d) / c(T_ref), per second of waiting."""
        ratio = water_ppm(dew_point_c) / water_ppm(self.reference_dew_point_c)
        return self.rate_per_h * ratio / 3600.0

    def limit_s(self) -> float:
        return math.inf if self.queue_time_limit_h is None else self.queue_time_limit_h * 3600.0

    def derive(self, station: Mapping[str, object]) -> dict[str, float]:
        return {}


ProcessWindow = Annotated[
    SpeedWindow | ThinFilmWindow | PressWindow | ExposureWindow, Field(discriminator="model")
]
WINDOW_KINDS: dict[str, type[Window]] = {
    "speed": SpeedWindow,
    "thin_film": ThinFilmWindow,
    "press": PressWindow,
    "exposure": ExposureWindow,
}
