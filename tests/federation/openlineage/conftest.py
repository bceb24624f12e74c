"""Fixtures for the OpenLineage tests: the offline schema validator, a validating client, and a
small dbt + Airflow graph with its events."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from lockgate.federation.events import CheckEvaluated, Event, Materialization, RunFailed, RunSucceeded
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey, DatasetRef
from lockgate.federation.specs import AssetSpec, CheckStatus, ColumnSpec, Origin, Severity

T0 = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)
DUCK = "duckdb:///data/shop.duckdb"
PG = "postgres://db.example:5432"
INVOCATION = "4b6f9d8e-0000-4000-8000-000000000001"
COMPILED = (
    'select o.id as order_id, o.amount as amount, c.name as customer from "shop"."main"."stg_orders" o '
    'join "shop"."main"."stg_customers" c on c.id = o.customer_id'
)


def _load_schema_module() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "openlineage_schema.py"
    spec = importlib.util.spec_from_file_location("lockgate_tests_openlineage_schema", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCHEMA = _load_schema_module()


def assert_valid(events: Iterable[Mapping[str, Any]]) -> int:
    count: int = SCHEMA.assert_valid(events)
    return count


def event_errors(event: Mapping[str, Any]) -> list[str]:
    errors: list[str] = SCHEMA.event_errors(event)
    return errors


class Collector:
    """A client that validates every event against the schemas as it is emitted, and keeps it.
    ``fail`` makes the next emits raise, as a dead endpoint would."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail: Exception | None = None

    def emit(self, event: Mapping[str, Any]) -> None:
        if self.fail is not None:
            raise self.fail
        assert_valid([event])
        self.events.append(dict(event))

    def close(self) -> None:
        pass


@pytest.fixture
def collector() -> Collector:
    return Collector()


def dbt_spec(
    name: str, deps: tuple[str, ...] = (), *, columns: tuple[ColumnSpec, ...] = (), sql: str = "", **kw: Any
) -> AssetSpec:
    resource = "source" if name.startswith("raw_") else "model"
    unique_id = f"{resource}.shop.{name}"
    meta: dict[str, Any] = {"unique_id": unique_id, "resource_type": resource}
    if sql:
        meta["compiled_code"] = sql
    return AssetSpec(
        key=AssetKey.of("shop", name),
        origin=Origin(system="dbt", adapter="dbt", external_id=unique_id),
        deps=tuple(AssetKey.of("shop", d) for d in deps),
        dataset=DatasetRef(namespace=DUCK, name=f"shop.main.{name}"),
        metadata=meta,
        kinds=("dbt", "table", "duckdb"),
        columns=columns,
        external=resource == "source",
        **kw,
    )


def airflow_spec(dag: str, task: str, table: str, deps: tuple[AssetKey, ...] = ()) -> AssetSpec:
    return AssetSpec(
        key=AssetKey.of("warehouse", table),
        origin=Origin(system="airflow", adapter="airflow", external_id=f"{dag}.{task}"),
        deps=deps,
        dataset=DatasetRef(namespace=PG, name=f"analytics.public.{table}"),
        metadata={"dag_id": dag, "task_id": task},
        owners=("team-data",),
    )


def make_specs() -> list[AssetSpec]:
    cols = (
        ColumnSpec(name="order_id", data_type="integer", description="the order"),
        ColumnSpec(name="amount", data_type="numeric"),
        ColumnSpec(name="customer", data_type="text"),
    )
    return [
        dbt_spec("raw_orders"),
        dbt_spec("stg_orders", ("raw_orders",)),
        dbt_spec("stg_customers"),
        dbt_spec(
            "orders",
            ("stg_orders", "stg_customers"),
            columns=cols,
            description="One row per order.",
            owners=("ana@example.com",),
            sql=COMPILED,
        ),
        airflow_spec("export", "load", "orders_export", (AssetKey.of("shop", "orders"),)),
        airflow_spec("export", "publish", "orders_public", (AssetKey.of("warehouse", "orders_export"),)),
        AssetSpec(
            key=AssetKey.of("airflow", "export"),
            origin=Origin(system="airflow", adapter="airflow", external_id="export"),
            metadata={"dag_id": "export"},
        ),
    ]


