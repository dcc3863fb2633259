"""The cost model (BatPaC-style): capex, annual cost by category, cost per good kWh, energy.

Pure functions of a :class:`~linesim.spec.LineSpec` with a ``cost:`` block and an
:class:`OutputBasis` – the line's good output and how many cells each station processes per
good cell, either from the static capacity analysis or from simulation.

Per year, with H the production hours, G good cells and E_good = G × kWh per cell:

- capex C = Σ machines × capex + dry room (area × class $/m²) + building (area × $/m²) + facility
  + atmosphere (H2S sensors and scrubber, :class:`~linesim.spec.cost_inputs.Atmosphere`);
- depreciation D = (equipment + dry room + facility + atmosphere) ÷ equipment life + building ÷
  building life;
- labour L = (Σ machines × operators per machine × the station's working hours + indirect
  operators × the line's working hours) × wage;
- energy E = [Σ machines × kW × H × (busy share + idle_power_fraction × idle share) + (dry
  room kW + facility kW) × 8,760 h] × price: a machine draws its ``power_kw`` while it
  processes or reworks, ``idle_power_fraction`` of it while it waits, is stopped, changed
  over, repaired or maintained, and nothing off shift (the shares come from the output
  basis: simulated state times, or the static operating point); the dry room, utilities and
  the H2S scrubber run all year;
- atmosphere A = inert gas m³/h × 8,760 h × price + scrubber consumables; moisture excursions
  scrap N = excursions × cells per excursion good cells a year, so the good output is G − N;
- escapes X = G × shipped-defective cells per good cell × ``escape_cost_usd``;
- materials M = G × Σ_m q_m × kWh_cell ÷ u_m × price_m × n_m, with n_m the cells processed at
  the material's entry station per good cell (1 ÷ Y when it enters at the first station);
  the part for the good cells, n_m = 1, is reported as *materials* and the rest as *scrap*;
- overheads per :class:`~linesim.spec.cost_inputs.Overheads`;
- cost per good kWh = (D + L + E + M + X + A + overheads) ÷ E_good, in USD/kWh and CNY/Wh.

One OEE: the output basis carries the line's OEE — simulated, or the static estimate from
the same loss parameters — and the ramp-up uses it as the mature OEE; a config's
``ramp_up.oee_mature`` is only checked against it (:attr:`CostReport.warnings`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from linesim.economics.basis import (
    OutputBasis,
    simulated_basis,
    static_basis,
    static_capacity_gwh,
)
from linesim.errors import UsageError
from linesim.spec import LineSpec, Station
from linesim.spec.cost_inputs import CostInputs, Overheads
from linesim.yield_model import yield_waterfall

__all__ = [
    "HOURS_PER_CALENDAR_YEAR",
    "OutputBasis",
    "static_basis",
    "simulated_basis",
    "cost_inputs",
    "station_capex_usd",
    "building_area_m2",
    "dry_room_area_m2",
    "dry_room_capex_usd",
    "dry_room_power_kw",
    "facility_capex_at_usd",
    "facility_capex_usd",
    "static_capacity_gwh",
    "facility_power_kw",
    "Capex",
    "EnergyIntensity",
    "MaterialCost",
    "capex",
    "annual_depreciation_usd",
    "labour_hours_per_year",
    "Energy",
    "energy_per_year",
    "material_usd_per_processed_cell",
    "AnnualCost",
    "annual_cost",
    "usd_per_kwh_to_cny_per_wh",
    "CostReport",
    "cost_report",
    "oee_warnings",
    "atmosphere_capex_usd",
    "buffer_capex_usd",
    "buffer_footprint_m2",
    "atmosphere_opex_usd_per_year",
    "excursion_cells_per_year",
    "OEE_TOLERANCE",
]

HOURS_PER_CALENDAR_YEAR = 8760.0


def cost_inputs(spec: LineSpec) -> CostInputs:
    """The spec's cost block, or a usage error saying how to add one."""
    if spec.cost is None:
        raise UsageError(
            f"line {spec.name!r} has no cost inputs: add a 'cost:' block to its "
            "config (see configs/README.md, section 'Cost inputs')"
        )
    return spec.cost


