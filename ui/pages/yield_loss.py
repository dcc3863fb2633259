"""Yield: analytic ∏(1 − p) beside the simulated yield, cells lost per step, value lost."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import common
import pandas as pd
import streamlit as st

from linesim.report.figures import yield_waterfall

st.title("Yield")
a = common.static_analysis(common.working_yaml())
sim = common.last_simulation()
c1, c2 = st.columns(2)
c1.metric("Analytic line yield ∏(1 − p_i)", f"{a.capacity.line_yield:.4f}")
if sim:
    y = sim.summary.line_yield.simulated
    c2.metric(
        "Simulated line yield",
        f"{y.mean:.4f}",
        f"{y.mean - a.capacity.line_yield:+.4f} vs analytic",
        delta_color="off",
    )
else:
    c2.info("Simulate the line (Simulate page) to compare with the simulated yield.")
st.plotly_chart(yield_waterfall(a), key="waterfall")
steps = pd.DataFrame(
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
        for w in a.waterfall
    ]
)
common.table(steps, "yield_waterfall", "waterfall")
from dataclasses import asdict

scrap = pd.DataFrame([asdict(s) for s in a.cost.scrap_by_step])
st.subheader("Value lost by detection point")
common.table(scrap, "scrap_by_step", "scrap")
