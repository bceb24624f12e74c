"""Partition health for the asset page and the API, from the stored status ranges.

The store keeps partition status as ranges (``Store.partition_ranges``: one indexed read however
many partitions); the definition (from :func:`lockgate.federation.automation.assemble.assemble`)
numbers the keys. The bar is drawn as one element per *range*, positioned in percent, so an asset
with 40k partitions and a few gaps is a handful of elements, never 40k.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey
from lockgate.federation.partitions.definitions import PartitionsDefinition, partition_keys
from lockgate.federation.partitions.ranges import Ranges

if TYPE_CHECKING:
    from lockgate.federation.store import Store
    from lockgate.federation.workspace import Workspace

STATUSES = ("materialized", "stale", "failed", "in_progress")
"""The stored statuses, lowest precedence first: a partition in several of them (a stale one is
also materialized; a failed re-run keeps the old materialization) shows the last one, so the bar
and the counts give each partition ONE status: in_progress > failed > stale > materialized >
missing (everything else)."""

SHOWN = ("materialized", "stale", "failed", "in_progress", "missing")
"""The statuses of the counts and the legend, in this order."""

Definitions = Callable[[AssetGraph], Mapping[AssetKey, PartitionsDefinition]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Segment:
    status: str
    first: str
    last: str
    count: int | None
    left: float
    width: float
    """Percent of the bar."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionHealth:
    """``total`` and ``counts`` are known when the asset's partitions definition is."""

    total: int | None
    counts: Mapping[str, int] = field(default_factory=dict)
    segments: tuple[Segment, ...] = ()
    asset_stale: bool = False
    """An unpartitioned asset whose upstream was updated after its last materialization."""

    @property
    def partitioned(self) -> bool:
        return self.total is not None or bool(self.segments)

    @property
    def summary(self) -> str:
        """The counts in words (the bar's accessible label): ``"300 materialized, 2 stale, ..."``."""
        if not self.counts:
            return f"{len(self.segments)} partition range(s); the partitions definition is not known"
        return ", ".join(f"{self.counts.get(status, 0)} {status.replace('_', ' ')}" for status in SHOWN)


def health(
    ranges: Mapping[str, Sequence[tuple[str, str]]],
    defn: PartitionsDefinition | None,
    *,
    now: datetime | None = None,
    dynamic: Mapping[str, Sequence[str]] | None = None,
) -> PartitionHealth:
    """Counts per status and bar segments. Without a definition the ranges are laid out in key
    order with equal widths (counts unknown)."""
    if defn is None:
        return _without_definition(ranges)
    numbering = partition_keys(defn, now or datetime.now(UTC), dynamic)
    size = len(numbering)
    keys = numbering.keys
    sets: dict[str, Ranges] = {}
    covered = Ranges()
    for status in reversed(STATUSES):  # highest precedence first: each partition gets one status
        found = Ranges.of(numbering.span_of(lo, hi) for lo, hi in ranges.get(status, ())).clip(size)
        sets[status] = found - covered
        covered = covered | found
    sets["missing"] = covered.complement(size)
    counts = {status: len(sets[status]) for status in SHOWN}
    segments: list[Segment] = []
    for status in SHOWN:
        for lo, hi in sets[status].spans:
            segments.append(
                Segment(
                    status=status,
                    first=keys[lo],
                    last=keys[hi - 1],
                    count=hi - lo,
                    left=100.0 * lo / size,
                    width=max(100.0 * (hi - lo) / size, 0.15),
                )
            )
    return PartitionHealth(total=size, counts=counts, segments=tuple(segments))


def _without_definition(ranges: Mapping[str, Sequence[tuple[str, str]]]) -> PartitionHealth:
    spans = sorted((lo, hi, status) for status in STATUSES for lo, hi in ranges.get(status, ()))
    if not spans:
        return PartitionHealth(total=None)
    width = 100.0 / len(spans)
    segments = tuple(
        Segment(status=status, first=lo, last=hi, count=None, left=i * width, width=width)
        for i, (lo, hi, status) in enumerate(spans)
    )
    return PartitionHealth(total=None, segments=segments)


class PartitionIndex:
    """The partitions definitions of a graph, computed once per graph (snapshot)."""

    def __init__(self, definitions: Definitions | None) -> None:
        self._definitions = definitions
        self._lock = threading.Lock()
        self._graph: AssetGraph | None = None
        self._found: Mapping[AssetKey, PartitionsDefinition] = {}

    def of(self, graph: AssetGraph) -> Mapping[AssetKey, PartitionsDefinition]:
        if self._definitions is None:
            return {}
        with self._lock:
            if self._graph is not graph:
                self._found = dict(self._definitions(graph))
                self._graph = graph
            return self._found


def definitions_for(workspace: Workspace | None, store: Store) -> Definitions:
    """Partitions definitions the way ``lockgate backfill`` and the daemon assemble them: the
    workspace's ``automation:`` rules, dbt ``meta.lockgate.partitions`` and Airflow schedules."""
    from lockgate.federation.automation.assemble import assemble
    from lockgate.federation.automation.config import AutomationConfig, parse_automation
    from lockgate.federation.automation.daemon import first_partition

    def definitions(graph: AssetGraph) -> Mapping[AssetKey, PartitionsDefinition]:
        config = (
            parse_automation(dict(workspace.automation), path=workspace.path)
            if workspace is not None
            else AutomationConfig()
        )
        return assemble(graph, config, first_partition=first_partition(store)).partitions

    return definitions
