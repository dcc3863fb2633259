"""Where the event loop's instructions go, by source line: a callgrind profile of the compiled
loop placed on ``fast_kernel.py``'s lines and functions.

All of the kernel is inlined into ``advance``, so callgrind shows it as one ``???`` blob. Here
the loop is built with debug info (``NUMBA_DEBUGINFO=1``, bounds checks off, a NUMBA_CACHE_DIR
of its own, the fixed CPU of :mod:`bench_callgrind` so that valgrind finds it in the cache),
with inlining and variables' lives as in the normal build (numba's debug mode marks every
function ``noinline``: :func:`_inlining_as_normal`); its object code is read from numba's cache
(the bytes the JIT loads), and each line runs under ``valgrind --tool=callgrind
--dump-instr=yes --cache-sim=yes`` with instrumentation on around one run from empty only
(:func:`bench_callgrind._child`). The child reports where the loop's code landed
(``library.get_pointer_to_function``), so every instruction of the blob maps to an offset in
the object; ``llvm-symbolizer`` gives its source line and the inlined functions around it.
Each instruction's Ir and simulated D1 / last-level misses go to the innermost frame in
linesim's source (numba's own code inlined into a kernel line, an array access, counts for that
line) and to the kernel function holding that line (by the source's ``def`` ranges: numba's
``inline="always"`` functions keep their own lines but no subprogram of their own).

Self-checks: the parse of the callgrind file (every instruction's Ir summed is the file's
``totals:``, else it raises); the blob's Ir is the sum of its lines' and the unattributed
share (code outside the object, or without a source line: spills, moves at block joins) is
printed, with the blob's Ir against :func:`bench_callgrind._counts`' ``loop_Ir`` of the same
file (that one leaves out some small symbol-less code: the difference is the code outside the
object). Compare the loop's Ir with ``python benchmarks/bench_callgrind.py`` (the normal
build): on the kernel of issue 18's sixth step the debug build ran 1.9 % (4 GWh line) and
2.1 % (benchmark line) fewer instructions than the normal one.

Events: the executions of the loop's room check (the first lines of each turn of
``advance``'s loop, the most-run instruction there), so per-event costs are per turn of the
loop (a deadline event queued again is a turn). The heap's share: the lead's heap functions
(:data:`HEAP`) and the loop's room check and top-of-heap selection (:func:`_heap_lines`).

Usage (a build of ~2 min, then ~1 min a line)::

    python benchmarks/kernel_lines.py --lines gwh bench visits:6:300 --top 30
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_callgrind import CPU, _child, _counts, _line, horizon_s, under_callgrind

#: the event heap's functions (and the loop's top-of-heap selection, by line, below)
HEAP = {
    "_earlier_child",
    "_hole_to_leaf",
    "_sift_up",
    "_heap_push",
    "push",
    "_pop",
    "_other_now",
    "_pop_done",
    "_at_now",
    "_resume",
}
EVENTS = ("Ir", "D1mr", "D1mw", "DLmr", "DLmw", "I1mr", "ILmr")


def _inlining_as_normal() -> None:
    """Debug info, with inlining and variables' lives as in the normal build: numba's full
    debug info marks every function ``noinline`` and extends variables' lives (the loop then
    called ``_end``, ``_pop_done``, ... with the whole State: 7x the instructions an event),
    and its directives-only mode leaves llvm-symbolizer no line table. Called in the build and
    in the child (the same flags) before the kernel is imported."""
    from numba.core import cpu, lowering

    finalize = cpu.CPUTargetOptions.finalize

    def lifetimes_as_normal(self, flags, options):
        finalize(self, flags, options)
        flags.dbg_extend_lifetimes = False

    cpu.CPUTargetOptions.finalize = lifetimes_as_normal
    pre_lower = lowering.BaseLower.pre_lower

    def inline_as_normal(self):
        pre_lower(self)
        self.builder.function.attributes.discard("noinline")

    lowering.BaseLower.pre_lower = inline_as_normal


def _advance():
    """The loop's dispatcher, its one overload and that overload's symbol."""
    from linesim.simulation import fast_kernel as K

    (cres,) = K.advance.overloads.values()
    return K.advance, cres, cres.fndesc.llvm_func_name


def _object(out: Path) -> None:
    """Build the loop (or find it in the cache) and write its object code to ``out``."""
    from linesim.simulation import fast

    fast.build()
    dispatcher, cres, name = _advance()
    cache = dispatcher._cache
    key = cache._index_key(cres.signature.args, cres.target_context.codegen())
    libdata = cache._cache_file.load(key)[0]
    lib_name, kind, (obj, _bitcode) = libdata
    assert kind == "object", kind
    out.write_bytes(obj)
    print(json.dumps({"symbol": name}))


def _run_child(line: str) -> None:
    """Under callgrind: one instrumented run (bench_callgrind's), then where the loop is."""
    _child(line, horizon_s(line))
    _, cres, name = _advance()
    print(json.dumps({"address": cres.library.get_pointer_to_function(name)}))


def _blob(path: Path) -> tuple[dict[int, list[int]], list[str]]:
    """Per-instruction costs of the code callgrind found no object for (``ob=???``), by
    address, from a ``--dump-instr=yes`` file (its name and position compression undone).
    Checks the parse: every instruction's Ir, summed, is the file's ``totals:``."""
    names: dict[str, dict[str, str]] = defaultdict(dict)
    cost: dict[int, list[int]] = {}
    events: list[str] = []
    ob = ""
    pos = [0, 0]
    after_call = False
    all_ir = 0
    totals = None
    with path.open() as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not line or line[0] in "#":
                continue
            c = line[0]
            if c.isdigit() or c in "+-*" or line.startswith("0x"):
                parts = line.split()
                n_pos = len(pos)
                for k, tok in enumerate(parts[:n_pos]):
                    if tok == "*":
                        continue
                    if tok[0] in "+-":
                        pos[k] += int(tok, 0)
                    else:
                        pos[k] = int(tok, 0)
                if after_call:  # a call's inclusive cost: not this instruction's own
                    after_call = False
                    continue
                vals = [int(v) for v in parts[n_pos:]]
                all_ir += vals[0] if vals else 0
                if ob == "???":
                    row = cost.setdefault(pos[0], [0] * len(events))
                    for k, v in enumerate(vals):
                        row[k] += v
                continue
            key, _, value = line.partition("=")
            if line.startswith("totals:"):
                totals = int(line.split()[1])
                continue
            if line.startswith("events:"):
                events = line.split(":", 1)[1].split()
                continue
            if line.startswith("positions:"):
                pos = [0] * len(line.split(":", 1)[1].split())
                continue
            if key in ("ob", "cob", "fl", "fi", "fe", "fn", "cfi", "cfl", "cfn"):
                kind = {"cob": "ob", "fi": "fl", "fe": "fl", "cfi": "fl", "cfl": "fl"}.get(key, key)
                m = re.match(r"\((\d+)\)(?: (.*))?$", value)
                if m:
                    if m.group(2) is not None:
                        names[kind][m.group(1)] = m.group(2)
                    value = names[kind].get(m.group(1), value)
                if key == "ob":
                    ob = value
                continue
            if key == "calls":
                after_call = True
    if totals != all_ir:
        raise RuntimeError(f"{path}: instructions sum to {all_ir:,}; its totals: {totals:,}")
    return cost, events


def _symbolize(obj: Path, offsets: list[int]) -> dict[int, list[tuple[str, str, int]]]:
    """Inline frames (function, file, line), innermost first, of each offset in ``obj``."""
    text = "\n".join(hex(o) for o in offsets) + "\n"
    out = subprocess.run(
        ["llvm-symbolizer", f"--obj={obj}", "--inlining", "--output-style=JSON"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    frames: dict[int, list[tuple[str, str, int]]] = {}
    for row in out.splitlines():
        if not row.strip():
            continue
        r = json.loads(row)
        o = int(r["Address"], 16)
        frames[o] = [
            (s.get("FunctionName", "??"), s.get("FileName", "??"), int(s.get("Line", 0) or 0))
            for s in r.get("Symbol", [])
        ]
    return frames


def _defs(path: str) -> list[tuple[int, int, str]]:
    """(first line, last line, name) of every function in a source file, inner ones last."""
    try:
        tree = ast.parse(Path(path).read_text())
    except (OSError, SyntaxError):
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            out.append((first, node.end_lineno or node.lineno, node.name))
    return sorted(out, key=lambda d: d[1] - d[0])  # the innermost (shortest) first


def _symbols(obj: Path) -> dict[str, tuple[int, int]]:
    """Defined functions of ``obj``: name -> (offset in .text, size)."""
    out = subprocess.run(["nm", "-S", "--defined-only", str(obj)], capture_output=True, text=True)
    syms = {}
    for row in out.stdout.splitlines():
        parts = row.split()
        if len(parts) == 4 and parts[2] in "tTwW":
            syms[parts[3]] = (int(parts[0], 16), int(parts[1], 16))
    return syms


def profile(line: str, obj: Path, symbol: str, env: dict, keep: Path | None) -> dict:
    """One line under callgrind, its blob placed on source lines and functions."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        run = under_callgrind(Path(__file__), line, out, env, options=("--dump-instr=yes",))
        cost, events = _blob(out)
        loop_ir = _counts(out)["loop_Ir"]
        if keep:
            keep.mkdir(parents=True, exist_ok=True)
            (keep / f"callgrind.{line.replace(':', '_')}.out").write_bytes(out.read_bytes())
    lines = [json.loads(r) for r in run.stdout.splitlines() if r.startswith("{")]
    run_info = {k: v for r in lines for k, v in r.items()}
    syms = _symbols(obj)
    base = run_info["address"] - syms[symbol][0]
    col = {e: events.index(e) for e in EVENTS}
    inside = {a: c for a, c in cost.items() if any(0 <= a - base - o < s for o, s in syms.values())}
    frames = _symbolize(obj, sorted(a - base for a in inside))
    defs_of: dict[str, list] = {}
    by_line: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0] * len(EVENTS))
    by_fn: dict[str, list[int]] = defaultdict(lambda: [0] * len(EVENTS))
    per_instr: dict[tuple[str, int], int] = defaultdict(int)
    total = [0] * len(EVENTS)
    for a, c in cost.items():
        row = [c[col[e]] for e in EVENTS]
        total = [x + y for x, y in zip(total, row)]
        # the innermost frame in linesim's source (numba's own code inlined into a line of
        # the kernel, e.g. an array access, counts for that line)
        fr = [f for f in frames.get(a - base, []) if "/linesim/" in f[1] and f[2] > 0]
        if a not in inside or not fr:
            key, fn = ("(no line)", 0), "(unattributed)"
        else:
            _, file, ln = fr[0]
            if file not in defs_of:
                defs_of[file] = _defs(file)
            fn = next((n for lo, hi, n in defs_of[file] if lo <= ln <= hi), "?")
            if not file.endswith("fast_kernel.py"):
                fn = f"{Path(file).name}:{fn}"
            key = (Path(file).name, ln)
        per_instr[key] = max(per_instr[key], row[0])
        for d in (by_line[key], by_fn[fn]):
            for k, v in enumerate(row):
                d[k] += v
    src = Path(_kernel_file(env)).read_text().splitlines()
    room = next(k + 1 for k, s in enumerate(src) if "margin = n_machines + 8" in s)
    events_n = max(per_instr.get(("fast_kernel.py", room + d), 0) for d in range(0, 6))
    heap_lines = _heap_lines(src)
    heap_ir = sum(v[0] for fn, v in by_fn.items() if fn in HEAP) + sum(
        v[0] for (f, ln), v in by_line.items() if f == "fast_kernel.py" and ln in heap_lines
    )

    def cyc(v):
        return v[0] + 10 * (v[1] + v[2] + v[5]) + 100 * (v[3] + v[4] + v[6])

    def rows(d, n):
        items = sorted(d.items(), key=lambda kv: -kv[1][0])[:n]
        return [
            {
                "where": k if isinstance(k, str) else f"{k[0]}:{k[1]}",
                "source": (
                    src[k[1] - 1].strip()[:70]
                    if not isinstance(k, str) and k[0] == "fast_kernel.py" and k[1] > 0
                    else ""
                ),
                "Ir": v[0],
                "Ir_share": round(v[0] / total[0], 4),
                "Ir_per_event": round(v[0] / events_n, 1),
                "D1_misses": v[1] + v[2],
                "LL_misses": v[3] + v[4],
                "cycles_est": cyc(v),
            }
            for k, v in items
        ]

    attributed = total[0] - by_fn.get("(unattributed)", [0])[0]
    return {
        "line": line,
        "cells": run_info["cells"],
        "visits": run_info["visits"],
        "events": events_n,
        "text_base": base,
        "blob_Ir": total[0],
        "bench_callgrind_loop_Ir": loop_ir,
        "attributed_Ir": attributed,
        "outside_object_Ir": sum(c[col["Ir"]] for a, c in cost.items() if a not in inside),
        "unattributed_share": round(1 - attributed / total[0], 5),
        "Ir_per_event": round(total[0] / events_n, 1),
        "heap_Ir_per_event": round(heap_ir / events_n, 1),
        "heap_share": round(heap_ir / total[0], 4),
        "cycles_est": cyc(total),
        "functions": rows(by_fn, 100),
        "lines": rows(by_line, len(by_line)),
    }


def _kernel_file(env: dict) -> str:
    return str(Path(env["PYTHONPATH"]) / "linesim" / "simulation" / "fast_kernel.py")


def _heap_lines(src: list[str]) -> set[int]:
    """The loop's top-of-heap selection and room check: from the room check to the line before
    the next event is chosen (``# the next event: ...``), in ``advance``."""
    first = next(k + 1 for k, s in enumerate(src) if "margin = n_machines + 8" in s)
    last = next(k + 1 for k, s in enumerate(src) if "# the next event: a staged one" in s)
    return set(range(first - 1, last))  # from ``while True:``


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tree", type=Path, default=HERE.parent, help="checkout to measure")
    ap.add_argument("--lines", nargs="+", type=_line, default=["gwh", "bench", "visits:6:300"])
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--cache-dir", type=Path, help="numba cache for the debug build (fresh)")
    ap.add_argument("--json", type=Path, help="write the profiles here")
    ap.add_argument("--keep", type=Path, help="keep the callgrind files in this directory")
    args = ap.parse_args()
    tree = args.tree.resolve()
    cache = args.cache_dir or Path(tempfile.mkdtemp(prefix="kernel_lines_"))
    env = dict(
        os.environ,
        PYTHONPATH=str(tree),
        PYTHONHASHSEED="0",
        NUMBA_DEBUGINFO="1",
        NUMBA_BOUNDSCHECK="0",  # debug info turns bounds checks on unless told
        NUMBA_CACHE_DIR=str(cache),
        **CPU,
    )
    obj = cache / "advance.o"
    built = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--object", str(obj)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=tree,
    )
    symbol = json.loads(built.stdout.splitlines()[-1])["symbol"]
    results = []
    for line in args.lines:
        r = profile(line, obj, symbol, env, args.keep)
        results.append(r)
        _print(r, args.top)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


def _print(r: dict, top: int) -> None:
    print(
        f"\n## {r['line']}: {r['cells']} cells, {r['visits']} visits, {r['events']} events; "
        f"blob {r['blob_Ir']:,} Ir (bench_callgrind loop_Ir {r['bench_callgrind_loop_Ir']:,}), "
        f"attributed {r['attributed_Ir']:,} (unattributed {100 * r['unattributed_share']:.3f} %, "
        f"of it outside the object {r['outside_object_Ir']:,})"
        f"; {r['Ir_per_event']} Ir/event, heap {r['heap_Ir_per_event']} Ir/event "
        f"({100 * r['heap_share']:.1f} %)"
    )
    print("\n| function | Ir [M] | share | Ir/event | D1 misses | LL misses | cycles est [M] |")
    print("|---|---|---|---|---|---|---|")
    for f in r["functions"]:
        if f["Ir_share"] < 0.001:
            continue
        print(
            f"| {f['where']} | {f['Ir'] / 1e6:.2f} | {100 * f['Ir_share']:.1f} % | "
            f"{f['Ir_per_event']} | {f['D1_misses']:,} | {f['LL_misses']:,} | "
            f"{f['cycles_est'] / 1e6:.2f} |"
        )
    print("\n| line | source | Ir [M] | share | Ir/event | D1 misses | LL misses |")
    print("|---|---|---|---|---|---|---|")
    for f in r["lines"][:top]:
        print(
            f"| {f['where']} | `{f['source']}` | {f['Ir'] / 1e6:.2f} | "
            f"{100 * f['Ir_share']:.1f} % | {f['Ir_per_event']} | {f['D1_misses']:,} | "
            f"{f['LL_misses']:,} |"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _inlining_as_normal()
        _run_child(sys.argv[2])
    elif sys.argv[1:2] == ["--object"]:
        _inlining_as_normal()
        _object(Path(sys.argv[2]))
    else:
        main()
