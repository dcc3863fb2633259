"""Compare: two or more lines side by side, differences from the first highlighted."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import common
import pandas as pd
import streamlit as st
from safe import md

from linesim.config import dump_line, load_line
from linesim.economics.analysis import comparison_rows
from linesim.report.figures import cost_breakdown


def highlight(row: pd.Series, picked: list[str]) -> list[str]:
    """Cells of the lines after the first that differ from the first line's."""
    base = row[picked[0]]
    return [
        "" if c not in picked[1:] or row[c] == base else "background-color: #ffe8a3"
        for c in row.index
    ]


def text_of(choice: str, saved: dict[str, str]) -> str:
    """The YAML of a choice: the working line, a saved scenario or a bundled line."""
    if choice == "working line":
        return common.working_yaml()
    if choice in saved:
        return saved[choice]
    return dump_line(load_line(common.bundled()[choice]))


def main() -> None:
    st.title("Compare")
    saved = st.session_state.setdefault("saved", {})
    name = st.text_input("Save the working line as a scenario", key="save_name", max_chars=100)
    if st.button("Save scenario", key="save") and name:
        saved[name] = common.working_yaml()
    choices = ["working line", *saved, *common.bundled()]
    picked = st.multiselect(
        "Lines to compare", choices, default=["working line", "gwh_sulfide_4gwh"], key="compare"
    )
    analyses = {p: common.static_analysis(text_of(p, saved)) for p in picked}
    without = [p for p, a in analyses.items() if a is None]
    if without:
        st.warning(
            "Left out: " + ", ".join(md(p) for p in without) + ". The comparison (of cost "
            "among the rest) " + common.NEEDS_COST + "."
        )
    picked = [p for p in picked if analyses[p] is not None]
    if len(picked) < 2:
        st.info("Pick two or more lines with a cost block.")
        return
    rows = comparison_rows([analyses[p] for p in picked])
    frame = pd.DataFrame(
        [
            {"figure": label, "unit": unit, **{p: v for p, v in zip(picked, values)}}
            for label, unit, values in rows
        ]
    )
    st.dataframe(
        frame.style.apply(highlight, axis=1, picked=picked), hide_index=True, width="stretch"
    )
    st.download_button(
        "Download comparison (CSV)",
        frame.to_csv(index=False).encode(),
        file_name="comparison.csv",
        key="csv_compare",
    )
    st.plotly_chart(cost_breakdown([analyses[p] for p in picked], picked), key="compare_cost")


common.guarded(main)
