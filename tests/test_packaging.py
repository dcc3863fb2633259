"""The package installs whole: every package, the bundled lines and the what-if app are in the
wheel, and the installed wheel runs a line, loads one by name and serves the app from a directory
outside the checkout."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from conftest import ROOT

SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def _package_dir(package: str) -> Path:
    """The checkout's folder of ``package`` by pyproject's package-dir (else its dotted path)."""
    mapped = SETUPTOOLS.get("package-dir", {})
    if package in mapped:
        return ROOT / mapped[package]
    return ROOT.joinpath(*package.split("."))


def _wheel_path(package: str) -> str:
    return package.replace(".", "/")


def _source_dirs(top: Path) -> list[Path]:
    return [
        d
        for d in [top, *sorted(top.rglob("*"))]
        if d.is_dir()
        and d.name != "__pycache__"
        and any(f.is_file() for f in d.iterdir())
        and "__pycache__" not in d.parts
    ]


def test_every_package_under_linesim_is_listed():
    listed = set(SETUPTOOLS["packages"])
    found = {
        ".".join(d.relative_to(ROOT).parts)
        for d in _source_dirs(ROOT / "linesim")
        if (d / "__init__.py").is_file()
    }
    assert found, "no packages found under linesim/"
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


def test_every_bundled_folder_is_mapped_into_the_package():
    mapped = {(ROOT / d).resolve(): p for p, d in SETUPTOOLS["package-dir"].items()}
    for top in ("configs", "ui"):
        for d in _source_dirs(ROOT / top):
            assert d.resolve() in mapped, f"{d.relative_to(ROOT)} is not mapped in package-dir"
            assert mapped[d.resolve()] in SETUPTOOLS["packages"]
    for package in SETUPTOOLS["packages"]:
        assert _package_dir(package).is_dir(), f"{package}: no folder {_package_dir(package)}"


def test_bundled_lines_are_found_by_name_from_any_directory(tmp_path, monkeypatch):
    import linesim
    from linesim.bundled import resolve_config, ui_dir

    monkeypatch.chdir(tmp_path)
    assert resolve_config("pilot_sulfide_200mwh") == ROOT / "configs" / "pilot_sulfide_200mwh.yaml"
    assert (ui_dir() / "app.py").is_file()
    assert linesim.load_line("gwh_sulfide_4gwh").name == "gwh_sulfide_4gwh"


# ------------------------------------------------------------------------------------------------
# End to end: build the wheel from a clean copy, install it in a fresh venv, use it elsewhere


def _clean_copy(dest: Path) -> Path:
    """The files git would commit (tracked and untracked-but-not-ignored), copied to ``dest``;
    outside a git checkout, the tree without what a build or a run leaves behind."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if listed.returncode != 0:
        shutil.copytree(
            ROOT,
            dest,
            ignore=shutil.ignore_patterns(
                ".git",
                "build",
                "dist",
                "*.egg-info",
                "__pycache__",
                ".venv",
                ".pytest_cache",
                ".hypothesis",
                "*.duckdb",
            ),
        )
        return dest
    out = listed.stdout.decode()
    for rel in filter(None, out.split("\0")):
        src = ROOT / rel
        if src.is_file():  # a tracked file deleted in the work tree is left out
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def _build_wheel(src: Path, dist: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(src)]
    required = tomllib.loads((src / "pyproject.toml").read_text())["build-system"]["requires"]
    minimum = next(r.split(">=")[1] for r in required if r.startswith("setuptools>="))
    installed = metadata.version("setuptools")
    if tuple(map(int, installed.split(".")[:2])) >= tuple(map(int, minimum.split(".")[:2])):
        cmd.insert(4, "--no-build-isolation")  # offline and faster: this setuptools will do
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=300)
    (wheel,) = dist.glob("linesim-*.whl")
    return wheel


