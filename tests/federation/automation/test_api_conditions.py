"""Conditions attached through the API: precedence over the workspace and dbt meta, the source
``explain`` shows, and a daemon that picks a new one up on its next tick without a restart."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lockgate.federation.automation.assemble import assemble
from lockgate.federation.automation.config import AutomationConfig, parse_automation
from lockgate.federation.automation.daemon import Daemon
from lockgate.federation.errors import ConfigError
from lockgate.federation.events import Materialization
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey
from lockgate.federation.partitions.mappings import TimeWindowMapping
from lockgate.federation.specs import AssetSpec, Origin
from lockgate.federation.store.store import Store
from tests.federation.automation.test_backfill import LakeAdapter

A, B, C = (AssetKey.of("lake", n) for n in "abc")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _spec(key: AssetKey, *deps: AssetKey, meta: str | None = None) -> AssetSpec:
    metadata: dict[str, object] = {"lockgate": {"automation": meta}} if meta else {}
    origin = Origin(system="lake", adapter="lake", external_id=str(key))
    return AssetSpec(key=key, origin=origin, deps=deps, metadata=metadata)  # type: ignore[arg-type]


GRAPH = AssetGraph.build([_spec(A), _spec(B, A, meta="on_missing()"), _spec(C, A, meta="on_missing()")])
CONFIG = parse_automation([{"select": "lake/c", "condition": "eager()"}], path=Path("lockgate.yaml"))


def test_api_beats_workspace_beats_dbt_meta() -> None:
    base = assemble(GRAPH, CONFIG)
    assert (str(base.conditions[B]), base.kinds[B]) == ("on_missing()", "dbt_meta")
    assert (str(base.conditions[C]), base.kinds[C], base.sources[C]) == (
        "eager()",
        "workspace",
        "lockgate.yaml: automation[0]",
    )
    attached = {B: 'on_cron("0 6 * * *", "Europe/Berlin")', C: "on_missing()", A: "eager()"}
    found = assemble(GRAPH, CONFIG, api_conditions=attached)
    for key, text in attached.items():
        assert str(found.conditions[key]) == text and found.kinds[key] == "api"
        assert found.sources[key] == f"API (PUT /api/v1/assets/{key}/automation)"
    assert found.warnings == ()


def test_an_api_condition_of_an_unknown_asset_warns_and_a_bad_one_names_the_asset() -> None:
    found = assemble(GRAPH, AutomationConfig(), api_conditions={AssetKey.of("gone"): "eager()"})
    assert AssetKey.of("gone") not in found.conditions
    assert found.warnings == ("the condition attached to gone through the API names no asset of the graph",)
    with pytest.raises(ConfigError) as err:
        assemble(GRAPH, AutomationConfig(), api_conditions={A: "eager("})
    assert "lake/a: condition attached through the API" in str(err.value)
    assert "PUT /api/v1/assets/lake/a/automation" in str(err.value)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    yield opened
    opened.close()


def _materialize(store: Store, key: AssetKey, n: int, at: datetime) -> None:
    store.record_events([Materialization(event_id=f"m{n}", adapter="lake", timestamp=at, asset_key=key)])


def test_an_api_attached_eager_condition_causes_a_request_without_a_restart(store: Store) -> None:
    graph = AssetGraph.build([_spec(A), _spec(B, A)])
    lake = LakeAdapter()
    daemon = Daemon(
        store=store, graph_of=lambda: graph, config=AutomationConfig(), adapters={"lake": lake}, holder="d1"
    )
    _materialize(store, A, 1, T0)
    _materialize(store, B, 2, T0)
    assert daemon.tick(T0 + timedelta(minutes=1)).requests == ()
    _materialize(store, A, 3, T0 + timedelta(minutes=2))
    assert daemon.tick(T0 + timedelta(minutes=3)).requests == ()  # B has no condition yet
    first = daemon.automation
    store.set_api_condition(B, "eager()", now=T0)
    _materialize(store, A, 4, T0 + timedelta(minutes=4))
    result = daemon.tick(T0 + timedelta(minutes=5))
    assert daemon.automation is not first  # rebuilt: the condition changed
    assert [r.assets for r in result.requests] == [(B,)]
    assert daemon.assembled.kinds[B] == "api"
    assert lake.launched == [(None, (B,))]
    store.delete_api_condition(B)
    _materialize(store, A, 5, T0 + timedelta(minutes=6))
    assert daemon.tick(T0 + timedelta(minutes=7)).requests == ()


def test_the_daemon_evaluates_with_the_declared_partition_mappings(store: Store) -> None:
    graph = AssetGraph.build([_spec(A), _spec(B, A)])
    rules = [
        {"select": "lake/a or lake/b", "partitions": {"daily": "2026-01-01"}},
        {"select": "lake/b", "partition_mappings": {"lake/a": {"type": "time_window", "end_offset": 1}}},
    ]
    daemon = Daemon(
        store=store, graph_of=lambda: graph, config=parse_automation(rules), adapters={"lake": LakeAdapter()}
    )
    automation = daemon.prepare(graph)
    evaluator = automation.evaluator
    assert evaluator.parents[graph.id_of(B)] == [(graph.id_of(A), TimeWindowMapping(end_offset=1))]
    assert automation.dependents.of(A) == ((B, TimeWindowMapping(end_offset=1)),)
    daemon.config = parse_automation(rules[:1])  # the mapping removed: rebuilt with the default
    assert daemon.prepare(graph).evaluator.parents[graph.id_of(B)] == [(graph.id_of(A), TimeWindowMapping())]
