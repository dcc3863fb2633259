"""What a simulation run records: counters and time-weighted sums, never a per-cell log.

All time sums are machine-seconds over the observation window (after warm-up) unless a name
says ``_total`` (whole run, from time 0).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from linesim.rates import machine_rate_cells_per_h

__all__ = [
    "StationRecord",
    "SimResult",
    "build_result",
    "TIME_ACCOUNTS",
    "WIP_SAMPLES",
    "wip_sample_every_s",
]

#: A machine's time accounts, in the order both engines keep them (the first four numbered as
#: the machine states BUSY, DOWN, BLOCKED, STARVED): a snapshot's ``acc`` lists, and
#: StationRecord's fields. Every machine-second of the window is in exactly one of them.
TIME_ACCOUNTS = (
    "busy_s",
    "down_s",
    "blocked_s",
    "starved_s",
    "setup_s",
    "minor_stop_s",
    "maintenance_s",
    "rework_s",
    "off_shift_s",
)

WIP_SAMPLES = 200  #: WIP samples per run (warm-up and window together), evenly spaced


def wip_sample_every_s(horizon_s: float, warmup_s: float) -> float:
    """Time between WIP samples [s]: (warm-up + window) ÷ :data:`WIP_SAMPLES`."""
    return (warmup_s + horizon_s) / WIP_SAMPLES


@dataclass(frozen=True)
class StationRecord:
    """Counters of one station over the observation window."""

    id: str
    machines: int
    processed: int  #: cells whose processing ended in the window
    defects_made: int  #: of those, cells made defective here
    scrapped_here: int  #: cells removed here (defects detected at this station)
    busy_s: float  #: machine-seconds processing
    down_s: float  #: machine-seconds under repair (operating-time failures)
    blocked_s: float  #: machine-seconds holding a finished cell, waiting for space downstream
    starved_s: float  #: machine-seconds waiting for a cell (or for a batch to fill)
    nominal_s_per_cell: float  #: ideal machine time per cell (1 ÷ nameplate rate), for OEE
    exposure_defects: int = 0  #: of defects_made, those due to dry-room exposure (beyond p₀)
    setup_s: float = 0.0  #: machine-seconds changing over (roll, coil, target, magazine)
    minor_stop_s: float = 0.0  #: machine-seconds in minor stops
    maintenance_s: float = 0.0  #: machine-seconds in planned maintenance
    rework_s: float = 0.0  #: machine-seconds reworking defective cells
    off_shift_s: float = 0.0  #: machine-seconds outside the station's working calendar
    startup_scrap_cells: int = 0  #: cells scrapped here as start-up scrap after changeovers
    reworked_cells: int = 0  #: rework attempts made here
    rework_defect_cells: int = 0  #: reworked cells made defective again here
    escaped_cells: int = 0  #: defects detected here that escaped inspection (shipped on)
    repaired_cells: int = 0  #: reworked cells that left here (good, or with a later-found defect)


@dataclass(frozen=True)
class SimResult:
    """The outcome of one replication."""

    line: str
    seed: int | None
    replication: int
    warmup_s: float
    horizon_s: float  #: observation window after warm-up
    energy_kwh: float
    hours_per_year: float
    started: int  #: cells that entered the first station in the window
    good: int  #: good cells out of the last station in the window
    scrapped: int  #: cells scrapped in the window
    shipped_defective: int  #: defective cells out of the last station (escaped inspection)
    wip_cell_s: float  #: ∫ WIP dt over the window [cell·s]
    exits: int  #: cells that left (good or scrapped) in the window
    lead_time_sum_s: float  #: Σ (exit − start) over those exits [s]
    started_total: int  #: whole run (from t = 0)
    good_total: int
    scrapped_total: int
    shipped_defective_total: int
    in_process_at_end: int  #: counted cell by cell in buffers and machines at the end
    stations: tuple[StationRecord, ...]
    wip_samples: tuple[tuple[float, int], ...] = ()  #: (time [s], cells in process), ≤ ~200
    trace: tuple[tuple, ...] | None = field(default=None, repr=False)
    engine: str = "simpy"  #: which engine made the record
    in_process_at_start: int = 0  #: counted cell by cell at the end of warm-up (0 without)

    def to_dict(self) -> dict:
        return asdict(self)


def build_result(
    spec,
    start: dict,
    end: dict,
    *,
    seed,
    replication: int,
    warmup_s: float,
    horizon_s: float,
    in_process: int,
    samples,
    in_process_at_start: int = 0,
    trace=None,
    engine: str = "simpy",
) -> SimResult:
    """A run's record from two snapshots of an engine's counters (start and end of the window).

    A snapshot holds the whole-run counters ``started``, ``good``, ``scrapped``, ``exits``,
    ``wip_area`` [cell·s], ``lead_sum`` [s], per station ``processed``, ``defects``,
    ``scrapped_at``, ``exposure_defects``, ``startup_scrap``, ``reworked``,
    ``rework_defects``, ``escaped``, ``shipped_defective`` and ``acc`` (machine-seconds in
    each of :data:`TIME_ACCOUNTS`). ``in_process`` and ``in_process_at_start`` are the cells in
    the line at the end and at the start of the window, counted in buffers and machines.
    """
    stations = []
    for i, station in enumerate(spec.stations):
        times = {
            name: end["acc"][i][k] - start["acc"][i][k] for k, name in enumerate(TIME_ACCOUNTS)
        }
        counts = {
            f"{key}_cells": end[key][i] - start[key][i]
            for key in ("startup_scrap", "reworked", "rework_defects", "escaped", "repaired")
        }
        counts["rework_defect_cells"] = counts.pop("rework_defects_cells")
        nominal = sum(e.count / machine_rate_cells_per_h(e) for e in station.equipment()) * 3600.0
        stations.append(
            StationRecord(
                id=station.id,
                machines=station.machine_count,
                processed=end["processed"][i] - start["processed"][i],
                defects_made=end["defects"][i] - start["defects"][i],
                scrapped_here=end["scrapped_at"][i] - start["scrapped_at"][i],
                nominal_s_per_cell=nominal / station.machine_count,
                exposure_defects=end["exposure_defects"][i] - start["exposure_defects"][i],
                **times,
                **counts,
            )
        )
    return SimResult(
        line=spec.name,
        seed=seed,
        replication=replication,
        warmup_s=warmup_s,
        horizon_s=horizon_s,
        energy_kwh=spec.product.energy_kwh,
        hours_per_year=spec.calendar.year_hours,
        started=end["started"] - start["started"],
        good=end["good"] - start["good"],
        scrapped=end["scrapped"] - start["scrapped"],
        shipped_defective=end["shipped_defective"] - start["shipped_defective"],
        wip_cell_s=end["wip_area"] - start["wip_area"],
        exits=end["exits"] - start["exits"],
        lead_time_sum_s=end["lead_sum"] - start["lead_sum"],
        started_total=end["started"],
        good_total=end["good"],
        scrapped_total=end["scrapped"],
        shipped_defective_total=end["shipped_defective"],
        in_process_at_end=in_process,
        stations=tuple(stations),
        wip_samples=tuple(samples),
        trace=trace,
        engine=engine,
        in_process_at_start=in_process_at_start,
    )
