"""Fixtures for the automation end-to-end tests. The real Airflow server (``airflow``) and the
in-process CLI runner (``run``) are imported from their own conftests, not copied."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

TESTS = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_airflow = _load("lockgate_e2e_airflow_conftest", TESTS / "adapters" / "airflow" / "conftest.py")
_cli = _load("lockgate_e2e_cli_conftest", TESTS / "migrate" / "conftest.py")

airflow = _airflow.airflow
AirflowServer = _airflow.AirflowServer
run = _cli.run
Run = _cli.Run


_fake = _load("lockgate_tests_fake_adapter", Path(__file__).with_name("fake_adapter.py"))


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The in-test adapter (``type: fake`` in a workspace), registered for this test."""
    _fake.register(monkeypatch)
    return _fake
