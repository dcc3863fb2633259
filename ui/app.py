"""linesim what-if app: ``linesim ui`` (or ``streamlit run ui/app.py``)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

HERE = Path(__file__).resolve().parent

st.set_page_config(page_title="linesim", page_icon="🔋", layout="wide")
import common  # after the page's configuration, which Streamlit wants first

common.resume_jobs()  # a reload's new session takes over the long work of the old one
pages = [
    st.Page(str(HERE / "pages" / "line.py"), title="Line", icon="🏭", default=True),
    st.Page(str(HERE / "pages" / "simulate.py"), title="Simulate", icon="⏱️"),
    st.Page(str(HERE / "pages" / "yield_loss.py"), title="Yield", icon="📉"),
    st.Page(str(HERE / "pages" / "cost.py"), title="Cost", icon="💰"),
    st.Page(str(HERE / "pages" / "optimise.py"), title="Optimise", icon="🧮"),
    st.Page(str(HERE / "pages" / "compare.py"), title="Compare", icon="⚖️"),
    st.Page(str(HERE / "pages" / "uncertainty.py"), title="Uncertainty", icon="🎲"),
    st.Page(str(HERE / "pages" / "sweep.py"), title="Sweep", icon="🔀"),
]
st.navigation(pages).run()
