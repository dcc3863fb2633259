"""A sweep on a multi-node Ray cluster gives the local pool's rows.

The test starts the cluster itself with ``ray start`` on this machine: a head node with no CPUs
(so no task runs there) and two worker nodes of one CPU each, every one in the foreground
(``--block``) so that terminating its process stops the node's daemons and nothing else on the
machine (never ``ray stop``, which would stop every Ray here). The sweep finds the cluster
through ``RAY_ADDRESS``, as it would a real one.

Starting three nodes takes 20–90 s (a quiet or a loaded 2-core machine), too much for every
run of the suite: it runs when ``LINESIM_RAY_CLUSTER_TEST=1`` is set, and is skipped without
Ray.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest
from conftest import ROOT

from linesim.config import load_line
from linesim.sweep import run_sweep

H = 3600.0
_READY_S = 240.0  #: how long each step of starting the nodes may take on a loaded machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node(*args: str, env: dict, log: str) -> subprocess.Popen:
    """``ray start --block`` with its output in the file ``log`` (shown if the node fails)."""
    with open(log, "w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "ray.scripts.scripts", "start", "--block", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: stopped as one below, apart from pytest
        )


def _alive(ray, nodes: list[subprocess.Popen], logs: list[str], count: int) -> None:
    """Wait until ``count`` nodes are alive; a node process that exits fails the test at once
    with the end of its output."""
    deadline = time.monotonic() + _READY_S
    while len([n for n in ray.nodes() if n["Alive"]]) < count:
        for proc, log in zip(nodes, logs):
            if proc.poll() is not None:
                with open(log) as f:
                    tail = f.read()[-2000:]
                pytest.fail(f"a Ray node exited ({proc.returncode}): {tail}")
        assert time.monotonic() < deadline, f"{count - 1} Ray worker node(s) did not join"
        time.sleep(1.0)


def _stop(proc: subprocess.Popen) -> None:
    """Stop a node: SIGTERM to its process group (``ray start --block`` and its daemons)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("LINESIM_RAY_CLUSTER_TEST") != "1",
    reason="starts a 3-node Ray cluster (20-90 s): set LINESIM_RAY_CLUSTER_TEST=1",
)
def test_sweep_on_a_head_and_two_worker_nodes_gives_the_local_rows(monkeypatch):
    ray = pytest.importorskip("ray")
    specs = [load_line("pilot_oxide", [f"stations.stacking.machines={m}"]) for m in (2, 3)]
    local = run_sweep(specs, 6 * H, H, 2, seed=7, workers=2, backend="local")
    port = _free_port()
    address = f"127.0.0.1:{port}"
    # no token authentication on this private cluster (Ray 2.60 turns it on for `ray start`);
    # the test process is the driver, so it needs the same setting
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0"}
    with tempfile.TemporaryDirectory(prefix="lsray", dir="/tmp") as tmp:
        logs = [os.path.join(tmp, f"node{k}.log") for k in range(3)]
        nodes = [
            _node(
                "--head",
                f"--port={port}",
                "--node-ip-address=127.0.0.1",
                "--num-cpus=0",
                "--include-dashboard=false",
                "--disable-usage-stats",
                f"--temp-dir={tmp}",
                env=env,
                log=logs[0],
            )
        ]
        try:
            deadline = time.monotonic() + _READY_S
            while True:  # the head answers before the workers may join
                probe = subprocess.run(
                    [sys.executable, "-m", "ray.scripts.scripts", "status", f"--address={address}"],
                    env=env,
                    capture_output=True,
                )
                if probe.returncode == 0:
                    break
                assert nodes[0].poll() is None, "the Ray head exited"
                assert time.monotonic() < deadline, "the Ray head did not start"
                time.sleep(1.0)
            ray.init(address=address, log_to_driver=False, configure_logging=False)
            try:
                # one worker node at a time: of two started at once on this machine, one had
                # exited without joining twice on 2026-12-02 (load 6-8), and the test waited
                # its 240 s for it; a node that exits now fails the test with its output
                for k in (1, 2):
                    nodes.append(
                        _node(
                            f"--address={address}",
                            "--node-ip-address=127.0.0.1",
                            "--num-cpus=1",
                            env=env,
                            log=logs[k],
                        )
                    )
                    _alive(ray, nodes, logs, k + 1)
                assert ray.cluster_resources().get("CPU") == 2.0  # the workers' only
            finally:
                ray.shutdown()
            # the sweep connects by itself, through RAY_ADDRESS, as on a real cluster (a
            # driver already connected here would be used as it is and hide that step)
            monkeypatch.setenv("RAY_ADDRESS", address)
            assert not ray.is_initialized()
            remote = run_sweep(specs, 6 * H, H, 2, seed=7, backend="ray")
            assert not ray.is_initialized()  # the sweep disconnected what it connected
        finally:
            for proc in reversed(nodes):
                _stop(proc)
    assert remote == local
    assert len(local) == 4