# --- capex ----------------------------------------------------------------------------------
def station_capex_usd(station: Station) -> float:
    """Installed equipment cost of a station: Σ_options machines × capex per machine [USD]."""
    return sum(e.count * e.capex_usd for e in station.equipment())


def _footprint_m2(station: Station) -> float:
    return sum(e.count * e.footprint_m2 for e in station.equipment())


def buffer_capex_usd(spec: LineSpec) -> float:
    """Buffers: Σ_stations buffer_after × the price of one position (``buffer_slot``, the
    station's or the line's; 0 where none is given) [USD]."""
    total = 0.0
    for station in spec.stations:
        slot = spec.buffer_slot_of(station)
        if slot is not None:
            total += station.buffer_after * slot.capex_usd
    return total


def buffer_footprint_m2(spec: LineSpec, dry_room: bool = False) -> float:
    """Floor of the priced buffers: Σ buffer_after × the floor of one position (over the
    buffers after dry-room stations only, with ``dry_room``: those stand in the dry room)
    [m²]."""
    total = 0.0
    for station in spec.stations:
        slot = spec.buffer_slot_of(station)
        if slot is not None and (station.dry_room or not dry_room):
            total += station.buffer_after * slot.footprint_m2
    return total


def building_area_m2(spec: LineSpec) -> float:
    """Building floor area: ``building.area_m2``, else area_factor × Σ footprints of the
    machines and of the priced buffers' positions [m²]."""
    building = cost_inputs(spec).building
    if building.area_m2 is not None:
        return building.area_m2
    machines = sum(_footprint_m2(s) for s in spec.stations)
    return building.area_factor * (machines + buffer_footprint_m2(spec))


def dry_room_area_m2(spec: LineSpec) -> float:
    """Dry-room floor: ``dry_room.area_m2``, else access_factor × Σ footprints of the machines
    at dry-room stations and of the priced buffer positions after them [m²] (0 without a dry
    room)."""
    room = cost_inputs(spec).dry_room
    if room is None:
        return 0.0
    if room.area_m2 is not None:
        return room.area_m2
    machines = sum(_footprint_m2(s) for s in spec.stations if s.dry_room)
    return room.access_factor * (machines + buffer_footprint_m2(spec, dry_room=True))


def dry_room_capex_usd(cost: CostInputs, area_m2: float | None = None) -> float:
    """Dry-room fit-out: area × $/m² of the cheapest class dry enough [USD]. ``area_m2``
    defaults to the configured area (0 for a room that grows with the layout: pass
    :func:`dry_room_area_m2`)."""
    room, cls = cost.dry_room, cost.dry_room_class()
    if room is None or cls is None:
        return 0.0
    area = area_m2 if area_m2 is not None else (room.area_m2 or 0.0)
    return area * cls.usd_per_m2


def dry_room_power_kw(cost: CostInputs, area_m2: float | None = None) -> float:
    """Dry-room average draw: area × W/m² of its class ÷ 1000 [kW] (area as
    :func:`dry_room_capex_usd`)."""
    room, cls = cost.dry_room, cost.dry_room_class()
    if room is None or cls is None:
        return 0.0
    area = area_m2 if area_m2 is not None else (room.area_m2 or 0.0)
    return area * cls.power_w_per_m2 / 1000.0


def facility_scale(spec: LineSpec, exponent: float) -> float:
    """(G / G_ref)^p with G the line's static capacity [GWh/yr] (1 without a reference)."""
    facility = cost_inputs(spec).facility
    if facility.reference_gwh is None:
        return 1.0
    return (static_capacity_gwh(spec) / facility.reference_gwh) ** exponent


