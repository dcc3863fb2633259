"""Compare: two or more lines side by side, differences from the first highlighted."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import common
import pandas as pd
import streamlit as st
from safe import file_name, md

from linesim.config import dump_line, line_from_text, load_line
from linesim.economics.analysis import analyse, comparison_rows
from linesim.report.figures import cost_breakdown
from linesim.report.html import render_html
from linesim.store import Store, StoreError

#: A differing cell: dark text on light yellow, readable in the light and the dark theme
#: (contrast 14:1; the theme's own text colour would be white on yellow in dark mode).
HIGHLIGHT = "background-color: #ffe8a3; color: #1a1a1a"


def number(value) -> str:
    """A figure with thousands separators and digits by size (245351.5036 → 245,352)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return str(value)
    size = abs(value)
    digits = 0 if size >= 100 else 2 if size >= 1 else 4
    return f"{value:,.{digits}f}"


def highlight(row: pd.Series, picked: list[str]) -> list[str]:
    """Cells of the lines after the first that differ from the first line's."""
    base = row[picked[0]]
    return ["" if c not in picked[1:] or row[c] == base else HIGHLIGHT for c in row.index]


def text_of(choice: str, saved: dict[str, str]) -> str:
    """The YAML of a choice: the working line, a saved scenario or a bundled line."""
    if choice == "working line":
        return common.working_yaml()
    if choice in saved:
        return saved[choice]
    return dump_line(load_line(common.bundled()[choice]))


def html_report(name: str, text: str) -> str:
    """The HTML report of one scenario (written when its download is asked for)."""
    return render_html([analyse(line_from_text(text, name))], title=f"linesim scenario {name}")


def scenarios() -> dict[str, str]:
    """Name, save, reopen, export and delete scenarios: kept in the results store, so they
    outlive a browser reload and a server restart; the saved ones (name → YAML)."""
    store = Store()
    name = st.text_input("Save the working line as a scenario", key="save_name", max_chars=100)
    if st.button("Save scenario", key="save") and name:
        if store.save_scenario(name, common.working_yaml(), common.working_spec().name):
            st.success(f"Saved scenario {md(name)} in {md(store.path)}.")
        for problem in store.problems:
            st.warning(md(problem, 500))
    try:
        saved = {s["name"]: s["yaml"] for s in store.scenarios()}
    except StoreError as exc:
        st.warning(f"The saved scenarios cannot be read: {md(exc, 500)}")
        return {}
    if not saved:
        return saved
    c1, c2, c3, c4, c5 = st.columns([3, 2, 2, 2, 2], vertical_alignment="bottom")
    chosen = c1.selectbox("Saved scenario", list(saved), key="scenario")
    text = saved[chosen]
    if c2.button("Open as working line", key="open_scenario"):
        common.set_working_yaml(text, f"scenario {chosen}")
        st.success(f"Scenario {md(chosen)} is the working line.")
    c3.download_button(
        "YAML", text, file_name=f"{file_name(chosen)}.yaml", mime="text/yaml", key="scenario_yaml"
    )
    c4.download_button(
        "HTML report",
        lambda: html_report(chosen, text),
        file_name=f"{file_name(chosen)}.html",
        mime="text/html",
        key="scenario_html",
    )
    if c5.button("Delete", key="delete_scenario"):
        store.delete_scenario(chosen)
        if chosen in st.session_state.get("compare", []):
            st.session_state["compare"] = [p for p in st.session_state["compare"] if p != chosen]
        for problem in store.problems:
            st.warning(md(problem, 500))
        st.rerun()
    return saved


def main() -> None:
    st.title("Compare")
    saved = scenarios()
    choices = ["working line", *saved, *(b for b in common.bundled() if b not in saved)]
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
        frame.style.apply(highlight, axis=1, picked=picked).format(number, subset=picked),
        hide_index=True,
        width="stretch",
    )
    st.download_button(
        "Download comparison (CSV)",
        frame.to_csv(index=False).encode(),
        file_name="comparison.csv",
        key="csv_compare",
    )
    st.plotly_chart(cost_breakdown([analyses[p] for p in picked], picked), key="compare_cost")


common.guarded(main)
