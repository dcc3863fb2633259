"""Presentation of results: plain-text tables, tidy frames, plotly figures, HTML, and output
files written whole or not at all. Reads typed results; computes no KPI."""
