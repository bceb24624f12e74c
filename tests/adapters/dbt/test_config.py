"""The dbt adapter settings: defaults, paths, and every bad-input path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lockgate.adapters.dbt import DbtPlugin, plugin
from lockgate.federation.adapter import AdapterPlugin
from lockgate.federation.errors import ConfigError
from lockgate.federation.registry import get_plugin


def load(raw: Any, base: Path = Path("/ws")) -> Any:
    return plugin.load_config(raw, name="shop", where="lockgate.yaml: adapters[0] (shop)", base_dir=base)


def test_the_plugin_is_registered_and_satisfies_the_protocol() -> None:
    found: AdapterPlugin = get_plugin("dbt")
    assert isinstance(found, DbtPlugin)
    assert (found.kind, found.extra) == ("dbt", "dbt")


def test_defaults_are_relative_to_the_project() -> None:
    config = load({"project_dir": "dbt/shop"})
    assert config.name == "shop"
    assert config.project_dir == Path("/ws/dbt/shop")
    assert config.manifest_path == Path("/ws/dbt/shop/target/manifest.json")
    assert config.run_results_path == Path("/ws/dbt/shop/target/run_results.json")
    assert config.profiles_dir == Path("/ws/dbt/shop")
    assert (config.target, config.dataset_namespace, config.docs_url) == (None, None, None)
    assert config.parse_if_missing is True
    assert (config.partition_var, dict(config.vars)) == ("partition", {})


def test_every_key_can_be_set() -> None:
    config = load(
        {
            "project_dir": "/abs/shop",
            "manifest_path": "artifacts/manifest.json",
            "run_results_path": "/elsewhere/rr.json",
            "profiles_dir": "profiles",
            "target": "prod",
            "dataset_namespace": "postgres://db:5432",
            "parse_if_missing": False,
            "partition_var": "ds",
            "vars": {"region": "eu"},
            "docs_url": "https://docs.example.com/",
        }
    )
    assert config.manifest_path == Path("/abs/shop/artifacts/manifest.json")
    assert config.run_results_path == Path("/elsewhere/rr.json")
    assert config.profiles_dir == Path("/ws/profiles")
    assert (config.target, config.partition_var, config.docs_url) == (
        "prod",
        "ds",
        "https://docs.example.com",
    )
    assert config.vars == {"region": "eu"} and config.parse_if_missing is False


@pytest.mark.parametrize(
    ("raw", "key", "expected"),
    [
        ({"project_dir": "x", "manifest": "m.json"}, "manifest", "unknown key 'manifest'"),
        ({}, "project_dir", "Missing data for required field"),
        ({"project_dir": 3}, "project_dir", "Not a valid string"),
        ({"project_dir": "x", "parse_if_missing": "maybe"}, "parse_if_missing", "Not a valid boolean"),
        ({"project_dir": "x", "vars": ["a"]}, "vars", "Not a valid mapping type"),
        ({"project_dir": ""}, "project_dir", "Shorter than minimum length"),
    ],
)
def test_bad_settings_name_the_file_the_key_and_the_fix(raw: Any, key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(raw)
    text = str(info.value)
    assert text.startswith(f"lockgate.yaml: adapters[0] (shop): {key}:")
    assert expected in text
    assert "docs/adapters/dbt.md" in text or "the known keys are" in text


def test_settings_that_are_not_a_mapping_are_an_error() -> None:
    with pytest.raises(ConfigError, match="must be a mapping, got list"):
        load(["project_dir"])


def test_create_does_not_need_dbt_to_be_imported() -> None:
    import sys

    adapter = plugin.create(load({"project_dir": "x"}))
    assert adapter.name == "shop"
    assert "lockgate.adapters.dbt.adapter" in sys.modules
