"""Cost inputs of a line: the ``cost:`` block of a config, frozen and validated like the rest.

Everything the cost model needs beyond the stations (whose ``capex_usd``, ``footprint_m2``,
``power_kw`` and ``operators_per_machine`` are per machine): currency, depreciation lives,
building and dry room, shared facility, labour, electricity, the bill of materials with dated
prices, BatPaC-style overhead rates, and the ramp-up and learning assumptions.

Nomenclature (units in the field names): ``*_usd`` US dollars, ``*_per_m2`` per square metre
of floor, ``power_w_per_m2`` average electrical draw per m² of dry room, ``*_years`` straight-line
depreciation life, ``wage_usd_per_h`` fully loaded direct-labour cost per hour, rates in the
overhead block are fractions (0.4 = 40 %).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, model_validator

from linesim.spec.base import Frozen as _Frozen
from linesim.spec.base import NonNegativeFloat, PositiveFloat
from linesim.spec.base import problem as _problem

__all__ = [
    "Atmosphere",
    "Band",
    "Bands",
    "Brownfield",
    "Building",
    "CostInputs",
    "Currency",
    "Depreciation",
    "DryRoom",
    "DryRoomClass",
    "Electricity",
    "Facility",
    "Finance",
    "Labour",
    "Material",
    "Overheads",
    "RampUp",
]

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Share = Annotated[float, Field(gt=0.0, le=1.0)]
Rate = Annotated[float, Field(ge=0.0, le=5.0)]
Date = Annotated[dt.date, Field(strict=False)]
CurrencyCode = Literal["USD", "CNY"]


class Currency(_Frozen):
    """Exchange rate used to report in both currencies."""

    cny_per_usd: Annotated[float, Field(gt=1.0, lt=20.0)]
    rate_date: Date
    source: str = ""


class Depreciation(_Frozen):
    """Straight-line depreciation lives [years]."""

    equipment_years: Annotated[float, Field(gt=0.0, le=50.0)] = 10.0
    building_years: Annotated[float, Field(gt=0.0, le=100.0)] = 20.0
    source: str = ""


class Building(_Frozen):
    """Factory building: cost per m² and its area.

    The area is ``area_m2`` if given, else ``area_factor`` × the machines' total footprint
    (aisles, logistics, utilities and offices around the equipment).
    """

    usd_per_m2: NonNegativeFloat
    area_m2: PositiveFloat | None = None
    area_factor: Annotated[float, Field(ge=1.0, le=10.0)] = 2.0
    source: str = ""


class DryRoomClass(_Frozen):
    """What a dry room of a given dew point costs to build and run, per m²."""

    dew_point_c: Annotated[float, Field(ge=-90.0, le=0.0)]
    usd_per_m2: NonNegativeFloat
    power_w_per_m2: NonNegativeFloat
    source: str = ""


class DryRoom(_Frozen):
    """The line's dry room (or inert room): area and required dew point [°C].

    The area is ``area_m2`` if given; else it grows with the layout: ``access_factor`` × the
    footprints of the machines at dry-room stations (aisles, airlocks, material buffers and
    access around them), so a larger layout pays for the room it needs.
    """

    area_m2: NonNegativeFloat | None = None
    access_factor: Annotated[float, Field(ge=1.0, le=20.0)] = 3.0
    dew_point_c: Annotated[float, Field(ge=-90.0, le=0.0)]
    source: str = ""


class Facility(_Frozen):
    """Shared plant not tied to a station: utilities, MES/IT, AGVs, QC lab.

    With ``reference_gwh`` the capex and power scale with the line's static capacity G
    [GWh/yr] the BatPaC way, cost(G) = cost_ref × (G / G_ref)^p (domain.md §2.1: p ≈ 0.95 for
    building support systems, 0.9 for process capital [S:R2]); without it they are fixed.
    """

    capex_usd: NonNegativeFloat = 0.0
    power_kw: NonNegativeFloat = 0.0
    reference_gwh: PositiveFloat | None = None
    capex_exponent: Annotated[float, Field(ge=0.0, le=1.5)] = 0.95
    power_exponent: Annotated[float, Field(ge=0.0, le=1.5)] = 0.9
    source: str = ""


class Labour(_Frozen):
    """Direct labour: the stations' operators plus shared (indirect) operators, at one wage.

    Operators are people present whenever their station works, so the hours per year are
    operators × the working hours of the station's calendar; ``hours_per_fte`` converts them
    to heads.
    """

    wage_usd_per_h: NonNegativeFloat
    indirect_operators: NonNegativeFloat = 0.0
    #: [h/yr]; an FTE works 1,600–2,200 h a year; below 100 h it is no full-time equivalent
    hours_per_fte: Annotated[float, Field(ge=100.0, le=8784.0)] = 1800.0
    source: str = ""


class Electricity(_Frozen):
    """Electricity price [USD/kWh]."""

    usd_per_kwh: NonNegativeFloat
    source: str = ""


class Material(_Frozen):
    """One bill-of-materials line, per kWh of cells, with a dated price.

    ``quantity_per_kwh`` is what ends up in the cell (in ``unit``); ``utilisation`` is the
    fraction of what is bought that ends up in a cell (trim, edge and start-up losses), so the
    purchase per cell processed is quantity ÷ utilisation. The material enters the cell at
    station ``enters_at`` (default: the first station), so cells scrapped before it do not
    consume it.
    """

    name: Annotated[str, Field(min_length=1, max_length=100)]
    quantity_per_kwh: NonNegativeFloat
    unit: Literal["kg", "m2", "piece"]
    price_per_unit: NonNegativeFloat
    currency: CurrencyCode
    price_date: Date
    #: a process that keeps under 1 % of what it buys (99 % scrap) is no production process
    utilisation: Annotated[float, Field(ge=0.01, le=1.0)] = 1.0
    enters_at: str | None = None
    #: dated trajectory: the price t years after ``price_date`` is price × (1 + r)^t (the
    #: ramp-up prices each quarter so; the mature cost report uses the dated price)
    price_change_per_year: Annotated[float, Field(ge=-0.9, le=1.0)] = 0.0
    source: str = ""


class Overheads(_Frozen):
    """BatPaC-style overhead rates (fractions), defaults from BatPaC v5 (domain.md §4).

    Per year: variable overhead = voh_of_labour·L + voh_of_depreciation·D; GSA = gsa_of_labour·L
    + gsa_of_depreciation·D; R&D = rnd_of_depreciation·D; launch = launch_of_materials·M +
    launch_of_labour·L; working capital = working_capital_of_variable·(M + L + E) is capital,
    charged at the profit rate together with the investment: profit = profit_of_investment ·
    (capex + working capital); warranty = warranty_of_cost × all of the above plus D, L, E, M.
    """

    voh_of_labour: Rate = 0.40
    voh_of_depreciation: Rate = 0.20
    gsa_of_labour: Rate = 0.25
    gsa_of_depreciation: Rate = 0.25
    rnd_of_depreciation: Rate = 0.40
    launch_of_materials: Rate = 0.05
    launch_of_labour: Rate = 0.10
    working_capital_of_variable: Rate = 0.15
    profit_of_investment: Rate = 0.05
    warranty_of_cost: Rate = 0.056
    source: str = ""


class RampUp(_Frozen):
    """Ramp-up from start of production to the mature line (exponential approach).

    y(t) = Y − (Y − yield_start)·exp(−t/yield_time_constant_months), with Y the mature line
    yield; oee(t) likewise from ``oee_start`` to the mature OEE O. O is the line's own OEE —
    simulated, or the static estimate from the same loss parameters — not an input: the
    mature line's output is reached when oee(t) = O. ``oee_mature``, if given, is a check: the
    cost report warns when it disagrees with O by more than 0.05. Learning on conversion cost:
    C(x) = C0·(x/x0)^(−b), b = −log2(1 − learning_rate), x the cumulative good output and x0
    the output of the first quarter.
    """

    yield_start: Fraction
    oee_start: Share
    oee_mature: Share | None = None
    yield_time_constant_months: PositiveFloat
    oee_time_constant_months: PositiveFloat
    learning_rate: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    years: Annotated[int, Field(ge=1, le=10)] = 3
    #: start of production (the ramp's t = 0); default: the latest material price date
    start_date: Date | None = None
    #: cost targets [CNY/Wh]: the report names the first quarter at or below each
    cost_targets_cny_per_wh: Annotated[
        tuple[Annotated[float, Field(gt=0.0, le=1000.0)], ...], Field(strict=False, max_length=10)
    ] = (0.6, 0.4)
    source: str = ""

    @model_validator(mode="after")
    def _check_oee(self) -> RampUp:
        if self.oee_mature is not None and self.oee_start > self.oee_mature:
            raise _problem(
                "oee_start",
                "the ramp starts above the mature OEE",
                self.oee_start,
                f"a number ≤ oee_mature ({self.oee_mature})",
            )
        return self


class Atmosphere(_Frozen):
    """The sulfide route's atmosphere: what H2S safety and the inert gas cost, and the lots a
    moisture excursion scraps (sulfide electrolytes give off H2S with water, domain.md §1.1).

    Capex: ``h2s_sensors`` × ``usd_per_sensor`` + ``scrubber_capex_usd`` (depreciated as
    equipment); power: ``scrubber_power_kw`` round the clock; opex per year: inert gas
    ``inert_gas_m3_per_h`` × 8,760 h × ``inert_gas_usd_per_m3`` + ``consumables_usd_per_year``
    (scrubber caustic, filters, sensor calibration); each of ``excursions_per_year`` (a dew-point
    or H2S alarm) scraps ``cells_per_excursion`` cells, so the line's good output falls by their
    product (the materials and time spent on them stay in the cost).
    """

    h2s_sensors: Annotated[int, Field(ge=0, le=100_000)] = 0
    usd_per_sensor: NonNegativeFloat = 0.0
    scrubber_capex_usd: NonNegativeFloat = 0.0
    scrubber_power_kw: NonNegativeFloat = 0.0
    consumables_usd_per_year: NonNegativeFloat = 0.0
    inert_gas_m3_per_h: NonNegativeFloat = 0.0
    inert_gas_usd_per_m3: NonNegativeFloat = 0.0
    excursions_per_year: Annotated[float, Field(ge=0.0, le=10_000.0)] = 0.0
    cells_per_excursion: NonNegativeFloat = 0.0
    source: str = ""


class Band(_Frozen):
    """A published range a line's figure must land in, with where it comes from."""

    low: float
    high: float
    source: Annotated[str, Field(min_length=1, max_length=1000)]

    @model_validator(mode="after")
    def _check_order(self) -> Band:
        if not self.low <= self.high:
            raise _problem(
                "high",
                "the band's high end is below its low end",
                self.high,
                f"a number ≥ low ({self.low})",
            )
        return self


