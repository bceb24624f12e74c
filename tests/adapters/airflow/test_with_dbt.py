"""Airflow 3 and the real examples/shop dbt project (dbt-duckdb) in one workspace, synced together.

- An Airflow Asset outlet whose URI names the table dbt builds (``duckdb:///.../shop.duckdb/main/
  fct_orders``) is stitched to the dbt model: one edge, and no second producer of that table.
- A mapping ``dag.task -> ["group:finance"]`` is resolved against the dbt assets at sync time, so
  the Airflow task's success materializes those dbt assets.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lockgate.adapters.airflow import plugin as airflow_plugin
from lockgate.adapters.dbt import plugin as dbt_plugin
from lockgate.federation.events import Materialization
from lockgate.federation.keys import AssetKey
from lockgate.federation.mappings import YIELDS_DATASET
from lockgate.federation.store.store import Store
from lockgate.federation.sync import build_graph, launch, sync_all, wait
from lockgate.federation.workspace import AdapterEntry, Workspace

pytestmark = [pytest.mark.airflow, pytest.mark.dbt, pytest.mark.slow]
SHOP = Path(__file__).resolve().parents[3] / "examples" / "shop"
K = AssetKey.parse

DAG = """
import pendulum
from airflow.sdk import DAG, Asset
from airflow.providers.standard.operators.bash import BashOperator

orders = Asset(uri="duckdb://{db}/main/fct_orders", name="shop_fct_orders")
with DAG(dag_id="{dag_id}", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
         catchup=False):
    BashOperator(task_id="run_dbt", bash_command="echo dbt build", outlets=[orders])
"""


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    project = tmp_path / "shop"
    shutil.copytree(SHOP, project, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb", ".user.yml"))
    monkeypatch.setenv("SHOP_DUCKDB_PATH", str(project / "shop.duckdb"))
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    monkeypatch.delenv("SHOP_TARGET", raising=False)
    return project


@pytest.fixture
def dag_id(airflow: Any, shop: Path) -> Iterator[str]:
    dag_id = f"shop_refresh_{time.time_ns()}"
    name = f"{dag_id}.py"
    airflow.write_dag(name, DAG.replace("{db}", str(shop / "shop.duckdb")).replace("{dag_id}", dag_id))
    try:
        airflow.wait_for(lambda: dag_id in airflow.dag_ids(), "the shop DAG to be listed")
        yield dag_id
    finally:
        airflow.remove_dag(name)


@pytest.mark.parametrize("airflow", ["3"], indirect=True)
def test_airflow_and_dbt_stitch_and_a_selection_mapping_materializes_dbt_assets(
    airflow: Any, shop: Path, dag_id: str, tmp_path: Path
) -> None:
    af_raw = {
        "url": airflow.url,
        "username": "admin",
        "password": "admin-test-pw",
        "dag_ids": [dag_id],
        "mappings": {f"{dag_id}.run_dbt": ["group:finance"]},
    }
    af = airflow_plugin.load_config(af_raw, name="af", where="lockgate.yaml: adapters[0]", base_dir=tmp_path)
    dbt = dbt_plugin.load_config(
        {"project_dir": str(shop)}, name="shop", where="lockgate.yaml: adapters[1]", base_dir=tmp_path
    )
    entries = (  # Airflow listed first: the sync still resolves it after dbt
        AdapterEntry(name="af", kind="airflow", config=af, where="lockgate.yaml: adapters[0]"),
        AdapterEntry(name="shop", kind="dbt", config=dbt, where="lockgate.yaml: adapters[1]"),
    )
    url = f"sqlite:///{tmp_path}/lockgate.db"
    workspace = Workspace(path=tmp_path / "lockgate.yaml", store_url=url, adapters=entries)
    store = Store.open(url)
    try:
        first = sync_all(workspace, store)
        assert first.ok, [r.error for r in first.results]
        assert [r.adapter for r in first.results] == ["af", "shop"]
        graph = build_graph(store)
        model, airflow_asset = K("shop/finance/orders"), K("af/assets/shop_fct_orders")
        assert graph.get(model).dataset == graph.get(airflow_asset).dataset is not None
        # one edge from the dbt model to the Airflow asset, and no duplicate producer of the table
        assert graph.get(airflow_asset).external and graph.get(airflow_asset).metadata[YIELDS_DATASET]
        assert [e for e in graph.stitched if e[1] == airflow_asset] == [(model, airflow_asset)]
        assert graph.parents(airflow_asset) == {model, K(f"af/{dag_id}")}
        assert not [w for w in graph.warnings if "claim to produce" in w]
        finance = sorted(k for k in graph if graph.get(k).group == "finance")
        assert model in finance and len(finance) >= 2
        tasks = graph.get(K(f"af/{dag_id}")).metadata["tasks"]
        assert tasks == [
            {
                "task_id": "run_dbt",
                "operator": "BashOperator",
                "downstream": [],
                "mapped": False,
                "assets": [str(k) for k in finance],
            }
        ]
        # the Airflow task's success materializes the dbt assets the selection resolved to
        adapter = entries[0].create()
        try:
            (outcome,) = launch(graph, store, {"af": adapter}, f"af/{dag_id}", nonce="e2e")
            done = wait(outcome, adapter, store, timeout=180, interval=0.5)
        finally:
            adapter.close()
        assert done.ok, done.handle
        assert done.handle is not None
        second = sync_all(workspace, store)
        assert second.ok, [r.error for r in second.results]
        from_airflow = {
            e.asset_key
            for key in finance
            for _, e in store.events(asset_key=key, limit=100)
            if isinstance(e, Materialization) and e.adapter == "af" and e.run_id == done.handle.run_id
        }
        assert from_airflow == set(finance)
    finally:
        store.close()
