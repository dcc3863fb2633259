"""Every spec → spec change in one place, each one re-validated: process settings, a layout
(machine counts, buffers, omitted stations), one parameter scaled, dry-room exposure off.

A change is made on the spec's editable config mapping (:func:`linesim.config.editable`) and
validated again by :func:`linesim.config.line_from_dict`, so a changed spec obeys every bound a
loaded one does (a change that breaks one raises :class:`~linesim.errors.ConfigError` naming the
field) and dumps back to YAML that loads to the same spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from linesim.config import carry_ranges, drop_materials_entering_at, editable, line_from_dict
from linesim.errors import ConfigError
from linesim.spec import DEFAULT_OPTION, WINDOW_KINDS, LineSpec

__all__ = [
    "Layout",
    "STATION_PARAMETERS",
    "apply_layout",
    "perturb_material",
    "perturb_station",
    "with_settings",
    "without_exposure",
]

Layout = Mapping[str, Mapping[str, int]]

#: Station parameters :func:`perturb_station` can scale.
STATION_PARAMETERS = ("defect_probability", "rate", "mtbf_h", "capex_usd")

#: Field that carries a station kind's rate, and whether it is inverse to the rate.
_RATE_FIELD = {
    "continuous": ("web_speed_m_per_min", False),
    "sheet": ("time_per_sheet_s", True),
    "discrete": ("cycle_time_s", True),
    "batch": ("cycle_time_s", True),
}


def with_settings(spec: LineSpec, settings: Mapping[str, Mapping[str, float]]) -> LineSpec:
    """``spec`` with process settings changed: ``{station_id: {setting: value}}``; the fields
    the windows set follow. Raises ConfigError for an unknown station or setting."""
    data = editable(spec)
    ids = [s["id"] for s in data["stations"]]
    for sid, values in settings.items():
        if sid not in ids:
            raise ConfigError(
                "<settings>", sid, "unknown station id", sid, "one of " + ", ".join(ids)
            )
        block = data["stations"][ids.index(sid)].get("process")
        if block is None:
            raise ConfigError(
                "<settings>",
                f"{sid}",
                "the station has no process window",
                sid,
                "a station with a process block",
            )
        allowed = WINDOW_KINDS[block["model"]].SETTINGS
        for name, value in values.items():
            if name not in allowed:
                raise ConfigError(
                    "<settings>",
                    f"{sid}.{name}",
                    f"not a setting of the {block['model']} model",
                    name,
                    ", ".join(allowed) or "(none)",
                )
            block[name] = value
    return line_from_dict(data, f"<settings of {spec.name}>")


def without_exposure(spec: LineSpec) -> LineSpec:
    """``spec`` with every dry-room exposure window switched off (each station keeps its own p₀:
    time in the queues no longer matters)."""
    data = editable(spec)
    for station in data["stations"]:
        if (station.get("process") or {}).get("model") == "exposure":
            del station["process"]
    return line_from_dict(data, f"<{spec.name} without exposure>")


def apply_layout(
    spec: LineSpec,
    layout: Layout,
    buffers: Mapping[str, int] | None = None,
    settings: Mapping[str, Mapping[str, float]] | None = None,
) -> LineSpec:
    """``spec`` with the machine counts (and buffers, and process settings) of ``layout``,
    validated.

    Stations missing from ``layout`` keep their counts. An optional station with no machine is
    removed (with the materials entering there), and each station in its ``omission_effects``
    gets the extra independent defect probability δ: p → 1 − (1 − p)(1 − δ), per option.
    """
    source = spec
    if settings:
        spec = with_settings(spec, settings)
    raw = editable(spec)
    omitted = set()
    for station in raw["stations"]:
        counts = layout.get(station["id"])
        if counts is not None:
            if sum(counts.values()) == 0:
                omitted.add(station["id"])
            elif "options" in station:
                station["machines"] = {k: int(v) for k, v in counts.items()}
            else:
                station["machines"] = int(counts[DEFAULT_OPTION])
        if buffers and station["id"] in buffers:
            station["buffer_after"] = int(buffers[station["id"]])
    for sid in omitted:
        for target, delta in spec.stations[spec.station_index(sid)].omission_effects.items():
            _add_defect(raw["stations"][spec.station_index(target)], delta)
    raw["stations"] = [s for s in raw["stations"] if s["id"] not in omitted]
    for station in raw["stations"]:  # an effect on a station that is left out too is none
        effects = station.get("omission_effects")
        if effects and omitted & set(effects):
            station["omission_effects"] = {k: v for k, v in effects.items() if k not in omitted}
    drop_materials_entering_at(raw, omitted)
    # the distributions of the fields the layout leaves as they were (`linesim uncertainty`
    # on a written layout, the app's working copy)
    return carry_ranges(source, line_from_dict(raw, f"<layout of {spec.name}>"))


def _add_defect(station: dict, delta: float) -> None:
    block = station.get("process")
    if block is not None and "defect_probability" in WINDOW_KINDS[block["model"]].DERIVES:
        # the window's p follows its settings: the extra δ goes into the window
        block["added_defect_probability"] = 1.0 - (
            1.0 - block.get("added_defect_probability", 0.0)
        ) * (1.0 - delta)
        return
    for holder in station.get("options") or [station]:
        p = holder.get("defect_probability", 0.0)
        holder["defect_probability"] = 1.0 - (1.0 - p) * (1.0 - delta)


def _scaled(obj, parameter: str, factor: float, kind: str) -> dict:
    """Field updates that scale ``parameter`` of a station or option by ``factor``."""
    if parameter == "defect_probability":
        return {"defect_probability": obj.defect_probability * factor}
    if parameter == "rate":
        field, inverse = _RATE_FIELD[kind]
        value = getattr(obj, field)
        return {field: value / factor if inverse else value * factor}
    value = getattr(obj, parameter)
    return {} if value is None else {parameter: value * factor}


def perturb_station(spec: LineSpec, station_id: str, parameter: str, factor: float) -> LineSpec:
    """``spec`` with one station parameter multiplied by ``factor`` (> 0), validated again.

    ``parameter`` is one of :data:`STATION_PARAMETERS`; ``rate`` scales the field that carries
    the station kind's rate (web speed up, or cycle/sheet time down). With equipment options,
    every option's parameter is scaled. Where the station's process window sets the field, the
    window is frozen at its current settings (the station keeps the numbers the window gives
    and loses the window), so the scaled value is the one the line uses.
    """
    if parameter not in STATION_PARAMETERS:
        raise ValueError(
            f"parameter: {parameter!r} is unknown; allowed: " + ", ".join(STATION_PARAMETERS)
        )
    if not factor > 0:
        raise ValueError(f"factor: {factor!r}; allowed: a number > 0")
    i = spec.station_index(station_id)
    station = spec.stations[i]
    data = editable(spec)
    raw = data["stations"][i]
    window = station.process
    if window is not None and window.DERIVES:
        raw.pop("process")
        raw.update({field: getattr(station, field) for field in window.DERIVES})
    holders: list[dict[str, Any]] = raw.get("options") or [raw]
    for holder, obj in zip(holders, station.options or (station,)):
        holder.update(_scaled(obj, parameter, factor, station.kind))
    return line_from_dict(data, f"<{spec.name}: {station_id}.{parameter} × {factor:g}>")


def perturb_material(spec: LineSpec, name: str, factor: float) -> LineSpec:
    """``spec`` with one material's price multiplied by ``factor`` (> 0), validated again."""
    if not factor > 0:
        raise ValueError(f"factor: {factor!r}; allowed: a number > 0")
    data = editable(spec)
    materials = (data.get("cost") or {}).get("materials") or []
    names = [m.get("name") for m in materials]
    if name not in names:
        raise ValueError(
            f"material: {name!r} is unknown; allowed: one of "
            + (", ".join(map(str, names)) or "(the line has no materials)")
        )
    for material, model in zip(materials, spec.cost.materials):  # type: ignore[union-attr]
        if model.name == name:
            material["price_per_unit"] = model.price_per_unit * factor
    return line_from_dict(data, f"<{spec.name}: price of {name} × {factor:g}>")
