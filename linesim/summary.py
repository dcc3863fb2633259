"""Results of a run as plain, typed data: estimates over replications, the run summary, and
JSON-safe documents of them.

Replications of one line go in (:class:`~linesim.simulation.SimResult`); a
:class:`RunSummary` comes out, every KPI an :class:`Estimate` (mean and 95 % confidence
interval over replications). ``to_dict()`` gives the JSON document of ``linesim run --json``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any, ClassVar

import numpy as np

from linesim import kpis
from linesim.simulation.records import SimResult
from linesim.spec import LineSpec

__all__ = [
    "Estimate",
    "LineYield",
    "LossTree",
    "ReplicationCounts",
    "RunSummary",
    "StationSummary",
    "VariantSummary",
    "YieldAttribution",
    "as_plain",
    "estimate",
    "from_plain",
    "json_safe",
    "summarise",
]


@dataclass(frozen=True)
class Estimate:
    """Mean of a KPI over replications with its 95 % Student-t confidence interval."""

    mean: float
    ci95_low: float | None
    ci95_high: float | None

    def to_dict(self) -> dict:
        return {"mean": self.mean, "ci95_low": self.ci95_low, "ci95_high": self.ci95_high}

    @property
    def half_width(self) -> float | None:
        """Half the interval's width (None without an interval)."""
        if self.ci95_low is None or self.ci95_high is None:
            return None
        return (self.ci95_high - self.ci95_low) / 2

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the interval (False when there is no interval)."""
        if self.ci95_low is None or self.ci95_high is None:
            return False
        return self.ci95_low <= value <= self.ci95_high


def estimate(values: Sequence[float], level: float = 0.95) -> Estimate:
    """Mean and Student-t interval mean ± t_{n−1} · s ÷ √n (no interval for n < 2)."""
    x = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    if x.size == 0:
        return Estimate(math.nan, None, None)
    mean = float(x.mean())
    if x.size < 2:
        return Estimate(mean, None, None)
    from scipy.special import stdtrit  # the Student-t quantile scipy.stats.t.ppf calls

    half = float(stdtrit(x.size - 1, 0.5 + level / 2) * x.std(ddof=1) / math.sqrt(x.size))
    return Estimate(mean, mean - half, mean + half)


@dataclass(frozen=True)
class LossTree:
    """OEE the way plants report it, over the replications: calendar time → planned downtime
    → availability, performance and quality losses → good output (:func:`linesim.kpis.
    station_losses` and :func:`~linesim.kpis.line_losses` say what each loss holds). Hours are
    machine-hours for a station and hours of the nameplate bottleneck for the line; cells are
    those hours at the ideal rate."""

    station: str  #: whose hours: the station's, or for the line its nameplate bottleneck's
    oee: Estimate  #: good output ÷ planned production time (at the ideal rate)
    availability: Estimate
    performance: Estimate
    quality: Estimate
    calendar_h: float
    planned_production_h: Estimate
    good_h: Estimate
    ideal_cells_per_h: float
    hours: dict[str, Estimate]  #: by loss, in waterfall order (kpis.LOSSES)
    cells: dict[str, Estimate]

    @classmethod
    def of(cls, trees: Sequence[kpis.Losses]) -> LossTree:
        def est(f) -> Estimate:
            return estimate([f(t) for t in trees])

        return cls(
            station=trees[0].station,
            oee=est(lambda t: t.oee),
            availability=est(lambda t: t.availability),
            performance=est(lambda t: t.performance),
            quality=est(lambda t: t.quality),
            calendar_h=trees[0].calendar_h,
            planned_production_h=est(lambda t: t.planned_production_h),
            good_h=est(lambda t: t.good_h),
            ideal_cells_per_h=trees[0].rate_cells_per_h,
            hours={k: est(lambda t, k=k: t.hours[k]) for k in kpis.LOSSES},
            cells={k: est(lambda t, k=k: t.cells()[k]) for k in kpis.LOSSES},
        )

    def to_dict(self) -> dict[str, Any]:
        return as_plain(self)


@dataclass(frozen=True)
class StationSummary:
    """One station over the replications: time shares (fractions of the window), OEE, defects."""

    id: str
    machines: int
    utilisation: Estimate  #: busy ÷ (machines × window)
    blocked: Estimate  #: fraction of machine time blocked by a full buffer downstream
    starved: Estimate  #: fraction of machine time waiting for input
    down: Estimate  #: fraction of machine time failed or under repair
    active: Estimate  #: fraction of machine time not idle for lack of work
    oee: Estimate  #: availability × performance × quality of the station
    defect_rate: Estimate  #: scrapped ÷ processed, defects made here
    exposure_defect_rate: Estimate  #: the part of it due to dry-room exposure
    defect_probability: float  #: p of the config (at its settings)
    processed: int  #: cells processed, summed over replications
    bottleneck_share: float  #: share of replications in which it was the bottleneck
    losses: LossTree | None = None  #: its OEE loss tree

    def to_dict(self) -> dict[str, Any]:
        return as_plain(self)


@dataclass(frozen=True)
class YieldAttribution:
    """Simulated − analytic line yield, split by cause (each an estimate; they add up)."""

    CAUSES: ClassVar[tuple[str, ...]] = (
        "sampling",
        "exposure",
        "detection_delay",
        "startup_scrap",
        "inspection",
    )

    sampling: Estimate  #: binomial noise of the simulated yield
    exposure: Estimate  #: dry-room exposure while waiting (needs queue times)
    detection_delay: Estimate  #: defects still inside the line at the window's end
    startup_scrap: Estimate  #: cells scrapped after changeovers (not in ∏(1 − p))
    inspection: Estimate  #: defective cells saved by rework or shipped as escapes

    def to_dict(self) -> dict[str, Any]:
        return as_plain(self)


@dataclass(frozen=True)
class LineYield:
    """The line yield: analytic ∏(1 − p_i), simulated (good ÷ resolved), and the gap's causes."""

    analytic: float
    simulated: Estimate
    good_per_started: Estimate
    attribution: YieldAttribution

    def to_dict(self) -> dict[str, Any]:
        return as_plain(self)