@pytest.fixture
def graph() -> AssetGraph:
    return AssetGraph.build(make_specs())


def dbt_events(invocation: str = INVOCATION, *, fail: bool = False) -> list[Event]:
    key = AssetKey.of("shop", "orders")
    common: dict[str, Any] = {"adapter": "dbt", "run_id": invocation, "partition": "2024-04-30"}
    events: list[Event] = [
        Materialization(
            event_id=f"dbt:{invocation}:model.shop.stg_orders:materialization",
            timestamp=T0 + timedelta(seconds=10),
            asset_key=AssetKey.of("shop", "stg_orders"),
            metadata={"unique_id": "model.shop.stg_orders", "execution_time": 4.5, "rows_affected": 12},
            **common,
        ),
        CheckEvaluated(
            event_id=f"dbt:{invocation}:test.shop.not_null_orders_order_id:check_evaluated",
            timestamp=T0 + timedelta(seconds=40),
            asset_key=key,
            check_name="not_null_orders_order_id",
            status=CheckStatus.PASSED,
            severity=Severity.ERROR,
            metadata={"column_name": "order_id"},
            **common,
        ),
    ]
    if fail:
        events.append(
            RunFailed(
                event_id=f"dbt:{invocation}:model.shop.orders:run_failed",
                timestamp=T0 + timedelta(seconds=30),
                asset_key=key,
                message="Database Error: relation does not exist",
                metadata={"unique_id": "model.shop.orders", "execution_time": 2.0},
                **common,
            )
        )
    else:
        events.append(
            Materialization(
                event_id=f"dbt:{invocation}:model.shop.orders:materialization",
                timestamp=T0 + timedelta(seconds=30),
                asset_key=key,
                metadata={"unique_id": "model.shop.orders", "execution_time": 8.0},
                **common,
            )
        )
    return events


def airflow_events(run_id: str = "scheduled__2024-04-30T00:00:00+00:00") -> list[Event]:
    logical = "2024-04-30T00:00:00+00:00"
    dag_meta = {"dag_id": "export", "state": "success", "logical_date": logical}
    out: list[Event] = []
    for i, (task, table) in enumerate((("load", "orders_export"), ("publish", "orders_public"))):
        out.append(
            Materialization(
                event_id=f"airflow:airflow:export:{run_id}:{task}:warehouse/{table}:materialization",
                adapter="airflow",
                timestamp=T0 + timedelta(minutes=5 + i),
                asset_key=AssetKey.of("warehouse", table),
                run_id=run_id,
                metadata={
                    "dag_id": "export",
                    "task_id": task,
                    "map_index": -1,
                    "try_number": 1,
                    "state": "success",
                    "start_date": (T0 + timedelta(minutes=4 + i)).isoformat(),
                },
            )
        )
    out.append(
        RunSucceeded(
            event_id=f"airflow:airflow:export:{run_id}:run_succeeded",
            adapter="airflow",
            asset_key=AssetKey.of("airflow", "export"),
            timestamp=T0 + timedelta(minutes=7),
            run_id=run_id,
            metadata=dag_meta,
        )
    )
    return out


class Kit:
    """The helpers above, handed to tests as the ``kit`` fixture (test modules cannot import a
    conftest under ``--import-mode=importlib``)."""

    T0 = T0
    INVOCATION = INVOCATION
    DUCK = DUCK
    PG = PG
    Collector = Collector
    assert_valid = staticmethod(assert_valid)
    event_errors = staticmethod(event_errors)
    make_specs = staticmethod(make_specs)
    dbt_spec = staticmethod(dbt_spec)
    dbt_events = staticmethod(dbt_events)
    airflow_events = staticmethod(airflow_events)
    schema_module = SCHEMA


@pytest.fixture
def kit() -> Kit:
    return Kit()
