"""Run README.md's commands and Python examples; check, or rewrite, the output and figures it shows.

    python scripts/readme.py            # run everything; exit 1 (and show a diff) if the README
                                        # would change, 2 if a command or example fails
    python scripts/readme.py --update   # rewrite the README's output blocks and figures

Everything runs in README order in one temporary working directory, with the results store in it
(``LINESIM_STORE``):

- every command of a ```bash block. A trailing ``# exit N`` comment documents a command that
  exits N on purpose (default 0). ``<id>`` stands for a results-store record id and is filled in
  with the ids of the latest records, newest first;
- every ```python block, in a fresh interpreter of its own (one namespace per block);
- every ```text block whose first line is ``$ linesim ...``: the command runs and its standard
  output must be the rest of the block (lines compared without trailing blanks; wall-clock times
  such as ``(0.65 s)`` are not compared);
- a block right after the line ``<!-- readme: not run -->`` is skipped (the set-up commands).

A figure quoted in prose is written ``<!-- fig:KEY -->value<!-- /fig -->``; :data:`FIGURES`
computes it from the JSON document of a README command run again with ``--json`` (same seeds,
so the same numbers as the output shown).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

SKIP = "<!-- readme: not run -->"
FENCE = re.compile(
    r"^```(?P<lang>[\w-]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL
)
FIGURE = re.compile(r"<!-- fig:(?P<key>[\w.-]+) -->(?P<value>.*?)<!-- /fig -->", re.DOTALL)
EXIT = re.compile(r"#\s*exits?\s+(\d+)\b")
WALL_TIME = re.compile(r"\(\d+(?:\.\d+)? s\)")
PLACEHOLDER = "<id>"
TIMEOUT_S = 900


class ReadmeError(RuntimeError):
    """A README command or example that failed, or a figure that cannot be computed."""


# ------------------------------------------------------------------------------------------------
# Figures quoted in prose: key → (README command whose --json document holds it, formatter)


def _pm(e: dict, digits: int) -> str:
    """``mean ± half-width`` of an Estimate's document."""
    return f"{e['mean']:.{digits}f} ± {(e['ci95_high'] - e['ci95_low']) / 2:.{digits}f}"


def _usd_per_kwh(doc: dict, line: str) -> str:
    """A line's cost per good kWh in a ``compare --json`` document."""
    cost = next(d for d in doc["lines"] if d["line"] == line)["cost"]
    return f"{cost['usd_per_kwh']['total']:.0f}"


RUN = "linesim run pilot_sulfide_200mwh"
COMPARE = "linesim compare pilot_sulfide_200mwh gwh_sulfide_4gwh --html report.html"

FIGURES: dict[str, tuple[str, Callable[[dict], str]]] = {
    "run.cells_per_h": (RUN, lambda d: _pm(d["throughput_cells_per_h"], 1)),
    "run.gwh_per_year": (RUN, lambda d: f"{d['output_gwh_per_year']['mean']:.3f}"),
    "run.yield": (RUN, lambda d: _pm(d["line_yield"]["simulated"], 4)),
    "run.analytic_yield": (RUN, lambda d: f"{d['line_yield']['analytic']:.4f}"),
    "run.exposure": (RUN, lambda d: f"{d['line_yield']['attribution']['exposure']['mean']:.4f}"),
    "run.bottleneck": (RUN, lambda d: d["bottleneck"]),
    "run.bottleneck_share": (RUN, lambda d: f"{d['bottleneck_shares'][d['bottleneck']]:.0%}"),
    "run.line_oee": (RUN, lambda d: _pm(d["line_oee"], 3)),
    "run.availability": (RUN, lambda d: f"{d['losses']['availability']['mean']:.3f}"),
    "run.performance": (RUN, lambda d: f"{d['losses']['performance']['mean']:.3f}"),
    "run.quality": (RUN, lambda d: f"{d['losses']['quality']['mean']:.3f}"),
    "run.oee_station": (RUN, lambda d: d["losses"]["station"]),
    "compare.pilot_usd_per_kwh": (COMPARE, lambda d: _usd_per_kwh(d, "pilot_sulfide_200mwh")),
    "compare.gwh_usd_per_kwh": (COMPARE, lambda d: _usd_per_kwh(d, "gwh_sulfide_4gwh")),
}


# ------------------------------------------------------------------------------------------------
# Reading the README


@dataclass(frozen=True)
class Block:
    lang: str
    body: str
    start: int  #: offset of the body in the README
    end: int
    skip: bool  #: preceded by SKIP

    @property
    def output_command(self) -> str | None:
        """For a ```text block that shows a run: the command after ``$ ``."""
        first = self.body.split("\n", 1)[0]
        if self.lang == "text" and first.startswith("$ linesim"):
            return first[2:]
        return None


def blocks(text: str) -> list[Block]:
    out = []
    for m in FENCE.finditer(text):
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        out.append(Block(m["lang"], m["body"], m.start("body"), m.end("body"), before == SKIP))
    return out


def commands(body: str) -> list[str]:
    """The commands of a bash block: continuation lines joined, comment-only lines dropped."""
    out, current = [], []
    for line in body.splitlines():
        current.append(line)
        if line.rstrip().endswith("\\"):
            continue
        command = "\n".join(current)
        current = []
        if command.strip() and not command.lstrip().startswith("#"):
            out.append(command)
    if current:
        out.append("\n".join(current))
    return out


