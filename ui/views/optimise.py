"""Optimise: CP-SAT layouts at a target or budget, the Pareto front, load a point as the line."""

import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import background
import common
import kept
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import tasks
from safe import md

from linesim.optimise import apply_layout, current_layout, evaluate_layout
from linesim.report.optimise import renamed
from linesim.spec.line import DEFAULT_OPTION

#: The library's parameter names in its messages → this page's inputs.
INPUTS = {"target_gwh_per_year": "a target good output", "budget_usd": "a capex budget"}

OPTIMISE_TIME_LIMIT_S = 240.0  #: CP-SAT (20 s per solve) and dew-point simulations [s]
OPTIMISE_MEMORY_MIB = 2048  #: memory they may take [MiB]


def inputs(spec, now) -> tuple:
    """The search's settings: (target, budget, objective, pareto, tune, dew points, tunable)."""
    c1, c2, c3 = st.columns(3)
    target = c1.number_input(
        "Target good output [GWh/yr]",
        min_value=0.001,
        value=round(max(now.output_gwh_per_year, 0.001), 3),
        step=0.05,
        format="%.3f",
        key="target_gwh",
    )
    budget = c2.number_input(
        "Capex budget [MUSD] (0 = none)", min_value=0.0, value=0.0, step=10.0, key="budget_musd"
    )
    objective = c3.selectbox("Objective", ["min_capex", "min_cost", "max_output"], key="objective")
    pareto = st.checkbox("Pareto front of output × yield × capex", value=False, key="pareto")
    tunable = [s for s in spec.stations if s.process is not None and s.process.levels]
    tune = st.checkbox(
        "Choose process settings too ("
        + (", ".join(s.id for s in tunable) or "no station has process-window levels")
        + ")",
        value=False,
        key="tune",
        disabled=not tunable,
    )
    classes = (
        [c.dew_point_c for c in spec.cost.dry_room_classes]
        if spec.cost is not None and spec.cost.dry_room is not None
        else []
    )
    dew_points = st.multiselect(
        "…and the dry room's dew point [°C]: one layout per dew point, each simulated "
        "(3 × 7 days), the lowest simulated cost per kWh wins (not with the Pareto front)",
        classes,
        default=[],
        key="dew_points",
        disabled=not (tune and classes) or pareto,
    )
    dew = tuple(sorted(dew_points, reverse=True)) if tune else ()
    return target, budget, objective, pareto, bool(tune and tunable), dew, tunable


def optimise(target, budget, objective, pareto, tune, dew) -> None:
    """Start the search in a child process that outlives the page (see :func:`follow`)."""
    text = common.working_yaml()
    st.session_state.pop("optimised", None)
    st.session_state.pop(LAYOUT_SIMULATED, None)  # of a layout of the last search
    inputs = {
        "target_gwh_per_year": float(target),
        "budget_musd": float(budget),
        "objective": objective,
        "pareto": bool(pareto),
        "tune": tune,
        "dew_points_c": list(dew),
    }
    common.start_job(
        "optimise",
        tasks.optimisation,
        text,
        float(target),
        float(budget),
        objective,
        bool(pareto),
        tune,
        dew,
        label="CP-SAT is searching",
        time_limit_s=OPTIMISE_TIME_LIMIT_S,
        memory_mib=OPTIMISE_MEMORY_MIB,
        remedy="fewer dew points, no Pareto front, or `linesim optimise`",
        threads=2,
        context={"yaml": text, "inputs": inputs},
        on_done=kept.keep_optimisation,
    )


def follow() -> None:
    """The running search (it keeps running on other pages, and after a reload); its result
    kept in the session for the line it was started on (and by the server in the results
    store)."""

    def done(result, context) -> None:
        st.session_state["optimised"] = {
            "yaml": context["yaml"],
            "result": result,
            "kept_id": context.get("kept_id"),  # its record: a layout's simulation names it
        }

    common.follow_job("optimise", done, lambda m: renamed(m, INPUTS))


def dew_point_rows(spec, rows) -> None:
    st.subheader(f"Dry-room dew point: {spec.cost.dry_room.dew_point_c:g} °C chosen")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "dew point [°C]": r.dew_point_c,
                    "capex [MUSD]": r.predicted.capex_usd / 1e6,
                    "simulated output [GWh/yr]": r.verified.simulated_gwh_per_year.mean,
                    "simulated yield [-]": r.verified.simulated_line_yield.mean,
                    "exposure loss [-]": r.verified.yield_attribution.exposure.mean,
                    "cost, simulated [USD/kWh]": r.verified.cost_usd_per_kwh,
                }
                for r in rows
                if r.verified
            ]
        ),
        hide_index=True,
    )


