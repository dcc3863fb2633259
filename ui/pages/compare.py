"""Compare: two or more lines side by side, differences from the first highlighted."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import common
import pandas as pd
import streamlit as st

from linesim.config import dump_line, load_line
from linesim.economics.analysis import comparison_rows
from linesim.report.figures import cost_breakdown

st.title("Compare")
saved = st.session_state.setdefault("saved", {})
name = st.text_input("Save the working line as a scenario", key="save_name")
if st.button("Save scenario", key="save") and name:
    saved[name] = common.working_yaml()
choices = ["working line", *saved, *common.bundled()]
picked = st.multiselect(
    "Lines to compare", choices, default=["working line", "gwh_sulfide_4gwh"], key="compare"
)
if len(picked) < 2:
    st.info("Pick two or more lines.")
    st.stop()
texts = [
    common.working_yaml()
    if p == "working line"
    else saved[p]
    if p in saved
    else dump_line(load_line(common.bundled()[p]))
    for p in picked
]
analyses = [common.static_analysis(t) for t in texts]
rows = comparison_rows(analyses)
frame = pd.DataFrame(
    [
        {"figure": label, "unit": unit, **{p: v for p, v in zip(picked, values)}}
        for label, unit, values in rows
    ]
)


def highlight(row):
    base = row[picked[0]]
    return [
        "" if c not in picked[1:] or row[c] == base else "background-color: #ffe8a3"
        for c in row.index
    ]


st.dataframe(frame.style.apply(highlight, axis=1), hide_index=True, width="stretch")
st.download_button(
    "Download comparison (CSV)",
    frame.to_csv(index=False).encode(),
    file_name="comparison.csv",
    key="csv_compare",
)
st.plotly_chart(cost_breakdown(analyses), key="compare_cost")
