"""A layered (Sugiyama-style) layout for the lineage explorer, computed on the server.

Layers come from the longest path from a source inside the shown subgraph; the order within a
layer is improved by a few barycentre sweeps; coordinates are on a fixed grid. Deterministic
for the same input, so screenshots and tests are stable. Linear in nodes + edges per sweep.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

NODE_W = 190
NODE_H = 26
COL_GAP = 80
ROW_GAP = 10
PAD = 16
SWEEPS = 4


@dataclass(frozen=True, slots=True, kw_only=True)
class Placed:
    id: str
    x: int
    y: int
    layer: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    source: str
    target: str
    path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Layout:
    nodes: tuple[Placed, ...]
    edges: tuple[Route, ...]
    width: int
    height: int


def layered_layout(nodes: Sequence[str], edges: Iterable[tuple[str, str]]) -> Layout:
    """Place ``nodes`` (ids) left to right along ``edges`` (source, target); edges whose ends are
    not both in ``nodes`` are dropped. The graph must be acyclic (the asset graph is)."""
    ids = sorted(set(nodes))
    present = set(ids)
    kept = sorted({(s, t) for s, t in edges if s in present and t in present and s != t})
    parents: dict[str, list[str]] = {n: [] for n in ids}
    children: dict[str, list[str]] = {n: [] for n in ids}
    for s, t in kept:
        parents[t].append(s)
        children[s].append(t)
    layer = _layers(ids, parents, children)
    columns: dict[int, list[str]] = {}
    for n in ids:
        columns.setdefault(layer[n], []).append(n)
    order = [columns[i] for i in sorted(columns)]
    _sweep(order, parents, children)
    placed: dict[str, Placed] = {}
    for col, members in enumerate(order):
        for row, n in enumerate(members):
            x = PAD + col * (NODE_W + COL_GAP)
            y = PAD + row * (NODE_H + ROW_GAP)
            placed[n] = Placed(id=n, x=x, y=y, layer=col)
    routes = tuple(_route(placed[s], placed[t]) for s, t in kept)
    tallest = max((len(c) for c in order), default=0)
    width = PAD * 2 + max(len(order), 1) * (NODE_W + COL_GAP) - COL_GAP
    height = PAD * 2 + max(tallest, 1) * (NODE_H + ROW_GAP) - ROW_GAP
    return Layout(nodes=tuple(placed[n] for n in ids), edges=routes, width=width, height=height)


def _layers(ids: list[str], parents: dict[str, list[str]], children: dict[str, list[str]]) -> dict[str, int]:
    indegree = {n: len(parents[n]) for n in ids}
    ready = [n for n in ids if indegree[n] == 0]
    layer = dict.fromkeys(ids, 0)
    seen = 0
    while ready:
        n = ready.pop()
        seen += 1
        for c in children[n]:
            layer[c] = max(layer[c], layer[n] + 1)
            indegree[c] -= 1
            if indegree[c] == 0:
                ready.append(c)
    return layer  # on a cycle (never in a built graph) the remaining nodes keep what they have


def _sweep(order: list[list[str]], parents: dict[str, list[str]], children: dict[str, list[str]]) -> None:
    for i in range(SWEEPS):
        down = i % 2 == 0
        columns = range(1, len(order)) if down else range(len(order) - 2, -1, -1)
        for col in columns:
            ref = order[col - 1] if down else order[col + 1]
            position = {n: p for p, n in enumerate(ref)}
            links = parents if down else children
            rank: dict[str, tuple[float, int]] = {}
            for p, n in enumerate(order[col]):
                near = [position[m] for m in links[n] if m in position]
                rank[n] = (sum(near) / len(near) if near else float(p), p)
            order[col].sort(key=rank.__getitem__)


def _route(s: Placed, t: Placed) -> Route:
    x1, y1 = s.x + NODE_W, s.y + NODE_H // 2
    x2, y2 = t.x, t.y + NODE_H // 2
    bend = max(COL_GAP // 2, (x2 - x1) // 2)
    return Route(source=s.id, target=t.id, path=f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}")
