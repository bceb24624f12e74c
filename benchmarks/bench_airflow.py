"""Airflow adapter speed against a real Airflow 3.3 with many generated DAGs.

Loads ``--dags`` generated DAGs (default 500) of ``--tasks`` tasks each (default 20) into a real
Airflow started by the test fixture's code (tests/adapters/airflow/conftest.py), then reports:

- full discovery by the adapter (cold: a fresh adapter and an empty task cache), vs the floor:
  paging the same REST endpoints (/api/v2/dags, /api/v2/dags/~/dagVersions,
  /api/v2/dags/{id}/tasks, /api/v2/assets) with plain ``requests`` in the same run; target:
  within 1.5x the floor;
- an incremental sync with nothing new, as a new process would do it: a fresh adapter (new
  connection and login) with the task cache file the previous sync left, discover + observe from
  the last cursor; target: under 1 s;
- an incremental observe alone.

Run: ``.venv/bin/python benchmarks/bench_airflow.py [--dags 500 --tasks 20]``. Prints JSON.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import requests

from lockgate.adapters.airflow.adapter import AirflowAdapter
from lockgate.adapters.airflow.config import load_config

ROOT = Path(__file__).resolve().parent.parent
DAGS_PER_FILE = 50


def _fixture() -> ModuleType:
    path = ROOT / "tests" / "adapters" / "airflow" / "conftest.py"
    spec = importlib.util.spec_from_file_location("lockgate_airflow_fixture", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _dag_file(first: int, count: int, tasks: int) -> str:
    return f"""
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

for i in range({first}, {first + count}):
    with DAG(dag_id=f"gen_{{i:04d}}", schedule=None, catchup=False, tags=["generated"],
             start_date=pendulum.datetime(2024, 1, 1, tz="UTC")) as dag:
        ops = [EmptyOperator(task_id=f"t{{j:02d}}") for j in range({tasks})]
        for a, b in zip(ops, ops[1:]):
            a >> b
    globals()[f"dag_{{i}}"] = dag
"""


def _floor(url: str, token: str) -> float:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    started = time.perf_counter()
    dag_ids: list[str] = []
    offset = 0
    while True:
        params: dict[str, str | int] = {"limit": 100, "offset": offset, "exclude_stale": "true"}
        page = session.get(f"{url}/api/v2/dags", params=params, timeout=60).json()
        dag_ids += [d["dag_id"] for d in page["dags"]]
        offset += len(page["dags"])
        if not page["dags"] or offset >= page["total_entries"]:
            break
    offset = 0
    while True:
        params = {"limit": 100, "offset": offset, "order_by": "-id"}
        page = session.get(f"{url}/api/v2/dags/~/dagVersions", params=params, timeout=60).json()
        offset += len(page["dag_versions"])
        if not page["dag_versions"] or offset >= page["total_entries"]:
            break
    for dag_id in dag_ids:
        session.get(f"{url}/api/v2/dags/{dag_id}/tasks", timeout=60).json()
    session.get(f"{url}/api/v2/assets", params={"limit": 100}, timeout=60).json()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dags", type=int, default=500)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    fx = _fixture()
    sources = {
        f"generated_{first:04d}.py": _dag_file(first, min(DAGS_PER_FILE, args.dags - first), args.tasks)
        for first in range(0, args.dags, DAGS_PER_FILE)
    }
    expected = {f"gen_{i:04d}" for i in range(args.dags)}
    server = fx.start_airflow(sources, expected, timeout=1800)
    result: dict[str, Any] = {
        "dags": args.dags,
        "tasks_per_dag": args.tasks,
        "start_until_all_listed_s": round(server.start_seconds, 1),
    }
    try:
        floors, fulls, incrementals, observes = [], [], [], []
        for _ in range(args.repeat):
            cache_dir = tempfile.mkdtemp(prefix="lockgate-bench-cache-")  # cold task cache
            raw = {"url": server.url, "username": fx.USER, "password": fx.PASSWORD, "cache_dir": cache_dir}
            config = load_config(raw, name="bench", where="bench", base_dir=ROOT)
            floors.append(_floor(server.url, server.token()))
            adapter = AirflowAdapter(config)
            started = time.perf_counter()
            discovery = adapter.discover()
            fulls.append(time.perf_counter() - started)
            assert len(discovery.assets) >= args.dags
            cursor = adapter.observe(None).cursor
            adapter.close()
            fresh = AirflowAdapter(config)  # as the next `lockgate sync` process: only the cache file
            started = time.perf_counter()
            fresh.discover()
            cursor = fresh.observe(cursor).cursor
            incrementals.append(time.perf_counter() - started)
            started = time.perf_counter()
            fresh.observe(cursor)
            observes.append(time.perf_counter() - started)
            fresh.close()
            shutil.rmtree(cache_dir, ignore_errors=True)
        floor, full = statistics.median(floors), statistics.median(fulls)
        result |= {
            "runs": {"floor_s": floors, "full_s": fulls, "incremental_s": incrementals},
            "floor_discovery_s": round(floor, 3),
            "full_discovery_s": round(full, 3),
            "full_vs_floor": round(full / floor, 2),
            "incremental_sync_no_change_s": round(statistics.median(incrementals), 3),
            "incremental_observe_no_change_s": round(statistics.median(observes), 3),
            "targets": {"full_vs_floor_max": 1.5, "incremental_sync_max_s": 1.0},
        }
    finally:
        server.stop()
        shutil.rmtree(server.home, ignore_errors=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
