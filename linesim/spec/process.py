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
- ``sintering`` (oxide belt furnace): the temperature T and the dwell t in a hot zone of length
  L set the belt speed v = 60 L / t [m/min], the power from the furnace heat balance
  (:func:`~linesim.spec.route_physics.furnace_power_kw`) and
  p = min(p_max, p_nom + c_u (1 − D)₊² + c_li (D_li − 1)₊² + c_cr (ḣ/ḣ_c − 1)₊²), with D and
  D_li the Arrhenius time-at-temperature doses of densification and Li evaporation (1 at the
  reference point) and ḣ the heating rate in the ramp zone (cracks).
- ``drying`` (wet electrode coating + dryer + solvent recovery): the web speed v and the dryer
  temperature set the power from the solvent the coating carries (coating weight and solids
  content), the dilution air the explosion limit needs and the chiller of the recovery
  (:mod:`~linesim.spec.route_physics`); p follows the speed law.
- ``heated_lamination`` (polymer route, PEO above its melting point): the temperature T and web
  speed v set the heating power and p = min(p_max, p_nom · max(1, v/v_nom)^k
  + c_cold ((T_min − T)/10)₊² + c_hot ((T − T_max)/10)₊²).

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

from linesim.spec import route_physics as _rp
from linesim.spec.base import (
    ClockSeconds,
    Frozen,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    Probability,
)
from linesim.spec.base import problem as _problem

