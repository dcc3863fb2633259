"""Uncertainty: P10/P50/P90 of the working line's KPIs over its uncertain inputs, the chance of
meeting a target, and what drives it (as ``linesim uncertainty``)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import common
import kept
import pandas as pd
import streamlit as st
import tasks
from safe import md

from linesim.config import uncertain_inputs
from linesim.report.uncertainty import uncertainty_figures
from linesim.yaml_io import parse_mapping

TIME_LIMIT_S = 600.0  #: time one study may take [s]
MEMORY_MIB = 2048  #: memory it may take [MiB]
RESULT = "uncertainty"  #: session key: {"yaml": the line studied, "report": its report}


def request(text: str) -> None:
    """The study's settings, and the study when asked (long work that outlives the page)."""
    c1, c2, c3, c4 = st.columns(4)
    samples = c1.number_input(
        "Samples", min_value=16, max_value=4096, value=256, step=64, key="u_samples"
    )
    seed = c2.number_input("Seed", min_value=0, value=1, step=1, key="u_seed")
    gwh = c3.number_input(
        "Output target [GWh/yr] (0: none)", min_value=0.0, value=0.0, step=0.1, key="u_gwh"
    )
    cny = c4.number_input(
        "Cost target [CNY/Wh] (0: none)", min_value=0.0, value=0.0, step=0.1, key="u_cny"
    )
    simulate = st.toggle(
        "Simulate each sample (fast engine; minutes) instead of the static model (seconds)",
        key="u_simulate",
    )
    s1, s2, s3 = st.columns(3)
    reps = s1.number_input(
        "Replications per sample",
        min_value=2,
        max_value=20,
        value=2,
        step=1,
        key="u_reps",
        disabled=not simulate,
    )
    days = s2.number_input(
        "Horizon [days]",
        min_value=1.0,
        max_value=90.0,
        value=7.0,
        step=1.0,
        key="u_days",
        disabled=not simulate,
    )
    sobol = s3.selectbox("Sobol base samples (0: none)", [0, 64, 128, 256, 512], key="u_sobol")
    if st.button("Run study", type="primary", key="u_run"):
        st.session_state.pop(RESULT, None)
        common.start_job(
            "uncertainty",
            tasks.uncertainty,
            text,
            int(samples),
            bool(simulate),
            int(reps),
            float(days),
            int(seed),
            float(gwh),
            float(cny),
            int(sobol),
            label="Sampling the uncertain inputs",
            time_limit_s=TIME_LIMIT_S,
            memory_mib=MEMORY_MIB,
            remedy="fewer samples, the static model, or `linesim uncertainty`",
            progress=True,
            context={
                "yaml": text,
                "inputs": {
                    "samples": int(samples),
                    "simulate": bool(simulate),
                    "replications": int(reps),
                    "horizon_days": float(days),
                    "target_gwh_per_year": float(gwh),
                    "target_cny_per_wh": float(cny),
                    "sobol": int(sobol),
                },
            },
            on_done=kept.keep_uncertainty,
        )

    def done(report, context) -> None:
        st.session_state[RESULT] = {"yaml": context["yaml"], "report": report}

    common.follow_job("uncertainty", done)


def show(report) -> None:
    """Percentiles, the probabilities of the targets, the figures and the tornado."""
    st.caption(
        f"{report.samples:,} samples ({md(report.method)}), {md(report.model)}, seed {report.seed}."
    )
    for warning in report.warnings:
        st.warning(warning)
    rows = [
        {
            "KPI": s.label,
            "unit": s.unit,
            "P10": s.p10,
            "P50": s.p50,
            "P90": s.p90,
            "mean": s.mean,
            "nominal (static)": s.nominal,
        }
        for s in report.summaries.values()
    ]
    common.table(pd.DataFrame(rows), "uncertainty_percentiles", "u_percentiles")
    for p in report.probabilities:
        low, high = p.ci95
        st.metric(
            f"P({p.condition})",
            f"{p.probability:.1%}",
            f"95 % CI {low:.1%} – {high:.1%} ({p.hits:,} of {p.samples:,})",
            delta_color="off",
            delta_arrow="off",
        )
    for k, fig in enumerate(uncertainty_figures(report)):
        st.plotly_chart(fig, key=f"u_figure_{k}")
    if report.tornado:
        st.subheader("Tornado: P10–P90 swing of each input (static model)")
        common.table(pd.DataFrame(report.tornado), "uncertainty_tornado", "u_tornado")


def stored(spec) -> None:
    """The studies kept in the results store (of any line: a reload starts from the default
    line); one reopened on request, its line made the working line."""
    records = kept.stored("uncertainty", brief=True)  # a study is read when reopened
    if not records:
        return
    st.subheader("Uncertainty studies in the results store")
    record = common.reopen_picker(
        records, "uncertainty study", lambda r: _label(r, spec), ("u_stored", "u_reopen")
    )
    if record is not None:
        st.session_state[RESULT] = {
            "yaml": common.working_yaml(),
            "report": kept.reopened_uncertainty(record),
            "record_id": record["id"],
        }
        st.rerun()


def _label(record: dict, spec) -> str:
    args = record.get("args") or {}
    model = "simulated" if args.get("simulate") else "static"
    return (
        f"{kept.record_label(record, spec)}: {args.get('samples', 0):,} samples, {model}, "
        f"seed {record.get('seed')}"
    )


def main() -> None:
    st.title("Uncertainty")
    text = common.working_yaml()
    spec = common.working_spec()
    st.caption(f"Working line: **{md(spec.name)}** ({md(st.session_state.get('spec_source', ''))})")
    inputs = uncertain_inputs(parse_mapping(text, "<working line>"), "<working line>")
    if not inputs:
        st.info(
            "The working line has no uncertain inputs: give a field a range in its YAML, e.g. "
            "`defect_probability: {value: 0.015, low: 0.008, high: 0.03, dist: triangular}` "
            "(Line page, YAML editor).",
            icon="ℹ️",
        )
        with common.reported(), common.store_read("The stored uncertainty studies"):
            stored(spec)  # a study of another line can still be reopened
        return
    st.write(f"{len(inputs)} uncertain inputs: " + ", ".join(md(i.name) for i in inputs) + ".")
    request(text)
    with common.reported(), common.store_read("The stored uncertainty studies"):
        stored(spec)
    study = st.session_state.get(RESULT)
    if study is None:
        st.info("Run a study to see the spread of output, yield, OEE, cost and capex.")
    elif study["yaml"] != common.working_yaml():
        st.info("The working line changed since the last study: run it again.")
    else:
        if study.get("record_id"):
            st.caption(f"Reopened from the results store: study {md(study['record_id'])}.")
        show(study["report"])


common.guarded(main)
