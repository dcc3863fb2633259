"""A layout optimisation presented: the chosen layout and settings against the config's, the
predicted and simulated figures, dew points and the Pareto front."""

from __future__ import annotations

from linesim.report.tables import text_table

__all__ = ["format_optimisation", "format_settings"]


def format_settings(config: dict, chosen: dict, layout: dict) -> str:
    """Process settings per station: the config's against the chosen ones."""
    rows = []
    for sid, values in config.items():
        for name, was in values.items():
            if sum(layout.get(sid, {1: 1}).values()) == 0:
                rows.append((sid, name, was, "(station left out)", ""))
                continue
            now = chosen.get(sid, {}).get(name, was)
            rows.append((sid, name, was, now, "" if now == was else f"{now - was:+g}"))
    return text_table(["station", "setting", "config", "chosen", "change"], rows, "llrrl")


def format_optimisation(doc: dict) -> str:
    """The chosen layout against the config's, predicted and simulated figures."""
    lines = [f"{doc['line']}: {doc['objective'].replace('_', '-')} — status {doc['status']} "
             f"({doc['solve_time_s']:.2f} s)"]
    if doc["layout"] is None:
        if doc["binding"]:
            lines.append(f"infeasible: {doc['binding']}")
        return "\n".join(lines)
    rows = []
    for sid, counts in doc["layout"].items():
        before = doc["config_layout"].get(sid, {})
        if sum(counts.values()) == 0:
            rows.append((sid, "(station left out)", sum(before.values()), 0, "omitted"))
            continue
        for option, n in counts.items():
            was = before.get(option, 0)
            rows.append((sid, option, was, n, "" if n == was else f"{n - was:+d}"))
    lines += ["", text_table(["station", "option", "config", "chosen", "change"], rows,
                             "llrrl")]
    if doc.get("config_settings"):
        lines += ["", format_settings(doc["config_settings"], doc.get("settings") or {},
                                      doc["layout"])]
    p, c = doc["predicted"], doc["config"]
    figures = [("good output [GWh/yr]", c["output_gwh_per_year"], p["output_gwh_per_year"]),
               ("line yield", c["line_yield"], p["line_yield"]),
               ("capex [M USD]", c["capex_usd"] / 1e6, p["capex_usd"] / 1e6),
               ("floor area [m²]", c["floor_area_m2"], p["floor_area_m2"]),
               ("dry-room machine area [m²]", c["dry_room_area_m2"], p["dry_room_area_m2"]),
               ("cost per good kWh [USD]", c["cost_usd_per_kwh"], p["cost_usd_per_kwh"]),
               ("static bottleneck", c["bottleneck"], p["bottleneck"])]
    untuned = (doc.get("untuned") or {}).get("predicted")
    if untuned:
        keys = ["output_gwh_per_year", "line_yield", "capex_usd", "floor_area_m2",
                "dry_room_area_m2", "cost_usd_per_kwh", "bottleneck"]
        figures = [row[:2] + ((untuned[k] / 1e6 if k == "capex_usd" else untuned[k]),)
                   + row[2:] for row, k in zip(figures, keys)]
        config = ("config" if doc.get("dew_point_c") is None
                  else f"config at {doc['dew_point_c']:g} °C")
        lines += ["", text_table(["static analysis", config, "layout only",
                                  "layout + settings"], figures, "lrrr")]
    else:
        lines += ["", text_table(["static analysis", "config", "chosen"], figures, "lrr")]
    if doc.get("dew_points"):
        lines += ["", f"dry-room dew point, chosen by simulated cost: {doc['dew_point_c']:g} °C",
                  text_table(["dew point [°C]", "capex [M USD]", "simulated [GWh/yr]",
                              "simulated yield", "exposure loss", "cost [USD/kWh, simulated]"],
                             [(r["dew_point_c"], r["predicted"]["capex_usd"] / 1e6,
                               r["verified"]["simulated_gwh_per_year"]["mean"],
                               r["verified"]["simulated_line_yield"]["mean"],
                               r["verified"]["yield_attribution"]["exposure"]["mean"],
                               r["verified"]["cost_usd_per_kwh"])
                              for r in doc["dew_points"] if r["verified"]])]
    v = doc["verified"]
    if v:
        sim = v["simulated_gwh_per_year"]
        half = ((sim["ci95_high"] - sim["ci95_low"]) / 2) if sim["ci95_low"] is not None else 0
        lines += ["", f"simulated ({v['replications']} replications of {v['horizon_h']:g} h): "
                  f"{sim['mean']:.3f} ± {half:.3f} GWh/yr against {v['surrogate_gwh_per_year']:.3f}"
                  f" predicted ({v['relative_gap']:+.1%})", f"  {v['explanation']}",
                  f"  line yield: simulated {v['simulated_line_yield']['mean']:.4f} against "
                  f"analytic {v['analytic_line_yield']:.4f}; dry-room exposure "
                  f"{v['yield_attribution']['exposure']['mean']:+.4f}, detection delay "
                  f"{v['yield_attribution']['detection_delay']['mean']:+.4f}"]
    if doc.get("pareto"):
        simulated = all(q.get("verified") for q in doc["pareto"])
        head = ["#", "output [GWh/yr]", "line yield", "capex [M USD]"]
        rows = [(k + 1, q["predicted"]["output_gwh_per_year"], q["predicted"]["line_yield"],
                 q["predicted"]["capex_usd"] / 1e6) for k, q in enumerate(doc["pareto"])]
        if simulated:
            head += ["simulated [GWh/yr]", "gap", "simulated yield"]
            rows = [r + (q["verified"]["simulated_gwh_per_year"]["mean"],
                         f"{q['verified']['relative_gap']:+.1%}",
                         q["verified"]["simulated_line_yield"]["mean"])
                    for r, q in zip(rows, doc["pareto"])]
        lines += ["", "Pareto front (output ↑, yield ↑, capex ↓)"
                  + (", each point simulated:" if simulated else ":"), text_table(head, rows)]
    return "\n".join(lines)
