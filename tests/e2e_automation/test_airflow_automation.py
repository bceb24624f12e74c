"""``on_missing`` on a daily-partitioned DAG of a real Airflow 3: every missing partition is
triggered once, and daemons restarted again and again (each CLI invocation is a new daemon) never
trigger one twice. Checked in Airflow itself: one DAG run per logical date, every run lockgate's.

The DAG has ``schedule=None`` and the workspace declares it daily (``partitions:``), so Airflow's
own scheduler creates no run that could race lockgate's; its start date (three days back) and
``catchup=False`` come from the DAG details endpoint.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lockgate.federation.events import EventKind
from lockgate.federation.keys import AssetKey
from lockgate.federation.store import Store

pytestmark = [pytest.mark.airflow, pytest.mark.slow]
Run = Callable[..., Any]
DAG_ID = "lockgate_daily_e2e"
DAYS = 3

DAG = """
import pendulum
from airflow.sdk import dag, task

@dag(dag_id="{dag_id}", schedule=None, start_date=pendulum.datetime({y}, {m}, {d}, tz="UTC"),
     catchup=False, tags=["lockgate_e2e"], max_active_runs=4)
def lockgate_daily_e2e():
    @task
    def load(**context) -> str:
        return str(context["logical_date"])

    load()

lockgate_daily_e2e()
"""

WORKSPACE = """\
store: sqlite:///{store}
adapters:
  - name: af
    type: airflow
    url: {url}
    username: admin
    password_env: E2E_AIRFLOW_PASSWORD
    dag_ids: [{dag_id}]
    partitions: {{{dag_id}: daily}}
    cache_dir: {cache}
automation:
  interval: 1
  sync: true
  rules:
    - select: "af/{dag_id}"
      condition: on_missing()
"""


def _dag_runs(airflow: Any) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = airflow.get(f"/api/v2/dags/{DAG_ID}/dagRuns", limit=100)["dag_runs"]
    return runs


def _daemon(run: Run, where: Path, ticks: int) -> list[dict[str, Any]]:
    """One daemon, started fresh, for ``ticks`` ticks; its tick documents."""
    result = run(
        "automation",
        "run",
        "--json",
        "--max-ticks",
        str(ticks),
        "--interval",
        "1",
        cwd=where,
        env={"E2E_AIRFLOW_PASSWORD": "admin-test-pw"},
    )
    assert result.code == 0, result.out + result.err
    assert "error" not in result.err, result.err
    return [json.loads(line) for line in result.out.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("airflow", ["3"], indirect=True)
def test_on_missing_triggers_each_missing_partition_once_across_restarts(
    airflow: Any, run: Run, tmp_path: Path
) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=DAYS)
    expected = [(start + timedelta(days=i)).date().isoformat() for i in range(DAYS)]
    airflow.write_dag(f"{DAG_ID}.py", DAG.format(dag_id=DAG_ID, y=start.year, m=start.month, d=start.day))
    try:
        airflow.wait_for(lambda: DAG_ID in airflow.dag_ids(), f"{DAG_ID} listed", timeout=120)
        assert _dag_runs(airflow) == []
        store_url = f"sqlite:///{tmp_path / 'lockgate.db'}"
        (tmp_path / "lockgate.yaml").write_text(
            WORKSPACE.format(
                store=tmp_path / "lockgate.db", url=airflow.url, dag_id=DAG_ID, cache=tmp_path / "cache"
            ),
            encoding="utf-8",
        )

        first = _daemon(run, tmp_path, 2)
        requested = [r["partition"] for doc in first for r in doc["requested"]]
        assert sorted(requested) == expected  # exactly the missing partitions, once each
        assert all(r["assets"] == [f"af/{DAG_ID}"] for doc in first for r in doc["requested"])
        launched = [h["run_id"] for doc in first for h in doc["launched"]]
        assert len(launched) == DAYS and all(r.startswith("lockgate__") for r in launched)

        # restart after restart while the runs go on: nothing is requested or triggered again
        deadline = time.monotonic() + 240
        later: list[dict[str, Any]] = []
        while True:
            later.extend(_daemon(run, tmp_path, 2))
            runs = _dag_runs(airflow)
            if all(r["state"] in ("success", "failed") for r in runs):
                later.extend(_daemon(run, tmp_path, 1))  # one more: the last results are observed
                break
            assert time.monotonic() < deadline, f"the DAG runs did not finish: {runs}"
        assert [r for doc in later for r in doc["requested"]] == []
        assert [h for doc in later for h in doc["launched"]] == []

        runs = _dag_runs(airflow)
        assert len(runs) == DAYS
        assert sorted(r["logical_date"][:10] for r in runs) == expected  # one run per logical date
        assert all(r["dag_run_id"].startswith("lockgate__") for r in runs), runs
        assert all(r["state"] == "success" for r in runs), runs
        assert sorted(r["dag_run_id"] for r in runs) == sorted(launched)

        store = Store.open(store_url)
        try:
            spec = next(s for s in store.asset_specs() if s.key == AssetKey.of("af", DAG_ID))
            assert spec.metadata["start_date"] == start.isoformat()
            assert spec.metadata["catchup"] is False
            done = store.events(asset_key=AssetKey.of("af", DAG_ID), kinds=[EventKind.MATERIALIZATION])
            assert sorted({e.partition for _, e in done if e.partition}) == expected
        finally:
            store.close()

        again = run(
            "automation", "tick", "--json", cwd=tmp_path, env={"E2E_AIRFLOW_PASSWORD": "admin-test-pw"}
        )
        assert again.code == 0, again.err
        assert json.loads(again.out.splitlines()[-1])["requested"] == []
        assert len(_dag_runs(airflow)) == DAYS
    finally:
        airflow.remove_dag(f"{DAG_ID}.py")
