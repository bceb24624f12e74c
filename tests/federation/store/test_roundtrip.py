"""Every spec and event type goes into the store and comes back equal, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from lockgate.federation.adapter import Discovery, ObserveResult
from lockgate.federation.errors import StoreError
from lockgate.federation.events import (
    EVENT_TYPES,
    CheckEvaluated,
    Event,
    Materialization,
    Observation,
    RunFailed,
    RunRequested,
    RunStarted,
    RunSucceeded,
)
from lockgate.federation.keys import AssetKey, CheckKey, DatasetRef
from lockgate.federation.specs import (
    AssetSpec,
    CheckSpec,
    CheckStatus,
    ColumnSpec,
    Metadata,
    Origin,
    Severity,
)
from lockgate.federation.store import Store, codec

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
ORIGIN = Origin(system="dbt", adapter="shop", external_id="model.shop.orders")
ORDERS = AssetKey.of("shop", "marts", "orders")
META: Metadata = {
    "rows": 12,
    "ratio": 0.5,
    "ok": True,
    "none": None,
    "nested": {"list": [1, "two", [3.0]]},
    "ü": "ß",
}

FULL_ASSET = AssetSpec(
    key=ORDERS,
    origin=ORIGIN,
    deps=(AssetKey.of("raw", "orders"), AssetKey.of(" spaced ", "key:with:colons")),
    description="Orders, one row per order",
    group="marts",
    owners=("team-data", "alice@example.com"),
    tags=("pii", "nightly"),
    kinds=("table", "postgres"),
    metadata=META,
    columns=(
        ColumnSpec(name="id", description="the key", data_type="bigint", tags=("pk",)),
        ColumnSpec(name="amount"),
    ),
    dataset=DatasetRef(namespace="postgres://127.0.0.1:5432", name="analytics.marts.orders"),
    code_version="3f2a",
    external=True,
    url="http://docs.example/#!/model/model.shop.orders",
)
MINIMAL_ASSET = AssetSpec(key=AssetKey.of("minimal"), origin=ORIGIN)
FULL_CHECK = CheckSpec(
    key=CheckKey(ORDERS, "unique_id"),
    origin=Origin(system="dbt", adapter="shop", external_id="test.shop.unique_orders_id"),
    description="ids are unique",
    severity=Severity.WARN,
    blocking=False,
    additional_deps=(AssetKey.of("raw", "customers"),),
    metadata=META,
)
MINIMAL_CHECK = CheckSpec(key=CheckKey(AssetKey.of("minimal"), "n:o:t"), origin=ORIGIN)

COMMON = {
    "adapter": "shop",
    "asset_key": ORDERS,
    "partition": "2024-03-01",
    "run_id": "inv-1",
    "metadata": META,
}
ALL_EVENTS: tuple[Event, ...] = (
    Materialization(event_id="e-mat", timestamp=T0, **COMMON),  # type: ignore[arg-type]
    Observation(event_id="e-obs", timestamp=T0 + timedelta(seconds=1), **COMMON),  # type: ignore[arg-type]
    CheckEvaluated(
        event_id="e-check",
        timestamp=T0 + timedelta(microseconds=7),
        check_name="unique_id",
        status=CheckStatus.WARNED,
        severity=Severity.WARN,
        message="3 duplicates",
        failures=3,
        **COMMON,  # type: ignore[arg-type]
    ),
    RunRequested(
        event_id="e-req",
        adapter="shop",
        timestamp=T0,
        assets=(ORDERS, AssetKey.of("raw", "orders")),
        reason="eager: upstream updated",
    ),
    RunStarted(event_id="e-start", adapter="shop", timestamp=T0, run_id="inv-1"),
    RunSucceeded(event_id="e-ok", adapter="shop", timestamp=T0, asset_key=ORDERS),
    RunFailed(event_id="e-fail", adapter="shop", timestamp=T0, asset_key=ORDERS, message="boom\nline 2"),
    Materialization(event_id="e-min", adapter="shop", timestamp=T0),
)


def test_the_fixtures_cover_every_event_type() -> None:
    assert {type(event) for event in ALL_EVENTS} == set(EVENT_TYPES.values())


@pytest.mark.parametrize("spec", [FULL_ASSET, MINIMAL_ASSET], ids=["full", "minimal"])
def test_asset_spec_codec_is_exact(spec: AssetSpec) -> None:
    assert (
        codec.asset_spec_from_doc(codec.loads(codec.encode(codec.asset_spec_to_doc(spec), where="t"))) == spec
    )


@pytest.mark.parametrize("event", ALL_EVENTS, ids=lambda e: type(e).__name__)
def test_event_codec_is_exact(event: Event) -> None:
    decoded = codec.event_from_doc(codec.loads(codec.encode(codec.event_to_doc(event), where="t")))
    assert decoded == event
    assert type(decoded) is type(event)


def test_specs_round_trip_through_the_store(store_url: str) -> None:
    with Store.open(store_url) as store:
        discovery = Discovery(assets=(FULL_ASSET, MINIMAL_ASSET), checks=(FULL_CHECK, MINIMAL_CHECK))
        store.write_sync(adapter="shop", kind="dbt", started_at=T0, discovery=discovery, observed=None)
        assert store.asset_specs() == [MINIMAL_ASSET, FULL_ASSET]
        assert store.check_specs() == [MINIMAL_CHECK, FULL_CHECK]


def test_events_round_trip_through_the_store(store_url: str) -> None:
    with Store.open(store_url) as store:
        assert store.record_events(ALL_EVENTS) == len(ALL_EVENTS)
        logged = store.events(limit=1000)
        assert [event for _, event in logged] == list(ALL_EVENTS)
        assert [type(event) for _, event in logged] == [type(event) for event in ALL_EVENTS]
        ids = [log_id for log_id, _ in logged]
        assert ids == sorted(ids)
        assert len(set(ids)) == len(ids)


def test_timestamps_in_other_zones_come_back_as_the_same_instant_in_utc(store_url: str) -> None:
    plus_two = timezone(timedelta(hours=2))
    event = Materialization(event_id="tz", adapter="a", timestamp=datetime(2024, 1, 1, 14, tzinfo=plus_two))
    with Store.open(store_url) as store:
        store.record_events([event])
        [(_, back)] = store.events()
    assert back == event
    assert back.timestamp.utcoffset() == timedelta(0)
    assert back.timestamp.hour == 12


def test_a_naive_timestamp_is_refused_naming_the_event(store_url: str) -> None:
    event = Materialization(event_id="naive-1", adapter="a", timestamp=datetime(2024, 1, 1))
    with Store.open(store_url) as store, pytest.raises(StoreError) as caught:
        store.record_events([event])
    assert "naive-1" in str(caught.value)
    assert "time zone" in str(caught.value)


@pytest.mark.parametrize(
    "bad",
    [{"when": T0}, {"key": ORDERS}, {1: "int key"}, {"set": {1, 2}}],
    ids=["datetime", "dataclass", "intkey", "set"],
)
def test_metadata_that_is_not_json_is_refused(store_url: str, bad: dict[object, object]) -> None:
    event = Observation(event_id="bad-meta", adapter="a", timestamp=T0, metadata=bad)  # type: ignore[arg-type]
    with Store.open(store_url) as store:
        with pytest.raises(StoreError) as caught:
            store.record_events([event])
        assert "bad-meta" in str(caught.value)
        assert "JSON" in str(caught.value)
        spec = AssetSpec(key=ORDERS, origin=ORIGIN, metadata=bad)  # type: ignore[arg-type]
        with pytest.raises(StoreError, match="shop/marts/orders"):
            store.write_sync(
                adapter="shop", kind="dbt", started_at=T0, discovery=Discovery(assets=(spec,)), observed=None
            )


def test_observe_result_round_trips_with_cursor(store_url: str) -> None:
    with Store.open(store_url) as store:
        observed = ObserveResult(events=ALL_EVENTS[:3], cursor="c-1")
        store.write_sync(adapter="shop", kind="dbt", started_at=T0, discovery=None, observed=observed)
        assert store.cursor("shop") == "c-1"
        assert [e for _, e in store.events()] == list(ALL_EVENTS[:3])