def facility_capex_at_usd(cost: CostInputs, capacity_gwh: float) -> float:
    """Facility capex of a line whose static capacity is ``capacity_gwh`` [GWh/yr]:
    capex_ref × (G / G_ref)^p, or capex_ref without a reference [USD]. Non-decreasing in G
    (p ≥ 0), which the optimiser's budget loop relies on."""
    f = cost.facility
    if not f.capex_usd:
        return 0.0
    if f.reference_gwh is None:
        return f.capex_usd
    return f.capex_usd * (max(capacity_gwh, 0.0) / f.reference_gwh) ** f.capex_exponent


def facility_capex_usd(spec: LineSpec) -> float:
    """Facility capex, scaled with the line's capacity when ``facility.reference_gwh`` is set."""
    f = cost_inputs(spec).facility
    return f.capex_usd * facility_scale(spec, f.capex_exponent) if f.capex_usd else 0.0


def facility_power_kw(spec: LineSpec) -> float:
    """Facility power, scaled likewise [kW]."""
    f = cost_inputs(spec).facility
    return f.power_kw * facility_scale(spec, f.power_exponent) if f.power_kw else 0.0


@dataclass(frozen=True)
class Capex:
    """Investment by item [USD]."""

    equipment_by_station: dict[str, float]
    equipment: float
    dry_room: float
    building: float
    facility: float
    building_area_m2: float
    atmosphere: float = 0.0  #: H2S sensors and scrubber
    buffers: float = 0.0  #: priced buffer positions (conveyors, racks), depreciated as equipment

    @property
    def total(self) -> float:
        return (
            self.equipment
            + self.dry_room
            + self.building
            + self.facility
            + self.atmosphere
            + self.buffers
        )


def capex(spec: LineSpec) -> Capex:
    """Capex of a line: equipment by station, dry room, building and facility [USD]."""
    cost = cost_inputs(spec)
    by_station = {s.id: station_capex_usd(s) for s in spec.stations}
    area = building_area_m2(spec)
    return Capex(
        equipment_by_station=by_station,
        equipment=sum(by_station.values()),
        dry_room=dry_room_capex_usd(cost, dry_room_area_m2(spec)),
        building=area * cost.building.usd_per_m2,
        facility=facility_capex_usd(spec),
        building_area_m2=area,
        atmosphere=atmosphere_capex_usd(cost),
        buffers=buffer_capex_usd(spec),
    )


def atmosphere_capex_usd(cost: CostInputs) -> float:
    """H2S sensors × price + scrubber [USD] (0 without an ``atmosphere`` block)."""
    a = cost.atmosphere
    return 0.0 if a is None else a.h2s_sensors * a.usd_per_sensor + a.scrubber_capex_usd


def atmosphere_opex_usd_per_year(cost: CostInputs) -> float:
    """Inert gas m³/h × 8,760 h × USD/m³ + scrubber consumables [USD/yr]."""
    a = cost.atmosphere
    if a is None:
        return 0.0
    gas = a.inert_gas_m3_per_h * HOURS_PER_CALENDAR_YEAR * a.inert_gas_usd_per_m3
    return gas + a.consumables_usd_per_year


def excursion_cells_per_year(cost: CostInputs) -> float:
    """Good cells lost a year to moisture excursions [cells/yr]."""
    from linesim.spec.route_physics import excursion_cells_per_year as cells

    a = cost.atmosphere
    return 0.0 if a is None else cells(a.excursions_per_year, a.cells_per_excursion)


def annual_depreciation_usd(c: Capex, cost: CostInputs) -> float:
    """Straight line: (equipment + dry room + facility) ÷ equipment life + building ÷ building
    life [USD/yr]."""
    life = cost.depreciation
    return (
        c.equipment + c.dry_room + c.facility + c.atmosphere + c.buffers
    ) / life.equipment_years + c.building / life.building_years


# --- labour and energy ----------------------------------------------------------------------
def _operators(station: Station) -> float:
    return sum(e.count * e.operators_per_machine for e in station.equipment())