class Bands(_Frozen):
    """The published bands a line must land in (each optional, each cited): cost per good Wh
    [CNY/Wh], total capex per GWh/yr of good output [bn CNY], electricity per good kWh
    [kWh/kWh], line yield [fraction], direct labour per GWh/yr [FTE] (or in total, for pilot
    lines whose sources give heads, not heads per GWh)."""

    cny_per_wh: Band | None = None
    capex_bn_cny_per_gwh: Band | None = None
    energy_kwh_per_kwh: Band | None = None
    line_yield: Band | None = None
    direct_fte_per_gwh: Band | None = None
    direct_fte: Band | None = None


class Brownfield(_Frozen):
    """Conversion of an existing liquid Li-ion hall: equipment, hall and dry room taken over.

    ``reused_machines`` maps station id → machines of that kind the Li-ion hall has; the line
    takes over as many as it runs (at most the station's count, so a layout with fewer
    machines reuses fewer); they cost ``book_value_usd`` (what the reused assets,
    hall and room included, are worth on the books: their opportunity cost, depreciated as
    equipment) plus ``retrofit_usd`` (new tooling, atmosphere upgrades, requalification)
    instead of their new price. ``reuse_building`` / ``reuse_dry_room`` take over the hall and
    its dry room (their value then belongs in the book value). The seeds' "~2/3 of Li-ion
    equipment obsolete" (PEM RWTH: up to 60 %, domain.md §1.0, R53) is a list that reuses the
    steps worth about a third of the Li-ion line's equipment.
    """

    reused_machines: Annotated[
        dict[Annotated[str, Field(min_length=1, max_length=100)], Annotated[int, Field(ge=0)]],
        Field(strict=False, max_length=1000),
    ] = {}
    book_value_usd: NonNegativeFloat = 0.0
    retrofit_usd: NonNegativeFloat = 0.0
    reuse_building: bool = False
    reuse_dry_room: bool = False
    source: str = ""


