"""Simulate: replications of the working line on request, KPIs with 95 % confidence intervals."""

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import common
import kept
import pandas as pd
import streamlit as st
from safe import md

from linesim.report import diagrams, figures


def ci(e, digits: int, scale: float = 1.0) -> str:
    half = (e.half_width or 0.0) * scale
    return f"± {half:,.{digits}f} (95 % CI)"


def factor(s, name: str) -> float | None:
    """A station's OEE factor (mean over replications), None without a loss tree."""
    return getattr(s.losses, name).mean if s.losses is not None else None


def request() -> None:
    """The run settings, and a simulation when asked (in a child process, see common)."""
    spec = common.working_spec()
    source = st.session_state.get("spec_source", "")
    st.caption(f"Working line: **{md(spec.name)}** ({md(source)})")
    c1, c2, c3 = st.columns(3)
    horizon = c1.number_input(
        "Horizon [days]", min_value=0.5, max_value=365.0, value=7.0, step=1.0, key="horizon_days"
    )
    reps = c2.number_input(
        "Replications", min_value=2, max_value=50, value=3, step=1, key="replications"
    )
    seed = c3.number_input("Seed", min_value=0, value=1, step=1, key="seed")
    if st.button("Run simulation", type="primary", key="run"):
        common.start_simulation(common.working_yaml(), float(horizon), int(reps), int(seed))
    common.follow_simulation()  # it keeps running on other pages; shown here again


def main() -> None:
    st.title("Simulate")
    request()
    sim = common.last_simulation()
    if sim is None:
        st.info("Run a simulation to see simulated output, yield and station states.")
    else:
        if sim.record_id is not None:
            st.caption(f"Reopened from the results store: run {md(sim.record_id)}.")
        show(sim)
    with common.reported(), common.store_read("The stored simulations"):
        stored(sim)
    timeline(sim)


def stored(sim) -> None:
    """The simulations of this line in the results store, one of them reopened on request
    (as a finished run shows it: cards, loss tree, station states, WIP, line diagram)."""
    runs = common.stored_simulations(common.working_spec())
    if not len(runs):
        return
    st.subheader("Simulations of this line in the results store")
    common.table(runs, "stored_simulations", "stored")
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    pick = c1.selectbox(
        "Stored simulation",
        runs["run"].tolist(),
        format_func=lambda rid: _stored_label(runs, rid),
        key="stored_pick",
    )
    if c2.button("Reopen", key="stored_reopen"):
        text = common.working_yaml()
        st.session_state["simulation"] = kept.reopened_simulation(pick, text)
        st.rerun()


def _stored_label(runs, rid: str) -> str:
    row = runs[runs["run"] == rid].iloc[0]
    out = _number(row["output [GWh/yr]"], ",.3f")
    shown = f"{out} GWh/yr" if out != "—" else "no output"
    return (
        f"{rid} — {row['finished']}, {_number(row['horizon [days]'], ',g')} days × "
        f"{_number(row['replications'], ',.0f')} replications, {shown}"
    )


