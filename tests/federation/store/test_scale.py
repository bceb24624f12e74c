"""A 10k-model dbt project's first sync: ~11k assets, 20k checks, 30k events in one write_sync.

This checks the bulk write paths (executemany on SQLite, COPY on PostgreSQL) at a realistic size.
It asserts counts and derived status only: timings belong in benchmarks/ (bench_dbt_ingest.py
times the same write against the orjson floor), never in a unit test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lockgate.federation.adapter import Discovery, ObserveResult
from lockgate.federation.events import CheckEvaluated, Event, Materialization
from lockgate.federation.keys import AssetKey, CheckKey, DatasetRef
from lockgate.federation.specs import AssetSpec, CheckSpec, CheckStatus, ColumnSpec, Origin
from lockgate.federation.status import AssetStatus
from lockgate.federation.store import Store

MODELS, SOURCES, TESTS = 10_000, 1_000, ("not_null_id", "unique_id")
T0 = datetime(2024, 1, 1, tzinfo=UTC)
NAMESPACE = "postgres://127.0.0.1:5432"


def _origin(external_id: str) -> Origin:
    return Origin(system="dbt", adapter="dbt", external_id=external_id)


def dbt_project() -> tuple[Discovery, ObserveResult]:
    assets = [
        AssetSpec(
            key=AssetKey.of("raw", f"src_{i}"),
            origin=_origin(f"source.shop.raw.src_{i}"),
            external=True,
            kinds=("source",),
            dataset=DatasetRef(namespace=NAMESPACE, name=f"db.raw.src_{i}"),
        )
        for i in range(SOURCES)
    ]
    checks: list[CheckSpec] = []
    events: list[Event] = []
    for i in range(MODELS):
        key = AssetKey.of("shop", f"model_{i}")
        deps = (
            AssetKey.of("raw", f"src_{i % SOURCES}"),
            *((AssetKey.of("shop", f"model_{i - 1}"),) if i else ()),
        )
        assets.append(
            AssetSpec(
                key=key,
                origin=_origin(f"model.shop.model_{i}"),
                deps=deps,
                description=f"Model {i} of the shop",
                group="marts",
                owners=("team-data",),
                tags=("nightly",),
                kinds=("table", "postgres"),
                metadata={"materialized": "table", "schema": "marts"},
                columns=(ColumnSpec(name="id", data_type="bigint"), ColumnSpec(name="amount")),
                dataset=DatasetRef(namespace=NAMESPACE, name=f"db.marts.model_{i}"),
                code_version="3f2a",
            )
        )
        at = T0 + timedelta(seconds=i)
        events.append(
            Materialization(event_id=f"dbt:inv:{i}", adapter="dbt", timestamp=at, asset_key=key, run_id="inv")
        )
        for name in TESTS:
            checks.append(CheckSpec(key=CheckKey(key, name), origin=_origin(f"test.shop.{name}_{i}")))
            events.append(
                CheckEvaluated(
                    event_id=f"dbt:inv:{name}:{i}",
                    adapter="dbt",
                    timestamp=at,
                    asset_key=key,
                    run_id="inv",
                    check_name=name,
                    status=CheckStatus.PASSED,
                    failures=0,
                )
            )
    return Discovery(assets=tuple(assets), checks=tuple(checks)), ObserveResult(
        events=tuple(events), cursor="inv"
    )


@pytest.mark.slow
def test_first_sync_of_a_10k_model_project(store_url: str) -> None:
    discovery, observed = dbt_project()
    with Store.open(store_url) as store:
        state = store.write_sync(
            adapter="dbt", kind="dbt", started_at=T0, discovery=discovery, observed=observed
        )
        again = store.write_sync(
            adapter="dbt", kind="dbt", started_at=T0, discovery=discovery, observed=observed
        )
        assert (state.assets, state.checks, state.new_events) == (11_000, 20_000, 30_000)
        assert again.new_events == 0
        assert len(store.asset_specs()) == 11_000
        states = store.asset_states()
        assert sum(s.status is AssetStatus.MATERIALIZED for s in states.values()) == MODELS
        assert len(store.latest_check_results()) == 20_000
