"""Fixtures for the dbt adapter tests: the committed shop artifacts and fresh copies of the shop."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lockgate.adapters.dbt import plugin
from lockgate.adapters.dbt.config import DbtConfig

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHOP = Path(__file__).resolve().parents[3] / "examples" / "shop"


def load_fixture(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return doc


@pytest.fixture
def shop_manifest() -> dict[str, Any]:
    return load_fixture("shop_manifest_v12.json")


@pytest.fixture
def shop_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean copy of examples/shop in tmp_path, its DuckDB file inside the copy."""
    project = tmp_path / "shop"
    shutil.copytree(SHOP, project, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb", ".user.yml"))
    monkeypatch.setenv("SHOP_DUCKDB_PATH", str(project / "shop.duckdb"))
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    monkeypatch.delenv("SHOP_TARGET", raising=False)
    return project


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., DbtConfig]:
    def make(**raw: Any) -> DbtConfig:
        config: DbtConfig = plugin.load_config(raw, name="shop", where="lockgate.yaml", base_dir=tmp_path)
        return config

    return make