def front(result, now) -> pd.DataFrame:
    """The layouts found, as a chart and a table (one row per point)."""
    points = list(result.pareto) or [(result.layout, result.predicted)]
    frame = pd.DataFrame(
        [
            {
                "point": k,
                "output [GWh/yr]": f.output_gwh_per_year,
                "line yield [-]": f.line_yield,
                "capex [MUSD]": f.capex_usd / 1e6,
            }
            for k, (_, f) in enumerate(points)
        ]
    )
    fig = go.Figure(
        go.Scatter(
            x=frame["capex [MUSD]"],
            y=frame["output [GWh/yr]"],
            mode="markers+text",
            text=frame["point"],
            textposition="top center",
            marker={
                "size": 12,
                "color": frame["line yield [-]"],
                "colorscale": "Viridis",
                "colorbar": {"title": "yield [-]"},
            },
        )
    )
    fig.add_scatter(
        x=[now.capex_usd / 1e6],
        y=[now.output_gwh_per_year],
        mode="markers",
        marker={"symbol": "x", "size": 14, "color": "#e76f51"},
        name="working line",
    )
    fig.update_layout(
        title=f"Layouts ({result.status})",
        xaxis_title="capex [MUSD]",
        yaxis_title="good output [GWh/yr]",
        showlegend=False,
        height=420,
    )
    st.plotly_chart(fig, key="front")
    common.table(frame, "layouts", "layouts")
    return frame


def layout_diff(working, layout, figures, now) -> None:
    """The layout against the working line: machines added and removed per station and
    equipment option (with their capex at list price), and the change of capex (the cost
    model's total: equipment, dry room, building, facility) and of output."""
    have = current_layout(working)
    capex = {(s.id, e.name): e.capex_usd for s in working.stations for e in s.equipment()}
    rows = []
    for sid in dict.fromkeys([*have, *layout]):
        for option in dict.fromkeys([*have.get(sid, {}), *layout.get(sid, {})]):
            was = have.get(sid, {}).get(option, 0)
            new = layout[sid].get(option, 0) if sid in layout else was  # absent: as it is
            if new != was:
                rows.append(
                    {
                        "station": sid,
                        "option": "" if option == DEFAULT_OPTION else option,
                        "working line": was,
                        "layout": new,
                        "change": f"{new - was:+,d}",
                        "equipment capex [MUSD]": (new - was) * capex.get((sid, option), 0.0) / 1e6,
                    }
                )
    added = sum(max(0, r["layout"] - r["working line"]) for r in rows)
    removed = sum(max(0, r["working line"] - r["layout"]) for r in rows)
    st.subheader("Against the working line")
    d1, d2, d3 = st.columns(3)
    d1.metric("Machines added / removed", f"+{added:,} / −{removed:,}")
    delta = getattr(figures, "capex_usd", 0.0) - getattr(now, "capex_usd", 0.0)
    d2.metric("Capex change", f"{delta / 1e6:+,.1f} MUSD", help="the cost model's total capex")
    d3.metric(
        "Output change",
        f"{figures.output_gwh_per_year - now.output_gwh_per_year:+,.3f} GWh/yr",
        help="static max good output",
    )
    if rows:
        st.dataframe(
            pd.DataFrame(rows),
            hide_index=True,
            column_config={
                "equipment capex [MUSD]": st.column_config.NumberColumn(format="%+.2f"),
            },
            key="layout_diff",
        )
    else:
        st.caption("The same machines as the working line.")


