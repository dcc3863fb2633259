"""Route physics: the closed forms behind the process windows of the SSB routes and the liquid
Li-ion reference (sintering furnaces, electrode drying with solvent recovery, heated polymer
lamination, the sulfide route's atmosphere).

Pure functions, one per physical model, each argument's unit in its name. The process windows
in :mod:`linesim.spec.process` evaluate them at a station's settings; the cost model evaluates
the atmosphere functions on a line's ``cost.atmosphere`` block. Heat balances are steady-state:
the electrical power a heated station draws is the heat it must supply per second (load heated
from ambient, walls and gas streams at temperature) divided by the efficiency of the heater
(electric heaters and their transformers and fans, 0 < η ≤ 1).

Nomenclature: T temperature [°C] (kelvin only inside Arrhenius terms), ΔT = T − T_ambient [K],
area rate [m²/h] of web through a station, c_p specific heat [kJ/(kg·K)], powers [kW], energies
per kilogram of solvent [kJ/kg].
"""

from __future__ import annotations

import math

__all__ = [
    "GAS_CONSTANT_J_PER_MOL_K",
    "AIR_CP_KJ_PER_KG_K",
    "AIR_DENSITY_KG_PER_M3",
    "AMBIENT_C",
    "belt_speed_m_per_min",
    "furnace_power_kw",
    "arrhenius_dose",
    "heating_rate_k_per_min",
    "quadratic_excess",
    "solvent_kg_per_m2",
    "dryer_air_kg_per_kg_solvent",
    "drying_heat_kj_per_kg_solvent",
    "recovery_electricity_kj_per_kg_solvent",
    "dryer_power_kw",
    "web_heating_power_kw",
    "excursion_cells_per_year",
]

GAS_CONSTANT_J_PER_MOL_K = 8.314462618
#: Dry air at ~25–150 °C: c_p ≈ 1.006–1.015 kJ/(kg·K) (engineering tables); 1.006 used.
AIR_CP_KJ_PER_KG_K = 1.006
#: Air at 20 °C, 1 atm [kg/m³]: the volume basis of solvent concentration limits.
AIR_DENSITY_KG_PER_M3 = 1.204
AMBIENT_C = 25.0


# --- sintering (oxide route) ----------------------------------------------------------------
def belt_speed_m_per_min(hot_zone_length_m: float, dwell_s: float) -> float:
    """Belt speed that holds each point of the tape ``dwell_s`` seconds in a hot zone of
    ``hot_zone_length_m`` metres: v = L ÷ t × 60 [m/min]."""
    return hot_zone_length_m / dwell_s * 60.0


def furnace_power_kw(
    area_rate_m2_per_h: float,
    load_kg_per_m2: float,
    load_cp_kj_per_kg_k: float,
    temperature_c: float,
    wall_area_m2: float,
    wall_u_w_per_m2_k: float,
    gas_m3_per_h: float,
    gas_cp_kj_per_m3_k: float,
    heater_efficiency: float,
    ambient_c: float = AMBIENT_C,
) -> float:
    """Electrical power of a continuous furnace at temperature [kW], from its heat balance.

    P = [ṁ_load · c_p · ΔT + U · A_wall · ΔT / 1000 + V̇_gas · c_p,gas · ΔT] ÷ η, with
    ṁ_load = area rate [m²/h] × load [kg/m²] ÷ 3600 (tape, setters and belt heated from
    ambient and not recuperated on cooling), U·A the wall conductance [W/K] and V̇_gas the
    protective gas flow [m³/h at STP] ÷ 3600, heated to the furnace temperature.
    """
    dt = temperature_c - ambient_c
    load_kw = area_rate_m2_per_h / 3600.0 * load_kg_per_m2 * load_cp_kj_per_kg_k * dt
    wall_kw = wall_u_w_per_m2_k * wall_area_m2 * dt / 1000.0
    gas_kw = gas_m3_per_h / 3600.0 * gas_cp_kj_per_m3_k * dt
    return (load_kw + wall_kw + gas_kw) / heater_efficiency


def arrhenius_dose(
    temperature_c: float,
    time_s: float,
    reference_temperature_c: float,
    reference_time_s: float,
    activation_energy_kj_per_mol: float,
) -> float:
    """Time at temperature relative to a reference, for a thermally activated process
    (densification, Li evaporation): D = (t / t_ref) · exp(−E_a/R · (1/T − 1/T_ref)), T in
    kelvin [dimensionless; 1 at the reference]."""
    t_k, ref_k = temperature_c + 273.15, reference_temperature_c + 273.15
    ea = activation_energy_kj_per_mol * 1000.0 / GAS_CONSTANT_J_PER_MOL_K
    return time_s / reference_time_s * math.exp(-ea * (1.0 / t_k - 1.0 / ref_k))


def heating_rate_k_per_min(
    temperature_c: float, ramp_zone_length_m: float, belt_speed: float, ambient_c: float = AMBIENT_C
) -> float:
    """Mean heating rate of the tape in the ramp zone [K/min]: ΔT ÷ (L_ramp ÷ v), with the belt
    speed v in m/min. A faster belt (a shorter dwell in a given furnace) heats faster, and
    ceramic tapes crack above a critical rate (thermal gradients)."""
    return (temperature_c - ambient_c) * belt_speed / ramp_zone_length_m


