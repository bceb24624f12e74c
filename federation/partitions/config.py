"""Partitions definitions from plain data: the workspace's ``partitions:``, dbt's
``meta.lockgate.partitions`` and an Airflow DAG's schedule.

The data form (YAML or JSON)::

    {type: daily, start: "2024-01-01", timezone: "Europe/Berlin", end_offset: 1}
    {type: hourly | weekly | monthly, start: ..., timezone: ..., end: ..., end_offset: ...}
    {type: cron, cron: "0 6 * * 1-5", start: "2024-01-01T06:00", timezone: ..., fmt: "%Y-%m-%d"}
    {type: static, keys: [eu, us]}
    {type: dynamic, name: customers}
    {type: multi, dimensions: {date: {type: daily, start: ...}, region: {type: static, keys: [...]}}}

``daily: "2024-01-01"`` (a one-key mapping of a time type to its start) is a shorthand.

A partition mapping (:func:`parse_mapping`) says which upstream partitions a downstream partition
depends on: ``identity``, ``all``, ``last``, ``time_window`` (or ``{type: time_window,
start_offset: -1, end_offset: 0}``) or ``{type: static, map: {eu-west: eu, us-east: [us]}}``.
Every error names ``where`` and the offending key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from lockgate.federation.errors import ConfigError
from lockgate.federation.keys import AssetKey
from lockgate.federation.partitions.definitions import (
    DAILY_FORMAT,
    HOURLY_FORMAT,
    DynamicPartitions,
    MultiPartitions,
    OneDimension,
    PartitionsDefinition,
    StaticPartitions,
    TimeWindowPartitions,
    daily,
    hourly,
    monthly,
    weekly,
)
from lockgate.federation.partitions.mappings import (
    AllMapping,
    IdentityMapping,
    LastMapping,
    PartitionMapping,
    StaticMapping,
    TimeWindowMapping,
)

TIME_TYPES = ("hourly", "daily", "weekly", "monthly")
TYPES = (*TIME_TYPES, "cron", "static", "dynamic", "multi")
_TIME_KEYS = frozenset({"type", "start", "timezone", "end", "end_offset"})
_ALLOWED: dict[str, frozenset[str]] = {
    **dict.fromkeys(TIME_TYPES, _TIME_KEYS),
    "cron": _TIME_KEYS | {"cron", "fmt"},
    "static": frozenset({"type", "keys"}),
    "dynamic": frozenset({"type", "name"}),
    "multi": frozenset({"type", "dimensions"}),
}
_SHAPE = "write e.g. {type: daily, start: '2024-01-01'}; the types are: " + ", ".join(TYPES)


def parse_partitions(doc: Any, *, where: str) -> PartitionsDefinition:
    """The definition ``doc`` describes; :class:`ConfigError` naming ``where`` otherwise."""
    if isinstance(doc, Mapping) and "type" not in doc and len(doc) == 1:
        ((kind, start),) = doc.items()
        if kind in TIME_TYPES and isinstance(start, str | datetime):
            doc = {"type": kind, "start": start}
    if not isinstance(doc, Mapping):
        raise ConfigError(f"partitions must be a mapping, got {doc!r}", where=where, fix=_SHAPE)
    kind = doc.get("type")
    if kind not in _ALLOWED:
        raise ConfigError(f"unknown partitions type {kind!r}", where=f"{where}.type", fix=_SHAPE)
    _only(doc, _ALLOWED[kind], f"{kind} partitions", where)
    if kind == "multi":
        return _multi(doc, where)
    try:
        return _one(kind, doc, where)
    except ConfigError as err:
        if err.where and err.where.startswith(where):
            raise
        raise ConfigError(err.what, where=where, fix=err.fix) from None


def _only(doc: Mapping[str, Any], allowed: frozenset[str], what: str, where: str) -> None:
    unknown = sorted(str(k) for k in doc if k not in allowed)
    if unknown:
        raise ConfigError(
            f"unknown key {unknown[0]!r} for {what}",
            where=f"{where}.{unknown[0]}",
            fix="use only: " + ", ".join(sorted(allowed)),
        )


def _one(kind: str, doc: Mapping[str, Any], where: str) -> OneDimension:
    if kind == "static":
        keys = doc.get("keys")
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
            raise ConfigError(
                f"static partitions need a non-empty list of string keys, got {keys!r}",
                where=f"{where}.keys",
                fix="write e.g. keys: [eu, us]",
            )
        return StaticPartitions(keys=tuple(keys))
    if kind == "dynamic":
        name = doc.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(
                f"dynamic partitions need a name, got {name!r}",
                where=f"{where}.name",
                fix="write e.g. name: customers",
            )
        return DynamicPartitions(name=name)
    start = _text(doc, "start", where, required=True)
    assert start is not None
    timezone = _text(doc, "timezone", where) or "UTC"
    end = _text(doc, "end", where)
    offset = doc.get("end_offset", 0)
    if not isinstance(offset, int) or isinstance(offset, bool):
        raise ConfigError(
            f"end_offset must be a whole number, got {offset!r}",
            where=f"{where}.end_offset",
            fix="write e.g. 1",
        )
    if kind == "cron":
        cron = _text(doc, "cron", where, required=True)
        assert cron is not None
        fmt = _text(doc, "fmt", where) or (HOURLY_FORMAT if cron.split()[1:2] == ["*"] else DAILY_FORMAT)
        return TimeWindowPartitions(
            cron=cron,
            start=_moment(start, where),
            timezone=timezone,
            end=None if end is None else _moment(end, where),
            end_offset=offset,
            fmt=fmt,
        )
    if kind == "hourly":
        return hourly(start, timezone=timezone, end=end, end_offset=offset)
    if kind == "weekly":
        return weekly(start, timezone=timezone, end=end, end_offset=offset)
    if kind == "monthly":
        return monthly(start, timezone=timezone, end=end, end_offset=offset)
    return daily(start, timezone=timezone, end=end, end_offset=offset)


def _multi(doc: Mapping[str, Any], where: str) -> MultiPartitions:
    dims = doc.get("dimensions")
    if not isinstance(dims, Mapping) or len(dims) != 2:
        msg = "multi partitions need exactly two named dimensions"
        raise ConfigError(
            msg,
            where=f"{where}.dimensions",
            fix="write e.g. dimensions: {date: {type: daily, start: '2024-01-01'}, "
            "region: {type: static, keys: [eu]}}",
        )
    parsed: list[tuple[str, OneDimension]] = []
    for name, sub in dims.items():
        found = parse_partitions(sub, where=f"{where}.dimensions.{name}")
        if isinstance(found, MultiPartitions):
            msg = "a dimension cannot itself be multi partitions"
            raise ConfigError(
                msg,
                where=f"{where}.dimensions.{name}",
                fix="use a time, static or dynamic dimension",
            )
        parsed.append((str(name), found))
    return MultiPartitions(dimensions=(parsed[0], parsed[1]))


def _text(doc: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    value = doc.get(key)
    if value is None:
        if required:
            raise ConfigError(f"{key} is required", where=f"{where}.{key}", fix=_SHAPE)
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat()
    if hasattr(value, "isoformat"):  # a YAML date
        return str(value.isoformat())
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a string, got {value!r}", where=f"{where}.{key}", fix=_SHAPE)
    return value


def _moment(text: str, where: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"{text!r} is not a date", where=where, fix="write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM"
        ) from None


def schedule_partitions(
    partitioning: str, *, start: str | None, timezone: str = "UTC"
) -> PartitionsDefinition | None:
    """An Airflow DAG's partitions from its ``partitioning`` (``daily``/``hourly``/``none``, as the
    Airflow adapter records it) and its start: the DAG's first data interval. ``None`` without a
    start or for an unpartitioned DAG. Keys match the adapter's (``2024-01-31``,
    ``2024-01-31-05:00``), so observed runs land on these partitions."""
    if start is None or partitioning not in ("daily", "hourly"):
        return None
    moment = _moment(start, "the DAG's start").replace(tzinfo=None)
    if partitioning == "daily":
        return daily(moment.date().isoformat(), timezone=timezone)
    return TimeWindowPartitions(
        cron="0 * * * *",
        start=moment.replace(minute=0, second=0, microsecond=0),
        timezone=timezone,
        fmt="%Y-%m-%d-%H:00",
    )


MAPPING_TYPES = ("identity", "time_window", "all", "last", "static")
_MAPPING_KEYS: dict[str, frozenset[str]] = {
    "identity": frozenset({"type"}),
    "all": frozenset({"type"}),
    "last": frozenset({"type"}),
    "time_window": frozenset({"type", "start_offset", "end_offset"}),
    "static": frozenset({"type", "map"}),
}
_MAPPING_SHAPE = (
    "write one of: identity, all, last, time_window, {type: time_window, start_offset: -1}, "
    "{type: static, map: {upstream_key: downstream_key}}"
)


def parse_mapping(doc: Any, *, where: str) -> PartitionMapping:
    """The partition mapping ``doc`` describes (a type name, or a mapping with ``type``)."""
    if isinstance(doc, str):
        doc = {"type": doc}
    if not isinstance(doc, Mapping):
        raise ConfigError(
            f"a partition mapping must be a name or a mapping, got {doc!r}", where=where, fix=_MAPPING_SHAPE
        )
    kind = doc.get("type")
    if kind not in _MAPPING_KEYS:
        raise ConfigError(
            f"unknown partition mapping type {kind!r}", where=f"{where}.type", fix=_MAPPING_SHAPE
        )
    _only(doc, _MAPPING_KEYS[kind], f"a {kind} mapping", where)
    if kind == "identity":
        return IdentityMapping()
    if kind == "all":
        return AllMapping()
    if kind == "last":
        return LastMapping()
    if kind == "time_window":
        offsets = {}
        for name in ("start_offset", "end_offset"):
            value = doc.get(name, 0)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ConfigError(
                    f"{name} must be a whole number of downstream windows, got {value!r}",
                    where=f"{where}.{name}",
                    fix="write e.g. start_offset: -1 (the window before too)",
                )
            offsets[name] = value
        return TimeWindowMapping(**offsets)
    pairs = doc.get("map")
    if (
        not isinstance(pairs, Mapping)
        or not pairs
        or not all(
            isinstance(up, str)
            and (
                isinstance(down, str)
                or (isinstance(down, list) and down and all(isinstance(d, str) for d in down))
            )
            for up, down in pairs.items()
        )
    ):
        raise ConfigError(
            f"a static mapping needs map: {{upstream key: downstream key or [keys]}}, got {pairs!r}",
            where=f"{where}.map",
            fix="write e.g. map: {eu-west: eu, eu-north: eu, us-east: [us, americas]}",
        )
    return StaticMapping.of(pairs)


def parse_mappings(
    doc: Any, *, where: str, where_of: Callable[[str], str] | None = None
) -> tuple[tuple[AssetKey, PartitionMapping], ...]:
    """``{upstream asset key: mapping}`` (a rule's ``partition_mappings``, dbt
    ``meta.lockgate.partition_mappings``) as (upstream, mapping) pairs. ``where_of(key)`` names
    one entry (default: ``where.key``)."""
    if not isinstance(doc, Mapping) or not doc:
        raise ConfigError(
            f"partition_mappings must map upstream asset keys to mappings, got {doc!r}",
            where=where,
            fix="write e.g. partition_mappings: {shop/orders: {type: time_window, start_offset: -1}}",
        )
    found: list[tuple[AssetKey, PartitionMapping]] = []
    for up, mapping in doc.items():
        at = where_of(str(up)) if where_of is not None else f"{where}.{up}"
        try:
            key = AssetKey.parse(str(up))
        except ConfigError as err:
            raise ConfigError(
                err.what, where=at, fix="name the upstream asset by its key, e.g. shop/orders"
            ) from None
        found.append((key, parse_mapping(mapping, where=at)))
    return tuple(found)