def layout_key(line_yaml: str, layout: dict, settings: dict | None) -> str:
    """What a layout's simulation is kept under: a digest of the layout's own line — the line
    the search's result belongs to (``line_yaml``), its machines and process settings, which
    make that line (:func:`apply_layout`) — never a point's number, which another search (a
    new target, a reopened record) gives to another layout."""
    text = json.dumps([line_yaml, layout, settings], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def inspect(
    spec, line_yaml: str, result, frame: pd.DataFrame, tunable, record_id: str | None
) -> None:
    """One point (of the search's result on the line ``line_yaml``, ``spec``): its machines,
    its process settings, simulate it, load it. ``record_id``: the search's record in the
    results store (a rerun of the layout's simulation after a restart reopens it)."""
    points = list(result.pareto) or [(result.layout, result.predicted)]
    point_settings = list(result.pareto_settings) if result.pareto else [result.settings]
    pick = st.selectbox("Layout to inspect", frame["point"].tolist(), key="pick")
    layout, figures = points[int(pick)]
    chosen_settings = point_settings[int(pick)] if int(pick) < len(point_settings) else None
    layout_diff(common.working_spec(), layout, figures, evaluate_layout(common.working_spec()))
    st.dataframe(
        pd.DataFrame(
            [
                {"station": sid, "option": opt_name, "machines": n}
                for sid, opts in layout.items()
                for opt_name, n in opts.items()
            ]
        ),
        hide_index=True,
    )
    if chosen_settings is not None:
        st.subheader("Process settings")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "station": s.id,
                        "setting": name,
                        "config": was,
                        "chosen": chosen_settings.get(s.id, {}).get(name, was),
                    }
                    for s in tunable
                    for name, was in s.process.settings().items()
                    if sum(layout.get(s.id, {"x": 1}).values()) > 0
                ]
            ),
            hide_index=True,
            key="settings",
        )
    point = layout_key(line_yaml, layout, chosen_settings)
    if st.button("Simulate this layout (3 × 7 days)", key="simulate_layout"):
        from linesim.config import dump_line

        line = dump_line(apply_layout(spec, layout, settings=chosen_settings))
        st.session_state.pop(LAYOUT_SIMULATED, None)
        st.session_state[SEARCH_SHOWN] = True  # this session's own: no search to reopen
        common.start_job(  # long work that outlives the page, as the Simulate page's
            "layout_simulation",
            tasks.simulation,
            line,
            7.0,
            3,
            1,
            # "line", not "yaml": recorded while it runs (a restart offers a rerun), but it is
            # not the working line's (a reload leaves the working line alone)
            context={
                "line": line,
                "point": point,
                "pick": int(pick),
                "optimisation": record_id,
            },
            on_done=kept.keep_simulation,
            **{**common.simulation_limits(), "label": "Simulating this layout"},
        )
        st.rerun()  # its progress is drawn at the top of the page
    simulated = st.session_state.get(LAYOUT_SIMULATED)
    if simulated is not None and simulated["point"] == point:
        simulated_output(simulated["summary"].output_gwh_per_year, figures.output_gwh_per_year)
    if st.button("Load this layout as the working line", key="load_layout"):
        from linesim.config import carry_ranges  # the ranges the layout leaves alone

        common.set_working(
            carry_ranges(spec, apply_layout(spec, layout, settings=chosen_settings)),
            f"optimised point {pick}",
        )
        st.session_state.pop("optimised", None)
        st.success(f"Loaded point {pick}: {figures.output_gwh_per_year:.3f} GWh/yr predicted.")


LAYOUT_SIMULATED = "layout_simulated"  #: session key: the last point simulated and its result
#: session key: this session has shown the search of its layout simulation (it started the
#: simulation, or reopened the search once after a reload): a later "Load this layout" or
#: Optimise, which clear the search, is the user's choice and is not undone
SEARCH_SHOWN = "layout_search_shown"


def follow_layout_simulation() -> None:
    """The running simulation of an optimised layout (on this page whether or not a point is
    inspected; after a reload too), its result kept for its layout; one interrupted by a
    server restart is offered for a rerun, which reopens the search it belongs to."""

    def done(run, context) -> None:
        st.session_state[LAYOUT_SIMULATED] = {"point": context["point"], "summary": run.summary}
        if not st.session_state.get(SEARCH_SHOWN):  # a reload: its search is in the store
            reopen_search(context)

    common.follow_job(
        "layout_simulation",
        done,
        lambda m: renamed(m, common.SIMULATION_INPUTS),
        reopen=reopen_search,
    )
    job = background.get(st.session_state.get(common.JOB_PREFIX + "layout_simulation"))
    if job is not None and not st.session_state.get(SEARCH_SHOWN):
        reopen_search(job.context)  # a reload took the layout's simulation over


