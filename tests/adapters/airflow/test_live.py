"""The adapter against a real Airflow, 3.3 and 2.11 (each started once per session by conftest.py).

Every test here runs on both versions unless it says ``ONLY3``: Airflow 2 on SQLite runs one task at
a time (SequentialExecutor), so the 2.x set keeps what matters most: discovery, incremental
observation across syncs, and partitioned, idempotent triggers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lockgate.adapters.airflow.adapter import AirflowAdapter
from lockgate.adapters.airflow.config import load_config
from lockgate.federation.adapter import RunHandle, RunRequest, RunState
from lockgate.federation.errors import LaunchError
from lockgate.federation.events import Event, EventKind, Materialization
from lockgate.federation.keys import AssetKey, DatasetRef
from lockgate.federation.specs import AssetSpec
from lockgate.federation.status import AssetStatus
from lockgate.federation.store.store import Store

pytestmark = [pytest.mark.airflow, pytest.mark.slow]
K = AssetKey.parse
ONLY3 = pytest.mark.parametrize("airflow", ["3"], indirect=True)
MAPPINGS = {
    "taskflow_etl.load": ["shop/loaded_totals"],
    "mapped_numbers.double": ["shop/doubled"],
    "daily_manual": ["shop/daily_report"],
}


def _tasks(spec: AssetSpec) -> dict[str, Any]:
    tasks: list[dict[str, Any]] = spec.metadata["tasks"]  # type: ignore[assignment]
    return {t["task_id"]: t for t in tasks}


def _adapter(server: Any, **extra: Any) -> AirflowAdapter:
    raw = {"url": server.url, "username": "admin", "password": "admin-test-pw", "mappings": MAPPINGS, **extra}
    return AirflowAdapter(load_config(raw, name="af", where="lockgate.yaml: adapters[0]", base_dir=Path()))


def _asset(server: Any, name: str, uri: str) -> AssetKey:
    """The key of an Airflow Asset: 3.x assets have names, 2.x datasets only their URI."""
    return AssetKey.of("af", "assets", (name if server.major == "3" else uri).replace("/", "__"))


RAW_URI = "postgres://db.example:5432/shop/public/raw_orders"
CLEAN_URI = "s3://demo/clean_orders.csv"


@pytest.fixture
def adapter(airflow: Any) -> Iterator[AirflowAdapter]:
    adapter = _adapter(airflow)
    yield adapter
    adapter.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(f"sqlite:///{tmp_path}/lockgate.db")
    yield store
    store.close()


def _sync(adapter: AirflowAdapter, store: Store) -> int:
    discovery = adapter.discover()
    observed = adapter.observe(store.cursor(adapter.name))
    state = store.write_sync(
        adapter=adapter.name,
        kind="airflow",
        started_at=datetime.now(UTC),
        discovery=discovery,
        observed=observed,
    )
    return state.new_events


def _run_to_end(adapter: AirflowAdapter, handle: RunHandle, sink: Any, timeout: float = 180) -> RunHandle:
    deadline = time.monotonic() + timeout
    while not handle.state.finished:
        assert time.monotonic() < deadline, f"run {handle.run_id} still {handle.state} after {timeout} s"
        time.sleep(0.5)
        handle = adapter.poll(handle, sink)
    return handle


def test_discovery_sees_dags_tasks_assets_and_edges(airflow: Any, adapter: AirflowAdapter) -> None:
    discovery = adapter.discover()
    assert adapter.client.version.startswith(airflow.major + ".")
    specs = {spec.key: spec for spec in discovery.assets}
    assert discovery.warnings == ()
    taskflow = specs[K("af/taskflow_etl")]
    assert taskflow.owners == ("team-data",) and taskflow.tags == ("taskflow",)
    assert taskflow.description == "TaskFlow ETL"
    assert taskflow.url == f"{adapter.config.url}/dags/taskflow_etl"
    assert str(taskflow.metadata["fileloc"]).endswith("taskflow_etl.py")
    tasks = _tasks(taskflow)
    assert tasks["extract"]["downstream"] == ["transform"] and tasks["load"]["assets"] == [
        "shop/loaded_totals"
    ]
    classic = _tasks(specs[K("af/classic_bash")])
    assert classic["start"]["downstream"] == ["branch_one", "branch_two"]
    assert classic["end"]["operator"] == "BashOperator"
    mapped = _tasks(specs[K("af/mapped_numbers")])
    assert mapped["double"]["mapped"] is True and mapped["total"]["mapped"] is False
    # Airflow Assets: producer DAG -> asset -> consumer DAG, and the table URI stitches by DatasetRef.
    raw_key, clean_key = _asset(airflow, "raw_orders", RAW_URI), _asset(airflow, "clean_orders", CLEAN_URI)
    raw = specs[raw_key]
    assert raw.deps == (K("af/asset_producer"),) and not raw.external
    assert raw.dataset == DatasetRef(namespace="postgres://db.example:5432", name="shop.public.raw_orders")
    assert specs[K("af/asset_consumer")].deps == (raw_key,)
    assert specs[clean_key].deps == (K("af/asset_consumer"),)
    # Task and DAG mappings become assets owned by that task / DAG.
    assert specs[K("shop/loaded_totals")].origin.external_id == "taskflow_etl.load"
    assert specs[K("shop/daily_report")].origin.external_id == "daily_manual"
    assert specs[K("af/daily_manual")].metadata["partitioning"] == "daily"


@ONLY3
def test_filters_limit_the_dags(airflow: Any) -> None:
    adapter = _adapter(airflow, dag_glob="asset_*", mappings={})
    try:
        keys = {str(spec.key) for spec in adapter.discover().assets}
    finally:
        adapter.close()
    assert keys == {
        "af/asset_producer",
        "af/asset_consumer",
        "af/assets/raw_orders",
        "af/assets/clean_orders",
    }


def test_incremental_observation_across_syncs_records_nothing_twice(
    airflow: Any, adapter: AirflowAdapter, store: Store
) -> None:
    def catchup_done() -> bool:
        runs = airflow.get("/api/v2/dags/daily_catchup/dagRuns", state="success")
        return int(runs["total_entries"]) >= 2

    airflow.wait_for(catchup_done, "the daily DAG's catchup runs", timeout=240)
    first = _sync(adapter, store)
    # the daily catchup DAG has history of its own (scheduled runs since two days ago)
    history = [e for _, e in store.events(asset_key=K("af/daily_catchup"), limit=100)]
    assert first > 0 and history
    assert all(e.partition and len(e.partition) == 10 for e in history)
    sent: list[Event] = []
    request = RunRequest(assets=(K("shop/loaded_totals"),), idempotency_key=f"obs-{time.time_ns()}")
    handle = _run_to_end(adapter, adapter.launch(request, sent.extend), sent.extend)
    assert handle.state is RunState.SUCCEEDED
    assert handle.metadata["tasks"] == {"extract": "success", "transform": "success", "load": "success"}
    second = _sync(adapter, store)
    assert second >= 3  # DAG materialization, run succeeded, the mapped task's materialization
    loaded = [e for _, e in store.events(asset_key=K("shop/loaded_totals"), limit=100)]
    assert [e.run_id for e in loaded] == [handle.run_id]
    assert (
        store.asset_states([K("shop/loaded_totals")])[K("shop/loaded_totals")].status
        is AssetStatus.MATERIALIZED
    )
    assert _sync(adapter, store) == 0  # the overlap re-reads, nothing is recorded twice
    finished = {e.event_id for e in sent if e.kind is not EventKind.RUN_STARTED}
    assert finished and finished <= {e.event_id for _, e in store.events(limit=1000)}


def test_partitioned_trigger_is_idempotent(adapter: AirflowAdapter, store: Store) -> None:
    adapter.discover()
    key = f"part-{time.time_ns()}"
    partition = f"2024-{time.gmtime().tm_mon:02d}-{(time.time_ns() // 10**9) % 27 + 1:02d}"
    request = RunRequest(assets=(K("shop/daily_report"),), idempotency_key=key, partition=partition)
    sent: list[Event] = []
    handle = adapter.launch(request, sent.extend)
    again = adapter.launch(request, sent.extend)  # a retried trigger finds the same run
    assert again.run_id == handle.run_id == f"lockgate__{key}"
    assert handle.metadata["created"] is True and again.metadata["created"] is False
    done = _run_to_end(adapter, handle, sent.extend)
    assert done.state is RunState.SUCCEEDED
    materialized = [e for e in sent if isinstance(e, Materialization)]
    assert {str(e.asset_key) for e in materialized} == {"af/daily_manual", "shop/daily_report"}
    assert {e.partition for e in materialized} == {partition}
    runs = adapter.client.dag_runs(None)
    assert sum(r.run_id == handle.run_id for r in runs) == 1
    logical = next(r.logical_date for r in runs if r.run_id == handle.run_id)
    assert logical == datetime.fromisoformat(partition).replace(tzinfo=UTC)
    other = RunRequest(assets=(K("shop/daily_report"),), idempotency_key=key + "-x", partition=partition)
    with pytest.raises(LaunchError, match="another run already has the logical date"):
        adapter.launch(other, sent.extend)


def test_bad_partition_and_unpartitioned_dag(adapter: AirflowAdapter) -> None:
    adapter.discover()
    with pytest.raises(Exception, match="not a daily partition key"):
        adapter.launch(
            RunRequest(assets=(K("af/daily_manual"),), idempotency_key="x", partition="May 1"), print
        )
    with pytest.raises(Exception, match="not time-partitioned"):
        adapter.launch(
            RunRequest(assets=(K("af/classic_bash"),), idempotency_key="y", partition="2024-01-01"), print
        )


@ONLY3
def test_paused_dag_is_refused_unless_unpause_is_allowed(airflow: Any, adapter: AirflowAdapter) -> None:
    adapter.discover()
    adapter.client.set_paused("classic_bash", True)
    request = RunRequest(assets=(K("af/classic_bash"),), idempotency_key=f"p-{time.time_ns()}")
    with pytest.raises(LaunchError, match="'classic_bash' is paused"):
        adapter.launch(request, print)
    allowed = _adapter(airflow, allow_unpause=True)
    try:
        handle = allowed.launch(request, lambda events: None)
        assert handle.state in (RunState.QUEUED, RunState.RUNNING)
        assert allowed.client.dag("classic_bash").is_paused is False
        assert _run_to_end(allowed, handle, lambda events: None).state is RunState.SUCCEEDED
    finally:
        allowed.client.set_paused("classic_bash", False)
        allowed.close()


@ONLY3
def test_added_and_removed_dags_show_on_the_next_sync(
    airflow: Any, adapter: AirflowAdapter, store: Store
) -> None:
    source = (
        "import pendulum\nfrom airflow.sdk import DAG\n"
        "from airflow.providers.standard.operators.empty import EmptyOperator\n"
        "with DAG(dag_id='added_later', schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz='UTC')):\n"
        "    EmptyOperator(task_id='only')\n"
    )
    _sync(adapter, store)
    assert K("af/added_later") not in {s.key for s in store.asset_specs()}
    airflow.write_dag("added_later.py", source)
    try:
        airflow.wait_for(lambda: "added_later" in airflow.dag_ids(), "the new DAG to be listed")
        _sync(adapter, store)
        assert K("af/added_later") in {s.key for s in store.asset_specs()}
    finally:
        airflow.remove_dag("added_later.py")
    airflow.wait_for(lambda: "added_later" not in airflow.dag_ids(), "the removed DAG to go stale")
    _sync(adapter, store)
    assert K("af/added_later") not in {s.key for s in store.asset_specs()}
    assert K("af/added_later") in {s.key for s in store.asset_specs(include_removed=True)}