__all__ = [
    "SpeedWindow",
    "ThinFilmWindow",
    "PressWindow",
    "ExposureWindow",
    "SinteringWindow",
    "DryingWindow",
    "LaminationWindow",
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


def _area_rate_m2_per_h(station: Mapping[str, object], speed_m_per_min: float) -> float | None:
    """Web area through one machine per hour [m²/h]: width × speed × 60 (None without a width:
    the station's own check reports it)."""
    width = station.get("web_width_m")
    if not isinstance(width, (int, float)) or width <= 0:
        return None
    return float(width) * speed_m_per_min * 60.0


Temperature = Annotated[float, Field(ge=-50.0, le=2000.0)]
#: A furnace above 100 °C (the heat balance and the Arrhenius doses are for hot zones).
FurnaceTemperature = Annotated[float, Field(ge=100.0, le=2000.0)]
#: kJ/mol; solid-state processes lie at 50-800 (bounded so that exp(E_a/RT) stays finite).
ActivationEnergy = Annotated[float, Field(ge=0.0, le=1000.0)]
#: Window penalty coefficients: p changes by at most this per unit of squared excess.
Coefficient = Annotated[float, Field(ge=0.0, le=100.0)]
Efficiency = Annotated[float, Field(gt=0.0, le=1.0)]
HeatCapacity = Annotated[float, Field(gt=0.0, le=10.0)]


class SinteringWindow(Window):
    """Continuous sintering in a belt furnace: temperature and dwell → speed, power, p."""

    SETTINGS = ("temperature_c", "dwell_s")
    DERIVES = ("web_speed_m_per_min", "power_kw", "defect_probability")
    KINDS = ("continuous",)
    UNITS = {"temperature_c": "°C", "dwell_s": "s"}

    model: Literal["sintering"]
    temperature_c: FurnaceTemperature
    dwell_s: ClockSeconds  #: time in the hot zone [s], 1 s at least
    hot_zone_length_m: PositiveFloat  #: length of the zone at temperature [m]
    ramp_zone_length_m: PositiveFloat  #: heating zone before it [m]
    load_kg_per_m2: NonNegativeFloat  #: tape + setters + belt heated per m² of tape [kg/m²]
    load_cp_kj_per_kg_k: HeatCapacity
    wall_area_m2: NonNegativeFloat  #: furnace casing area at temperature [m²]
    wall_u_w_per_m2_k: NonNegativeFloat  #: casing heat-transfer coefficient [W/(m²·K)]
    gas_m3_per_h: NonNegativeFloat = 0.0  #: protective gas (Ar/N2) at STP [m³/h]
    gas_cp_kj_per_m3_k: HeatCapacity = 1.3  #: N2 at STP: 1.25 kg/m³ × 1.04 kJ/(kg·K)
    heater_efficiency: Efficiency
    base_power_kw: NonNegativeFloat = 0.0  #: belt drive, exhaust, controls [kW]
    reference_temperature_c: FurnaceTemperature
    reference_dwell_s: ClockSeconds
    densification_activation_kj_per_mol: ActivationEnergy
    li_loss_activation_kj_per_mol: ActivationEnergy
    li_loss_fraction_at_reference: Probability = 0.0  #: Li lost at the reference point
    critical_heating_rate_k_per_min: PositiveFloat
    p_nominal: Probability
    under_sinter_coeff: Coefficient = 0.3
    li_loss_coeff: Coefficient = 0.05
    crack_coeff: Coefficient = 0.1
    p_max: Probability = 0.9

    def belt_speed(self, dwell_s: float) -> float:
        """v = 60 · L_hot / t [m/min]."""
        return _rp.belt_speed_m_per_min(self.hot_zone_length_m, dwell_s)

    def densification_dose(self, temperature_c: float, dwell_s: float) -> float:
        """D: time at temperature for densification, 1 at the reference point."""
        return _rp.arrhenius_dose(
            temperature_c,
            dwell_s,
            self.reference_temperature_c,
            self.reference_dwell_s,
            self.densification_activation_kj_per_mol,
        )

    def li_loss_dose(self, temperature_c: float, dwell_s: float) -> float:
        """D_li: time at temperature for Li evaporation, 1 at the reference point."""
        return _rp.arrhenius_dose(
            temperature_c,
            dwell_s,
            self.reference_temperature_c,
            self.reference_dwell_s,
            self.li_loss_activation_kj_per_mol,
        )

    def li_loss_fraction(self, temperature_c: float, dwell_s: float) -> float:
        """Share of the tape's Li lost to evaporation: L_ref · D_li (at most 1)."""
        return min(
            1.0, self.li_loss_fraction_at_reference * self.li_loss_dose(temperature_c, dwell_s)
        )

    def heating_rate(self, temperature_c: float, dwell_s: float) -> float:
        """Heating rate in the ramp zone [K/min]."""
        return _rp.heating_rate_k_per_min(
            temperature_c, self.ramp_zone_length_m, self.belt_speed(dwell_s)
        )

    def defect_probability(self, temperature_c: float, dwell_s: float) -> float:
        qe = _rp.quadratic_excess
        p = (
            self.p_nominal
            + self.under_sinter_coeff * qe(1.0 - self.densification_dose(temperature_c, dwell_s))
            + self.li_loss_coeff * qe(self.li_loss_dose(temperature_c, dwell_s) - 1.0)
            + self.crack_coeff
            * qe(
                self.heating_rate(temperature_c, dwell_s) / self.critical_heating_rate_k_per_min
                - 1.0
            )
        )
        if p != p:  # 0 × an infinite excess (a dwell of nanoseconds): as far out as it gets
            p = math.inf
        return min(max(self.p_max, self.p_nominal), p)

    def power_kw(self, area_rate_m2_per_h: float, temperature_c: float) -> float:
        """Heat balance ÷ heater efficiency + base power [kW per furnace]."""
        return self.base_power_kw + _rp.furnace_power_kw(
            area_rate_m2_per_h,
            self.load_kg_per_m2,
            self.load_cp_kj_per_kg_k,
            temperature_c,
            self.wall_area_m2,
            self.wall_u_w_per_m2_k,
            self.gas_m3_per_h,
            self.gas_cp_kj_per_m3_k,
            self.heater_efficiency,
        )

    def derive(self, station: Mapping[str, object]) -> dict[str, float]:
        speed = self.belt_speed(self.dwell_s)
        out = {
            "web_speed_m_per_min": speed,
            "defect_probability": self._with_added(
                self.defect_probability(self.temperature_c, self.dwell_s)
            ),
        }
        rate = _area_rate_m2_per_h(station, speed)
        if rate is not None:
            out["power_kw"] = self.power_kw(rate, self.temperature_c)
        return out


class DryingWindow(Window):
    """Wet electrode coating with its dryer and solvent recovery: speed and dryer temperature →
    power (from the solvent the coating carries), p (speed law)."""

    SETTINGS = ("speed_m_per_min", "dryer_temperature_c")
    DERIVES = ("web_speed_m_per_min", "power_kw", "defect_probability")
    KINDS = ("continuous",)
    UNITS = {"speed_m_per_min": "m/min", "dryer_temperature_c": "°C"}

    model: Literal["drying"]
    speed_m_per_min: PositiveFloat
    dryer_temperature_c: Annotated[float, Field(ge=30.0, le=300.0)]
    coating_g_per_m2: PositiveFloat  #: dry coating weight, both sides, per m² of electrode
    solids_fraction: Annotated[float, Field(gt=0.0, le=1.0)]  #: slurry solids mass fraction
    solvent: Annotated[str, Field(min_length=1, max_length=40)] = "NMP"
    latent_heat_kj_per_kg: PositiveFloat  #: solvent's heat of vaporisation [kJ/kg]
    solvent_cp_kj_per_kg_k: HeatCapacity
    max_solvent_g_per_m3: PositiveFloat  #: allowed exhaust concentration (share of the LEL)
    heat_recovery: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0  #: exhaust → supply air
    heater_efficiency: Efficiency
    condenser_temperature_c: Annotated[float, Field(ge=-40.0, le=100.0)] | None = None
    chiller_cop: Annotated[float, Field(gt=0.0, le=20.0)] = 3.0
    recovery_fraction: Probability = 0.0  #: share of the solvent recovered for reuse
    base_power_kw: NonNegativeFloat = 0.0  #: coater, pumps, drives [kW]
    nominal_speed_m_per_min: PositiveFloat
    p_nominal: Probability
    exponent: Exponent = 2.0
    p_max: Probability = 0.5

    def solvent_kg_per_m2(self) -> float:
        """Solvent evaporated per m² of electrode [kg/m²]."""
        return _rp.solvent_kg_per_m2(self.coating_g_per_m2, self.solids_fraction)

    def heat_kj_per_kg(self, dryer_temperature_c: float) -> float:
        return _rp.drying_heat_kj_per_kg_solvent(
            self.latent_heat_kj_per_kg,
            self.solvent_cp_kj_per_kg_k,
            dryer_temperature_c,
            self.max_solvent_g_per_m3,
            self.heat_recovery,
        )

    def recovery_kj_per_kg(self, dryer_temperature_c: float) -> float:
        """Chiller electricity per kg of solvent (0 without a condensing recovery)."""
        if self.condenser_temperature_c is None:
            return 0.0
        return _rp.recovery_electricity_kj_per_kg_solvent(
            self.latent_heat_kj_per_kg,
            dryer_temperature_c,
            self.condenser_temperature_c,
            self.max_solvent_g_per_m3,
            self.heat_recovery,
            self.chiller_cop,
        )

    def power_kw(self, area_rate_m2_per_h: float, dryer_temperature_c: float) -> float:
        """Base power + dryer and recovery power at an area rate [kW per machine]."""
        return self.base_power_kw + _rp.dryer_power_kw(
            area_rate_m2_per_h,
            self.solvent_kg_per_m2(),
            self.heat_kj_per_kg(dryer_temperature_c),
            self.heater_efficiency,
            self.recovery_kj_per_kg(dryer_temperature_c),
        )

    def defect_probability(self, speed_m_per_min: float) -> float:
        ratio = max(1.0, speed_m_per_min / self.nominal_speed_m_per_min)
        return min(max(self.p_max, self.p_nominal), self.p_nominal * ratio**self.exponent)

    def derive(self, station: Mapping[str, object]) -> dict[str, float]:
        out = {
            "web_speed_m_per_min": self.speed_m_per_min,
            "defect_probability": self._with_added(self.defect_probability(self.speed_m_per_min)),
        }
        rate = _area_rate_m2_per_h(station, self.speed_m_per_min)
        if rate is not None:
            out["power_kw"] = self.power_kw(rate, self.dryer_temperature_c)
        return out


class LaminationWindow(Window):
    """Heated lamination of a polymer electrolyte: temperature and speed → power, p."""

    SETTINGS = ("temperature_c", "speed_m_per_min")
    DERIVES = ("web_speed_m_per_min", "power_kw", "defect_probability")
    KINDS = ("continuous",)
    UNITS = {"temperature_c": "°C", "speed_m_per_min": "m/min"}

    model: Literal["heated_lamination"]
    temperature_c: Temperature
    speed_m_per_min: PositiveFloat
    web_kg_per_m2: PositiveFloat  #: laminate stack heated per m² [kg/m²]
    cp_kj_per_kg_k: HeatCapacity
    standby_loss_w_per_k: NonNegativeFloat  #: rolls and hood [W/K]
    heater_efficiency: Efficiency
    base_power_kw: NonNegativeFloat = 0.0
    min_temperature_c: Temperature  #: below it the polymer does not flow and bond
    max_temperature_c: Temperature  #: above it the polymer and Li degrade
    nominal_speed_m_per_min: PositiveFloat
    p_nominal: Probability
    exponent: Exponent = 2.0
    cold_coeff: Coefficient = 0.05  #: per (10 K)² below min_temperature_c
    hot_coeff: Coefficient = 0.02  #: per (10 K)² above max_temperature_c
    p_max: Probability = 0.9

    @model_validator(mode="after")
    def _check_window(self) -> LaminationWindow:
        if not self.min_temperature_c < self.max_temperature_c:
            raise _problem(
                "max_temperature_c",
                "must be above min_temperature_c",
                self.max_temperature_c,
                f"a temperature above {self.min_temperature_c:g} °C",
            )
        return self

    def defect_probability(self, temperature_c: float, speed_m_per_min: float) -> float:
        qe = _rp.quadratic_excess
        ratio = max(1.0, speed_m_per_min / self.nominal_speed_m_per_min)
        p = (
            self.p_nominal * ratio**self.exponent
            + self.cold_coeff * qe((self.min_temperature_c - temperature_c) / 10.0)
            + self.hot_coeff * qe((temperature_c - self.max_temperature_c) / 10.0)
        )
        return min(max(self.p_max, self.p_nominal), p)

    def power_kw(self, area_rate_m2_per_h: float, temperature_c: float) -> float:
        """Base power + web heating and standby loss ÷ efficiency [kW per machine]."""
        return self.base_power_kw + _rp.web_heating_power_kw(
            area_rate_m2_per_h,
            self.web_kg_per_m2,
            self.cp_kj_per_kg_k,
            temperature_c,
            self.standby_loss_w_per_k,
            self.heater_efficiency,
        )

    def derive(self, station: Mapping[str, object]) -> dict[str, float]:
        out = {
            "web_speed_m_per_min": self.speed_m_per_min,
            "defect_probability": self._with_added(
                self.defect_probability(self.temperature_c, self.speed_m_per_min)
            ),
        }
        rate = _area_rate_m2_per_h(station, self.speed_m_per_min)
        if rate is not None:
            out["power_kw"] = self.power_kw(rate, self.temperature_c)
        return out


ProcessWindow = Annotated[
    SpeedWindow
    | ThinFilmWindow
    | PressWindow
    | ExposureWindow
    | SinteringWindow
    | DryingWindow
    | LaminationWindow,
    Field(discriminator="model"),
]
WINDOW_KINDS: dict[str, type[Window]] = {
    "speed": SpeedWindow,
    "thin_film": ThinFilmWindow,
    "press": PressWindow,
    "exposure": ExposureWindow,
    "sintering": SinteringWindow,
    "drying": DryingWindow,
    "heated_lamination": LaminationWindow,
}
