"""Assets: the list (filtered by selection, search and facets), one asset, its checks,
materializations and partitions."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.wrappers import Response
from marshmallow import EXCLUDE, Schema, fields, validate

from lockgate.federation.errors import ConfigError, UnknownAssetError
from lockgate.federation.events import Event, EventKind
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey
from lockgate.federation.specs import AssetSpec
from lockgate.federation.status import AssetState, AssetStatus
from lockgate.ui.api.base import PageArgs, api, collection, data, json_response, load_args
from lockgate.ui.cache import cached
from lockgate.ui.query import CatalogQuery, run_query


def _text(description: str = "") -> fields.String:
    meta = {"description": description} if description else {}
    return fields.String(load_default="", validate=validate.Length(max=500), metadata=meta)


class AssetListArgs(PageArgs):
    class Meta:
        unknown = EXCLUDE

    select = _text("selection syntax, e.g. `+orders` or `group:marts and system:dbt`")
    q = _text("text in the key or description")
    system = _text()
    group = _text()
    owner = _text()
    tag = _text()
    status = fields.String(load_default="", validate=validate.OneOf(["", *(s.value for s in AssetStatus)]))


class ColumnSchema(Schema):
    name = fields.String(required=True)
    description = fields.String()
    data_type = fields.String(allow_none=True)
    tags = fields.List(fields.String())


class DatasetSchema(Schema):
    namespace = fields.String(required=True)
    name = fields.String(required=True)


class AssetSummarySchema(Schema):
    key = fields.String(dump_only=True, required=True)
    system = fields.String(dump_only=True)
    adapter = fields.String(dump_only=True)
    group = fields.String(dump_only=True, allow_none=True)
    description = fields.String(dump_only=True)
    owners = fields.List(fields.String(), dump_only=True)
    tags = fields.List(fields.String(), dump_only=True)
    status = fields.String(dump_only=True)
    last_materialization = fields.DateTime(dump_only=True, allow_none=True)
    stale = fields.Boolean(
        dump_only=True,
        metadata={
            "description": "an upstream asset was materialized after this one (or, when partitioned, "
            "after one of its partitions); as of the last sync, tick or materialize"
        },
    )


class AssetSchema(AssetSummarySchema):
    origin = fields.String(dump_only=True)
    kinds = fields.List(fields.String(), dump_only=True)
    metadata = fields.Dict(dump_only=True)
    columns = fields.List(fields.Nested(ColumnSchema), dump_only=True)
    dataset = fields.Nested(DatasetSchema, dump_only=True, allow_none=True)
    code_version = fields.String(dump_only=True, allow_none=True)
    external = fields.Boolean(dump_only=True)
    url = fields.String(dump_only=True, allow_none=True)
    upstream = fields.List(fields.String(), dump_only=True)
    downstream = fields.List(fields.String(), dump_only=True)
    last_failure = fields.DateTime(dump_only=True, allow_none=True)
    last_failure_message = fields.String(dump_only=True)


class CheckSchema(Schema):
    name = fields.String(dump_only=True)
    asset = fields.String(dump_only=True)
    description = fields.String(dump_only=True)
    severity = fields.String(dump_only=True)
    blocking = fields.Boolean(dump_only=True)
    origin = fields.String(dump_only=True)
    status = fields.String(dump_only=True, allow_none=True)
    last_evaluated = fields.DateTime(dump_only=True, allow_none=True)
    message = fields.String(dump_only=True)
    failures = fields.Integer(dump_only=True, allow_none=True)


class MaterializationSchema(Schema):
    id = fields.Integer(dump_only=True)
    event_id = fields.String(dump_only=True)
    kind = fields.String(dump_only=True)
    timestamp = fields.DateTime(dump_only=True)
    partition = fields.String(dump_only=True, allow_none=True)
    run_id = fields.String(dump_only=True, allow_none=True)
    adapter = fields.String(dump_only=True)
    metadata = fields.Dict(dump_only=True)


class PartitionSchema(Schema):
    """One range of consecutive partitions in one status."""

    status = fields.String(dump_only=True)
    first = fields.String(dump_only=True)
    last = fields.String(dump_only=True)
    count = fields.Integer(dump_only=True, allow_none=True)


summary_schema = AssetSummarySchema()
asset_schema = AssetSchema()
check_schema = CheckSchema()
partition_schema = PartitionSchema()
materialization_schema = MaterializationSchema()


def summary(spec: AssetSpec, state: AssetState | None, *, stale: bool) -> dict[str, Any]:
    return {
        "key": str(spec.key),
        "system": spec.system,
        "adapter": spec.origin.adapter,
        "group": spec.group,
        "description": spec.description,
        "owners": list(spec.owners),
        "tags": list(spec.tags),
        "status": (state.status if state else AssetStatus.MISSING).value,
        "last_materialization": state.last_materialization if state else None,
        "stale": stale,
    }


def lookup(graph: AssetGraph, text: str) -> AssetKey:
    try:
        key = AssetKey.parse(text)
    except ConfigError:  # a malformed key names no asset
        key = None
    if key is None or key not in graph:
        raise UnknownAssetError(
            f"no asset has the key {text!r}",
            where="url",
            fix="list the keys with GET /api/v1/assets",
        )
    return key


@api.get("/assets")
@cached
def list_assets() -> Response:
    args = load_args(AssetListArgs(), request.args)
    portal = data()
    keys, total = run_query(portal, CatalogQuery(**args))
    graph = portal.snapshot().graph
    states = portal.states(keys)
    stale = portal.stale(keys)
    # summary() already has AssetSummarySchema's shape; orjson writes its datetimes as ISO 8601
    items = [summary(graph.get(k), states.get(k), stale=k in stale) for k in keys]
    return json_response({"items": items, "total_entries": total})


@api.get("/assets/<path:key>")
@cached
def get_asset(key: str) -> Response:
    portal = data()
    graph = portal.snapshot().graph
    asset_key = lookup(graph, key)
    spec = graph.get(asset_key)
    state = portal.states([asset_key]).get(asset_key)
    doc = summary(spec, state, stale=bool(portal.stale([asset_key]))) | {
        "origin": str(spec.origin),
        "kinds": list(spec.kinds),
        "metadata": dict(spec.metadata),
        "columns": [
            {"name": c.name, "description": c.description, "data_type": c.data_type, "tags": list(c.tags)}
            for c in spec.columns
        ],
        "dataset": {"namespace": spec.dataset.namespace, "name": spec.dataset.name} if spec.dataset else None,
        "code_version": spec.code_version,
        "external": spec.external,
        "url": spec.url,
        "upstream": sorted(str(k) for k in graph.parents(asset_key)),
        "downstream": sorted(str(k) for k in graph.children(asset_key)),
        "last_failure": state.last_failure if state else None,
        "last_failure_message": state.last_failure_message if state else "",
    }
    return jsonify(asset_schema.dump(doc))


@api.get("/assets/<path:key>/checks")
def asset_checks(key: str) -> Response:
    args = load_args(PageArgs(), request.args)
    portal = data()
    graph = portal.snapshot().graph
    asset_key = lookup(graph, key)
    checks = list(graph.checks.get(asset_key, ()))
    page = checks[args["offset"] : args["offset"] + args["limit"]]
    latest = portal.check_results([c.key for c in page])
    items = []
    for check in page:
        result = latest.get(check.key)
        items.append(
            check_schema.dump(
                {
                    "name": check.key.name,
                    "asset": str(asset_key),
                    "description": check.description,
                    "severity": check.severity.value,
                    "blocking": check.blocking,
                    "origin": str(check.origin),
                    "status": result.status.value if result else None,
                    "last_evaluated": result.timestamp if result else None,
                    "message": result.message if result else "",
                    "failures": result.failures if result else None,
                }
            )
        )
    return collection(items, len(checks))


@api.get("/assets/<path:key>/materializations")
def asset_materializations(key: str) -> Response:
    args = load_args(PageArgs(), request.args)
    portal = data()
    asset_key = lookup(portal.snapshot().graph, key)
    logged = portal.tail(
        asset_key=asset_key, kinds=[EventKind.MATERIALIZATION, EventKind.OBSERVATION], keep=1_000_000
    )
    logged.reverse()  # newest first
    page = logged[args["offset"] : args["offset"] + args["limit"]]
    return collection([materialization_schema.dump(_event_doc(i, e)) for i, e in page], len(logged))


@api.get("/assets/<path:key>/partitions")
def asset_partitions(key: str) -> Response:
    """Status ranges (in_progress, failed, stale, materialized and, with a known definition,
    missing; one status per partition, in that precedence) in key order, paginated; ``counts``
    per status and ``partitions`` (the total) when known."""
    args = load_args(PageArgs(), request.args)
    portal = data()
    asset_key = lookup(portal.snapshot().graph, key)
    found = portal.partition_health(asset_key)
    ranges = sorted(found.segments, key=lambda s: (s.left, s.status))
    page = ranges[args["offset"] : args["offset"] + args["limit"]]
    body = {
        "items": [
            partition_schema.dump({"status": s.status, "first": s.first, "last": s.last, "count": s.count})
            for s in page
        ],
        "total_entries": len(ranges),
        "partitions": found.total,
        "counts": dict(found.counts),
    }
    return jsonify(body)


def _event_doc(log_id: int, event: Event) -> dict[str, Any]:
    return {
        "id": log_id,
        "event_id": event.event_id,
        "kind": event.kind.value,
        "timestamp": event.timestamp,
        "partition": event.partition,
        "run_id": event.run_id,
        "adapter": event.adapter,
        "metadata": dict(event.metadata),
    }
