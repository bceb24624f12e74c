"""Runs: the list (launched or observed), and ``POST /runs`` to launch a selection."""

from __future__ import annotations

from flask import jsonify, request
from flask.wrappers import Response
from marshmallow import EXCLUDE, Schema, fields, validate

from lockgate.ui.api.base import PageArgs, api, collection, data, load_args
from lockgate.ui.auth import bearer, require_write_token
from lockgate.ui.problems import Problem


class RunSchema(Schema):
    run_id = fields.String(dump_only=True)
    adapter = fields.String(dump_only=True)
    status = fields.String(dump_only=True)
    assets = fields.List(fields.String(), dump_only=True)
    reason = fields.String(dump_only=True)
    started_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    message = fields.String(dump_only=True)
    url = fields.String(dump_only=True, allow_none=True)
    origin_run_id = fields.String(dump_only=True, allow_none=True)
    launched = fields.Boolean(dump_only=True, metadata={"description": "launched by lockgate"})


class RunRequestSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    selection = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    partition = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    reason = fields.String(load_default="api", validate=validate.Length(max=200))


class LaunchTicketSchema(Schema):
    run_id = fields.String(dump_only=True)
    adapter = fields.String(dump_only=True)
    assets = fields.List(fields.String(), dump_only=True)
    partition = fields.String(dump_only=True, allow_none=True)


run_schema = RunSchema()
ticket_schema = LaunchTicketSchema()


@api.get("/runs")
def list_runs() -> Response:
    args = load_args(PageArgs(), request.args)
    runs = data().runs()
    page = runs[args["offset"] : args["offset"] + args["limit"]]
    items = [
        run_schema.dump(
            {
                "run_id": r.run_id,
                "adapter": r.adapter,
                "status": r.status,
                "assets": [str(k) for k in r.assets],
                "reason": r.reason,
                "started_at": r.started_at,
                "updated_at": r.updated_at,
                "message": r.message,
                "url": r.url,
                "origin_run_id": r.origin_run_id,
                "launched": r.launched,
            }
        )
        for r in page
    ]
    return collection(items, len(runs))


@api.post("/runs")
def create_run() -> tuple[Response, int]:
    require_write_token(bearer())
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Problem(400, "Bad request", 'the body must be a JSON object such as {"selection": "orders+"}')
    args = load_args(RunRequestSchema(), body)
    tickets = data().launch(args["selection"], partition=args["partition"], reason=args["reason"])
    items = [
        ticket_schema.dump(
            {
                "run_id": t.run_id,
                "adapter": t.adapter,
                "assets": [str(k) for k in t.assets],
                "partition": t.partition,
            }
        )
        for t in tickets
    ]
    return jsonify({"items": items, "total_entries": len(items)}), 202
