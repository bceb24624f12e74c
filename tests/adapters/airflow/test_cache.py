"""The task cache file: round trip across instances, and a corrupt or foreign file is a cold cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockgate.adapters.airflow.cache import TaskCache, default_dir
from lockgate.adapters.airflow.records import TaskRecord

pytestmark = pytest.mark.airflow
TASKS = [TaskRecord(task_id="a", operator="BashOperator", downstream=("b",), is_mapped=True)]


def test_round_trip_across_instances_and_versions(tmp_path: Path) -> None:
    cache = TaskCache(tmp_path, name="af", url="http://h:1")
    cache.load("v2")
    cache.add_versions([("0002", "d1"), ("0001", "d1"), ("0001b", "d2")], complete=True)
    cache.put("d1", "v:0002", TASKS)
    cache.save()
    again = TaskCache(tmp_path, name="af", url="http://h:1")
    again.load("v2")
    assert again.watermark == "0002" and again.versions == {"d1": "0002", "d2": "0001b"}
    assert again.get("d1", "v:0002") == TASKS and again.get("d1", "v:0001") is None
    again.keep_only(set())
    again.save()
    third = TaskCache(tmp_path, name="af", url="http://h:1")
    third.load("v2")
    assert third.get("d1", "v:0002") is None
    other_api = TaskCache(tmp_path, name="af", url="http://h:1")
    other_api.load("v1")
    assert other_api.watermark is None  # a 2.x server at that URL now: start cold


def test_corrupt_or_foreign_files_are_a_cold_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = TaskCache(tmp_path, name="af", url="http://h:1")
    cache.path.parent.mkdir(parents=True, exist_ok=True)
    for text in ("{not json", '{"format": 1, "identity": "someone else"}', '{"format": 1, "dags": 3}'):
        cache.path.write_text(text)
        fresh = TaskCache(tmp_path, name="af", url="http://h:1")
        fresh.load("v2")
        assert fresh.watermark is None and fresh.get("d1", "x") is None
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_dir() == tmp_path / "xdg" / "lockgate" / "airflow"
