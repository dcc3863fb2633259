"""Yield: analytic ∏(1 − p) beside the simulated yield, cells lost per step, value lost."""

import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import common
import pandas as pd
import streamlit as st

from linesim.report import diagrams
from linesim.report.figures import yield_waterfall as waterfall_chart
from linesim.yield_model import yield_waterfall


def main() -> None:
    st.title("Yield")
    text = common.working_yaml()
    analytic = common.capacity(text).line_yield
    a = common.static_analysis(text)  # None without a cost block
    sim = common.last_simulation()
    c1, c2 = st.columns(2)
    c1.metric("Analytic line yield ∏(1 − p_i)", f"{analytic:.4f}")
    if sim:
        y = sim.summary.line_yield.simulated
        c2.metric(
            "Simulated line yield",
            f"{y.mean:.4f}",
            f"{y.mean - analytic:+.4f} vs analytic",
            delta_color="off",
        )
    else:
        c2.info("Simulate the line (Simulate page) to compare with the simulated yield.")
    steps = a.waterfall if a is not None else yield_waterfall(common.working_spec())
    if a is not None:
        st.plotly_chart(waterfall_chart(a), key="waterfall")
    st.plotly_chart(
        diagrams.yield_sankey(
            diagrams.analytic_yield_flows(steps), "Analytic: per 1,000 cells started"
        ),
        key="sankey_analytic",
    )
    flows = sim.yield_flows() if sim else []
    if flows:
        st.plotly_chart(
            diagrams.yield_sankey(
                flows, f"Simulated: per 1,000 cells in ({sim.replications:,} replications)"
            ),
            key="sankey_simulated",
        )
    elif sim:
        st.info(
            "This stored simulation was kept without where its cells went: simulate the line "
            "again to see its Sankey."
        )
    else:
        st.info("Simulate the line to see where its simulated cells went.")
    table = pd.DataFrame(
        [
            {
                "station": w.id,
                "p [-]": w.defect_probability,
                "cumulative yield [-]": w.cumulative_yield,
                "cells lost per 1000": w.lost_per_1000,
                "detected at": w.detected_at,
                "machine-hours wasted per 1000": w.machine_hours_wasted_per_1000,
                "value added per cell [USD]": w.value_added_usd_per_cell,
            }
            for w in steps
        ]
    )
    common.table(table, "yield_waterfall", "waterfall")
    if a is None:
        st.info("The waterfall chart and the value lost by detection point " + common.NEEDS_COST)
        return
    st.subheader("Value lost by detection point")
    scrap = pd.DataFrame([asdict(s) for s in a.cost.scrap_by_step])
    common.table(scrap, "scrap_by_step", "scrap")


common.guarded(main)
