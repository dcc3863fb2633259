"""Cost: capex and cost per good kWh by category, ramp-up curves, the tornado."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import common
import pandas as pd
import streamlit as st

from linesim.report.figures import cost_breakdown, ramp_up_curves, tornado_chart


def main() -> None:
    st.title("Cost")
    a = common.static_analysis(common.working_yaml())
    if a is None:
        st.info("The cost model " + common.NEEDS_COST + ".", icon="ℹ️")
        return
    c = a.cost
    k1, k2, k3, k4 = st.columns(4)
    k1.metric(
        "Cost per good kWh",
        f"{c.total_usd_per_kwh:.0f} USD/kWh",
        f"{c.cny_per_wh:.2f} CNY/Wh",
        delta_color="off",
    )
    k2.metric(
        "Capex",
        f"{c.capex.total / 1e6:.1f} MUSD",
        f"{c.capex_bn_cny_per_gwh:.2f} bn CNY per GWh/yr",
        delta_color="off",
    )
    k3.metric("Energy per kWh", f"{c.energy_kwh_per_kwh.total:.1f} kWh/kWh")
    k4.metric("Direct labour", f"{c.direct_fte:.0f} FTE")
    st.caption(f"Basis: {c.basis}.")
    st.plotly_chart(cost_breakdown([a]), key="breakdown")
    by_category = pd.DataFrame([{"category": k, "USD/kWh": v} for k, v in c.usd_per_kwh.items()])
    common.table(by_category, "cost_per_kwh", "cost")
    capex = pd.DataFrame(
        [{"item": k, "capex [USD]": v} for k, v in c.capex.equipment_by_station.items()]
        + [
            {"item": "dry room", "capex [USD]": c.capex.dry_room},
            {"item": "building", "capex [USD]": c.capex.building},
            {"item": "facility", "capex [USD]": c.capex.facility},
        ]
        + ([{"item": "buffers", "capex [USD]": c.capex.buffers}] if c.capex.buffers else [])
    )
    st.subheader("Capex by item")
    common.table(capex, "capex", "capex")
    if a.ramp:
        st.plotly_chart(ramp_up_curves([a]), key="ramp")
        common.table(pd.DataFrame(a.ramp.to_dict()["quarters"]), "ramp_up_quarters", "ramp")
    st.plotly_chart(tornado_chart(a), key="tornado")
    common.table(pd.DataFrame([b.to_dict() for b in a.tornado]), "tornado", "tornado")


common.guarded(main)