class Finance(_Frozen):
    """Money over the plant's life: net present value and payback at a selling price.

    Year 0 invests the capex (less ``investment_grant_fraction`` of it, a grant); years 1 … N
    (``years``) earn the good output × ``selling_price_cny_per_wh`` plus
    ``subsidy_usd_per_kwh`` on the good output of the first ``subsidy_years`` years, and pay
    the cash cost (every cost but depreciation and the profit overhead, materials with the
    cells started); NPV = Σ_t CF_t ÷ (1 + r)^t at ``discount_rate`` r. Output follows the
    ramp-up when the config has one. Taxes are not modelled.
    """

    selling_price_cny_per_wh: Annotated[float, Field(gt=0.0, le=100.0)]
    discount_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.08
    years: Annotated[int, Field(ge=1, le=40)] = 10
    subsidy_usd_per_kwh: NonNegativeFloat = 0.0
    subsidy_years: Annotated[int, Field(ge=0, le=40)] = 0
    investment_grant_fraction: Fraction = 0.0
    source: str = ""


class CostInputs(_Frozen):
    """The ``cost:`` block of a line config.

    ``escape_cost_usd`` is what one defective cell shipped to a customer costs (warranty,
    replacement, field failure); escapes come from inspections with ``detection_efficiency``
    below 1.
    """

    currency: Currency
    depreciation: Depreciation = Depreciation()
    building: Building
    dry_room: DryRoom | None = None
    dry_room_classes: Annotated[tuple[DryRoomClass, ...], Field(strict=False)] = ()
    facility: Facility = Facility()
    labour: Labour
    electricity: Electricity
    materials: Annotated[tuple[Material, ...], Field(strict=False)] = ()
    overheads: Overheads = Overheads()
    ramp_up: RampUp | None = None
    escape_cost_usd: NonNegativeFloat = 0.0
    escape_cost_source: str = ""
    atmosphere: Atmosphere | None = None  #: sulfide H2S safety, inert gas, excursions
    bands: Bands | None = None  #: published bands the line must land in (``linesim compare``)
    brownfield: Brownfield | None = None  #: conversion of a Li-ion hall (reused equipment)
    finance: Finance | None = None  #: NPV and payback at a selling price
    source: str = ""

    @model_validator(mode="after")
    def _check_cost(self) -> CostInputs:
        if self.dry_room is not None and self.dry_room.area_m2 != 0:
            if not self.dry_room_classes:
                raise _problem(
                    "dry_room_classes",
                    "a dry room needs its cost classes",
                    None,
                    "a list of {dew_point_c, usd_per_m2, power_w_per_m2}",
                )
            if self.dry_room_class() is None:
                driest = min(c.dew_point_c for c in self.dry_room_classes)
                raise _problem(
                    "dry_room.dew_point_c",
                    "no dry-room class reaches this dew point",
                    self.dry_room.dew_point_c,
                    f"a dew point ≥ {driest} °C, or a drier entry in dry_room_classes",
                )
        names = [m.name for m in self.materials]
        for k, name in enumerate(names):
            if name in names[:k]:
                raise _problem(
                    f"materials[{k}].name",
                    "material names must be unique",
                    name,
                    "a name not used by another material",
                )
        return self

    def dry_room_class(self) -> DryRoomClass | None:
        """The cheapest class that is at least as dry as required: the wettest class whose
        dew point is at or below the required one (``None`` without a dry room)."""
        if self.dry_room is None:
            return None
        dry_enough = [
            c for c in self.dry_room_classes if c.dew_point_c <= self.dry_room.dew_point_c
        ]
        return max(dry_enough, key=lambda c: c.dew_point_c, default=None)