def _number(value, spec: str) -> str:
    """``value`` in the format ``spec``, or "—" when the record has none (None, NaN)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "—"
    return "—" if math.isnan(number) else format(number, spec)


def show(sim) -> None:
    """KPI cards, the yield gap by cause, the loss tree, station states and WIP."""
    rep = sim.summary
    if rep.throughput_cells_per_h.mean <= 0:
        st.warning(
            "The line made no good cells in the simulated time: its yield, OEE and cost "
            "figures mean nothing. Check the cycle times, machines and the horizon."
        )
        return
    # what the figures are of: after a reload (or a reopen) the inputs above show their
    # defaults, not the run's
    st.caption(
        f"Run of {rep.horizon_h / 24:,.4g} days × {len(rep.replications):,} replications, "
        f"seed {rep.seed}, after a warm-up of {rep.warmup_h:,.1f} h ({rep.engine} engine)."
    )
    k1, k2, k3, k4 = st.columns(4)
    out = rep.output_gwh_per_year
    k1.metric(
        "Simulated output [GWh/yr]",
        f"{out.mean:,.3f}",
        ci(out, 3),
        delta_color="off",
        delta_arrow="off",
    )
    tp = rep.throughput_cells_per_h
    k2.metric("Good cells/h", f"{tp.mean:,.1f}", ci(tp, 1), delta_color="off", delta_arrow="off")
    y = rep.line_yield.simulated
    k3.metric(
        "Simulated line yield", f"{y.mean:.4f}", ci(y, 4), delta_color="off", delta_arrow="off"
    )
    k4.metric(
        "Bottleneck",
        rep.bottleneck,
        f"{rep.bottleneck_shares[rep.bottleneck]:.0%} of replications",
        delta_color="off",
        delta_arrow="off",
    )

    common.target_advice(
        common.working_key(),
        common.working_spec(),
        float(st.session_state.get(common.TARGET, 0.0)),
        out.mean,
        "simulated",
    )
    gap = rep.line_yield.attribution
    escaped = rep.shipped_defective_cells_per_h
    st.caption(
        f"Line yield: simulated {y.mean:.4f} against analytic ∏(1 − p) "
        f"{rep.line_yield.analytic:.4f}. The gap by cause: dry-room exposure "
        f"{gap.exposure.mean:+.4f}, detection delay {gap.detection_delay.mean:+.4f}, "
        f"start-up scrap after changeovers {gap.startup_scrap.mean:+.4f}, inspection (defective "
        f"cells saved by rework or shipped as escapes) {gap.inspection.mean:+.4f}, sampling "
        f"{gap.sampling.mean:+.4f}."
        + (
            f" Defective cells shipped (inspection escapes): {escaped.mean:.2f} cells/h."
            if escaped is not None and escaped.mean > 0
            else ""
        )
    )
    if rep.losses is not None:
        tree = rep.losses
        st.plotly_chart(
            figures.loss_waterfall(
                tree,
                f"OEE loss tree of the line (hours of {tree.station}, the nameplate bottleneck)",
            ),
            key="loss_tree",
        )

    stations = pd.DataFrame(
        [
            {
                "station": s.id,
                "machines": s.machines,
                "busy [-]": s.utilisation.mean,
                "down [-]": s.down.mean,
                "blocked [-]": s.blocked.mean,
                "starved [-]": s.starved.mean,
                "OEE [-]": s.oee.mean,
                "availability [-]": factor(s, "availability"),
                "performance [-]": factor(s, "performance"),
                "quality [-]": factor(s, "quality"),
                "defect rate [-]": s.defect_rate.mean,
            }
            for s in rep.stations
        ]
    )
    fig = figures.station_states(rep)
    st.plotly_chart(fig, key="states")
    common.table(stations, "stations", "stations")

    samples = sim.wip_samples()
    if samples:
        st.plotly_chart(figures.wip_over_time(samples), key="wip")


def timeline(sim) -> None:
    """The machine-state timeline of a window of one replication of the page's seed (on
    request: the SimPy engine simulates up to the window's end in a child process), and, after
    a simulation, the line diagram coloured by the simulated busy shares."""
    spec, text = common.working_spec(), common.working_yaml()
    st.subheader("Machine-state timeline")
    warmup_h = common.warmup_h(common.working_key(), spec)
    c1, c2, c3 = st.columns(3)
    rep = c1.number_input("Replication", min_value=0, max_value=49, value=0, key="tl_rep")
    start = c2.number_input(
        "Window start [h]",
        min_value=0.0,
        value=float(round(min(warmup_h, common.TIMELINE_DEFAULT_START_H), 1)),
        step=1.0,
        key="tl_start",
        help=f"hours from the start of the replication (the warm-up ends at {warmup_h:,.1f} h)",
    )
    length = c3.number_input(
        "Window length [h]",
        min_value=0.05,
        max_value=common.TIMELINE_MAX_H,
        value=2.0,
        step=0.5,
        key="tl_length",
    )
    seed = int(st.session_state.get("seed", 1))
    wanted = (text, seed, int(rep), float(start), float(length))
    if st.button("Draw the timeline", key="tl_run"):
        st.session_state["timeline"] = (
            wanted,
            common.timeline(text, seed, int(rep), float(start), float(length)),
        )
    drawn = st.session_state.get("timeline")
    if drawn is not None and drawn[0] == wanted:
        st.plotly_chart(diagrams.machine_timeline(drawn[1]), key="timeline_chart")
    else:
        st.caption(
            f"The states (busy, blocked, starved, down, setup, …) of every machine in a window "
            f"of replication {int(rep)} of seed {seed} (the Simulate run's replication): the "
            "SimPy engine runs it up to the window's end."
        )
    if sim is not None:
        busy = {s.id: s.utilisation.mean for s in sim.summary.stations}
        st.plotly_chart(
            diagrams.line_diagram(spec, busy, sim.summary.bottleneck, "simulated busy share"),
            key="sim_line_diagram",
        )


common.guarded(main)
