"""The sync service over a real SQLite store and small in-test adapters (Protocol implementations)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lockgate.federation.adapter import (
    Discovery,
    EventSink,
    ObserveResult,
    RunHandle,
    RunRequest,
    RunState,
)
from lockgate.federation.errors import AdapterError, LaunchError, UnknownAssetError
from lockgate.federation.events import EventKind, Materialization, RunRequested
from lockgate.federation.keys import AssetKey
from lockgate.federation.redact import clear_secrets, register_secret
from lockgate.federation.specs import AssetSpec, Origin
from lockgate.federation.status import AssetStatus
from lockgate.federation.store import Store
from lockgate.federation.sync import (
    SyncProgress,
    build_graph,
    idempotency_key,
    launch,
    sync_all,
    wait,
)
from lockgate.federation.workspace import AdapterEntry, Workspace

NOW = datetime(2024, 5, 1, tzinfo=UTC)


def spec(adapter: str, name: str, *deps: str, external: bool = False) -> AssetSpec:
    return AssetSpec(
        key=AssetKey.of(adapter, name),
        origin=Origin(system="fake", adapter=adapter, external_id=name),
        deps=tuple(AssetKey.of(adapter, d) for d in deps),
        external=external,
    )


@dataclass
class FakeAdapter:
    """A tiny system: fixed specs, one materialization per observe, launches that finish at once."""

    name: str
    specs: tuple[AssetSpec, ...] = ()
    fail_with: Exception | None = None
    launches: list[RunRequest] = field(default_factory=list)
    polls: int = 0
    closed: int = 0

    def discover(self) -> Discovery:
        if self.fail_with:
            raise self.fail_with
        return Discovery(assets=self.specs)

    def observe(self, cursor: str | None) -> ObserveResult:
        n = int(cursor or 0) + 1
        event = Materialization(
            event_id=f"{self.name}:{n}", adapter=self.name, timestamp=NOW, asset_key=self.specs[0].key
        )
        return ObserveResult(events=(event,), cursor=str(n))

    def launch(self, request: RunRequest, sink: EventSink) -> RunHandle:
        self.launches.append(request)
        sink(
            [
                Materialization(
                    event_id=f"{request.idempotency_key}:{key}",
                    adapter=self.name,
                    timestamp=NOW,
                    asset_key=key,
                )
                for key in request.assets
            ]
        )
        return RunHandle(adapter=self.name, run_id=request.idempotency_key, state=RunState.RUNNING)

    def poll(self, handle: RunHandle, sink: EventSink) -> RunHandle:
        self.polls += 1
        return RunHandle(adapter=self.name, run_id=handle.run_id, state=RunState.SUCCEEDED)

    def close(self) -> None:
        self.closed += 1


def workspace(tmp_path: Path, *names: str) -> Workspace:
    entries = tuple(AdapterEntry(name=n, kind="fake", config=None, where=f"test: {n}") for n in names)
    return Workspace(
        path=tmp_path / "lockgate.yaml", store_url=f"sqlite:///{tmp_path}/s.db", adapters=entries
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path}/s.db")
    yield opened
    opened.close()
    clear_secrets()


def test_sync_records_every_adapter_and_moves_cursors(tmp_path: Path, store: Store) -> None:
    a = FakeAdapter("a", (spec("a", "raw", external=True), spec("a", "orders", "raw")))
    b = FakeAdapter("b", (spec("b", "report"),))
    steps: list[SyncProgress] = []
    summary = sync_all(workspace(tmp_path, "a", "b"), store, {"a": a, "b": b}, progress=steps.append)
    assert summary.ok and summary.exit_code == 0
    assert [(r.adapter, r.assets, r.new_events) for r in summary.results] == [("a", 2, 1), ("b", 1, 1)]
    assert store.cursor("a") == "1"
    assert [s.stage for s in steps if s.adapter == "a"] == ["discover", "observe", "write", "done"]
    assert a.closed == 0  # the caller owns adapters it passes in
    summary = sync_all(workspace(tmp_path, "a", "b"), store, {"a": a, "b": b})
    assert store.cursor("a") == "2" and summary.results[0].new_events == 1


def test_a_failing_adapter_is_recorded_redacted_and_the_others_go_on(tmp_path: Path, store: Store) -> None:
    register_secret("tok-123456")
    bad = FakeAdapter("bad", fail_with=AdapterError("the API refused token tok-123456", where="bad"))
    good = FakeAdapter("good", (spec("good", "x"),))
    summary = sync_all(workspace(tmp_path, "bad", "good"), store, {"bad": bad, "good": good})
    assert not summary.ok and summary.exit_code == 1
    failed, ok = summary.results
    assert failed.error is not None and "***" in failed.error and "tok-123456" not in failed.error
    assert ok.ok and ok.assets == 1
    states = {s.adapter: s for s in store.sync_states()}
    assert states["bad"].error == failed.error
    assert states["good"].error is None
    assert [str(s.key) for s in store.asset_specs()] == ["good/x"]


def test_unexpected_exceptions_are_not_swallowed(tmp_path: Path, store: Store) -> None:
    bad = FakeAdapter("bad", fail_with=RuntimeError("bug"))
    with pytest.raises(RuntimeError, match="bug"):
        sync_all(workspace(tmp_path, "bad"), store, {"bad": bad})


def test_idempotency_key_is_deterministic() -> None:
    keys = [AssetKey.of("a", "y"), AssetKey.of("a", "x")]
    first = idempotency_key("a", keys, "2024-05-01", "n1")
    assert first == idempotency_key("a", list(reversed(keys)), "2024-05-01", "n1")
    assert first != idempotency_key("a", keys, "2024-05-02", "n1")
    assert first != idempotency_key("a", keys, "2024-05-01", "n2")
    assert first.startswith("lg-") and len(first) == 35


def synced(tmp_path: Path, store: Store) -> tuple[FakeAdapter, FakeAdapter]:
    a = FakeAdapter(
        "a", (spec("a", "raw", external=True), spec("a", "orders", "raw"), spec("a", "daily", "orders"))
    )
    b = FakeAdapter("b", (spec("b", "report"),))
    assert sync_all(workspace(tmp_path, "a", "b"), store, {"a": a, "b": b}).ok
    return a, b


def test_launch_groups_by_adapter_records_requests_and_events(tmp_path: Path, store: Store) -> None:
    a, b = synced(tmp_path, store)
    graph = build_graph(store)
    keys = [AssetKey.of("a", "daily"), AssetKey.of("b", "report"), AssetKey.of("a", "orders")]
    outcomes = launch(graph, store, {"a": a, "b": b}, keys, partition="2024-05-01", nonce="n")
    assert [o.adapter for o in outcomes] == ["a", "b"]
    assert a.launches[0].assets == (AssetKey.of("a", "daily"), AssetKey.of("a", "orders"))
    assert a.launches[0].idempotency_key == idempotency_key("a", a.launches[0].assets, "2024-05-01", "n")
    assert [str(e.asset_key) for e in outcomes[0].events] == ["a/daily", "a/orders"]
    requested = store.events(kinds=[EventKind.RUN_REQUESTED])
    assert [e.assets for _, e in requested if isinstance(e, RunRequested)] == [
        (AssetKey.of("a", "daily"), AssetKey.of("a", "orders")),
        (AssetKey.of("b", "report"),),
    ]
    assert store.asset_states([AssetKey.of("a", "daily")])[AssetKey.of("a", "daily")].status is (
        AssetStatus.MATERIALIZED
    )
    finished = wait(outcomes[0], a, store, interval=0)
    assert finished.ok and finished.handle is not None and finished.handle.state is RunState.SUCCEEDED
    assert a.polls == 1


def test_launch_refuses_external_assets_unless_skipped(tmp_path: Path, store: Store) -> None:
    a, _ = synced(tmp_path, store)
    graph = build_graph(store)
    with pytest.raises(LaunchError, match=r"external and cannot be materialized by lockgate: a/raw"):
        launch(graph, store, {"a": a}, [AssetKey.of("a", "raw"), AssetKey.of("a", "orders")])
    assert a.launches == [] and store.events(kinds=[EventKind.RUN_REQUESTED]) == []
    launch(graph, store, {"a": a}, [AssetKey.of("a", "raw"), AssetKey.of("a", "orders")], skip_external=True)
    assert a.launches[0].assets == (AssetKey.of("a", "orders"),)
    with pytest.raises(LaunchError, match="every selected asset is external"):
        launch(graph, store, {"a": a}, [AssetKey.of("a", "raw")], skip_external=True)


def test_launch_errors_for_unknown_keys_and_missing_adapters(tmp_path: Path, store: Store) -> None:
    a, _ = synced(tmp_path, store)
    graph = build_graph(store)
    with pytest.raises(UnknownAssetError, match="no asset has the key 'a/nope'"):
        launch(graph, store, {"a": a}, [AssetKey.of("a", "nope")])
    with pytest.raises(LaunchError, match="needs the adapter"):
        launch(graph, store, {"a": a}, [AssetKey.of("b", "report")])


@dataclass
class RefusingAdapter(FakeAdapter):
    def launch(self, request: RunRequest, sink: EventSink) -> RunHandle:
        what = "the system said no"
        raise LaunchError(what, where=self.name)


def test_a_launch_error_becomes_that_outcomes_error(tmp_path: Path, store: Store) -> None:
    a, b = synced(tmp_path, store)
    refusing = RefusingAdapter("a", a.specs)
    graph = build_graph(store)
    outcomes = launch(
        graph, store, {"a": refusing, "b": b}, [AssetKey.of("a", "orders"), AssetKey.of("b", "report")]
    )
    assert [o.ok for o in outcomes] == [False, True]
    assert outcomes[0].error is not None and "the system said no" in outcomes[0].error
