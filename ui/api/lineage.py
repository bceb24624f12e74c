"""Lineage in Marquez's shape: ``GET /lineage?nodeId=asset:<key>&depth=N``."""

from __future__ import annotations

from flask import request
from flask.wrappers import Response
from marshmallow import EXCLUDE, Schema, fields, validate

from lockgate.ui.api.assets import lookup
from lockgate.ui.api.base import api, data, json_response, load_args
from lockgate.ui.cache import cached
from lockgate.ui.lineage import marquez_graph_ids, neighbourhood_ids
from lockgate.ui.problems import Problem

MAX_NODES = 10_000


class LineageArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    nodeId = fields.String(
        required=True,
        validate=validate.Regexp(r"^asset:.+", error="must look like asset:<key>, e.g. asset:shop/orders"),
    )
    depth = fields.Integer(load_default=20, validate=validate.Range(min=0, max=50))


class EdgeSchema(Schema):
    origin = fields.String(dump_only=True)
    destination = fields.String(dump_only=True)


class NodeSchema(Schema):
    id = fields.String(dump_only=True)
    type = fields.String(dump_only=True)
    data = fields.Dict(dump_only=True)
    inEdges = fields.List(fields.Nested(EdgeSchema), dump_only=True)
    outEdges = fields.List(fields.Nested(EdgeSchema), dump_only=True)


class LineageSchema(Schema):
    graph = fields.List(fields.Nested(NodeSchema), dump_only=True)


@api.get("/lineage")
@cached
def get_lineage() -> Response:
    args = load_args(LineageArgs(), request.args)
    portal = data()
    graph = portal.snapshot().graph
    key = lookup(graph, args["nodeId"].removeprefix("asset:"))
    ids = neighbourhood_ids(graph, key, args["depth"])
    if len(ids) > MAX_NODES:
        raise Problem(
            400,
            "Lineage too large",
            f"depth {args['depth']} around {key} reaches {len(ids)} assets (at most {MAX_NODES}); "
            "ask for a smaller depth",
        )
    states = portal.states(map(graph.key_of, ids))
    return json_response(marquez_graph_ids(graph, ids, states))