def _check_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f"{_wheel_path(p)}/__init__.py"
        for p in SETUPTOOLS["packages"]
        if (_package_dir(p) / "__init__.py").is_file()
    }
    expected |= {"linesim/py.typed", "linesim/bundled.py"}
    expected |= {f"linesim/_bundled/configs/{p.name}" for p in (ROOT / "configs").glob("*.yaml")}
    expected |= {
        f"linesim/_bundled/ui/{p.relative_to(ROOT / 'ui').as_posix()}"
        for p in (ROOT / "ui").rglob("*")
        if p.suffix in (".py", ".md") and "__pycache__" not in p.parts
    }
    missing = expected - names
    assert not missing, f"not in the wheel: {sorted(missing)}"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not any(n.startswith(("configs/", "ui/", "tests/")) for n in names)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status


def _stop_group(proc: subprocess.Popen) -> None:
    """Terminate the process group of ``proc`` (linesim ui and its Streamlit server) and make
    sure nothing of it is left."""
    for sig, wait_s in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            proc.poll()
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)
    pytest.fail("linesim ui's process group survived SIGKILL")


@pytest.mark.slow
def test_installed_wheel_runs_loads_and_serves_from_outside_the_checkout(tmp_path):
    wheel = _build_wheel(_clean_copy(tmp_path / "src"), tmp_path / "dist")
    _check_wheel_contents(wheel)

    venv = tmp_path / "venv"
    # the heavy dependencies come from this interpreter's site-packages; linesim from the wheel,
    # installed by this interpreter's pip into the venv (``--python``): a venv of its own pip
    # (ensurepip) took 8.9 s of the test's wall time on a quiet machine, 16 s on a loaded one
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
        check=True,
        timeout=120,
    )
    python, linesim_exe = venv / "bin" / "python", venv / "bin" / "linesim"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps"]
        + ["--force-reinstall", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["LINESIM_STORE"] = str(tmp_path / "runs.duckdb")

    def run(*cmd: str, timeout: float = 120) -> subprocess.CompletedProcess:
        # a group of its own, so that a timeout also ends a command's pool workers
        proc = subprocess.Popen(
            cmd,
            cwd=elsewhere,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        finally:
            _stop_group(proc)
        assert proc.returncode == 0, err
        return subprocess.CompletedProcess(cmd, proc.returncode, out, err)

    where = run(
        str(python),
        "-c",
        "import linesim, linesim.bundled as b; "
        "print(linesim.__file__); print(b.configs_dir()); print(b.ui_dir()); "
        "print(linesim.load_line('gwh_sulfide_4gwh').name)",
    ).stdout.split()
    site = Path(
        run(
            str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        ).stdout.strip()
    )
    assert where[0] == str(site / "linesim" / "__init__.py"), where  # not /work/main/linesim
    assert where[1:] == [
        str(site / "linesim" / "_bundled" / "configs"),
        str(site / "linesim" / "_bundled" / "ui"),
        "gwh_sulfide_4gwh",
    ]

    # SimPy: the fast engine would first compile in the new location (about a minute of CPU
    # per pool worker), which the in-tree tests already exercise
    doc = json.loads(
        run(
            str(linesim_exe),
            "run",
            "pilot_sulfide_200mwh",
            "--json",
            "--horizon",
            "1d",
            "--replications",
            "2",
            "--no-store",
            "--engine",
            "simpy",
        ).stdout
    )
    assert doc["line"] == "pilot_sulfide_200mwh" and doc["horizon_h"] == 24.0
    assert doc["throughput_cells_per_h"]["mean"] > 0

    # the installed app's scripts import its helpers and the installed package
    run(
        str(python),
        "-c",
        "import sys; from streamlit.testing.v1 import AppTest; "
        "at = AppTest.from_file(sys.argv[1], default_timeout=120); at.run(); "
        "assert not at.exception, [e.value for e in at.exception]",
        str(site / "linesim" / "_bundled" / "ui" / "app.py"),
    )

    port = _free_port()
    proc = subprocess.Popen(
        [str(linesim_exe), "ui", "--port", str(port)],
        cwd=elsewhere,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        url = f"http://localhost:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                assert _get(url + "/_stcore/health") == 200
                assert _get(url + "/") == 200
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    _stop_group(proc)
                    pytest.fail("linesim ui did not serve: " + proc.stdout.read())
                time.sleep(0.5)
    finally:
        _stop_group(proc)
