"""The CP-SAT layout model: one machine mix per station, exact on the static surrogate.

Data → variables → constraints → objective → solve → status → extract, as in the OR-Tools
samples. The surrogate is the static capacity analysis: with good output G [cells/h], station
j must process G ÷ ∏_{i: d_i ≥ j} (1 − p_i) cells/h, at most u × its capacity. In logarithms
this is linear in the chosen candidates:

    ln G + Σ_{i: d_i ≥ j} L_i ≤ ln cap_j + ln u,        L_i = −ln(1 − p_i),

with an omitted optional station adding −ln(1 − δ) to the L of each station it affects.
:func:`scaled` turns every real into an integer at ``SCALE`` units per unit of log (a relative
resolution of 1e-6), rounding each term to the safe side, so every layout the model accepts
meets the target by the exact formula too; only layouts within ~n·1e-6 of a limit can be misjudged.

Money and areas are integers too: whole USD and centi-m² while the model's sums stay within
``INTEGER_RANGE`` (CP-SAT adds in 64-bit integers), coarser powers of ten beyond
(:func:`resolution`), so astronomical inputs give an answer at a relative resolution of 1e-15
rather than an overflow. Logarithms are clipped at ±``LOG_LIMIT`` (:func:`clipped_log`): a
capacity above e⁶⁰ cells/h is as good as an infinite one for any target.
"""

from __future__ import annotations

import copy
import math
import sys
from dataclasses import dataclass, field, replace

import numpy as np
from ortools.sat.python import cp_model

from linesim.capacity import cells_per_h_for_gwh, option_scrap_shares, starts_per_good_cell
from linesim.economics.cost import (
    HOURS_PER_CALENDAR_YEAR,
    Capex,
    annual_depreciation_usd,
    atmosphere_capex_usd,
    atmosphere_opex_usd_per_year,
    dry_room_capex_usd,
    energy_per_year,
    facility_capex_at_usd,
    facility_capex_usd,
)
from linesim.errors import UsageError
from linesim.optimise.bound import (
    ChainBound,
    Labels,
    Materials,
    enumerated_bound,
    enumerated_labels,
)
from linesim.optimise.candidates import (
    Candidate,
    check_tuning_size,
    setting_variants,
    station_candidates,
)
from linesim.spec import CostInputs, LineSpec, Station
from linesim.spec.base import MAX_MACHINES

__all__ = [
    "SCALE",
    "INTEGER_RANGE",
    "LOG_LIMIT",
    "MAX_WORKERS",
    "scaled",
    "clipped_log",
    "resolution",
    "Problem",
    "Solution",
    "LayoutModel",
    "STATUS",
    "greedy_layout",
]

SCALE = 1_000_000  #: integer units per unit of natural log
COST_LOG_SCALE = 10_000  #: coarser log units for the materials ÷ yield table (min-cost)
LOG_LIMIT = 60.0  #: ln of an "infinite" capacity (an omitted station's; e⁶⁰ ≈ 1e26 cells/h)
INTEGER_RANGE = 10**15  #: the most integer units one sum of money or area may reach
#: Materials ÷ yield is tabulated for yields from a material's entry station on down to
#: e^(−MAX_MATERIAL_LOG_LOSS) ≈ 2e-9; min-cost does not consider layouts that lose more.
MAX_MATERIAL_LOG_LOSS = 20.0
MAX_WORKERS = 256  #: CP-SAT workers (and simulation processes) one optimisation may ask for

STATUS = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
    cp_model.UNKNOWN: "time_limit",
    cp_model.MODEL_INVALID: "model_invalid",
}


def scaled(value: float, unit: float, up: bool) -> int:
    """``value`` in integer units of 1/``unit``, rounded up or down (the one scaling helper)."""
    x = value * unit
    return math.ceil(x - 1e-9) if up else math.floor(x + 1e-9)


def _scrap_shares(spec: LineSpec, variants: dict) -> list[tuple[float, float]]:
    """Per station, the least and the most share of the cells it processes that a mix of its
    machines scraps at start-up after changeovers (scrap cells ÷ cells between changes of
    each equipment option, over its process-setting variants; the least is 0 at an optional
    station, which may be left out, and the share of a mix is its machine-weighted mean, so
    it lies between the two)."""
    out = []
    for s in spec.stations:
        shares: list[float] = []
        for _, station in variants.get(s.id, [({}, s)]):
            shares += option_scrap_shares(station).values()
        if not shares:
            out.append((0.0, 0.0))
            continue
        out.append((0.0 if s.optional else min(shares), max(shares)))
    return out


def clipped_log(x: float) -> float:
    """ln ``x`` within ±``LOG_LIMIT`` (ln 0 → −LOG_LIMIT, ln ∞ → LOG_LIMIT): what the model
    counts of a capacity or an output beyond e^±60 [cells/h] changes no decision."""
    if x <= 0.0:
        return -LOG_LIMIT
    return min(max(math.log(x), -LOG_LIMIT), LOG_LIMIT)


def _omission_loss(delta: float) -> float:
    """−ln(1 − δ) of an omitted station's effect δ on another, at most ``LOG_LIMIT`` (δ = 1)."""
    return -math.log1p(-delta) if delta < 1.0 else LOG_LIMIT


def resolution(largest: float, finest: float, what: str) -> float:
    """Integer units per unit of a quantity whose sums in the model reach ``largest``:
    ``finest`` while ``largest`` × ``finest`` stays within ``INTEGER_RANGE``, else the largest
    power of ten below it that does (a relative resolution of 1e-15). ``what`` names the
    quantity in the :class:`~linesim.errors.UsageError` raised when ``largest`` is not finite."""
    if not math.isfinite(largest):
        raise UsageError(
            f"{what} of the allowed layouts is not a finite number; allowed: station and "
            "cost figures whose products stay finite (fewer machines, smaller amounts)"
        )
    units = finest
    while largest * units > INTEGER_RANGE:
        units /= 10.0
    return units


@dataclass(frozen=True)
class Problem:
    """What the planner asks: limits and the allowed machine counts."""

    spec: LineSpec
    target_gwh_per_year: float | None = None
    budget_usd: float | None = None
    #: Σ footprints of the machines and of the priced buffers' positions [m²]
    floor_area_m2: float | None = None
    #: the same at dry-room stations (machines, and the buffers after them) [m²]
    dry_room_area_m2: float | None = None
    max_utilisation: float = 1.0
    max_machines: int | None = None  #: per option, unless the station sets machines_max
    time_limit_s: float = 30.0
    workers: int = 2
    seed: int = 1
    tune: bool = False  #: choose process settings from each window's levels too
    #: (station id, f) pairs, 0 < f ≤ 1: the share of its static capacity a station delivers
    #: in the line, as learned from simulation (:mod:`~linesim.optimise.closure`); every
    #: capacity constraint of that station counts f × capacity. Unlisted stations: 1.
    capacity_factors: tuple[tuple[str, float], ...] = ()
    #: stop when the layout found is proven within this relative gap of the best possible
    #: (0: prove it optimal, or report the gap reached at the time limit)
    relative_gap: float = 0.0
    #: the static capacity [GWh/yr] the solver prices a facility that scales with capacity
    #: at (``cost.facility.reference_gwh``; the cost model prices each layout at its own):
    #: None for the config's layout's. The budget loop of
    #: :func:`~linesim.optimise.search.optimise_layout` sets it so that the answer's capex by
    #: the cost model keeps the budget
    facility_gwh: float | None = None

    def __post_init__(self) -> None:
        """Limits a solver can work with, or a :class:`~linesim.errors.UsageError` naming the
        field (the CLI maps field names to its flags)."""
        if not 1 <= self.workers <= MAX_WORKERS:
            raise UsageError(f"workers: {self.workers}; allowed: 1 to {MAX_WORKERS}")
        if not 0 <= self.seed < 2**63:
            raise UsageError(f"seed: {_short(self.seed)}; allowed: a whole number 0 to 2^63 − 1")
        for name in (
            "target_gwh_per_year",
            "budget_usd",
            "floor_area_m2",
            "dry_room_area_m2",
            "facility_gwh",
        ):
            value = getattr(self, name)
            if value is not None and not 0 < value <= sys.float_info.max:
                raise UsageError(f"{name}: {_short(value)}; allowed: a finite number > 0")
        if not (0.0 < self.max_utilisation <= 1.0):
            raise UsageError(
                f"max_utilisation: {self.max_utilisation!r}; allowed: a number in (0, 1]"
            )
        if self.max_machines is not None and not 1 <= self.max_machines <= MAX_MACHINES:
            raise UsageError(
                f"max_machines: {_short(self.max_machines)}; allowed: 1 to {MAX_MACHINES:,}"
            )
        if not 0.0 <= self.relative_gap < 1.0:
            raise UsageError(f"relative_gap: {self.relative_gap!r}; allowed: a number in [0, 1)")
        if not 0 < self.time_limit_s <= sys.float_info.max:
            raise UsageError(f"time_limit_s: {self.time_limit_s!r}; allowed: a number > 0 [s]")
        ids = {s.id for s in self.spec.stations}
        for sid, f in self.capacity_factors:
            if sid not in ids or not 0.0 < f <= 1.0:
                raise UsageError(
                    f"capacity_factors: {sid!r} = {f!r}; allowed: a station id of the line "
                    "and a factor in (0, 1]"
                )

    def factor(self, station_id: str) -> float:
        """The capacity factor of a station (1 unless learned from simulation)."""
        return dict(self.capacity_factors).get(station_id, 1.0)


