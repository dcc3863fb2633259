"""The package's layout is its architecture: layers of the data flow, each importing only from
the layers below it, no import cycles (counting imports inside functions too), no Streamlit."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import linesim

PACKAGE = Path(linesim.__file__).resolve().parent

#: Layers from the bottom up (DESIGN.md's module map); a module's layer is that of its longest
#: matching prefix.
LAYERS: list[tuple[str, ...]] = [
    (
        "linesim.spec",
        "linesim.units",
        "linesim.errors",
        "linesim.bundled",
        "linesim.version",
        "linesim.progress",
        "linesim.yaml_io",
    ),
    ("linesim.config", "linesim.variants"),
    ("linesim.rates", "linesim.capacity", "linesim.yield_model"),
    ("linesim.simulation",),
    ("linesim.kpis",),
    (
        "linesim.experiments",
        "linesim.sweep",
        "linesim.summary",
        "linesim.store",
        "linesim.workload",
    ),
    ("linesim.economics", "linesim.optimise", "linesim.uncertainty"),
    ("linesim.report",),
    ("linesim.cli", "linesim.__main__"),
]


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """linesim modules imported anywhere in the file (``from a import b``: ``a.b`` if it is a
    module, else ``a``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("linesim")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1]
                    + ([base] if base else [])
                )
            if not base.startswith("linesim"):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.add(sub if sub in known else base)
    return out - {name}


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(path, name, known) & known for name, path in mods.items()}


def layer(name: str) -> int:
    best, rank = -1, None
    for k, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), k
    assert rank is not None, f"{name} is in no layer: add it to LAYERS (and DESIGN.md)"
    return rank


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in g:
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_every_import_goes_to_the_same_layer_or_below():
    g = graph()
    upward = [
        f"{a} ({layer(a)}) imports {b} ({layer(b)})"
        for a, deps in g.items()
        if a != "linesim"
        for b in deps
        if b != "linesim" and layer(b) > layer(a)
    ]
    assert upward == []
    # nothing below the package's front door imports it (it imports everything)
    assert [a for a, deps in g.items() if "linesim" in deps] == []


def test_the_library_never_imports_streamlit():
    offenders = [
        name
        for name, path in modules().items()
        if "streamlit" in {n.split(".")[0] for n in _all_imports(path)}
    ]
    assert offenders == []


def _all_imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module)
    return out


def test_every_module_imports_on_its_own():
    """Each module imported first, in a fresh set of linesim modules: no hidden order."""
    names = [n for n in modules() if not n.endswith("__main__")]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    for m in [m for m in sys.modules if m == 'linesim' or m.startswith('linesim.')]:\n"
        "        del sys.modules[m]\n"
        "    importlib.import_module(name)\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PACKAGE.parent,
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_the_public_api_is_what_all_says_and_every_name_resolves():
    assert set(linesim.__all__) == set(linesim._PUBLIC) | {"__version__"}
    for name in linesim.__all__:
        assert getattr(linesim, name) is not None
    assert linesim.load_line.__module__ == "linesim.config"