def labour_hours_per_year(spec: LineSpec) -> dict[str, float]:
    """Direct labour hours per year by station, plus ``indirect`` [h/yr]: operators × the
    working hours of the station's calendar (the line's for indirect operators)."""
    cal = spec.calendar
    out = {
        s.id: _operators(s) * cal.working_hours_per_year(s.working_pattern(cal))
        for s in spec.stations
    }
    out["indirect"] = cost_inputs(spec).labour.indirect_operators * cal.working_hours_per_year()
    return out


@dataclass(frozen=True)
class Energy:
    """Electricity use per year [kWh/yr]."""

    machines_by_station: dict[str, float]
    dry_room: float
    facility: float
    atmosphere: float = 0.0  #: the H2S scrubber, round the clock

    @property
    def machines(self) -> float:
        return sum(self.machines_by_station.values())

    @property
    def total(self) -> float:
        return self.machines + self.dry_room + self.facility + self.atmosphere


def energy_per_year(spec: LineSpec, basis: OutputBasis | None = None) -> Energy:
    """Machines: Σ machines × kW × H × (busy share + idle fraction × idle share), the shares
    from ``basis`` (default: the static one); dry room and facility: kW × 8,760 h [kWh/yr]."""
    cost = cost_inputs(spec)
    basis = basis or static_basis(spec)
    hours = spec.calendar.year_hours
    by_station = {}
    for j, s in enumerate(spec.stations):
        busy, working = basis.busy_shares[j], basis.working_shares[j]
        duty = busy + s.idle_power_fraction * max(working - busy, 0.0)
        by_station[s.id] = sum(e.count * e.power_kw for e in s.equipment()) * hours * duty
    return Energy(
        machines_by_station=by_station,
        dry_room=dry_room_power_kw(cost, dry_room_area_m2(spec)) * HOURS_PER_CALENDAR_YEAR,
        facility=facility_power_kw(spec) * HOURS_PER_CALENDAR_YEAR,
        atmosphere=(0.0 if cost.atmosphere is None else cost.atmosphere.scrubber_power_kw)
        * HOURS_PER_CALENDAR_YEAR,
    )


# --- materials ------------------------------------------------------------------------------
def usd_per_unit(price: float, currency: str, cost: CostInputs) -> float:
    """A price in USD (CNY prices divided by ``currency.cny_per_usd``)."""
    return price if currency == "USD" else price / cost.currency.cny_per_usd


def material_usd_per_processed_cell(spec: LineSpec) -> list[float]:
    """Material cost that enters a cell at each station, per cell processed there [USD/cell].

    For each material, q × kWh per cell ÷ utilisation × price, added at its entry station.
    """
    cost = cost_inputs(spec)
    kwh = spec.product.energy_kwh
    out = [0.0] * len(spec.stations)
    for m in cost.materials:
        j = 0 if m.enters_at is None else spec.station_index(m.enters_at)
        out[j] += (
            m.quantity_per_kwh
            * kwh
            / m.utilisation
            * usd_per_unit(m.price_per_unit, m.currency, cost)
        )
    return out


# --- annual cost ----------------------------------------------------------------------------
@dataclass(frozen=True)
class AnnualCost:
    """Cost per year by category [USD/yr]; ``overheads`` itemises the overhead total."""

    depreciation: float
    labour: float
    energy: float
    materials: float
    scrap: float
    overheads: dict[str, float]
    escapes: float = 0.0  #: defective cells shipped × escape_cost_usd
    atmosphere: float = 0.0  #: inert gas and scrubber consumables

    @property
    def overhead_total(self) -> float:
        return sum(self.overheads.values())

    @property
    def total(self) -> float:
        return (
            self.depreciation
            + self.labour
            + self.energy
            + self.materials
            + self.scrap
            + self.escapes
            + self.atmosphere
            + self.overhead_total
        )

    def categories(self) -> dict[str, float]:
        """Category → USD/yr, in report order (``atmosphere`` only for a line that has one)."""
        out = {
            "depreciation": self.depreciation,
            "labour": self.labour,
            "energy": self.energy,
            "materials": self.materials,
            "scrap": self.scrap,
            "escapes": self.escapes,
        }
        if self.atmosphere:
            out["atmosphere"] = self.atmosphere
        out["overheads"] = self.overhead_total
        return out


