"""The Airflow adapter: DAGs, mapped task assets and Airflow Assets as lockgate assets; DAG runs and
task instances as events; DAG runs triggered back in Airflow, exactly once per idempotency key."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from lockgate.adapters.airflow.cache import TaskCache
from lockgate.adapters.airflow.client import AirflowClient
from lockgate.adapters.airflow.config import AirflowConfig
from lockgate.adapters.airflow.records import DagRecord, TaskRecord, parse_time
from lockgate.adapters.airflow.translator import AirflowTranslator
from lockgate.federation.adapter import Discovery, EventSink, ObserveResult, RunHandle, RunRequest, RunState
from lockgate.federation.errors import AdapterError, LaunchError
from lockgate.federation.events import Event, RunStarted
from lockgate.federation.keys import AssetKey
from lockgate.federation.specs import AssetSpec, JsonValue

_STATES = {
    "queued": RunState.QUEUED,
    "running": RunState.RUNNING,
    "success": RunState.SUCCEEDED,
    "failed": RunState.FAILED,
    "canceled": RunState.CANCELED,
}


class AirflowAdapter:
    """One Airflow instance (2.6+ through ``/api/v1``, 3.x through ``/api/v2``)."""

    def __init__(
        self,
        config: AirflowConfig,
        *,
        client: AirflowClient | None = None,
        translator: AirflowTranslator | None = None,
    ) -> None:
        self.name = config.name
        self.config = config
        self.client = client or AirflowClient(config)
        self.translator = translator or AirflowTranslator(config)
        self.cache = TaskCache(config.cache_dir, name=config.name, url=config.url)
        self._dags: dict[str, DagRecord] = {}
        self._producers: dict[AssetKey, tuple[str, ...]] = {}
        self._tokens: dict[str, str] = {}
        self._details: dict[str, tuple[str, dict[str, object]]] = {}

    # ---- discover -----------------------------------------------------------------------------
    def _wanted_dags(self) -> dict[str, DagRecord]:
        dags = {
            d.dag_id: d for d in self.client.dags() if not d.is_stale and self.config.wants(d.dag_id, d.tags)
        }
        self._dags = dags
        return dags

    def _all_tasks(self, dags: dict[str, DagRecord]) -> dict[str, list[TaskRecord]]:
        """Every wanted DAG's tasks, re-read only for DAGs whose version moved (see cache.py)."""
        cache = self.cache
        cache.load(self.client.api)
        if self.client.api == "v2":
            found, complete = self.client.dag_versions_since(cache.watermark)
            cache.add_versions(found, complete=complete)
        out: dict[str, list[TaskRecord]] = {}
        for dag_id, dag in dags.items():
            if self.client.api == "v2" and dag_id in cache.versions:
                token = "v:" + cache.versions[dag_id]
            else:
                token = f"p:{dag.last_parsed}:{dag.fileloc}"
            self._tokens[dag_id] = token
            tasks = cache.get(dag_id, token)
            if tasks is None:
                tasks = self.client.tasks(dag_id)
                cache.put(dag_id, token, tasks)
            out[dag_id] = tasks
        cache.keep_only(set(dags))
        cache.save()
        return out

    def _dag_details(self, dag: DagRecord) -> dict[str, object] | None:
        """Start date and catchup of a time-partitioned DAG, read again only when its version
        (the task cache's token) moved; None for other DAGs (no request)."""
        if not self.translator.needs_details(dag):
            return None
        token = self._tokens.get(dag.dag_id, "")
        known = self._details.get(dag.dag_id)
        if known is None or known[0] != token:
            known = self._details[dag.dag_id] = (token, self.client.dag_details(dag.dag_id))
        return known[1]

    def discover(self) -> Discovery:
        self.client.connect()
        t = self.translator
        warnings: list[str] = []
        dags = self._wanted_dags()
        tasks = self._all_tasks(dags)
        assets = self.client.assets()
        consumed: dict[str, set[AssetKey]] = {}
        specs: dict[AssetKey, AssetSpec] = {}
        producers: dict[AssetKey, tuple[str, ...]] = {}
        for asset in assets:
            key = t.asset_key(asset.name)
            made_by = [(d, task) for d, task in asset.producers if d in dags]
            mapped = [k for d, task in made_by for k in self.config.task_mappings.get((d, task), ())]
            deps = mapped or [t.dag_key(d) for d, _ in made_by]
            specs[key] = t.asset_spec(asset, deps)
            producers[key] = tuple(sorted({d for d, _ in made_by}))
            for dag_id in asset.consumers:
                consumed.setdefault(dag_id, set()).add(key)
        for dag_id, dag in dags.items():
            details = self._dag_details(dag)
            specs[t.dag_key(dag_id)] = t.dag_spec(dag, tasks[dag_id], consumed.get(dag_id, ()), details)
            producers[t.dag_key(dag_id)] = (dag_id,)
        for (dag_id, task_id), keys in sorted(self.config.task_mappings.items()):
            task_dag = dags.get(dag_id)
            known = {task.task_id: task for task in tasks.get(dag_id, ())}
            if task_dag is None or task_id not in known:
                what = f"DAG {dag_id!r}" if task_dag is None else f"task {task_id!r} in DAG {dag_id!r}"
                warnings.append(f"mappings.{dag_id}.{task_id}: Airflow has no {what} (or it is filtered out)")
                continue
            upstream = [
                k
                for other in known.values()
                if task_id in other.downstream
                for k in self.config.task_mappings.get((dag_id, other.task_id), ())
            ]
            for key in keys:
                spec = t.mapped_spec(key, task_dag, task_id, upstream, self._dag_details(task_dag))
                self._add(specs, producers, warnings, spec, dag_id)
        for dag_id, task_id in sorted(self.config.task_selections):
            if (dag_id, task_id) in self.config.task_mappings:
                continue  # checked above
            known_ids = {task.task_id for task in tasks.get(dag_id, ())}
            if task_id not in known_ids:
                warnings.append(
                    f"mappings.{dag_id}.{task_id}: Airflow has no task {task_id!r} in DAG {dag_id!r}"
                    " (or it is filtered out)"
                )
        for dag_id, keys in sorted(self.config.dag_mappings.items()):
            mapped_dag = dags.get(dag_id)
            if mapped_dag is None:
                warnings.append(f"mappings.{dag_id}: Airflow has no DAG {dag_id!r} (or it is filtered out)")
                continue
            for key in keys:
                upstream = sorted(consumed.get(dag_id, ()))
                spec = t.mapped_spec(key, mapped_dag, None, upstream, self._dag_details(mapped_dag))
                self._add(specs, producers, warnings, spec, dag_id)
        self._producers = producers
        health = self.client.health()
        scheduler = health.get("scheduler") if isinstance(health, dict) else None
        if isinstance(scheduler, dict) and scheduler.get("status") != "healthy":
            warnings.append(
                f"the Airflow scheduler reports status {scheduler.get('status')!r}: runs will not start"
            )
        return Discovery(assets=tuple(specs[k] for k in sorted(specs)), warnings=tuple(warnings))

    @staticmethod
    def _add(
        specs: dict[AssetKey, AssetSpec],
        producers: dict[AssetKey, tuple[str, ...]],
        warnings: list[str],
        spec: AssetSpec,
        dag_id: str,
    ) -> None:
        if spec.key in specs:
            warnings.append(
                f"the asset {spec.key} is mapped more than once; keeping {specs[spec.key].origin}"
            )
            return
        specs[spec.key] = spec
        producers[spec.key] = (dag_id,)

    # ---- mappings written as selections (resolved by the sync, see federation/mappings.py) -----
    def mapping_selections(self) -> dict[str, tuple[str, ...]]:
        out = {f"{d}.{t}": sels for (d, t), sels in self.config.task_selections.items()}
        out.update(self.config.dag_selections)
        return out

    def resolve_mappings(self, resolved: Mapping[str, tuple[AssetKey, ...]]) -> None:
        """Take the keys the sync resolved: the tasks' (DAGs') runs then materialize them."""
        t = self.translator
        t.resolved_task_mappings = {
            (d, task): tuple(resolved.get(f"{d}.{task}", ())) for d, task in self.config.task_selections
        }
        t.resolved_dag_mappings = {d: tuple(resolved.get(d, ())) for d in self.config.dag_selections}

    # ---- observe ------------------------------------------------------------------------------
    def observe(self, cursor: str | None) -> ObserveResult:
        self.client.connect()
        since = self._since(cursor)
        now = self.client.server_time()
        dags = self._dags or self._wanted_dags()
        t = self.translator
        parts = {dag_id: t.partitioning(dag) for dag_id, dag in dags.items()}
        events: list[Event] = []
        for run in self.client.dag_runs(since):
            if run.dag_id in parts:
                events.extend(t.run_events(run, parts[run.dag_id]))
        mapped = (*self.config.task_mappings, *self.translator.resolved_task_mappings)
        if any(dag_id in parts for dag_id, _ in mapped):
            for ti in self.client.task_instances(since):
                if ti.dag_id in parts:
                    events.extend(t.task_events(ti, parts[ti.dag_id]))
        for asset_event in self.client.asset_events(since):
            events.append(t.asset_event(asset_event))
        events.sort(key=lambda e: (e.timestamp, e.event_id))
        return ObserveResult(events=tuple(events), cursor=json.dumps({"since": now.isoformat()}))

    def _since(self, cursor: str | None) -> datetime | None:
        if not cursor:
            return None
        try:
            value = parse_time(json.loads(cursor).get("since"))
        except (ValueError, AttributeError):
            value = None
        if value is None:
            raise AdapterError(
                f"the stored cursor {cursor[:80]!r} is not an Airflow adapter cursor",
                where=f"adapter {self.name}: store cursor",
                fix="the next sync cannot continue from it; reset the adapter's cursor in the store",
            )
        return value - timedelta(seconds=self.config.overlap_seconds)

    # ---- launch and poll ----------------------------------------------------------------------
    def _dag_for(self, keys: Sequence[AssetKey]) -> str:
        if not self._producers:
            self.discover()
        dag_ids = {d for key in keys for d in self._producers.get(key, ())}
        unknown = [str(k) for k in keys if not self._producers.get(k)]
        if unknown:
            raise LaunchError(
                f"no DAG of Airflow instance {self.name!r} builds {', '.join(unknown)}",
                where=f"adapter {self.name}",
                fix="run `lockgate sync` and select DAG assets, mapped assets or produced Airflow assets",
            )
        if len(dag_ids) != 1:
            raise LaunchError(
                f"the selection spans {len(dag_ids)} DAGs ({', '.join(sorted(dag_ids))}); one launch"
                " triggers one DAG run",
                where=f"adapter {self.name}",
                fix="materialize the assets of one DAG at a time",
            )
        return dag_ids.pop()

    def launch(self, request: RunRequest, sink: EventSink) -> RunHandle:
        self.client.connect()
        dag_id = self._dag_for(request.assets)
        where = f"adapter {self.name}: DAG {dag_id}"
        dag = self.client.dag(dag_id)
        if dag.is_paused:
            if not self.config.allow_unpause:
                raise LaunchError(
                    f"the DAG {dag_id!r} is paused in Airflow, so a triggered run would never start",
                    where=where,
                    fix="unpause it in Airflow, or set allow_unpause: true for this adapter in lockgate.yaml",
                )
            self.client.set_paused(dag_id, False)
        partitioning = self.translator.partitioning(dag)
        logical_date = self.translator.logical_date(partitioning, request.partition)
        run_id = f"lockgate__{request.idempotency_key}"
        run, created = self.client.trigger(dag_id, run_id, logical_date)
        handle = RunHandle(
            adapter=self.name,
            run_id=run.run_id,
            state=_STATES.get(run.state, RunState.QUEUED),
            url=f"{self.config.ui_base}/dags/{dag_id}/runs/{run.run_id}",
            message="triggered" if created else "found the run this request already triggered",
            metadata={"dag_id": dag_id, "partitioning": partitioning, "created": created},
        )
        sink(
            [
                RunStarted(
                    event_id=f"airflow:{self.name}:{dag_id}:{run.run_id}:run_started",
                    adapter=self.name,
                    timestamp=run.start_date or datetime.now().astimezone(),
                    asset_key=self.translator.dag_key(dag_id),
                    partition=request.partition,
                    run_id=run.run_id,
                )
            ]
        )
        return handle

    def poll(self, handle: RunHandle, sink: EventSink) -> RunHandle:
        dag_id = str(handle.metadata.get("dag_id", ""))
        partitioning = str(handle.metadata.get("partitioning", "none"))
        run = self.client.dag_run(dag_id, handle.run_id)
        if run is None:
            raise AdapterError(
                f"Airflow no longer has the DAG run {handle.run_id} of {dag_id!r}",
                where=f"adapter {self.name}: DAG {dag_id}",
                fix="it was deleted in Airflow; launch the assets again",
            )
        state = _STATES.get(run.state, RunState.RUNNING)
        if not state.finished:
            return replace(handle, state=state)
        tis = self.client.task_instances(None, dag_id=dag_id, run_id=run.run_id)
        events: list[Event] = []
        for ti in tis:
            events.extend(self.translator.task_events(ti, partitioning))
        events.extend(self.translator.run_events(run, partitioning))
        sink(events)
        tasks: dict[str, JsonValue] = {
            (ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"): ti.state for ti in tis
        }
        failed = sorted(k for k, v in tasks.items() if v != "success")
        message = f"run {run.state}" + (f"; not successful: {', '.join(failed)}" if failed else "")
        return replace(handle, state=state, message=message, metadata={**handle.metadata, "tasks": tasks})

    def close(self) -> None:
        self.client.close()
