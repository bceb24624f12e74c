"""``lockgate sync`` and ``lockgate materialize`` keep the stored partition status (stale included)
without any automation tick, through the in-test adapter (tests/e2e_automation/fake_adapter.py)
extended here to observe materializations at sync."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from lockgate.federation.adapter import Adapter, ObserveResult
from lockgate.federation.events import Materialization
from lockgate.federation.keys import AssetKey
from lockgate.federation.store import Store
from lockgate.federation.workspace import load_workspace
from tests.e2e_automation.fake_adapter import load_fake

Run = Callable[..., Any]
RAW, CLEAN = AssetKey.of("raw"), AssetKey.of("clean")

WORKSPACE = """\
adapters:
  - name: lake
    type: fake
    assets:
      raw: []
      clean: [raw]
    observed:
      - [raw, "2020-01-01"]
      - [raw, "2020-01-02"]
      - [clean, "2020-01-01"]
      - [clean, "2020-01-02"]
      - [raw, "2020-01-02"]
automation:
  sync: false
  rules:
    - select: "raw or clean"
      partitions: {partitions}
"""
GOOD = '{type: daily, start: "2020-01-01", end: "2020-01-11"}'


@pytest.fixture
def observing(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """``type: fake`` whose first observe reports the workspace's ``observed:`` materializations."""
    import lockgate.federation.workspace as workspace
    from lockgate.federation.registry import get_plugin as real

    fake = load_fake()

    class Observing(fake.FakeAdapter):  # type: ignore[name-defined,misc]
        observed: tuple[tuple[str, str], ...] = ()

        def observe(self, cursor: str | None) -> ObserveResult:
            if cursor is not None:
                return ObserveResult(events=(), cursor=cursor)
            events = tuple(
                Materialization(
                    event_id=f"seen-{n}",
                    adapter=self.name,
                    timestamp=datetime(2021, 1, 1, n, tzinfo=UTC),
                    asset_key=AssetKey.parse(key),
                    partition=part,
                )
                for n, (key, part) in enumerate(self.observed)
            )
            return ObserveResult(events=events, cursor="observed")

    class Plugin(fake.FakePlugin):  # type: ignore[name-defined,misc]
        def load_config(self, raw: Mapping[str, Any], **kwargs: Any) -> Any:
            config = super().load_config(raw, **kwargs)
            return (config, tuple((str(k), str(p)) for k, p in raw.get("observed") or ()))

        def create(self, config: Any) -> Adapter:
            adapter = Observing(config[0])
            adapter.observed = config[1]
            return adapter

    def get_plugin(kind: str, *, where: str = "workspace") -> Any:
        return Plugin() if kind == fake.KIND else real(kind, where=where)

    monkeypatch.setattr(workspace, "get_plugin", get_plugin)
    return fake


def _stored(where: Path) -> dict[AssetKey, dict[str, list[tuple[str, str]]]]:
    with Store.open(load_workspace(where / "lockgate.yaml").store_url) as store:
        found = store.partition_ranges([RAW, CLEAN])
    return {k: {s: v for s, v in by.items() if s != "definition"} for k, by in found.items()}


def test_sync_and_materialize_keep_partition_status(run: Run, tmp_path: Path, observing: ModuleType) -> None:
    (tmp_path / "lockgate.yaml").write_text(WORKSPACE.format(partitions=GOOD), encoding="utf-8")
    synced = run("sync", cwd=tmp_path)
    assert synced.code == 0, synced.out + synced.err
    assert "partition status: 2 asset(s) updated" in synced.out
    assert _stored(tmp_path) == {
        RAW: {"materialized": [("2020-01-01", "2020-01-02")]},
        CLEAN: {"materialized": [("2020-01-01", "2020-01-02")], "stale": [("2020-01-02", "2020-01-02")]},
    }
    listed = run("assets", "--json", cwd=tmp_path)
    assert {row["key"]: row["stale"] for row in map(json.loads, listed.out.splitlines())} == {
        str(RAW): False,
        str(CLEAN): True,
    }
    assert "(stale)" in run("assets", cwd=tmp_path).out
    built = run("materialize", "clean", "--partition", "2020-01-02", cwd=tmp_path)
    assert built.code == 0, built.out + built.err
    assert _stored(tmp_path)[CLEAN] == {"materialized": [("2020-01-01", "2020-01-02")]}
    assert "(stale)" not in run("assets", cwd=tmp_path).out
    again = run("sync", cwd=tmp_path)
    assert again.code == 0 and "partition status" not in again.out  # nothing new to fold


def test_a_bad_partitions_rule_fails_the_sync_with_a_clear_error(
    run: Run, tmp_path: Path, observing: ModuleType
) -> None:
    (tmp_path / "lockgate.yaml").write_text(WORKSPACE.format(partitions="{type: daily}"), encoding="utf-8")
    synced = run("sync", cwd=tmp_path)
    assert synced.code == 1
    assert "error: partition status not refreshed" in synced.err
    assert "start" in synced.err
    with Store.open(load_workspace(tmp_path / "lockgate.yaml").store_url) as store:
        assert store.max_event_id() == 5  # the sync itself is recorded
        assert store.partition_status_cursor() is None


MAPPED = """\
    - select: "clean"
      partition_mappings: {{raw: {mapping}}}
"""


def test_a_declared_partition_mapping_decides_which_partitions_go_stale(
    run: Run, tmp_path: Path, observing: ModuleType
) -> None:
    """clean's day D reads raw's days D and D+1, so rebuilding raw's 2020-01-02 leaves both of
    clean's days stale (the default mapping would leave only 2020-01-02)."""
    workspace = WORKSPACE.format(partitions=GOOD) + MAPPED.format(
        mapping="{type: time_window, end_offset: 1}"
    )
    (tmp_path / "lockgate.yaml").write_text(workspace, encoding="utf-8")
    synced = run("sync", cwd=tmp_path)
    assert synced.code == 0, synced.out + synced.err
    assert _stored(tmp_path)[CLEAN] == {
        "materialized": [("2020-01-01", "2020-01-02")],
        "stale": [("2020-01-01", "2020-01-02")],
    }


def test_a_bad_partition_mapping_names_the_line_and_the_fix(
    run: Run, tmp_path: Path, observing: ModuleType
) -> None:
    workspace = WORKSPACE.format(partitions=GOOD) + MAPPED.format(mapping="{type: sideways}")
    (tmp_path / "lockgate.yaml").write_text(workspace, encoding="utf-8")
    synced = run("sync", cwd=tmp_path)
    assert synced.code == 1 and "Traceback" not in synced.err
    assert "unknown partition mapping type 'sideways'" in synced.err
    assert "lockgate.yaml:19:" in synced.err and "time_window" in synced.err  # where, and the fix
    with Store.open(load_workspace(tmp_path / "lockgate.yaml").store_url) as store:
        assert store.partition_status_cursor() is None
