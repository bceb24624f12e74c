"""The shop built with dbt-postgres against the session's real PostgreSQL server."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest

from lockgate.adapters.dbt import plugin
from lockgate.adapters.dbt.config import DbtConfig
from lockgate.federation.adapter import RunRequest, RunState
from lockgate.federation.events import Event, Materialization
from lockgate.federation.keys import AssetKey, DatasetRef

pytestmark = [pytest.mark.dbt, pytest.mark.postgres]


def test_build_on_postgres_streams_events_and_names_postgres_datasets(
    postgres: Any,
    shop_project: Path,
    make_config: Callable[..., DbtConfig],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dbname = f"shop_{uuid.uuid4().hex[:8]}"
    postgres.create_database(dbname)
    monkeypatch.setenv("SHOP_TARGET", "postgres")
    monkeypatch.setenv("SHOP_PG_HOST", postgres.host)
    monkeypatch.setenv("SHOP_PG_PORT", str(postgres.port))
    monkeypatch.setenv("SHOP_PG_USER", postgres.user)
    monkeypatch.setenv("SHOP_PG_DBNAME", dbname)
    adapter = plugin.create(make_config(project_dir=str(shop_project)))
    found = adapter.discover()
    orders = next(a for a in found.assets if a.key == AssetKey.parse("shop/finance/orders"))
    assert orders.kinds == ("dbt", "table", "postgres")
    assert orders.dataset == DatasetRef(
        namespace=f"postgres://{postgres.host}:{postgres.port}", name=f"{dbname}.public.fct_orders"
    )

    events: list[Event] = []

    def sink(batch: Sequence[Event]) -> None:
        events.extend(batch)

    daily = AssetKey.parse("shop/fct_orders_daily")
    keys = tuple(adapter.translation().selectors)  # every model, seed and snapshot
    handle = adapter.launch(RunRequest(assets=keys, idempotency_key="pg-1", partition="2024-01-03"), sink)
    assert handle.state is RunState.SUCCEEDED, handle.message
    assert daily in {e.asset_key for e in events if isinstance(e, Materialization)}
    with psycopg.connect(postgres.dsn(dbname)) as conn:
        rows = conn.execute(
            "select order_date::text, loaded_partition from public.fct_orders_daily"
        ).fetchall()
    assert rows == [("2024-01-03", "2024-01-03")]
    observed = adapter.observe(None)
    assert {e.event_id for e in observed.events} <= {e.event_id for e in events}
    assert {e.partition for e in observed.events} == {"2024-01-03"}
