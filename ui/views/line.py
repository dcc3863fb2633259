"""Line: choose or upload a line, edit its stations, see output and yield move at once."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import common
import pandas as pd
import streamlit as st
from safe import file_name, md

from linesim.config import (
    apply_overrides,
    carry_ranges,
    dump_line,
    editable,
    line_from_dict,
    load_line,
)
from linesim.errors import ConfigError
from linesim.report import diagrams

#: The stations table's columns: station field → column label.
COLUMNS = {
    "machines": "machines",
    "defect_probability": "p [-]",
    "mtbf_h": "MTBF [h]",
    "mttr_h": "MTTR [h]",
    "buffer_after": "buffer [cells]",
    "capex_usd": "capex [USD]",
}
#: The table's column widths [px]: at 1280 × 720 beside the sidebar, every header is whole and
#: the source column ends at the grid's edge (its text is cut inside the cell; its tooltip and
#: the Station box's help give it whole).
WIDTHS = {
    "station": 142,
    "kind": 76,
    "machines": 94,
    "p [-]": 62,
    "MTBF [h]": 84,
    "MTTR [h]": 84,
    "buffer [cells]": 108,
    "capex [USD]": 106,
    "source": 56,
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


def _quick_inputs(station, rev: int) -> list[tuple[str, str, float, str]]:
    """The quick-edit inputs of a station: (key, override path, the line's value, kind) with
    kind ``machines``, ``setting`` (a process window's) or ``p``; none for a station with
    equipment options (their counts are set per option)."""
    sid = station.id
    if station.options:
        return []
    inputs = [(f"edit_machines_{sid}_{rev}", f"stations.{sid}.machines", station.machines, "m")]
    window = station.process
    if window is not None and window.SETTINGS:  # p follows the window's settings: edit those
        for name, value in window.settings().items():
            key = f"edit_{name}_{sid}_{rev}"
            inputs.append((key, f"stations.{sid}.process.{name}", float(value), name))
    else:
        path = f"stations.{sid}.defect_probability"
        inputs.append((f"edit_p_{sid}_{rev}", path, float(station.defect_probability), "p"))
    return inputs


def selected_station(spec, bottleneck: str) -> str:
    """The quick-edit panel's station: the user's choice, the static bottleneck at first.
    The choice is kept apart from the widget (``common.QUICK_STATION``): Streamlit drops a
    widget's value when another page is shown, and the panel came back at the bottleneck
    (after an edit, another station than the one edited)."""
    ids = [s.id for s in spec.stations]
    sid = st.session_state.get("edit_station", st.session_state.get(common.QUICK_STATION))
    if sid not in ids:
        sid = bottleneck if bottleneck in ids else ids[0]
    st.session_state["edit_station"] = st.session_state[common.QUICK_STATION] = sid
    return sid


def edited(spec, overrides: list[str], where: str = "<edit>"):
    """``spec`` with ``overrides`` (``--set`` style), validated: no YAML is written or read.
    The uncertain ranges of the fields the edit leaves alone stay with the line."""
    return carry_ranges(spec, line_from_dict(apply_overrides(editable(spec), overrides), where))


def pending_quick(spec, rev: int, sid: str) -> tuple[list[tuple], list[str]]:
    """The quick-edit panel's changes since the last run (read before anything is drawn):
    (override, the line with it) of each that validates, and the messages of the rest."""
    station = spec.stations[spec.station_index(sid)]
    overrides, errors = [], []
    for key, path, old, _ in _quick_inputs(station, rev):
        new = st.session_state.get(key)
        if new is None or new == old:
            continue
        override = f"{path}={int(new) if key.startswith('edit_machines_') else float(new)!r}"
        try:
            overrides.append((override, edited(spec, [override])))
        except common.USER_ERRORS as exc:
            errors.append(common.error_text(exc, spec))
    return overrides, errors


def pending_table(spec, rev: int) -> tuple[list[tuple], list[tuple[str, str]]]:
    """The stations table's edits since the last run (read before anything is drawn): the
    overrides of the cells that validate, and a (kind, message) for each that does not — an
    error names its row (the station id) and column."""
    state = st.session_state.get(common.TABLE_PREFIX + str(rev))
    changed = state.get("edited_rows", {}) if isinstance(state, dict) else {}
    labels = {label: field for field, label in COLUMNS.items()}
    overrides, messages = [], []
    for row, cells in sorted(changed.items(), key=lambda kv: int(kv[0])):
        k = int(row)
        if not 0 <= k < len(spec.stations) or not isinstance(cells, dict):
            continue
        s = spec.stations[k]
        for label, new in cells.items():
            field = labels.get(label)
            if field is None or new is None:
                continue
            old = s.machine_count if field == "machines" else getattr(s, field, None)
            if new == old:
                continue
            cell = f"Row **{md(s.id)}**, column **{md(label)}**"
            if s.options and field in PER_OPTION:
                messages.append(("warning", f"{cell}: set per equipment option; edit the YAML."))
                continue
            override = f"stations.{s.id}.{field}={new}"
            try:  # each cell on its own, so an error names its row and column
                overrides.append((override, edited(spec, [override], "<table>")))
            except ConfigError as exc:
                messages.append(
                    (
                        "error",
                        f"{cell} = {md(new)}: {md(common.station_named(exc.problem, spec))}"
                        + (f"; allowed: {md(exc.allowed)}" if exc.allowed else ""),
                    )
                )
    return overrides, messages


def quick_edits(spec, rev: int, sid: str, errors: list[str]) -> None:
    """One station's machines and defect probability (or process settings), the static
    bottleneck's at first; an edit's error shows under the panel."""
    st.subheader(f"{md(spec.name)} — edit")
    # where the working line came from: a scenario, an optimised point and an upload can all
    # bear the bundled line's name
    st.caption(f"Working line from: {md(st.session_state.get('spec_source', ''))}")
    ids = [s.id for s in spec.stations]
    c1, c2, c3 = st.columns(3)
    station = spec.stations[ids.index(sid)]
    c1.selectbox(
        "Station",
        ids,
        key="edit_station",
        help=f"Source of {md(sid)}'s numbers: {md(station.source)}"
        if station.source
        else f"{md(sid)} cites no source in the config",
    )
    if station.options:
        c2.caption(f"{md(sid)} has equipment options; edit their counts in the YAML.")
    window = station.process
    for key, _, value, kind in _quick_inputs(station, rev):
        if kind == "m":
            c2.number_input("Machines", min_value=0, step=1, value=int(value), key=key)
        elif kind == "p":
            c3.number_input(
                "Defect probability",
                value=value,
                step=0.001,
                format="%.4f",
                key=key,
                help="per cell processed, in [0, 1]",
            )
        else:
            c3.number_input(
                f"{kind} [{window.UNITS.get(kind, '')}] ({window.model} window)",
                value=value,
                key=key,
                help=f"p = {station.defect_probability:.4f} at these settings",
            )
    for error in errors:
        st.error(error, icon="⚠️")


def table_edits(spec, rev: int, messages: list[tuple[str, str]]) -> None:
    """The stations as an editable table (a station with equipment options shows its
    options' machines, capex and p); its cells' messages below it."""
    rows = []
    for s in spec.stations:
        row = {"station": s.id, "kind": s.kind}
        for field, label in COLUMNS.items():
            row[label] = s.machine_count if field == "machines" else getattr(s, field, None)
        row["source"] = s.source
        rows.append(row)
    frame = pd.DataFrame(rows)
    st.data_editor(
        frame,
        hide_index=True,
        disabled=["station", "kind", "source"],
        column_config={
            **{label: st.column_config.Column(width=px) for label, px in WIDTHS.items()},
            "station": st.column_config.TextColumn(width=WIDTHS["station"], pinned=True),
            "source": st.column_config.TextColumn(
                "source",
                width=WIDTHS["source"],
                help="where the station's numbers come from (the config's `source`)",
            ),
            "buffer [cells]": st.column_config.NumberColumn(
                width=WIDTHS["buffer [cells]"], help="cells the buffer after the station holds"
            ),
            "capex [USD]": st.column_config.NumberColumn(
                width=WIDTHS["capex [USD]"], format="localized", help="per machine"
            ),
        },
        key=common.TABLE_PREFIX + str(rev),
        width="stretch",
    )
    for kind, message in messages:
        (st.warning if kind == "warning" else st.error)(message, icon="⚠️")


def at_once(key: str, spec) -> None:
    """Static output, yield and bottleneck; the cost where the line has a cost block (cached
    by the line's key: milliseconds, so they answer an edit at once)."""
    cap = common.capacity_of(key, spec)
    c = common.static_cost_of(key, spec)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(
        "Max good output",
        f"{cap.max_output_gwh_per_year:,.3f} GWh/yr",
        help="static: capacity ÷ starts per good cell at the bottleneck",
    )
    m2.metric("Line yield ∏(1 − p)", f"{cap.line_yield:.4f}")
    m3.metric("Bottleneck (static)", cap.bottleneck)
    if c is not None:
        m4.metric(
            "Cost per good kWh",
            f"{c.total_usd_per_kwh:,.0f} USD/kWh",
            help=f"{c.cny_per_wh:.2f} CNY/Wh, static basis",
        )
    else:
        m4.metric("Cost per good kWh", "—", help="the cost " + common.NEEDS_COST)
        st.info("The cost per kWh (and the Cost page) " + common.NEEDS_COST + ".", icon="ℹ️")
    target = st.number_input(
        "Target good output [GWh/yr] (0 = none)",
        min_value=0.0,
        value=float(st.session_state.get(common.TARGET, 0.0)),
        step=0.05,
        format="%.3f",
        key="line_target",
        help="Kept for the session: the Line and Simulate pages flag an output below it.",
    )
    st.session_state[common.TARGET] = target
    common.target_advice(key, spec, target, cap.max_output_gwh_per_year, "static")
    st.download_button(
        "Download the working line (YAML)",
        lambda: dump_line(spec),  # written when asked for: a GWh line's YAML takes a while
        file_name=f"{file_name(spec.name)}.yaml",
        mime="text/yaml",
        key="yaml_download",
    )


def yaml_editor(rev: int) -> None:
    """The working line as YAML, checked each time the text is committed (Ctrl+Enter or a
    click outside the box): an error names the station id and field; a valid text can become
    the working line. Behind a toggle: writing a GWh line's YAML takes a while."""
    if not st.toggle("Edit the line as YAML", key="yaml_open"):
        return
    working = common.working_yaml()
    text = st.text_area(
        "The line's config (YAML)",
        value=working,
        height=360,
        key=f"{common.EDIT_PREFIX}yaml_{rev}",
        help="Checked as you edit, each time you press Ctrl+Enter or click outside the box "
        "(fields: configs/README.md).",
    )
    if text == working:
        st.caption("The working line, unchanged.")
        return
    try:
        checked = common.check_yaml(text)
    except common.USER_ERRORS as exc:
        common.show_error(exc)
        return
    new = common.spec_from_yaml(checked)
    cap = common.capacity(checked)
    st.success(
        f"Valid: **{md(new.name)}**, {len(new.stations):,} stations, "
        f"{sum(s.machine_count for s in new.stations):,} machines, max good output "
        f"{cap.max_output_gwh_per_year:,.3f} GWh/yr.",
        icon="✅",
    )
    if st.button("Use this line", type="primary", key="yaml_apply"):
        common.set_working_yaml(checked, common.EDITOR)
        st.rerun()


def line_picture(key: str, spec) -> None:
    """The line diagram: stations coloured by their static load at the line's max output
    (the share of a station's capacity the bottleneck's pace uses: G_line ÷ G_station)."""
    cap = common.capacity_of(key, spec)
    load = {
        s.id: cap.max_good_cells_per_h / s.max_good_cells_per_h if s.max_good_cells_per_h else 1.0
        for s in cap.stations
    }
    st.plotly_chart(
        diagrams.line_diagram(spec, load, cap.bottleneck, "static load at the max output"),
        key="line_diagram",
    )


def main() -> None:
    st.title("Line")
    choose_line()
    spec, key = common.working_spec(), common.working_key()
    rev = common.line_revision()
    sid = selected_station(spec, common.capacity_of(key, spec).bottleneck)
    # the edits first, then the page: one script run per edit, and every input is drawn with
    # the edited line's values
    quick, errors = pending_quick(spec, rev, sid)
    table, messages = pending_table(spec, rev)
    overrides = quick + table
    if overrides:
        with common.reported(spec):
            # each was validated on its own already: one is the new line
            new = (
                overrides[0][1] if len(overrides) == 1 else edited(spec, [o for o, _ in overrides])
            )
            common.set_working_edited(new)
            spec, key, rev = common.working_spec(), common.working_key(), common.line_revision()
    quick_edits(spec, rev, sid, errors)
    table_edits(spec, rev, messages)
    at_once(key, spec)
    line_picture(key, spec)
    yaml_editor(rev)


common.guarded(main)