def quadratic_excess(x: float) -> float:
    """(x)₊² — the penalty shape of the windows: zero inside the window, quadratic outside."""
    x = max(0.0, x)
    return x * x  # (not x ** 2, which raises OverflowError past 1e154 instead of giving inf)


# --- electrode drying (wet coating) and solvent recovery ------------------------------------
def solvent_kg_per_m2(coating_g_per_m2: float, solids_fraction: float) -> float:
    """Solvent to evaporate per m² of electrode [kg/m²]: the dry coating weight (both sides)
    carries (1 − s) ÷ s of solvent in a slurry of solids mass fraction s. A dry electrode
    (s = 1) carries none."""
    return coating_g_per_m2 / 1000.0 * (1.0 - solids_fraction) / solids_fraction


def dryer_air_kg_per_kg_solvent(max_solvent_g_per_m3: float) -> float:
    """Air the dryer must blow per kg of solvent to keep the exhaust at or below the allowed
    solvent concentration (a fraction of the lower explosive limit) [kg air/kg solvent]:
    1000 g ÷ c_max [g/m³] × ρ_air."""
    return 1000.0 / max_solvent_g_per_m3 * AIR_DENSITY_KG_PER_M3


def drying_heat_kj_per_kg_solvent(
    latent_heat_kj_per_kg: float,
    solvent_cp_kj_per_kg_k: float,
    dryer_temperature_c: float,
    max_solvent_g_per_m3: float,
    heat_recovery: float,
    ambient_c: float = AMBIENT_C,
) -> float:
    """Heat to dry one kg of solvent [kJ/kg]: evaporation, plus the solvent heated to the dryer
    temperature, plus the dilution air heated from ambient, less what the exhaust-to-supply
    heat exchanger recovers: h_v + c_p,s · ΔT + m_air · c_p,air · ΔT · (1 − r)."""
    dt = dryer_temperature_c - ambient_c
    air = dryer_air_kg_per_kg_solvent(max_solvent_g_per_m3)
    return (
        latent_heat_kj_per_kg
        + solvent_cp_kj_per_kg_k * dt
        + air * AIR_CP_KJ_PER_KG_K * dt * (1.0 - heat_recovery)
    )


def recovery_electricity_kj_per_kg_solvent(
    latent_heat_kj_per_kg: float,
    dryer_temperature_c: float,
    condenser_temperature_c: float,
    max_solvent_g_per_m3: float,
    heat_recovery: float,
    chiller_cop: float,
    ambient_c: float = AMBIENT_C,
) -> float:
    """Chiller electricity of a condensing solvent recovery per kg of solvent [kJ/kg]: the
    exhaust leaves the heat exchanger at T_x = T_dry − r · (T_dry − T_amb) and is cooled to the
    condenser temperature, and the solvent condenses: [m_air · c_p,air · (T_x − T_c) + h_v] ÷
    COP."""
    t_x = dryer_temperature_c - heat_recovery * (dryer_temperature_c - ambient_c)
    air = dryer_air_kg_per_kg_solvent(max_solvent_g_per_m3)
    heat = air * AIR_CP_KJ_PER_KG_K * max(t_x - condenser_temperature_c, 0.0)
    return (heat + latent_heat_kj_per_kg) / chiller_cop


def dryer_power_kw(
    area_rate_m2_per_h: float,
    solvent_kg_per_m2_: float,
    heat_kj_per_kg: float,
    heater_efficiency: float,
    recovery_kj_per_kg: float,
) -> float:
    """Electrical power of a dryer with its solvent recovery [kW]: solvent rate [kg/s] ×
    (heat ÷ η + recovery electricity)."""
    kg_per_s = area_rate_m2_per_h / 3600.0 * solvent_kg_per_m2_
    return kg_per_s * (heat_kj_per_kg / heater_efficiency + recovery_kj_per_kg)


# --- heated lamination (polymer route) ------------------------------------------------------
def web_heating_power_kw(
    area_rate_m2_per_h: float,
    web_kg_per_m2: float,
    cp_kj_per_kg_k: float,
    temperature_c: float,
    standby_loss_w_per_k: float,
    heater_efficiency: float,
    ambient_c: float = AMBIENT_C,
) -> float:
    """Power to hold a laminator at temperature and heat the web through it [kW]:
    [area rate ÷ 3600 × m'' · c_p · ΔT + G_loss · ΔT ÷ 1000] ÷ η, with G_loss the rolls'
    and hood's heat loss per kelvin [W/K]."""
    dt = max(temperature_c - ambient_c, 0.0)
    web_kw = area_rate_m2_per_h / 3600.0 * web_kg_per_m2 * cp_kj_per_kg_k * dt
    return (web_kw + standby_loss_w_per_k * dt / 1000.0) / heater_efficiency


# --- sulfide atmosphere ---------------------------------------------------------------------
def excursion_cells_per_year(excursions_per_year: float, cells_per_excursion: float) -> float:
    """Cells scrapped a year by moisture excursions: each excursion (a dew-point alarm, an
    H2S alarm) scraps the lot exposed in the room at the time [cells/yr]."""
    return excursions_per_year * cells_per_excursion
