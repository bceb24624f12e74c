"""Partitions: definitions, compact subsets (ranges) and mappings between assets."""

from lockgate.federation.partitions.definitions import (
    DynamicPartitions,
    MultiPartitions,
    PartitionKeys,
    PartitionsDefinition,
    StaticPartitions,
    TimeWindowPartitions,
    daily,
    hourly,
    monthly,
    partition_keys,
    weekly,
)
from lockgate.federation.partitions.mappings import (
    AllMapping,
    IdentityMapping,
    LastMapping,
    PartitionMapping,
    StaticMapping,
    TimeWindowMapping,
    downstream_of,
    resolve_mapping,
)
from lockgate.federation.partitions.ranges import EMPTY, Ranges

__all__ = [
    "EMPTY",
    "AllMapping",
    "DynamicPartitions",
    "IdentityMapping",
    "LastMapping",
    "MultiPartitions",
    "PartitionKeys",
    "PartitionMapping",
    "PartitionsDefinition",
    "Ranges",
    "StaticMapping",
    "StaticPartitions",
    "TimeWindowMapping",
    "TimeWindowPartitions",
    "daily",
    "downstream_of",
    "hourly",
    "monthly",
    "partition_keys",
    "resolve_mapping",
    "weekly",
]
