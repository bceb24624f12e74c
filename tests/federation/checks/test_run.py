"""evaluate_checks end to end on a real store and a real SQLite warehouse, and the effect of a
failing blocking SQL check on the automation evaluator's checks_passed()."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from lockgate.federation.adapter import Discovery, ObserveResult
from lockgate.federation.automation import checks_passed
from lockgate.federation.automation.tick import Automation
from lockgate.federation.checks import parse_sections
from lockgate.federation.checks.run import check_specs, evaluate_checks
from lockgate.federation.errors import SelectionError
from lockgate.federation.events import Materialization
from lockgate.federation.keys import AssetKey, CheckKey
from lockgate.federation.specs import AssetSpec, CheckStatus, Origin
from lockgate.federation.store import Store
from lockgate.federation.sync import build_graph

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


def key(name: str) -> AssetKey:
    return AssetKey.of(name)


def asset(name: str, *deps: str) -> AssetSpec:
    return AssetSpec(
        key=key(name),
        origin=Origin(system="dbt", adapter="dbt", external_id=name),
        deps=tuple(map(key, deps)),
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'lockgate.db'}")
    opened.write_sync(
        adapter="dbt",
        kind="dbt",
        started_at=T0,
        discovery=Discovery(
            assets=(asset("raw"), asset("orders", "raw"), asset("report", "orders"), asset("other"))
        ),
        observed=ObserveResult(
            events=(Materialization(event_id="m1", adapter="dbt", timestamp=T0, asset_key=key("orders")),),
            cursor="1",
        ),
    )
    yield opened
    opened.close()


@pytest.fixture
def warehouse(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE orders (id integer)"))
        conn.execute(text("INSERT INTO orders (id) VALUES (1), (NULL)"))
    engine.dispose()
    return url


def declared(url: str, *extra: dict[str, Any]) -> Any:
    return parse_sections(
        [
            {"select": "orders or report", "freshness": {"max_lag": "6h"}},
            {
                "select": "orders",
                "blocking": True,
                "sql": {"connection": "wh", "not_null": "id", "table": "orders"},
            },
            *extra,
        ],
        {"wh": {"url": url}},
        file="lockgate.yaml",
    )


def test_records_results_and_specs_once(store: Store, warehouse: str) -> None:
    checks = declared(warehouse)
    graph = build_graph(store)
    first = evaluate_checks(checks, graph, store, T0 + timedelta(hours=1))
    statuses = {(str(e.asset_key), e.check_name): e.status for e in first.evaluated}
    assert statuses == {
        ("orders", "freshness"): CheckStatus.PASSED,
        ("report", "freshness"): CheckStatus.FAILED,
        ("orders", "not_null_id"): CheckStatus.FAILED,
    }
    assert first.recorded == 3
    names = {str(s.key) for s in store.check_specs() if s.origin.system == "lockgate"}
    assert names == {"orders:freshness", "report:freshness", "orders:not_null_id"}
    syncs = {s.adapter: s.started_at for s in store.sync_states()}
    # the next tick: nothing new to record, no SQL re-run, the specs are not rewritten
    again = evaluate_checks(checks, build_graph(store), store, T0 + timedelta(hours=2))
    assert again.recorded == 0 and {e.check_name for e in again.evaluated} == {"freshness"}
    assert {s.adapter: s.started_at for s in store.sync_states()} == syncs
    latest = store.latest_check_results([CheckKey(key("orders"), "not_null_id")])
    assert latest[CheckKey(key("orders"), "not_null_id")].status is CheckStatus.FAILED


def test_sql_checks_rerun_after_a_new_materialization(store: Store, warehouse: str) -> None:
    checks = declared(warehouse)
    evaluate_checks(checks, build_graph(store), store, T0 + timedelta(hours=1))
    engine = create_engine(warehouse)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM orders WHERE id IS NULL"))
    engine.dispose()
    later = T0 + timedelta(hours=3)
    store.record_events(
        [Materialization(event_id="m2", adapter="dbt", timestamp=later, asset_key=key("orders"))]
    )
    outcome = evaluate_checks(checks, build_graph(store), store, later + timedelta(minutes=1))
    sql = [e for e in outcome.evaluated if e.check_name == "not_null_id"]
    assert [e.status for e in sql] == [CheckStatus.PASSED]


def test_unknown_assets_warn_and_bad_selections_raise(store: Store, warehouse: str) -> None:
    checks = declared(warehouse, {"select": "nothing_here", "freshness": {"max_lag": "1h"}})
    outcome = evaluate_checks(checks, build_graph(store), store, T0)
    assert any("nothing_here" in w for w in outcome.warnings)
    broken = parse_sections([{"select": "orders and (", "freshness": {"max_lag": "1h"}}], {}, file="x")
    with pytest.raises(SelectionError):
        evaluate_checks(broken, build_graph(store), store, T0)


def _checks_passed(store: Store, now: datetime) -> dict[str, int]:
    graph = build_graph(store)
    conditions = {k: checks_passed() for k in graph}
    result = Automation(graph, store, conditions, holder="test").tick(now, full=True)
    return {str(e.asset): int(e.tree["true"]) for e in result.evaluations}


def test_a_failing_blocking_sql_check_stops_the_asset_and_its_downstream(
    store: Store, warehouse: str
) -> None:
    checks = declared(warehouse)
    assert {str(s.key) for s in check_specs(checks, build_graph(store))} >= {"orders:not_null_id"}
    before = _checks_passed(store, T0)
    assert before == {"raw": 1, "orders": 1, "report": 1, "other": 1}
    evaluate_checks(checks, build_graph(store), store, T0 + timedelta(hours=1))
    after = _checks_passed(store, T0 + timedelta(hours=1, minutes=1))
    # orders' blocking check failed: orders and its child report are held; raw and other are not.
    # report's own freshness check failed too, but it is not blocking.
    assert after == {"raw": 1, "orders": 0, "report": 0, "other": 1}
