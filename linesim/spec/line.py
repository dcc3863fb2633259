"""The line specification: frozen, validated data describing a production line.

A :class:`LineSpec` is built once by :func:`linesim.load_line` and never changes afterwards.
Every number is bounded at its type (probabilities in [0, 1], times and rates > 0, counts ≥ 0,
and the ceilings from physics and the machine listed in :mod:`linesim.spec.base`), units are
part of every field name, and no validator edits the data it checks.

Nomenclature (units in the field names):

- ``web_width_m``, ``web_speed_m_per_min``, ``area_per_cell_m2`` – roll-to-roll stations;
- ``time_per_sheet_s``, ``sheets_per_cell`` – sheet stations (cutting, stacking);
- ``cycle_time_s`` – seconds per cell (discrete) or per batch (batch);
- ``batch_size`` – cells per batch, ``max_wait_s`` – longest wait for a full batch;
- ``mtbf_h``, ``mttr_h`` – mean operating time between failures, mean time to repair (hours);
- ``capex_usd`` – installed cost per machine, ``footprint_m2`` per machine, ``power_kw`` per
  machine (average draw while the line runs), ``operators_per_machine`` – direct operators per
  machine while the line runs (0.25: one operator tends four machines);
- ``optional`` – the optimiser may leave the station out; ``omission_effects`` maps later station
  ids to the extra, independent defect probability δ they get without it, so their yield becomes
  (1 − p)(1 − δ); ``machines_max`` bounds the optimiser's count per equipment option;
- ``cost`` – the line's cost inputs (:mod:`linesim.spec.cost_inputs`), optional.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from linesim.spec.base import (
    MAX_MACHINES,
    MAX_OPTIONS,
    MAX_SERVICE_S,
    MAX_STATIONS,
    MIN_SERVICE_S,
    BatchCells,
    BufferCells,
    ClockHours,
    NonNegativeFloat,
    PositiveFloat,
    PrintableName,
    Probability,
    ServiceSeconds,
)
from linesim.spec.base import Frozen as _Frozen
from linesim.spec.base import problem as _problem
from linesim.spec.correlation import RankCorrelation
from linesim.spec.cost_inputs import CostInputs
from linesim.spec.losses import (
    CONTINUOUS,
    Calendar,
    Changeover,
    MinorStops,
    PlannedMaintenance,
    Rework,
    ShiftPattern,
)
from linesim.spec.process import WINDOW_KINDS, ExposureWindow, ProcessWindow

__all__ = [
    "KINDS",
    "KIND_FIELDS",
    "DISTRIBUTIONS",
    "BufferSlot",
    "Calendar",
    "Equipment",
    "EquipmentOption",
    "LineSpec",
    "Product",
    "Station",
]

# --- bounded scalar types ---------------------------------------------------------------------
StationId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Name = Annotated[PrintableName, Field(min_length=1)]
#: A coefficient of variation above 10 describes no process time (σ = 10 × the mean).
VariationCoefficient = Annotated[float, Field(gt=0.0, le=10.0)]

Kind = Literal["continuous", "sheet", "discrete", "batch"]
Distribution = Literal["deterministic", "exponential", "lognormal", "gamma"]
KINDS: tuple[str, ...] = ("continuous", "sheet", "discrete", "batch")
DISTRIBUTIONS: tuple[str, ...] = ("deterministic", "exponential", "lognormal", "gamma")

#: Capacity fields each kind needs; every other capacity field is refused for that kind.
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "continuous": ("web_width_m", "web_speed_m_per_min", "area_per_cell_m2"),
    "sheet": ("time_per_sheet_s", "sheets_per_cell"),
    "discrete": ("cycle_time_s",),
    "batch": ("batch_size", "cycle_time_s"),
}
CAPACITY_FIELDS: tuple[str, ...] = (
    "web_width_m",
    "web_speed_m_per_min",
    "area_per_cell_m2",
    "time_per_sheet_s",
    "sheets_per_cell",
    "cycle_time_s",
    "batch_size",
)
#: Fields an equipment option carries; on a station with options they belong to the options.
EQUIPMENT_FIELDS: tuple[str, ...] = CAPACITY_FIELDS + (
    "defect_probability",
    "capex_usd",
    "footprint_m2",
    "power_kw",
    "operators_per_machine",
    "mtbf_h",
    "mttr_h",
)
DEFAULT_OPTION = "default"
#: Share of ``power_kw`` a machine draws while it waits (starved, blocked, stopped, under
#: repair or maintenance) unless a station says otherwise; off shift it draws nothing.
DEFAULT_IDLE_POWER_FRACTION = 0.3


class _Capacity(_Frozen):
    """Capacity fields shared by stations and equipment options (which ones apply: ``kind``)."""

    web_width_m: PositiveFloat | None = None
    web_speed_m_per_min: PositiveFloat | None = None
    area_per_cell_m2: PositiveFloat | None = None
    time_per_sheet_s: ServiceSeconds | None = None
    sheets_per_cell: PositiveFloat | None = None
    cycle_time_s: ServiceSeconds | None = None
    batch_size: BatchCells | None = None
    mtbf_h: ClockHours | None = None
    mttr_h: ClockHours | None = None

    def _check_capacity(self, kind: str, prefix: str) -> None:
        """Raise if a field ``kind`` needs is missing or a field of another kind is set."""
        needed = KIND_FIELDS[kind]
        for field in CAPACITY_FIELDS:
            value = getattr(self, field)
            if field in needed and value is None:
                raise _problem(
                    prefix + field,
                    f"a {kind} station needs {field}",
                    None,
                    f"a value for each of {', '.join(needed)}",
                )
            if field not in needed and value is not None:
                raise _problem(
                    prefix + field,
                    f"{field} does not apply to a {kind} station",
                    value,
                    f"the {kind} capacity fields: {', '.join(needed)}",
                )
        self._check_time_per_cell(kind, prefix)
        if (self.mtbf_h is None) != (self.mttr_h is None):
            given, missing = ("mtbf_h", "mttr_h") if self.mttr_h is None else ("mttr_h", "mtbf_h")
            raise _problem(
                prefix + missing,
                f"{given} is set but {missing} is not",
                None,
                "both mtbf_h and mttr_h, or neither",
            )

    def _check_time_per_cell(self, kind: str, prefix: str) -> None:
        """A machine of a roll-to-roll or sheet station takes 1 ms to 30 days per cell, the
        bounds of a discrete or batch station's ``cycle_time_s`` (the rate formulas of
        :mod:`linesim.rates`, written out here because that module imports the spec)."""
        if kind == "continuous":
            field = "web_speed_m_per_min"
            how = "area_per_cell_m2 × 60 ÷ (web_width_m × web_speed_m_per_min)"
            width, speed, area = self.web_width_m, self.web_speed_m_per_min, self.area_per_cell_m2
            seconds = area * 60.0 / (width * speed)  # type: ignore[operator]
        elif kind == "sheet":
            field, how = "time_per_sheet_s", "time_per_sheet_s × sheets_per_cell"
            seconds = self.time_per_sheet_s * self.sheets_per_cell  # type: ignore[operator]
        else:
            return
        if not MIN_SERVICE_S <= seconds <= MAX_SERVICE_S:
            raise _problem(
                prefix + field,
                f"a machine would take {seconds:.3g} s per cell ({how})",
                getattr(self, field),
                f"values giving {MIN_SERVICE_S:g} s to {MAX_SERVICE_S:g} s (30 days) per cell",
            )


class BufferSlot(_Frozen):
    """What one cell position of a buffer costs: its share of an accumulating conveyor, WIP
    rack or magazine [USD] and the floor it takes [m²] (a dry-room station's buffer stands in
    the dry room). The simulation loop prices a larger buffer with it against a machine."""

    #: [USD per cell position]; a position dearer than 100,000 USD is a machine, not a slot
    capex_usd: Annotated[float, Field(ge=0.0, le=1e5)]
    #: [m² per cell position]; racks stack cells, so a position is well under a m²
    footprint_m2: Annotated[float, Field(ge=0.0, le=10.0)] = 0.0
    source: str = ""


class EquipmentOption(_Capacity):
    """One equipment alternative at a station (a vendor or a technology choice)."""

    name: StationId
    defect_probability: Probability = 0.0
    capex_usd: NonNegativeFloat = 0.0
    footprint_m2: NonNegativeFloat = 0.0
    power_kw: NonNegativeFloat = 0.0
    operators_per_machine: NonNegativeFloat = 0.0
    source: str = ""


class Station(_Capacity):
    """A process step with one or more parallel machines and a buffer after it."""

    id: StationId
    kind: Kind
    description: str = ""
    machines: int | dict[str, int] = 1
    process_time_dist: Distribution = "deterministic"
    process_time_cv: VariationCoefficient | None = None
    defect_probability: Probability = 0.0
    detected_at: StationId | None = None
    buffer_after: BufferCells = 0
    #: the price of one position of ``buffer_after`` (default: the line's ``buffer_slot``)
    buffer_slot: BufferSlot | None = None
    max_wait_s: ServiceSeconds | None = None
    capex_usd: NonNegativeFloat = 0.0
    footprint_m2: NonNegativeFloat = 0.0
    power_kw: NonNegativeFloat = 0.0
    operators_per_machine: NonNegativeFloat = 0.0
    dry_room: bool = False
    optional: bool = False
    omission_effects: dict[str, Probability] = {}
    machines_max: Annotated[int, Field(ge=1, le=MAX_MACHINES)] | None = None
    options: Annotated[
        tuple[EquipmentOption, ...], Field(strict=False, max_length=MAX_OPTIONS)
    ] = ()
    process: ProcessWindow | None = None
    calendar: Literal["continuous"] | ShiftPattern | None = None
    planned_maintenance: PlannedMaintenance | None = None
    changeover: Changeover | None = None
    minor_stops: MinorStops | None = None
    rework: Rework | None = None
    detection_efficiency: Probability = 1.0
    idle_power_fraction: Probability = DEFAULT_IDLE_POWER_FRACTION
    source: str = ""

    @field_validator("machines", mode="before")
    @classmethod
    def _machines_form(cls, value: object) -> object:
        """One clear message for machines of neither form (not pydantic's two union ones)."""
        if isinstance(value, dict | int) and not isinstance(value, bool):
            return value
        raise _problem(
            "",
            "machines is a whole number, or a count per equipment option",
            value,
            f"a whole number 1 to {MAX_MACHINES:,}, or a mapping option name → count",
        )

    @field_validator("calendar", mode="before")
    @classmethod
    def _calendar_form(cls, value: object) -> object:
        """One clear message for a calendar of neither form (not pydantic's two union ones)."""
        if value is None or value == CONTINUOUS or isinstance(value, dict | ShiftPattern):
            return value
        raise _problem(
            "",
            "a station's calendar is 'continuous' or its own shift pattern",
            value,
            "continuous, or {shifts_per_day, hours_per_shift, days_per_week}",
        )

    @model_validator(mode="after")
    def _check_station(self) -> Station:
        self._check_process()
        self._check_losses()
        if self.options:
            for field in EQUIPMENT_FIELDS:
                if field in self.model_fields_set:
                    raise _problem(
                        field,
                        f"{field} is given per equipment option on a station with options",
                        getattr(self, field),
                        "the field inside each entry of options",
                    )
            for k, option in enumerate(self.options):
                option._check_capacity(self.kind, f"options[{k}].")
            if not isinstance(self.machines, dict):
                raise _problem(
                    "machines",
                    "a station with options counts machines per option",
                    self.machines,
                    "a mapping option name → count, e.g. {"
                    + ", ".join(f"{o.name}: 1" for o in self.options)
                    + "}",
                )
        else:
            self._check_capacity(self.kind, "")
            if isinstance(self.machines, dict):
                raise _problem(
                    "machines",
                    "a mapping of machine counts needs equipment options",
                    self.machines,
                    "a whole number ≥ 1 (or add options)",
                )
        if isinstance(self.machines, dict):
            for name, count in self.machines.items():
                if not 0 <= count <= MAX_MACHINES:
                    raise _problem(
                        f"machines.{name}",
                        "a machine count is out of range",
                        count,
                        f"a whole number 0 to {MAX_MACHINES:,}",
                    )
            if sum(self.machines.values()) < 1:
                raise _problem(
                    "machines",
                    "the station has no machine",
                    self.machines,
                    "counts adding up to at least 1",
                )
        elif self.machines < 1:
            raise _problem(
                "machines", "the station has no machine", self.machines, "a whole number ≥ 1"
            )
        elif self.machines > MAX_MACHINES:
            raise _problem(
                "machines",
                "more machines than a station has",
                self.machines,
                f"a whole number 1 to {MAX_MACHINES:,}",
            )
        self._check_distribution()
        if self.omission_effects and not self.optional:
            raise _problem(
                "omission_effects",
                "only an optional station can be omitted",
                self.omission_effects,
                "optional: true, or no omission_effects",
            )
        if self.max_wait_s is not None and self.kind != "batch":
            raise _problem(
                "max_wait_s",
                "max_wait_s applies to batch stations only",
                self.max_wait_s,
                "no max_wait_s on a non-batch station",
            )
        return self

    def _check_process(self) -> None:
        """A process window fits the station's kind, and the fields it sets agree with it."""
        window = self.process
        if window is None:
            return
        if self.kind not in window.KINDS:
            raise _problem(
                "process.model",
                f"the {window.model} model does not apply to a {self.kind} station",
                window.model,
                "a model for this kind: "
                + ", ".join(m for m, k in WINDOW_KINDS.items() if self.kind in k.KINDS),
            )
        if self.options:
            raise _problem(
                "process",
                "process windows apply to stations without equipment options",
                window.model,
                "no process block, or no options",
            )
        for field, value in window.derive(self.model_dump()).items():
            given = getattr(self, field)
            if given is None or not math.isclose(given, value, rel_tol=1e-9, abs_tol=1e-12):
                setting = ", ".join(f"process.{n}" for n in window.SETTINGS)
                raise _problem(
                    field,
                    f"{field} is set by the station's process window "
                    f"({window.model}) at its settings",
                    given,
                    f"leave {field} out (it follows {setting}: {value:.6g})",
                )

    def _check_losses(self) -> None:
        co = self.changeover
        if co is not None and co.every_m is not None and self.kind != "continuous":
            raise _problem(
                "changeover.every_m",
                f"metres of web apply to roll-to-roll (continuous) stations, not {self.kind}",
                co.every_m,
                "every_cells",
            )
        if self.rework is not None and self.kind == "batch":
            raise _problem(
                "rework",
                "rework applies to stations that process cells one at a time",
                self.rework.model_dump(),
                "no rework at a batch station (rework the cells at a later inspection)",
            )

    def working_pattern(self, line: Calendar) -> ShiftPattern:
        """The pattern the station works to: its own, round the clock, or the line's."""
        if self.calendar == CONTINUOUS:
            return ShiftPattern()
        if isinstance(self.calendar, ShiftPattern):
            return self.calendar
        return line

    def _check_distribution(self) -> None:
        dist, cv = self.process_time_dist, self.process_time_cv
        if dist == "deterministic" and cv is not None:
            raise _problem(
                "process_time_cv",
                "deterministic times have no variation",
                cv,
                "no process_time_cv, or process_time_dist lognormal or gamma",
            )
        if dist == "exponential" and cv is not None and not math.isclose(cv, 1.0):
            raise _problem(
                "process_time_cv",
                "exponential times have cv = 1",
                cv,
                "1.0 or none; use lognormal or gamma for another cv",
            )
        if dist in ("lognormal", "gamma") and cv is None:
            raise _problem(
                "process_time_cv",
                f"{dist} times need a coefficient of variation",
                None,
                "a number > 0 (standard deviation ÷ mean)",
            )

    # --- resolved views (no algorithm, only normalisation of the two config forms) ------------
    def equipment(self) -> tuple[Equipment, ...]:
        """The station's machines grouped by equipment option, with counts (zero counts kept).

        Built once per station (a frozen spec never changes; every cost, capacity and yield
        formula asks for it, thousands of times per uncertainty sample otherwise)."""
        return self._equipment

    @cached_property
    def _equipment(self) -> tuple[Equipment, ...]:
        if not self.options:
            return (Equipment.of(DEFAULT_OPTION, int(self.machines), self, self),)  # type: ignore[arg-type]
        counts = self.machines if isinstance(self.machines, dict) else {}
        return tuple(Equipment.of(o.name, counts.get(o.name, 0), o, self) for o in self.options)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Station:
        """As pydantic's, without the equipment built for the original (an update may change
        it)."""
        out = super().model_copy(update=update, deep=deep)
        out.__dict__.pop("_equipment", None)
        return out

    @property
    def machine_count(self) -> int:
        """Total machines at the station, all options together."""
        return sum(e.count for e in self.equipment())


@dataclass(frozen=True)
class Equipment:
    """One group of identical machines at a station: an option (or the station itself) × count."""

    name: str
    count: int
    kind: str
    web_width_m: float | None
    web_speed_m_per_min: float | None
    area_per_cell_m2: float | None
    time_per_sheet_s: float | None
    sheets_per_cell: float | None
    cycle_time_s: float | None
    batch_size: int | None
    defect_probability: float
    mtbf_h: float | None
    mttr_h: float | None
    capex_usd: float
    footprint_m2: float
    power_kw: float
    operators_per_machine: float

    @classmethod
    def of(cls, name: str, count: int, src: _Capacity, station: Station) -> Equipment:
        fields = {f: getattr(src, f) for f in EQUIPMENT_FIELDS}
        return cls(name=name, count=count, kind=station.kind, **fields)


class Product(_Frozen):
    """The cell the line makes."""

    #: [kWh]; the largest cells hold about 1 kWh, so 1,000 kWh is no cell; thin-film
    #: micro-batteries hold about 1 mWh, so less than 1 mWh (1e-6 kWh) is none either
    energy_kwh: Annotated[float, Field(ge=1e-6, le=1000.0)]
    name: PrintableName = ""


class LineSpec(_Frozen):
    """A whole production line: product, calendar and stations in flow order."""

    name: Name
    description: str = ""
    sources: Annotated[tuple[str, ...], Field(strict=False)] = ()
    product: Product
    calendar: Calendar = Calendar()
    stations: Annotated[
        tuple[Station, ...], Field(strict=False, min_length=1, max_length=MAX_STATIONS)
    ]
    cost: CostInputs | None = None
    #: the price of a buffer position at every station that does not set its own; without
    #: one (here or at the station) a buffer is free and not a decision of the simulation loop
    buffer_slot: BufferSlot | None = None
    #: rank (Spearman) correlations between uncertain inputs (``linesim uncertainty``)
    correlations: Annotated[tuple[RankCorrelation, ...], Field(strict=False, max_length=1000)] = ()

    @model_validator(mode="after")
    def _check_references(self) -> LineSpec:
        """Every cross-reference in one place: ids, detection points, option names."""
        index: dict[str, int] = {}
        for i, station in enumerate(self.stations):
            if station.id in index:
                raise _problem(
                    f"stations[{i}].id",
                    "station ids must be unique",
                    station.id,
                    f"an id not used before (stations[{index[station.id]}] has it)",
                )
            index[station.id] = i
        for i, station in enumerate(self.stations):
            if station.detected_at is not None:
                j = index.get(station.detected_at)
                later = ", ".join(s.id for s in self.stations[i:])
                if j is None:
                    raise _problem(
                        f"stations[{i}].detected_at",
                        "unknown station id",
                        station.detected_at,
                        f"one of the station ids at or after this one: {later}",
                    )
                if j < i:
                    raise _problem(
                        f"stations[{i}].detected_at",
                        "a defect cannot be detected before it is made",
                        station.detected_at,
                        f"a station at or after this one: {later}",
                    )
            names = [o.name for o in station.options]
            for k, name in enumerate(names):
                if name in names[:k]:
                    raise _problem(
                        f"stations[{i}].options[{k}].name",
                        "option names must be unique within a station",
                        name,
                        "a name not used by another option of this station",
                    )
            if isinstance(station.machines, dict):
                for name in station.machines:
                    if name not in names:
                        raise _problem(
                            f"stations[{i}].machines.{name}",
                            "unknown option name",
                            name,
                            f"one of this station's options: {', '.join(names)}",
                        )
        for i, station in enumerate(self.stations):
            for target in station.omission_effects:
                if target not in index or index[target] <= i:
                    later = ", ".join(s.id for s in self.stations[i + 1 :]) or "(none)"
                    raise _problem(
                        f"stations[{i}].omission_effects.{target}",
                        "omitting a station can only affect a later station",
                        target,
                        f"one of the station ids after this one: {later}",
                    )
            if station.optional:
                for j, other in enumerate(self.stations):
                    if j != i and other.detected_at == station.id:
                        raise _problem(
                            f"stations[{i}].optional",
                            "an optional station cannot be where other stations' "
                            f"defects are detected (stations[{j}].detected_at)",
                            True,
                            "optional: false, or detect those defects elsewhere",
                        )
        detecting = {d for s, d in zip(self.stations, self.detection_index())}
        for i, station in enumerate(self.stations):
            if i in detecting:
                continue
            for field, on in (
                ("rework", station.rework is not None),
                ("detection_efficiency", station.detection_efficiency < 1.0),
            ):
                if on:
                    raise _problem(
                        f"stations[{i}].{field}",
                        "no defects are detected at this station",
                        getattr(station, field),
                        "a station where defects are detected (its own, with no detected_at, "
                        "or another station's detected_at)",
                    )
        for i, station in enumerate(self.stations):
            if (
                isinstance(station.process, ExposureWindow)
                and station.process.dew_point_c is None
                and (self.cost is None or self.cost.dry_room is None)
            ):
                raise _problem(
                    f"stations[{i}].process.dew_point_c",
                    "the exposure model needs the room's dew point",
                    None,
                    "a dew point in °C here, or a cost.dry_room with dew_point_c",
                )
        if self.cost is not None:
            for k, material in enumerate(self.cost.materials):
                if material.enters_at is not None and material.enters_at not in index:
                    raise _problem(
                        f"cost.materials[{k}].enters_at",
                        "unknown station id",
                        material.enters_at,
                        "one of the station ids: " + ", ".join(index),
                    )
            reuse = self.cost.brownfield
            for sid in reuse.reused_machines if reuse else {}:
                if sid not in index:
                    raise _problem(
                        f"cost.brownfield.reused_machines.{sid}",
                        "unknown station id",
                        sid,
                        "one of: " + ", ".join(index),
                    )
        return self

    @model_validator(mode="after")
    def _check_output(self) -> LineSpec:
        """Some cells pass every station: every answer linesim gives is per good cell (output,
        yield, cost per good kWh, the optimiser's targets), so a line that cannot make one is a
        mistake in the config, not a result."""
        for i, station in enumerate(self.stations):
            running = [(k, e) for k, e in enumerate(station.equipment()) if e.count > 0]
            if all(e.defect_probability >= 1.0 for _, e in running):
                field = (
                    f"options[{running[0][0]}].defect_probability"
                    if station.options
                    else "defect_probability"
                )
                raise _problem(
                    f"stations[{i}].{field}",
                    f"every cell made at {station.id} is defective: the line makes no good cells",
                    1.0,
                    "a defect probability < 1 (on at least one running option)",
                )
        # at best each station's likeliest-good option: Y ≥ ∏(1 − p_min) (linesim.yield_model)
        best = [
            min(e.defect_probability for e in s.equipment() if e.count > 0) for s in self.stations
        ]
        if math.prod(1.0 - p for p in best) == 0.0:  # below the smallest float
            worst = self.stations[max(range(len(best)), key=best.__getitem__)].id
            raise _problem(
                "stations",
                "the defect probabilities leave a line yield below the smallest float: the "
                f"line makes no good cells (the highest is at {worst})",
                f"∏(1 − p) = 0 over {len(best)} stations",
                "defect probabilities whose ∏(1 − p) is above 1e-308",
            )
        return self

    def station_index(self, station_id: str) -> int:
        """Position of a station in flow order (``KeyError`` if unknown)."""
        for i, station in enumerate(self.stations):
            if station.id == station_id:
                return i
        raise KeyError(station_id)

    def buffer_slot_of(self, station: Station) -> BufferSlot | None:
        """The price of one position of the buffer after ``station``: its own, else the
        line's (None: the buffer is not priced)."""
        return station.buffer_slot if station.buffer_slot is not None else self.buffer_slot

    def dew_point_c(self, station: Station) -> float | None:
        """The dew point [°C] an exposure window at ``station`` sees (its own, else the line's
        dry room's)."""
        window = station.process
        if not isinstance(window, ExposureWindow):
            return None
        if window.dew_point_c is not None:
            return window.dew_point_c
        return self.cost.dry_room.dew_point_c  # type: ignore[union-attr]

    def detection_index(self) -> tuple[int, ...]:
        """For each station, the index of the station where its defects are detected."""
        return tuple(
            i if s.detected_at is None else self.station_index(s.detected_at)
            for i, s in enumerate(self.stations)
        )
