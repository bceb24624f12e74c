"""The OpenAPI 3 document of ``/api/v1``, built once with apispec from the resources' schemas."""

from __future__ import annotations

from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import jsonify
from flask.wrappers import Response

from lockgate.ui.api import lineage_receiver
from lockgate.ui.api.adapters import SyncStateSchema
from lockgate.ui.api.assets import (
    AssetListArgs,
    AssetSchema,
    AssetSummarySchema,
    CheckSchema,
    MaterializationSchema,
    PartitionSchema,
)
from lockgate.ui.api.automation import AutomationSchema, ConditionBodySchema
from lockgate.ui.api.backfills import BackfillSchema
from lockgate.ui.api.base import PageArgs, ProblemSchema, api
from lockgate.ui.api.lineage import LineageArgs, LineageSchema
from lockgate.ui.api.runs import LaunchTicketSchema, RunRequestSchema, RunSchema

_PROBLEM = {"application/problem+json": {"schema": "Problem"}}
_KEY = {
    "in": "path",
    "name": "key",
    "required": True,
    "description": "asset key, parts joined by '/' (e.g. shop/orders)",
    "schema": {"type": "string", "minLength": 1},
}


def _collection(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "total_entries"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
            "total_entries": {"type": "integer", "minimum": 0},
        },
    }


def _ok(schema: str | dict[str, Any], *errors: int) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {"description": "OK", "content": {"application/json": {"schema": schema}}}
    }
    for status in (*errors, 401, 403):
        responses[str(status)] = {"description": "Problem", "content": _PROBLEM}
    return responses


def _automation_paths(spec: APISpec, page: list[dict[str, Any]]) -> None:
    """Backfills and the conditions attached through the API."""
    automation = {"$ref": "#/components/schemas/Automation"}
    write = {"security": [{"bearer": []}], "parameters": [_KEY]}
    spec.path(
        path="/api/v1/assets/{key}/automation",
        operations={
            "get": {
                "summary": "The asset's effective automation condition and where it comes from",
                "operationId": "getAssetAutomation",
                "parameters": [_KEY],
                "responses": _ok(automation, 404),
            },
            "put": {
                "summary": "Attach a condition (overrides the workspace and dbt meta)",
                "operationId": "putAssetAutomation",
                **write,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": "ConditionBody"}},
                },
                "responses": _ok(automation, 400, 404),
            },
            "delete": {
                "summary": "Remove the condition attached through the API",
                "operationId": "deleteAssetAutomation",
                **write,
                "responses": _ok(automation, 404),
            },
        },
    )
    spec.path(
        path="/api/v1/backfills",
        operations={
            "get": {
                "summary": "Backfills and their progress",
                "operationId": "listBackfills",
                "parameters": page,
                "responses": _ok(_collection("Backfill"), 400),
            }
        },
    )
    spec.path(
        path="/api/v1/backfills/{backfill}",
        operations={
            "get": {
                "summary": "One backfill's progress",
                "operationId": "getBackfill",
                "parameters": [
                    {"in": "path", "name": "backfill", "required": True, "schema": {"type": "string"}}
                ],
                "responses": _ok({"$ref": "#/components/schemas/Backfill"}, 404),
            }
        },
    )


@cache
def build_spec() -> dict[str, Any]:
    spec = APISpec(
        title="lockgate API",
        version="1",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "Assets, checks, runs and lineage of a lockgate workspace. Reads may need a "
            "bearer token (portal.read_requires_token); writes always do."
        },
        servers=[{"url": "/"}],
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name, schema in (
        ("Problem", ProblemSchema),
        ("AssetSummary", AssetSummarySchema),
        ("Asset", AssetSchema),
        ("Check", CheckSchema),
        ("Materialization", MaterializationSchema),
        ("Partition", PartitionSchema),
        ("Run", RunSchema),
        ("RunRequest", RunRequestSchema),
        ("LaunchTicket", LaunchTicketSchema),
        ("SyncState", SyncStateSchema),
        ("Lineage", LineageSchema),
        ("Backfill", BackfillSchema),
        ("Automation", AutomationSchema),
        ("ConditionBody", ConditionBodySchema),
    ):
        spec.components.schema(name, schema=schema)
    page = [{"in": "query", "schema": PageArgs}]
    spec.path(
        path="/api/v1/assets",
        operations={
            "get": {
                "summary": "List assets",
                "operationId": "listAssets",
                "parameters": [{"in": "query", "schema": AssetListArgs}],
                "responses": _ok(_collection("AssetSummary"), 400, 404),
            }
        },
    )
    spec.path(
        path="/api/v1/assets/{key}",
        operations={
            "get": {
                "summary": "One asset",
                "operationId": "getAsset",
                "parameters": [_KEY],
                "responses": _ok({"$ref": "#/components/schemas/Asset"}, 404),
            }
        },
    )
    for suffix, item, op in (
        ("checks", "Check", "listAssetChecks"),
        ("materializations", "Materialization", "listAssetMaterializations"),
        ("partitions", "Partition", "listAssetPartitions"),
    ):
        spec.path(
            path=f"/api/v1/assets/{{key}}/{suffix}",
            operations={
                "get": {
                    "summary": f"The asset's {suffix}",
                    "operationId": op,
                    "parameters": [_KEY, *page],
                    "responses": _ok(_collection(item), 400, 404),
                }
            },
        )
    launched = {
        "description": "Accepted: the runs lockgate launches, one per owning adapter",
        "content": {"application/json": {"schema": _collection("LaunchTicket")}},
    }
    spec.path(
        path="/api/v1/runs",
        operations={
            "get": {
                "summary": "Runs launched or observed",
                "operationId": "listRuns",
                "parameters": page,
                "responses": _ok(_collection("Run"), 400),
            },
            "post": {
                "summary": "Launch a selection in the systems that own it",
                "operationId": "createRun",
                "security": [{"bearer": []}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": "RunRequest"}}},
                "responses": {
                    "202": launched,
                    **{
                        str(s): {"description": "Problem", "content": _PROBLEM}
                        for s in (400, 401, 403, 404, 409)
                    },
                },
            },
        },
    )
    spec.path(
        path="/api/v1/adapters",
        operations={
            "get": {
                "summary": "Adapters and their last sync",
                "operationId": "listAdapters",
                "parameters": page,
                "responses": _ok(_collection("SyncState"), 400),
            }
        },
    )
    spec.path(
        path="/api/v1/lineage",
        operations={
            "get": {
                "summary": "Lineage around one asset, in Marquez's shape",
                "operationId": "getLineage",
                "parameters": [{"in": "query", "schema": LineageArgs}],
                "responses": _ok({"$ref": "#/components/schemas/Lineage"}, 400, 404),
            }
        },
    )
    _automation_paths(spec, page)
    lineage_receiver.add_paths(spec)
    result: dict[str, Any] = spec.to_dict()
    return result


@api.get("/openapi.json")
def openapi() -> Response:
    return jsonify(build_spec())
