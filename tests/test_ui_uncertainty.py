"""The Uncertainty page: a study of the working line runs as long work and shows what
``linesim uncertainty`` computes for the same line, samples and seed."""

from conftest import ROOT, settle
from streamlit.testing.v1 import AppTest

from linesim.config import dump_line, load_line
from linesim.uncertainty import Targets
from linesim.uncertainty.api import uncertainty_study
from linesim.yaml_io import parse_mapping


def _page(text: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "ui" / "views" / "uncertainty.py"), default_timeout=120)
    at.session_state["spec_yaml"] = text
    at.session_state["spec_source"] = "test"
    return at.run()


def test_a_static_study_shows_the_librarys_percentiles_and_target_probability():
    text = dump_line(load_line("pilot_sulfide_200mwh"))  # its ranges survive the dump
    at = _page(text)
    assert not at.exception, [e.value for e in at.exception]
    at.number_input(key="u_samples").set_value(32)
    at.number_input(key="u_seed").set_value(3)
    at.number_input(key="u_cny").set_value(2.4)
    settle(at.button(key="u_run").click().run())
    assert not at.exception, [e.value for e in at.exception]

    expected = uncertainty_study(
        parse_mapping(text, "<working line>"),
        samples=32,
        seed=3,
        targets=Targets(None, 2.4),
        workers=1,
    )
    table = next(d.value for d in at.dataframe if "P50" in d.value.columns)
    shown = table.set_index("KPI")
    for s in expected.summaries.values():
        assert shown.loc[s.label, "P10"] == s.p10
        assert shown.loc[s.label, "P50"] == s.p50
        assert shown.loc[s.label, "P90"] == s.p90
    (p,) = expected.probabilities
    card = next(m for m in at.metric if m.label == f"P({p.condition})")
    assert card.value == f"{p.probability:.1%}"
    assert len(at.get("plotly_chart")) >= len(expected.summaries) - 1


def test_a_line_without_ranges_is_told_how_to_give_one():
    spec = load_line("pilot_sulfide_200mwh")
    from linesim.config import editable, line_from_dict

    at = _page(dump_line(line_from_dict(editable(spec))))  # a rebuilt line: no ranges kept
    assert not at.exception, [e.value for e in at.exception]
    assert any("no uncertain inputs" in i.value for i in at.info)
