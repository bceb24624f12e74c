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
            except (urllib.error.URLError, ConnectionError):
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
