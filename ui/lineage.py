"""Lineage views: the neighbourhood of a focus asset, the Marquez-shaped graph for the API, and
the drawing the lineage explorer renders (layout from :mod:`lockgate.ui.layout`)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lockgate.federation.errors import UnknownAssetError
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey
from lockgate.federation.status import AssetState, AssetStatus
from lockgate.ui.layout import NODE_H, NODE_W, Layout, layered_layout

STATUS_COLOURS = {
    AssetStatus.MATERIALIZED: "#1a7f37",
    AssetStatus.FAILED: "#cf222e",
    AssetStatus.IN_PROGRESS: "#0969da",
    AssetStatus.MISSING: "#8c959f",
    AssetStatus.OBSERVED: "#1b7c83",
    AssetStatus.REMOVED: "#57606a",
}
_PALETTE = ("#ddf4ff", "#fff8c5", "#fbefff", "#dafbe1", "#ffebe9", "#fff1e5", "#eaeef2", "#e7f5ff")
_KNOWN = {"dbt": 5, "airflow": 1, "fivetran": 0, "airbyte": 2, "looker": 3, "tableau": 4, "superset": 7}


def system_colour(system: str) -> str:
    """A stable fill colour per system (well-known systems get fixed ones)."""
    if system in _KNOWN:
        return _PALETTE[_KNOWN[system]]
    digest = hashlib.sha256(system.encode()).digest()
    return _PALETTE[digest[0] % len(_PALETTE)]


def neighbourhood_ids(graph: AssetGraph, focus: AssetKey, depth: int) -> set[int]:
    """The ids of ``focus`` and everything up to ``depth`` levels up- and downstream of it."""
    if focus not in graph:
        raise UnknownAssetError(
            f"no asset has the key {str(focus)!r}",
            where="nodeId",
            fix="use a key from GET /api/v1/assets, e.g. asset:shop/orders",
        )
    return graph.neighbourhood_ids(graph.id_of(focus), depth)


def neighbourhood(graph: AssetGraph, focus: AssetKey, depth: int) -> set[AssetKey]:
    """``focus`` and everything up to ``depth`` levels up- and downstream of it."""
    key_of = graph.key_of
    return {key_of(i) for i in neighbourhood_ids(graph, focus, depth)}


def edges_within(graph: AssetGraph, keys: Iterable[AssetKey]) -> list[tuple[AssetKey, AssetKey]]:
    wanted = set(keys)
    return [(p, k) for k in wanted for p in graph.parents(k) if p in wanted]


def node_id(key: AssetKey) -> str:
    return f"asset:{key}"


def marquez_graph(
    graph: AssetGraph, keys: Iterable[AssetKey], states: Mapping[AssetKey, AssetState]
) -> dict[str, Any]:
    """``{"graph": [{id, type, data, inEdges, outEdges}]}`` as Marquez's lineage endpoint returns."""
    return marquez_graph_ids(graph, {graph.id_of(k) for k in keys}, states)


def marquez_graph_ids(
    graph: AssetGraph, ids: set[int], states: Mapping[AssetKey, AssetState]
) -> dict[str, Any]:
    """:func:`marquez_graph` over graph ids: nodes in key order, edges within ``ids`` in key order
    (ids, rendered keys and specs come from the graph's arrays; no key sets per node)."""
    key_of = graph.key_of
    order = sorted(ids, key=lambda i: key_of(i).path)
    rank = {i: n for n, i in enumerate(order)}
    names = {i: "asset:" + graph.rendered_of(i) for i in order}
    missing = AssetStatus.MISSING.value
    nodes = []
    for i in order:
        key = key_of(i)
        spec = graph.spec_of(i)
        state = states.get(key)
        me = names[i]
        ins = sorted((p for p in graph.parent_ids(i) if p in rank), key=rank.__getitem__)
        outs = sorted((c for c in graph.child_ids(i) if c in rank), key=rank.__getitem__)
        dataset = spec.dataset
        nodes.append(
            {
                "id": me,
                "type": "DATASET",
                "data": {
                    "key": me[6:],
                    "name": dataset.name if dataset else me[6:],
                    "namespace": dataset.namespace if dataset else f"lockgate://{spec.origin.adapter}",
                    "system": spec.system,
                    "origin": str(spec.origin),
                    "group": spec.group,
                    "description": spec.description,
                    "status": state.status.value if state else missing,
                },
                "inEdges": [{"origin": names[p], "destination": me} for p in ins],
                "outEdges": [{"origin": me, "destination": names[c]} for c in outs],
            }
        )
    return {"graph": nodes}


@dataclass(frozen=True, slots=True, kw_only=True)
class DrawnNode:
    key: AssetKey
    label: str
    x: int
    y: int
    fill: str
    stroke: str
    status: str
    system: str
    focus: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Drawing:
    nodes: tuple[DrawnNode, ...]
    paths: tuple[str, ...]
    width: int
    height: int
    node_w: int = NODE_W
    node_h: int = NODE_H


def draw(
    graph: AssetGraph,
    keys: Iterable[AssetKey],
    states: Mapping[AssetKey, AssetState],
    focus: AssetKey | None = None,
) -> Drawing:
    wanted = set(keys)
    by_id = {str(k): k for k in wanted}
    layout: Layout = layered_layout(list(by_id), [(str(s), str(t)) for s, t in edges_within(graph, wanted)])
    nodes = []
    for placed in layout.nodes:
        key = by_id[placed.id]
        spec = graph.get(key)
        state = states.get(key)
        status = state.status if state else AssetStatus.MISSING
        label = key.name if len(key.name) <= 26 else key.name[:25] + "…"
        nodes.append(
            DrawnNode(
                key=key,
                label=label,
                x=placed.x,
                y=placed.y,
                fill=system_colour(spec.system),
                stroke=STATUS_COLOURS.get(status, "#57606a"),
                status=status.value,
                system=spec.system,
                focus=key == focus,
            )
        )
    return Drawing(
        nodes=tuple(nodes),
        paths=tuple(r.path for r in layout.edges),
        width=layout.width,
        height=layout.height,
    )