@dataclass(frozen=True)
class ReplicationCounts:
    """Cell counts of one replication over its observation window (after warm-up), under the
    names of a sweep's rows: started = good + shipped_defective + scrapped + in_process_at_end
    − in_process_at_start.

    Replication r of base seed ``seed`` draws from ``SeedSequence(seed, spawn_key=(r,))``
    (:func:`linesim.experiments.replication_rng`): ``stream`` gives that seed sequence's
    ``entropy`` and ``spawn_key``, enough to rerun the replication on its own.
    """

    replication: int
    seed: int | None  #: the run's base seed
    started: int  #: cells that entered the first station in the window
    good: int  #: good cells out of the last station in the window
    scrapped: int  #: cells scrapped in the window
    in_process_at_end: int  #: cells in the line at the end of the window
    shipped_defective: int = 0  #: escaped defects out of the line (neither good nor scrap)
    in_process_at_start: int = 0  #: cells in the line at the start of the window (end of warm-up)
    stream: dict[str, Any] | None = None  #: ``{"entropy": seed, "spawn_key": [r]}``

    def to_dict(self) -> dict[str, Any]:
        return as_plain(self)


@dataclass(frozen=True)
class RunSummary:
    """A simulated line over its replications: the document of ``linesim run --json``."""

    line: str
    engine: str
    warmup_h: float
    horizon_h: float
    seed: int | None
    throughput_cells_per_h: Estimate  #: good cells out per hour of the window
    started_cells_per_h: Estimate
    output_gwh_per_year: Estimate  #: good output over a calendar year
    line_yield: LineYield
    line_oee: Estimate
    mean_wip_cells: Estimate
    mean_lead_time_h: Estimate
    bottleneck: str  #: the station most often the bottleneck
    bottleneck_shares: dict[str, float]
    stations: tuple[StationSummary, ...]
    replications: tuple[ReplicationCounts, ...]
    losses: LossTree | None = None  #: the line's OEE loss tree
    shipped_defective_cells_per_h: Estimate | None = None  #: escaped defects shipped
    warnings: tuple[str, ...] = ()  #: what the figures should be read with (short windows)
    record_id: str | None = None  #: the results store's record, once recorded

    def station(self, station_id: str) -> StationSummary:
        """The summary of one station by id."""
        for s in self.stations:
            if s.id == station_id:
                return s
        raise KeyError(f"station_id: {station_id!r} is not a station of {self.line!r}")

    def with_record(self, record_id: str) -> RunSummary:
        """The same summary, recorded in the store as ``record_id``."""
        return replace(self, record_id=record_id)

    def to_dict(self) -> dict[str, Any]:
        """Plain data, key for key the JSON document of ``linesim run --json`` (``record_id``
        only once recorded)."""
        doc = as_plain(self)
        if self.record_id is None:
            del doc["record_id"]
        return doc