def overheads_usd(
    rates: Overheads,
    depreciation: float,
    labour: float,
    energy: float,
    materials: float,
    investment: float,
) -> dict[str, float]:
    """BatPaC-style overheads per year [USD/yr] (formulas: :class:`Overheads`)."""
    D, L, E, M = depreciation, labour, energy, materials
    out = {
        "variable_overhead": rates.voh_of_labour * L + rates.voh_of_depreciation * D,
        "gsa": rates.gsa_of_labour * L + rates.gsa_of_depreciation * D,
        "rnd": rates.rnd_of_depreciation * D,
        "launch": rates.launch_of_materials * M + rates.launch_of_labour * L,
    }
    working_capital = rates.working_capital_of_variable * (M + L + E)
    out["profit"] = rates.profit_of_investment * (investment + working_capital)
    out["warranty"] = rates.warranty_of_cost * (D + L + E + M + sum(out.values()))
    return out


def annual_cost(spec: LineSpec, basis: OutputBasis, investment: Capex | None = None) -> AnnualCost:
    """Annual cost of running the line at ``basis`` output [USD/yr]; ``investment`` replaces
    the line's greenfield :func:`capex` (a brownfield conversion's, say)."""
    cost = cost_inputs(spec)
    c = investment or capex(spec)
    depreciation = annual_depreciation_usd(c, cost)
    labour = sum(labour_hours_per_year(spec).values()) * cost.labour.wage_usd_per_h
    energy = energy_per_year(spec, basis).total * cost.electricity.usd_per_kwh
    good_per_year = basis.good_cells_per_h * spec.calendar.year_hours
    escapes = good_per_year * basis.shipped_defective_per_good_cell * cost.escape_cost_usd
    per_cell = material_usd_per_processed_cell(spec)
    materials = good_per_year * sum(per_cell)
    scrap = good_per_year * sum(
        v * (n - 1.0) for v, n in zip(per_cell, basis.processed_per_good_cell) if v > 0
    )
    return AnnualCost(
        depreciation=depreciation,
        labour=labour,
        energy=energy,
        materials=materials,
        scrap=scrap,
        escapes=escapes,
        atmosphere=atmosphere_opex_usd_per_year(cost),
        overheads=overheads_usd(
            cost.overheads, depreciation, labour, energy, materials + scrap, c.total
        ),
    )


def usd_per_kwh_to_cny_per_wh(usd_per_kwh: float, cny_per_usd: float) -> float:
    """USD/kWh × CNY/USD ÷ 1000 Wh/kWh → CNY/Wh."""
    return usd_per_kwh * cny_per_usd / 1000.0


# --- value added and scrap by step ----------------------------------------------------------
def value_added_usd_per_cell(spec: LineSpec, basis: OutputBasis) -> list[float]:
    """Value each station adds to a cell it processes [USD/cell].

    Materials entering there plus the station's direct conversion cost (its depreciation,
    operators and machine energy) per cell it processes. Shared costs (building, dry room,
    facility, indirect labour, overheads) are not allocated.
    """
    cost = cost_inputs(spec)
    hours = spec.calendar.year_hours
    good_per_year = basis.good_cells_per_h * hours
    energy = energy_per_year(spec, basis).machines_by_station
    labour = labour_hours_per_year(spec)
    materials = material_usd_per_processed_cell(spec)
    out = []
    for j, station in enumerate(spec.stations):
        conversion = (
            station_capex_usd(station) / cost.depreciation.equipment_years
            + labour[station.id] * cost.labour.wage_usd_per_h
            + energy[station.id] * cost.electricity.usd_per_kwh
        )
        processed = good_per_year * basis.processed_per_good_cell[j]
        out.append(materials[j] + (conversion / processed if processed > 0 else 0.0))
    return out


