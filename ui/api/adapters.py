"""Adapters and their sync state (the last sync of each)."""

from __future__ import annotations

from flask import request
from flask.wrappers import Response
from marshmallow import Schema, fields

from lockgate.ui.api.base import PageArgs, api, collection, data, load_args


class SyncStateSchema(Schema):
    adapter = fields.String(dump_only=True)
    kind = fields.String(dump_only=True)
    started_at = fields.DateTime(dump_only=True)
    finished_at = fields.DateTime(dump_only=True, allow_none=True)
    assets = fields.Integer(dump_only=True)
    checks = fields.Integer(dump_only=True)
    new_events = fields.Integer(dump_only=True)
    error = fields.String(dump_only=True, allow_none=True)


sync_schema = SyncStateSchema()


@api.get("/adapters")
def list_adapters() -> Response:
    args = load_args(PageArgs(), request.args)
    syncs = sorted(data().store.sync_states(), key=lambda s: s.adapter)
    page = syncs[args["offset"] : args["offset"] + args["limit"]]
    return collection([sync_schema.dump(s) for s in page], len(syncs))
