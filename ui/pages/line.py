"""Line: choose or upload a line, edit its stations, see output and yield move at once."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import common
import pandas as pd
import streamlit as st

from linesim.config import dump_line, line_from_text, load_line
from linesim.errors import ConfigError

st.title("Line")
names = list(common.bundled())


def _load_bundled() -> None:
    name = st.session_state["bundled"]
    common.set_working(load_line(common.bundled()[name]), name)


left, right = st.columns(2)
source = st.session_state.get("spec_source", common.DEFAULT_CONFIG.stem)
left.selectbox(
    "Bundled line",
    names,
    key="bundled",
    on_change=_load_bundled,
    index=names.index(source) if source in names else 0,
)
upload = right.file_uploader("…or upload a line config (YAML)", type=["yaml", "yml"], key="upload")
if upload is not None and st.session_state.get("uploaded") != upload.file_id:
    st.session_state["uploaded"] = upload.file_id
    try:
        common.set_working(
            line_from_text(upload.getvalue().decode("utf-8"), upload.name), upload.name
        )
    except (ConfigError, UnicodeDecodeError) as exc:
        st.error(f"{upload.name}: {exc}")

spec = common.working_spec()
text = common.working_yaml()

# --- quick edit: one station's machines and defect probability ------------------------------
st.subheader(f"{spec.name} — edit")
ids = [s.id for s in spec.stations]
c1, c2, c3 = st.columns(3)
sid = c1.selectbox("Station", ids, key="edit_station")
station = spec.stations[ids.index(sid)]
overrides = []
quick = []  # (column, override): an error from a quick edit shows under its input
window = station.process
if station.options:
    c2.caption(f"{sid} has equipment options; edit their counts in the table below.")
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
for column, override in quick:
    try:
        line_from_text(text, "<edit>", [override])
        overrides.append(override)
    except ConfigError as exc:
        with column:
            common.show_config_error(exc)

# --- the stations table -----------------------------------------------------------------------
COLUMNS = {
    "machines": "machines",
    "defect_probability": "p [-]",
    "mtbf_h": "MTBF [h]",
    "mttr_h": "MTTR [h]",
    "buffer_after": "buffer after [cells]",
    "capex_usd": "capex [USD/machine]",
}
rows = []
for s in spec.stations:
    row = {"station": s.id, "kind": s.kind}
    for field, label in COLUMNS.items():
        value = getattr(s, field, None)
        row[label] = s.machine_count if field == "machines" else value
    rows.append(row)
frame = pd.DataFrame(rows)
edited = st.data_editor(
    frame, hide_index=True, disabled=["station", "kind"], key="stations", width="stretch"
)
for k, s in enumerate(spec.stations):
    for field, label in COLUMNS.items():
        new, old = edited.iloc[k][label], frame.iloc[k][label]
        if pd.isna(new) and pd.isna(old) or new == old:
            continue
        if s.options and field in (
            "machines",
            "defect_probability",
            "capex_usd",
            "mtbf_h",
            "mttr_h",
        ):
            st.warning(
                f"Row **{s.id}**, column **{label}**: set per equipment option; edit "
                "the YAML instead."
            )
            continue
        override = f"stations.{s.id}.{field}={new}"
        try:  # each cell on its own, so an error names its row and column
            line_from_text(text, "<table>", [override])
            overrides.append(override)
        except ConfigError as exc:
            st.error(
                f"Row **{s.id}**, column **{label}** = {new}: {exc.problem}"
                + (f"; allowed: {exc.allowed}" if exc.allowed else ""),
                icon="⚠️",
            )

if overrides:
    try:
        new_spec = line_from_text(text, "<edit>", overrides)
        common.set_working(new_spec, "edited")
        st.rerun()
    except ConfigError as exc:
        common.show_config_error(exc)

# --- what the line does, at once ---------------------------------------------------------------
a = common.static_analysis(common.working_yaml())
m1, m2, m3, m4 = st.columns(4)
m1.metric(
    "Max good output",
    f"{a.capacity.max_output_gwh_per_year:.3f} GWh/yr",
    help="static: capacity ÷ starts per good cell at the bottleneck",
)
m2.metric("Line yield ∏(1 − p)", f"{a.capacity.line_yield:.4f}")
m3.metric("Bottleneck (static)", a.capacity.bottleneck)
m4.metric(
    "Cost per good kWh",
    f"{a.cost.total_usd_per_kwh:.0f} USD/kWh",
    help=f"{a.cost.cny_per_wh:.2f} CNY/Wh, static basis",
)
st.download_button(
    "Download the working line (YAML)",
    dump_line(common.working_spec()),
    file_name=f"{spec.name}.yaml",
    mime="text/yaml",
    key="yaml_download",
)
