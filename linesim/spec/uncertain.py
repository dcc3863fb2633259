"""Uncertain inputs: a number in a config given as a distribution instead of a value.

Any numeric field of a line config may hold a mapping with a ``dist`` key instead of a number:

==============  ==================================  ============================================
``dist``        parameters                          nominal value (what every other command sees)
==============  ==================================  ============================================
``triangular``  ``low``, ``value`` (mode), ``high``  ``value``
``pert``        ``low``, ``value`` (mode), ``high``  ``value``; Beta(1 + 4(m − a)/(b − a),
                                                    1 + 4(b − m)/(b − a)) on [a, b]
``uniform``     ``low``, ``high`` (``value``)        ``value``, else the midpoint
``normal``      ``value`` (mean), ``sd``             ``value``; truncated to ``low``/``high``
                (``low``, ``high``)                 where given and to the field's bounds
``lognormal``   ``median``, ``p90`` (``low``,        ``median``; ln X ~ N(ln median, σ),
                ``high``)                           σ = ln(p90 / median) / z₀.₉₀, truncated
==============  ==================================  ============================================

Each may carry ``source:`` like the fields around it. A plain number is certain. Unbounded
distributions are sampled between their :data:`TAIL` and 1 − :data:`TAIL` quantiles (after
truncation), so their support is finite and checked like a bounded one: every value of the
support must be one the field accepts (:func:`linesim.config.uncertain_inputs` validates the
line at both ends of every input's support). On a whole-number field (machines, buffers, batch
sizes) samples and the nominal value are whole numbers: a bounded distribution is spread over
[low − 0.5, high + 0.5] and rounded, so a uniform one gives every integer of [low, high] the same
chance.

Sampling maps a uniform number u ∈ (0, 1) through the inverse CDF (:meth:`Uncertain.ppf`), so
a quasi-random design on the unit cube becomes a design over the inputs, and the inputs are
independent unless a rank correlation is imposed on the design.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

import annotated_types
import numpy as np
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from linesim.spec.base import MAX_NUMBER, Bounds

__all__ = [
    "DISTS",
    "TAIL",
    "Uncertain",
    "FieldBounds",
    "UncertainError",
    "parse_uncertain",
    "is_uncertain",
    "field_bounds",
    "UncertainInput",
]

DISTS: tuple[str, ...] = ("triangular", "pert", "uniform", "normal", "lognormal")
#: Quantile at which an unbounded distribution's tails are cut: 1 in a million.
TAIL = 1e-6
_Z90 = 1.2815515655446004  # scipy.special.ndtri(0.9); scipy is imported only to sample
_PARAMS = {
    "triangular": ({"low", "value", "high"}, set()),
    "pert": ({"low", "value", "high"}, set()),
    "uniform": ({"low", "high"}, {"value"}),
    "normal": ({"value", "sd"}, {"low", "high"}),
    "lognormal": ({"median", "p90"}, {"low", "high"}),
}


class UncertainError(ValueError):
    """A distribution mapping that is not valid: ``key`` (below the field), the problem, the
    value and what is allowed (the config layer turns it into a ``ConfigError``)."""

    def __init__(self, key: str, problem: str, value: object, allowed: str):
        super().__init__(problem)
        self.key, self.problem, self.value, self.allowed = key, problem, value, allowed


@dataclass(frozen=True)
class FieldBounds:
    """What a numeric field accepts: [low, high] (open at an end where ``*_open``), whole
    numbers only where ``integer``."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    integer: bool = False

    def admits(self, x: float) -> bool:
        above = x > self.low if self.low_open else x >= self.low
        below = x < self.high if self.high_open else x <= self.high
        return above and below

    def describe(self) -> str:
        lo = "" if self.low == -math.inf else f"{'>' if self.low_open else '≥'} {self.low:g}"
        hi = "" if self.high == math.inf else f"{'<' if self.high_open else '≤'} {self.high:g}"
        kind = "a whole number" if self.integer else "a number"
        return " and ".join([f"{kind} {lo}".strip()] + ([hi] if hi else []))


