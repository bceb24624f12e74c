"""Airflow's REST records, parsed leniently into one shape for ``/api/v1`` (2.x) and ``/api/v2`` (3.x).

The APIs differ in field names (``is_active`` vs ``is_stale``, datasets vs assets,
``schedule_interval`` vs ``timetable_summary``); everything downstream sees only these values.
Unknown fields are ignored and missing ones get defaults, so a newer server never breaks parsing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _names(items: Any, key: str) -> tuple[str, ...]:
    out: list[str] = []
    for item in items or ():
        if isinstance(item, Mapping):
            if item.get(key) is not None:
                out.append(str(item[key]))
        elif item is not None:
            out.append(str(item))
    return tuple(out)


@dataclass(frozen=True, slots=True, kw_only=True)
class DagRecord:
    dag_id: str
    description: str = ""
    owners: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    is_paused: bool = False
    is_stale: bool = False
    fileloc: str = ""
    schedule: str | None = None
    schedule_description: str = ""
    last_parsed: str | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> DagRecord:
        schedule = raw.get("timetable_summary")
        interval = raw.get("schedule_interval")  # 2.x: {"__type": "CronExpression", "value": "@daily"}
        if schedule is None and isinstance(interval, Mapping):
            schedule = interval.get("value")
        stale = raw.get("is_stale")
        if stale is None:
            stale = raw.get("is_active") is False
        return cls(
            dag_id=_str(raw.get("dag_id")),
            description=_str(raw.get("description")),
            owners=_names(raw.get("owners"), "name"),
            tags=_names(raw.get("tags"), "name"),
            is_paused=bool(raw.get("is_paused")),
            is_stale=bool(stale),
            fileloc=_str(raw.get("fileloc")),
            schedule=None if schedule is None else str(schedule),
            schedule_description=_str(raw.get("timetable_description")),
            last_parsed=raw.get("last_parsed_time"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskRecord:
    task_id: str
    operator: str = ""
    downstream: tuple[str, ...] = ()
    is_mapped: bool = False

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> TaskRecord:
        class_ref = raw.get("class_ref") or {}
        operator = raw.get("operator_name") or (
            class_ref.get("class_name") if isinstance(class_ref, Mapping) else None
        )
        return cls(
            task_id=_str(raw.get("task_id")),
            operator=_str(operator),
            downstream=tuple(sorted(_names(raw.get("downstream_task_ids"), "task_id"))),
            is_mapped=bool(raw.get("is_mapped")),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetRecord:
    """An Airflow Asset (3.x) or Dataset (2.x)."""

    id: str
    name: str
    uri: str
    group: str | None = None
    producers: tuple[tuple[str, str], ...] = ()
    consumers: tuple[str, ...] = ()

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> AssetRecord:
        uri = _str(raw.get("uri"))
        producers = tuple(
            sorted(
                (_str(p.get("dag_id")), _str(p.get("task_id")))
                for p in raw.get("producing_tasks") or ()
                if isinstance(p, Mapping)
            )
        )
        consumers = raw.get("scheduled_dags")
        if consumers is None:
            consumers = raw.get("consuming_dags")
        return cls(
            id=_str(raw.get("id")).removesuffix(".0"),
            name=_str(raw.get("name")) or uri,
            uri=uri,
            group=raw.get("group") or None,
            producers=producers,
            consumers=tuple(sorted(set(_names(consumers, "dag_id")))),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetEventRecord:
    id: str
    name: str
    uri: str
    timestamp: datetime
    source_dag_id: str | None = None
    source_task_id: str | None = None
    source_run_id: str | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> AssetEventRecord | None:
        timestamp = parse_time(raw.get("timestamp"))
        if timestamp is None:
            return None
        uri = _str(raw.get("uri") or raw.get("dataset_uri"))
        return cls(
            id=_str(raw.get("id")).removesuffix(".0"),
            name=_str(raw.get("name")) or uri,
            uri=uri,
            timestamp=timestamp,
            source_dag_id=raw.get("source_dag_id") or None,
            source_task_id=raw.get("source_task_id") or None,
            source_run_id=raw.get("source_run_id") or None,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    dag_id: str
    run_id: str
    state: str
    run_type: str = ""
    logical_date: datetime | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> RunRecord:
        return cls(
            dag_id=_str(raw.get("dag_id")),
            run_id=_str(raw.get("dag_run_id") or raw.get("run_id")),
            state=_str(raw.get("state")).lower(),
            run_type=_str(raw.get("run_type")),
            logical_date=parse_time(raw.get("logical_date") or raw.get("execution_date")),
            start_date=parse_time(raw.get("start_date")),
            end_date=parse_time(raw.get("end_date")),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskInstanceRecord:
    dag_id: str
    run_id: str
    task_id: str
    state: str
    map_index: int = -1
    try_number: int = 0
    logical_date: datetime | None = None
    end_date: datetime | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> TaskInstanceRecord:
        return cls(
            dag_id=_str(raw.get("dag_id")),
            run_id=_str(raw.get("dag_run_id")),
            task_id=_str(raw.get("task_id")),
            state=_str(raw.get("state")).lower(),
            map_index=int(raw.get("map_index") or 0) if raw.get("map_index") is not None else -1,
            try_number=int(raw.get("try_number") or 0),
            logical_date=parse_time(raw.get("logical_date") or raw.get("execution_date")),
            end_date=parse_time(raw.get("end_date")),
        )
