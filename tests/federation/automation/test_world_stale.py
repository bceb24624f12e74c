"""The one fold of partition status (:func:`fold_events`): stale across partition mappings."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from lockgate.federation.automation.world import World, fold_events
from lockgate.federation.events import Event, Materialization, Observation, RunFailed, RunStarted
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey
from lockgate.federation.partitions import (
    PartitionKeys,
    PartitionsDefinition,
    Ranges,
    StaticMapping,
    StaticPartitions,
    daily,
    partition_keys,
    weekly,
)
from lockgate.federation.partitions.dependents import Dependents
from lockgate.federation.partitions.mappings import PartitionMapping
from lockgate.federation.specs import AssetSpec, Origin

NOW = datetime(2024, 2, 1, tzinfo=UTC)
T0 = datetime(2024, 1, 20, tzinfo=UTC)
UP, DOWN, SIDE = AssetKey.of("up"), AssetKey.of("down"), AssetKey.of("side")
DAILY = daily("2024-01-01")


def graph(edges: Mapping[AssetKey, tuple[AssetKey, ...]]) -> AssetGraph:
    keys = set(edges) | {d for deps in edges.values() for d in deps}
    return AssetGraph.build(
        AssetSpec(
            key=key, origin=Origin(system="t", adapter="t", external_id=str(key)), deps=edges.get(key, ())
        )
        for key in sorted(keys)
    )


class Log:
    """Events with increasing timestamps, folded through one world like the daemon and sync do."""

    def __init__(
        self,
        partitions: Mapping[AssetKey, PartitionsDefinition],
        edges: Mapping[AssetKey, tuple[AssetKey, ...]] | None = None,
        mappings: Mapping[tuple[AssetKey, AssetKey], PartitionMapping] | None = None,
    ) -> None:
        self.world = World()
        self.keys: dict[AssetKey, PartitionKeys] = {k: partition_keys(d, NOW) for k, d in partitions.items()}
        self.dependents = Dependents(graph(edges or {DOWN: (UP,)}), partitions, mappings)
        self.n = 0

    def mat(self, key: AssetKey, *parts: str | None) -> list[Event]:
        out: list[Event] = []
        for part in parts or (None,):
            self.n += 1
            out.append(
                Materialization(
                    event_id=f"e{self.n}",
                    adapter="t",
                    timestamp=T0 + timedelta(minutes=self.n),
                    asset_key=key,
                    partition=part,
                )
            )
        return out

    def fold(self, *batches: list[Event]) -> frozenset[AssetKey]:
        events = [e for batch in batches for e in batch]
        return fold_events(self.world, events, self.keys, self.dependents).stale

    def stale(self, key: AssetKey) -> list[str]:
        facts = self.world.facts.get(key)
        numbering = self.keys.get(key)
        if facts is None:
            return []
        return [numbering.keys[i] if numbering else "" for i in facts.stale]


def test_daily_to_daily_identity_marks_the_same_day_stale() -> None:
    log = Log({UP: DAILY, DOWN: DAILY})
    log.fold(log.mat(UP, "2024-01-01", "2024-01-02"), log.mat(DOWN, "2024-01-01", "2024-01-02"))
    assert log.stale(DOWN) == []
    assert log.fold(log.mat(UP, "2024-01-02")) == {DOWN}
    assert log.stale(DOWN) == ["2024-01-02"]
    facts = log.world.facts[DOWN]
    assert (facts.stale & facts.materialized) == facts.stale  # stale is a subset of materialized


def test_only_materialized_partitions_become_stale() -> None:
    log = Log({UP: DAILY, DOWN: DAILY})
    log.fold(log.mat(DOWN, "2024-01-01"))
    assert log.fold(log.mat(UP, "2024-01-01", "2024-01-05")) == {DOWN}
    assert log.stale(DOWN) == ["2024-01-01"]  # 2024-01-05 of down is missing, not stale


def test_a_weekly_upstream_fans_out_to_seven_days() -> None:
    log = Log({UP: weekly("2024-01-01"), DOWN: DAILY})  # default: time window mapping
    log.fold(log.mat(DOWN, *[f"2024-01-{d:02d}" for d in range(1, 20)]))
    log.fold(log.mat(UP, "2024-01-07"))  # the week from Sunday 2024-01-07
    assert log.stale(DOWN) == [f"2024-01-{d:02d}" for d in range(7, 14)]


def test_a_static_mapping_fans_out_to_its_targets() -> None:
    regions = StaticPartitions(keys=("eu", "us"))
    sites = StaticPartitions(keys=("eu-north", "eu-west", "us-east"))
    mapping = StaticMapping.of({"eu": ("eu-north", "eu-west"), "us": "us-east"})
    log = Log({UP: regions, DOWN: sites}, mappings={(UP, DOWN): mapping})
    log.fold(log.mat(DOWN, "eu-north", "eu-west", "us-east"), log.mat(UP, "eu"))
    assert log.stale(DOWN) == ["eu-north", "eu-west"]


def test_an_unpartitioned_upstream_makes_every_materialized_partition_stale() -> None:
    log = Log({DOWN: DAILY})
    log.fold(log.mat(DOWN, "2024-01-01", "2024-01-02", "2024-01-09"))
    assert log.fold(log.mat(UP)) == {DOWN}
    assert log.stale(DOWN) == ["2024-01-01", "2024-01-02", "2024-01-09"]


def test_an_unpartitioned_downstream_is_partition_zero() -> None:
    log = Log({UP: DAILY})
    log.fold(log.mat(DOWN))
    assert log.stale(DOWN) == []
    log.fold(log.mat(UP, "2024-01-03"))
    assert log.stale(DOWN) == [""]
    assert log.world.facts[DOWN].stale == Ranges.span(0, 1)


def test_re_materializing_clears_staleness() -> None:
    log = Log({UP: DAILY, DOWN: DAILY})
    log.fold(log.mat(DOWN, "2024-01-01", "2024-01-02"), log.mat(UP, "2024-01-01", "2024-01-02"))
    assert log.stale(DOWN) == ["2024-01-01", "2024-01-02"]
    log.fold(log.mat(DOWN, "2024-01-02"))
    assert log.stale(DOWN) == ["2024-01-01"]


def test_order_inside_one_batch_decides() -> None:
    upstream_first = Log({UP: DAILY, DOWN: DAILY})
    upstream_first.fold(upstream_first.mat(UP, "2024-01-01"), upstream_first.mat(DOWN, "2024-01-01"))
    assert upstream_first.stale(DOWN) == []
    downstream_first = Log({UP: DAILY, DOWN: DAILY})
    downstream_first.fold(downstream_first.mat(DOWN, "2024-01-01"), downstream_first.mat(UP, "2024-01-01"))
    assert downstream_first.stale(DOWN) == ["2024-01-01"]


def test_an_observation_counts_as_an_update_and_failures_keep_staleness() -> None:
    log = Log({UP: DAILY, DOWN: DAILY})
    log.fold(log.mat(DOWN, "2024-01-04"))
    seen = Observation(event_id="o", adapter="t", timestamp=T0, asset_key=UP, partition="2024-01-04")
    log.fold([seen])
    assert log.stale(DOWN) == ["2024-01-04"]
    started = RunStarted(event_id="s", adapter="t", timestamp=T0, asset_key=DOWN, partition="2024-01-04")
    failed = RunFailed(event_id="f", adapter="t", timestamp=T0, asset_key=DOWN, partition="2024-01-04")
    log.fold([started, failed])
    facts = log.world.facts[DOWN]
    assert log.stale(DOWN) == ["2024-01-04"] and 3 in facts.failed and 3 in facts.materialized


def test_staleness_flows_one_level_per_update() -> None:
    log = Log({UP: DAILY, DOWN: DAILY, SIDE: DAILY}, edges={DOWN: (UP,), SIDE: (DOWN,)})
    log.fold(log.mat(UP, "2024-01-01"), log.mat(DOWN, "2024-01-01"), log.mat(SIDE, "2024-01-01"))
    log.fold(log.mat(UP, "2024-01-01"))
    assert log.stale(DOWN) == ["2024-01-01"] and log.stale(SIDE) == []  # side's input did not change yet
    log.fold(log.mat(DOWN, "2024-01-01"))
    assert log.stale(DOWN) == [] and log.stale(SIDE) == ["2024-01-01"]


def test_without_dependents_nothing_is_stale() -> None:
    log = Log({UP: DAILY, DOWN: DAILY})
    events = log.mat(DOWN, "2024-01-01") + log.mat(UP, "2024-01-01")
    changes = fold_events(log.world, events, log.keys)
    assert changes.stale == frozenset() and log.stale(DOWN) == []


def test_a_mismatched_dependency_is_a_warning_not_an_error() -> None:
    log = Log({UP: StaticPartitions(keys=("a",)), DOWN: DAILY})
    log.fold(log.mat(DOWN, "2024-01-01"), log.mat(UP, "a"))
    assert log.stale(DOWN) == []
    assert len(log.dependents.warnings) == 1
    assert "dependency up -> down" in log.dependents.warnings[0]
    assert "declare a partition mapping" in log.dependents.warnings[0]
