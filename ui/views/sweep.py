"""Sweep: vary one or two fields of the working line over levels, simulate every variant with
common random numbers (as ``linesim sweep``), as long work; the result as a table and a plot,
kept in the results store and reopened from it."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import common
import kept
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import tasks
from safe import md

from linesim.errors import UsageError
from linesim.report.optimise import renamed

TIME_LIMIT_S = 600.0  #: time one sweep may take [s]
MEMORY_MIB = 2048  #: memory it may take [MiB]
RESULT = "sweep"  #: session key: the last SweepRun of this session
#: The library's parameter names in a refused sweep's message → this page's inputs.
INPUTS = {
    "horizon_s": "Horizon [days]",
    "replications": "Replications per variant",
    "allow_large": "`linesim sweep --allow-large`",
}


def default_factor(spec) -> str:
    """The machines of the static bottleneck, from its count to two more."""
    neck = common.capacity(common.working_yaml()).bottleneck
    n = spec.stations[spec.station_index(neck)].machine_count
    return f"stations.{neck}.machines={n}..{n + 2}"


def request(spec) -> None:
    """The sweep's factors and settings, and the sweep when asked (long work)."""
    f1, f2 = st.columns(2)
    first = f1.text_input(
        "Factor 1 (PATH=levels)",
        value=default_factor(spec),
        key="sw_factor1",
        help="a config path and its levels: PATH=a..b (integers), PATH=a..b:step or "
        "PATH=v1,v2,… — e.g. stations.stacking.cycle_time_s=600,900",
    )
    second = f2.text_input(
        "Factor 2 (PATH=levels, optional)",
        value="",
        key="sw_factor2",
        help="a second factor: every combination of the two is simulated",
    )
    c1, c2, c3 = st.columns(3)
    days = c1.number_input(
        "Horizon [days]", min_value=0.25, max_value=365.0, value=2.0, step=1.0, key="sw_days"
    )
    reps = c2.number_input(
        "Replications per variant", min_value=2, max_value=50, value=3, step=1, key="sw_reps"
    )
    seed = c3.number_input("Seed", min_value=0, value=1, step=1, key="sw_seed")
    st.caption(
        "Replication r of every variant draws the same random streams (common random "
        "numbers), after each variant's suggested warm-up; dry-room exposure is simulated, as "
        "on the Simulate page and by `linesim sweep` (unless given `--no-exposure`)."
    )
    clicked = st.button("Run sweep", type="primary", key="sw_run")
    factors = tuple(f.strip() for f in (first, second) if f.strip())
    if clicked and not factors:  # said, and the rest of the page drawn
        common.show_error(
            UsageError(
                "Factor 1: empty; allowed: PATH=a..b, PATH=a..b:step or PATH=v1,v2,… "
                "(e.g. stations.stacking.machines=2..4)"
            )
        )
    elif clicked:
        text = common.working_yaml()
        st.session_state.pop(RESULT, None)
        st.session_state.pop("sw_reopened", None)
        common.start_job(
            "sweep",
            tasks.sweep,
            text,
            factors,
            float(days),
            int(reps),
            int(seed),
            label="Sweeping the line",
            time_limit_s=TIME_LIMIT_S,
            memory_mib=MEMORY_MIB,
            remedy="fewer levels, a shorter horizon, fewer replications, or `linesim sweep`",
            progress=True,
            context={"yaml": text},
            on_done=kept.keep_sweep,
        )

    def done(run, context) -> None:
        st.session_state[RESULT] = run
        st.session_state.pop("sw_reopened", None)

    common.follow_job("sweep", done, lambda m: renamed(m, INPUTS))


def show(run) -> None:
    """One row per variant (mean and 95 % CI half-width), and the output against factor 1
    (a line per level of factor 2), with its confidence intervals."""
    table = kept.sweep_table(run)
    paths = list(run.variants[0])
    st.subheader(
        f"{len(run.variants):,} variants × {run.replications:,} replications, "
        f"{run.horizon_days:,g} days each, seed {run.seed}"
    )
    common.table(table, "sweep", "sweep_table")
    x, groups = paths[0], paths[1] if len(paths) > 1 else None
    fig = go.Figure()
    for level, part in table.groupby(groups, sort=False) if groups else [(None, table)]:
        fig.add_scatter(
            x=[str(v) for v in part[x]],
            y=part["output [GWh/yr]"],
            error_y={"type": "data", "array": part["output ± 95 % CI [GWh/yr]"].fillna(0.0)},
            mode="lines+markers",
            name=f"{groups} = {level}" if groups else "simulated output",
        )
    fig.update_layout(
        title="Simulated good output by variant (± 95 % CI)",
        xaxis_title=x,
        yaxis_title="good output [GWh/yr]",
        xaxis_type="category",
        showlegend=groups is not None,
        height=420,
    )
    st.plotly_chart(fig, key="sweep_chart")


def stored(spec) -> None:
    """The sweeps kept in the results store (of any line: a reload starts from the default
    line); one reopened on request, its line made the working line."""
    records = kept.stored("sweep")
    if not records:
        return
    st.subheader("Sweeps in the results store")
    record = common.reopen_picker(
        records, "sweep", lambda r: _label(r, spec), ("sw_stored", "sw_reopen")
    )
    if record is not None:
        pick = record["id"]
        st.session_state[RESULT] = kept.reopened_sweep(pick, common.working_yaml())
        st.session_state["sw_reopened"] = pick
        st.rerun()


def _label(record: dict, spec) -> str:
    args = record["args"]
    factors = pd.DataFrame(args["variants"]).nunique()
    return (
        f"{kept.record_label(record, spec)}: "
        + " × ".join(f"{p} ({n:,} levels)" for p, n in factors.items())
        + f", {args['horizon_days']:,g} days × {args['replications']:,} replications"
    )


def main() -> None:
    st.title("Sweep")
    spec = common.working_spec()
    st.caption(f"Working line: **{md(spec.name)}** ({md(st.session_state.get('spec_source', ''))})")
    request(spec)
    with common.reported(), common.store_read("The stored sweeps"):
        stored(spec)
    run = st.session_state.get(RESULT)
    if run is None:
        st.info("Give one or two factors and press Run sweep.")
    elif run.yaml != common.working_yaml():
        st.info("The working line changed since the last sweep: run it again.")
    else:
        reopened = st.session_state.get("sw_reopened")
        if reopened:
            st.caption(f"Reopened from the results store: sweep {md(reopened)}.")
        show(run)


common.guarded(main)
