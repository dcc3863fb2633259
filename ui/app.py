"""linesim what-if app: ``linesim ui`` (or ``streamlit run ui/app.py``)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

HERE = Path(__file__).resolve().parent

st.set_page_config(page_title="linesim", page_icon="🔋", layout="wide")
import common  # after the page's configuration, which Streamlit wants first

common.resume_jobs()  # a reload's new session takes over the long work of the old one
# The pages' scripts are in views/, not pages/: Streamlit takes a pages/ folder beside the main
# script for the old multipage layout, and runs a fresh server's first script run that way — the
# sidebar then lists the files' raw names ("yield loss") and a page's address runs its script
# without this one. The addresses are the files' names as before (/simulate, /sweep, …).
pages = [
    st.Page(str(HERE / "views" / "line.py"), title="Line", icon="🏭", default=True),
    st.Page(str(HERE / "views" / "simulate.py"), title="Simulate", icon="⏱️"),
    st.Page(str(HERE / "views" / "yield_loss.py"), title="Yield", icon="📉"),
    st.Page(str(HERE / "views" / "cost.py"), title="Cost", icon="💰"),
    st.Page(str(HERE / "views" / "optimise.py"), title="Optimise", icon="🧮"),
    st.Page(str(HERE / "views" / "compare.py"), title="Compare", icon="⚖️"),
    st.Page(str(HERE / "views" / "uncertainty.py"), title="Uncertainty", icon="🎲"),
    st.Page(str(HERE / "views" / "sweep.py"), title="Sweep", icon="🔀"),
]
st.navigation(pages).run()
