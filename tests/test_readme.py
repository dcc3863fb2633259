"""README.md cannot go stale: its commands and Python examples run, and the output and figures it
shows are what linesim prints now (``scripts/readme.py``; ``--update`` rewrites them)."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from conftest import ROOT

_spec = importlib.util.spec_from_file_location("readme_script", ROOT / "scripts" / "readme.py")
readme = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = readme  # dataclasses look their module up
_spec.loader.exec_module(readme)


def test_blocks_commands_and_annotations():
    text = (
        "intro\n\n<!-- readme: not run -->\n```bash\npip install -e .\n```\n\n"
        "```bash\nlinesim a   # table\n# a comment line\nlinesim b \\\n    --x 1\n"
        "linesim c --budget-usd 2e8   # exit 3: infeasible\n```\n\n"
        "```text\n$ linesim run x\nout\n```\n\n```text\nplain\n```\n\n"
        "```python\nimport linesim\n```\n"
    )
    got = readme.blocks(text)
    assert [(b.lang, b.skip) for b in got] == [
        ("bash", True),
        ("bash", False),
        ("text", False),
        ("text", False),
        ("python", False),
    ]
    cmds = readme.commands(got[1].body)
    assert cmds == [
        "linesim a   # table",
        "linesim b \\\n    --x 1",
        "linesim c --budget-usd 2e8   # exit 3: infeasible",
    ]
    assert [readme.expected_exit(c) for c in cmds] == [0, 0, 3]
    assert got[2].output_command == "linesim run x" and got[3].output_command is None
    assert readme._bare(cmds[1]) == "linesim b --x 1"
    assert readme._bare(cmds[2]) == "linesim c --budget-usd 2e8"


def test_output_is_compared_without_trailing_blanks_and_wall_times():
    a = "x: min-capex — status optimal (0.65 s)  \ncol   \n\n"
    assert readme.normalised(a) == readme.normalised("x: min-capex — status optimal (12.3 s)\ncol")
    assert readme.normalised("value 0.8858") != readme.normalised("value 0.8859")


def test_a_stale_output_block_a_wrong_exit_code_and_an_unknown_figure_are_caught(tmp_path):
    stale = "```text\n$ linesim --version\nlinesim 0.0.0-stale\n```\n"
    fresh = readme.regenerate(stale, tmp_path)
    assert fresh != stale and fresh.startswith("```text\n$ linesim --version\nlinesim ")
    assert readme.regenerate(fresh, tmp_path) == fresh  # regenerating is a fixed point
    with pytest.raises(readme.ReadmeError, match="exited 2, the README says 0"):
        readme.regenerate("```bash\nlinesim validate no_such_line\n```\n", tmp_path)
    assert readme.regenerate("```bash\nlinesim validate no_such_line   # exit 2\n```\n", tmp_path)
    with pytest.raises(readme.ReadmeError, match="not in scripts/readme.py FIGURES"):
        readme.regenerate("<!-- fig:nope -->1<!-- /fig -->\n", tmp_path)


def test_every_figure_names_a_command_the_readme_shows():
    text = (ROOT / "README.md").read_text()
    keys = {m["key"] for m in readme.FIGURE.finditer(text)}
    assert keys == set(readme.FIGURES), "README figures and scripts/readme.py FIGURES differ"
    shown = {
        readme._bare(c)
        for b in readme.blocks(text)
        if b.lang == "bash" and not b.skip
        for c in readme.commands(b.body)
    }
    shown |= {readme._bare(b.output_command) for b in readme.blocks(text) if b.output_command}
    assert {command for command, _ in readme.FIGURES.values()} <= shown


def test_the_two_commands_are_annotated_and_the_main_job_is_still_run():
    text = (ROOT / "README.md").read_text()
    skipped = [b.body.strip() for b in readme.blocks(text) if b.skip]
    assert skipped == [
        "python -m pip install -e . && linesim build && linesim run pilot_sulfide_200mwh",
        "bash scripts/test",
    ]
    assert any(b.output_command == "linesim run pilot_sulfide_200mwh" for b in readme.blocks(text))


@pytest.mark.slow
def test_readme_runs_and_shows_what_linesim_prints_now(tmp_path):
    """Every command, example, output block and figure of README.md, from a run now.

    On a failure here: ``python scripts/readme.py`` shows the difference, ``--update`` writes it."""
    text = (ROOT / "README.md").read_text()
    new = readme.regenerate(text, tmp_path)
    if new != text:
        import difflib

        diff = "".join(
            difflib.unified_diff(
                text.splitlines(True), new.splitlines(True), "README.md", "README.md (now)"
            )
        )
        pytest.fail("README.md is stale; run `python scripts/readme.py --update`:\n" + diff)