@dataclass(frozen=True)
class VariantSummary:
    """One variant of a sweep over its replications (common random numbers across variants)."""

    variant: int
    params: dict[str, str]  #: config path → value as given
    output_gwh_per_year: Estimate
    good_cells_per_h: Estimate
    simulated_line_yield: Estimate
    line_oee: Estimate
    bottleneck: str  #: the most frequent bottleneck over the replications

    KPIS: ClassVar[tuple[str, ...]] = (
        "output_gwh_per_year",
        "good_cells_per_h",
        "simulated_line_yield",
        "line_oee",
    )

    def to_dict(self) -> dict[str, Any]:
        return as_plain(self)


def as_plain(obj: Any) -> Any:
    """A typed result as plain data: dataclasses to dicts (field order), tuples to lists."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: as_plain(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, dict):
        return {k: as_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [as_plain(v) for v in obj]
    return obj


def from_plain(kind: Any, doc: Any) -> Any:
    """The typed result of type ``kind`` whose plain data (:func:`as_plain`, possibly through
    JSON and :func:`json_safe`) is ``doc``: dataclasses from dicts by their field types,
    tuples from lists, and a null where a ``float`` is due read as NaN (what
    :func:`json_safe` made of it). Keys a dataclass does not have are ignored, so a document
    with extra keys (``record_id``) still reads."""
    import types
    import typing

    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if doc is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)][:1]
        return from_plain(inner, doc)
    if is_dataclass(kind) and isinstance(kind, type):
        hints = typing.get_type_hints(kind)
        return kind(
            **{
                f.name: from_plain(hints[f.name], doc[f.name])
                for f in fields(kind)
                if f.init and f.name in doc
            }
        )
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_plain(args[0], v) for v in doc)
        return tuple(from_plain(a, v) for a, v in zip(args, doc, strict=True))
    if origin is dict:
        return {k: from_plain(args[1], v) for k, v in doc.items()}
    if origin is list:
        return [from_plain(args[0], v) for v in doc]
    if kind is float:
        return math.nan if doc is None else float(doc)
    return doc


def summarise(spec: LineSpec, results: Sequence[SimResult]) -> RunSummary:
    """The run summary: every KPI as mean and 95 % CI over the replications ``results`` of
    ``spec``."""
    from linesim.yield_model import line_yield, station_defect_probabilities

    def est(f) -> Estimate:
        return estimate([f(r) for r in results])

    shares = kpis.bottleneck_shares(results)
    p = station_defect_probabilities(spec)
    analytic = line_yield(spec)
    gaps = [kpis.yield_attribution(r, analytic) for r in results]
    stations = []
    for i, station in enumerate(spec.stations):

        def at(f, i=i) -> Estimate:
            return est(lambda rep: f(rep, rep.stations[i]))

        stations.append(
            StationSummary(
                id=station.id,
                machines=station.machine_count,
                utilisation=at(kpis.utilisation),
                blocked=at(kpis.blocked_fraction),
                starved=at(kpis.starved_fraction),
                down=at(kpis.down_fraction),
                active=at(kpis.active_fraction),
                oee=at(kpis.station_oee),
                defect_rate=est(lambda r, i=i: kpis.defect_rate(r.stations[i])),
                exposure_defect_rate=est(
                    lambda r, i=i: (
                        r.stations[i].exposure_defects / r.stations[i].processed
                        if r.stations[i].processed
                        else 0.0
                    )
                ),
                defect_probability=p[i],
                processed=sum(r.stations[i].processed for r in results),
                bottleneck_share=shares.get(station.id, 0.0),
                losses=LossTree.of([kpis.station_losses(r, r.stations[i]) for r in results]),
            )
        )
    first = results[0]
    return RunSummary(
        line=spec.name,
        engine=first.engine,
        warmup_h=first.warmup_s / 3600.0,
        horizon_h=first.horizon_s / 3600.0,
        seed=first.seed,
        throughput_cells_per_h=est(kpis.good_cells_per_h),
        started_cells_per_h=est(kpis.started_cells_per_h),
        output_gwh_per_year=est(kpis.output_gwh_per_year),
        line_yield=LineYield(
            analytic=analytic,
            simulated=est(kpis.simulated_line_yield),
            good_per_started=est(kpis.good_per_started),
            attribution=YieldAttribution(
                **{k: estimate([part[k] for part in gaps]) for k in YieldAttribution.CAUSES}
            ),
        ),
        line_oee=est(kpis.line_oee),
        mean_wip_cells=est(kpis.mean_wip_cells),
        mean_lead_time_h=est(kpis.mean_lead_time_h),
        bottleneck=next(iter(shares)),
        bottleneck_shares=shares,
        stations=tuple(stations),
        replications=tuple(
            ReplicationCounts(
                replication=r.replication,
                seed=r.seed,
                started=r.started,
                good=r.good,
                scrapped=r.scrapped,
                in_process_at_end=r.in_process_at_end,
                shipped_defective=r.shipped_defective,
                in_process_at_start=r.in_process_at_start,
                stream=None
                if r.seed is None
                else {"entropy": r.seed, "spawn_key": [r.replication]},
            )
            for r in results
        ),
        losses=LossTree.of([kpis.line_losses(r) for r in results]),
        warnings=tuple(_window_warnings(spec, first.horizon_s) + _output_warnings(results)),
        shipped_defective_cells_per_h=est(lambda r: r.shipped_defective / (r.horizon_s / 3600.0)),
    )


#: A window shorter than this many of the line's longest services gives edge effects.
EDGE_SERVICES = 3


def _window_warnings(spec: LineSpec, horizon_s: float) -> list[str]:
    """A warning when the window is short against the longest service: cells whose service
    began before the window and ended inside it count as processed in it. In steady state
    those balance the services that begin inside and end after it; in a short window, or one
    that starts before the line has filled, they do not, and station OEE, performance and the
    line's output can even exceed what the window's machine time allows."""
    from linesim.simulation.draws import group_times

    longest, where = max(
        (group_times(e).mean_s, s.id) for s in spec.stations for e in s.equipment() if e.count
    )
    if horizon_s >= EDGE_SERVICES * longest:
        return []
    return [
        f"the window ({horizon_s / 3600:g} h) is shorter than {EDGE_SERVICES} of the longest "
        f"service ({where}: {longest / 3600:g} h): OEE, performance and output carry edge "
        f"effects (they may pass 1); simulate at least {EDGE_SERVICES * longest / 86400:.3g} days"
    ]


def _output_warnings(results: Sequence[SimResult]) -> list[str]:
    """A warning when the window made no good cell: good output is then 0, and a yield that
    nothing measured is not available (n/a in text, null in JSON), not 1."""
    if any(r.good for r in results):
        return []
    started = sum(r.started for r in results)
    if not any(s.processed for r in results for s in r.stations):
        return [
            f"no cell was processed in the window ({results[0].horizon_s / 3600:g} h, "
            f"{started:,} started over the replications): the simulated yield and lead time "
            "are not available; a longer horizon would measure them"
        ]
    return [
        f"no good cell left the line in the window ({started:,} cells started over the "
        "replications were scrapped or are still in process): good output is 0"
    ]


def json_safe(value):
    """A copy of plain data with NaN and ±inf floats (and numpy scalars) made JSON-safe:
    non-finite numbers become None (JSON null), so ``allow_nan=False`` dumps never fail."""
    import math

    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