def reopen_search(context: dict) -> None:
    """Show again the search (its record in the results store, ``context["optimisation"]``)
    whose layout ``context["pick"]`` is simulated: its line made the working line, the layout
    inspected. Nothing when the search was not kept."""
    from linesim.store import Store, StoreError

    st.session_state[SEARCH_SHOWN] = True  # once a session (a search not kept: nothing to show)
    rid = context.get("optimisation") if isinstance(context, dict) else None
    if not rid:
        return
    try:
        record = Store().get(rid)
    except (StoreError, KeyError) as exc:
        st.warning(f"The optimisation {md(rid)} cannot be read: {md(exc, 500)}")
        return
    common.reopen_line(record["config_text"], f"optimisation {rid}")
    st.session_state["optimised"] = {
        "yaml": common.working_yaml(),
        "result": kept.reopened_optimisation(record),
        "record_id": rid,
    }
    if "pick" in context:
        st.session_state["pick"] = context["pick"]


def simulated_output(out, predicted_gwh: float) -> None:
    """A layout's simulated output ``out`` (an estimate [GWh/yr]) against its predicted one,
    flagged red below the page's target."""
    st.metric(
        "Simulated output of this layout [GWh/yr]",
        f"{out.mean:.3f}",
        f"{out.mean / predicted_gwh - 1:+.1%} vs predicted {predicted_gwh:.3f}",
        delta_color="off",
        delta_arrow="off",
    )
    target = float(st.session_state.get("target_gwh") or 0.0)
    if out.mean < target:
        st.error(
            f"This layout simulates {1 - out.mean / target:.1%} below the target of "
            f"{target:,.3f} GWh/yr ({out.mean:,.3f} ± {out.half_width or 0.0:,.3f} GWh/yr, "
            "95 % CI, 3 × 7 days): the static model does not see blocking, starving and "
            "breakdowns. Optimise for a higher target, or add a machine at the simulated "
            "bottleneck (Simulate page), and simulate again.",
            icon="🚩",
        )


def stored() -> None:
    """The optimisations kept in the results store (of any line: a reload starts from the
    default line); one reopened on request, its line made the working line."""
    records = kept.stored("optimise")
    if not records:
        return
    spec = common.working_spec()
    with st.expander(f"Optimisations in the results store ({len(records):,})"):
        record = common.reopen_picker(
            records,
            "optimisation",
            lambda r: _label(r, spec),
            ("stored_optimisation", "reopen_optimisation"),
        )
        if record is not None:
            pick = record["id"]
            st.session_state.pop(LAYOUT_SIMULATED, None)
            st.session_state["optimised"] = {
                "yaml": common.working_yaml(),
                "result": kept.reopened_optimisation(record),
                "record_id": pick,
            }
            st.rerun()


def _label(record: dict, spec) -> str:
    args = record.get("args") or {}
    result = record["summary"]["optimise_result"]
    budget = args.get("budget_musd") or 0.0
    target = (  # max_output has none: it maximises the output within the budget
        ""
        if args.get("objective") == "max_output"
        else f", target {args.get('target_gwh_per_year', 0.0):,.3f} GWh/yr"
    )
    return (
        f"{kept.record_label(record, spec)}: {args.get('objective')}{target}"
        + (f", budget {budget:,.1f} MUSD" if budget else "")
        + (", Pareto front" if args.get("pareto") else "")
        + f" — {result['status']}"
    )


def main() -> None:
    st.title("Optimise")
    spec = common.working_spec()
    now = evaluate_layout(spec)
    *settings, tunable = inputs(spec, now)
    if st.button("Optimise", type="primary", key="run_optimise"):
        optimise(*settings)
    follow()
    follow_layout_simulation()
    with common.reported(), common.store_read("The stored optimisations"):
        stored()
    opt = st.session_state.get("optimised")
    if not opt or opt["yaml"] != common.working_yaml():
        st.info("Set a target (and a budget) and press Optimise.")
        return
    if opt.get("record_id"):
        st.caption(f"Reopened from the results store: optimisation {md(opt['record_id'])}.")
    result, line_yaml, dew_rows = opt["result"]
    spec = common.spec_from_yaml(line_yaml)  # the line the result belongs to (its dew point)
    if dew_rows:
        dew_point_rows(spec, dew_rows)
    if not result.found:
        st.error(f"No layout: {md(result.status)}. {md(result.binding or '')}")
        return
    record_id = opt.get("record_id") or opt.get("kept_id")
    inspect(spec, line_yaml, result, front(result, now), tunable, record_id)


common.guarded(main)
