"""Declarative automation end to end with dbt-core and dbt-duckdb for real, through the CLI."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lockgate.federation.events import EventKind
from lockgate.federation.keys import AssetKey
from lockgate.federation.store import Store
from lockgate.federation.sync import build_graph

Run = Callable[..., Any]
SHOP = Path(__file__).resolve().parents[2] / "examples" / "shop"
pytestmark = [pytest.mark.dbt, pytest.mark.slow]

EAGER = """\
adapters:
  - name: shop
    type: dbt
    project_dir: shop
automation:
  sync: false
  rules:
    - select: "system:dbt and not kind:seed"
      condition: eager()
"""


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "shop"
    shutil.copytree(SHOP, copy, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb", ".user.yml"))
    monkeypatch.setenv("SHOP_DUCKDB_PATH", str(copy / "shop.duckdb"))
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    return copy


def _setup(run: Run, shop: Path, workspace: str) -> None:
    (shop.parent / "lockgate.yaml").write_text(workspace, encoding="utf-8")
    assert run("sync", cwd=shop.parent).code == 0
    built = run("materialize", "system:dbt", "--skip-external", cwd=shop.parent)
    assert built.code == 0, built.out + built.err


def _tick(run: Run, shop: Path, *args: str) -> dict[str, Any]:
    result = run("automation", "tick", "--json", *args, cwd=shop.parent)
    assert result.code == 0, result.out + result.err
    doc: dict[str, Any] = json.loads(result.out.strip().splitlines()[-1])
    return doc


def _settle(run: Run, shop: Path) -> None:
    """Tick until nothing is requested (eager also builds what is newly missing, e.g. ephemeral
    models that never materialize, once)."""
    for _ in range(4):
        if _tick(run, shop)["requested"] == []:
            return
    pytest.fail("automation never settled")


def _store(shop: Path) -> Store:
    return Store.open(f"sqlite:///{shop.parent}/.lockgate/lockgate.db")


def _materialized_after(shop: Path, after: int | None) -> set[str]:
    store = _store(shop)
    try:
        events = store.events(kinds=[EventKind.MATERIALIZATION], after_id=after, limit=10_000)
    finally:
        store.close()
    return {str(e.asset_key) for _, e in events}


def _max_event(shop: Path) -> int | None:
    store = _store(shop)
    try:
        return store.max_event_id()
    finally:
        store.close()


def test_a_seed_change_rebuilds_only_the_eager_models_downstream(run: Run, shop: Path) -> None:
    _setup(run, shop, EAGER)
    _settle(run, shop)
    with (shop / "seeds" / "raw_customers.csv").open("a", encoding="utf-8") as csv:
        csv.write("99,Barbara,Liskov,2024-02-01 00:00:00\n")
    assert run("materialize", "raw_customers", cwd=shop.parent).code == 0
    before = _max_event(shop)
    second = _tick(run, shop)
    store = _store(shop)
    try:
        graph = build_graph(store)
    finally:
        store.close()
    seed = AssetKey.parse("shop/raw_customers")
    expected = {
        str(k)
        for k in graph.downstream([seed])
        if k != seed and "seed" not in graph.get(k).kinds and not graph.get(k).external
    }
    requested = {a for r in second["requested"] for a in r["assets"]}
    assert "shop/stg_customers" in expected
    assert requested == expected
    assert len(second["requested"]) == 1, "one dbt build for every node of the tick"
    assert [h["state"] for h in second["launched"]] == ["succeeded"]
    rebuilt = _materialized_after(shop, before)
    assert rebuilt <= expected, "only the eager models downstream ran; the rest stayed put"
    assert {"shop/stg_customers", "shop/dim_customers_v2"} <= rebuilt
    assert "shop/stg_orders" not in rebuilt and "shop/raw_orders" not in rebuilt
    third = _tick(run, shop)
    assert third["requested"] == [], "the rebuild is handled: no second run"
    explained = run("automation", "explain", "shop/stg_customers", cwd=shop.parent)
    assert explained.code == 0, explained.err
    assert "any_deps_updated" in explained.out and "run requested" in explained.out
    assert "lockgate.yaml" in explained.out  # where the condition comes from


def test_a_failing_blocking_check_stops_the_downstream_rebuild(run: Run, shop: Path) -> None:
    _setup(run, shop, EAGER)
    _settle(run, shop)
    with (shop / "seeds" / "raw_customers.csv").open("a", encoding="utf-8") as csv:
        csv.write("1,Duplicate,Customer,2024-02-01 00:00:00\n")  # breaks unique(customer_id)
    failed = run("materialize", "raw_customers", cwd=shop.parent)
    assert failed.code != 0
    before = _max_event(shop)
    blocked = _tick(run, shop)
    assert blocked["requested"] == []
    assert _materialized_after(shop, before) == set()
    explained = run("automation", "explain", "shop/stg_customers", cwd=shop.parent)
    assert "blocking checks failed" in explained.out and "unique" in explained.out
    assert "no run requested" in explained.out


def test_on_cron_fires_once_per_tick_window_with_a_controlled_clock(run: Run, shop: Path) -> None:
    _setup(
        run,
        shop,
        EAGER.split("  rules:")[0]
        + '  rules:\n    - select: "raw_orders"\n      condition: on_cron("0 6 * * *")\n',
    )
    assert _tick(run, shop, "--now", "2030-01-01T05:00:00+00:00")["requested"] == []
    fired = _tick(run, shop, "--now", "2030-01-01T06:30:00+00:00")
    assert [r["assets"] for r in fired["requested"]] == [["shop/raw_orders"]]
    assert [h["state"] for h in fired["launched"]] == ["succeeded"]
    assert _tick(run, shop, "--now", "2030-01-01T07:00:00+00:00")["requested"] == []
    assert _tick(run, shop, "--now", "2030-01-02T05:59:00+00:00")["requested"] == []
    again = _tick(run, shop, "--now", "2030-01-02T06:01:00+00:00")
    assert [r["assets"] for r in again["requested"]] == [["shop/raw_orders"]]


def test_a_bad_condition_in_the_workspace_names_file_entry_and_column(run: Run, shop: Path) -> None:
    (shop.parent / "lockgate.yaml").write_text(
        "adapters:\n  - name: shop\n    type: dbt\n    project_dir: shop\n"
        'automation:\n  - select: "system:dbt"\n    condition: eager() & nope()\n',
        encoding="utf-8",
    )
    result = run("automation", "tick", cwd=shop.parent)
    assert result.code == 2
    assert "lockgate.yaml:7:26: automation[0].condition" in result.err
    assert "unknown condition 'nope'" in result.err