def _short(value: float) -> str:
    """A number for a message; a whole number of more than 20 digits as how many it has (a
    5,000-digit number is no message, and Python refuses to spell one out past 4,300)."""
    if not isinstance(value, int) or -(10**20) < value < 10**20:
        return repr(value)
    digits = math.floor(abs(value).bit_length() * math.log10(2)) + 1
    return f"{'-' if value < 0 else ''}a number of about {digits:,} digits"


@dataclass(frozen=True)
class CostTerms:
    """The annual cost at a target in the model's integers (``units`` per USD/yr)."""

    linear: list[list[int]]  #: per station, per candidate: depreciation, labour, energy
    materials: dict[int, Materials]  #: per entry station: materials ÷ yield from there on
    constant: int  #: what no machine choice changes
    units: float


@dataclass(frozen=True)
class Solution:
    status: str  #: optimal | feasible | infeasible | time_limit | model_invalid
    layout: dict[str, dict[str, int]] | None
    objective_value: float | None  #: in the objective's own units (USD, GWh/yr, USD/yr)
    wall_time_s: float
    branches: int = 0
    settings: dict[str, dict[str, float]] | None = None  #: chosen process settings (tuning)
    raw_objective: int | None = None  #: the objective in the model's integers
    #: what no layout beats, proven, in the objective's units (a lower bound when minimising,
    #: an upper one for max-output): the value itself
    #: when optimal, else the better of CP-SAT's bound and the chain or Lagrangian bound
    bound: float | None = None


