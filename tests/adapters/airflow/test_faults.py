"""Airflow down, 401, 404, 5xx, timeouts and truncated JSON, against a scripted HTTP fake on
127.0.0.1: each ends in a clear error or a bounded retry, and a failed sync records nothing."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lockgate.adapters.airflow.adapter import AirflowAdapter
from lockgate.adapters.airflow.client import AirflowClient
from lockgate.adapters.airflow.config import AirflowConfig, load_config
from lockgate.federation.errors import AdapterError, LaunchError, TransientError
from lockgate.federation.store.store import Store

pytestmark = pytest.mark.airflow

JSON = {"Content-Type": "application/json"}


def _config(url: str, **extra: Any) -> AirflowConfig:
    raw = {"url": url, "username": "admin", "password": "pw", "timeout": 2, "retries": 2, **extra}
    return load_config(raw, name="fake", where="lockgate.yaml: adapters[0] (fake)", base_dir=Path())


def _token(exp: float) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS512'})}.{part({'sub': 'admin', 'exp': exp})}.sig"


def _airflow3(fake: Any, *, exp: float | None = None) -> None:
    fake.json("GET", "/api/v2/version", {"version": "3.3.2"})
    fake.json("POST", "/auth/token", {"access_token": _token(exp or time.time() + 86400)}, status=201)
    fake.json("GET", "/api/v2/monitor/health", {"scheduler": {"status": "healthy"}})
    fake.json(
        "GET", "/api/v2/dags", {"dags": [{"dag_id": "d1", "tags": [], "owners": []}], "total_entries": 1}
    )
    fake.json("GET", "/api/v2/dags/d1/tasks", {"tasks": [{"task_id": "t1", "downstream_task_ids": []}]})
    fake.json("GET", "/api/v2/assets", {"assets": [], "total_entries": 0})
    versions = [{"id": "0190-a", "dag_id": "d1", "version_number": 1}]
    fake.json("GET", "/api/v2/dags/~/dagVersions", {"dag_versions": versions, "total_entries": 1})


def _client(fake: Any, **extra: Any) -> tuple[AirflowClient, list[float]]:
    sleeps: list[float] = []
    return AirflowClient(_config(fake.url, **extra), sleep=sleeps.append), sleeps


def test_airflow_down_is_a_clear_error_after_bounded_retries(closed_port_url: str) -> None:
    url = closed_port_url
    sleeps: list[float] = []
    client = AirflowClient(_config(url), sleep=sleeps.append)
    with pytest.raises(TransientError) as err:
        client.connect()
    message = str(err.value)
    assert "no answer" in message and "after 3 attempts" in message
    assert url in message and "check that Airflow is running" in message
    assert len(sleeps) == 2


def test_wrong_url_names_the_fix(fake_airflow: Any) -> None:
    client, _ = _client(fake_airflow)
    with pytest.raises(AdapterError) as err:
        client.connect()
    assert "neither /api/v2/version nor /api/v1/version" in str(err.value)
    assert "root of the Airflow API server" in str(err.value)


def test_bad_credentials_are_a_clear_error(fake_airflow: Any) -> None:
    fake_airflow.json("GET", "/api/v2/version", {"version": "3.3.2"})
    fake_airflow.json("POST", "/auth/token", {"detail": "Invalid credentials"}, status=401)
    client, sleeps = _client(fake_airflow)
    with pytest.raises(AdapterError) as err:
        client.connect()
    assert "HTTP 401" in str(err.value) and "Invalid credentials" in str(err.value)
    assert "password_env" in str(err.value)
    assert sleeps == []  # credentials are not retried


def test_an_html_404_on_api_v2_means_airflow_2(fake_airflow: Any) -> None:
    """Airflow 2's webserver answers /api/v2/version with its HTML 404 page (seen live on 2.11.2)."""
    fake_airflow.on("GET", "/api/v2/version", (404, {"Content-Type": "text/html"}, b"<!DOCTYPE html><p>404"))
    fake_airflow.json("GET", "/api/v1/version", {"version": "2.11.2"})
    fake_airflow.json("GET", "/api/v1/dags", {"dags": [], "total_entries": 0})
    client, sleeps = _client(fake_airflow)
    assert client.connect() == "2.11.2" and client.api == "v1" and sleeps == []


def test_too_old_version_is_refused(fake_airflow: Any) -> None:
    fake_airflow.json("GET", "/api/v1/version", {"version": "2.5.3"})
    client, _ = _client(fake_airflow)
    with pytest.raises(AdapterError) as err:
        client.connect()
    assert "Airflow 2.5.3" in str(err.value) and "too old" in str(err.value)


def test_404_on_a_dag_is_a_clear_error(fake_airflow: Any) -> None:
    _airflow3(fake_airflow)
    client, _ = _client(fake_airflow)
    with pytest.raises(AdapterError) as err:
        client.dag("does_not_exist")
    assert "HTTP 404" in str(err.value) and "/api/v2/dags/does_not_exist" in str(err.value)


def test_5xx_then_success_is_retried_with_backoff(fake_airflow: Any) -> None:
    _airflow3(fake_airflow)
    fake_airflow.on(
        "GET",
        "/api/v2/dags",
        (503, JSON, b'{"detail": "busy"}'),
        (502, JSON, b"{}"),
        (200, JSON, json.dumps({"dags": [{"dag_id": "d1"}], "total_entries": 1}).encode()),
    )
    client, sleeps = _client(fake_airflow)
    assert [d.dag_id for d in client.dags()] == ["d1"]
    assert sleeps == [0.5, 1.0]