@dataclass(frozen=True)
class ScrapStep:
    """Cost of the cells whose first defect is made at one step [per year]."""

    id: str
    detected_at: str
    cells_per_year: float
    value_usd_per_cell: float  #: value added up to and including the detection station
    usd_per_year: float
    cause: str = "defects"  #: "defects", "start-up scrap" (after changeovers), "moisture excursion"


def scrap_by_step(spec: LineSpec, basis: OutputBasis) -> list[ScrapStep]:
    """Cells scrapped per year by the step that made them defective, and the value lost.

    Start-up scrap first: every cell started beyond G ÷ Y (G good cells a year, Y = ∏(1 − p)),
    shared between the stations by the start-up scrap they make. Then the defects of the G ÷ Y
    other cells: the share whose first defect is made at step i is ∏_{k<i}(1 − p_k)·p_i (the
    yield waterfall); each is worth
    the value added up to its detection point. The conversion part of this value is already in
    the depreciation, labour and energy categories – this table attributes, it does not add.
    """
    from linesim.capacity import startup_scrap_shares

    value = value_added_usd_per_cell(spec, basis)
    good = basis.good_cells_per_h * spec.calendar.year_hours
    # the defects of the waterfall act on the cells that are not start-up scrap: G ÷ Y of them
    started = good / basis.line_yield if basis.line_yield > 0 else 0.0
    out = []
    shares = startup_scrap_shares(spec)
    weights = [good * n * s for n, s in zip(basis.processed_per_good_cell, shares)]
    startup = good * basis.processed_per_good_cell[0] - started  # every other scrapped cell
    for j, w in enumerate(weights):
        if w > 0:
            cells = startup * w / sum(weights)
            sid = spec.stations[j].id
            upto = sum(value[: j + 1])
            out.append(ScrapStep(sid, sid, cells, upto, cells * upto, "start-up scrap"))
    for step in yield_waterfall(spec, value):
        worth = step.value_added_usd_per_cell
        assert worth is not None, "yield_waterfall gives every step a value when given values"
        cells = started * step.lost_per_1000 / 1000.0
        out.append(
            ScrapStep(
                id=step.id,
                detected_at=step.detected_at,
                cells_per_year=cells,
                value_usd_per_cell=worth,
                usd_per_year=cells * worth,
            )
        )
    return out


# --- the report -----------------------------------------------------------------------------
@dataclass(frozen=True)
class EnergyIntensity:
    """Electricity per good kWh of cells [kWh/kWh], by consumer."""

    machines: float
    dry_room: float
    facility: float
    total: float
    atmosphere: float = 0.0  #: the H2S scrubber


@dataclass(frozen=True)
class MaterialCost:
    """One material of the bill: its price as cited, and what it costs per good kWh."""

    name: str
    quantity_per_kwh: float  #: in ``unit`` per kWh of cells
    unit: str
    price_per_unit: float  #: in ``currency`` per ``unit``
    currency: str
    price_date: str  #: ISO date of the price
    utilisation: float  #: share of the bought material that ends in a cell
    enters_at: str  #: station where it enters the cell
    usd_per_kwh_good: float  #: USD per good kWh, scrap at later steps included
    source: str


