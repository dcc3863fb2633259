"""A line's figures against the published bands of its config (``cost.bands``).

Each band is a closed interval [low, high] with its source; a figure outside it is flagged.
The figures come from a :class:`~linesim.economics.cost.CostReport`: cost per good Wh
[CNY/Wh], capex per GWh/yr [bn CNY], electricity per good kWh [kWh/kWh], line yield, direct
labour [FTE, and FTE per GWh/yr].
"""

from __future__ import annotations

from dataclasses import dataclass

from linesim.economics.cost import CostReport
from linesim.spec.cost_inputs import Bands

__all__ = ["BAND_FIGURES", "BandCheck", "band_checks", "figure"]

#: band field → (label, unit) as reports show them
BAND_FIGURES: dict[str, tuple[str, str]] = {
    "cny_per_wh": ("cost per good Wh", "CNY/Wh"),
    "capex_bn_cny_per_gwh": ("capex per GWh/yr", "bn CNY"),
    "energy_kwh_per_kwh": ("energy per good kWh", "kWh/kWh"),
    "line_yield": ("line yield", ""),
    "direct_fte_per_gwh": ("direct labour per GWh/yr", "FTE"),
    "direct_fte": ("direct labour", "FTE"),
}


def figure(report: CostReport, name: str) -> float:
    """The report's value of a band figure (names: :data:`BAND_FIGURES`)."""
    if name == "cny_per_wh":
        return report.cny_per_wh
    if name == "capex_bn_cny_per_gwh":
        return report.capex_bn_cny_per_gwh
    if name == "energy_kwh_per_kwh":
        return report.energy_kwh_per_kwh.total
    if name == "line_yield":
        return report.line_yield
    if name == "direct_fte_per_gwh":
        return report.direct_fte / report.output_gwh_per_year
    if name == "direct_fte":
        return report.direct_fte
    raise ValueError(f"figure: {name!r} is unknown; allowed: " + ", ".join(BAND_FIGURES))


@dataclass(frozen=True)
class BandCheck:
    """One figure of a line against its band."""

    name: str
    value: float
    low: float
    high: float
    source: str

    @property
    def inside(self) -> bool:
        return self.low <= self.value <= self.high


def band_checks(report: CostReport, bands: Bands | None) -> list[BandCheck]:
    """Every band the config gives, with the report's figure (empty without bands)."""
    if bands is None:
        return []
    out = []
    for name in BAND_FIGURES:
        band = getattr(bands, name)
        if band is not None:
            out.append(BandCheck(name, figure(report, name), band.low, band.high, band.source))
    return out