def test_429_honours_retry_after(fake_airflow: Any) -> None:
    _airflow3(fake_airflow)
    ok = json.dumps({"dags": [], "total_entries": 0}).encode()
    fake_airflow.on("GET", "/api/v2/dags", (429, {**JSON, "Retry-After": "3"}, b"{}"), (200, JSON, ok))
    client, sleeps = _client(fake_airflow)
    assert client.dags() == []
    assert sleeps == [3.0]


def test_5xx_forever_gives_up_after_the_bound(fake_airflow: Any) -> None:
    _airflow3(fake_airflow)
    fake_airflow.on("GET", "/api/v2/dags", (500, JSON, b'{"detail": "boom"}'))
    client, sleeps = _client(fake_airflow)
    with pytest.raises(TransientError) as err:
        client.dags()
    assert "HTTP 500 (boom)" in str(err.value) and "after 3 attempts" in str(err.value)
    assert len(sleeps) == 2


def test_timeout_is_retried_then_reported(fake_airflow: Any) -> None:
    _airflow3(fake_airflow)
    client, sleeps = _client(fake_airflow, timeout=0.3)
    client.connect()
    fake_airflow.delay = 1.0
    with pytest.raises(TransientError) as err:
        client.dags()
    assert "no answer" in str(err.value) and "imeout" in str(err.value)
    assert len(sleeps) == 2


def test_truncated_json_is_retried_then_reported(fake_airflow: Any) -> None:
    _airflow3(fake_airflow)
    fake_airflow.on("GET", "/api/v2/dags", (200, JSON, b'{"dags": [{"dag_id": "d1"'))
    client, sleeps = _client(fake_airflow)
    with pytest.raises(TransientError) as err:
        client.dags()
    assert "not valid JSON" in str(err.value)
    assert len(sleeps) == 2


def test_body_cut_short_by_the_connection_is_retried(fake_airflow: Any) -> None:
    _airflow3(fake_airflow)
    ok = json.dumps({"dags": [], "total_entries": 0}).encode()
    fake_airflow.on(
        "GET", "/api/v2/dags", (200, {**JSON, "Content-Length": "500"}, b'{"dags": ['), (200, JSON, ok)
    )
    client, sleeps = _client(fake_airflow)
    assert client.dags() == []
    assert len(sleeps) == 1


def test_expired_token_is_refreshed_before_use(fake_airflow: Any) -> None:
    _airflow3(fake_airflow, exp=time.time() + 5)  # inside the refresh margin
    client, _ = _client(fake_airflow)
    client.connect()
    client.dags()
    assert fake_airflow.calls.count(("POST", "/auth/token")) == 2


def test_401_mid_session_logs_in_again_once(fake_airflow: Any) -> None:
    _airflow3(fake_airflow)
    ok = json.dumps({"dags": [], "total_entries": 0}).encode()
    fake_airflow.on("GET", "/api/v2/dags", (401, JSON, b'{"detail": "expired"}'), (200, JSON, ok))
    client, _ = _client(fake_airflow)
    assert client.dags() == []
    assert fake_airflow.calls.count(("POST", "/auth/token")) == 2


def test_trigger_post_without_idempotency_is_not_retried(fake_airflow: Any) -> None:
    _airflow3(fake_airflow)
    fake_airflow.on("POST", "/api/v2/dags/d1/clearTaskInstances", (500, JSON, b"{}"))
    client, sleeps = _client(fake_airflow)
    client.connect()
    with pytest.raises(TransientError):
        client._request("POST", "/api/v2/dags/d1/clearTaskInstances", body={"dry_run": True})
    assert sleeps == []
    assert fake_airflow.calls.count(("POST", "/api/v2/dags/d1/clearTaskInstances")) == 1


def test_trigger_conflict_finds_the_existing_run(fake_airflow: Any) -> None:
    _airflow3(fake_airflow)
    fake_airflow.json("POST", "/api/v2/dags/d1/dagRuns", {"detail": "exists"}, status=409)
    run = {"dag_id": "d1", "dag_run_id": "lockgate__k", "state": "running"}
    fake_airflow.json("GET", "/api/v2/dags/d1/dagRuns/lockgate__k", run)
    client, _ = _client(fake_airflow)
    found, created = client.trigger("d1", "lockgate__k", None)
    assert (found.run_id, found.state, created) == ("lockgate__k", "running", False)


def test_trigger_conflict_on_another_run_is_a_launch_error(fake_airflow: Any) -> None:
    _airflow3(fake_airflow)
    fake_airflow.json("POST", "/api/v2/dags/d1/dagRuns", {"detail": "exists"}, status=409)
    client, _ = _client(fake_airflow)
    with pytest.raises(LaunchError) as err:
        client.trigger("d1", "lockgate__k", datetime(2024, 1, 1, tzinfo=UTC))
    assert "2024-01-01" in str(err.value) and "another run" in str(err.value)


def test_a_failed_sync_records_nothing(fake_airflow: Any, tmp_path: Path) -> None:
    _airflow3(fake_airflow)
    fake_airflow.on("GET", "/api/v2/dags/~/dagRuns", (200, JSON, b'{"dag_runs": [{"dag_id": "d1", "dag'))
    adapter = AirflowAdapter(_config(fake_airflow.url, retries=0))
    store = Store.open(f"sqlite:///{tmp_path}/store.db")
    try:
        discovery = adapter.discover()
        assert [str(a.key) for a in discovery.assets] == ["fake/d1"]
        with pytest.raises(TransientError):
            adapter.observe(None)
        assert store.asset_specs() == [] and store.cursor("fake") is None
        assert store.events(limit=10) == []
    finally:
        adapter.close()
        store.close()
