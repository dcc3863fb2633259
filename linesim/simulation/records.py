"""What a simulation run records: counters and time-weighted sums, never a per-cell log.

All time sums are machine-seconds over the observation window (after warm-up) unless a name
says ``_total`` (whole run, from time 0).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

__all__ = ["StationRecord", "SimResult"]


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
    wip_cell_s: float  #: ∫ WIP dt over the window [cell·s]
    exits: int  #: cells that left (good or scrapped) in the window
    lead_time_sum_s: float  #: Σ (exit − start) over those exits [s]
    started_total: int  #: whole run (from t = 0)
    good_total: int
    scrapped_total: int
    in_process_at_end: int  #: counted cell by cell in buffers and machines at the end
    stations: tuple[StationRecord, ...]
    wip_samples: tuple[tuple[float, int], ...] = ()  #: (time [s], cells in process), ≤ ~200
    trace: tuple[tuple, ...] | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return asdict(self)
