"""Fixtures for the portal: a real SQLite store filled with a small shop-like estate (sources,
staging and marts from a dbt adapter, a Looker dashboard, checks, materializations, a failure)
plus an XSS corpus, an in-process launcher adapter, and the Flask app and client over them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lockgate.federation.adapter import Discovery, EventSink, ObserveResult, RunHandle, RunRequest, RunState
from lockgate.federation.events import CheckEvaluated, Event, Materialization, RunFailed, RunSucceeded
from lockgate.federation.keys import AssetKey, CheckKey, DatasetRef
from lockgate.federation.specs import AssetSpec, CheckSpec, CheckStatus, ColumnSpec, Origin
from lockgate.federation.store import Store
from lockgate.ui import PortalSettings, create_app

TOKEN = "test-token-0123456789abcdef"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
XSS = "<script>window.__xss=1</script>"
XSS_ATTR = '"\'><img src=x onerror="window.__xss=1">'
XSS_KEY_PART = "<img src=x onerror=window.__xss=1>"


def key(text: str) -> AssetKey:
    return AssetKey.parse(text)


def dbt(name: str, kind: str = "model") -> Origin:
    return Origin(system="dbt", adapter="shop", external_id=f"{kind}.shop.{name}")


def shop_specs() -> tuple[list[AssetSpec], list[CheckSpec]]:
    ns = "duckdb:///shop.duckdb"
    specs = [
        AssetSpec(
            key=key("shop/raw_orders"),
            origin=dbt("raw.orders", "source"),
            external=True,
            group="raw",
            description="Orders as the shop database writes them.",
            kinds=("source",),
        ),
        AssetSpec(
            key=key("shop/raw_customers"),
            origin=dbt("raw.customers", "source"),
            external=True,
            group="raw",
            kinds=("source",),
        ),
        AssetSpec(
            key=key("shop/stg_orders"),
            origin=dbt("stg_orders"),
            deps=(key("shop/raw_orders"),),
            group="staging",
            owners=("team-data",),
            kinds=("view",),
        ),
        AssetSpec(
            key=key("shop/stg_customers"),
            origin=dbt("stg_customers"),
            deps=(key("shop/raw_customers"),),
            group="staging",
            owners=("team-data",),
            kinds=("view",),
        ),
        AssetSpec(
            key=key("shop/orders"),
            origin=dbt("orders"),
            deps=(key("shop/stg_orders"), key("shop/stg_customers")),
            group="marts",
            owners=("team-data", "alice@example.com"),
            tags=("finance", "pii"),
            kinds=("table",),
            description="One row per **order**.\n\nSee [the docs](https://docs.getdbt.com/).",
            columns=(
                ColumnSpec(name="order_id", description="Primary key", data_type="integer"),
                ColumnSpec(name="amount", description="Total in cents", data_type="bigint"),
            ),
            dataset=DatasetRef(namespace=ns, name="main.orders"),
            code_version="sha256:abc123",
            url="http://127.0.0.1:8080/#!/model/model.shop.orders",
            metadata={"materialized": "table", "rows": 42},
        ),
        AssetSpec(
            key=key("shop/customers"),
            origin=dbt("customers"),
            deps=(key("shop/stg_customers"), key("shop/stg_orders")),
            group="marts",
            owners=("team-data",),
            kinds=("table",),
            description="One row per customer.",
        ),
        AssetSpec(
            key=key("looker/sales_dashboard"),
            origin=Origin(system="looker", adapter="bi", external_id="dashboard/7"),
            deps=(key("shop/orders"),),
            group="dashboards",
            owners=("team-bi",),
            kinds=("dashboard",),
            description="Weekly sales.",
        ),
    ]
    checks = [
        CheckSpec(key=CheckKey(asset=key("shop/orders"), name="not_null_order_id"), origin=dbt("t1", "test")),
        CheckSpec(
            key=CheckKey(asset=key("shop/customers"), name="unique_customer_id"), origin=dbt("t2", "test")
        ),
    ]
    return specs, checks


def shop_events() -> list[Event]:
    events: list[Event] = []
    for day in range(5):
        at = NOW - timedelta(days=5 - day)
        for name in ("stg_orders", "stg_customers", "orders"):
            events.append(
                Materialization(
                    event_id=f"m-{name}-{day}",
                    adapter="shop",
                    timestamp=at,
                    asset_key=key(f"shop/{name}"),
                    run_id=f"inv-{day}",
                )
            )
        events.append(RunSucceeded(event_id=f"run-{day}", adapter="shop", timestamp=at, run_id=f"inv-{day}"))
    events += [
        CheckEvaluated(
            event_id="c1",
            adapter="shop",
            timestamp=NOW,
            asset_key=key("shop/orders"),
            check_name="not_null_order_id",
            status=CheckStatus.PASSED,
            run_id="inv-4",
        ),
        CheckEvaluated(
            event_id="c2",
            adapter="shop",
            timestamp=NOW,
            asset_key=key("shop/customers"),
            check_name="unique_customer_id",
            status=CheckStatus.FAILED,
            failures=3,
            message="3 duplicate ids",
            run_id="inv-4",
        ),
        RunFailed(
            event_id="f1",
            adapter="shop",
            timestamp=NOW,
            asset_key=key("shop/customers"),
            run_id="inv-4",
            message="Database Error in model customers",
        ),
    ]
    return events


def xss_specs() -> list[AssetSpec]:
    origin = Origin(system="evil", adapter="evil", external_id=XSS)
    return [
        AssetSpec(
            key=AssetKey.of("evil", XSS_KEY_PART),
            origin=origin,
            description=f"{XSS}\n\n[click me](javascript:window.__xss=1) <img src=x onerror=window.__xss=1>",
            owners=(XSS_ATTR,),
            tags=(XSS,),
            group=XSS_ATTR,
            columns=(ColumnSpec(name=XSS_ATTR, description=XSS, data_type=XSS_ATTR),),
            metadata={XSS: XSS_ATTR, "link": "javascript:window.__xss=1", "nested": {"a": [XSS]}},
            url="javascript:window.__xss=1",
            code_version=XSS_ATTR,
            dataset=DatasetRef(namespace=XSS_ATTR, name=XSS),
        ),
        AssetSpec(
            key=AssetKey.of("evil", "quote\"'`<b>"),
            origin=Origin(system="evil", adapter="evil", external_id="q"),
            deps=(AssetKey.of("evil", XSS_KEY_PART),),
            description="[x](JaVaScRiPt:window.__xss=1) ![i](javascript:window.__xss=1)",
            url=" javascript:window.__xss=1",
        ),
    ]


class LaunchRecorder:
    """A real in-process adapter for launch tests: each launch materializes its assets."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.requests: list[RunRequest] = []
        self.closed = False

    def discover(self) -> Discovery:
        return Discovery(assets=())

    def observe(self, cursor: str | None) -> ObserveResult:
        return ObserveResult(events=(), cursor=cursor)

    def launch(self, request: RunRequest, sink: EventSink) -> RunHandle:
        self.requests.append(request)
        run_id = f"origin-{len(self.requests)}"
        now = datetime.now(UTC)
        sink(
            [
                Materialization(
                    event_id=f"{run_id}:{k}", adapter=self.name, timestamp=now, asset_key=k, run_id=run_id
                )
                for k in request.assets
            ]
        )
        return RunHandle(
            adapter=self.name, run_id=run_id, state=RunState.SUCCEEDED, url="http://127.0.0.1:1/run"
        )

    def poll(self, handle: RunHandle, sink: EventSink) -> RunHandle:
        return handle

    def close(self) -> None:
        self.closed = True


