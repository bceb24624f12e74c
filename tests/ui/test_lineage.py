"""The lineage views over graph ids: the neighbourhood and the Marquez-shaped document agree
with a walk over keys, edges stay inside the neighbourhood, and nodes and edges come in key
order (tuple order of the key's parts, not of the rendered string)."""

from __future__ import annotations

import pytest

from lockgate.federation.errors import UnknownAssetError
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey
from lockgate.federation.specs import AssetSpec, Origin
from lockgate.federation.status import AssetState, AssetStatus
from lockgate.ui.lineage import marquez_graph, marquez_graph_ids, neighbourhood, neighbourhood_ids


def spec(key: AssetKey, *deps: AssetKey) -> AssetSpec:
    return AssetSpec(key=key, origin=Origin(system="dbt", adapter="a", external_id=str(key)), deps=deps)


# "a-c" sorts before "a/b" as a string but after ("a", "b") as a tuple of parts
ROOT, AB, AC, MID, LEAF, FAR = (
    AssetKey.of("root"),
    AssetKey.of("a", "b"),
    AssetKey.of("a-c"),
    AssetKey.of("mid"),
    AssetKey.of("leaf"),
    AssetKey.of("far"),
)
GRAPH = AssetGraph.build(
    [spec(ROOT), spec(AB, ROOT), spec(AC, ROOT), spec(MID, AB, AC), spec(LEAF, MID), spec(FAR, LEAF)]
)


def test_neighbourhood_ids_walk_both_ways_to_the_depth() -> None:
    ids = neighbourhood_ids(GRAPH, MID, 1)
    assert {GRAPH.key_of(i) for i in ids} == {MID, AB, AC, LEAF}
    assert neighbourhood(GRAPH, MID, 1) == {MID, AB, AC, LEAF}
    assert neighbourhood(GRAPH, MID, 0) == {MID}
    assert neighbourhood(GRAPH, MID, 3) == set(GRAPH)


def test_neighbourhood_of_an_unknown_asset_is_an_error() -> None:
    with pytest.raises(UnknownAssetError, match="nope"):
        neighbourhood_ids(GRAPH, AssetKey.of("nope"), 2)


def test_marquez_document_keeps_key_order_and_inner_edges() -> None:
    states = {MID: AssetState(key=MID, status=AssetStatus.FAILED)}
    doc = marquez_graph_ids(GRAPH, neighbourhood_ids(GRAPH, MID, 1), states)
    ids = [node["id"] for node in doc["graph"]]
    assert ids == ["asset:a/b", "asset:a-c", "asset:leaf", "asset:mid"]  # tuple order, not string order
    mid = doc["graph"][3]
    assert [e["origin"] for e in mid["inEdges"]] == ["asset:a/b", "asset:a-c"]
    assert mid["outEdges"] == [{"origin": "asset:mid", "destination": "asset:leaf"}]
    assert mid["data"]["status"] == "failed" and mid["data"]["key"] == "mid"
    leaf = doc["graph"][2]
    assert leaf["outEdges"] == []  # FAR is outside the neighbourhood
    assert leaf["data"]["status"] == "missing" and leaf["data"]["namespace"] == "lockgate://a"
    assert doc == marquez_graph(GRAPH, neighbourhood(GRAPH, MID, 1), states)


def test_graph_id_accessors() -> None:
    i = GRAPH.id_of(MID)
    assert GRAPH.rendered_of(i) == "mid" and GRAPH.spec_of(i).key == MID
    assert {GRAPH.key_of(p) for p in GRAPH.parent_ids(i)} == {AB, AC}
    assert [GRAPH.key_of(c) for c in GRAPH.child_ids(i)] == [LEAF]
    assert GRAPH.neighbourhood_ids(i, None) == GRAPH.all_ids()
