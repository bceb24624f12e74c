"""Which downstream partitions an update reaches: each asset's children with the partition mapping
of each edge, resolved lazily (only for the assets that change) and kept.

A materialization of partition ``q`` of ``U`` reaches, in each child ``D``, the partitions that
depend on ``q`` through the ``(U, D)`` mapping (:func:`~lockgate.federation.partitions.mappings.
downstream_of`); those of them already materialized become *stale*. An unpartitioned side is the
single partition 0, so an update of an unpartitioned upstream reaches every partition of ``D``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from lockgate.federation.errors import ConfigError
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey
from lockgate.federation.partitions.definitions import PartitionKeys, PartitionsDefinition
from lockgate.federation.partitions.mappings import PartitionMapping, downstream_of, resolve_mapping
from lockgate.federation.partitions.ranges import Ranges

Edge = tuple[AssetKey, PartitionMapping]


class Dependents:
    """The children of each asset of ``graph`` with their resolved partition mappings.

    A dependency whose partitions do not match (no default mapping and none declared) is left out
    of staleness and reported once in :attr:`warnings`; the evaluator refuses such a graph at load
    time, so the daemon never gets here with one.
    """

    def __init__(
        self,
        graph: AssetGraph,
        partitions: Mapping[AssetKey, PartitionsDefinition],
        mappings: Mapping[tuple[AssetKey, AssetKey], PartitionMapping] | None = None,
    ) -> None:
        self.graph = graph
        self.partitions = partitions
        self.declared = mappings or {}
        self.warnings: list[str] = []
        self._children: dict[AssetKey, tuple[Edge, ...]] = {}

    def of(self, key: AssetKey) -> tuple[Edge, ...]:
        """``(child, mapping)`` for every child of ``key`` (none for a key not in the graph)."""
        found = self._children.get(key)
        if found is not None:
            return found
        edges: list[Edge] = []
        if key in self.graph:
            up = self.partitions.get(key)
            for child in sorted(self.graph.children(key)):
                try:
                    mapping = resolve_mapping(
                        up,
                        self.partitions.get(child),
                        self.declared.get((key, child)),
                        where=f"dependency {key} -> {child}",
                    )
                except ConfigError as err:
                    self.warnings.append(f"{err.render()} Until then staleness is not tracked across it.")
                    continue
                edges.append((child, mapping))
        found = self._children[key] = tuple(edges)
        return found

    def reached(
        self, key: AssetKey, subset: Ranges, keys: Mapping[AssetKey, PartitionKeys]
    ) -> Iterator[tuple[AssetKey, Ranges]]:
        """``(child, partitions of the child that depend on subset)`` for each child reached."""
        if not subset:
            return
        parts = self.partitions
        for child, mapping in self.of(key):
            mapped = downstream_of(
                mapping, parts.get(key), keys.get(key), parts.get(child), keys.get(child), subset
            )
            if mapped:
                yield child, mapped
