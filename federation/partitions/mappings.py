"""Partition mappings: which upstream partitions each downstream partition depends on.

The evaluator asks one question of a mapping: given a subset of the upstream partitions (the
ones newly updated, missing, in progress ...), which downstream partitions depend on at least one
of them? :func:`downstream_of` answers it range by range, never partition by partition.

``None`` stands for "not partitioned" (the universe ``[0, 1)``). :func:`resolve_mapping` picks the
default when none is declared and refuses, at load time, a mapping that cannot work.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeAlias

from lockgate.federation.errors import ConfigError
from lockgate.federation.partitions.definitions import (
    DynamicPartitions,
    PartitionKeys,
    PartitionsDefinition,
    StaticPartitions,
    TimeWindowPartitions,
)
from lockgate.federation.partitions.ranges import EMPTY, Ranges


@dataclass(frozen=True, slots=True)
class IdentityMapping:
    """Downstream partition ``k`` depends on upstream partition ``k`` (same key)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeWindowMapping:
    """Downstream window, widened by ``start_offset``/``end_offset`` downstream windows, depends on
    every upstream window that overlaps it (daily over hourly: 24 parents; ``start_offset=-1``:
    yesterday's too)."""

    start_offset: int = 0
    end_offset: int = 0


@dataclass(frozen=True, slots=True)
class AllMapping:
    """Every downstream partition depends on every upstream partition."""


@dataclass(frozen=True, slots=True)
class LastMapping:
    """Every downstream partition depends on the latest upstream partition."""


@dataclass(frozen=True, slots=True)
class StaticMapping:
    """Upstream key -> downstream keys, e.g. ``{"eu-west": ("eu",), "eu-north": ("eu",)}``."""

    pairs: tuple[tuple[str, tuple[str, ...]], ...]

    @classmethod
    def of(cls, mapping: Mapping[str, str | tuple[str, ...] | list[str]]) -> StaticMapping:
        return cls(
            tuple(
                sorted(
                    (up, (down,) if isinstance(down, str) else tuple(down)) for up, down in mapping.items()
                )
            )
        )


PartitionMapping: TypeAlias = IdentityMapping | TimeWindowMapping | AllMapping | LastMapping | StaticMapping


def _describe(defn: PartitionsDefinition | None) -> str:
    if defn is None:
        return "not partitioned"
    if isinstance(defn, TimeWindowPartitions):
        return f"time windows {defn.cron!r} in {defn.timezone}"
    if isinstance(defn, StaticPartitions):
        shown = ", ".join(defn.keys[:5]) + (" ..." if len(defn.keys) > 5 else "")
        return f"static [{shown}]"
    if isinstance(defn, DynamicPartitions):
        return f"dynamic {defn.name!r}"
    return "multi " + " x ".join(name for name, _ in defn.dimensions)


def resolve_mapping(
    up: PartitionsDefinition | None,
    down: PartitionsDefinition | None,
    declared: PartitionMapping | None,
    *,
    where: str,
) -> PartitionMapping:
    """The mapping to use between ``up`` and ``down``: ``declared`` if it fits, else the default.

    Defaults: anything involving an unpartitioned side -> all; two time windows -> time window;
    equal definitions -> identity. Anything else is a :class:`ConfigError` naming both sides.
    """
    fix = (
        "declare a partition mapping for this dependency (identity, time_window, all, last or "
        "static), or give both assets compatible partitions"
    )
    if declared is None:
        if up is None or down is None:
            return AllMapping()
        if isinstance(up, TimeWindowPartitions) and isinstance(down, TimeWindowPartitions):
            return TimeWindowMapping()
        if up == down:
            return IdentityMapping()
        raise ConfigError(
            f"the partitions do not match: upstream is {_describe(up)}, downstream is {_describe(down)}",
            where=where,
            fix=fix,
        )
    bad = None
    if isinstance(declared, TimeWindowMapping) and not (
        isinstance(up, TimeWindowPartitions) and isinstance(down, TimeWindowPartitions)
    ):
        bad = "a time_window mapping needs time-window partitions on both sides"
    elif isinstance(declared, IdentityMapping) and (up is None or down is None):
        bad = "an identity mapping needs partitions on both sides"
    elif isinstance(declared, StaticMapping):
        if up is None or down is None:
            bad = "a static mapping needs partitions on both sides"
        else:
            for side, defn, keys in (
                ("upstream", up, {u for u, _ in declared.pairs}),
                ("downstream", down, {d for _, ds in declared.pairs for d in ds}),
            ):
                if isinstance(defn, StaticPartitions) and not keys <= set(defn.keys):
                    unknown = ", ".join(sorted(keys - set(defn.keys)))
                    bad = f"the static mapping names {side} keys that do not exist: {unknown}"
    elif isinstance(declared, LastMapping) and up is None:
        bad = "a last mapping needs a partitioned upstream"
    if bad:
        raise ConfigError(
            f"{bad} (upstream is {_describe(up)}, downstream is {_describe(down)})", where=where, fix=fix
        )
    return declared


def downstream_of(
    mapping: PartitionMapping,
    up: PartitionsDefinition | None,
    up_keys: PartitionKeys | None,
    down: PartitionsDefinition | None,
    down_keys: PartitionKeys | None,
    subset: Ranges,
) -> Ranges:
    """The downstream partitions that depend on at least one upstream partition in ``subset``."""
    if not subset:
        return EMPTY
    size = 1 if down_keys is None else len(down_keys)
    everything = Ranges.span(0, size)
    if isinstance(mapping, AllMapping) or up is None or down is None:
        return everything
    assert up_keys is not None and down_keys is not None
    if isinstance(mapping, LastMapping):
        last = len(up_keys) - 1
        return everything if last >= 0 and last in subset else EMPTY
    if isinstance(mapping, IdentityMapping):
        if up == down or up_keys.keys is down_keys.keys:
            return subset.clip(size)
        return _by_keys(subset, up_keys, down_keys, lambda k: (k,))
    if isinstance(mapping, StaticMapping):
        table = dict(mapping.pairs)
        return _by_keys(subset, up_keys, down_keys, lambda k: table.get(k, ()))
    assert isinstance(up, TimeWindowPartitions) and isinstance(down, TimeWindowPartitions)
    o1, o2 = mapping.start_offset, mapping.end_offset
    if up == down:
        return Ranges.of((lo - o2, hi - o1) for lo, hi in subset.spans).clip(size)
    up_line, down_line = up.timeline(), down.timeline()
    spans = []
    for lo, hi in subset.spans:
        up_line.ensure(hi + 1)
        t_start, t_end = up_line.stamps[lo], up_line.stamps[hi]
        down_line.extend_to(t_end)
        first = bisect_right(down_line.stamps, t_start) - 1 - o2
        last = bisect_left(down_line.stamps, t_end) - 1 - o1
        spans.append((max(first, 0), last + 1))
    return Ranges.of(spans).clip(size)


def _by_keys(
    subset: Ranges, up_keys: PartitionKeys, down_keys: PartitionKeys, targets: Callable[[str], Iterable[str]]
) -> Ranges:
    hits: set[int] = set()
    for i in subset:
        if i >= len(up_keys):
            break
        for key in targets(up_keys.keys[i]):
            j = down_keys.index_of(key)
            if j is not None:
                hits.add(j)
    return Ranges.from_ints(hits)
