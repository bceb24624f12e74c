"""Airflow records -> lockgate asset specs and events. Pure: no I/O.

Keys: a DAG is ``<instance>/<dag_id>``; an Airflow Asset (Dataset in 2.x) is
``<instance>/assets/<asset name>`` (``/`` in the name becomes ``__``); a mapped asset keeps the key
the workspace gives it. Event ids are deterministic (``airflow:<instance>:...``), so observing the
same history twice never records it twice. Subclass :class:`AirflowTranslator` and override a
method to change keys, metadata or partitions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from lockgate.adapters.airflow.config import AirflowConfig
from lockgate.adapters.airflow.records import (
    AssetEventRecord,
    AssetRecord,
    DagRecord,
    RunRecord,
    TaskInstanceRecord,
    TaskRecord,
)
from lockgate.federation.datasets import dataset_for_uri
from lockgate.federation.errors import ConfigError
from lockgate.federation.events import Event, Materialization, RunFailed, RunSucceeded
from lockgate.federation.keys import AssetKey, DatasetRef
from lockgate.federation.mappings import YIELDS_DATASET
from lockgate.federation.specs import AssetSpec, JsonValue, Origin

SYSTEM = "airflow"
FAILED_STATES = frozenset({"failed", "upstream_failed", "canceled"})
_DAILY = frozenset({"@daily", "@midnight", "0 0 * * *"})
_HOURLY = frozenset({"@hourly", "0 * * * *"})
_FORMATS = {"daily": "%Y-%m-%d", "hourly": "%Y-%m-%d-%H:00"}


class AirflowTranslator:
    def __init__(self, config: AirflowConfig) -> None:
        self.config = config
        self.name = config.name
        # Other adapters' assets that mapping selections resolved to (set by the adapter at sync).
        self.resolved_task_mappings: Mapping[tuple[str, str], tuple[AssetKey, ...]] = {}
        self.resolved_dag_mappings: Mapping[str, tuple[AssetKey, ...]] = {}

    def task_assets(self, dag_id: str, task_id: str) -> tuple[AssetKey, ...]:
        """Every asset a task builds: its mapped keys, then what its selections resolved to."""
        own = self.config.task_mappings.get((dag_id, task_id), ())
        extra = self.resolved_task_mappings.get((dag_id, task_id), ())
        return own + tuple(k for k in extra if k not in own)

    def dag_assets(self, dag_id: str) -> tuple[AssetKey, ...]:
        """Every asset a whole DAG builds (DAG-level mapping keys and resolved selections)."""
        own = self.config.dag_mappings.get(dag_id, ())
        extra = self.resolved_dag_mappings.get(dag_id, ())
        return own + tuple(k for k in extra if k not in own)

    # ---- keys ---------------------------------------------------------------------------------
    def dag_key(self, dag_id: str) -> AssetKey:
        return AssetKey.of(self.name, dag_id)

    def asset_key(self, asset_name: str) -> AssetKey:
        return AssetKey.of(self.name, "assets", asset_name.replace("/", "__"))

    def dataset(self, uri: str) -> DatasetRef | None:
        """The table or file an Airflow Asset URI names, so it stitches to other systems."""
        try:
            return dataset_for_uri(uri)
        except ConfigError:
            return None

    # ---- partitions ---------------------------------------------------------------------------
    def partitioning(self, dag: DagRecord) -> str:
        """``daily``, ``hourly`` or ``none``: the workspace's ``partitions`` wins over the schedule."""
        if dag.dag_id in self.config.partitions:
            return self.config.partitions[dag.dag_id]
        schedule = (dag.schedule or "").strip()
        if schedule in _DAILY:
            return "daily"
        if schedule in _HOURLY:
            return "hourly"
        return "none"

    def partition_key(self, partitioning: str, logical_date: datetime | None) -> str | None:
        if logical_date is None or partitioning not in _FORMATS:
            return None
        return logical_date.astimezone(UTC).strftime(_FORMATS[partitioning])

    def logical_date(self, partitioning: str, partition: str | None) -> datetime | None:
        """The ``logical_date`` to trigger a partition with (its start, UTC)."""
        if partition is None:
            return None
        fmt = _FORMATS.get(partitioning)
        if fmt is None:
            raise ConfigError(
                f"the partition {partition!r} was requested, but this DAG is not time-partitioned",
                where=f"adapter {self.name}",
                fix="drop --partition, or declare the DAG's partitions (daily/hourly) in the workspace",
            )
        try:
            return datetime.strptime(partition, fmt).replace(tzinfo=UTC)
        except ValueError:
            example = datetime(2024, 1, 31, 5, tzinfo=UTC).strftime(fmt)
            raise ConfigError(
                f"the partition {partition!r} is not a {partitioning} partition key",
                where=f"adapter {self.name}",
                fix=f"write it like {example}",
            ) from None

    # ---- specs --------------------------------------------------------------------------------
    def needs_details(self, dag: DagRecord) -> bool:
        """Whether the DAG's details (start date, catchup) matter: time-partitioned DAGs only."""
        return self.partitioning(dag) in _FORMATS

    def schedule_metadata(self, details: Mapping[str, object] | None) -> dict[str, JsonValue]:
        """``start_date`` (ISO-8601, UTC), ``end_date``, ``catchup`` and ``timezone`` from
        :meth:`AirflowClient.dag_details`; the partitions of a daily DAG start at ``start_date``."""
        out: dict[str, JsonValue] = {}
        for name in ("start_date", "end_date", "catchup", "timezone"):
            value = (details or {}).get(name)
            if isinstance(value, str | bool):
                out[name] = value
        return out

    def dag_spec(
        self,
        dag: DagRecord,
        tasks: Sequence[TaskRecord],
        upstream_assets: Iterable[AssetKey],
        details: Mapping[str, object] | None = None,
    ) -> AssetSpec:
        mapped = self.config.task_mappings
        task_meta: list[JsonValue] = [
            {
                "task_id": t.task_id,
                "operator": t.operator,
                "downstream": list(t.downstream),
                "mapped": t.is_mapped,
                "assets": [str(k) for k in self.task_assets(dag.dag_id, t.task_id)],
            }
            for t in tasks
        ]
        leaf_mapped = {
            key
            for t in tasks
            if not any(mapped.get((dag.dag_id, d)) for d in t.downstream)
            for key in mapped.get((dag.dag_id, t.task_id), ())
        }
        return AssetSpec(
            key=self.dag_key(dag.dag_id),
            origin=Origin(system=SYSTEM, adapter=self.name, external_id=dag.dag_id),
            deps=tuple(sorted(set(upstream_assets) | leaf_mapped)),
            description=dag.description,
            group=self.name,
            owners=dag.owners,
            tags=dag.tags,
            kinds=("airflow", "dag"),
            metadata={
                "dag_id": dag.dag_id,
                "schedule": dag.schedule,
                "schedule_description": dag.schedule_description,
                "fileloc": dag.fileloc,
                "is_paused": dag.is_paused,
                "partitioning": self.partitioning(dag),
                "tasks": task_meta,
                "dag_mapped_assets": [str(k) for k in self.dag_assets(dag.dag_id)],
                **self.schedule_metadata(details),
            },
            url=f"{self.config.ui_base}/dags/{dag.dag_id}",
        )

    def mapped_spec(
        self,
        key: AssetKey,
        dag: DagRecord,
        task_id: str | None,
        deps: Iterable[AssetKey],
        details: Mapping[str, object] | None = None,
    ) -> AssetSpec:
        """An asset built by a task (``task_id``) or by a whole DAG (``None``)."""
        external_id = f"{dag.dag_id}.{task_id}" if task_id else dag.dag_id
        url = f"{self.config.ui_base}/dags/{dag.dag_id}"
        return AssetSpec(
            key=key,
            origin=Origin(system=SYSTEM, adapter=self.name, external_id=external_id),
            deps=tuple(sorted(set(deps))),
            group=self.name,
            owners=dag.owners,
            kinds=("airflow", "task" if task_id else "dag"),
            metadata={
                "dag_id": dag.dag_id,
                "task_id": task_id,
                "partitioning": self.partitioning(dag),
                **self.schedule_metadata(details),
            },
            url=f"{url}/tasks/{task_id}" if task_id else url,
        )

    def asset_spec(self, asset: AssetRecord, producers: Iterable[AssetKey]) -> AssetSpec:
        producer_list: list[JsonValue] = [{"dag_id": d, "task_id": t} for d, t in asset.producers]
        consumer_list: list[JsonValue] = list(asset.consumers)
        return AssetSpec(
            key=self.asset_key(asset.name),
            origin=Origin(system=SYSTEM, adapter=self.name, external_id=f"asset:{asset.name}"),
            deps=tuple(sorted(set(producers))),
            group=asset.group or self.name,
            kinds=("airflow", "asset"),
            metadata={
                "uri": asset.uri,
                "asset_id": asset.id,
                "producing_tasks": producer_list,
                "scheduled_dags": consumer_list,
                # a table URI: if another system builds that table, the sync makes this asset a
                # reader of it (stitched to the builder) rather than a second producer
                YIELDS_DATASET: bool(asset.producers),
            },
            dataset=self.dataset(asset.uri),
            external=not asset.producers,
            url=f"{self.config.ui_base}/assets/{asset.id}",
        )

    # ---- events -------------------------------------------------------------------------------
    def _id(self, *parts: object) -> str:
        return ":".join(["airflow", self.name, *(str(p) for p in parts)])

    def run_events(self, run: RunRecord, partitioning: str) -> list[Event]:
        """A finished DAG run: the DAG asset and its DAG-level mapped assets."""
        if run.state not in ("success", *FAILED_STATES):
            return []
        partition = self.partition_key(partitioning, run.logical_date)
        when = run.end_date or run.start_date or datetime.now(UTC)
        meta: dict[str, JsonValue] = {
            "dag_id": run.dag_id,
            "state": run.state,
            "run_type": run.run_type,
            "logical_date": run.logical_date.isoformat() if run.logical_date else None,
            "url": f"{self.config.ui_base}/dags/{run.dag_id}/runs/{run.run_id}",
        }
        keys = (self.dag_key(run.dag_id), *self.dag_assets(run.dag_id))
        events: list[Event] = []
        for key in keys:
            if run.state == "success":
                events.append(
                    Materialization(
                        event_id=self._id(run.dag_id, run.run_id, key, "materialization"),
                        asset_key=key,
                        metadata=meta,
                        adapter=self.name,
                        timestamp=when,
                        partition=partition,
                        run_id=run.run_id,
                    )
                )
            else:
                events.append(
                    RunFailed(
                        event_id=self._id(run.dag_id, run.run_id, key, "run_failed"),
                        asset_key=key,
                        message=f"the DAG run {run.run_id} of {run.dag_id} ended in state {run.state}",
                        metadata=meta,
                        adapter=self.name,
                        timestamp=when,
                        partition=partition,
                        run_id=run.run_id,
                    )
                )
        if run.state == "success":
            events.append(
                RunSucceeded(
                    event_id=self._id(run.dag_id, run.run_id, "run_succeeded"),
                    asset_key=self.dag_key(run.dag_id),
                    metadata=meta,
                    adapter=self.name,
                    timestamp=when,
                    partition=partition,
                    run_id=run.run_id,
                )
            )
        return events

    def task_events(self, ti: TaskInstanceRecord, partitioning: str) -> list[Event]:
        """A finished task instance: the assets mapped to its task (mapped tasks: per map index)."""
        keys = self.task_assets(ti.dag_id, ti.task_id)
        if not keys or ti.state not in ("success", *FAILED_STATES):
            return []
        partition = self.partition_key(partitioning, ti.logical_date)
        when = ti.end_date or datetime.now(UTC)
        meta: Mapping[str, JsonValue] = {
            "dag_id": ti.dag_id,
            "task_id": ti.task_id,
            "map_index": ti.map_index,
            "try_number": ti.try_number,
            "state": ti.state,
        }
        unit = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        out: list[Event] = []
        for key in keys:
            if ti.state == "success":
                out.append(
                    Materialization(
                        event_id=self._id(ti.dag_id, ti.run_id, unit, key, "materialization"),
                        adapter=self.name,
                        timestamp=when,
                        asset_key=key,
                        partition=partition,
                        run_id=ti.run_id,
                        metadata=meta,
                    )
                )
            else:
                out.append(
                    RunFailed(
                        event_id=self._id(ti.dag_id, ti.run_id, unit, key, "run_failed"),
                        adapter=self.name,
                        timestamp=when,
                        asset_key=key,
                        partition=partition,
                        run_id=ti.run_id,
                        message=f"task {unit} of {ti.dag_id} run {ti.run_id} ended in state {ti.state}"
                        f" (try {ti.try_number})",
                        metadata=meta,
                    )
                )
        return out

    def asset_event(self, event: AssetEventRecord) -> Materialization:
        meta: dict[str, JsonValue] = {
            "uri": event.uri,
            "source_dag_id": event.source_dag_id,
            "source_task_id": event.source_task_id,
        }
        return Materialization(
            event_id=self._id("asset_event", event.id),
            adapter=self.name,
            timestamp=event.timestamp,
            asset_key=self.asset_key(event.name),
            run_id=event.source_run_id,
            metadata=meta,
        )