def expected_exit(command: str) -> int:
    """The exit code a command documents with a trailing ``# exit N`` (default 0)."""
    m = EXIT.search(command)
    return int(m.group(1)) if m else 0


def normalised(output: str) -> list[str]:
    """Output lines as compared: no trailing blanks or blank last lines, wall-clock times out."""
    lines = [WALL_TIME.sub("(… s)", line.rstrip()) for line in output.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


# ------------------------------------------------------------------------------------------------
# Running it


class Runner:
    """Runs commands and examples in ``workdir`` with a results store of its own."""

    def __init__(self, workdir: Path, log: Callable[[str], None] = lambda s: None):
        self.workdir = workdir
        self.store = workdir / "linesim_runs.duckdb"
        self.env = {**os.environ, "LINESIM_STORE": str(self.store), "PYTHONUNBUFFERED": "1"}
        self.log = log
        self._json: dict[str, dict] = {}

    def _run(self, argv: list[str], shown: str, expected: int) -> str:
        started = time.monotonic()
        done = subprocess.run(
            argv,
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
        self.log(f"{time.monotonic() - started:6.1f} s  $ {shown}")
        if done.returncode != expected:
            raise ReadmeError(
                f"`{shown}` exited {done.returncode}, the README says {expected}:\n"
                f"{done.stderr[-3000:] or done.stdout[-3000:]}"
            )
        return done.stdout

    def command(self, command: str) -> str:
        """Run a shell command (``<id>`` filled in); its standard output."""
        if PLACEHOLDER in command:
            ids = self._record_ids(command.count(PLACEHOLDER))
            for rid in ids:
                command = command.replace(PLACEHOLDER, rid, 1)
        return self._run(["bash", "-c", command], command, expected_exit(command))

    def python(self, code: str) -> None:
        self._run([sys.executable, "-c", code], "python <<README example>>", 0)

    def json_of(self, command: str) -> dict:
        """The document of ``command --json`` (run once per command)."""
        if command not in self._json:
            self._json[command] = json.loads(self.command(command + " --json"))
        return self._json[command]

    def _record_ids(self, n: int) -> list[str]:
        from linesim.store import Store

        frame = Store(str(self.store)).list(n)
        if len(frame) < n:
            raise ReadmeError(f"{n} record id(s) needed, the store has {len(frame)}")
        return [str(i) for i in frame["id"]]


def regenerate(text: str, workdir: Path, log: Callable[[str], None] = lambda s: None) -> str:
    """``text`` with every output block and figure as a run in ``workdir`` gives them now.

    Raises ReadmeError when a command exits other than documented or an example fails."""
    runner = Runner(workdir, log)
    shown: set[str] = set()  # every command the README shows, for the figures' sources
    parts, pos = [], 0
    for block in blocks(text):
        if block.skip:
            continue
        if block.lang == "bash":
            for command in commands(block.body):
                runner.command(command)
                shown.add(_bare(command))
        elif block.lang == "python":
            runner.python(block.body)
        elif block.output_command:
            command = block.output_command
            out = runner.command(command)
            shown.add(_bare(command))
            old = block.body.split("\n", 1)[1] if "\n" in block.body else ""
            if normalised(out) != normalised(old):
                parts += [
                    text[pos : block.start],
                    f"$ {command}\n",
                    "\n".join(line.rstrip() for line in out.rstrip("\n").splitlines()) + "\n",
                ]
                pos = block.end
    text = "".join(parts) + text[pos:]

    def figure(m: re.Match) -> str:
        key = m["key"]
        if key not in FIGURES:
            raise ReadmeError(f"figure {key!r}: not in scripts/readme.py FIGURES")
        command, value = FIGURES[key]
        if command not in shown:
            raise ReadmeError(f"figure {key!r}: its command `{command}` is not run by the README")
        return f"<!-- fig:{key} -->{value(runner.json_of(command))}<!-- /fig -->"

    return FIGURE.sub(figure, text)


def _bare(command: str) -> str:
    """A command without its trailing comment and extra blanks, as FIGURES names it."""
    return " ".join(command.split("#", 1)[0].replace("\\\n", " ").split())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--update",
        action="store_true",
        help="rewrite README.md's output blocks and figures from this run",
    )
    parser.add_argument("--readme", type=Path, default=README)
    parser.add_argument("--quiet", action="store_true", help="do not list the commands run")
    args = parser.parse_args(argv)
    text = args.readme.read_text()
    log = (lambda s: None) if args.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    with tempfile.TemporaryDirectory(prefix="linesim-readme-") as tmp:
        try:
            new = regenerate(text, Path(tmp), log)
        except ReadmeError as exc:
            print(f"readme: {exc}", file=sys.stderr)
            return 2
    if new == text:
        print(f"{args.readme}: up to date", file=sys.stderr)
        return 0
    if args.update:
        args.readme.write_text(new)
        print(f"{args.readme}: updated", file=sys.stderr)
        return 0
    sys.stdout.writelines(
        difflib.unified_diff(
            text.splitlines(True), new.splitlines(True), "README.md", "README.md (now)"
        )
    )
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
