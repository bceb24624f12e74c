"""``lockgate serve`` runs gunicorn on 127.0.0.1 and serves the portal from the workspace's store."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

LOCKGATE = Path(sys.executable).with_name("lockgate")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_is_a_lockgate_command() -> None:
    out = subprocess.run(
        [LOCKGATE, "serve", "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    assert "--workers" in out.stdout and "--dev" in out.stdout and "127.0.0.1" in out.stdout
    # one thread per worker by default (CPU-bound requests; see DEFAULT_THREADS in lockgate.ui.cli)
    threads = " ".join(out.stdout.split()).split("--threads", 1)[1]
    assert "sync worker" in threads and "[default: 1;" in threads


@pytest.mark.slow
def test_serve_runs_the_production_server(tmp_path: Path) -> None:
    (tmp_path / "lockgate.yaml").write_text("store: sqlite:///lockgate.db\n", encoding="utf-8")
    port = free_port()
    env = {**os.environ, "LOCKGATE_TOKEN": "cli-secret-token"}
    proc = subprocess.Popen(
        [LOCKGATE, "-w", str(tmp_path / "lockgate.yaml"), "serve", "--port", str(port), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
        start_new_session=True,
    )
    try:
        body = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/assets", timeout=2) as response:
                    body = response.read()
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):  # still starting (busy CI)
                time.sleep(0.2)
        assert body == b'{"items":[],"total_entries":0}\n' or b'"total_entries":0' in body
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            assert b"No adapter has synced yet" in response.read()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert "cli-secret-token" not in out + err
    assert f"http://127.0.0.1:{port}/" in out


def test_serve_with_a_bad_workspace_fails_clearly(tmp_path: Path) -> None:
    (tmp_path / "lockgate.yaml").write_text("portal:\n  page_size: 1\n", encoding="utf-8")
    out = subprocess.run(
        [LOCKGATE, "-w", str(tmp_path / "lockgate.yaml"), "serve"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2
    assert "portal.page_size" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.slow
def test_serve_runs_the_daemon_in_its_own_process_and_stops_it(tmp_path: Path) -> None:
    """The daemon is a spawned process (never a thread in the process that forks workers): it
    ticks while the server runs, and stopping the server stops it and releases its lease."""
    from datetime import UTC, datetime, timedelta

    from lockgate.federation.automation.tick import LEASE
    from lockgate.federation.store import Store

    (tmp_path / "lockgate.yaml").write_text(
        "store: sqlite:///lockgate.db\nautomation:\n  interval: 0.5\n  rules: []\n", encoding="utf-8"
    )
    port = free_port()
    proc = subprocess.Popen(
        [LOCKGATE, "-w", str(tmp_path / "lockgate.yaml"), "serve", "--port", str(port), "--workers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    store_url = f"sqlite:///{tmp_path / 'lockgate.db'}"
    try:
        tick = None
        deadline = time.monotonic() + 60
        while tick is None and time.monotonic() < deadline:
            time.sleep(0.5)
            if (tmp_path / "lockgate.db").exists():
                with Store.open(store_url) as store:
                    tick = store.last_tick()
        assert tick is not None, "the daemon never ticked"
        children = subprocess.run(
            ["ps", "-o", "args=", "--ppid", str(proc.pid)], capture_output=True, text=True, check=False
        ).stdout
        assert "multiprocessing" in children, children  # the spawned daemon, not a thread
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode is not None
    with Store.open(store_url) as store:
        now = datetime.now(UTC)
        assert store.acquire_lease(LEASE, "someone-else", now=now, ttl=timedelta(seconds=30)), (
            f"the daemon did not release its lease on shutdown\n{err}"
        )
