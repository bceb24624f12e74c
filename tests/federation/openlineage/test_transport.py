"""Transports from openlineage-python's config, and the outbox when a transport fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lockgate.federation.errors import ConfigError
from lockgate.federation.graph import AssetGraph
from lockgate.federation.openlineage.emit import events_for
from lockgate.federation.openlineage.runs import lineage_runs
from lockgate.federation.openlineage.transport import (
    client_from_config,
    deliver,
    namespaces_from_config,
    retry_outbox,
)
from lockgate.federation.store import Store


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("OPENLINEAGE_URL", "OPENLINEAGE_CONFIG", "OPENLINEAGE_DISABLED", "OPENLINEAGE_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_file_transport_from_the_section_writes_valid_events(
    kit: Any, graph: AssetGraph, tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl"
    client = client_from_config({"transport": {"type": "file", "log_file_path": str(path), "append": True}})
    assert client.kind == "file"
    events = events_for(lineage_runs(kit.dbt_events() + kit.airflow_events(), graph))
    assert deliver(events, client, None).sent == len(events)
    client.close()
    written = read_jsonl(path)
    assert kit.assert_valid(written) == len(events)
    assert [(e["job"]["name"], e["eventType"], e["run"]["runId"]) for e in written] == [
        (e["job"]["name"], e["eventType"], e["run"]["runId"]) for e in events
    ]
    # facets survive openlineage-python's serializer unchanged (it only adds empty facet maps)
    for side in ("inputs", "outputs"):
        for event, sent in zip(written, events, strict=True):
            got = [{k: v for k, v in d.items() if v != {}} for d in event[side]]
            assert got == sent[side]


def test_env_variables_configure_the_transport(
    kit: Any, graph: AssetGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "env.jsonl"
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(path))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    client = client_from_config(None)
    assert client.kind == "file"
    events = events_for(lineage_runs(kit.airflow_events(), graph))
    deliver(events, client, None)
    assert kit.assert_valid(read_jsonl(path)) == len(events)


def test_openlineage_yml_in_the_working_directory_is_used(tmp_path: Path) -> None:
    (tmp_path / "openlineage.yml").write_text("transport:\n  type: console\n")
    assert client_from_config({}).kind == "console"


def test_composite_and_disabled(tmp_path: Path) -> None:
    composite = client_from_config(
        {
            "transport": {
                "type": "composite",
                "transports": {
                    "a": {"type": "file", "log_file_path": str(tmp_path / "a.jsonl"), "append": True},
                    "b": {"type": "console"},
                },
            }
        }
    )
    assert composite.kind == "composite"
    assert client_from_config({"disabled": True}).kind == "noop"


def test_bad_sections_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown key 'transprot'"):
        client_from_config({"transprot": {"type": "http"}})
    with pytest.raises(ConfigError, match="rejected the transport configuration"):
        client_from_config({"transport": {"type": "http"}})  # no url
    with pytest.raises(ConfigError, match="namespaces must map"):
        namespaces_from_config({"namespaces": {"spark": "x"}})


def test_namespaces_follow_the_producers_conventions(monkeypatch: pytest.MonkeyPatch) -> None:
    names = namespaces_from_config({})
    assert (names.dbt, names.airflow, names.default) == ("dbt", "default", "lockgate")
    monkeypatch.setenv("OPENLINEAGE_NAMESPACE", "dbt-prod")
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__NAMESPACE", "airflow-prod")
    names = namespaces_from_config({"namespaces": {"default": "lg"}})
    assert (names.dbt, names.airflow, names.default) == ("dbt-prod", "airflow-prod", "lg")


def test_failing_transport_parks_events_and_retry_delivers_them(
    kit: Any, graph: AssetGraph, store_url: str
) -> None:
    events = events_for(lineage_runs(kit.dbt_events(), graph))
    collector = kit.Collector()
    with Store.open(store_url) as store:
        collector.emit(events[0])
        collector.fail = ConnectionError("connection refused\nsecond line")
        result = deliver(events[1:], collector, store)  # must not raise
        assert (result.sent, result.parked) == (0, len(events) - 1)
        assert result.error == "ConnectionError: connection refused"
        status = store.openlineage_outbox()
        assert status.pending == len(events) - 1 and status.delivered == 0
        assert status.last_error == "ConnectionError: connection refused"
        assert status.oldest_pending is not None
        # parking the same events again keeps one row each
        deliver(events[1:], collector, store)
        assert store.openlineage_outbox().pending == len(events) - 1
        # still down: retry records the failure, sends nothing
        again = retry_outbox(store, collector)
        assert again.sent == 0 and again.parked == len(events) - 1
        assert store.pending_openlineage()[0].attempts == 3
        # back up: everything goes out, in the original order, valid
        collector.fail = None
        done = retry_outbox(store, collector)
        assert done.sent == len(events) - 1 and done.error is None
        assert collector.events == events
        status = store.openlineage_outbox()
        assert (status.pending, status.delivered, status.last_error) == (0, len(events) - 1, None)
        assert retry_outbox(store, collector).sent == 0


def test_http_transport_to_a_dead_port_is_parked(kit: Any, graph: AssetGraph, store_url: str) -> None:
    client = client_from_config(
        {"transport": {"type": "http", "url": "http://127.0.0.1:9", "timeout": 0.5, "retry": {"total": 0}}}
    )
    events = events_for(lineage_runs(kit.airflow_events(), graph))
    with Store.open(store_url) as store:
        result = deliver(events, client, store)
        assert result.sent == 0 and result.parked == len(events)
        kit.assert_valid(e.payload for e in store.pending_openlineage())