@dataclass
class LayoutModel:
    """The candidates of a problem and the CP-SAT model built on them."""

    problem: Problem
    candidates: list[list[Candidate]] = field(default_factory=list)
    #: the target is a floor on output, not what to build for (max-output, the Pareto front):
    #: no mix is left out or judged equal for carrying more than the target needs, and the
    #: machine counts reach what the budget and area limits allow (:meth:`_open_need`)
    open: bool = False
    #: more capacity does not make a mix better (:func:`.candidates.station_candidates`): for a
    #: facility priced at each layout's own capacity
    capacity_matters: bool = True

    def __post_init__(self) -> None:
        spec, p = self.problem.spec, self.problem
        #: building and dry-room capex per m² of machine footprint [USD/m²] (the spec's: read
        #: once, as every candidate's capex needs them)
        self._per_m2 = (self._building_usd_per_m2(), self._dry_room_usd_per_m2())
        if p.tune:  # the size of the grids before any line is built at their settings
            target = p.target_gwh_per_year or 0.0
            hours, kwh = spec.calendar.year_hours, spec.product.energy_kwh
            check_tuning_size(
                spec, p.max_machines, cells_per_h_for_gwh(target, kwh, hours) / p.max_utilisation
            )
        variants = setting_variants(spec) if p.tune else {}
        #: the process-setting variants per station (tuning; empty otherwise): the best yield
        #: a target is judged at (:meth:`at_target`) is the best over them
        self.variants = variants
        n = len(spec.stations)
        #: per station, the least and the most share of its cells a mix scraps at start-up
        #: after changeovers (:func:`linesim.capacity.startup_scrap_shares`)
        self.scrap_shares = _scrap_shares(spec, variants)
        lower, need = [0.0] * n, [0.0] * n
        if p.target_gwh_per_year is not None:
            lower, need = self._capacity_window(variants, p.target_gwh_per_year)
        self.most_output_gwh = math.inf
        #: where the machine counts' upper limits come from, in words (reported)
        self.count_limit = self._count_limit_text(bounded_by_limits=False)
        if self.open or p.target_gwh_per_year is None:
            lower = [0.0] * n
            most, bounded = self._open_need(variants)
            need = [max(a, b) for a, b in zip(need, most)]
            self.count_limit = self._count_limit_text(bounded)
        #: per station, the least capacity a layout reaching the target needs [cells/h]
        self.least_cells_per_h = lower
        self.candidates = [
            station_candidates(
                spec,
                j,
                p.max_machines,
                lower[j],
                need[j],
                variants.get(s.id),
                capacity_matters=self.capacity_matters,
            )
            for j, s in enumerate(spec.stations)
        ]
        # a priced buffer after a station is part of it: its positions count in the capex
        # and their floor in the footprint (the building, the dry room after a dry-room
        # station, the floor and dry-room limits) of every candidate that keeps the station,
        # as the cost model counts them (an omitted station takes its buffer with it)
        self.candidates = [
            [c if c.omitted else self._with_buffer(c, s) for c in cs]
            for cs, s in zip(self.candidates, spec.stations)
        ]
        self._detect = spec.detection_index()
        #: per station, −ln f of its capacity factor in the model's log units (rounded up:
        #: the safe side)
        #: start-up scrap is in the flow: station j processes 1 ÷ ∏_{i ≥ j} (1 − s_i) cells per
        #: cell that leaves it (the static analysis's starts per good cell), counted here at
        #: the least share each later station's mixes scrap (0 for an optional station, which
        #: may be left out) – exact where a station's share does not depend on its mix (every
        #: bundled line), a relaxation otherwise (the answer's exact figures are checked)
        least = [lo for lo, _ in self.scrap_shares]
        #: per station, whether its mixes scrap different shares (an optional station with
        #: changeovers; options that scrap differently): the CP-SAT model then counts each
        #: mix's own share (:meth:`_scrap_beyond_least`), the chain bound the least
        self._scrap_varies = [hi > lo for lo, hi in self.scrap_shares]
        self._scrap_terms: dict[int, int] = {}
        self.derate = [
            scaled(-math.log(p.factor(s.id)) - sum(math.log1p(-x) for x in least[j:]), SCALE, True)
            for j, s in enumerate(spec.stations)
        ]
        self._bounds: dict[int, ChainBound | None] = {}
        #: per candidate (by id) and money units: its scaled loss, log capacity and capex
        self._numbers: dict[tuple[int, float], tuple[int, int, int]] = {}
        self._scale()

    def _scrap_beyond_least(self, j: int, c: Candidate) -> int:
        """−ln(1 − s) of candidate ``c``'s start-up scrap share s at station ``j`` (its
        options' shares weighted by machines, at its settings; 0 when omitted) beyond the
        station's least share, which ``derate`` counts, in the model's log units (rounded up,
        the least down: the safe side; never below 0)."""
        key = id(c)
        if key not in self._scrap_terms:
            share = 0.0
            if not c.omitted:
                station = self.problem.spec.stations[j]
                for settings, variant in self.variants.get(station.id, []):
                    if tuple(sorted(settings.items())) == tuple(sorted(c.settings)):
                        station = variant
                        break
                shares = option_scrap_shares(station)
                total = sum(n for _, n in c.counts)
                if shares and total:
                    share = sum(n * shares.get(name, 0.0) for name, n in c.counts) / total
            lo = self.scrap_shares[j][0]
            beyond = scaled(-math.log1p(-share), SCALE, True) - scaled(
                -math.log1p(-lo), SCALE, False
            )
            self._scrap_terms[key] = max(0, beyond)
        return self._scrap_terms[key]

    def at_target(self, target_gwh: float, facility_gwh: float | None = None) -> LayoutModel:
        """This model's problem at target ``target_gwh`` [GWh/yr] for min-capex, on this
        model's candidates (no new enumeration): those with less capacity than the target
        needs even at the best yields are dropped. On an open model (whose counts reach at
        least what the target needs) the candidates are a superset of the ones a fresh model
        at the target keeps, so the optimum is the same. ``facility_gwh``: price a facility
        that scales at that capacity [GWh/yr] (default: as this model's problem does)."""
        from dataclasses import replace

        new = copy.copy(self)
        new.problem = replace(
            self.problem,
            target_gwh_per_year=target_gwh,
            facility_gwh=self.problem.facility_gwh if facility_gwh is None else facility_gwh,
        )
        new.open = False
        lower, _ = new._capacity_window(self.variants, target_gwh)
        new.least_cells_per_h = lower
        new.candidates = [
            [c for c in cs if c.omitted or c.capacity_cells_per_h >= lower[j]]
            for j, cs in enumerate(self.candidates)
        ]
        new._bounds = {}
        new._scale()
        return new

    def _scale(self) -> None:
        """The most capex and machine area a layout can have; the integer units of each keep
        the sum of every coefficient in range, as CP-SAT checks (not only the chosen ones)."""
        self.most_capex_usd = self._most(self.candidate_capex_usd) + self.capex_constant_usd()
        self.most_area_m2 = self._most(lambda c: c.footprint_m2)
        self.usd_units = resolution(
            self._total(self.candidate_capex_usd) + self.capex_constant_usd(), 1.0, "capex"
        )
        self.area_units = resolution(
            self._total(lambda c: c.footprint_m2), 100.0, "machine floor area"
        )

    def _count_limit_text(self, bounded_by_limits: bool) -> str:
        """Where the most machines per option come from, for the report."""
        spec, p = self.problem.spec, self.problem
        if all(s.machines_max for s in spec.stations):
            return "machines_max of each station (config)"
        if p.max_machines is not None:
            return f"machines_max where set, else max_machines = {p.max_machines:,}"
        if bounded_by_limits:
            return "machines_max where set, else as many as the budget and area limits allow"
        if p.target_gwh_per_year is not None:
            return (
                "machines_max where set, else enough for the target alone and at least "
                "max(2 × config, config + 4) per option"
            )
        return "machines_max where set, else max(2 × config, config + 4) per option"

    def _open_need(self, variants) -> tuple[list[float], bool]:
        """Per station, the most capacity any layout within the budget and area limits can
        use [cells/h] (inf where no limit bounds it), and whether every station is bounded.

        Each option's count is at most what the budget (less the fixed capex), the floor
        area and, at a dry-room station, the dry-room area pay or hold; a station's capacity
        is at most the sum of those; the good output G is at most the least such capacity
        over the stations that cannot be left out (yield ≤ 1), and station j needs at most
        G ÷ its worst yield."""
        from linesim.capacity import due_probabilities
        from linesim.rates import effective_rate_cells_per_h

        spec, p = self.problem.spec, self.problem
        due = due_probabilities(spec)
        building = self._building_usd_per_m2()
        money = None
        if p.budget_usd is not None:
            money = max(p.budget_usd - self.capex_constant_usd(), 0.0)
        most_g = math.inf
        for j, station in enumerate(spec.stations):
            cap = 0.0
            for settings_station in [v[1] for v in variants.get(station.id, [])] or [station]:
                here = 0.0
                for e in settings_station.equipment():
                    n = float(station.machines_max or p.max_machines or math.inf)
                    per_m2 = building + (self._dry_room_usd_per_m2() if station.dry_room else 0)
                    unit = e.capex_usd + e.footprint_m2 * per_m2
                    if money is not None and unit > 0:
                        n = min(n, math.floor(money / unit + 1e-9))
                    if p.floor_area_m2 is not None and e.footprint_m2 > 0:
                        n = min(n, math.floor(p.floor_area_m2 / e.footprint_m2 + 1e-9))
                    if station.dry_room and p.dry_room_area_m2 is not None and e.footprint_m2 > 0:
                        n = min(n, math.floor(p.dry_room_area_m2 / e.footprint_m2 + 1e-9))
                    rate = effective_rate_cells_per_h(settings_station, e, spec.calendar, due[j])
                    rate *= p.factor(station.id)
                    here += n * rate if rate > 0 else 0.0
                cap = max(cap, here)
            if not station.optional:
                most_g = min(most_g, cap)
        hours, kwh = spec.calendar.year_hours, spec.product.energy_kwh
        #: no layout within the limits makes more [GWh/yr] (inf when nothing bounds it)
        self.most_output_gwh = most_g * p.max_utilisation * hours * kwh / 1e6
        if not math.isfinite(most_g):
            return [0.0] * len(spec.stations), False
        gwh = most_g * hours * kwh / 1e6
        _, need = self._capacity_window(variants, max(gwh, 1e-12) * p.max_utilisation)
        return need, True

    def _most(self, f) -> float:
        """Σ over stations of the largest ``f`` of a candidate: no layout has more."""
        return sum(max((f(c) for c in cs), default=0.0) for cs in self.candidates)

    def _total(self, f) -> float:
        """Σ of ``f`` over every candidate of every station."""
        return sum(f(c) for cs in self.candidates for c in cs)

    def _usd(self, amount_usd: float) -> int:
        """An amount of money in the model's integer units."""
        return round(amount_usd * self.usd_units)

    def _capacity_window(self, variants, target_gwh: float) -> tuple[list[float], list[float]]:
        """Per station, the least capacity any layout reaching the target ``target_gwh`` [GWh/yr]
        needs (the target ÷ headroom ÷ the best yields the stations it carries allow) and the
        most it can use (the same at the worst yields) [cells/h]."""
        spec, p = self.problem.spec, self.problem
        target = (
            cells_per_h_for_gwh(target_gwh, spec.product.energy_kwh, spec.calendar.year_hours)
            / p.max_utilisation
        )
        best, worst = [], []
        for s in spec.stations:
            # (a station with no process setting left makes nothing: as if it scrapped all)
            probabilities = [
                e.defect_probability
                for v in variants.get(s.id, [({}, s)])
                for e in v[1].equipment()
            ] or [1.0]
            best.append(1.0 if s.optional else 1.0 - min(probabilities))
            worst.append(1.0 - max(probabilities))
        # start-up scrap after changeovers: in the flow of every station up to the one
        # scrapping (its least share at best, its most at worst)
        scrap = getattr(self, "scrap_shares", None) or [(0.0, 0.0)] * len(spec.stations)
        for s in spec.stations:
            for target_id, delta in s.omission_effects.items():
                # (an effect δ = 1 leaves no layout with it working: it bounds nothing)
                if delta < 1.0:
                    worst[spec.station_index(target_id)] *= 1.0 - delta
        detect = spec.detection_index()
        lower, need = [], []
        for j in range(len(spec.stations)):
            carried = [i for i in range(len(spec.stations)) if detect[i] >= j]
            high_yield = math.prod(best[i] for i in carried)
            high_yield *= math.prod(1.0 - lo for lo, _ in scrap[j:])
            # (a station counted at f × its capacity needs 1/f more)
            high_yield *= p.factor(spec.stations[j].id)
            # (a station that scraps every cell makes the target unreachable: no mix is enough)
            lower.append(target / high_yield if high_yield > 0 else math.inf)
            low_yield = math.prod(worst[i] for i in carried) * p.factor(spec.stations[j].id)
            low_yield *= math.prod(1.0 - hi for _, hi in scrap[j:])
            # (with a margin above the model's rounding, so that a mix exactly at the need and
            # one above it are not judged equal: the model may refuse the first by rounding)
            need.append((target / low_yield if low_yield > 0 else target) * (1 + 1e-6))
        return lower, need

    # --- the constant parts of capex and cost -------------------------------------------------
    def _with_buffer(self, c: Candidate, station: Station) -> Candidate:
        """Candidate ``c`` of ``station`` with the priced buffer after it: positions ×
        the price of one in its capex (depreciated as equipment, as the cost model does),
        positions × the floor of one in its footprint (and dry-room area at a dry-room
        station), whose building, dry room and power follow as for machines."""
        slot = self.problem.spec.buffer_slot_of(station)
        if slot is None or not station.buffer_after:
            return c
        floor = station.buffer_after * slot.footprint_m2
        return replace(
            c,
            capex_usd=c.capex_usd + station.buffer_after * slot.capex_usd,
            footprint_m2=c.footprint_m2 + floor,
            dry_room_m2=c.dry_room_m2 + (floor if station.dry_room else 0.0),
        )

    def _building_usd_per_m2(self) -> float:
        cost = self.problem.spec.cost
        if cost is None or cost.building.area_m2 is not None:
            return 0.0
        return cost.building.usd_per_m2 * cost.building.area_factor

    def _dry_room_usd_per_m2(self) -> float:
        """Dry-room fit-out per m² of machine footprint inside it, when the room grows with the
        layout (access factor × the class's $/m²; 0 for a room of fixed area, a constant)."""
        cost = self.problem.spec.cost
        room = None if cost is None else cost.dry_room
        cls = None if cost is None else cost.dry_room_class()
        if room is None or cls is None or room.area_m2 is not None:
            return 0.0
        return room.access_factor * cls.usd_per_m2

    def _dry_room_kw_per_m2(self) -> float:
        """Dry-room draw per m² of machine footprint inside a room that grows [kW/m²]."""
        cost = self.problem.spec.cost
        room = None if cost is None else cost.dry_room
        cls = None if cost is None else cost.dry_room_class()
        if room is None or cls is None or room.area_m2 is not None:
            return 0.0
        return room.access_factor * cls.power_w_per_m2 / 1000.0

    def _constant_capex(self, cost: CostInputs) -> Capex:
        """The capex no machine choice changes: a dry room and a building of fixed area, the
        atmosphere, and the facility – when it scales with capacity, a constant here too:
        priced at ``Problem.facility_gwh``, else at the config's layout (the cost model prices
        each layout at its own capacity; the budget loop of
        :func:`~linesim.optimise.search.optimise_layout` reconciles the two)."""
        area = cost.building.area_m2 or 0.0
        p = self.problem
        return Capex(
            equipment_by_station={},
            equipment=0.0,
            dry_room=dry_room_capex_usd(cost),
            building=area * cost.building.usd_per_m2,
            facility=(
                facility_capex_usd(p.spec)
                if p.facility_gwh is None
                else facility_capex_at_usd(cost, p.facility_gwh)
            ),
            atmosphere=atmosphere_capex_usd(cost),
            building_area_m2=area,
        )

    def capex_constant_usd(self) -> float:
        cost = self.problem.spec.cost
        return 0.0 if cost is None else self._constant_capex(cost).total

    def candidate_capex_usd(self, c: Candidate) -> float:
        """Equipment plus the building floor and the dry room its footprint needs (each when
        its area is derived from the machines)."""
        building, dry_room = self._per_m2
        return c.capex_usd + c.footprint_m2 * building + c.dry_room_m2 * dry_room

    # --- model ---------------------------------------------------------------------------------
    def build(
        self,
        objective: str,
        target_gwh: float | None = None,
        min_log_yield: float | None = None,
        max_capex_usd: float | None = None,
        min_output_gwh: float | None = None,
        settle_at: int | None = None,
        max_log_g: int | None = None,
    ) -> tuple[cp_model.CpModel, dict]:
        """A CP-SAT model for ``objective`` (min_capex | max_output | min_cost | max_yield |
        min_floor | min_dry_room) with optional extra ε-constraints. With ``settle_at`` (the
        optimum's raw value) the objective becomes a constraint at that value and the model
        instead changes as few process settings from the config's as it can."""
        p, spec = self.problem, self.problem.spec
        m = cp_model.CpModel()
        n = len(spec.stations)
        x = [
            [m.new_bool_var(f"x_{j}_{k}") for k in range(len(cs))]
            for j, cs in enumerate(self.candidates)
        ]
        for j in range(n):
            # each station takes exactly one machine mix
            m.add_exactly_one(x[j])

        def pick(j: int, f) -> cp_model.LinearExpr | int:
            return sum(f(c) * v for c, v in zip(self.candidates[j], x[j]))

        loss = [pick(j, lambda c: scaled(c.log_yield_loss, SCALE, True)) for j in range(n)]
        # (station k whose L grows, indicator, scaled extra L): the effect of leaving out
        # station j lands on k only while k is in the line – an omitted k processes no cell, so
        # an effect on it costs nothing (the indicator is then "j out and k in")
        omit_effects = []
        for j, station in enumerate(spec.stations):
            if station.optional:
                omitted = x[j][-1]
                for target_id, delta in station.omission_effects.items():
                    k = spec.station_index(target_id)
                    active = omitted
                    if spec.stations[k].optional:
                        active = m.new_bool_var(f"effect_{j}_{k}")
                        m.add_bool_and([omitted, ~x[k][-1]]).only_enforce_if(active)
                        m.add_bool_or([~omitted, x[k][-1]]).only_enforce_if(~active)
                    omit_effects.append((k, active, scaled(_omission_loss(delta), SCALE, True)))
        log_cap = [
            pick(
                j,
                lambda c: scaled(
                    LOG_LIMIT if c.omitted else clipped_log(c.capacity_cells_per_h),
                    SCALE,
                    False,
                ),
            )
            - self.derate[j]
            for j in range(n)
        ]
        headroom = scaled(clipped_log(p.max_utilisation), SCALE, False)

        # start-up scrap beyond the least share counted in ``derate`` (an optional station
        # kept, a mix whose options scrap more): station j processes it for every i ≥ j
        scrap = [
            pick(i, lambda c, i=i: self._scrap_beyond_least(i, c)) if self._scrap_varies[i] else 0
            for i in range(n)
        ]

        def downstream_loss(j: int) -> cp_model.LinearExpr | int:
            terms = [loss[i] for i in range(n) if self._detect[i] >= j]
            terms += [e * v for k, v, e in omit_effects if self._detect[k] >= j]
            return sum(terms)

        def processed_loss(j: int) -> cp_model.LinearExpr | int:
            """What station j processes per good cell beyond the target (log units)."""
            return downstream_loss(j) + sum(scrap[j:])

        total_loss = downstream_loss(0)
        capex = sum(pick(j, lambda c: self._usd(self.candidate_capex_usd(c))) for j in range(n))
        constant_capex = self._usd(self.capex_constant_usd())
        log_g: cp_model.IntVar | None = None
        target = target_gwh if target_gwh is not None else p.target_gwh_per_year
        hours, kwh = spec.calendar.year_hours, spec.product.energy_kwh
        if objective in ("max_output",) or min_output_gwh is not None or max_log_g is not None:
            lo = scaled(math.log(1e-6), SCALE, False)
            log_g = m.new_int_var(lo, scaled(LOG_LIMIT, SCALE, False), "log_good")
            for j in range(n):
                # station j can process what the good output needs, within headroom
                m.add(log_g + processed_loss(j) <= log_cap[j] + headroom)
            if max_log_g is not None:
                # the layout's own output (the least its stations allow), at most max_log_g:
                # an upper limit on what it makes, not only on what is counted
                m.add_min_equality(
                    log_g, [log_cap[j] + headroom - processed_loss(j) for j in range(n)]
                )
                m.add(log_g <= max_log_g)
            if min_output_gwh is not None:
                need = scaled(
                    clipped_log(cells_per_h_for_gwh(min_output_gwh, kwh, hours)), SCALE, True
                )
                m.add(log_g >= need)
        elif target is not None:
            need = scaled(clipped_log(cells_per_h_for_gwh(target, kwh, hours)), SCALE, True)
            for j in range(n):
                # good output ≥ target: station j processes target ÷ downstream yield
                m.add(need + processed_loss(j) <= log_cap[j] + headroom)
        for limit in (p.budget_usd, max_capex_usd):
            if limit is not None and limit < self.most_capex_usd:
                # capex within budget (a budget above every layout's capex limits nothing)
                m.add(capex + constant_capex <= scaled(limit, self.usd_units, False))
        if min_log_yield is not None:
            # line yield ≥ ε:  Σ L ≤ −ln ε
            m.add(total_loss <= scaled(-min_log_yield, SCALE, False))
        footprint = [
            pick(j, lambda c: scaled(c.footprint_m2, self.area_units, True)) for j in range(n)
        ]
        if p.floor_area_m2 is not None and p.floor_area_m2 < self.most_area_m2:
            # machine floor area within the limit (centi-m² unless that overflows)
            m.add(sum(footprint) <= scaled(p.floor_area_m2, self.area_units, False))
        dry = sum(footprint[j] for j, s in enumerate(spec.stations) if s.dry_room)
        if p.dry_room_area_m2 is not None and p.dry_room_area_m2 < self.most_area_m2:
            # dry-room machine area within the limit
            m.add(dry <= scaled(p.dry_room_area_m2, self.area_units, False))

        goal: cp_model.LinearExpr | int
        units = 1.0  # integer units of the objective per unit of its figure
        if objective == "min_capex":
            goal, sense = capex, 1
        elif objective == "max_output":
            assert log_g is not None, "the output variable is made for max_output above"
            goal, sense = log_g, -1
        elif objective == "max_yield":
            goal, sense = total_loss, 1
        elif objective == "min_floor":
            goal, sense = sum(footprint), 1
        elif objective == "min_dry_room":
            goal, sense = dry, 1
        elif objective == "min_cost":
            (goal, units), sense = self._annual_cost(m, x, loss, omit_effects, target), 1
        else:
            raise ValueError(f"unknown objective {objective!r}")
        if settle_at is None:
            m.minimize(goal) if sense > 0 else m.maximize(goal)
        else:
            # as good as the optimum, then as close to the config's settings as possible
            m.add(goal <= settle_at) if sense > 0 else m.add(goal >= settle_at)
            m.minimize(
                sum(
                    self._changed(j, c) * v
                    for j, cs in enumerate(self.candidates)
                    for c, v in zip(cs, x[j])
                )
            )
        return m, {"x": x, "capex": capex, "log_g": log_g, "loss": total_loss, "units": units}

    def _changed(self, j: int, c: Candidate) -> int:
        """How many process settings candidate ``c`` changes from its station's config."""
        window = self.problem.spec.stations[j].process
        if window is None or not c.settings:
            return 0
        now = window.settings()
        return sum(1 for name, value in c.settings if now.get(name) != value)

    def _cost_terms(self, target: float | None) -> CostTerms:
        """The annual cost of running at the target in the model's integers
        (:func:`resolution` units per USD/yr): linear parts per candidate plus the materials,
        which grow as exp(Σ L) from their entry station on (an exact table at COST_LOG_SCALE,
        down to a yield of e^(−MAX_MATERIAL_LOG_LOSS) from the entry station: layouts that lose
        more are left out)."""
        from linesim.economics.cost import material_usd_per_processed_cell, overheads_usd

        spec = self.problem.spec
        cost = spec.cost
        if cost is None or target is None:
            raise ValueError("min-cost needs a cost block and a target")
        hours = spec.calendar.year_hours
        # the cost model is linear in D, L, E, M and capex: its coefficients, from the model itself
        unit = {
            "d": (1, 0, 0, 0, 0),
            "l": (0, 1, 0, 0, 0),
            "e": (0, 0, 1, 0, 0),
            "m": (0, 0, 0, 1, 0),
            "c": (0, 0, 0, 0, 1),
        }
        a = {
            k: sum(v[:4]) + sum(overheads_usd(cost.overheads, *v).values()) for k, v in unit.items()
        }
        life = cost.depreciation

        good_per_h = cells_per_h_for_gwh(target, spec.product.energy_kwh, hours)
        starts = starts_per_good_cell(spec)  # at the config's yields: the flow each station sees

        def linear(c: Candidate, j: int) -> float:
            """Depreciation, labour in the station's working hours, and energy as the cost
            model counts it: full power for the cells processed at the target, the idle
            fraction for the rest of the working hours (cost.energy_per_year) [USD/yr]."""
            station = spec.stations[j]
            equipment = c.capex_usd / life.equipment_years
            building = c.footprint_m2 * self._building_usd_per_m2() / life.building_years
            dry_room = c.dry_room_m2 * self._dry_room_usd_per_m2() / life.equipment_years
            dry_room_kwh = c.dry_room_m2 * self._dry_room_kw_per_m2() * HOURS_PER_CALENDAR_YEAR
            working_h = spec.calendar.working_hours_per_year(station.working_pattern(spec.calendar))
            f = station.idle_power_fraction
            flow = good_per_h * starts[j] if math.isfinite(starts[j]) else 0.0
            busy_kwh = min(flow * hours * c.busy_kwh_per_cell, c.power_kw * working_h)
            kwh = f * c.power_kw * working_h + (1.0 - f) * busy_kwh + dry_room_kwh
            return (
                a["d"] * (equipment + building + dry_room)
                + a["l"] * c.operators * working_h * cost.labour.wage_usd_per_h
                + a["e"] * kwh * cost.electricity.usd_per_kwh
                + a["c"] * self.candidate_capex_usd(c)
            )

        n = len(spec.stations)
        linear_usd = [[linear(c, j) for c in self.candidates[j]] for j in range(n)]
        constant_usd = self._constant_annual_cost(a, cost)
        good_per_year = good_per_h * hours
        coarse = SCALE // COST_LOG_SCALE
        # materials ÷ yield from each entry station e on: the largest scaled loss any layout
        # carries from e (up to the table's end) and the table's USD/yr at each coarse step
        tables: dict[int, tuple[int, list[float], list[float]]] = {}
        per_cell = material_usd_per_processed_cell(spec)
        # materials without enters_at enter at the first station present: with an optional
        # first station left out, the cost model buys them at the next one (Materials.always)
        first = 0.0
        if spec.stations[0].optional:
            first = _default_entry_usd_per_cell(spec)
            per_cell[0] -= first
        for e, v in enumerate(per_cell):
            if v <= 0 and not (e == 0 and first > 0):
                continue
            top = sum(
                max(scaled(c.log_yield_loss, SCALE, True) for c in self.candidates[i])
                for i in range(n)
                if self._detect[i] >= e
            )
            top += sum(s for k, s in self._effect_losses() if self._detect[k] >= e)
            top = min(top, scaled(MAX_MATERIAL_LOG_LOSS, SCALE, False))
            steps = range(top // coarse + 2)
            per_year = a["m"] * good_per_year * max(v, 0.0)
            always = a["m"] * good_per_year * first if e == 0 else 0.0
            tables[e] = (
                top,
                [per_year * math.exp(s / COST_LOG_SCALE) for s in steps],
                [always * math.exp(s / COST_LOG_SCALE) for s in steps] if always else [],
            )
        most = (
            sum(sum(row) for row in linear_usd)
            + sum(t[-1] + (u[-1] if u else 0.0) for _, t, u in tables.values())
            + constant_usd
        )
        units = resolution(most, 1.0, "the annual cost")
        return CostTerms(
            linear=[[round(u * units) for u in row] for row in linear_usd],
            materials={
                e: Materials(
                    top,
                    coarse,
                    tuple(round(u * units) for u in usd),
                    tuple(round(u * units) for u in always),
                )
                for e, (top, usd, always) in tables.items()
            },
            constant=round(constant_usd * units),
            units=units,
        )

    def _effect_losses(self) -> list[tuple[int, int]]:
        """(affected station, scaled extra loss) of every omission effect."""
        spec = self.problem.spec
        return [
            (spec.station_index(t), scaled(_omission_loss(d), SCALE, True))
            for s in spec.stations
            if s.optional
            for t, d in s.omission_effects.items()
        ]

    def _annual_cost(
        self, m: cp_model.CpModel, x, loss, omit_effects, target: float | None
    ) -> tuple[cp_model.LinearExpr | int, float]:
        """Annual cost of running at the target (:meth:`_cost_terms`) as a CP-SAT expression,
        and its integer units per USD/yr."""
        spec = self.problem.spec
        n = len(spec.stations)
        cost = self._cost_terms(target)
        coarse = SCALE // COST_LOG_SCALE
        total: cp_model.LinearExpr | int = sum(
            sum(u * v for u, v in zip(cost.linear[j], x[j])) for j in range(n)
        )
        for e, materials in cost.materials.items():
            top, table = materials.top, list(materials.table)
            terms = [loss[i] for i in range(n) if self._detect[i] >= e]
            terms += [s * b for k, b, s in omit_effects if self._detect[k] >= e]
            # the loss a layout carries from station e on, within the table
            fine = m.new_int_var(0, top, f"loss_from_{e}")
            m.add(fine == sum(terms))
            steps = top // coarse + 1
            idx = m.new_int_var(0, steps, f"loss_step_{e}")
            # idx = ceil(fine / coarse): the table is read on the safe (costlier) side
            m.add(idx * coarse >= fine)
            m.add(idx * coarse < fine + coarse)
            value = m.new_int_var(min(table), max(table), f"materials_{e}")
            m.add_element(idx, table, value)
            entry = spec.stations[e]
            if entry.optional:
                # an optional entry station left out (its last candidate) buys no material
                # that names it (the cost model drops those with the station)
                omitted = x[e][-1]
                used = m.new_int_var(0, max(table), f"materials_used_{e}")
                m.add(used == value).only_enforce_if(~omitted)
                m.add(used == 0).only_enforce_if(omitted)
                value = used
            total += value
            if materials.always:
                # those without enters_at: bought at the first station present, whatever it is
                always = m.new_int_var(
                    min(materials.always), max(materials.always), f"materials_first_{e}"
                )
                m.add_element(idx, list(materials.always), always)
                total += always
        return total + cost.constant, cost.units

    def _constant_annual_cost(self, a: dict[str, float], cost: CostInputs) -> float:
        """Annual cost of what no machine choice changes, by the cost model's own functions."""
        spec = self.problem.spec
        fixed = self._constant_capex(cost)
        energy = energy_per_year(spec)
        labour = (
            cost.labour.indirect_operators
            * spec.calendar.working_hours_per_year()
            * cost.labour.wage_usd_per_h
        )
        # a room that grows with the layout is charged per candidate (its m² of machines)
        dry_room = energy.dry_room if self._dry_room_kw_per_m2() == 0 else 0.0
        return (
            a["d"] * annual_depreciation_usd(fixed, cost)
            + a["e"]
            * (dry_room + energy.facility + energy.atmosphere)
            * cost.electricity.usd_per_kwh
            + a["l"] * labour
            + a["c"] * fixed.total
            + atmosphere_opex_usd_per_year(cost)
        )

    # --- solve ---------------------------------------------------------------------------------
    def chain_bound(self, max_choices: int = 128) -> ChainBound | None:
        """The dynamic-programming bound on min capex at the target on this model's own scaled
        integers (:func:`.bound.enumerated_bound`); ``None`` without a target or when even
        the relaxed chain is infeasible."""
        if max_choices not in self._bounds:  # the candidates never change: compute once
            self._bounds[max_choices] = self._chain_bound(max_choices)
        return self._bounds[max_choices]

    def _chain_bound(self, max_choices: int) -> ChainBound | None:
        if self.problem.target_gwh_per_year is None:
            return None
        return enumerated_bound(**self._chain_inputs(), max_choices=max_choices)

    def _chain_inputs(self, target_gwh: float | None = None) -> dict:
        """The chain's data in the model's own integers (:func:`.bound.enumerated_labels`) at
        ``target_gwh`` [GWh/yr] (the problem's target if None)."""
        p, spec = self.problem, self.problem.spec
        target = p.target_gwh_per_year if target_gwh is None else target_gwh
        hours, kwh = spec.calendar.year_hours, spec.product.energy_kwh
        need = scaled(clipped_log(cells_per_h_for_gwh(target or 0.0, kwh, hours)), SCALE, True)
        cs = self.candidates
        cache = self._numbers  # shared with the models at_target makes (same candidates)

        def numbers(j: int, c: Candidate) -> tuple[int, int, int]:
            key = (id(c), self.usd_units)
            if key not in cache:
                cap = LOG_LIMIT if c.omitted else clipped_log(c.capacity_cells_per_h)
                cache[key] = (
                    scaled(c.log_yield_loss, SCALE, True),
                    scaled(cap, SCALE, False) - self.derate[j],
                    self._usd(self.candidate_capex_usd(c)),
                )
            return cache[key]

        # the tables of this model's candidates, built once (a model at_target makes has other
        # candidates, so another key; the tuple is replaced, never changed, so a copy keeps its own)
        key = (id(cs), self.usd_units)
        known = getattr(self, "_tables", None)
        if known is None or known[0] != key:
            table = [[numbers(j, c) for c in cj] for j, cj in enumerate(cs)]
            tables = (
                [[t[0] for t in row] for row in table],
                [[t[1] for t in row] for row in table],
                [[t[2] for t in row] for row in table],
                [[c.omitted for c in cj] for cj in cs],
            )
            self._tables = known = (key, tables)
        loss, log_cap, capex, omitted = known[1]
        # (the callers replace entries of the dict, never change these lists: copies are cheap
        # enough to be safe all the same – one list per station)
        return {
            "loss": [list(row) for row in loss],
            "log_cap": [list(row) for row in log_cap],
            "capex": [list(row) for row in capex],
            "omitted": [list(row) for row in omitted],
            "need": need,
            "headroom": scaled(clipped_log(p.max_utilisation), SCALE, False),
            "detect": self._detect,
            "effects": {
                j: [
                    (spec.station_index(t), scaled(_omission_loss(d), SCALE, True))
                    for t, d in s.omission_effects.items()
                ]
                for j, s in enumerate(spec.stations)
                if s.optional and s.omission_effects
            },
        }

    def chain_front(
        self, target_gwh: float, max_choices: int = 128, need: int | None = None
    ) -> list[Labels]:
        """The Pareto labels (total scaled loss, capex) of the layouts reaching ``target_gwh``
        [GWh/yr] (or, given, the scaled log output ``need``) within the budget, per omission
        pattern and late mix (:func:`.bound.enumerated_labels`): with ``exact`` labels and no
        area limit, every layout that reaches the target within the budget is matched by a
        label with no more loss and capex."""
        limit = None
        if self.problem.budget_usd is not None:
            limit = scaled(self.problem.budget_usd, self.usd_units, False)
            limit -= self._usd(self.capex_constant_usd())
            if limit < 0:
                return []
        inputs = self._chain_inputs(target_gwh)
        if need is not None:
            inputs["need"] = need
        found = enumerated_labels(**inputs, max_choices=max_choices, capex_limit=limit)
        if any(self._scrap_varies):
            # the chain counts each station's least start-up scrap (an optional station's 0):
            # a relaxation, so its labels match every layout but may not reach the target
            found = [replace(f, exact=False) for f in found]
        return found

    def cost_bound(self, max_choices: int = 128) -> tuple[ChainBound | None, int]:
        """The chain bound on the annual cost at the target (min-cost) in the model's integers
        (:meth:`_cost_terms`; the materials tables applied at their entry stations), and the
        constant part of that cost."""
        terms = self._cost_terms(self.problem.target_gwh_per_year)
        inputs = self._chain_inputs()
        inputs["capex"] = terms.linear
        found = enumerated_bound(**inputs, max_choices=max_choices, materials=terms.materials)
        return found, terms.constant

    def layout_of(
        self, choice
    ) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, float]] | None]:
        """The layout (machine counts per station) and process settings of a choice of one
        candidate index per station."""
        layout, settings = {}, {}
        for j, station in enumerate(self.problem.spec.stations):
            c = self.candidates[j][int(choice[j])]
            layout[station.id] = dict(c.counts)
            if c.settings:
                settings[station.id] = dict(c.settings)
        return layout, (settings if self.problem.tune else None)

    def integer_figures(self, choices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(capex, total loss, log good output) of each row of ``choices`` (candidate index per
        station) in the model's integers, as the CP-SAT model counts them: the loss with every
        active omission effect, the output the most the capacity constraints allow."""
        inputs = self._chain_inputs()
        n = len(self.candidates)
        rows = np.arange(len(choices))

        def table(name: str, j: int) -> np.ndarray:
            return np.asarray(inputs[name][j], dtype=np.int64)[choices[rows, j]]

        loss = [table("loss", j) for j in range(n)]
        out = [np.asarray(inputs["omitted"][j], dtype=bool)[choices[rows, j]] for j in range(n)]
        spec = self.problem.spec
        for j, station in enumerate(spec.stations):
            for t, d in station.omission_effects.items() if station.optional else ():
                k = spec.station_index(t)
                added = scaled(_omission_loss(d), SCALE, True)
                loss[k] = loss[k] + np.where(out[j] & ~out[k], added, 0)
        capex = sum((table("capex", j) for j in range(n)), np.zeros(len(choices), np.int64))
        total = sum(loss, np.zeros(len(choices), np.int64))
        log_g = np.full(len(choices), np.iinfo(np.int64).max)
        for j in range(n):
            carried = sum(
                (loss[i] for i in range(n) if self._detect[i] >= j),
                np.zeros(len(choices), np.int64),
            )
            log_g = np.minimum(log_g, table("log_cap", j) + inputs["headroom"] - carried)
        return capex, total, log_g

    def area_weights(self) -> tuple[list[list[int]], list[list[int]]]:
        """Per station and candidate, the machine floor area and the dry-room machine area
        in the model's integer units (rounded up, as the model counts them)."""
        spec = self.problem.spec
        floor = [
            [scaled(c.footprint_m2, self.area_units, True) for c in cj] for cj in self.candidates
        ]
        dry = [row if s.dry_room else [0] * len(row) for s, row in zip(spec.stations, floor)]
        return floor, dry

    def solve(
        self,
        objective: str,
        hint: dict[str, dict[str, int]] | None = None,
        use_bound: bool = True,
        **eps,
    ) -> Solution:
        """Build, hint, solve and extract; the status is returned, never printed.

        Minimum capex at the target (no ε-constraints) first asks the chain bound: when its
        layout meets every constraint of the full model (checked by CP-SAT with the choice
        fixed), no layout costs less, so it is optimal without a search. Otherwise CP-SAT
        searches the full model from the bound's layout (under area limits, from the best
        layout the area Lagrangian and local moves found, stopping once a layout is within
        ``relative_gap`` of the Lagrangian bound). (The bound is not added as a
        constraint: with it, CP-SAT 9.15's presolve returned a wrong "optimal" on a 16 × 6
        instance when the log scale was 10⁸.)"""
        plain = not any(e is not None for e in eps.values())
        if use_bound and objective == "min_capex" and plain:
            bound = self.chain_bound()
            budget = self.problem.budget_usd
            if (
                bound is not None
                and budget is not None
                and bound.capex + self._usd(self.capex_constant_usd())
                > scaled(budget, self.usd_units, False)
            ):
                # a lower bound on capex above the budget: no layout fits, proven
                return Solution("infeasible", None, None, 0.0)
            if bound is not None:
                proven = self._solve(objective, None, fixed=bound.choice)
                if proven.layout is not None:
                    return proven
                lower, start = bound.capex, bound.choice
                if self.area_excess(bound.choice) != (0, 0):
                    # an area limit binds: the Lagrangian bound and its best fitting layout
                    # (each improved by local moves, module local)
                    lower, found = self.area_lagrangian(bound)
                    if budget is not None and lower + self._usd(self.capex_constant_usd()) > scaled(
                        budget, self.usd_units, False
                    ):
                        return Solution("infeasible", None, None, 0.0)  # proven by the bound
                    if found is not None:
                        fits = self._solve(objective, None, fixed=found)
                        if fits.layout is not None and fits.raw_objective is not None:
                            if fits.raw_objective <= lower:
                                return fits  # as cheap as the lower bound: optimal
                            constant = self._usd(self.capex_constant_usd())
                            gap = (fits.raw_objective - lower) / (fits.raw_objective + constant)
                            if gap <= self.problem.relative_gap:  # close enough, as asked
                                known = (lower + constant) / self.usd_units
                                return replace(fits, status="feasible", bound=known)
                            start = found
                # it does not fit (late detection, omission effects, a limit): search, from
                # the bound's layout (or the Lagrangian's), which starts closer than the
                # greedy one (measured)
                return self._solve(objective, None, start=start, lower=lower)
        if use_bound and objective == "min_cost" and plain and self.problem.spec.cost is not None:
            # the chain bound over annual cost: optimal when its layout fits and costs, in the
            # full model, what the bound says (nothing was relaxed on its way)
            cost_bound, constant = self.cost_bound()
            if cost_bound is not None:
                proven = self._solve(objective, None, fixed=cost_bound.choice)
                if (
                    proven.layout is not None
                    and proven.raw_objective == cost_bound.capex + constant
                ):
                    return proven
                return self._solve(
                    objective, None, start=cost_bound.choice, lower=cost_bound.capex + constant
                )
        return self._solve(objective, hint, **eps)

    #: subgradient steps of the area Lagrangian (each one chain bound: ~0.1 s at 30 × 4)
    LAGRANGIAN_STEPS = 25

    def area_limits(self) -> tuple[int | None, int | None]:
        """The floor and dry-room area limits in the model's integer area units (rounded
        down), None where there is none or it limits nothing."""
        p = self.problem
        out = []
        for limit in (p.floor_area_m2, p.dry_room_area_m2):
            active = limit is not None and limit < self.most_area_m2
            out.append(scaled(limit, self.area_units, False) if limit and active else None)
        return out[0], out[1]

    def area_excess(self, choice: tuple[int, ...]) -> tuple[int, int]:
        """How far a layout's machine floor and dry-room areas exceed the problem's limits, in
        the model's integer area units (0 where within, or no limit)."""
        floor_w, dry_w = self.area_weights()
        p = self.problem
        out = []
        for weights, limit in ((floor_w, p.floor_area_m2), (dry_w, p.dry_room_area_m2)):
            if limit is None or limit >= self.most_area_m2:
                out.append(0)
                continue
            used = sum(row[k] for row, k in zip(weights, choice))
            out.append(max(used - scaled(limit, self.area_units, False), 0))
        return out[0], out[1]

    def area_lagrangian(self, bound: ChainBound) -> tuple[int, tuple[int, ...] | None]:
        """A lower bound on min capex under floor and dry-room area limits, and the cheapest
        layout met on the way that keeps within them (None if none did), in the model's
        integers (capex without its constant part).

        For multipliers λ, μ ≥ 0 [USD per area unit], the chain bound with each candidate's
        capex raised by ⌊λ·floor + μ·dry⌋, less λ·A_floor + μ·A_dry, is below the optimum
        (Lagrangian relaxation: a layout within the limits pays at most what it saves). λ, μ
        follow Polyak subgradient steps towards the best such bound."""
        from linesim.optimise.local import improved

        p = self.problem
        floor_w, dry_w = self.area_weights()
        limits = self.area_limits()
        inputs = self._chain_inputs()
        capex = inputs["capex"]

        def carries(rows: np.ndarray) -> np.ndarray:
            return self.integer_figures(rows)[2] >= inputs["need"]

        mult = [0.0, 0.0]
        best_lower: float = bound.capex
        upper: float = math.inf
        found = None
        theta, stale = 1.0, 0
        for _ in range(self.LAGRANGIAN_STEPS):
            inputs["capex"] = [
                [c + math.floor(mult[0] * f + mult[1] * d) for c, f, d in zip(row, frow, drow)]
                for row, frow, drow in zip(capex, floor_w, dry_w)
            ]
            step = enumerated_bound(**inputs)
            if step is None:
                break
            lower = step.capex - sum(m * a for m, a in zip(mult, limits) if a is not None)
            used = [sum(row[k] for row, k in zip(w, step.choice)) for w in (floor_w, dry_w)]
            slack = [u - a if a is not None else 0 for u, a in zip(used, limits)]
            own = sum(row[k] for row, k in zip(capex, step.choice))
            if all(g <= 0 for g in slack) and own < upper:
                # a layout within the limits: local moves from it (module local) usually
                # close most of the gap to the bound
                better = improved(step.choice, capex, (floor_w, dry_w), limits, carries)
                upper, found = sum(row[k] for row, k in zip(capex, better)), better
            if lower > best_lower + 0.5:
                best_lower, stale = lower, 0
            else:
                stale += 1
                if stale >= 3:
                    theta, stale = theta / 2, 0
            if math.ceil(best_lower - 1e-9) >= upper:
                break
            constant = self._usd(self.capex_constant_usd())
            if (upper - best_lower) / (upper + constant) <= p.relative_gap:
                break  # within the gap asked for
            norm = sum(g * g for g in slack)
            if norm == 0:
                break
            goal = upper if math.isfinite(upper) else 1.05 * max(best_lower, 1)
            size = theta * max(goal - lower, 1.0) / norm
            mult = [max(0.0, m + size * g) for m, g in zip(mult, slack)]
        return math.ceil(best_lower - 1e-9), found

    def _solve(
        self,
        objective: str,
        hint: dict[str, dict[str, int]] | None,
        fixed: tuple[int, ...] | None = None,
        start: tuple[int, ...] | None = None,
        lower: int | None = None,
        **eps,
    ) -> Solution:
        """One CP-SAT solve; ``lower``: a known lower bound on the (minimised) objective in the
        model's integers, reported with CP-SAT's own as the solution's ``lower_bound``."""
        m, v = self.build(objective, **eps)
        for xj, k in zip(v["x"], fixed or ()):
            m.add(xj[k] == 1)
        for xj, k in zip(v["x"], start or ()):
            for i, var in enumerate(xj):
                m.add_hint(var, i == k)
        if hint:
            self._add_hint(m, v["x"], hint)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = self.problem.time_limit_s
        solver.parameters.relative_gap_limit = self.problem.relative_gap
        solver.parameters.num_workers = self.problem.workers
        solver.parameters.random_seed = self.problem.seed % 2**31  # CP-SAT's seed is 32-bit
        stop = None
        if lower is not None and self.problem.relative_gap > 0 and objective == "min_capex":
            # CP-SAT knows only its own bound: stop once a layout is within the gap of ours
            stop = _WithinGap(lower, self._usd(self.capex_constant_usd()), self.problem)
        code = solver.solve(m, stop)
        if (
            code == cp_model.OPTIMAL
            and abs(solver.objective_value - solver.best_objective_bound) > 0.5
        ):
            code = cp_model.FEASIBLE  # stopped within relative_gap, not proven optimal
        status = STATUS.get(code, "unknown")
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return Solution(status, None, None, solver.wall_time, solver.num_branches)
        layout, settings = {}, {}
        for j, station in enumerate(self.problem.spec.stations):
            k = next(k for k, var in enumerate(v["x"][j]) if solver.boolean_value(var))
            layout[station.id] = dict(self.candidates[j][k].counts)
            if self.candidates[j][k].settings:
                settings[station.id] = dict(self.candidates[j][k].settings)
        raw = round(solver.objective_value)  # an integer objective, read as a double

        def figure(x: float) -> float:
            """The objective in its own units from the model's integers."""
            if objective == "max_output":
                spec = self.problem.spec
                hours, kwh = spec.calendar.year_hours, spec.product.energy_kwh
                return math.exp(x / SCALE) * hours * kwh / 1e6
            if objective == "min_capex":
                return (x + self._usd(self.capex_constant_usd())) / self.usd_units
            return x / v["units"]

        value = figure(raw)
        bound = None
        if objective in ("min_capex", "min_cost"):
            known = math.ceil(solver.best_objective_bound - 1e-6)
            bound = figure(raw if code == cp_model.OPTIMAL else max(known, lower or known))
        return Solution(
            status,
            layout,
            value,
            solver.wall_time,
            solver.num_branches,
            settings if self.problem.tune else None,
            raw,
            bound,
        )

    def _add_hint(self, m: cp_model.CpModel, x, hint: dict[str, dict[str, int]]) -> None:
        for j, station in enumerate(self.problem.spec.stations):
            want = hint.get(station.id)
            if want is None:
                continue
            now = dict(station.process.settings()) if station.process else {}
            for c, var in zip(self.candidates[j], x[j]):
                m.add_hint(
                    var,
                    dict(c.counts) == dict(want) and (not c.settings or dict(c.settings) == now),
                )


class _WithinGap(cp_model.CpSolverSolutionCallback):
    """Stops the search at a layout within the problem's relative gap of a known lower bound
    on the objective (both in the model's integers, without the constant ``constant``)."""

    def __init__(self, lower: int, constant: int, problem: Problem) -> None:
        super().__init__()
        self.lower, self.constant, self.gap = lower, constant, problem.relative_gap
        self.reached = False

    def on_solution_callback(self) -> None:
        value = self.objective_value
        if (value - self.lower) / max(value + self.constant, 1.0) <= self.gap:
            self.reached = True
            self.stop_search()


def greedy_layout(model: LayoutModel, target_gwh: float) -> dict[str, dict[str, int]] | None:
    """A feasible-looking start: from the last station back, the cheapest mix that carries what
    the stations after it need (no areas or budget considered). ``None`` if none does."""
    spec = model.problem.spec
    hours, kwh = spec.calendar.year_hours, spec.product.energy_kwh
    need = cells_per_h_for_gwh(target_gwh, kwh, hours) / model.problem.max_utilisation
    layout: dict[str, dict[str, int]] = {}
    chosen: list[Candidate | None] = [None] * len(spec.stations)
    detect = spec.detection_index()
    for j in reversed(range(len(spec.stations))):
        best = None
        for c in sorted(model.candidates[j], key=model.candidate_capex_usd):
            trial = chosen.copy()
            trial[j] = c
            surviving = math.prod(
                1.0 - t.defect_probability
                for i, t in enumerate(trial)
                if t is not None and detect[i] >= j
            )
            factor = model.problem.factor(spec.stations[j].id)
            if c.omitted or c.capacity_cells_per_h * factor * surviving >= need:
                best = c
                break
        if best is None:
            return None
        chosen[j] = best
        layout[spec.stations[j].id] = dict(best.counts)
    return layout


def _default_entry_usd_per_cell(spec: LineSpec) -> float:
    """The materials without ``enters_at`` (entering at the line's first station present) per
    cell processed there [USD/cell], as :func:`material_usd_per_processed_cell` prices them."""
    from linesim.economics.cost import cost_inputs, usd_per_unit

    cost = cost_inputs(spec)
    kwh = spec.product.energy_kwh
    return sum(
        m.quantity_per_kwh * kwh / m.utilisation * usd_per_unit(m.price_per_unit, m.currency, cost)
        for m in cost.materials
        if m.enters_at is None
    )
