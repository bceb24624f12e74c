"""A time-partitioned DAG's start date and catchup come from ``/dags/{id}/details`` (Airflow 3 and
2), land in the DAG spec's metadata, and give the DAG its daily partitions; against the HTTP fake."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lockgate.adapters.airflow.adapter import AirflowAdapter
from lockgate.adapters.airflow.config import AirflowConfig, load_config
from lockgate.federation.automation.assemble import dag_partitions
from lockgate.federation.errors import AdapterError
from lockgate.federation.keys import AssetKey
from lockgate.federation.partitions.definitions import TimeWindowPartitions, partition_keys
from lockgate.federation.specs import AssetSpec

pytestmark = pytest.mark.airflow

DETAILS = {
    "dag_id": "daily",
    "start_date": "2026-11-17T00:00:00Z",
    "end_date": None,
    "catchup": False,
    "timezone": "UTC",
}


def _config(url: str, **extra: Any) -> AirflowConfig:
    raw = {"url": url, "username": "admin", "password": "pw", "timeout": 2, "retries": 0, **extra}
    return load_config(raw, name="af", where="lockgate.yaml: adapters[0] (af)", base_dir=Path())


def _token() -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS512'})}.{part({'sub': 'admin', 'exp': time.time() + 86400})}.sig"


def _dags(api: str) -> list[dict[str, Any]]:
    daily: dict[str, Any] = {"dag_id": "daily", "tags": [], "owners": []}
    adhoc: dict[str, Any] = {"dag_id": "adhoc", "tags": [], "owners": []}
    if api == "v2":
        daily["timetable_summary"], adhoc["timetable_summary"] = "@daily", None
    else:
        daily["schedule_interval"] = {"__type": "CronExpression", "value": "@daily"}
        daily["last_parsed_time"] = adhoc["last_parsed_time"] = "2026-11-20T10:00:00+00:00"
    return [adhoc, daily]


def _serve(fake: Any, api: str, details: dict[str, Any] = DETAILS) -> None:
    if api == "v2":
        fake.json("GET", "/api/v2/version", {"version": "3.3.2"})
        fake.json("POST", "/auth/token", {"access_token": _token()}, status=201)
        fake.json("GET", "/api/v2/monitor/health", {"scheduler": {"status": "healthy"}})
        versions = [{"id": "0190-b", "dag_id": "daily"}, {"id": "0190-a", "dag_id": "adhoc"}]
        fake.json("GET", "/api/v2/dags/~/dagVersions", {"dag_versions": versions, "total_entries": 2})
        fake.json("GET", "/api/v2/assets", {"assets": [], "total_entries": 0})
    else:
        fake.on("GET", "/api/v2/version", (404, {"Content-Type": "text/html"}, b"<p>404"))
        fake.json("GET", "/api/v1/version", {"version": "2.11.2"})
        fake.json("GET", "/api/v1/health", {"scheduler": {"status": "healthy"}})
        fake.json("GET", "/api/v1/datasets", {"datasets": [], "total_entries": 0})
    fake.json("GET", f"/api/{api}/dags", {"dags": _dags(api), "total_entries": 2})
    for dag_id in ("daily", "adhoc"):
        fake.json(
            "GET", f"/api/{api}/dags/{dag_id}/tasks", {"tasks": [{"task_id": "t", "downstream_task_ids": []}]}
        )
    fake.json("GET", f"/api/{api}/dags/daily/details", details)


def _specs(adapter: AirflowAdapter) -> dict[str, AssetSpec]:
    return {str(spec.key): spec for spec in adapter.discover().assets}


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_start_date_and_catchup_reach_the_dag_spec(fake_airflow: Any, api: str) -> None:
    _serve(fake_airflow, api)
    adapter = AirflowAdapter(_config(fake_airflow.url, mappings={"daily.t": ["wh/daily_table"]}))
    try:
        specs = _specs(adapter)
    finally:
        adapter.close()
    daily = specs["af/daily"]
    assert daily.metadata["partitioning"] == "daily"
    assert daily.metadata["start_date"] == "2026-11-17T00:00:00+00:00"
    assert daily.metadata["catchup"] is False
    assert daily.metadata["timezone"] == "UTC"
    assert "end_date" not in daily.metadata  # null: no end
    assert specs["wh/daily_table"].metadata["start_date"] == "2026-11-17T00:00:00+00:00"  # the task's asset
    assert "start_date" not in specs["af/adhoc"].metadata
    assert ("GET", f"/api/{api}/dags/adhoc/details") not in fake_airflow.calls  # unpartitioned: not asked


def test_partitions_start_at_the_dags_start_date(fake_airflow: Any) -> None:
    _serve(fake_airflow, "v2")
    adapter = AirflowAdapter(_config(fake_airflow.url))
    try:
        daily = _specs(adapter)["af/daily"]
    finally:
        adapter.close()
    defn = dag_partitions(daily, first=lambda key: "2020-01-01")  # the start date wins over history
    assert defn is not None
    keys = partition_keys(defn, datetime(2026, 11, 20, 12, tzinfo=UTC))
    assert list(keys.keys) == ["2026-11-17", "2026-11-18", "2026-11-19"]


def test_details_are_read_once_per_dag_version(fake_airflow: Any) -> None:
    _serve(fake_airflow, "v2")
    adapter = AirflowAdapter(_config(fake_airflow.url))
    details = ("GET", "/api/v2/dags/daily/details")
    try:
        _specs(adapter)
        _specs(adapter)
        assert fake_airflow.calls.count(details) == 1
        versions = [{"id": "0190-c", "dag_id": "daily"}]
        fake_airflow.json("GET", "/api/v2/dags/~/dagVersions", {"dag_versions": versions, "total_entries": 1})
        moved = {**DETAILS, "start_date": "2026-11-18T00:00:00Z", "catchup": True}
        fake_airflow.json("GET", "/api/v2/dags/daily/details", moved)
        spec = _specs(adapter)["af/daily"]
        assert fake_airflow.calls.count(details) == 2
        assert spec.metadata["start_date"] == "2026-11-18T00:00:00+00:00" and spec.metadata["catchup"] is True
    finally:
        adapter.close()


def test_no_start_date_falls_back_to_the_first_partition_run(fake_airflow: Any) -> None:
    _serve(fake_airflow, "v2", {"dag_id": "daily", "start_date": None, "catchup": "yes?"})
    adapter = AirflowAdapter(_config(fake_airflow.url))
    try:
        daily = _specs(adapter)["af/daily"]
    finally:
        adapter.close()
    assert "start_date" not in daily.metadata and "catchup" not in daily.metadata  # junk is dropped
    defn = dag_partitions(
        daily, first=lambda key: "2026-11-19" if key == AssetKey.of("af", "daily") else None
    )
    assert isinstance(defn, TimeWindowPartitions) and defn.start.date().isoformat() == "2026-11-19"


def test_details_missing_is_a_clear_error(fake_airflow: Any) -> None:
    _serve(fake_airflow, "v2")
    fake_airflow.json("GET", "/api/v2/dags/daily/details", {"detail": "DAG not found"}, status=404)
    adapter = AirflowAdapter(_config(fake_airflow.url))
    try:
        with pytest.raises(AdapterError) as err:
            adapter.discover()
    finally:
        adapter.close()
    assert "HTTP 404" in str(err.value) and "/api/v2/dags/daily/details" in str(err.value)
