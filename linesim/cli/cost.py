"""``linesim cost`` and ``linesim compare``: a line's analysis, and lines side by side."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from linesim.cli.options import (
    EXIT_OK,
    add_config,
    add_cost_options,
    check_output_path,
    print_json,
    simulate_from_args,
)
from linesim.errors import UsageError

if TYPE_CHECKING:  # the analysis imports scipy: only the commands that run it pay for that
    from linesim.economics.analysis import LineAnalysis

__all__ = ["add_cost_arguments", "add_compare_arguments", "compare_command", "cost_command"]


def add_cost_arguments(p: argparse.ArgumentParser) -> None:
    add_config(p)
    add_cost_options(p)
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")


def add_compare_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "configs",
        nargs="+",
        metavar="CONFIG",
        help="two or more line configs (files or bundled names)",
    )
    add_cost_options(p)
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument(
        "--html",
        metavar="FILE",
        help="also write a self-contained HTML report with plotly figures to FILE, atomically",
    )
    p.add_argument(
        "--reference",
        default=REFERENCE,
        metavar="CONFIG",
        help=f"a reference line added as the last column, on its static capacity (default "
        f"{REFERENCE}, the liquid Li-ion line; 'none' leaves it out)",
    )


def _analyse(config: str, overrides: Sequence[str], args: argparse.Namespace) -> LineAnalysis:
    from linesim.config import load_line
    from linesim.economics.analysis import analyse
    from linesim.economics.cost import cost_inputs

    spec = load_line(config, overrides)
    cost_inputs(spec)  # fail on a missing cost block before simulating
    results = simulate_from_args(spec, args) if args.simulate else None
    return analyse(spec, results, args.tornado)


def cost_command(args: argparse.Namespace) -> int:
    from linesim.report.cost import format_cost

    analysis = _analyse(args.config, args.overrides, args)
    if args.json:
        print_json(analysis.to_dict())
    else:
        sys.stdout.write(format_cost(analysis) + "\n")
    return EXIT_OK


MAX_COMPARED = 20  #: lines side by side in one comparison
#: The line every route is compared against by default (a bundled liquid Li-ion line).
REFERENCE = "gwh_liquid_lib_4gwh"


def compare_command(args: argparse.Namespace) -> int:
    from linesim.config import load_line
    from linesim.economics.analysis import analyse
    from linesim.report.cost import format_comparison

    reference = None if str(args.reference).lower() == "none" else args.reference
    if len(args.configs) + (reference is not None) < 2:
        raise UsageError(
            "compare needs at least two lines; allowed: linesim compare A.yaml B.yaml [...], or "
            "one config and the reference line (--reference)"
        )
    if len(args.configs) > MAX_COMPARED:
        raise UsageError(
            f"compare: {len(args.configs):,} configs; allowed: at most {MAX_COMPARED} (a chart "
            "and a table a person can read; sweep or runs compare more)"
        )
    if args.html:
        check_output_path(args.html, (".html", ".htm"), "--html")
    for config in args.configs:  # every config loads (a bad one exits 2) before any analysis
        load_line(config)
    ref_spec = load_line(reference) if reference is not None else None
    analyses = [_analyse(config, (), args) for config in args.configs]
    ref_index = None
    if ref_spec is not None:
        names = [a.spec.name for a in analyses]
        if ref_spec.name in names:
            ref_index = names.index(ref_spec.name)
        else:
            analyses.append(analyse(ref_spec, None, args.tornado))  # static: cheap, and named so
            ref_index = len(analyses) - 1
    if args.html:
        from linesim.report.html import write_html

        write_html(analyses, args.html)
    if args.json:
        print_json(
            {
                "lines": [a.to_dict() for a in analyses],
                "reference": None if ref_index is None else analyses[ref_index].spec.name,
                "bands": _bands_doc(analyses),
            }
        )
    else:
        sys.stdout.write(format_comparison(analyses, ref_index) + "\n")
        if args.html:
            sys.stdout.write(f"\nHTML report written to {args.html}\n")
    return EXIT_OK


def _bands_doc(analyses: Sequence[LineAnalysis]) -> list[dict]:
    from linesim.economics.bands import band_checks

    return [
        {
            "line": a.spec.name,
            "figure": c.name,
            "value": c.value,
            "low": c.low,
            "high": c.high,
            "inside": c.inside,
            "source": c.source,
        }
        for a in analyses
        for c in band_checks(a.cost, a.spec.cost.bands if a.spec.cost else None)
    ]
