"""What every page shares: the working line, cached analyses and simulations, CSV downloads.

The working line lives in ``st.session_state`` as YAML text (``spec_yaml``) — pydantic models
are not hashable by Streamlit, so every cache is keyed on that text. Only linesim's public
functions are called; nothing here computes a KPI itself.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

# In a checkout the app sits beside the package (ui/ and linesim/ at the top level), which may
# not be installed: put the checkout first. In the wheel the app is linesim/_bundled/ui and the
# package is already importable.
ROOT = Path(__file__).resolve().parents[1]
if (ROOT / "linesim" / "__init__.py").is_file() and str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from linesim.bundled import bundled_lines
from linesim.config import dump_line, line_from_text, load_line
from linesim.errors import ConfigError
from linesim.simulation import SimResult
from linesim.summary import RunSummary

CONFIGS = list(bundled_lines().values())
DEFAULT_CONFIG = bundled_lines()["pilot_sulfide_200mwh"]


def bundled() -> dict[str, Path]:
    return {p.stem: p for p in CONFIGS}


EDITOR_KEYS = ("stations",)  #: the Line page's table: its pending edits belong to the old line
EDIT_PREFIX = "edit_"  #: the Line page's quick-edit inputs (except the station choice)


def set_working(spec, source: str) -> None:
    """Make ``spec`` the working line. The Line page's inputs hold values of the old line: they
    are reset, so the next run shows the new line's values instead of re-applying old ones."""
    st.session_state["spec_yaml"] = dump_line(spec)
    st.session_state["spec_source"] = source
    for key in list(st.session_state):
        if key in EDITOR_KEYS or (key.startswith(EDIT_PREFIX) and key != "edit_station"):
            del st.session_state[key]


def working_yaml() -> str:
    """The working line's YAML text (the default bundled pilot line at first)."""
    if "spec_yaml" not in st.session_state:
        set_working(load_line(DEFAULT_CONFIG), DEFAULT_CONFIG.stem)
    return st.session_state["spec_yaml"]


@st.cache_data(max_entries=64, show_spinner=False)
def spec_from_yaml(text: str):
    return line_from_text(text, "<working line>")


def working_spec():
    return spec_from_yaml(working_yaml())


@st.cache_data(max_entries=64, show_spinner=False)
def static_analysis(text: str):
    """Capacity, yield and cost on the static basis (fast: answers on every edit)."""
    from linesim.economics.analysis import analyse

    return analyse(spec_from_yaml(text), tornado_fraction=0.2)


@dataclass(frozen=True)
class SimulationRun:
    """Replications of one version of the working line (its YAML text) and their summary."""

    yaml: str
    summary: RunSummary
    results: list[SimResult]


@st.cache_data(max_entries=32, show_spinner=False)
def simulation(text: str, horizon_days: float, replications: int, seed: int) -> SimulationRun:
    """Replications on the fast engine, keyed on the line's YAML text and the run settings."""
    from linesim.capacity import suggested_warmup_h
    from linesim.experiments import replicate
    from linesim.summary import summarise

    spec = spec_from_yaml(text)
    results = replicate(
        spec,
        horizon_days * 86400.0,
        suggested_warmup_h(spec) * 3600.0,
        replications,
        seed,
        workers=1,
        engine="fast",
    )
    return SimulationRun(text, summarise(spec, results), results)


def last_simulation() -> SimulationRun | None:
    """The latest simulation of the working line in this session, or None."""
    sim = st.session_state.get("simulation")
    if isinstance(sim, SimulationRun) and sim.yaml == working_yaml():
        return sim
    return None


def table(frame: pd.DataFrame, name: str, key: str) -> None:
    """A table with a CSV download beside it."""
    st.dataframe(frame, hide_index=True, width="stretch")
    st.download_button(
        f"Download {name} (CSV)",
        frame.to_csv(index=False).encode(),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"csv_{key}",
    )


def show_config_error(exc: ConfigError) -> None:
    st.error(f"**{exc.path or exc.file}**: {exc}", icon="⚠️")