@dataclass(frozen=True)
class Uncertain:
    """One input's distribution (parameters as in the module's table)."""

    dist: str
    value: float | None = None
    low: float | None = None
    high: float | None = None
    sd: float | None = None
    median: float | None = None
    p90: float | None = None
    source: str = ""
    integer: bool = False  #: whole numbers: samples are rounded

    @property
    def nominal(self) -> float:
        """The value every command but ``uncertainty`` sees."""
        if self.dist == "lognormal":
            assert self.median is not None
            x = self.median
        elif self.value is not None:
            x = self.value
        else:
            assert self.low is not None and self.high is not None
            x = 0.5 * (self.low + self.high)
        return round(x) if self.integer else x

    def ppf(self, u: Any, bounds: FieldBounds = FieldBounds()) -> np.ndarray:
        """Values at the quantiles ``u`` (array in (0, 1)); unbounded distributions truncated
        to ``low``/``high`` and the field's ``bounds`` and cut at :data:`TAIL`."""
        u = np.asarray(u, dtype=float)
        if self.dist in ("triangular", "uniform", "pert"):
            assert self.low is not None and self.high is not None
            u = np.clip(u, 0.0, 1.0)
            # whole numbers: each integer of [low, high] takes the mass within ±0.5 of it
            a, b = (self.low - 0.5, self.high + 0.5) if self.integer else (self.low, self.high)
            if self.dist == "uniform":
                x = a + u * (b - a)
            elif self.dist == "triangular":
                assert self.value is not None
                c = (self.value - a) / (b - a)
                x = np.where(
                    u < c,
                    a + np.sqrt(u * (b - a) * (self.value - a)),
                    b - np.sqrt((1.0 - u) * (b - a) * (b - self.value)),
                )
            else:
                assert self.value is not None
                alpha = 1.0 + 4.0 * (self.value - a) / (b - a)
                beta = 1.0 + 4.0 * (b - self.value) / (b - a)
                from scipy import special  # here: 0.7 s of imports no plain command needs

                with np.errstate(all="ignore"):
                    y = special.betaincinv(alpha, beta, u)
                # the inverse fails (NaN) in the far tails, u below ~1e-100: its limits there
                y = np.where(np.isnan(y), np.where(u < 0.5, 0.0, 1.0), y)
                x = a + (b - a) * y
            if self.integer:
                x = np.clip(np.rint(x), self.low, self.high)
            else:  # rounding (e.g. subnormal bounds) must not step outside [low, high]
                x = np.clip(x, self.low, self.high)
        else:
            u = np.clip(u, TAIL, 1.0 - TAIL)
            lo = max(bounds.low, -math.inf if self.low is None else self.low)
            hi = min(bounds.high, math.inf if self.high is None else self.high)
            if self.dist == "normal":
                assert self.value is not None and self.sd is not None
                mu, sigma, to_z = self.value, self.sd, lambda x: x
            else:
                assert self.median is not None and self.p90 is not None
                mu, sigma = math.log(self.median), math.log(self.p90 / self.median) / _Z90
                to_z = _log
            from scipy import special

            z_lo, z_hi = (to_z(lo) - mu) / sigma, (to_z(hi) - mu) / sigma
            c_lo, c_hi = float(special.ndtr(z_lo)), float(special.ndtr(z_hi))
            z = special.ndtri(c_lo + u * (c_hi - c_lo))
            x = mu + sigma * z
            if self.dist == "lognormal":
                x = np.exp(x)
            x = np.clip(x, lo, hi)
            if self.integer:
                x = np.rint(x)
        return np.asarray(x, dtype=float)

    def support(self, bounds: FieldBounds = FieldBounds()) -> tuple[float, float]:
        """The least and greatest value sampled."""
        ends = self.ppf([0.0, 1.0], bounds)
        return float(ends[0]), float(ends[1])

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dist": self.dist}
        for key in ("value", "low", "high", "sd", "median", "p90"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.source:
            out["source"] = self.source
        return out


def _log(x: float) -> float:
    return math.log(x) if x > 0 else -math.inf


def is_uncertain(node: object) -> bool:
    """Whether a raw config value is a distribution mapping (a mapping with ``dist``)."""
    return isinstance(node, Mapping) and "dist" in node


def _number(key: str, x: object) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        raise UncertainError(key, "must be a finite number", x, "a finite number")
    if abs(x) > MAX_NUMBER:
        raise UncertainError(key, "is out of range", x, f"a number of at most {MAX_NUMBER:g}")
    return x


def parse_uncertain(node: Mapping[str, Any]) -> Uncertain:
    """The distribution a raw mapping describes, its parameters checked against each other.

    Raises :class:`UncertainError` naming the key below the field."""
    dist = node.get("dist")
    if dist not in DISTS:
        raise UncertainError("dist", "unknown distribution", dist, "one of " + ", ".join(DISTS))
    need, optional = _PARAMS[dist]
    keys: set[Any] = set(node) - {"dist", "source"}
    for key in sorted(need - keys):
        raise UncertainError(
            key,
            f"a {dist} distribution needs {key}",
            None,
            f"{dist} with " + ", ".join(sorted(need)) + _also(optional),
        )
    for key in sorted(keys - need - optional, key=str):
        raise UncertainError(
            key,
            f"not a parameter of a {dist} distribution",
            node[key],
            ", ".join(sorted(need | optional)) + " and source",
        )
    source = node.get("source", "")
    if not isinstance(source, str):
        raise UncertainError("source", "must be a text", source, "a text citing the range")
    p = {k: _number(k, node[k]) for k in keys}
    lo, hi = p.get("low"), p.get("high")
    if lo is not None and hi is not None and not lo < hi:
        raise UncertainError("high", "must be above low", hi, f"a number > low ({lo:g})")
    if dist in ("triangular", "pert") and not lo <= p["value"] <= hi:  # type: ignore[operator]
        raise UncertainError(
            "value", "must lie between low and high", p["value"], f"{lo:g} to {hi:g}"
        )
    if dist == "uniform" and "value" in p and not lo <= p["value"] <= hi:  # type: ignore[operator]
        raise UncertainError(
            "value", "must lie between low and high", p["value"], f"{lo:g} to {hi:g}"
        )
    if dist == "normal":
        if not p["sd"] > 0:
            raise UncertainError("sd", "must be positive", p["sd"], "a number > 0")
        _centre_inside("value", p["value"], lo, hi)
    if dist == "lognormal":
        if not p["median"] > 0:
            raise UncertainError("median", "must be positive", p["median"], "a number > 0")
        if not p["p90"] > p["median"]:
            raise UncertainError(
                "p90", "must be above the median", p["p90"], f"a number > {p['median']:g}"
            )
        if lo is not None and lo < 0:
            raise UncertainError("low", "a lognormal is positive", lo, "a number ≥ 0")
        _centre_inside("median", p["median"], lo, hi)
    return Uncertain(
        dist=dist,
        value=p.get("value"),
        low=lo,
        high=hi,
        sd=p.get("sd"),
        median=p.get("median"),
        p90=p.get("p90"),
        source=source,
    )


def _also(optional: set[str]) -> str:
    return f" (optional: {', '.join(sorted(optional))})" if optional else ""


def _centre_inside(key: str, x: float, lo: float | None, hi: float | None) -> None:
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        shown = f"{'-∞' if lo is None else f'{lo:g}'} to {'∞' if hi is None else f'{hi:g}'}"
        raise UncertainError(key, "must lie between low and high", x, shown)


# --- the bounds a field accepts, read from the spec's own types ------------------------------


def field_bounds(model: type[BaseModel], keys: Sequence[str | int], raw: Any) -> FieldBounds:
    """The bounds of the numeric field at ``keys`` (a raw config's path, list items by index)
    below ``model``, from its type's constraints (``ge``, ``gt``, ``le``, ``lt``,
    :class:`~linesim.spec.base.Bounds`); a field it cannot find is left unbounded (the
    validation of the line at the support's ends still judges it)."""
    tp: Any = model
    metadata: list[Any] = []
    node = raw
    for key in keys:
        tp, meta = _unwrap(tp)
        metadata = []
        if isinstance(key, int):
            tp = _item_type(tp)
        else:
            model_cls = _pick_model(tp, node, key)
            if model_cls is not None:
                info = model_cls.model_fields.get(key)
                if info is None:
                    return FieldBounds()
                tp, metadata = info.annotation, list(info.metadata)
            else:
                tp = _value_type(tp)
        if tp is None:
            return FieldBounds()
        node = _child(node, key)
    tp, meta = _unwrap(tp)
    metadata += meta
    return _bounds_of(tp, metadata)


def _child(node: Any, key: str | int) -> Any:
    if isinstance(node, Mapping):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return None


def _unwrap(tp: Any) -> tuple[Any, list[Any]]:
    """``tp`` without ``Annotated`` and ``None`` alternatives, and the constraints collected."""
    meta: list[Any] = []
    while True:
        if hasattr(tp, "__metadata__"):
            for m in tp.__metadata__:
                meta.extend(m.metadata if isinstance(m, FieldInfo) else [m])
            tp = tp.__origin__
            continue
        args = get_args(tp)
        if _is_union(tp) and type(None) in args:
            rest = [a for a in args if a is not type(None)]
            tp = rest[0] if len(rest) == 1 else Union[tuple(rest)]  # noqa: UP007
            continue
        return tp, meta


def _is_union(tp: Any) -> bool:
    import types

    return get_origin(tp) in (Union, types.UnionType)


def _members(tp: Any) -> list[Any]:
    return [_unwrap(a)[0] for a in get_args(tp)] if _is_union(tp) else [tp]


def _pick_model(tp: Any, node: Any, key: str) -> type[BaseModel] | None:
    models = [m for m in _members(tp) if isinstance(m, type) and issubclass(m, BaseModel)]
    tag = node.get("model") if isinstance(node, Mapping) else None
    for m in models:  # a discriminated union (process windows): the member the tag names
        field = m.model_fields.get("model")
        if field is not None and tag in get_args(field.annotation):
            return m
    return next((m for m in models if key in m.model_fields), None)


def _item_type(tp: Any) -> Any:
    for m in _members(tp):
        if get_origin(m) in (tuple, list):
            args = [a for a in get_args(m) if a is not Ellipsis]
            return args[0] if args else None
    return None


def _value_type(tp: Any) -> Any:
    for m in _members(tp):
        if get_origin(m) is dict:
            return get_args(m)[1]
    return None


def _bounds_of(tp: Any, metadata: list[Any]) -> FieldBounds:
    members = _members(tp)
    integer = int in members and float not in members
    lo, hi, lo_open, hi_open = -math.inf, math.inf, False, False
    for m in metadata:
        if isinstance(m, annotated_types.Ge):
            lo, lo_open = float(m.ge), False  # type: ignore[arg-type]
        elif isinstance(m, annotated_types.Gt):
            lo, lo_open = float(m.gt), True  # type: ignore[arg-type]
        elif isinstance(m, annotated_types.Le):
            hi, hi_open = float(m.le), False  # type: ignore[arg-type]
        elif isinstance(m, annotated_types.Lt):
            hi, hi_open = float(m.lt), True  # type: ignore[arg-type]
        elif isinstance(m, Bounds):
            lo, hi, lo_open, hi_open = m.low, m.high, False, False
    return FieldBounds(lo, hi, lo_open, hi_open, integer)


@dataclass(frozen=True)
class UncertainInput:
    """One uncertain field of a config: where it is, its distribution and the field's bounds."""

    keys: tuple[str | int, ...]  #: path in the raw config (list items by index)
    name: str  #: the path people read: stations by id, equipment options by name
    dist: Uncertain
    bounds: FieldBounds

    def ppf(self, u: Any) -> np.ndarray:
        """Values of this input at quantiles ``u``."""
        return self.dist.ppf(u, self.bounds)

    @property
    def support(self) -> tuple[float, float]:
        return self.dist.support(self.bounds)

    def to_dict(self) -> dict[str, Any]:
        lo, hi = self.support
        return {
            "name": self.name,
            **self.dist.to_dict(),
            "nominal": self.dist.nominal,
            "support": [lo, hi],
        }
