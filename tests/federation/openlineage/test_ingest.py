"""Ingest of received events: envelope errors, dedupe, out-of-order, stitching, attaching."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from lockgate.federation.adapter import Discovery, ObserveResult
from lockgate.federation.errors import ArtifactError, OpenLineageError
from lockgate.federation.events import Materialization, RunFailed, RunStarted
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey, DatasetRef
from lockgate.federation.openlineage.emit import events_for
from lockgate.federation.openlineage.envelope import check_batch, check_event
from lockgate.federation.openlineage.ingest import ingest
from lockgate.federation.openlineage.runs import lineage_runs
from lockgate.federation.status import AssetStatus
from lockgate.federation.store import Store

RUN = "01a1fc68-bb14-713c-ab77-993b92b1d85b"
SPARK_NS = "s3://lake"


def spark_events(kit: Any) -> list[dict[str, Any]]:
    """A foreign producer: reads a known dbt table, writes an unknown lake file."""
    base = {
        "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/integration/spark",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": RUN, "facets": {}},
        "job": {"namespace": "spark", "name": "nightly.export_orders", "facets": {}},
        "inputs": [{"namespace": kit.DUCK, "name": "shop.main.orders"}],
        "outputs": [
            {
                "namespace": SPARK_NS,
                "name": "exports/orders",
                "facets": {
                    "schema": {
                        "_producer": "https://example.invalid/p",
                        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
                        "fields": [{"name": "order_id", "type": "long"}],
                    }
                },
            }
        ],
    }
    start = {**copy.deepcopy(base), "eventType": "START", "eventTime": "2024-05-02T01:00:00Z"}
    done = {**copy.deepcopy(base), "eventType": "COMPLETE", "eventTime": "2024-05-02T01:05:00Z"}
    return [start, done]


def test_unknown_datasets_become_external_assets_that_stitch(kit: Any) -> None:
    start, done = spark_events(kit)
    kit.assert_valid([start, done])
    result = ingest([done, start], kit.make_specs())  # COMPLETE arrives first
    lake = AssetKey.of("openlineage", "s3:lake", "exports", "orders")
    assert result.new_assets == (lake,)
    (spec,) = result.specs
    assert spec.dataset == DatasetRef(namespace=SPARK_NS, name="exports/orders")
    assert spec.external and spec.deps == (AssetKey.of("shop", "orders"),)
    assert [c.name for c in spec.columns] == ["order_id"]
    graph = AssetGraph.build([*kit.make_specs(), *result.specs])
    assert AssetKey.of("shop", "orders") in graph.parents(lake)
    kinds = sorted(type(e).__name__ for e in result.events)
    assert kinds == ["Materialization", "RunStarted", "RunSucceeded"]


def test_out_of_order_and_duplicate_events_end_in_the_right_state(kit: Any, store_url: str) -> None:
    start, done = spark_events(kit)
    lake = AssetKey.of("openlineage", "s3:lake", "exports", "orders")
    with Store.open(store_url) as store:
        first = ingest([done], [])
        store.write_sync(
            adapter="openlineage",
            kind="openlineage",
            started_at=first.events[0].timestamp,
            discovery=Discovery(assets=first.specs),
            observed=ObserveResult(events=first.events, cursor=None),
        )
        late = ingest([start, done], store.asset_specs())  # START late, COMPLETE repeated
        assert store.record_events(late.events) == 1  # only the START is new
        state = store.asset_states([lake])[lake]
        assert state.status is AssetStatus.MATERIALIZED
        assert state.last_run_id == RUN


def test_jobs_matching_a_known_origin_attach_to_the_asset(kit: Any, graph: AssetGraph) -> None:
    # what the Airflow provider sends for export.load, and dbt-ol for the orders model
    ours = events_for(lineage_runs(kit.airflow_events() + kit.dbt_events(), graph))
    result = ingest(ours, kit.make_specs())
    assert result.new_assets == () and result.specs == ()
    mats = {e.asset_key for e in result.events if isinstance(e, Materialization)}
    assert {AssetKey.of("warehouse", "orders_export"), AssetKey.of("shop", "orders")} <= mats
    assert AssetKey.of("airflow", "export") in mats  # the DAG job attaches to the DAG asset
    # a job with no outputs still lands on its asset, by name when the namespace differs
    start = {
        "eventType": "START",
        "eventTime": "2024-05-02T01:00:00+00:00",
        "producer": "https://x.invalid/airflow",
        "run": {"runId": RUN},
        "job": {"namespace": "other-airflow", "name": "export.publish"},
    }
    fail = {
        **start,
        "eventType": "FAIL",
        "eventTime": "2024-05-02T01:01:00+00:00",
        "run": {
            "runId": RUN,
            "facets": {"errorMessage": {"message": "boom", "programmingLanguage": "python"}},
        },
    }
    events = ingest([start, fail], kit.make_specs()).events
    assert [(type(e), e.asset_key) for e in events] == [
        (RunStarted, AssetKey.of("warehouse", "orders_public")),
        (RunFailed, AssetKey.of("warehouse", "orders_public")),
    ]
    assert isinstance(events[1], RunFailed) and events[1].message == "boom"


def test_dataset_events_with_the_lineage_facet_add_edges(kit: Any, graph: AssetGraph) -> None:
    from lockgate.federation.openlineage.export import export_graph

    collector = kit.Collector()
    export_graph(graph, None, "orders_public", collector)
    event = next(e for e in collector.events if "dataset" in e)
    renamed = copy.deepcopy(event)
    renamed["dataset"]["namespace"] = "postgres://replica:5432"
    result = ingest([renamed], kit.make_specs())
    (spec,) = result.specs
    assert spec.deps == (AssetKey.of("warehouse", "orders_export"),)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"eventTime": "yesterday"}, "$.eventTime: required, an RFC 3339 date-time"),
        ({"eventTime": "2024-05-02T01:00:00"}, "$.eventTime: required, an RFC 3339 date-time"),
        ({"producer": None}, "$.producer: required"),
        ({"eventType": "DONE"}, "$.eventType: 'DONE' is not one of"),
        ({"run": {}}, "$.run.runId: required"),
        ({"job": {"namespace": "spark"}}, "$.job.name: required"),
        ({"inputs": {"a": 1}}, "$.inputs: must be an array"),
        ({"outputs": [{"name": "x"}]}, "$.outputs[0].namespace: required"),
        ({"run": {"runId": RUN, "facets": []}}, "$.run.facets: must be an object"),
    ],
)
def test_invalid_envelopes_are_precise_422_errors(kit: Any, patch: dict[str, Any], message: str) -> None:
    event = {**spark_events(kit)[0], **patch}
    with pytest.raises(OpenLineageError) as raised:
        check_event(event)
    assert any(p.startswith(message) for p in raised.value.problems), raised.value.problems
    assert raised.value.http_status == 422 and isinstance(raised.value, ArtifactError)
    assert message in str(raised.value)
    with pytest.raises(OpenLineageError) as in_batch:  # the same problem, by index, from ingest
        ingest([spark_events(kit)[1], event], [])
    assert any(p.startswith(message.replace("$.", "$[1].", 1)) for p in in_batch.value.problems)


def test_batches_report_every_bad_event_and_lenient_checks_warn(kit: Any) -> None:
    good, bad = spark_events(kit)
    bad = {**bad, "eventTime": 3}
    with pytest.raises(OpenLineageError) as raised:
        check_batch([good, bad, "x"])
    assert raised.value.problems[0].startswith("$[1].eventTime")
    assert raised.value.problems[1].startswith("$[2]: an event must be a JSON object")
    with pytest.raises(OpenLineageError, match="a batch must be a JSON array"):
        check_batch({"events": []})
    warnings = check_event({**good, "run": {"runId": "run_id"}, "custom": {"x": 1}})
    assert warnings == ["$.run.runId: 'run_id' is not a UUID"]
    static = {"eventTime": "2024-05-02T01:00:00Z", "producer": "p", "dataset": {"namespace": "a"}}
    with pytest.raises(OpenLineageError, match=r"\$\.dataset\.name: required"):
        check_event(static)


def test_events_the_caller_checked_are_not_checked_again(kit: Any) -> None:
    """The single-event endpoint checks with paths from "$" and passes its warnings on."""
    event = {**spark_events(kit)[0], "run": {"runId": "run_id"}}
    warnings = check_event(event)
    assert ingest([event], []).warnings == ("$[0].run.runId: 'run_id' is not a UUID",)
    assert ingest([event], [], checked=warnings).warnings == ("$.run.runId: 'run_id' is not a UUID",)