@dataclass(frozen=True)
class CostReport:
    """Everything the cost model says about one line (amounts in USD unless named CNY)."""

    line: str
    basis: str
    good_cells_per_year: float
    good_kwh_per_year: float
    output_gwh_per_year: float
    line_yield: float
    cny_per_usd: float
    capex: Capex
    capex_usd_per_gwh: float  #: total capex ÷ good output [USD per GWh/yr]
    capex_bn_cny_per_gwh: float
    annual: AnnualCost
    usd_per_kwh: dict[str, float]  #: category → USD per good kWh, plus "total"
    cny_per_wh: float
    energy: Energy
    energy_kwh_per_kwh: EnergyIntensity  #: electricity per good kWh, by consumer
    labour_hours_per_year: float
    direct_fte: float
    materials: tuple[MaterialCost, ...]  #: per material: price, date, source, USD per good kWh
    scrap_by_step: tuple[ScrapStep, ...]
    oee: float = float("nan")  #: the line OEE the output stands on (one OEE: see the module)
    shipped_defective_cells_per_year: float = 0.0
    warnings: tuple[str, ...] = ()  #: inputs that disagree with the model (e.g. oee_mature)
    excursion_cells_per_year: float = 0.0  #: good cells lost to moisture excursions

    @property
    def total_usd_per_kwh(self) -> float:
        return self.usd_per_kwh["total"]

    def to_dict(self) -> dict:
        """Plain data (``linesim cost --json``'s ``cost``). The amounts of ``annual`` are USD per
        year and those of ``energy`` kWh per year; each also appears under a name that carries
        its unit (``energy_usd_per_year`` against ``total_kwh_per_year``), and the two that are
        most often confused at the top level: ``energy_cost_usd_per_year`` and
        ``energy_kwh_per_year``."""
        out = asdict(self)
        out["capex"]["total"] = self.capex.total
        out["capex"] |= {
            f"{k}_usd": v
            for k, v in (
                ("equipment", self.capex.equipment),
                ("dry_room", self.capex.dry_room),
                ("building", self.capex.building),
                ("facility", self.capex.facility),
                ("buffers", self.capex.buffers),
                ("total", self.capex.total),
            )
        }
        out["annual"]["overhead_total"] = self.annual.overhead_total
        out["annual"]["total"] = self.annual.total
        out["annual"] |= {f"{k}_usd_per_year": v for k, v in self.annual.categories().items()}
        out["annual"]["total_usd_per_year"] = self.annual.total
        out["energy"]["machines"] = self.energy.machines
        out["energy"]["total"] = self.energy.total
        out["energy"] |= {
            "machines_kwh_per_year": self.energy.machines,
            "dry_room_kwh_per_year": self.energy.dry_room,
            "facility_kwh_per_year": self.energy.facility,
            "total_kwh_per_year": self.energy.total,
        }
        out["energy_cost_usd_per_year"] = self.annual.energy
        out["energy_kwh_per_year"] = self.energy.total
        return out


def cost_report(spec: LineSpec, basis: OutputBasis | None = None) -> CostReport:
    """The cost of a line at ``basis`` output (default: its static capacity).

    Raises :class:`~linesim.errors.UsageError` if the spec has no ``cost:`` block.
    """
    cost = cost_inputs(spec)
    basis = basis or static_basis(spec)
    hours, kwh_cell = spec.calendar.year_hours, spec.product.energy_kwh
    excursions = excursion_cells_per_year(cost)
    good_cells = max(basis.good_cells_per_h * hours - excursions, 0.0)
    good_kwh = good_cells * kwh_cell
    if not good_kwh > 0:
        simulated = basis.source.startswith("simulation")
        raise UsageError(
            f"line {spec.name!r} makes no good cells ({basis.source}), so there is no cost per "
            "good kWh; allowed: "
            + (
                "a simulation long enough for good cells to leave the line (a longer horizon)"
                if simulated
                else "a line whose every station has capacity and passes good cells on"
            )
        )
    c = capex(spec)
    annual = annual_cost(spec, basis, c)
    per_kwh = {k: v / good_kwh for k, v in annual.categories().items()}
    per_kwh["total"] = annual.total / good_kwh
    energy = energy_per_year(spec, basis)
    labour_h = sum(labour_hours_per_year(spec).values())
    gwh = good_kwh / 1e6
    return CostReport(
        line=spec.name,
        basis=basis.source,
        good_cells_per_year=good_cells,
        good_kwh_per_year=good_kwh,
        output_gwh_per_year=gwh,
        line_yield=basis.line_yield,
        cny_per_usd=cost.currency.cny_per_usd,
        capex=c,
        capex_usd_per_gwh=c.total / gwh,
        capex_bn_cny_per_gwh=c.total / gwh * cost.currency.cny_per_usd / 1e9,
        annual=annual,
        usd_per_kwh=per_kwh,
        cny_per_wh=usd_per_kwh_to_cny_per_wh(per_kwh["total"], cost.currency.cny_per_usd),
        energy=energy,
        energy_kwh_per_kwh=EnergyIntensity(
            machines=energy.machines / good_kwh,
            dry_room=energy.dry_room / good_kwh,
            facility=energy.facility / good_kwh,
            total=energy.total / good_kwh,
            atmosphere=energy.atmosphere / good_kwh,
        ),
        labour_hours_per_year=labour_h,
        direct_fte=labour_h / cost.labour.hours_per_fte,
        materials=tuple(_material_rows(spec, basis, good_cells)),
        scrap_by_step=tuple(scrap_by_step(spec, basis) + _excursion_rows(spec, basis, excursions)),
        oee=basis.oee,
        shipped_defective_cells_per_year=good_cells * basis.shipped_defective_per_good_cell,
        warnings=tuple(oee_warnings(spec, basis)),
        excursion_cells_per_year=excursions,
    )


