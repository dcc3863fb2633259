"""Line: choose or upload a line, edit its stations, see output and yield move at once."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import common
import pandas as pd
import streamlit as st
from safe import file_name, md

from linesim.config import line_from_text, load_line
from linesim.errors import ConfigError

#: The stations table's columns: station field → column label.
COLUMNS = {
    "machines": "machines",
    "defect_probability": "p [-]",
    "mtbf_h": "MTBF [h]",
    "mttr_h": "MTTR [h]",
    "buffer_after": "buffer after [cells]",
    "capex_usd": "capex [USD/machine]",
}
#: Fields set per equipment option on a station that has options (edited in the YAML).
PER_OPTION = ("machines", "defect_probability", "capex_usd", "mtbf_h", "mttr_h")


def _load_bundled() -> None:
    """The bundled line chosen (a callback: it runs before the page, so it has its own guard)."""
    name = st.session_state["bundled"]
    common.guarded(lambda: common.set_working(load_line(common.bundled()[name]), name))


def choose_line() -> None:
    """A bundled line, or an uploaded one (checked off the request thread, see common)."""
    names = list(common.bundled())
    left, right = st.columns(2)
    source = st.session_state.get("spec_source", common.DEFAULT_CONFIG.stem)
    left.selectbox(
        "Bundled line",
        names,
        key="bundled",
        on_change=_load_bundled,
        index=names.index(source) if source in names else 0,
    )
    upload = right.file_uploader(
        f"…or upload a line config (YAML, at most {common.UPLOAD_LIMIT_MB} MB)",
        type=["yaml", "yml"],
        key="upload",
        max_upload_size=common.UPLOAD_LIMIT_MB,
    )
    if upload is not None and st.session_state.get("uploaded") != upload.file_id:
        st.session_state["uploaded"] = upload.file_id
        with common.reported():
            common.load_upload(upload)


def quick_edits(spec, text: str) -> list[str]:
    """One station's machines and defect probability (or process settings): the overrides
    that validate; an error shows under its input."""
    st.subheader(f"{md(spec.name)} — edit")
    ids = [s.id for s in spec.stations]
    c1, c2, c3 = st.columns(3)
    sid = c1.selectbox("Station", ids, key="edit_station")
    station = spec.stations[ids.index(sid)]
    quick = []  # (column, override)
    window = station.process
    if station.options:
        c2.caption(f"{md(sid)} has equipment options; edit their counts in the table below.")
    else:
        machines = c2.number_input(
            "Machines", min_value=0, step=1, value=int(station.machines), key=f"edit_machines_{sid}"
        )
        if machines != station.machines:
            quick.append((c2, f"stations.{sid}.machines={int(machines)}"))
        if window is not None and window.SETTINGS:
            # p follows the process window's settings: edit those
            for name, value in window.settings().items():
                unit = window.UNITS.get(name, "")
                new = c3.number_input(
                    f"{name} [{unit}] ({window.model} window)",
                    value=float(value),
                    key=f"edit_{name}_{sid}",
                    help=f"p = {station.defect_probability:.4f} at these settings",
                )
                if new != value:
                    quick.append((c3, f"stations.{sid}.process.{name}={new!r}"))
        else:
            p = c3.number_input(
                "Defect probability",
                value=float(station.defect_probability),
                step=0.001,
                format="%.4f",
                key=f"edit_p_{sid}",
                help="per cell processed, in [0, 1]",
            )
            if p != station.defect_probability:
                quick.append((c3, f"stations.{sid}.defect_probability={p!r}"))
    overrides = []
    for column, override in quick:
        with column, common.reported(spec):
            line_from_text(text, "<edit>", [override])
            overrides.append(override)
    return overrides


def table_edits(spec, text: str) -> list[str]:
    """The stations as an editable table: the overrides of the cells that validate; an error
    names its row (the station id) and column."""
    rows = []
    for s in spec.stations:
        row = {"station": s.id, "kind": s.kind}
        for field, label in COLUMNS.items():
            row[label] = s.machine_count if field == "machines" else getattr(s, field, None)
        rows.append(row)
    frame = pd.DataFrame(rows)
    edited = st.data_editor(
        frame, hide_index=True, disabled=["station", "kind"], key="stations", width="stretch"
    )
    overrides = []
    for k, s in enumerate(spec.stations):
        for field, label in COLUMNS.items():
            new, old = edited.iloc[k][label], frame.iloc[k][label]
            if pd.isna(new) and pd.isna(old) or new == old:
                continue
            cell = f"Row **{md(s.id)}**, column **{label}**"
            if s.options and field in PER_OPTION:
                st.warning(f"{cell}: set per equipment option; edit the YAML instead.")
                continue
            override = f"stations.{s.id}.{field}={new}"
            try:  # each cell on its own, so an error names its row and column
                line_from_text(text, "<table>", [override])
                overrides.append(override)
            except ConfigError as exc:
                st.error(
                    f"{cell} = {md(new)}: {md(exc.problem)}"
                    + (f"; allowed: {md(exc.allowed)}" if exc.allowed else ""),
                    icon="⚠️",
                )
    return overrides


def at_once(text: str, name: str) -> None:
    """Static output, yield and bottleneck; the cost where the line has a cost block."""
    cap = common.capacity(text)
    a = common.static_analysis(text)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(
        "Max good output",
        f"{cap.max_output_gwh_per_year:.3f} GWh/yr",
        help="static: capacity ÷ starts per good cell at the bottleneck",
    )
    m2.metric("Line yield ∏(1 − p)", f"{cap.line_yield:.4f}")
    m3.metric("Bottleneck (static)", cap.bottleneck)
    if a is not None:
        m4.metric(
            "Cost per good kWh",
            f"{a.cost.total_usd_per_kwh:.0f} USD/kWh",
            help=f"{a.cost.cny_per_wh:.2f} CNY/Wh, static basis",
        )
    else:
        m4.metric("Cost per good kWh", "—", help="the cost " + common.NEEDS_COST)
        st.info("The cost per kWh (and the Cost page) " + common.NEEDS_COST + ".", icon="ℹ️")
    st.download_button(
        "Download the working line (YAML)",
        text,
        file_name=f"{file_name(name)}.yaml",
        mime="text/yaml",
        key="yaml_download",
    )


def main() -> None:
    st.title("Line")
    choose_line()
    spec = common.working_spec()
    text = common.working_yaml()
    overrides = quick_edits(spec, text) + table_edits(spec, text)
    if overrides:
        with common.reported(spec):
            common.set_working(line_from_text(text, "<edit>", overrides), "edited")
            st.rerun()
    at_once(common.working_yaml(), spec.name)


common.guarded(main)
