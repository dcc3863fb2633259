"""Per-station candidates: every allowed machine mix of a station, with what it adds to a line.

The CP-SAT model chooses one candidate per station, so everything nonlinear in the machine
counts – capacity, the rate-weighted defect probability, its logarithm – is computed here
exactly, once per candidate, and the model stays linear. Candidates that another candidate of
the same station beats on every count (capacity, yield, capex, floor, running cost) are dropped:
no optimum needs them.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from linesim.capacity import due_probabilities
from linesim.errors import UsageError
from linesim.rates import effective_rate_cells_per_h, machine_rate_cells_per_h
from linesim.spec import LineSpec, Station
from linesim.spec.base import MAX_MACHINES
from linesim.spec.losses import Calendar

__all__ = [
    "MAX_CANDIDATES",
    "MAX_SETTINGS",
    "Candidate",
    "count_bounds",
    "count_text",
    "mix_count",
    "check_tuning_size",
    "station_candidates",
    "setting_variants",
]

#: Largest machine mix enumeration per station (and of a whole tuning) before asking the
#: user for tighter bounds.
MAX_CANDIDATES = 200_000
#: Most process-setting combinations one tuning builds a station at (each a validated line,
#: about a millisecond each).
MAX_SETTINGS = 10_000


@dataclass(frozen=True)
class Candidate:
    """One machine mix at one station (``omitted``: an optional station left out)."""

    counts: tuple[tuple[str, int], ...]
    omitted: bool
    capacity_cells_per_h: float  #: Σ n × effective rate, after every loss (inf when omitted)
    defect_probability: float  #: rate-weighted over the options
    capex_usd: float  #: equipment
    footprint_m2: float
    power_kw: float
    operators: float
    settings: tuple[tuple[str, float], ...] = ()  #: process settings (when tuning)
    busy_kwh_per_cell: float = 0.0  #: Σ n × kW ÷ Σ n × nameplate rate: energy per cell processed
    dry_room_m2: float = 0.0  #: machine footprint inside the dry room (a dry-room station's)

    @property
    def log_yield_loss(self) -> float:
        """L = −ln(1 − p): line yield is exp(−Σ L)."""
        return math.inf if self.defect_probability >= 1.0 else -math.log1p(-self.defect_probability)


def count_bounds(
    station: Station,
    upper: int | None,
    needed_cells_per_h: float = 0.0,
    calendar: Calendar | None = None,
    due_probability: float = 0.0,
) -> list[tuple[str, int, int]]:
    """(option, lowest, highest) machine count per option of a station.

    The highest count is the station's ``machines_max``, else ``upper``, else enough for the
    option alone to carry ``needed_cells_per_h`` (and at least max(2 × current, current + 4)),
    at most ``MAX_MACHINES`` (the spec's bound: a need beyond that is a target no layout meets).
    """
    out = []
    for eq in station.equipment():
        rate = effective_rate_cells_per_h(station, eq, calendar or Calendar(), due_probability)
        alone = math.ceil(min(needed_cells_per_h / rate, MAX_MACHINES)) if rate > 0 else 0
        hi = (
            station.machines_max
            or upper
            or min(max(2 * eq.count, eq.count + 4, alone), MAX_MACHINES)
        )
        out.append((eq.name, 0, max(hi, 0)))
    return out


def mix_count(bounds: list[tuple[str, int, int]]) -> int:
    """How many machine mixes the count ``bounds`` of :func:`count_bounds` allow."""
    return math.prod(hi - lo + 1 for _, lo, hi in bounds)


def count_text(n: int) -> str:
    """A count for a message: ``36,736,470``, or ``about 3.7e+298`` past twelve digits."""
    return f"{n:,}" if n < 10**12 else f"about {float(n):.2g}"


def check_tuning_size(spec: LineSpec, upper: int | None, needed_cells_per_h: float = 0.0) -> None:
    """Refuse, before any work, a tuning whose process-setting grids would make more than
    ``MAX_SETTINGS`` lines or (about) ``MAX_CANDIDATES`` candidates: settings × the machine
    mixes each station allows at its config's settings for ``needed_cells_per_h`` [cells/h].
    The :class:`~linesim.errors.UsageError` gives the sizes and what lowers them."""
    due = due_probabilities(spec)
    settings = candidates = 0
    parts = []
    for j, station in enumerate(spec.stations):
        window = station.process
        if window is None or not window.levels:
            continue
        grid = math.prod(len(v) for v in window.levels.values())
        bounds = count_bounds(station, upper, needed_cells_per_h, spec.calendar, due[j])
        mixes = mix_count(bounds)
        settings += grid
        candidates += grid * mixes
        parts.append(f"{station.id}: {grid:,} settings × {count_text(mixes)} mixes")
    if settings > MAX_SETTINGS or candidates > MAX_CANDIDATES:
        raise UsageError(
            f"tune: {settings:,} process-setting combinations and "
            f"{count_text(candidates)} candidates to consider ({'; '.join(parts[:5])}"
            f"{'; …' if len(parts) > 5 else ''}); allowed: at most {MAX_SETTINGS:,} "
            f"combinations and {MAX_CANDIDATES:,} candidates – fewer levels in the stations' "
            "process.levels, machines_max on the stations, or a lower max_machines"
        )


def station_candidates(
    spec: LineSpec,
    index: int,
    upper: int | None = None,
    lower_capacity_cells_per_h: float = 0.0,
    needed_cells_per_h: float = 0.0,
    variants: list[tuple[dict[str, float], Station]] | None = None,
    capacity_matters: bool = True,
) -> list[Candidate]:
    """All non-dominated machine mixes of station ``index`` (plus 'omitted' if optional).
    With ``capacity_matters`` False, more capacity does not make a mix better (only mixes of
    equal capacity are compared): where the facility's price grows with the layout's
    capacity, a mix with less capacity at the bottleneck can make the cheaper line.

    ``upper`` caps each option's count (default: the station's ``machines_max``, else enough
    for ``needed_cells_per_h`` – see :func:`count_bounds`); mixes with less capacity than
    ``lower_capacity_cells_per_h`` are left out (they cannot reach the target). ``variants``:
    the station at each combination of its process settings (tuning); every mix at every
    setting is a candidate, and the dominated ones go.
    """
    station = spec.stations[index]
    due = due_probabilities(spec)[index]
    out = []
    for settings, variant in [({}, station)] if variants is None else variants:
        out += _mixes(
            variant,
            upper,
            lower_capacity_cells_per_h,
            needed_cells_per_h,
            tuple(settings.items()),
            spec.calendar,
            due,
        )
    # capacity beyond the most any layout can need (the target at the worst yields) is worth
    # nothing, so it does not make a mix better than another
    out = _non_dominated(
        out,
        needed_cells_per_h if lower_capacity_cells_per_h > 0 else math.inf,
        capacity_matters,
    )
    if station.optional:
        out.append(
            Candidate(
                tuple((e.name, 0) for e in station.equipment()),
                True,
                math.inf,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
            )
        )
    return out


def _mixes(
    station: Station,
    upper: int | None,
    lower_capacity_cells_per_h: float,
    needed_cells_per_h: float,
    settings: tuple[tuple[str, float], ...],
    calendar: Calendar,
    due_probability: float,
) -> list[Candidate]:
    """Every allowed machine mix of one station (at one setting of its process window)."""
    equipment = station.equipment()
    bounds = count_bounds(station, upper, needed_cells_per_h, calendar, due_probability)
    size = mix_count(bounds)
    if size > MAX_CANDIDATES:
        raise UsageError(
            f"station {station.id!r}: {count_text(size)} machine mixes to consider; allowed: "
            f"at most {MAX_CANDIDATES:,} – set machines_max on the station or lower max_machines"
        )
    rates = [effective_rate_cells_per_h(station, e, calendar, due_probability) for e in equipment]
    out = []
    for counts in itertools.product(*(range(lo, hi + 1) for _, lo, hi in bounds)):
        if sum(counts) == 0:
            continue
        weights = [n * r for n, r in zip(counts, rates)]
        cap = sum(weights)
        if cap < lower_capacity_cells_per_h or cap <= 0:
            continue
        p = sum(w * e.defect_probability for w, e in zip(weights, equipment)) / cap
        if p >= 1.0:  # scraps every cell it processes: no layout makes good cells with it
            continue
        out.append(
            Candidate(
                counts=tuple((e.name, n) for e, n in zip(equipment, counts)),
                omitted=False,
                capacity_cells_per_h=cap,
                defect_probability=p,
                capex_usd=sum(n * e.capex_usd for n, e in zip(counts, equipment)),
                footprint_m2=sum(n * e.footprint_m2 for n, e in zip(counts, equipment)),
                power_kw=sum(n * e.power_kw for n, e in zip(counts, equipment)),
                operators=sum(n * e.operators_per_machine for n, e in zip(counts, equipment)),
                settings=settings,
                busy_kwh_per_cell=sum(n * e.power_kw for n, e in zip(counts, equipment))
                / sum(n * machine_rate_cells_per_h(e) for n, e in zip(counts, equipment)),
                dry_room_m2=sum(n * e.footprint_m2 for n, e in zip(counts, equipment))
                if station.dry_room
                else 0.0,
            )
        )
    return out


def _non_dominated(
    candidates: list[Candidate], useful_capacity: float = math.inf, capacity_matters: bool = True
) -> list[Candidate]:
    """Drop candidates that another one matches or beats on every count and beats on one
    (capacity counted up to ``useful_capacity``)."""
    if len(candidates) < 2:
        return candidates
    a = np.array(
        [
            (
                -min(c.capacity_cells_per_h, useful_capacity),
                c.defect_probability,
                c.capex_usd,
                c.footprint_m2,
                c.power_kw,
                c.operators,
            )
            for c in candidates
        ]
    )
    # every pair compared at once, a block of rows at a time (at most ~4 M comparisons a block)
    beaten = np.zeros(len(a), dtype=bool)
    block = max(1, 4_000_000 // (len(a) * a.shape[1]))
    for start in range(0, len(a), block):
        rows = a[start : start + block, None, :]  # [i, 1, column] against [j, column]
        no_worse = np.all(a[None, :, :] <= rows, axis=2)
        better = np.any(a[None, :, :] < rows, axis=2)
        if not capacity_matters:  # (only a mix of the same capacity can beat another)
            same = a[None, :, 0] == rows[:, :, 0]
            no_worse &= same
            better &= np.any(a[None, :, 1:] < rows[:, :, 1:], axis=2)
        beaten[start : start + block] = np.any(no_worse & better, axis=1)
    return [c for c, out in zip(candidates, beaten) if not out]


def setting_variants(spec: LineSpec) -> dict[str, list[tuple[dict[str, float], Station]]]:
    """For each station whose process window has levels: the station at every combination of
    them (``[(settings, station), ...]``), built through the config so every derived field
    follows its settings. A combination the spec refuses (one at which the station scraps
    every cell, say) is no choice for the tuner and is left out; a station with none left has
    an empty list (so no candidate)."""
    from linesim.errors import ConfigError
    from linesim.variants import with_settings

    out: dict[str, list[tuple[dict[str, float], Station]]] = {}
    for station in spec.stations:
        window = station.process
        if window is None or not window.levels:
            continue
        out[station.id] = []
        for settings in window.grid():
            try:
                line = with_settings(spec, {station.id: settings})
            except ConfigError:
                continue
            out[station.id].append((settings, line.stations[spec.station_index(station.id)]))
    return out