#: How far a config's ``ramp_up.oee_mature`` may lie from the line's OEE before a warning.
OEE_TOLERANCE = 0.05


def oee_warnings(spec: LineSpec, basis: OutputBasis) -> list[str]:
    """The config's declared mature OEE against the line's own (one OEE: the model uses the
    line's; a far-off declaration is worth a warning, not a second number)."""
    ramp = cost_inputs(spec).ramp_up
    if ramp is None or ramp.oee_mature is None or basis.oee != basis.oee:
        return []
    if abs(ramp.oee_mature - basis.oee) <= OEE_TOLERANCE:
        return []
    return [
        f"cost.ramp_up.oee_mature {ramp.oee_mature:.2f} disagrees with the line's OEE "
        f"{basis.oee:.3f} ({basis.source}) by more than {OEE_TOLERANCE}; the cost model and "
        "the ramp-up use the line's OEE (its losses are in the stations' calendar, "
        "planned_maintenance, changeover, minor_stops and breakdown fields)"
    ]


def _excursion_rows(spec: LineSpec, basis: OutputBasis, cells: float) -> list[ScrapStep]:
    """The lots moisture excursions scrap, at the last dry-room station (the value added up to
    it is lost)."""
    if not cells:
        return []
    rooms = [j for j, s in enumerate(spec.stations) if s.dry_room]
    j = rooms[-1] if rooms else 0
    sid = spec.stations[j].id
    worth = sum(value_added_usd_per_cell(spec, basis)[: j + 1])
    return [ScrapStep(sid, sid, cells, worth, cells * worth, "moisture excursion")]


def _material_rows(spec: LineSpec, basis: OutputBasis, good_cells: float) -> list[MaterialCost]:
    """Per material, USD per good kWh: bought for the basis' cells, spread over the good cells
    left after moisture excursions (``good_cells`` a year)."""
    cost = cost_inputs(spec)
    bought_for = basis.good_cells_per_h * spec.calendar.year_hours
    spread = bought_for / good_cells if good_cells > 0 else 1.0
    rows = []
    for m in cost.materials:
        j = 0 if m.enters_at is None else spec.station_index(m.enters_at)
        good = m.quantity_per_kwh / m.utilisation * usd_per_unit(m.price_per_unit, m.currency, cost)
        rows.append(
            MaterialCost(
                name=m.name,
                quantity_per_kwh=m.quantity_per_kwh,
                unit=m.unit,
                price_per_unit=m.price_per_unit,
                currency=m.currency,
                price_date=m.price_date.isoformat(),
                utilisation=m.utilisation,
                enters_at=spec.stations[j].id,
                usd_per_kwh_good=good * basis.processed_per_good_cell[j] * spread,
                source=m.source,
            )
        )
    return rows
