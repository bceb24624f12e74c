"""The ``type: airflow`` workspace section: valid settings, and every bad input's message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lockgate.adapters.airflow import plugin
from lockgate.adapters.airflow.config import load_config
from lockgate.federation.errors import ConfigError
from lockgate.federation.keys import AssetKey

pytestmark = pytest.mark.airflow
WHERE = "lockgate.yaml: adapters[0] (prod_airflow)"
BASE = {"type": "airflow", "url": "http://127.0.0.1:28080/", "username": "admin", "password": "s3cret"}


def load(**extra: Any) -> Any:
    return load_config({**BASE, **extra}, name="prod_airflow", where=WHERE, base_dir=Path())


def test_valid_section_with_mappings_and_filters() -> None:
    config = load(
        dag_ids=["a", "b"],
        tags=["finance"],
        dag_glob="a*",
        mappings={"a.load": ["shop/raw_orders"], "a": ["shop/report"]},
        partitions={"a": "daily"},
    )
    assert config.url == "http://127.0.0.1:28080"
    assert config.task_mappings == {("a", "load"): (AssetKey.of("shop", "raw_orders"),)}
    assert config.dag_mappings == {"a": (AssetKey.of("shop", "report"),)}
    assert config.wants("a", ("finance",)) and not config.wants("b", ("finance",))
    assert not config.wants("a", ("other",))
    assert "s3cret" not in repr(config)
    assert plugin.kind == "airflow" and plugin.extra == "airflow"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"colour": "red"}, "unknown key 'colour'"),
        ({"url": "not a url"}, "invalid value for 'url'"),
        ({"timeout": -1}, "invalid value for 'timeout'"),
        ({"page_size": 0}, "invalid value for 'page_size'"),
        ({"partitions": {"a": "weekly"}}, "invalid value for 'partitions.a"),
        ({"mappings": {"a.": ["x"]}}, "names no task"),
        ({"mappings": {"a.t": ["//"]}}, "is not an asset key"),
        ({"mappings": {"a.t": "shop/x"}}, "invalid value for 'mappings"),
    ],
)
def test_bad_values_name_the_key_and_the_fix(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(**extra)
    assert message in str(err.value)
    assert WHERE in str(err.value)


def test_missing_password_points_at_password_env() -> None:
    raw = {k: v for k, v in BASE.items() if k != "password"}
    with pytest.raises(ConfigError) as err:
        load_config(raw, name="prod_airflow", where=WHERE, base_dir=Path())
    assert "password_env" in str(err.value)


def test_settings_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(["x"], name="prod_airflow", where=WHERE, base_dir=Path())  # type: ignore[arg-type]


def test_mapping_values_may_be_selections_and_a_bad_one_names_where(tmp_path: Path) -> None:
    config = load(mappings={"a.load": ["shop/raw", "tag:finance", "+orders"], "a": ["group:marts"]})
    assert config.task_mappings == {("a", "load"): (AssetKey.of("shop", "raw"),)}
    assert config.task_selections == {("a", "load"): ("tag:finance", "+orders")}
    assert config.dag_mappings == {"a": ()} and config.dag_selections == {"a": ("group:marts",)}
    with pytest.raises(ConfigError) as err:
        load(mappings={"a.load": ["tag:finance and ("]})
    assert f"{WHERE}.mappings.a.load" in str(err.value) and "selection" in str(err.value)
    relative = load_config({**BASE, "cache_dir": "cache"}, name="p", where=WHERE, base_dir=tmp_path)
    assert relative.cache_dir == tmp_path / "cache" and load().cache_dir is None