def fill(
    store: Store, specs: Sequence[AssetSpec], checks: Sequence[CheckSpec], events: Sequence[Event]
) -> None:
    by_adapter: dict[str, list[AssetSpec]] = {}
    for spec in specs:
        by_adapter.setdefault(spec.origin.adapter, []).append(spec)
    for adapter, group in sorted(by_adapter.items()):
        mine = [e for e in events if e.adapter == adapter]
        store.write_sync(
            adapter=adapter,
            kind=group[0].origin.system,
            started_at=NOW,
            discovery=Discovery(
                assets=tuple(group), checks=tuple(c for c in checks if c.origin.adapter == adapter)
            ),
            observed=ObserveResult(events=tuple(mine), cursor="1"),
        )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'lockgate.db'}")
    specs, checks = shop_specs()
    fill(opened, [*specs, *xss_specs()], checks, shop_events())
    yield opened
    opened.close()


@pytest.fixture
def launcher() -> LaunchRecorder:
    return LaunchRecorder("shop")


def make_app(store: Store, tmp_path: Path, adapters: dict[str, LaunchRecorder], **settings: object) -> Flask:
    conf = PortalSettings(write_token=settings.pop("token", TOKEN), refresh_seconds=0.0, **settings)  # type: ignore[arg-type]
    app = create_app(store=store, settings=conf, adapters=adapters, instance_path=tmp_path / "instance")
    app.config["TESTING"] = True
    return app


@pytest.fixture
def app(store: Store, tmp_path: Path, launcher: LaunchRecorder) -> Iterator[Flask]:
    flask_app = make_app(store, tmp_path, {"shop": launcher})
    yield flask_app
    flask_app.extensions["lockgate"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


MakePortal = Callable[..., Flask]


@pytest.fixture
def token() -> str:
    return TOKEN


@pytest.fixture
def make_portal(store: Store, tmp_path: Path) -> Iterator[MakePortal]:
    """Another app over the same store: ``make_portal(token=None, read_requires_token=True, ...)``."""
    made: list[Flask] = []

    def build(adapters: dict[str, LaunchRecorder] | None = None, **settings: object) -> Flask:
        made.append(make_app(store, tmp_path, adapters or {}, **settings))
        return made[-1]

    yield build
    for flask_app in made:
        flask_app.extensions["lockgate"].close()


@pytest.fixture
def add_assets(store: Store) -> Callable[[Sequence[AssetSpec]], None]:
    return lambda specs: fill(store, specs, [], [])


@pytest.fixture(scope="module")
def live_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Flask, LaunchRecorder]]:
    """The demo estate served over HTTP on 127.0.0.1 (a free port) for the browser tests."""
    import threading

    from werkzeug.serving import make_server

    tmp = tmp_path_factory.mktemp("portal")
    live_store = Store.open(f"sqlite:///{tmp / 'lockgate.db'}")
    specs, checks = shop_specs()
    fill(live_store, [*specs, *xss_specs()], checks, shop_events())
    recorder = LaunchRecorder("shop")
    flask_app = make_app(live_store, tmp, {"shop": recorder})
    server = make_server("127.0.0.1", 0, flask_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", flask_app, recorder
    server.shutdown()
    thread.join(timeout=10)
    flask_app.extensions["lockgate"].close()
    live_store.close()
