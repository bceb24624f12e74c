"""Mapping selections: the pure expansion against a graph, and sync resolving them for an adapter
that is listed before the adapter owning the selected assets."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lockgate.federation.adapter import Discovery, EventSink, ObserveResult, RunHandle, RunRequest
from lockgate.federation.errors import ConfigError
from lockgate.federation.events import Materialization
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey, DatasetRef
from lockgate.federation.mappings import (
    YIELDS_DATASET,
    SelectionMapped,
    check_selection,
    expand_mappings,
    graph_without,
    is_selection,
    resolve_for_adapter,
    yield_shared_datasets,
)
from lockgate.federation.specs import AssetSpec, Origin
from lockgate.federation.store import Store
from lockgate.federation.sync import sync_all
from lockgate.federation.workspace import AdapterEntry, Workspace

K = AssetKey.parse
NOW = datetime(2024, 5, 1, tzinfo=UTC)


def spec(adapter: str, key: str, *deps: str, tags: tuple[str, ...] = ()) -> AssetSpec:
    return AssetSpec(
        key=K(key),
        origin=Origin(system=adapter, adapter=adapter, external_id=key),
        deps=tuple(K(d) for d in deps),
        tags=tags,
    )


DBT = (
    spec("dbt", "shop/raw"),
    spec("dbt", "shop/orders", "shop/raw", tags=("finance",)),
    spec("dbt", "shop/revenue", "shop/orders", tags=("finance",)),
    spec("dbt", "shop/customers", "shop/raw"),
)


def test_is_selection_tells_keys_from_expressions() -> None:
    assert not is_selection("shop/orders") and not is_selection("orders")
    for text in ("tag:finance", "+orders", "orders+2", "shop/*", "(a or b)", "not tag:x", "a and b"):
        assert is_selection(text), text


def test_a_bad_selection_is_a_config_error_naming_where() -> None:
    assert check_selection("tag:finance", where="w") == "tag:finance"
    with pytest.raises(ConfigError) as err:
        check_selection("tag:finance and (", where="lockgate.yaml: adapters[0].mappings.d.t")
    assert "mappings.d.t" in str(err.value) and "tag:finance" in str(err.value)


def test_expand_resolves_tags_and_lineage_as_the_union_per_target() -> None:
    graph = AssetGraph.build(DBT)
    resolved = expand_mappings(
        {"dag.load": ["tag:finance"], "dag.all": ["+orders", "customers"], "dag": ["tag:nothing"]},
        graph,
        adapter="af",
    )
    assert resolved.keys["dag.load"] == (K("shop/orders"), K("shop/revenue"))
    assert resolved.keys["dag.all"] == (K("shop/customers"), K("shop/orders"), K("shop/raw"))
    assert resolved.keys["dag"] == ()
    assert len(resolved.warnings) == 1 and "adapter af: mappings.dag: 'tag:nothing'" in resolved.warnings[0]


def test_an_unknown_name_is_a_warning_not_an_error() -> None:
    resolved = expand_mappings({"d.t": ["+no_such_asset"]}, AssetGraph.build(DBT))
    assert resolved.keys == {"d.t": ()} and "cannot be resolved" in resolved.warnings[0]


def test_the_adapters_own_assets_are_left_out_of_the_graph() -> None:
    mine = spec("af", "af/dag", tags=("finance",))
    graph, problem = graph_without((*DBT, mine), "af")
    assert problem is None and graph is not None
    assert K("af/dag") not in graph and K("shop/orders") in graph
    cyclic = (spec("x", "a", "b"), spec("x", "b", "a"))
    graph, problem = graph_without(cyclic, "af")
    assert graph is None and problem and "cycle" in problem.lower()


@dataclass
class Fake:
    name: str
    specs: tuple[AssetSpec, ...]
    selections: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    resolved: Mapping[str, tuple[AssetKey, ...]] | None = None

    def discover(self) -> Discovery:
        return Discovery(assets=self.specs)

    def observe(self, cursor: str | None) -> ObserveResult:
        keys = [k for keys in (self.resolved or {}).values() for k in keys]
        events = tuple(
            Materialization(event_id=f"{self.name}:{k}", adapter=self.name, timestamp=NOW, asset_key=k)
            for k in keys
        )
        return ObserveResult(events=events, cursor="1")

    def launch(self, request: RunRequest, sink: EventSink) -> RunHandle:
        raise NotImplementedError

    def poll(self, handle: RunHandle, sink: EventSink) -> RunHandle:
        raise NotImplementedError

    def close(self) -> None:
        pass


class MappedFake(Fake):
    def mapping_selections(self) -> Mapping[str, tuple[str, ...]]:
        return self.selections

    def resolve_mappings(self, resolved: Mapping[str, tuple[AssetKey, ...]]) -> None:
        self.resolved = resolved


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path}/s.db")
    yield opened
    opened.close()


def test_sync_resolves_selections_after_the_other_adapters_even_when_listed_first(
    tmp_path: Path, store: Store
) -> None:
    af = MappedFake("af", (spec("af", "af/dag"),), selections={"dag.load": ("tag:finance",)})
    dbt = Fake("dbt", DBT)
    assert isinstance(af, SelectionMapped) and not isinstance(dbt, SelectionMapped)
    entries = tuple(AdapterEntry(name=n, kind="fake", config=None, where=n) for n in ("af", "dbt"))
    ws = Workspace(path=tmp_path / "lockgate.yaml", store_url=f"sqlite:///{tmp_path}/s.db", adapters=entries)
    summary = sync_all(ws, store, {"af": af, "dbt": dbt})
    assert [r.adapter for r in summary.results] == ["af", "dbt"]  # workspace order kept
    assert summary.ok and summary.results[0].warnings == ()
    assert af.resolved == {"dag.load": (K("shop/orders"), K("shop/revenue"))}
    events = [e for _, e in store.events(limit=100) if e.adapter == "af"]
    assert sorted(str(e.asset_key) for e in events) == ["shop/orders", "shop/revenue"]
    assert resolve_for_adapter(store, "af", {}).keys == {}


def test_an_asset_that_yields_its_dataset_turns_external_only_when_another_adapter_builds_it() -> None:
    table = DatasetRef(namespace="duckdb:///w/shop.duckdb", name="shop.main.fct_orders")
    other = DatasetRef(namespace="duckdb:///w/shop.duckdb", name="shop.main.other")
    dbt_model = replace(spec("dbt", "shop/orders"), dataset=table)
    ref = replace(spec("af", "af/assets/orders"), dataset=table, metadata={YIELDS_DATASET: True})
    lone = replace(spec("af", "af/assets/other"), dataset=other, metadata={YIELDS_DATASET: True})
    plain = replace(spec("af", "af/assets/plain"), dataset=table)  # not flagged: left alone
    specs, changed = yield_shared_datasets((ref, lone, plain), [dbt_model])
    assert changed == 1
    assert specs[0].external and specs[0].metadata["dataset_produced_by"] == "shop/orders"
    assert not specs[1].external and not specs[2].external
    graph = AssetGraph.build((dbt_model, specs[0]))
    assert graph.stitched == ((K("shop/orders"), K("af/assets/orders")),) and graph.warnings == ()
    assert yield_shared_datasets((plain,), [dbt_model]) == ((plain,), 0)
